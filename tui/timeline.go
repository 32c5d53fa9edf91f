package tui

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/evtriage/evtriage/internal/termsafe"
	"github.com/evtriage/evtriage/rules"
	"github.com/evtriage/evtriage/triage"
)

// The host timeline (view 3): every event of one host around the time of
// what was selected, whatever its log, read back from the evidence by
// triage.Result.ReadTimeline (the hunt keeps where events are, not the
// events), one line each, the selected event marked, findings flagged.

// timelineSpans are the half-widths of the window, which < and > step
// through; the window opens at ±5 minutes.
var timelineSpans = [...]time.Duration{10 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute,
	5 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour}

// defaultSpan is the index in timelineSpans of ±5 minutes.
const defaultSpan = 4

// maxTimeline is how many events a window holds at most: those nearest
// the selected event (the header says so when there are more).
const maxTimeline = triage.DefaultTimelineMax

// timelineKeyMap is the timeline's key bindings.
type timelineKeyMap struct {
	navKeyMap
	Narrow, Widen key.Binding
}

func defaultTimelineKeyMap() timelineKeyMap {
	return timelineKeyMap{
		navKeyMap: defaultNavKeyMap(),
		Narrow:    key.NewBinding(key.WithKeys("<"), key.WithHelp("<", "narrow the timeline")),
		Widen:     key.NewBinding(key.WithKeys(">"), key.WithHelp(">", "widen the timeline")),
	}
}

// ShortHelp is the timeline's keys for the one-line help.
func (km timelineKeyMap) ShortHelp() []key.Binding { return []key.Binding{km.Narrow, km.Widen} }

// FullHelp lists the timeline's own keys (it moves like every list).
func (km timelineKeyMap) FullHelp() [][]key.Binding { return [][]key.Binding{{km.Narrow, km.Widen}} }

// tlAnchor is what a timeline is opened on: a host, a time, and the event
// to mark (file and offset; file "" when there is none).
type tlAnchor struct {
	host string
	at   time.Time
	file string
	off  int64
	what string // what was selected, for the header: "finding …", "process …"
}

// timelineView is the host timeline: the window asked for, the events
// read back (rows show all of them, or the search's matches), the
// cursor. Reading runs in a tea.Cmd (loadTimeline); a generation counter
// drops the answers of windows asked for since.
type timelineView struct {
	KeyMap timelineKeyMap
	styles *timelineStyles // set by SetStyles, never written through

	anchor  tlAnchor
	opened  bool
	span    int // index in timelineSpans
	gen     int // of the latest read asked for
	running bool
	cancel  context.CancelFunc
	data    *triage.Timeline
	err     error

	rows    []int32 // indices in data.Events shown, in order
	match   []bool  // by index in data.Events: search matches (nil: no search)
	matchOf *triage.Timeline
	only    bool   // show only the matches
	query   string // search text to mark
	visible []bool // by Finding.ID: the findings the filters show
	// strip is the picture of the window's activity over time drawn
	// under the header (the hosts view's sparkline); "" draws none.
	strip string

	cursor, top   int
	width, height int
	zone          zone
}

func newTimelineView() timelineView {
	return timelineView{KeyMap: defaultTimelineKeyMap(), styles: new(timelineStyles), span: defaultSpan}
}

// SetStyles sets the timeline's styles.
func (v *timelineView) SetStyles(s timelineStyles) { v.styles = &s }

// SetSize sets the timeline's size in cells, its header lines included.
func (v *timelineView) SetSize(w, h int) { v.width, v.height = w, h; v.clamp() }

// SetZone sets the time zone times are shown in.
func (v *timelineView) SetZone(z zone) { v.zone = z }

// SetVisible installs the findings the filters show (flags of hidden
// ones are drawn faint).
func (v *timelineView) SetVisible(visible []bool) { v.visible = visible }

// SetStrip sets the line drawn under the header ("" none).
func (v *timelineView) SetStrip(s string) { v.strip = s }

// window is the time range asked for.
func (v *timelineView) window() (from, to time.Time) {
	d := timelineSpans[v.span]
	return v.anchor.at.Add(-d), v.anchor.at.Add(d)
}

// headerLines is the lines above the rows: the summary, the strip, the
// column titles.
func (v *timelineView) headerLines() int {
	if v.strip != "" {
		return 3
	}
	return 2
}

func (v *timelineView) bodyHeight() int { return max(v.height-v.headerLines(), 0) }

// Len is the number of rows shown.
func (v timelineView) Len() int { return len(v.rows) }

// lines is the lines the rows take with the header.
func (v *timelineView) lines() int { return max(len(v.rows), 1) + v.headerLines() }

// Selected returns the event under the cursor, or nil.
func (v timelineView) Selected() *triage.TimelineEvent {
	if v.cursor < 0 || v.cursor >= len(v.rows) || v.data == nil {
		return nil
	}
	return &v.data.Events[v.rows[v.cursor]]
}

// position describes where the cursor is, for the tab.
func (v timelineView) position() string {
	if len(v.rows) == 0 {
		return "0/0"
	}
	return strconv.Itoa(v.cursor+1) + "/" + strconv.Itoa(len(v.rows))
}

func (v *timelineView) clamp() {
	v.cursor, v.top = scrollClamp(v.cursor, v.top, len(v.rows), v.bodyHeight())
}

// timelineMsg carries a read back window.
type timelineMsg struct {
	gen int
	tl  *triage.Timeline
	err error
}

// open starts a timeline on a, at the window's default width.
func (v *timelineView) open(a tlAnchor) {
	v.anchor, v.opened, v.span = a, true, defaultSpan
	v.data, v.err, v.rows, v.cursor, v.top = nil, nil, nil, 0, 0
}

// load returns the command that reads the window back; a read under way
// is cancelled.
func (v *timelineView) load(ctx context.Context, r *triage.Result, ev *evidence) tea.Cmd {
	if !v.opened || r == nil {
		return nil
	}
	if v.cancel != nil {
		v.cancel()
	}
	ctx, v.cancel = context.WithCancel(ctx)
	v.gen++
	v.running = true
	from, to := v.window()
	q := triage.TimelineQuery{Host: v.anchor.host, From: from, To: to, Center: v.anchor.at, Max: maxTimeline}
	gen := v.gen
	return func() tea.Msg {
		open, done := ev.begin()
		defer done()
		tl, err := r.ReadTimeline(ctx, q, open)
		return timelineMsg{gen: gen, tl: tl, err: err}
	}
}

// apply installs a window read back; the cursor stays on the event it was
// on, or goes to the anchor's event, or to the event nearest its time.
func (v *timelineView) apply(msg timelineMsg) bool {
	if msg.gen != v.gen {
		return false // a later window was asked for
	}
	v.running = false
	if msg.err != nil && msg.tl == nil {
		if msg.err == context.Canceled {
			return false
		}
		v.err, v.data, v.rows = msg.err, nil, nil
		return true
	}
	prev := v.Selected()
	v.data, v.err = msg.tl, msg.err
	v.match, v.matchOf = nil, nil
	v.filterRows()
	switch {
	case prev != nil && v.seek(prev.File, prev.Event.Offset):
	case v.anchor.file != "" && v.seek(v.anchor.file, v.anchor.off):
	default:
		v.seekTime(v.anchor.at)
	}
	return true
}

// SetSearch installs the search text and its matches among the events of
// data (nil: no search, or not computed for these events).
func (v *timelineView) SetSearch(query string, match []bool, of *triage.Timeline) {
	sel := v.Selected()
	v.query = query
	v.match, v.matchOf = match, of
	v.filterRows()
	if sel != nil {
		v.seek(sel.File, sel.Event.Offset)
	}
}

// SetOnly makes the rows the search's matches only, or every event.
func (v *timelineView) SetOnly(only bool) {
	sel := v.Selected()
	v.only = only
	v.filterRows()
	if sel != nil && !v.seek(sel.File, sel.Event.Offset) {
		v.seekTime(sel.Event.Time)
	}
}

// matches returns the search's matches for the events shown, or nil.
func (v *timelineView) matches() []bool {
	if v.data == nil || v.matchOf != v.data {
		return nil
	}
	return v.match
}

// filterRows lists the rows: every event, or the matches only.
func (v *timelineView) filterRows() {
	v.rows = v.rows[:0]
	if v.data == nil {
		return
	}
	match := v.matches()
	for i := range v.data.Events {
		if v.only && v.query != "" && (match == nil || !match[i]) {
			continue
		}
		v.rows = append(v.rows, int32(i))
	}
	v.clamp()
}

// seek moves the cursor to the event of file at off; false when it is not
// a row.
func (v *timelineView) seek(file string, off int64) bool {
	for i, r := range v.rows {
		if e := &v.data.Events[r]; e.File == file && e.Event.Offset == off {
			v.setCursor(i)
			return true
		}
	}
	return false
}

// seekTime moves the cursor to the first row at or after t.
func (v *timelineView) seekTime(t time.Time) {
	i := 0
	for i < len(v.rows) && v.data.Events[v.rows[i]].Event.Time.Before(t) {
		i++
	}
	v.setCursor(min(i, len(v.rows)-1))
}

// setCursor selects row i, showing it a third of the way down when it was
// off screen.
func (v *timelineView) setCursor(i int) {
	v.cursor = i
	if h := v.bodyHeight(); i < v.top || i >= v.top+h {
		v.top = max(i-h/3, 0)
	}
	v.clamp()
}

// step makes the window one width narrower (d < 0) or wider, and reports
// whether it could (false at either end); the caller reads it again.
func (v *timelineView) step(d int) bool {
	n := v.span + d
	if !v.opened || n < 0 || n >= len(timelineSpans) {
		return false
	}
	v.span = n
	return true
}

// jump moves to the next (or previous) search match; false when none.
func (v *timelineView) jump(forward, here bool) bool {
	match := v.matches()
	if match == nil {
		return false
	}
	var marks []int32
	for i, r := range v.rows {
		if match[r] {
			marks = append(marks, int32(i))
		}
	}
	if len(marks) == 0 {
		return false
	}
	v.setCursor(int(marks[nextMark(marks, int32(v.cursor), forward, here)]))
	return true
}

// Update moves the cursor; < and > are the screen's (they read again).
func (v timelineView) Update(msg tea.Msg) (timelineView, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		if c, ok := v.KeyMap.move(k, v.cursor, len(v.rows), v.bodyHeight()); ok {
			v.cursor = c
			v.clamp()
		}
	}
	return v, nil
}

// update is Update for the screen's panes.
func (v *timelineView) update(k tea.KeyPressMsg) tea.Cmd {
	var cmd tea.Cmd
	*v, cmd = v.Update(k)
	return cmd
}

// timeLayout is how rows show times: the time of day, with the date once
// the window spans more than a day's part.
func (v *timelineView) timeLayout() string {
	if timelineSpans[v.span] >= 6*time.Hour {
		return "01-02 15:04:05.000"
	}
	return "15:04:05.000"
}

// header is the timeline's first line: host, window, counts, state.
func (v *timelineView) header() string {
	st := v.styles
	if !v.opened {
		return st.Faint.Render("  no timeline yet: T on a finding, a process or a timeline event opens the host's timeline around it")
	}
	from, to := v.window()
	layout := "15:04:05"
	if v.zone.in(from).YearDay() != v.zone.in(to).YearDay() || timelineSpans[v.span] >= 6*time.Hour {
		layout = "2006-01-02 15:04:05"
	}
	host := v.anchor.host
	if host == "" {
		host = "(no computer name)"
	}
	s := st.Title.Render("host "+cell(host, 40)) + fmt.Sprintf(" · %s – %s %s (±%s)", v.zone.format(from, layout),
		v.zone.format(to, layout), v.zone.name(), shortDuration(timelineSpans[v.span]))
	switch {
	case v.running:
		s += st.Faint.Render(" · reading…")
	case v.err != nil:
		s += " · " + st.Warn.Render("cannot read: "+termsafe.Clean(v.err.Error()))
	case v.data != nil:
		d := v.data
		n := len(d.Events)
		count := fmt.Sprintf(" · %s events", thousands(d.Total))
		if !d.TotalExact {
			count = fmt.Sprintf(" · over %s events", thousands(d.Total))
		}
		if n < d.Total {
			count += fmt.Sprintf(" (the %s nearest shown; < narrows)", thousands(n))
		}
		s += count
		if f := v.flagged(); f > 0 {
			s += fmt.Sprintf(" · %d with findings", f)
		}
		if len(v.rows) < n {
			s += fmt.Sprintf(" · %d match", len(v.rows))
		}
		if p := len(d.Problems); p > 0 {
			s += " · " + st.Warn.Render(fmt.Sprintf("%d problem%s (p)", p, plural(p)))
		}
	}
	return s
}

// flagged counts the events with findings.
func (v *timelineView) flagged() int {
	n := 0
	for _, e := range v.data.Events {
		if len(e.Findings) > 0 {
			n++
		}
	}
	return n
}

func shortDuration(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	case d >= time.Minute && d%time.Minute == 0:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	}
	return d.String()
}

// Column widths of a timeline row (besides the two-cell marker).
const (
	tlLogWidth  = 10
	tlEIDWidth  = 5
	tlFlagWidth = 6
)

// View renders the header and the visible rows, exactly width × height.
func (v timelineView) View() string {
	if v.width <= 0 || v.height <= 0 {
		return ""
	}
	st := v.styles
	lines := []string{v.header()}
	if v.strip != "" {
		lines = append(lines, v.strip)
	}
	tw := len(v.timeLayout())
	head := "  " + st.Header.Render(fit("TIME", tw)) + " " + st.Header.Render(fit("LOG", tlLogWidth)) + " " +
		st.Header.Render(fit("EID", tlEIDWidth)) + " " + st.Header.Render(fit("FLAG", tlFlagWidth)) + " " +
		st.Header.Render(fit("SUMMARY", max(v.width-2-tw-tlLogWidth-tlEIDWidth-tlFlagWidth-4, 1)))
	lines = append(lines, head)
	switch {
	case v.opened && v.data != nil && len(v.rows) == 0 && len(v.data.Events) > 0:
		lines = append(lines, st.Faint.Render("  no event of this window matches the search"))
	case v.opened && v.data != nil && len(v.data.Events) == 0:
		lines = append(lines, st.Faint.Render("  no event of this host in this window (> widens it)"))
	}
	end := min(v.top+v.bodyHeight(), len(v.rows))
	for i := v.top; i < end; i++ {
		lines = append(lines, v.renderRow(&v.data.Events[v.rows[i]], i == v.cursor))
	}
	return padLines(lines, v.width, v.height)
}

func (v timelineView) renderRow(e *triage.TimelineEvent, selected bool) string {
	st := v.styles
	base := lipgloss.NewStyle()
	if selected {
		base = st.Selected
	}
	mark := []rune("  ")
	if selected {
		mark[0] = '›'
	}
	if e.File == v.anchor.file && e.Event.Offset == v.anchor.off {
		mark[1] = '*'
	}
	ev := e.Event
	sep := base.Render(" ")
	var b strings.Builder
	b.WriteString(base.Render(string(mark)))
	b.WriteString(base.Render(fit(v.zone.format(ev.Time, v.timeLayout()), len(v.timeLayout()))))
	b.WriteString(sep)
	b.WriteString(paint(cell(triage.ChannelShort(ev.Channel), tlLogWidth), tlLogWidth, v.rowQuery(), base, st.Match))
	b.WriteString(sep)
	b.WriteString(base.Render(fit(strconv.Itoa(int(ev.EventID)), tlEIDWidth)))
	b.WriteString(sep)
	b.WriteString(v.flag(e, base, selected))
	b.WriteString(sep)
	rest := max(v.width-2-len(v.timeLayout())-tlLogWidth-tlEIDWidth-tlFlagWidth-4, 1)
	sum := triage.Summary(ev, 4*rest)
	if ev.Recovered {
		sum = "(recovered) " + sum
	}
	b.WriteString(paint(cell(sum, rest), rest, v.rowQuery(), base, st.Match))
	return b.String()
}

// rowQuery is the text to mark in rows: the search's, once its matches
// are those of the events shown.
func (v timelineView) rowQuery() string {
	if v.matches() == nil {
		return ""
	}
	return v.query
}

// flag is the FLAG cell: ● and the highest level of the event's findings
// the filters show, or · and the highest of those they hide.
func (v timelineView) flag(e *triage.TimelineEvent, base lipgloss.Style, selected bool) string {
	shown, hidden := rules.Level(-1), rules.Level(-1)
	for _, f := range e.Findings {
		if f == nil || f.Rule == nil {
			continue
		}
		if f.ID >= 0 && f.ID < len(v.visible) && v.visible[f.ID] {
			shown = max(shown, f.Rule.Level)
		} else {
			hidden = max(hidden, f.Rule.Level)
		}
	}
	st := v.styles
	switch {
	case shown >= 0:
		ls := st.Levels.of(shown)
		if selected {
			ls = ls.Inherit(st.Selected)
		}
		return ls.Render(fit("● "+levelShort(shown), tlFlagWidth))
	case hidden >= 0:
		return st.Faint.Inherit(base).Render(fit("· "+levelShort(hidden), tlFlagWidth))
	}
	return base.Render(fit("", tlFlagWidth))
}

// timelineLines renders a timeline event for the detail pane: the
// findings on it (why each matched), then the event.
func timelineLines(st detailStyles, width int, z zone, e *triage.TimelineEvent, visible []bool) detailContent {
	w := &detailWriter{st: st, width: width, zone: z}
	ev := e.Event
	w.heading(fmt.Sprintf("%s %d · %s", termsafe.Clean(triage.ChannelShort(ev.Channel)), ev.EventID, termsafe.Clean(triage.Summary(ev, 200))))
	if len(e.Findings) > 0 {
		w.blank()
		w.heading(fmt.Sprintf("Findings on this event (%d; enter opens the first shown)", len(e.Findings)))
		for _, f := range e.Findings {
			if f == nil || f.Rule == nil {
				continue
			}
			mark := "  "
			if f.ID < 0 || f.ID >= len(visible) || !visible[f.ID] {
				mark = "· "
			}
			w.text(mark + st.Levels.of(f.Rule.Level).Render(fit(levelShort(f.Rule.Level), 5)) + " " + termsafe.Clean(f.Rule.Title))
			for _, m := range f.Match {
				w.text("        " + matchText(m))
			}
		}
	}
	w.blank()
	eventLines(w, "Event", &e.EventRef)
	return w.detailContent
}

// openTimeline opens the timeline of the selection's host around its
// time: a finding's event, a process's creation, a timeline event.
func (m *Model) openTimeline() tea.Cmd {
	if m.res == nil {
		m.setMessage("nothing is read yet", true)
		return nil
	}
	if m.cfg.Exports {
		m.setMessage("exports hold findings, not the logs: the host timeline reads the .evtx files (open them to see it)", true)
		return nil
	}
	var a tlAnchor
	switch s := m.selection().(type) {
	case *triage.Finding:
		if s.Event == nil || s.Event.Event == nil || s.Event.Event.Time.IsZero() {
			m.setMessage("this finding's event has no time", true)
			return nil
		}
		ev := s.Event.Event
		a = tlAnchor{host: ev.Computer, at: ev.Time, file: s.Event.File, off: ev.Offset, what: "finding"}
	case *triage.Process:
		loc, why := m.selectedLoc()
		if why != "" || s.Created.IsZero() {
			m.setMessage("this process has no creation event in these logs: no time to open a timeline at", true)
			return nil
		}
		a = tlAnchor{host: s.Host, at: s.Created, file: loc.file, off: loc.off, what: "process"}
	case *triage.TimelineEvent:
		a = tlAnchor{host: s.Event.Computer, at: s.Event.Time, file: s.File, off: s.Event.Offset, what: "event"}
	default:
		m.setMessage("select a finding, a process or a timeline event first", true)
		return nil
	}
	if m.view != viewTimeline {
		m.tlFrom = m.view
	}
	m.timeline.open(a)
	m.view = viewTimeline
	return m.timeline.load(m.cfg.Context, m.res, m.ev)
}

// applyTimeline shows a window read back, then marks the search's
// matches in it.
func (m *Model) applyTimeline(msg timelineMsg) tea.Cmd {
	if !m.timeline.apply(msg) {
		return nil
	}
	m.timeline.SetVisible(m.shown.visible)
	m.refreshProblems()
	m.layout() // with the window's strip
	if s := m.search.result; s != nil {
		return m.startSearch(s.query)
	}
	return nil
}

// openEvent goes from a timeline event to its first finding the filters
// show, or else to the process it created.
func (m *Model) openEvent(e *triage.TimelineEvent) {
	for _, f := range e.Findings {
		for i, row := range m.table.Rows() {
			if row == f {
				m.table.SetCursor(i)
				m.view = viewFindings
				return
			}
		}
	}
	if k := triage.KindOf(e.Event); m.res != nil && k == triage.KindCreate {
		for _, p := range m.res.Processes {
			if recs := m.res.Records(p); len(recs) > 0 && recs[0].File == e.File && recs[0].Offset == e.Event.Offset && m.tree.Select(p) {
				m.view = viewTree
				return
			}
		}
	}
	switch {
	case len(e.Findings) > 0:
		m.setMessage("this event's findings are hidden by the current filters", true)
	default:
		m.setMessage("no finding or process of the tree comes from this event; the detail pane shows it (x: as XML)", false)
	}
}

// applySearchMode shows the search as the mode says: every row, or only
// the matching ones (in the tree with their ancestors, expanded).
func (m *Model) applySearchMode() {
	s := m.search.result
	if m.filter.searchOnly && s != nil {
		m.tree.SetOnly(s.procKeep, s.expand)
	} else if m.tree.only != nil {
		m.tree.SetOnly(nil, nil)
	}
	m.timeline.SetOnly(m.filter.searchOnly)
	m.layout()
}

// syncStrip gives the timeline the sparkline of its window (the hosts
// view's component): the events read back binned over the window, one
// cell each, a cell holding a finding the filters show marked.
func (m *Model) syncStrip() {
	v := &m.timeline
	if v.data == nil || len(v.data.Events) == 0 || v.width < minWidth {
		v.SetStrip("")
		return
	}
	w := v.width - 2
	from, to := v.data.Query.From, v.data.Query.To
	span := to.Sub(from)
	if span <= 0 {
		v.SetStrip("")
		return
	}
	counts := make([]int, w)
	marks := make([]bool, w)
	for _, e := range v.data.Events {
		if e.Event == nil {
			continue
		}
		i := int(int64(e.Event.Time.Sub(from)) * int64(w) / int64(span))
		if i < 0 || i >= w {
			i = max(min(i, w-1), 0)
		}
		counts[i]++
		for _, f := range e.Findings {
			if f.ID >= 0 && f.ID < len(m.shown.visible) && m.shown.visible[f.ID] {
				marks[i] = true
			}
		}
	}
	v.SetStrip("  " + sparkline(counts, marks, w, m.spark))
}
