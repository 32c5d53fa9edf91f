package tui

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/evtriage/evtriage/internal/winpath"
	"github.com/evtriage/evtriage/triage"
)

// column is a findings table column.
type column int

// The findings table's columns, in display order.
const (
	colTime column = iota
	colLevel
	colNew  // against the baseline: new, seen, – (not judged)
	colMark // shown once the case holds a mark
	colEventID
	colRule
	colHost
	colProcess
	colCommandLine
	numColumns
)

// String returns the column's header.
func (c column) String() string {
	names := [numColumns]string{"TIME", "LVL", "NEW", "MARK", "EID", "RULE", "HOST", "PROCESS", "COMMAND LINE"}
	if c < 0 || c >= numColumns {
		return "?"
	}
	return names[c]
}

// navKeyMap is the cursor movement every list shares.
type navKeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
}

// defaultNavKeyMap returns the default movement keys (arrows and vi keys).
func defaultNavKeyMap() navKeyMap {
	return navKeyMap{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+b"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+f"), key.WithHelp("pgdn", "page down")),
		Top:      key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g/home", "first")),
		Bottom:   key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G/end", "last")),
	}
}

// FullHelp lists the movement keys in one column.
func (km navKeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{km.Up, km.Down, km.PageUp, km.PageDown, km.Top, km.Bottom}}
}

// move returns the cursor after k in a list of n rows showing page rows
// at a time, and whether k was a movement key. The caller clamps.
func (km navKeyMap) move(k tea.KeyPressMsg, cursor, n, page int) (int, bool) {
	page = max(page, 1)
	switch {
	case key.Matches(k, km.Up):
		return cursor - 1, true
	case key.Matches(k, km.Down):
		return cursor + 1, true
	case key.Matches(k, km.PageUp):
		return cursor - page, true
	case key.Matches(k, km.PageDown):
		return cursor + page, true
	case key.Matches(k, km.Top):
		return 0, true
	case key.Matches(k, km.Bottom):
		return n - 1, true
	}
	return cursor, false
}

// tableKeyMap is the findings table's key bindings.
type tableKeyMap struct {
	navKeyMap
	Sort, Reverse key.Binding
}

// defaultTableKeyMap returns the findings table's default bindings.
func defaultTableKeyMap() tableKeyMap {
	return tableKeyMap{
		navKeyMap: defaultNavKeyMap(),
		Sort:      key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "sort by next column")),
		Reverse:   key.NewBinding(key.WithKeys("O"), key.WithHelp("O", "reverse sort")),
	}
}

// ShortHelp is the table's key for the one-line help.
func (km tableKeyMap) ShortHelp() []key.Binding { return []key.Binding{km.Sort} }

// FullHelp lists the table's keys: movement, then sorting.
func (km tableKeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{append(helpColumn(km.navKeyMap.FullHelp()), km.Sort, km.Reverse)}
}

// findingsTable is a virtualised, sortable table of findings: it keeps the
// rows it is given and renders only those on screen, so its cost per
// keypress does not depend on how many findings there are.
type findingsTable struct {
	KeyMap tableKeyMap
	styles *tableStyles // set by SetStyles, never written through (copies may share it)

	rows          []*triage.Finding
	labels        labels        // short rule titles and host names
	content       contentWidths // of the rows: the columns follow them
	newCol        bool          // findings are judged against a baseline: the NEW column shows
	cursor, top   int
	width, height int // height includes the header line
	sortBy        column
	desc          bool
	query         string // search text to highlight
	matched       func(*triage.Finding) bool
	zone          zone // times are shown in it
	// moved is set once the user moves the cursor: until then it stays
	// on the first row whatever the rows become (snapshots while loading,
	// filters, sorting); afterwards it follows the user's finding.
	moved bool
	marks markLookup // the analyst's marks: the MARK column when the case holds any
	// fresh are the findings that arrived while following, with when
	// (followState.fresh); now is the time the marks are drawn for.
	fresh map[findingKey]time.Time
	now   time.Time
}

// newFindingsTable returns an empty table sorted by time; its styles are
// set with SetStyles.
func newFindingsTable() findingsTable {
	return findingsTable{KeyMap: defaultTableKeyMap(), styles: new(tableStyles)}
}

// SetStyles sets the table's styles.
func (t *findingsTable) SetStyles(s tableStyles) { t.styles = &s }

// SetSize sets the table's size in cells, header line included.
func (t *findingsTable) SetSize(w, h int) {
	t.width, t.height = w, h
	t.clamp()
}

// SetRows replaces the rows (already filtered and sorted by the caller's
// tea.Cmd). Until the user has moved, the cursor stays on the first row.
// Afterwards it goes to row keepAt, where the filter run found the finding
// selected before, on the same line of the pane, so that rows added above
// it do not move what the user looks at; with keepAt negative (that
// finding is filtered out) the cursor keeps its position.
func (t *findingsTable) SetRows(rows []*triage.Finding, keepAt int) {
	t.rows = rows
	switch {
	case !t.moved:
		t.cursor, t.top = 0, 0
	case keepAt >= 0:
		line := t.cursor - t.top
		t.cursor, t.top = keepAt, keepAt-line
	}
	t.clamp()
}

// SetFresh marks the findings that arrived less than freshFor before now
// (following): • and bold while fresh.
func (t *findingsTable) SetFresh(fresh map[findingKey]time.Time, now time.Time) {
	t.fresh, t.now = fresh, now
}

// isFresh reports whether f is marked as just arrived.
func (t *findingsTable) isFresh(f *triage.Finding) bool {
	if len(t.fresh) == 0 {
		return false
	}
	at, ok := t.fresh[keyOf(f)]
	return ok && t.now.Sub(at) < freshFor
}

// release drops the rows but keeps the cursor's place (and whether the
// user moved it) for the rows that replace them.
func (t *findingsTable) release() { t.rows = nil }

// Rows returns the rows as shown.
func (t findingsTable) Rows() []*triage.Finding { return t.rows }

// Len is the number of rows.
func (t findingsTable) Len() int { return len(t.rows) }

// Cursor is the selected row's index.
func (t findingsTable) Cursor() int { return t.cursor }

// SetCursor selects row i (a move of the user's: a jump to a match, to a
// process's finding).
func (t *findingsTable) SetCursor(i int) {
	t.cursor, t.moved = i, true
	t.clamp()
}

// Selected returns the finding under the cursor, or nil.
func (t findingsTable) Selected() *triage.Finding {
	if t.cursor < 0 || t.cursor >= len(t.rows) {
		return nil
	}
	return t.rows[t.cursor]
}

// Sort returns the sort column and direction.
func (t findingsTable) Sort() (column, bool) { return t.sortBy, t.desc }

// SetZone sets the time zone times are shown in.
func (t *findingsTable) SetZone(z zone) { t.zone = z }

// SetHighlight sets the search text to mark in visible cells.
func (t *findingsTable) SetHighlight(query string) { t.query = query }

// SetMarks sets the marks the MARK column shows (it is shown once the
// case holds a mark).
func (t *findingsTable) SetMarks(l markLookup) { t.marks = l }

// showMarks reports whether the MARK column is shown.
func (t findingsTable) showMarks() bool { return t.marks.c.Len() > 0 }

func (t *findingsTable) bodyHeight() int { return max(t.height-1, 0) }

func (t *findingsTable) clamp() {
	if t.cursor >= len(t.rows) {
		t.cursor = len(t.rows) - 1
	}
	if t.cursor < 0 {
		t.cursor = 0
	}
	h := t.bodyHeight()
	if h == 0 {
		t.top = t.cursor
		return
	}
	if t.cursor < t.top {
		t.top = t.cursor
	}
	if t.cursor >= t.top+h {
		t.top = t.cursor - h + 1
	}
	if t.top > max(len(t.rows)-h, 0) {
		t.top = max(len(t.rows)-h, 0)
	}
	if t.top < 0 {
		t.top = 0
	}
}

// sortRequest asks the model to re-sort in a tea.Cmd.
type sortRequest struct{}

// Update moves the cursor; a change of sort order is returned as a command
// that the screen turns into a background re-sort.
func (t findingsTable) Update(msg tea.Msg) (findingsTable, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return t, nil
	}
	if c, ok := t.KeyMap.move(k, t.cursor, len(t.rows), t.bodyHeight()); ok {
		t.cursor, t.moved = c, true
		t.clamp()
		return t, nil
	}
	switch {
	case key.Matches(k, t.KeyMap.Sort):
		cw := t.columns()
		for range numColumns { // the next column shown
			// marks change while the rows stay: not a sort order
			if t.sortBy = (t.sortBy + 1) % numColumns; cw[t.sortBy] > 0 && t.sortBy != colMark {
				break
			}
		}
		return t, func() tea.Msg { return sortRequest{} }
	case key.Matches(k, t.KeyMap.Reverse):
		t.desc = !t.desc
		return t, func() tea.Msg { return sortRequest{} }
	}
	return t, nil
}

// update is Update for the screen's panes.
func (t *findingsTable) update(k tea.KeyPressMsg) tea.Cmd {
	var cmd tea.Cmd
	*t, cmd = t.Update(k)
	return cmd
}

// lines is the lines the table's rows take, its header included.
func (t *findingsTable) lines() int { return len(t.rows) + 1 }

// SetLabels sets the short forms of rule titles and host names (per
// snapshot).
func (t *findingsTable) SetLabels(l labels) { t.labels = l }

// SetContent sets the widths of the rows' content (per filter run) and
// whether the NEW column is shown.
func (t *findingsTable) SetContent(c contentWidths, newCol bool) { t.content, t.newCol = c, newCol }

// columns lays the columns out for the table's width.
func (t *findingsTable) columns() [numColumns]int {
	return layout(t.width, t.content, t.newCol, t.showMarks())
}

// View renders the header and the visible rows, exactly width × height.
func (t findingsTable) View() string {
	if t.width <= 0 || t.height <= 0 {
		return ""
	}
	st := t.styles
	cw := t.columns()
	lines := make([]string, 0, t.height)
	var hb strings.Builder
	hb.WriteString("  ")
	for c := column(0); c < numColumns; c++ {
		if cw[c] == 0 {
			continue
		}
		name := c.String()
		if c == t.sortBy {
			if t.desc {
				name += "▼"
			} else {
				name += "▲"
			}
		}
		hb.WriteString(st.Header.Render(fit(name, cw[c])))
		hb.WriteByte(' ')
	}
	lines = append(lines, hb.String())
	if len(t.rows) == 0 {
		lines = append(lines, st.Faint.Render("  no findings match the current filters"))
	}
	end := min(t.top+t.bodyHeight(), len(t.rows))
	for i := t.top; i < end; i++ {
		lines = append(lines, t.renderRow(t.rows[i], cw, i == t.cursor))
	}
	return padLines(lines, t.width, t.height)
}

func (t findingsTable) renderRow(f *triage.Finding, cw [numColumns]int, selected bool) string {
	st := t.styles
	base := lipgloss.NewStyle()
	fresh := t.isFresh(f)
	if selected {
		base = st.Selected
	} else if fresh {
		base = base.Bold(true)
	}
	mark := []rune("  ")
	if selected {
		mark[0] = '›'
	}
	switch {
	case len(f.Suppressed) > 0:
		mark[1] = '~' // revealed by switching a filter off
	case fresh:
		mark[1] = '•' // just arrived (following); a baseline's verdict is in the NEW column
	case f.New != nil && *f.New:
		mark[1] = '+'
	}
	var b strings.Builder
	b.WriteString(base.Render(string(mark)))
	sep := base.Render(" ")
	cellOf := func(c column, s string) {
		if cw[c] > 0 {
			b.WriteString(paint(cell(s, cw[c]), cw[c], t.query, base, st.Match))
			b.WriteString(sep)
		}
	}
	layout := "2006-01-02 15:04:05"
	if cw[colTime] < timeLong {
		layout = "01-02 15:04:05"
	}
	ts := t.zone.format(findingTime(f), layout)
	b.WriteString(base.Render(fit(ts, cw[colTime])))
	b.WriteString(sep)
	lvl := st.Levels.of(f.Rule.Level)
	if selected {
		lvl = lvl.Inherit(st.Selected)
	}
	b.WriteString(lvl.Render(fit(levelShort(f.Rule.Level), cw[colLevel])))
	b.WriteString(sep)
	if cw[colNew] > 0 {
		b.WriteString(base.Render(fit(newWord(f.New), cw[colNew])))
		b.WriteString(sep)
	}
	if cw[colMark] > 0 {
		text, ms := "", base
		if mk, own, ok := t.marks.finding(f); ok {
			text = mk.Verdict.Short()
			if !own {
				text = strings.ToLower(text) // the process's mark
			}
			ms = st.Verdicts.of(mk.Verdict)
			if selected {
				ms = ms.Inherit(st.Selected)
			}
		}
		b.WriteString(ms.Render(fit(text, cw[colMark])))
		b.WriteString(sep)
	}
	if cw[colEventID] > 0 {
		b.WriteString(base.Render(fit(findingEventID(f), cw[colEventID])))
		b.WriteString(sep)
	}
	cellOf(colRule, t.labels.title(f.Rule))
	cellOf(colHost, t.labels.host(findingHost(f)))
	cellOf(colProcess, findingProcess(f))
	cellOf(colCommandLine, findingCommandLine(f))
	return b.String()
}

// newWord is a baseline verdict as the table shows it: new, seen, or –
// (not judged: no baseline, or nothing to judge the finding by).
func newWord(v *bool) string {
	switch {
	case v == nil:
		return "–"
	case *v:
		return "new"
	}
	return "seen"
}

// findingTime is the time of the finding's event.
func findingTime(f *triage.Finding) time.Time {
	if f.Event == nil || f.Event.Event == nil {
		return time.Time{}
	}
	return f.Event.Event.Time
}

func eventID(f *triage.Finding) int {
	if f.Event == nil || f.Event.Event == nil {
		return -1
	}
	return int(f.Event.Event.EventID)
}

// findingEventID is the event ID column: which log entry matched (Sysmon
// 1/3/7/22, Security 4688…).
func findingEventID(f *triage.Finding) string {
	if id := eventID(f); id >= 0 {
		return strconv.Itoa(id)
	}
	return ""
}

func findingHost(f *triage.Finding) string {
	if f.Process != nil && f.Process.Host != "" {
		return f.Process.Host
	}
	if f.Event != nil && f.Event.Event != nil {
		return f.Event.Event.Computer
	}
	return ""
}

// findingImage is the image of the process the finding is about.
func findingImage(f *triage.Finding) string {
	if f.Process != nil && f.Process.Image != "" {
		return f.Process.Image
	}
	if f.Event != nil && f.Event.Event != nil {
		for _, name := range []string{"Image", "NewProcessName"} {
			if v, ok := f.Event.Event.Field(name); ok {
				return v
			}
		}
	}
	return ""
}

func findingProcess(f *triage.Finding) string {
	img := winpath.Base(findingImage(f))
	if f.Process != nil && f.Process.PID != 0 {
		return img + " " + strconv.FormatUint(uint64(f.Process.PID), 10)
	}
	return img
}

// findingCommandLine is the command line column: the event's or the
// process's command line, or for a correlation the firing's summary.
func findingCommandLine(f *triage.Finding) string {
	if f.Correlation != nil {
		return f.Correlation.Summary()
	}
	if f.Event != nil && f.Event.Event != nil {
		if v, ok := f.Event.Event.Field("CommandLine"); ok && v != "" {
			return v
		}
	}
	if f.Process != nil {
		return f.Process.CommandLine
	}
	return ""
}

// sortFindings sorts rows in place by column, ties broken by finding ID so
// the order is total and stable. It is called from tea.Cmds.
func sortFindings(rows []*triage.Finding, by column, desc bool) {
	compare := func(a, b *triage.Finding) int {
		var c int
		switch by {
		case colTime:
			c = findingTime(a).Compare(findingTime(b))
		case colLevel:
			c = cmp.Compare(b.Rule.Level, a.Rule.Level) // most severe first
		case colNew:
			c = cmp.Compare(newRank(a.New), newRank(b.New)) // new first
		case colEventID:
			c = cmp.Compare(eventID(a), eventID(b))
		case colRule:
			c = strings.Compare(a.Rule.Title, b.Rule.Title)
		case colHost:
			c = strings.Compare(findingHost(a), findingHost(b))
		case colProcess:
			c = strings.Compare(strings.ToLower(winpath.Base(findingImage(a))), strings.ToLower(winpath.Base(findingImage(b))))
		case colCommandLine:
			c = strings.Compare(findingCommandLine(a), findingCommandLine(b))
		}
		if desc {
			c = -c
		}
		if c == 0 {
			c = cmp.Compare(a.ID, b.ID)
		}
		return c
	}
	slices.SortFunc(rows, compare)
}

// newRank orders verdicts: new, seen, not judged.
func newRank(v *bool) int {
	switch {
	case v == nil:
		return 2
	case *v:
		return 0
	}
	return 1
}

// position describes where the cursor is, for the pane title.
func (t findingsTable) position() string {
	if len(t.rows) == 0 {
		return "0/0"
	}
	return fmt.Sprintf("%d/%d", t.cursor+1, len(t.rows))
}
