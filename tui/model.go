package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/evtriage/evtriage/internal/termsafe"
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
	// Exports says the Inputs are evtriage exports (hunt's or the screen's
	// JSON and JSON Lines, a fleet's): they are read back as they were
	// exported (triage.ExportSet), no rule is run, and Hunt serves only
	// for its Provenance.
	Exports bool
	Hunt    triage.Options
	// ExportDir is the folder exports are written to.
	ExportDir string
	// Now is the clock (export file names, the pace of loading progress);
	// nil means time.Now.
	Now func() time.Time
	// After is the timer the loading waits on between snapshots of a file
	// still being read; nil means time.After. Tests pass one they fire.
	After func(time.Duration) <-chan time.Time
	// MinLevel is the minimum rule level shown at start.
	MinLevel rules.Level
	// Notes are problems found before the screen opened (paths that could
	// not be listed, rules that were rejected…); the problems panel shows them.
	Notes []string
	// Location is the time zone times are shown in (--tz); nil means UTC.
	// Exports stay UTC.
	Location *time.Location
	// Follow, when set, follows logs as they are written (--follow)
	// instead of reading Inputs once; Inputs name the logs there are at
	// the start (the evidence read back also opens those that appear).
	Follow *Follow
	// Clipboard lets y copy a field's value through the terminal (OSC 52).
	// The caller leaves it off over SSH unless asked: the escape sets the
	// clipboard of whichever machine the terminal runs on.
	Clipboard bool
	// Case is where the analyst's marks are kept (m), and RuleLoad how the
	// rules in Hunt were loaded: W reloads them with the filter it writes
	// (into the case's rules folder).
	Case     CaseConfig
	RuleLoad rules.LoadOptions
}

// Model is the hunting screen. Its components (the findings table, the
// process tree, the detail pane, the rules panel, the status bar…) each
// keep their own state, KeyMap and styles; the Model routes messages to
// them by mode, and keeps the state that spans them in small types: the
// loading (loadState), the filter and its runs (filterState, filterRun),
// the search (searchState), deferred exports (exportState), the raw event
// (rawState), and the inputs opened again to read events back (evidence).
type Model struct {
	cfg     Config
	keys    keyMap
	toggles toggleTable
	styles  *screenStyles // set by setStyles, never written through
	help    help.Model
	width   int
	height  int

	view       viewKind
	overlay    overlayKind
	table      findingsTable
	tree       processTree
	timeline   timelineView
	tlFrom     viewKind // the view the timeline was opened from (esc goes back)
	hosts      hostsView
	files      filesView
	detail     detailPane
	rules      rulesPanel
	problems   detailPane
	helpPane   detailPane
	exportMenu exportMenu
	markBox    markBox
	fpBox      fpBox
	status     statusBar
	spark      sparkStyles

	res          *triage.Result
	index        treeIndex
	totalPerRule map[*rules.Rule]int
	load         loadState
	follow       followState

	filter filterState
	shown  filterRun
	search searchState
	export exportState
	raw    rawState
	zone   zone
	ev     *evidence
	cs     caseState

	// out is the files being written (shared by the Model's copies);
	// quitting is set by a q that waits for them.
	out      *writing
	quitting bool

	message string
	msgErr  bool
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
	if cfg.After == nil {
		cfg.After = time.After
	}
	if cfg.ExportDir == "" {
		cfg.ExportDir = "."
	}
	m := Model{cfg: cfg, keys: defaultKeyMap(), toggles: defaultToggles(), help: help.New(), out: newWriting()}
	m.table = newFindingsTable()
	m.tree = newProcessTree()
	m.timeline = newTimelineView()
	m.hosts = newHostsView()
	m.files = newFilesView()
	m.markBox = newMarkBox()
	m.fpBox = newFPBox()
	m.zone = zone{cfg.Location}
	m.table.SetZone(m.zone)
	m.timeline.SetZone(m.zone)
	m.hosts.SetZone(m.zone)
	m.files.SetZone(m.zone)
	m.ev = newEvidence(cfg.Inputs, !cfg.Hunt.NoCarve)
	m.detail = newDetailPane()
	m.rules = newRulesPanel()
	m.problems = newDetailPane()
	m.problems.KeyMap = pagerKeyMap()
	m.helpPane = newDetailPane()
	m.helpPane.KeyMap = pagerKeyMap()
	m.exportMenu = newExportMenu()
	m.setStyles(newTheme(true))
	m.search.input = prompt{Prefix: "search /"}
	m.filter.MinLevel = max(min(cfg.MinLevel, rules.LevelCritical), rules.LevelInformational)
	m.load.running = len(cfg.Inputs) > 0 && cfg.Follow == nil
	m.cs = newCaseState(cfg.Case)
	m.filter.Case = m.cs.c
	if cfg.Case.Err != nil {
		m.cfg.Notes = append(m.cfg.Notes, "case file: "+cfg.Case.Err.Error()+" — marks are off, and the file is left as it is")
	}
	if cfg.Follow != nil {
		m.follow = followState{on: true, fresh: make(map[findingKey]time.Time)}
		m.ev.live = true
	}
	return m
}

// Init starts loading in the background and asks the terminal for its
// background colour (to pick light or dark styles).
func (m Model) Init() tea.Cmd {
	cmds := []tea.Cmd{tea.RequestBackgroundColor}
	if fc := m.cfg.Follow; fc != nil {
		cmds = append(cmds, startFollow(m.cfg.Context, m.loadClock(), m.cfg.Hunt, *fc), tickFollow(m.loadClock()))
	} else if len(m.cfg.Inputs) > 0 {
		cmds = append(cmds, startLoad(m.cfg.Context, m.loadClock(), m.cfg.Hunt, m.cfg.Inputs, m.cfg.Exports))
	}
	return tea.Batch(cmds...)
}

// Run runs the screen as a full-screen program on in/out until the user
// quits. Extra options (tea.WithWindowSize…) are passed to the program.
func Run(ctx context.Context, cfg Config, in io.Reader, out io.Writer, opts ...tea.ProgramOption) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cfg.Context = ctx
	return runProgram(ctx, New(cfg), in, out, opts...)
}

// runProgram runs m as Run does.
func runProgram(ctx context.Context, m Model, in io.Reader, out io.Writer, opts ...tea.ProgramOption) error {
	all := append([]tea.ProgramOption{tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(out), tea.WithFPS(120)}, opts...)
	defer m.ev.Close()
	_, err := tea.NewProgram(m, all...).Run()
	if err != nil {
		err = fmt.Errorf("tui: %w", err)
	}
	// The files still being written when the screen ended (q twice,
	// ctrl+c, a signal, the context) are discarded, not left half-written.
	if what := m.out.abandon(); len(what) > 0 {
		err = errors.Join(fmt.Errorf("%w: %s, being written when the screen ended, was discarded", ErrAbandoned,
			strings.Join(what, "; ")), err)
	}
	return err
}

func (m *Model) setMessage(s string, isErr bool) { m.message, m.msgErr = s, isErr }

// setStyles gives the screen and each component its styles from th.
func (m *Model) setStyles(th theme) {
	st := newScreenStyles(th)
	m.styles = &st
	m.help.Styles = th.Help
	m.table.SetStyles(newTableStyles(th))
	m.tree.SetStyles(newTreeStyles(th))
	m.timeline.SetStyles(newTimelineStyles(th))
	m.hosts.SetStyles(newListStyles(th))
	m.files.SetStyles(newListStyles(th))
	m.spark = newSparkStyles(th)
	m.hosts.spark = m.spark
	m.markBox.SetStyles(newDetailStyles(th))
	m.fpBox.SetStyles(newDetailStyles(th))
	m.detail.SetStyles(newDetailStyles(th))
	m.rules.SetStyles(newRulesStyles(th))
	m.problems.SetStyles(newDetailStyles(th))
	m.helpPane.SetStyles(newDetailStyles(th))
	m.exportMenu.SetStyles(newExportStyles(th))
	m.status.SetStyles(newStatusStyles(th))
}

// Update handles one message: window and terminal events, the results of
// background work, and input, which goes to the mode the screen is in.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
		m.refreshProblems()
	case tea.BackgroundColorMsg:
		m.setStyles(newTheme(msg.IsDark()))
		m.layout()
		m.refreshProblems()
	case loaderMsg:
		cmd = m.handleLoader(msg.msg)
		if msg.ch != nil {
			cmd = tea.Batch(cmd, waitLoader(msg.ch))
		}
	case preparedMsg:
		cmd = m.applySnapshot(msg)
	case followTickMsg:
		m.follow.expire(m.cfg.Now())
		cmd = tickFollow(m.loadClock())
	case filteredMsg:
		cmd = m.applyFiltered(msg.filtered)
	case searchedMsg:
		cmd = m.applySearch(msg.searchResult)
	case timelineMsg:
		cmd = m.applyTimeline(msg)
	case rawMsg:
		m.applyRaw(msg)
	case exportedMsg:
		m.setMessage(msg.text(), msg.err != nil)
		cmd = m.written()
	case valueSavedMsg:
		if msg.err != nil {
			m.setMessage("could not write "+msg.label+": "+termsafe.Clean(msg.err.Error()), true)
		} else {
			m.setMessage("wrote "+msg.label+" to "+termsafe.Clean(msg.path), false)
		}
		cmd = m.written()
	case exportRequest:
		if m.overlay == overlayExport {
			m.overlay = overlayNone
		}
		cmd = m.startExport(msg)
	case caseSavedMsg:
		cmd = m.caseSaved(msg)
	case caseMatchedMsg:
		m.caseMatched(msg)
	case folderMsg:
		cmd = m.folderReady(msg)
	case filterWrittenMsg:
		cmd = m.filterWritten(msg)
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
		switch {
		case m.search.prompting:
			m.search.input = m.search.input.Update(msg)
		case m.overlay == overlayMark:
			m.markBox.paste(msg)
		case m.overlay == overlayFilter:
			m.fpBox.paste(msg)
		}
	case tea.KeyPressMsg:
		cmd = m.handleKey(msg)
	}
	cmd = tea.Batch(cmd, m.syncDetail())
	m.syncPanels()
	return m, cmd
}

// handleKey passes a key to the mode the screen is in, the way bubbles'
// list does: typing a search (handlePrompt), an overlay
// (handleOverlay), or browsing the views (handleBrowsing).
func (m *Model) handleKey(k tea.KeyPressMsg) tea.Cmd {
	if k.String() == "ctrl+c" {
		return tea.Quit // files being written are abandoned (Run)
	}
	if m.search.prompting {
		return m.handlePrompt(k)
	}
	m.message = ""
	if m.overlay != overlayNone {
		return m.handleOverlay(k)
	}
	view, rows := m.view, m.activeView().Len()
	cmd := m.handleBrowsing(k)
	if m.view != view || m.activeView().Len() != rows {
		m.layout() // the list's height follows its rows
	}
	return cmd
}

// handlePrompt edits the search query; enter runs it, esc leaves it.
func (m *Model) handlePrompt(k tea.KeyPressMsg) tea.Cmd {
	switch k.String() {
	case "enter":
		m.search.prompting = false
		q := strings.TrimSpace(m.search.input.Value())
		if m.search.pager {
			m.search.pager = false
			if p := m.pager(); p != nil {
				if n := p.Find(q); q != "" {
					m.setMessage(fmt.Sprintf("%q: %s — n/N to step", termsafe.Clean(q), countNoun(n, "line", "lines")), n == 0)
				}
			}
			return nil
		}
		cmd := m.startSearch(q)
		if q != "" && m.res != nil {
			m.search.jumpTo = q // once its results are in
		}
		return cmd
	case "esc":
		m.search.prompting, m.search.pager = false, false
		return nil
	}
	m.search.input = m.search.input.Update(k)
	return nil
}

// handleOverlay handles a key while an overlay is open: its own key and
// esc close it, ? opens the help from it, q quits, the rest goes to it.
// An overlay one types into (a mark's note, a folder) takes every key but
// esc (cancel) and enter (done).
func (m *Model) handleOverlay(k tea.KeyPressMsg) tea.Cmd {
	if m.overlay == overlayMark || m.overlay == overlayFilter {
		switch k.String() {
		case "esc":
			m.overlay = overlayNone
			return nil
		case "enter":
			if m.overlay == overlayMark {
				m.overlay = overlayNone
				return m.applyMark()
			}
			return m.fpEnter()
		}
		return m.overlayPane().update(k)
	}
	switch {
	case key.Matches(k, m.keys.Quit):
		return m.quit()
	case key.Matches(k, m.keys.Back), key.Matches(k, m.overlayKey(m.overlay)):
		m.overlay = overlayNone
	case key.Matches(k, m.keys.Help):
		m.openOverlay(overlayHelp)
	case m.pager() != nil && key.Matches(k, m.keys.Search):
		m.search.prompting, m.search.pager = true, true
		m.search.input.SetValue(m.pager().find.query)
	case m.pager() != nil && key.Matches(k, m.keys.Next, m.keys.Prev):
		if i, n := m.pager().StepFind(key.Matches(k, m.keys.Next)); n > 0 {
			m.setMessage(fmt.Sprintf("line match %d/%d", i, n), false)
		} else {
			m.setMessage("no search: press / first", true)
		}
	default:
		return m.overlayPane().update(k)
	}
	return nil
}

// pager is the open overlay when it is a pager (help, problems), which
// searches its lines with / n N; nil otherwise.
func (m *Model) pager() *detailPane {
	switch m.overlay {
	case overlayHelp:
		return &m.helpPane
	case overlayProblems:
		return &m.problems
	}
	return nil
}

// handleBrowsing handles a key on the views: the screen's own keys, the
// filter toggles', the detail pane's, then the active view's.
func (m *Model) handleBrowsing(k tea.KeyPressMsg) tea.Cmd {
	if tk, ok := m.toggles.find(k); ok {
		return m.runToggle(tk)
	}
	switch {
	case key.Matches(k, m.keys.Quit):
		if m.cs.unsaved != nil && !m.cs.warned {
			m.cs.warned = true
			m.setMessage("marks are NOT saved ("+termsafe.Clean(m.cs.unsaved.Error())+"): q again quits anyway", true)
			return nil
		}
		return m.quit()
	case key.Matches(k, m.keys.Help):
		m.openOverlay(overlayHelp)
	case key.Matches(k, m.keys.Problems):
		m.openOverlay(overlayProblems)
	case key.Matches(k, m.keys.Back):
		return m.back()
	case key.Matches(k, m.keys.Findings):
		m.view = viewFindings
	case key.Matches(k, m.keys.Tree):
		m.view = viewTree
	case key.Matches(k, m.keys.TimelineView):
		m.view = viewTimeline
	case key.Matches(k, m.keys.Hosts):
		m.view = viewHosts
	case key.Matches(k, m.keys.Files):
		m.view = viewFiles
	case key.Matches(k, m.keys.SwitchView):
		m.view = (m.view + 1) % numViews
	case key.Matches(k, m.keys.Timeline):
		return m.openTimeline()
	case key.Matches(k, m.keys.Pause):
		m.togglePause()
	case key.Matches(k, m.keys.Raw):
		m.raw.on = !m.raw.on
		m.detail.Refresh()
	case m.view == viewTimeline && key.Matches(k, m.timeline.KeyMap.Narrow, m.timeline.KeyMap.Widen):
		d := -1
		if key.Matches(k, m.timeline.KeyMap.Widen) {
			d = 1
		}
		if !m.timeline.step(d) {
			m.setMessage("the timeline's window is as narrow (±10s) or as wide (±24h) as it goes", false)
			return nil
		}
		return m.timeline.load(m.cfg.Context, m.res, m.ev)
	case key.Matches(k, m.keys.Open):
		return m.open()
	case key.Matches(k, m.keys.Mark):
		m.startMark()
	case key.Matches(k, m.keys.WriteFilter):
		m.startFalsePositive()
	case key.Matches(k, m.keys.Search):
		m.search.prompting = true
		m.search.input.SetValue(m.search.query())
	case key.Matches(k, m.keys.Next):
		m.step(true, false)
	case key.Matches(k, m.keys.Prev):
		m.step(false, false)
	case key.Matches(k, m.keys.Export):
		m.openExport(false)
	case key.Matches(k, m.keys.ExportSubtree):
		m.openExport(true)
	case key.Matches(k, m.keys.Copy):
		return m.copyField()
	case key.Matches(k, m.keys.Save):
		return m.saveField()
	case key.Matches(k, m.detail.KeyMap.Down, m.detail.KeyMap.Up, m.detail.KeyMap.NextField, m.detail.KeyMap.PrevField):
		return m.detail.update(k)
	default:
		return m.activeView().update(k)
	}
	return nil
}

// back closes what esc closes on the views, one layer at a time: the
// search, then the timeline (back to the view it was opened from), then
// the tree.
func (m *Model) back() tea.Cmd {
	switch {
	case m.search.result != nil:
		return m.startSearch("")
	case m.view == viewTimeline && m.tlFrom != viewTimeline:
		m.view = m.tlFrom
	case m.view != viewFindings:
		m.view = viewFindings
	}
	return nil
}

// runToggle runs a toggle key: its overlay opens, or the filter changes
// and the findings are filtered again.
func (m *Model) runToggle(tk toggleKey) tea.Cmd {
	if tk.opens != overlayNone {
		m.openOverlay(tk.opens)
		return nil
	}
	f := m.filter.clone()
	env := toggleEnv{res: m.res, baseline: m.hasBaseline(), selected: m.selectedTime(), marks: m.cs.c.Len()}
	if err := tk.apply(&f, &env); err != nil {
		if !errors.Is(err, errNoChange) {
			m.setMessage(err.Error(), true)
		}
		return nil
	}
	return m.setFilter(f)
}

// hasBaseline reports whether findings are judged new or seen (by this
// hunt, or, for exports, by the hunts that wrote them).
func (m *Model) hasBaseline() bool {
	return len(m.cfg.Hunt.Baseline) > 0 || m.cfg.Hunt.BaselineWindow > 0 || m.res != nil && m.res.NewKey != ""
}

// setFilter installs f and filters the findings again in the background;
// the tree shows the roots of the host f selects.
func (m *Model) setFilter(f filterState) tea.Cmd {
	hostChanged := f.Host != m.filter.Host
	modeChanged := f.searchOnly != m.filter.searchOnly
	m.filter = f
	m.hosts.SetChosen(f.Host)
	m.files.SetHost(f.Host)
	m.detail.Refresh()
	if hostChanged && m.res != nil {
		m.tree.SetData(m.sections(), m.index, m.tree.Expanded(), len(m.res.Hosts) > 1)
	}
	if modeChanged {
		m.applySearchMode()
		if f.searchOnly {
			m.setMessage("search now shows only the matching rows (& to show every row and jump between matches)", false)
		} else {
			m.setMessage("search now shows every row and jumps between matches with n/N (& to show only them)", false)
		}
	}
	return m.refilter()
}

// startExport writes the shown findings (or the selected subtree's) once
// no filter run is under way, so that it holds what the filters select.
func (m *Model) startExport(req exportRequest) tea.Cmd {
	if m.res == nil && m.load.finishing {
		m.export.wait(req)
		m.setMessage("export waits for the process tree to be built…", false)
		return nil
	}
	if m.shown.running {
		m.export.wait(req)
		m.setMessage("export waits for the filters to finish…", false)
		return nil
	}
	if req.subtree {
		return m.exportSubtree(req.format)
	}
	return m.exportShown(req.format)
}

// exportRequest asks for an export in a format (the export menu's enter;
// deferred until filtering is done).
type exportRequest struct {
	subtree bool
	format  triage.Format
}

// written follows the end of a file being written: a q that waits for
// the files ends the screen once the last is done.
func (m *Model) written() tea.Cmd {
	if m.quitting && m.out.busy() == 0 {
		return tea.Quit
	}
	return nil
}

// exportState holds an export that waits for a filter run in progress:
// an export writes what the filters select, not a stale list.
type exportState struct{ pending tea.Cmd }

// wait defers the export req until the filter run is in.
func (e *exportState) wait(req exportRequest) { e.pending = func() tea.Msg { return req } }

// take returns the deferred export, if any, and forgets it.
func (e *exportState) take() tea.Cmd {
	cmd := e.pending
	e.pending = nil
	return cmd
}

// syncPanels gives the status bar and the rules panel the filter and the
// counts after each message; it costs a pass over the loaded rules.
func (m *Model) syncPanels() {
	env := toggleEnv{res: m.res, baseline: m.hasBaseline(), searching: m.search.result != nil, zone: m.zone, marks: m.cs.c.Len()}
	shown, total := 0, 0
	if m.res != nil {
		shown, total = m.table.Len(), len(m.res.Findings)
	}
	paused := ""
	if m.follow.paused {
		paused = "paused · "
	}
	m.status.SetStatus(m.toggles.statusItems(&m.filter, &env), fmt.Sprintf("%s%d/%d shown · %s", paused, shown, total, m.zone.name()),
		fmt.Sprintf("%s%d/%d %s", paused, shown, total, m.zone.short()))
	m.table.SetFresh(m.follow.fresh, m.cfg.Now())
	m.rules.SetCounts(m.filter, m.shown.perRule, m.totalPerRule)
}

// syncDetail rebuilds the detail pane when the selection changed; the
// cost is that of one process, finding, event, host or file. The raw
// view reads the selected event's XML: syncDetail returns that read.
func (m *Model) syncDetail() tea.Cmd {
	if m.raw.on && m.selection() != nil {
		return m.syncRaw()
	}
	st, w, z, visible := *m.detail.styles, m.detail.width, m.zone, m.shown.visible
	look := markLookup{c: m.cs.c, r: m.res}
	switch s := m.selection().(type) {
	case *triage.Process:
		m.detail.Show(s, func() detailContent { return processLines(st, w, z, s, visible, look) })
	case *triage.Finding:
		verdict := ""
		if m.hasBaseline() {
			verdict = m.verdictText(s)
		}
		var tamper *triage.Tamper
		if m.res != nil && s.Event != nil {
			if src := m.res.Source(s.Event.File); src != nil {
				tamper = src.Tamper
			}
		}
		m.detail.Show(s, func() detailContent { return findingLines(st, w, z, s, verdict, look, tamper) })
	case *triage.TimelineEvent:
		m.detail.Show(s, func() detailContent { return timelineLines(st, w, z, s, visible) })
	case *treeGroup:
		m.detail.Show(s, func() detailContent { return groupLines(st, w, s) })
	case *hostRow:
		chosen, spark := s.host == m.filter.Host, m.spark
		marks := m.hostMarks(s.host)
		m.detail.Show(s, func() detailContent { return hostLines(st, spark, w, z, s, chosen, marks) })
	case *triage.Source:
		m.detail.Show(s, func() detailContent { return fileLines(st, w, z, s) })
	default:
		m.detail.Show(nil, nil)
	}
	return nil
}
