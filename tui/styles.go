package tui

import (
	"charm.land/bubbles/v2/help"
	"charm.land/lipgloss/v2"

	"github.com/evtriage/evtriage/rules"
)

// Styles holds every style the screen uses. Colours come from the
// terminal's own 16-colour palette (which the user's theme already makes
// readable) with a light and a dark variant where it matters; selection is
// reverse video, which reads everywhere.
type Styles struct {
	Title     lipgloss.Style
	Faint     lipgloss.Style
	Header    lipgloss.Style
	Selected  lipgloss.Style
	Tab       lipgloss.Style
	ActiveTab lipgloss.Style
	Rule      lipgloss.Style // horizontal separators
	Label     lipgloss.Style // field names in the detail pane
	Match     lipgloss.Style // search matches
	Regsvr32  lipgloss.Style
	Warn      lipgloss.Style // problems, unsigned loads
	On        lipgloss.Style // a filter toggle that is active
	Off       lipgloss.Style
	Message   lipgloss.Style
	Error     lipgloss.Style
	Levels    [5]lipgloss.Style // by rules.Level
	Help      help.Styles
}

// NewStyles returns the styles for a dark or a light terminal background.
func NewStyles(isDark bool) Styles {
	ld := lipgloss.LightDark(isDark)
	s := lipgloss.NewStyle
	medium := ld(lipgloss.Magenta, lipgloss.Yellow)
	low := ld(lipgloss.Blue, lipgloss.Cyan)
	st := Styles{
		Title:     s().Bold(true),
		Faint:     s().Faint(true),
		Header:    s().Bold(true).Underline(true),
		Selected:  s().Reverse(true),
		Tab:       s().Faint(true),
		ActiveTab: s().Bold(true).Reverse(true),
		Rule:      s().Faint(true),
		Label:     s().Bold(true),
		Match:     s().Underline(true).Bold(true).Foreground(ld(lipgloss.Blue, lipgloss.BrightCyan)),
		Regsvr32:  s().Bold(true).Foreground(lipgloss.Magenta),
		Warn:      s().Bold(true).Foreground(lipgloss.Red),
		On:        s().Bold(true).Foreground(ld(lipgloss.Green, lipgloss.BrightGreen)),
		Off:       s().Faint(true),
		Message:   s().Foreground(ld(lipgloss.Blue, lipgloss.BrightCyan)),
		Error:     s().Bold(true).Foreground(lipgloss.Red),
	}
	st.Levels[rules.LevelInformational] = s().Faint(true)
	st.Levels[rules.LevelLow] = s().Foreground(low)
	st.Levels[rules.LevelMedium] = s().Foreground(medium)
	st.Levels[rules.LevelHigh] = s().Bold(true).Foreground(lipgloss.Red)
	st.Levels[rules.LevelCritical] = s().Bold(true).Reverse(true).Foreground(lipgloss.Red)
	st.Help = help.DefaultStyles(isDark)
	return st
}

// Level returns the style for a rule level.
func (s Styles) Level(l rules.Level) lipgloss.Style {
	if l < 0 || int(l) >= len(s.Levels) {
		return s.Faint
	}
	return s.Levels[l]
}

// levelShort is the level as the table shows it.
func levelShort(l rules.Level) string {
	switch l {
	case rules.LevelCritical:
		return "crit"
	case rules.LevelHigh:
		return "high"
	case rules.LevelMedium:
		return "med"
	case rules.LevelLow:
		return "low"
	case rules.LevelInformational:
		return "info"
	}
	return "?"
}
