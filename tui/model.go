package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/evtriage/evtriage/rules"
	"github.com/evtriage/evtriage/triage"
)

// Config is what the hunting screen is opened on.
type Config struct {
	// Context bounds the background loading; nil means Background.
	Context context.Context
	// Title says what is being hunted in ("built-in demo log", a path…).
	Title  string
	Inputs []Input
	Hunt   triage.Options
	// ExportDir is the folder exports are written to.
	ExportDir string
	// Now is the clock for export file names; nil means time.Now.
	Now func() time.Time
	// MinLevel is the minimum rule level shown at start.
	MinLevel rules.Level
	// Notes are problems found before the screen opened (paths that could
	// not be listed, rules that were rejected…); the problems panel shows them.
	Notes []string
}

type viewKind int

const (
	viewFindings viewKind = iota
	viewTree
)

type overlayKind int

const (
	overlayNone overlayKind = iota
	overlayHelp
	overlayRules
	overlayProblems
)

// Model is the hunting screen.
type Model struct {
	cfg     Config
	keys    keyMap
	toggles toggleTable
	status  statusBar
	styles  screenStyles
	help    help.Model
	width   int
	height  int

	view     viewKind
	overlay  overlayKind
	table    findingsTable
	tree     processTree
	detail   detailPane
	rules    rulesPanel
	problems detailPane
	helpPane detailPane

	res          *triage.Result
	snapSeq      int // snapshots received
	snapApplied  int
	index        treeIndex
	totalPerRule map[*rules.Rule]int
	loading      bool
	progress     progressMsg
	filesDone    int
	loadErrs     []error

	filter    filterState
	filterGen int
	filtering bool
	visible   []bool // by Finding.ID
	perRule   map[*rules.Rule]int
	matchRows []int32

	prompting bool
	input     prompt
	search    *searchResult
	searchGen int
	// jumpTo is the query typed with enter whose first match is still to
	// be selected, once its results (and the table rows they mark) are in;
	// "" when none.
	jumpTo string

	message string
	msgErr  bool
	// pendingExport waits for a filter run in progress: an export
	// writes what the filters select, not a stale list.
	pendingExport tea.Cmd
	detailKey     any
	detailW       int
}

// New returns the screen for cfg. Loading starts when the program runs it
// (Init).
func New(cfg Config) Model {
	if cfg.Context == nil {
		cfg.Context = context.Background()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ExportDir == "" {
		cfg.ExportDir = "."
	}
	th := newTheme(true)
	m := Model{cfg: cfg, keys: defaultKeyMap(), help: help.New()}
	m.table = newFindingsTable()
	m.tree = newProcessTree()
	m.detail = newDetailPane()
	m.rules = newRulesPanel()
	m.problems = newDetailPane()
	m.problems.KeyMap = pagerKeyMap()
	m.helpPane = newDetailPane()
	m.helpPane.KeyMap = pagerKeyMap()
	m.setStyles(th)
	m.input = prompt{Prefix: "search /"}
	m.toggles = defaultToggles()
	m.filter.MinLevel = max(min(cfg.MinLevel, rules.LevelCritical), rules.LevelInformational)
	m.loading = len(cfg.Inputs) > 0
	return m
}

// Init starts loading in the background and asks the terminal for its
// background colour (to pick light or dark styles).
func (m Model) Init() tea.Cmd {
	cmds := []tea.Cmd{tea.RequestBackgroundColor}
	if len(m.cfg.Inputs) > 0 {
		cmds = append(cmds, startLoad(m.cfg.Context, m.cfg.Hunt, m.cfg.Inputs))
	}
	return tea.Batch(cmds...)
}

// Run runs the screen as a full-screen program on in/out until the user
// quits. Extra options (tea.WithWindowSize…) are passed to the program.
func Run(ctx context.Context, cfg Config, in io.Reader, out io.Writer, opts ...tea.ProgramOption) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cfg.Context = ctx
	all := append([]tea.ProgramOption{tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(out), tea.WithFPS(120)}, opts...)
	_, err := tea.NewProgram(New(cfg), all...).Run()
	if err != nil {
		return fmt.Errorf("tui: %w", err)
	}
	return nil
}

// preparedMsg is a snapshot indexed for display, built in a tea.Cmd.
type preparedMsg struct {
	seq      int
	r        *triage.Result
	ix       treeIndex
	expanded []bool
	perRule  map[*rules.Rule]int
	files    int
}

// filteredMsg and searchedMsg carry background results.
type filteredMsg struct{ filtered }
type searchedMsg struct{ searchResult }

// exportedMsg reports a finished export.
type exportedMsg struct {
	path string
	n    int
	err  error
}

// legend explains the marks the screen uses; it ends the help.
func legend() []string {
	return []string{
		"Marks",
		"  ›  selected row                      ~  a match the rule's own filter hides, shown because that filter is off",
		"  +  new since the baseline            ●  findings on a process (count, highest level)",
		"  ·  (detail) a finding the current filters hide",
		"  [renamed regsvr32]  regsvr32 running under another name     (not in log)  known only from a child's parent fields",
		"  Evidence text is shown with control characters escaped: \\x1b is ESC, \\n a newline, \\u202e a bidi override.",
	}
}

// helpLines lays the binding groups out as columns, flowing onto further
// rows when the window is too narrow for all of them, so that every
// binding is shown (the pane scrolls when they do not fit in height).
func helpLines(h help.Model, groups [][]key.Binding, width int) []string {
	h.SetWidth(0)
	const gap = 4
	var out, row []string
	rowW := 0
	flush := func() {
		if len(row) > 0 {
			out = append(out, row...)
			out = append(out, "")
		}
		row, rowW = nil, 0
	}
	for _, g := range groups {
		block := strings.Split(h.FullHelpView([][]key.Binding{g}), "\n")
		bw := 0
		for _, l := range block {
			bw = max(bw, ansi.StringWidth(l))
		}
		if rowW > 0 && rowW+gap+bw > width {
			flush()
		}
		pad := 0
		if rowW > 0 {
			pad = gap
		}
		for len(row) < len(block) {
			row = append(row, strings.Repeat(" ", rowW))
		}
		for i := range row {
			l := ""
			if i < len(block) {
				l = block[i]
			}
			row[i] = fit2(row[i], rowW) + strings.Repeat(" ", pad) + l
		}
		rowW += pad + bw
	}
	flush()
	return out
}

// fit2 pads a styled line to w cells.
func fit2(s string, w int) string {
	if sw := ansi.StringWidth(s); sw < w {
		return s + strings.Repeat(" ", w-sw)
	}
	return s
}

// exportRequest is an export deferred until filtering is done.
type exportRequest struct{ subtree bool }

// procKey identifies a process across snapshots.
func procKey(p *triage.Process) string {
	if p.GUID != "" {
		return p.Host + "\x00" + p.GUID
	}
	return p.Host + "\x00" + strconv.FormatUint(uint64(p.PID), 10) + "\x00" + strconv.FormatInt(p.Created.UnixNano(), 10)
}

// prepare indexes a snapshot: tree order, expansion (what was expanded
// before, plus the ancestors of every finding), per-rule totals.
func prepare(seq, files int, r *triage.Result, keep map[string]bool) tea.Cmd {
	return func() tea.Msg {
		ix := buildTreeIndex(r)
		exp := make([]bool, len(r.Processes))
		if len(keep) > 0 {
			for _, p := range r.Processes {
				if p.ID >= 0 && p.ID < len(exp) && keep[procKey(p)] {
					exp[p.ID] = true
				}
			}
		}
		per := make(map[*rules.Rule]int)
		for _, f := range r.Findings {
			per[f.Rule]++
			if f.Process == nil {
				continue
			}
			for a, n := f.Process.Parent, 0; a != nil && n < maxDepth; a, n = a.Parent, n+1 {
				if a.ID < 0 || a.ID >= len(exp) || exp[a.ID] {
					break // the rest of the chain is already open
				}
				exp[a.ID] = true
			}
		}
		return preparedMsg{seq: seq, r: r, ix: ix, expanded: exp, perRule: per, files: files}
	}
}

func (m *Model) refilter() tea.Cmd {
	if m.res == nil {
		return nil
	}
	m.filterGen++
	m.filtering = true
	gen, r, ix, f := m.filterGen, m.res, m.index, m.filter
	by, desc := m.table.Sort()
	var keep findingKey
	if s := m.table.Selected(); s != nil {
		keep = keyOf(s)
	}
	var search []bool
	if m.search != nil {
		search = m.search.findings
	}
	return func() tea.Msg {
		return filteredMsg{runFilter(gen, r, ix, f, by, desc, keep, search)}
	}
}

func (m *Model) startSearch(q string) tea.Cmd {
	m.searchGen++
	if q == "" || m.res == nil {
		m.search = nil
		m.jumpTo = ""
		m.table.SetHighlight("")
		m.tree.SetSearch("", nil)
		return m.refilter()
	}
	gen, r, ix := m.searchGen, m.res, m.index
	return func() tea.Msg { return searchedMsg{runSearch(gen, r, ix, q, nil)} }
}

// roots returns the tree roots for the host filter.
func (m *Model) roots() []*triage.Process {
	if m.filter.Host == "" {
		return m.res.Roots
	}
	var out []*triage.Process
	for _, p := range m.res.Roots {
		if p.Host == m.filter.Host {
			out = append(out, p)
		}
	}
	return out
}

func (m *Model) setMessage(s string, isErr bool) { m.message, m.msgErr = s, isErr }

// setStyles gives the screen and each component its styles from th.
func (m *Model) setStyles(th theme) {
	m.styles = newScreenStyles(th)
	m.help.Styles = th.Help
	m.table.SetStyles(newTableStyles(th))
	m.tree.SetStyles(newTreeStyles(th))
	m.detail.SetStyles(newDetailStyles(th))
	m.rules.SetStyles(newRulesStyles(th))
	m.problems.SetStyles(newDetailStyles(th))
	m.helpPane.SetStyles(newDetailStyles(th))
	m.status.SetStyles(newStatusStyles(th))
}

// Update handles one message.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
		m.refreshProblems()
	case tea.BackgroundColorMsg:
		m.setStyles(newTheme(msg.IsDark()))
		m.detailKey = nil
		m.layout()
		m.refreshProblems()
	case loaderMsg:
		var next tea.Cmd
		m, next = m.handleLoader(msg.msg)
		cmd = next
		if msg.ch != nil {
			cmd = tea.Batch(next, waitLoader(msg.ch))
		}
	case preparedMsg:
		cmd = m.applySnapshot(msg)
	case filteredMsg:
		if msg.gen != m.filterGen {
			break
		}
		m.filtering = false
		m.table.SetRows(msg.rows, msg.keepAt)
		m.visible = msg.visible
		m.perRule = msg.perRule
		m.matchRows = msg.matchRows
		m.tree.SetStats(msg.stats)
		if m.jumpTo != "" && m.search != nil && m.search.gen == m.searchGen && m.search.query == m.jumpTo {
			// The first filter run over the typed query's results.
			m.jumpTo = ""
			m.step(true, true)
		}
		m.layout()
		if m.pendingExport != nil {
			cmd, m.pendingExport = m.pendingExport, nil
		}
	case searchedMsg:
		if msg.gen != m.searchGen {
			break
		}
		s := msg.searchResult
		m.search = &s
		m.table.SetHighlight(s.query)
		m.tree.SetSearch(s.query, s.procs)
		m.setMessage(fmt.Sprintf("%q: %d findings, %d processes match — n/N to step", Clean(s.query), s.nFind, s.nProc), false)
		cmd = m.refilter()
	case exportedMsg:
		if msg.err != nil {
			m.setMessage("export failed: "+Clean(msg.err.Error()), true)
		} else {
			m.setMessage(fmt.Sprintf("wrote %d findings to %s", msg.n, Clean(msg.path)), false)
		}
	case exportRequest:
		if msg.subtree {
			cmd = m.exportSubtree()
		} else {
			cmd = m.exportShown()
		}
	case sortRequest:
		cmd = m.refilter()
	case ruleToggle:
		f := m.filter.clone()
		var loaded []*rules.Rule
		if m.res != nil {
			loaded = m.res.Loaded
		}
		f.switchRules(msg, loaded)
		cmd = m.setFilter(f)
	case tea.PasteMsg:
		if m.prompting {
			m.input = m.input.Update(msg)
		}
	case tea.KeyPressMsg:
		viewBefore, treeLen := m.view, m.tree.Len()
		cmd = m.handleKey(msg)
		if m.view != viewBefore || m.tree.Len() != treeLen {
			m.layout()
		}
	}
	m.syncDetail()
	m.syncStatus()
	return m, cmd
}

func (m Model) handleLoader(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case progressMsg:
		m.progress = msg
	case snapshotMsg:
		m.snapSeq++
		keep := make(map[string]bool)
		for id, e := range m.tree.Expanded() {
			if e && m.res != nil && id < len(m.res.Processes) {
				keep[procKey(m.res.Processes[id])] = true
			}
		}
		return m, prepare(m.snapSeq, msg.files, msg.r, keep)
	case loadDoneMsg:
		m.loading = false
		m.loadErrs = msg.errs
		if len(msg.errs) > 0 {
			m.setMessage(fmt.Sprintf("%d input(s) could not be read completely — p shows the problems", len(msg.errs)), true)
		}
		m.refreshProblems()
	}
	return m, nil
}

func (m *Model) applySnapshot(msg preparedMsg) tea.Cmd {
	if msg.seq <= m.snapApplied {
		return nil // an older snapshot finished indexing late
	}
	m.snapApplied = msg.seq
	var selKey string
	if p := m.tree.Selected(); p != nil {
		selKey = procKey(p)
	}
	m.res, m.index, m.totalPerRule, m.filesDone = msg.r, msg.ix, msg.perRule, msg.files
	m.tree.SetData(m.roots(), msg.ix, msg.expanded, len(msg.r.Hosts) > 1)
	if selKey != "" {
		for _, p := range msg.r.Processes {
			if procKey(p) == selKey {
				m.tree.Select(p)
				break
			}
		}
	}
	m.rules.SetRules(msg.r.Loaded)
	m.refreshProblems()
	m.detailKey = nil
	cmds := []tea.Cmd{m.refilter()}
	if m.search != nil {
		cmds = append(cmds, m.startSearch(m.search.query))
	}
	return tea.Batch(cmds...)
}

// toggleKeys reports whether k is a toggle's key.
func (m *Model) toggleKeys(k tea.KeyPressMsg) bool {
	_, ok := m.toggles.find(k)
	return ok
}

// runToggle runs the toggle key k: its overlay opens, or the filter
// changes and the findings are filtered again.
func (m *Model) runToggle(k tea.KeyPressMsg) tea.Cmd {
	tk, _ := m.toggles.find(k)
	if tk.opens != overlayNone {
		m.overlay = tk.opens
		return nil
	}
	f := m.filter.clone()
	env := m.toggleEnv()
	if err := tk.apply(&f, &env); err != nil {
		if !errors.Is(err, errNoChange) {
			m.setMessage(err.Error(), true)
		}
		return nil
	}
	return m.setFilter(f)
}

// toggleEnv is what the toggles read besides the filter.
func (m *Model) toggleEnv() toggleEnv {
	return toggleEnv{res: m.res, baseline: m.hasBaseline(), selected: m.selectedTime()}
}

// hasBaseline reports whether findings are judged new or seen.
func (m *Model) hasBaseline() bool {
	return len(m.cfg.Hunt.Baseline) > 0 || m.cfg.Hunt.BaselineWindow > 0
}

// setFilter installs f and filters the findings again in the background;
// the tree shows the roots of the host f selects.
func (m *Model) setFilter(f filterState) tea.Cmd {
	hostChanged := f.Host != m.filter.Host
	m.filter = f
	if hostChanged && m.res != nil {
		m.tree.SetData(m.roots(), m.index, m.tree.Expanded(), len(m.res.Hosts) > 1)
	}
	return m.refilter()
}

// selectedTime is the time of what is selected, for the time range keys.
func (m *Model) selectedTime() time.Time {
	if m.view == viewTree {
		if p := m.tree.Selected(); p != nil {
			return p.Created
		}
		return time.Time{}
	}
	if f := m.table.Selected(); f != nil {
		return findingTime(f)
	}
	return time.Time{}
}

func (m *Model) handleKey(k tea.KeyPressMsg) tea.Cmd {
	if m.prompting {
		switch k.String() {
		case "enter":
			m.prompting = false
			q := strings.TrimSpace(m.input.Value())
			cmd := m.startSearch(q)
			if q != "" && m.res != nil {
				m.jumpTo = q // once its results are in
			}
			return cmd
		case "esc":
			m.prompting = false
			return nil
		case "ctrl+c":
			return tea.Quit
		}
		m.input = m.input.Update(k)
		return nil
	}
	m.message = ""
	if k.String() == "ctrl+c" {
		return tea.Quit
	}
	switch m.overlay {
	case overlayHelp:
		switch {
		case key.Matches(k, m.keys.Back, m.keys.Help):
			m.overlay = overlayNone
		case key.Matches(k, m.keys.Quit):
			return tea.Quit
		default:
			m.helpPane, _ = m.helpPane.Update(k)
		}
		return nil
	case overlayRules:
		switch {
		case key.Matches(k, m.keys.Back, m.toggles.key(toggleRules)):
			m.overlay = overlayNone
			return nil
		case key.Matches(k, m.keys.Quit):
			return tea.Quit
		case key.Matches(k, m.keys.Help):
			m.overlay = overlayHelp
			return nil
		}
		var cmd tea.Cmd
		m.rules, cmd = m.rules.Update(k)
		return cmd
	case overlayProblems:
		switch {
		case key.Matches(k, m.keys.Back, m.keys.Problems):
			m.overlay = overlayNone
		case key.Matches(k, m.keys.Quit):
			return tea.Quit
		default:
			m.problems, _ = m.problems.Update(k)
		}
		return nil
	}

	switch {
	case key.Matches(k, m.keys.Quit):
		return tea.Quit
	case key.Matches(k, m.keys.Help):
		m.overlay = overlayHelp
	case key.Matches(k, m.keys.Back):
		switch {
		case m.search != nil:
			return m.startSearch("")
		case m.view == viewTree:
			m.view = viewFindings
		}
	case key.Matches(k, m.keys.Findings):
		m.view = viewFindings
	case key.Matches(k, m.keys.Tree):
		m.view = viewTree
	case key.Matches(k, m.keys.SwitchView):
		m.view = 1 - m.view
	case key.Matches(k, m.keys.Open):
		m.open()
	case key.Matches(k, m.keys.Search):
		m.prompting = true
		if m.search != nil {
			m.input.SetValue(m.search.query)
		} else {
			m.input.SetValue("")
		}
		return nil
	case key.Matches(k, m.keys.Next):
		m.step(true, false)
	case key.Matches(k, m.keys.Prev):
		m.step(false, false)
	case key.Matches(k, m.keys.Export), key.Matches(k, m.keys.ExportSubtree):
		if m.filtering {
			sub := key.Matches(k, m.keys.ExportSubtree)
			m.pendingExport = func() tea.Msg { return exportRequest{subtree: sub} }
			m.setMessage("export waits for the filters to finish…", false)
			return nil
		}
		if key.Matches(k, m.keys.Export) {
			return m.exportShown()
		}
		return m.exportSubtree()
	case m.toggleKeys(k):
		return m.runToggle(k)
	case key.Matches(k, m.keys.Problems):
		m.refreshProblems()
		m.overlay = overlayProblems
	case key.Matches(k, m.detail.KeyMap.Down, m.detail.KeyMap.Up):
		m.detail, _ = m.detail.Update(k)
	default:
		var cmd tea.Cmd
		if m.view == viewTree {
			m.tree, cmd = m.tree.Update(k)
		} else {
			m.table, cmd = m.table.Update(k)
		}
		return cmd
	}
	return nil
}

// open goes from a finding to its process in the tree, and from a process
// to its first shown finding.
func (m *Model) open() {
	if m.view == viewFindings {
		f := m.table.Selected()
		if f == nil {
			return
		}
		if f.Process == nil || !m.tree.Select(f.Process) {
			m.setMessage("this finding's event belongs to no process in the tree", true)
			return
		}
		m.view = viewTree
		return
	}
	p := m.tree.Selected()
	if p == nil {
		return
	}
	for i, f := range m.table.Rows() {
		if f.Process == p {
			m.table.SetCursor(i)
			m.view = viewFindings
			return
		}
	}
	m.setMessage("no finding of this process passes the current filters", true)
}

// step moves to the next or previous search match, wrapping around. With
// here set (the jump that follows a search) the selected row counts as
// the next match when it is one, and the status line is left alone, so
// that it still says what the search found.
func (m *Model) step(forward, here bool) {
	if m.search == nil {
		m.setMessage("no search: press / first", true)
		return
	}
	if m.view == viewTree {
		if !m.tree.jump(m.search.procMarks, forward, here) && !here {
			m.setMessage("no process matches "+strconv.Quote(Clean(m.search.query)), true)
		}
		return
	}
	rows := m.matchRows
	if len(rows) == 0 {
		if !here {
			m.setMessage("no shown finding matches "+strconv.Quote(Clean(m.search.query)), true)
		}
		return
	}
	k := nextMark(rows, int32(m.table.Cursor()), forward, here)
	m.table.SetCursor(int(rows[k]))
	if !here {
		m.setMessage(fmt.Sprintf("match %d/%d", k+1, len(rows)), false)
	}
}

// syncStatus gives the status bar the toggles' states and the counts.
func (m *Model) syncStatus() {
	env := toggleEnv{res: m.res, baseline: m.hasBaseline()}
	shown, total := 0, 0
	if m.res != nil {
		shown, total = m.table.Len(), len(m.res.Findings)
	}
	m.status.SetStatus(m.toggles.statusItems(&m.filter, &env), fmt.Sprintf("%d/%d shown", shown, total))
}

// syncDetail rebuilds the detail pane when the selection changed; the
// cost is that of one process or finding.
func (m *Model) syncDetail() {
	var sel any
	if m.view == viewTree {
		if p := m.tree.Selected(); p != nil {
			sel = p
		}
	} else if f := m.table.Selected(); f != nil {
		sel = f
	}
	if sel == m.detailKey && m.detailW == m.detail.width && sel != nil {
		return
	}
	m.detailKey, m.detailW = sel, m.detail.width
	switch s := sel.(type) {
	case *triage.Process:
		m.detail.SetLines(processLines(m.detail.styles, m.detail.width, s, m.visible))
	case *triage.Finding:
		m.detail.SetLines(findingLines(m.detail.styles, m.detail.width, s))
	default:
		m.detail.SetLines(nil)
	}
}

// refreshProblems lists unreadable parts of the inputs and rejected rules.
func (m *Model) refreshProblems() {
	w := &detailWriter{st: m.problems.styles, width: m.width}
	n := 0
	for _, e := range m.loadErrs {
		w.text(w.st.Warn.Render("input: ") + Clean(e.Error()))
		n++
	}
	for _, s := range m.cfg.Notes {
		w.text(Clean(s))
		n++
	}
	if m.res != nil {
		for _, s := range m.res.Sources {
			w.heading(fmt.Sprintf("%s — %d records, %d recovered, %d problem%s", Clean(s.Path), s.Records, s.Recovered, len(s.Problems), plural(len(s.Problems))))
			for i, p := range s.Problems {
				if i == 10*maxListed {
					w.text(fmt.Sprintf("  … %d more", len(s.Problems)-i))
					break
				}
				w.text(fmt.Sprintf("  offset %d: %s", p.Offset, Clean(p.Reason)))
				n++
			}
		}
		if len(m.res.Rejected) > 0 {
			w.heading(fmt.Sprintf("Rejected rules (%d)", len(m.res.Rejected)))
			for _, r := range m.res.Rejected {
				w.text(fmt.Sprintf("  %s:%d: %s", Clean(r.Path), r.Line, Clean(r.Reason)))
				n++
			}
		}
		if m.res.Duplicates > 0 {
			w.text(fmt.Sprintf("%d duplicate records (same computer, channel and record ID) were counted once", m.res.Duplicates))
		}
	}
	if n == 0 {
		w.text("No problems: every record of every input was read.")
	}
	m.problems.SetLines(w.lines)
}

// problemCount is the number of problems the header announces.
func (m *Model) problemCount() int {
	n := len(m.loadErrs) + len(m.cfg.Notes)
	if m.res != nil {
		for _, s := range m.res.Sources {
			n += len(s.Problems)
		}
		n += len(m.res.Rejected)
	}
	return n
}

// layout sizes the panes for the window.
func (m *Model) layout() {
	w, body := m.width, m.bodyHeight()
	listH, detailH := body, 0
	if body >= 8 {
		// The list takes what its rows need, between a third and 55 % of
		// the body; the detail pane gets the rest.
		rows := m.table.Len() + 1
		if m.view == viewTree {
			rows = m.tree.Len()
		}
		listH = min(body*55/100, max(rows+1, body/3))
		detailH = body - listH - 1
	}
	m.table.SetSize(w, listH)
	m.tree.SetSize(w, listH)
	m.detail.SetSize(w, detailH)
	m.rules.SetSize(w, body)
	m.problems.SetSize(w, body)
	m.helpPane.SetSize(w, body)
	lines := helpLines(m.help, m.fullHelp(), w)
	for _, l := range legend() {
		lines = append(lines, strings.Split(ansi.Wrap(l, w, ""), "\n")...)
	}
	m.helpPane.SetLines(lines)
	m.help.SetWidth(w)
	m.status.SetWidth(w)
	m.detailKey = nil
}

// bodyHeight is what is left for panes under the header and tab lines and
// above the status and help lines.
func (m *Model) bodyHeight() int { return max(m.height-4, 0) }

// minimum window size the screen draws in.
const minWidth, minHeight = 40, 10

// View draws the screen.
func (m Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = "evtriage"
	return v
}

func (m Model) render() string {
	if m.width == 0 && m.height == 0 {
		return "evtriage: starting…" // before the terminal's size is known
	}
	if m.width < minWidth || m.height < minHeight {
		return fmt.Sprintf("evtriage needs a %d×%d terminal (this one is %d×%d)", minWidth, minHeight, m.width, m.height)
	}
	st := m.styles
	var b strings.Builder
	b.WriteString(m.headerLine())
	b.WriteByte('\n')
	b.WriteString(m.tabLine())
	b.WriteByte('\n')
	switch m.overlay {
	case overlayHelp:
		b.WriteString(m.helpPane.View())
	case overlayRules:
		b.WriteString(m.rules.View(&m.filter, m.perRule, m.totalPerRule))
	case overlayProblems:
		b.WriteString(m.problems.View())
	default:
		switch {
		case m.res == nil:
			b.WriteString(padLines([]string{st.Faint.Render("  " + m.loadingText())}, m.width, m.table.height))
		case m.view == viewTree:
			b.WriteString(m.tree.View())
		default:
			b.WriteString(m.table.View())
		}
		if m.detail.height > 0 {
			b.WriteByte('\n')
			b.WriteString(m.separator())
			b.WriteByte('\n')
			b.WriteString(m.detail.View())
		}
	}
	b.WriteByte('\n')
	b.WriteString(m.status.View())
	b.WriteByte('\n')
	switch {
	case m.prompting:
		b.WriteString(padLines([]string{m.input.View()}, m.width, 1))
	case m.message != "":
		ms := st.Message
		if m.msgErr {
			ms = st.Error
		}
		b.WriteString(padLines([]string{ms.Render(ansi.Truncate(m.message, m.width, "…"))}, m.width, 1))
	default:
		b.WriteString(padLines([]string{m.help.ShortHelpView(m.shortHelp())}, m.width, 1))
	}
	return b.String()
}

func (m Model) loadingText() string {
	if !m.loading {
		return "nothing was read"
	}
	p := m.progress.p
	s := "reading"
	if m.progress.files > 0 {
		s += fmt.Sprintf(" %d/%d", m.progress.file+1, m.progress.files)
	}
	if p.File != "" {
		s += " " + Clean(baseName(p.File))
	}
	if p.Total > 0 {
		s += fmt.Sprintf(" %d%%", p.Bytes*100/p.Total)
	}
	if p.Events > 0 {
		s += fmt.Sprintf(" · %d events", p.Events)
	}
	return s + "…"
}

func (m Model) headerLine() string {
	st := m.styles
	left := st.Title.Render("evtriage") + "  " + Clean(m.cfg.Title)
	if m.res != nil {
		if n := len(m.res.Sources); n > 0 {
			left += fmt.Sprintf(" · %d file%s", n, plural(n))
		}
		left += fmt.Sprintf(" · %s events", thousands(m.res.Events))
	}
	if n := m.problemCount(); n > 0 {
		left += " · " + st.Warn.Render(fmt.Sprintf("%d problem%s (p)", n, plural(n)))
	}
	right := "ready"
	switch {
	case m.loading:
		right = m.loadingText()
	case m.snapSeq > m.snapApplied:
		right = "indexing…"
	case m.filtering:
		right = "filtering…"
	}
	return joinEnds(left, st.Faint.Render(right), m.width)
}

func (m Model) tabLine() string {
	st := m.styles
	tab := func(active bool, s string) string {
		if active {
			return st.ActiveTab.Render(s)
		}
		return st.Tab.Render(s)
	}
	var title string
	switch m.overlay {
	case overlayHelp:
		title = st.ActiveTab.Render(" Keys ") + st.Faint.Render("  esc closes")
		if sc := m.helpPane.scroll(); sc != "" {
			title += st.Faint.Render(" · " + sc)
		}
	case overlayRules:
		title = st.ActiveTab.Render(" Rules and their filters ") + st.Faint.Render("  space toggles · esc closes")
	case overlayProblems:
		title = st.ActiveTab.Render(" Problems ") + st.Faint.Render("  esc closes")
	default:
		title = tab(m.view == viewFindings, " 1 Findings "+m.table.position()+" ") + " " +
			tab(m.view == viewTree, " 2 Process tree "+m.tree.position()+" ")
	}
	right := ""
	if m.search != nil {
		right = st.Match.Render(fmt.Sprintf("/%s", Clean(m.search.query))) +
			st.Faint.Render(fmt.Sprintf(" %d findings, %d processes", m.search.nFind, m.search.nProc))
	} else if m.view == viewFindings && m.overlay == overlayNone {
		by, desc := m.table.Sort()
		dir := "▲"
		if desc {
			dir = "▼"
		}
		right = st.Faint.Render("sort " + strings.ToLower(by.String()) + dir)
	}
	return joinEnds(title, right, m.width)
}

func (m Model) separator() string {
	st := m.styles
	title := "Detail"
	switch m.detailKey.(type) {
	case *triage.Process:
		title = "Process"
	case *triage.Finding:
		title = "Finding"
	}
	s := "── " + title + " "
	if sc := m.detail.scroll(); sc != "" {
		s += "── " + sc + " "
	}
	return st.Rule.Render(s + strings.Repeat("─", max(m.width-ansi.StringWidth(s), 0)))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// thousands formats n with thin separators: 1,234,567.
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 || len(s) <= 3 {
		return s
	}
	var b strings.Builder
	pre := len(s) % 3
	if pre > 0 {
		b.WriteString(s[:pre])
	}
	for i := pre; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

// joinEnds puts left and right on one line of width w, truncating left
// first.
func joinEnds(left, right string, w int) string {
	rw := ansi.StringWidth(right)
	if rw >= w {
		right, rw = "", 0
	}
	lw := ansi.StringWidth(left)
	if lw+rw+1 > w {
		left = ansi.Truncate(left, max(w-rw-1, 0), "…")
		lw = ansi.StringWidth(left)
	}
	return left + strings.Repeat(" ", max(w-lw-rw, 0)) + right
}
