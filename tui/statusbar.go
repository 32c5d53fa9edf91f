package tui

import (
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// statusItem is one toggle as the status bar shows it.
type statusItem struct {
	label, short      string // long and compact labels; no compact label shows the value alone
	value, shortValue string
	active            bool // the toggle narrows what is shown
}

// statusStyles are the status bar's styles.
type statusStyles struct {
	On, Off, Sep, Count lipgloss.Style
}

func newStatusStyles(th theme) statusStyles {
	return statusStyles{On: th.On, Off: th.Off, Sep: th.Faint, Count: th.Title}
}

// statusBar is the line under the panes: the state of every filter toggle
// on the left, how many findings are shown and the time zone on the right.
// It uses the long labels when they fit, the compact ones otherwise, and
// then the compact right part, so that every toggle stays visible at 80
// columns.
type statusBar struct {
	styles     *statusStyles // set by SetStyles, never written through (copies may share it)
	width      int
	items      []statusItem
	count      string
	shortCount string
}

// SetStyles sets the bar's styles.
func (s *statusBar) SetStyles(st statusStyles) { s.styles = &st }

// SetWidth sets the bar's width in cells.
func (s *statusBar) SetWidth(w int) { s.width = w }

// SetStatus sets the toggles' states and what the right shows, long and
// compact.
func (s *statusBar) SetStatus(items []statusItem, count, shortCount string) {
	s.items, s.count, s.shortCount = items, count, shortCount
}

// View renders the bar, exactly one line of its width.
func (s statusBar) View() string {
	if line, fits := s.line(false, s.count); fits {
		return line
	}
	if line, fits := s.line(true, s.count); fits {
		return line
	}
	line, _ := s.line(true, s.shortCount)
	return line
}

// line lays the bar out with the long or the compact labels and the right
// part count, and says whether it fits without truncation.
func (s statusBar) line(compact bool, count string) (string, bool) {
	parts := make([]string, 0, len(s.items))
	for _, it := range s.items {
		text := it.label + " " + it.value
		switch {
		case compact && it.short == "":
			text = it.shortValue
		case compact:
			text = it.short + ":" + it.shortValue
		}
		st := s.styles.Off
		if it.active {
			st = s.styles.On
		}
		parts = append(parts, st.Render(text))
	}
	sep := " · "
	if compact {
		sep = " "
	}
	left := strings.Join(parts, s.styles.Sep.Render(sep))
	right := s.styles.Count.Render(count)
	return joinEnds(left, right, s.width), ansi.StringWidth(left)+ansi.StringWidth(right)+1 <= s.width
}
