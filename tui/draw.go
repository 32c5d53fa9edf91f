package tui

import (
	"fmt"
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/evtriage/evtriage/internal/termsafe"
	"github.com/evtriage/evtriage/triage"
)

// minimum window size the screen draws in.
const minWidth, minHeight = 40, 10

// bodyHeight is what is left for panes under the header and tab lines
// (and the baseline line) and above the status and help lines.
func (m *Model) bodyHeight() int {
	h := m.height - 4
	if m.hasBaseline() {
		h--
	}
	return max(h, 0)
}

// layout sizes the panes for the window.
func (m *Model) layout() {
	w, body := m.width, m.bodyHeight()
	listH, detailH := body, 0
	if body >= 8 {
		// The list takes what its rows need, between a third and 55 % of
		// the body; the detail pane gets the rest.
		listH = min(body*55/100, max(m.activeView().lines()+1, body/3))
		detailH = body - listH - 1
	}
	for v := range numViews {
		m.viewPane(v).SetSize(w, listH)
	}
	m.syncStrip() // its width, and the findings the filters show, may have changed
	m.detail.SetSize(w, detailH)
	for o := overlayNone + 1; o < numOverlays; o++ {
		m.overlayPaneOf(o).SetSize(w, body)
	}
	m.refreshHelp()
	m.help.SetWidth(w)
	m.status.SetWidth(w)
	m.detail.Refresh()
}

// View draws the screen.
func (m Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = "evtriage"
	return v
}

func (m *Model) render() string {
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
	if l := m.baselineLine(); l != "" {
		b.WriteString(padLines([]string{l}, m.width, 1))
		b.WriteByte('\n')
	}
	switch {
	case m.overlay != overlayNone:
		b.WriteString(m.overlayPane().View())
	default:
		if m.res == nil {
			b.WriteString(padLines([]string{st.Faint.Render("  " + m.loadText())}, m.width, m.table.height))
		} else {
			b.WriteString(m.activeView().View())
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
	case m.search.prompting:
		b.WriteString(padLines([]string{m.search.input.View()}, m.width, 1))
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

func (m *Model) headerLine() string {
	st := m.styles
	left := ""
	if m.res != nil {
		what := "file"
		if m.cfg.Exports {
			what = "export"
		}
		if n := len(m.res.Sources); n > 0 {
			left += fmt.Sprintf(" · %d %s%s", n, what, plural(n))
		}
		if n := len(m.res.Hosts); m.cfg.Exports && n > 0 {
			left += fmt.Sprintf(" · %d host%s", n, plural(n))
		}
		left += fmt.Sprintf(" · %s events", thousands(m.res.Events))
	}
	if n := m.problemCount(); n > 0 {
		left += " · " + st.Warn.Render(fmt.Sprintf("%d problem%s (p)", n, plural(n)))
	}
	right := "ready"
	switch {
	case m.follow.on:
		right = m.follow.text(m.cfg.Now())
	case m.load.running:
		right = m.load.text()
	case m.load.indexing():
		right = "indexing…"
	case m.shown.running:
		right = "filtering…"
	}
	// The title gives way first, so that the counts and what is going
	// on stay in view.
	title := termsafe.Clean(m.cfg.Title)
	if room := m.width - ansi.StringWidth(left) - ansi.StringWidth(right) - len("evtriage  ") - 1; ansi.StringWidth(title) > room {
		title = ansi.Truncate(title, max(room, 1), "…")
	}
	return joinEnds(st.Title.Render("evtriage")+"  "+title+left, st.Faint.Render(right), m.width)
}

func (m *Model) tabLine() string {
	st := m.styles
	var title string
	if m.overlay != overlayNone {
		title = m.overlayTitle()
	} else {
		title = m.tabs(viewTitles)
	}
	right := ""
	if s := m.search.result; s != nil {
		counts := fmt.Sprintf(" %d findings, %d processes", s.nFind, s.nProc)
		if s.tl != nil {
			counts += fmt.Sprintf(", %d events", s.nTL)
		}
		if m.filter.searchOnly {
			counts += " · only"
		}
		right = st.Match.Render(fmt.Sprintf("/%s", termsafe.Clean(s.query))) + st.Faint.Render(counts)
	} else if m.view == viewFindings && m.overlay == overlayNone {
		by, desc := m.table.Sort()
		dir := "▲"
		if desc {
			dir = "▼"
		}
		right = st.Faint.Render("sort " + strings.ToLower(by.String()) + dir)
	}
	if m.overlay == overlayNone && ansi.StringWidth(title)+ansi.StringWidth(right)+1 > m.width {
		title = m.tabs(viewShort) // every tab stays in sight
		if ansi.StringWidth(title)+ansi.StringWidth(right)+1 > m.width {
			right = ""
		}
	}
	return joinEnds(title, right, m.width)
}

// tabs draws the views' tabs with titles, the shown one highlighted.
func (m *Model) tabs(titles [numViews]string) string {
	st := m.styles
	tabs := make([]string, numViews)
	for v := range numViews {
		s := " " + titles[v] + " " + m.viewPane(v).position() + " "
		if v == m.view {
			tabs[v] = st.ActiveTab.Render(s)
		} else {
			tabs[v] = st.Tab.Render(s)
		}
	}
	return strings.Join(tabs, " ")
}

func (m *Model) separator() string {
	st := m.styles
	title := "Detail"
	switch m.detail.Key().(type) {
	case *triage.Process:
		title = "Process"
	case *triage.Finding:
		title = "Finding"
	case *triage.TimelineEvent:
		title = "Event"
	case *rawDoc:
		title = "Raw event (XML)"
	case *treeGroup:
		title = "Processes"
	case *hostRow:
		title = "Host"
	case *triage.Source:
		title = "File"
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
