package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"github.com/charmbracelet/x/ansi"

	"github.com/evtriage/evtriage/internal/termsafe"
	"github.com/evtriage/evtriage/triage"
)

// overlayKind names a pane that takes the whole body over the views.
type overlayKind int

// The overlays.
const (
	overlayNone overlayKind = iota
	overlayHelp
	overlayRules
	overlayProblems
	overlayExport
	overlayMark
	overlayFilter
	numOverlays
)

// overlayTitles are the overlays' tab titles and the hints beside them.
var overlayTitles = [numOverlays]struct{ title, hint string }{
	overlayHelp:     {" Keys ", "  esc closes"},
	overlayRules:    {" Rules and their filters ", "  space toggles · esc closes"},
	overlayProblems: {" Problems ", "  esc closes"},
	overlayExport:   {" Export ", "  enter writes · ↑/↓ format · tab shown ⇄ subtree · esc closes"},
	overlayMark:     {" Mark ", "  ↑/↓ verdict · type a note · enter saves · esc cancels"},
	overlayFilter:   {" False-positive filter ", "  enter goes on · esc cancels"},
}

// overlayPane is the component the open overlay shows.
func (m *Model) overlayPane() pane { return m.overlayPaneOf(m.overlay) }

// overlayPaneOf is the component overlay o shows.
func (m *Model) overlayPaneOf(o overlayKind) pane {
	switch o {
	case overlayRules:
		return &m.rules
	case overlayProblems:
		return &m.problems
	case overlayExport:
		return &m.exportMenu
	case overlayMark:
		return &m.markBox
	case overlayFilter:
		return &m.fpBox
	default:
		return &m.helpPane
	}
}

// overlayKey is the key that opens an overlay (and closes it again).
func (m *Model) overlayKey(o overlayKind) key.Binding {
	switch o {
	case overlayRules:
		return m.toggles.key(toggleRules)
	case overlayProblems:
		return m.keys.Problems
	case overlayExport:
		return m.keys.Export
	case overlayMark:
		return m.keys.Mark
	case overlayFilter:
		return m.keys.WriteFilter
	default:
		return m.keys.Help
	}
}

// openOverlay opens o, up to date.
func (m *Model) openOverlay(o overlayKind) {
	if o == overlayProblems {
		m.refreshProblems()
	}
	m.overlay = o
}

// overlayTitle is the tab line's title for the open overlay.
func (m *Model) overlayTitle() string {
	st, t := m.styles, overlayTitles[m.overlay]
	s := st.ActiveTab.Render(t.title) + st.Faint.Render(t.hint)
	if m.overlay == overlayHelp {
		if sc := m.helpPane.scroll(); sc != "" {
			s += st.Faint.Render(" · " + sc)
		}
	}
	return s
}

// legend explains the marks the screen uses; it ends the help.
func legend() []string {
	return []string{
		"Marks",
		"  ›  selected row                      ~  a match the rule's own filter hides, shown because that filter is off",
		"  +  new since the baseline            ●  findings on a process (count, highest level)",
		"  ·  (detail) a finding the current filters hide",
		"  *  (timeline) the event the timeline was opened on   ● / ·  (timeline) findings on the event, shown / hidden by the filters",
		"  [renamed regsvr32]  regsvr32 running under another name     (not in log)  not created in these logs; the detail says how it is known",
		"  MARK  MAL malicious · SUSP suspicious · BEN benign · FP false positive; lower case: the process's mark, not the finding's",
		"  +FP / −FP  findings marked benign or false positive (or whose process is) shown / hidden (v); not shown while nothing is marked",
		"  4 Hosts  FINDINGS 1c 2h 3m: findings by level (crit high med low info) · TAMPER the strongest sign of its files, +n more kinds",
		"  5 Files  ! a file with tamper signs · GAPS record-id gaps · TIME↓ time going back · FLAGS D dirty, F full, W wrapped",
		"  Sparkline  a host's events from its first to its last; blank: none; ▲ (and colour) a finding",
		"  Evidence text is shown with control characters escaped: \\x1b is ESC, \\n a newline, \\u202e a bidi override.",
	}
}

// refreshHelp lays the help pane out for the window: every key, then the
// legend.
func (m *Model) refreshHelp() {
	lines := helpLines(m.help, m.fullHelp(), m.width)
	for _, l := range legend() {
		lines = append(lines, strings.Split(ansi.Wrap(l, m.width, ""), "\n")...)
	}
	m.helpPane.SetLines(lines)
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
			row[i] = padRight(row[i], rowW) + strings.Repeat(" ", pad) + l
		}
		rowW += pad + bw
	}
	flush()
	return out
}

// padRight pads a styled line to w cells.
func padRight(s string, w int) string {
	if sw := ansi.StringWidth(s); sw < w {
		return s + strings.Repeat(" ", w-sw)
	}
	return s
}

// refreshProblems lists what went wrong: the notes, the inputs with
// problems (each problem with its offset; the inputs read without any are
// counted, not listed), the baseline's inputs with problems, the rejected
// rules. Lines are wrapped to the window so that paths, counts and offsets
// all show.
func (m *Model) refreshProblems() {
	w := &detailWriter{st: *m.problems.styles, width: m.width}
	para := func(style func(string) string, indent, text string) {
		for _, l := range wrapWords(text, max(m.width-len(indent), 10)) {
			w.lines = append(w.lines, style(indent+l))
		}
	}
	plain := func(s string) string { return s }
	heading := func(s string) string { return w.st.Title.Render(s) }
	n := 0
	for _, s := range m.cfg.Notes {
		para(plain, "", termsafe.Clean(s))
		n++
	}
	sources := func(title string, srcs []triage.Source) {
		var bad []triage.Source
		records := 0
		for _, s := range srcs {
			if len(s.Problems) > 0 {
				bad = append(bad, s)
			} else {
				records += s.Records
			}
		}
		if len(srcs) == 0 {
			return
		}
		para(heading, "", fmt.Sprintf("%s (%d): %d read without problems (%s record%s), %d with problems", title,
			len(srcs), len(srcs)-len(bad), thousands(records), plural(records), len(bad)))
		for _, s := range bad {
			para(heading, "", fmt.Sprintf("%s — %s record%s, %d recovered, %s", termsafe.Clean(s.Path), thousands(s.Records), plural(s.Records), s.Recovered,
				countNoun(len(s.Problems), "problem", "problems")))
			for i, p := range s.Problems {
				if i == 10*maxListed {
					para(plain, "  ", fmt.Sprintf("… %d more (every one is in the export's sources)", len(s.Problems)-i))
					break
				}
				para(plain, "  ", termsafe.Clean(p.String()))
				n++
			}
		}
	}
	if m.res != nil {
		sources("Inputs", m.res.Sources)
		if len(m.res.BaselineSources) > 0 {
			w.blank()
			sources("Baseline", m.res.BaselineSources)
		}
		if len(m.res.Rejected) > 0 {
			w.blank()
			para(heading, "", fmt.Sprintf("Rejected rules (%d)", len(m.res.Rejected)))
			for _, r := range m.res.Rejected {
				para(plain, "  ", fmt.Sprintf("%s:%d: %s", termsafe.Clean(r.Path), r.Line, termsafe.Clean(r.Reason)))
				n++
			}
		}
		if m.res.Duplicates > 0 {
			w.blank()
			verb := "were"
			if m.res.Duplicates == 1 {
				verb = "was"
			}
			para(plain, "", fmt.Sprintf("%s duplicate record%s (same computer, channel, record ID, time and event ID) %s counted once",
				thousands(m.res.Duplicates), plural(m.res.Duplicates), verb))
		}
	}
	if d := m.timeline.data; d != nil && len(d.Problems) > 0 {
		w.heading(fmt.Sprintf("Timeline (%d input%s or chunk%s not read back)", len(d.Problems), plural(len(d.Problems)), plural(len(d.Problems))))
		for _, p := range d.Problems {
			w.text("  " + termsafe.Clean(p.Error()))
			n++
		}
	}
	if n == 0 {
		w.blank()
		para(plain, "", "No problems: every record of every input was read.")
	}
	m.problems.SetLines(w.lines)
}

// problemCount is the number of problems the header announces: the notes,
// the inputs' and the baseline's problems, the rejected rules (what the
// problems view lists, each once).
func (m *Model) problemCount() int {
	n := len(m.cfg.Notes)
	if m.res != nil {
		for _, s := range m.res.Sources {
			n += len(s.Problems)
		}
		for _, s := range m.res.BaselineSources {
			n += len(s.Problems)
		}
		n += len(m.res.Rejected)
	}
	return n
}
