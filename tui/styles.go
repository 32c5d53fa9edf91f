package tui

import (
	"charm.land/bubbles/v2/help"
	"charm.land/lipgloss/v2"

	"github.com/evtriage/evtriage/rules"
	"github.com/evtriage/evtriage/triage"
)

// theme is the screen's palette: every style any part of the screen uses,
// defined once. Colours come from the terminal's own 16-colour palette
// (which the user's theme already makes readable) with a light and a dark
// variant where it matters; selection is reverse video, which reads
// everywhere. Components do not share it: each takes the styles it draws
// with as a value (tableStyles, treeStyles…) through its SetStyles, and
// keeps its own copy (behind a pointer it never writes through, so that
// the Model, copied on every message, stays small).
type theme struct {
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
	Levels    levelStyles
	Verdicts  verdictStyles
	Help      help.Styles
}

// newTheme returns the palette for a dark or a light terminal background.
func newTheme(isDark bool) theme {
	ld := lipgloss.LightDark(isDark)
	s := lipgloss.NewStyle
	medium := ld(lipgloss.Magenta, lipgloss.Yellow)
	low := ld(lipgloss.Blue, lipgloss.Cyan)
	th := theme{
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
	th.Levels[rules.LevelInformational] = s().Faint(true)
	th.Levels[rules.LevelLow] = s().Foreground(low)
	th.Levels[rules.LevelMedium] = s().Foreground(medium)
	th.Levels[rules.LevelHigh] = s().Bold(true).Foreground(lipgloss.Red)
	th.Levels[rules.LevelCritical] = s().Bold(true).Reverse(true).Foreground(lipgloss.Red)
	th.Help = help.DefaultStyles(isDark)
	th.Verdicts = verdictStyles{
		triage.VerdictMalicious:     th.Warn,
		triage.VerdictSuspicious:    th.Levels[rules.LevelMedium],
		triage.VerdictBenign:        th.Faint,
		triage.VerdictFalsePositive: th.Faint,
	}
	return th
}

// verdictStyles styles the analyst's verdicts, indexed by triage.Verdict:
// malicious stands out, benign and false positive step back.
type verdictStyles [triage.VerdictFalsePositive + 1]lipgloss.Style

// of returns the style for a verdict.
func (s verdictStyles) of(v triage.Verdict) lipgloss.Style {
	if v < 0 || int(v) >= len(s) {
		return lipgloss.NewStyle()
	}
	return s[v]
}

// levelStyles styles rule levels, indexed by rules.Level.
type levelStyles [rules.LevelCritical + 1]lipgloss.Style

// of returns the style for a rule level; a level out of range is faint.
func (s levelStyles) of(l rules.Level) lipgloss.Style {
	if l < 0 || int(l) >= len(s) {
		return lipgloss.NewStyle().Faint(true)
	}
	return s[l]
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

// screenStyles are what the screen draws itself: the header, the tabs, the
// separator and the message line.
type screenStyles struct {
	Title, Faint, Warn, Tab, ActiveTab, Match, Rule, Message, Error lipgloss.Style
}

func newScreenStyles(th theme) screenStyles {
	return screenStyles{Title: th.Title, Faint: th.Faint, Warn: th.Warn, Tab: th.Tab, ActiveTab: th.ActiveTab,
		Match: th.Match, Rule: th.Rule, Message: th.Message, Error: th.Error}
}

// listStyles are what every list (the findings table, the process tree,
// the rules panel) draws with: its header, selection, search matches and
// rule levels.
type listStyles struct {
	Header, Faint, Selected, Match lipgloss.Style
	Levels                         levelStyles
	Verdicts                       verdictStyles
}

func newListStyles(th theme) listStyles {
	return listStyles{Header: th.Header, Faint: th.Faint, Selected: th.Selected, Match: th.Match, Levels: th.Levels,
		Verdicts: th.Verdicts}
}

// tableStyles are the findings table's styles.
type tableStyles struct{ listStyles }

func newTableStyles(th theme) tableStyles { return tableStyles{newListStyles(th)} }

// treeStyles are the process tree's styles: a list's, and regsvr32's.
type treeStyles struct {
	listStyles
	Regsvr32 lipgloss.Style
}

func newTreeStyles(th theme) treeStyles { return treeStyles{newListStyles(th), th.Regsvr32} }

// detailStyles are the detail pane's styles (and those of the panes built
// like it: help, problems).
type detailStyles struct {
	Title, Label, Faint, Warn lipgloss.Style
	Mark, Match               lipgloss.Style // the selected field's mark, a pager's search matches
	Levels                    levelStyles
	Verdicts                  verdictStyles
}

func newDetailStyles(th theme) detailStyles {
	return detailStyles{Title: th.Title, Label: th.Label, Faint: th.Faint, Warn: th.Warn, Mark: th.Title, Match: th.Match,
		Levels: th.Levels, Verdicts: th.Verdicts}
}

// rulesStyles are the rules panel's styles: a list's, and the on/off
// marks.
type rulesStyles struct {
	listStyles
	On, Off lipgloss.Style
}

func newRulesStyles(th theme) rulesStyles { return rulesStyles{newListStyles(th), th.On, th.Off} }

// timelineStyles are the host timeline's styles: a list's, and its
// header's.
type timelineStyles struct {
	listStyles
	Title, Warn lipgloss.Style
}

func newTimelineStyles(th theme) timelineStyles {
	return timelineStyles{newListStyles(th), th.Title, th.Warn}
}
