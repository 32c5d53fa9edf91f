package tui

import (
	"fmt"
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

// statusBar is the line under the panes: the filter toggles on the left,
// how many findings are shown and the time zone on the right. When every
// toggle's long label fits it shows them all; when not (80 columns, and
// the more toggles the screen gains), it shows only the toggles that
// narrow what is shown, long or compact, and counts the rest ("+6 at
// default"), then the compact right part, so that the bar stays one
// readable line whatever the width.
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

// View renders the bar, exactly one line of its width: the first layout
// that fits of every toggle long, the active ones long, the active ones
// compact, and that with the compact right part (cut at the edge when even
// that does not fit).
func (s statusBar) View() string {
	var line string
	for _, l := range []struct {
		activeOnly, compact bool
		count               string
	}{{false, false, s.count}, {true, false, s.count}, {true, true, s.count}, {true, true, s.shortCount}} {
		var fits bool
		if line, fits = s.line(l.activeOnly, l.compact, l.count); fits {
			break
		}
	}
	return line
}

// line lays the bar out with the long or the compact labels, of every
// toggle or only of the active ones (the others counted), and the right
// part count, and says whether it fits without truncation.
func (s statusBar) line(activeOnly, compact bool, count string) (string, bool) {
	parts := make([]string, 0, len(s.items))
	rest := 0
	for _, it := range s.items {
		if activeOnly && !it.active {
			rest++
			continue
		}
		text := it.label + " " + it.value
		switch {
		case it.label == "": // the value says what it is (+FP)
			text = it.value
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
	switch {
	case activeOnly && len(parts) == 0:
		parts = append(parts, s.styles.Off.Render(fmt.Sprintf("no filter on (%d at default)", rest)))
	case rest > 0:
		parts = append(parts, s.styles.Off.Render(fmt.Sprintf("+%d at default", rest)))
	}
	left := strings.Join(parts, s.styles.Sep.Render(sep))
	right := s.styles.Count.Render(count)
	return joinEnds(left, right, s.width), ansi.StringWidth(left)+ansi.StringWidth(right)+1 <= s.width
}
