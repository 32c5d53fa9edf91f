package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/evtriage/evtriage/internal/termsafe"
	"github.com/evtriage/evtriage/rules"
)

// rulesKeyMap is the rules panel's bindings.
type rulesKeyMap struct {
	navKeyMap
	Toggle, Only, All key.Binding
}

// defaultRulesKeyMap returns the rules panel's default bindings.
func defaultRulesKeyMap() rulesKeyMap {
	return rulesKeyMap{
		navKeyMap: defaultNavKeyMap(),
		Toggle:    key.NewBinding(key.WithKeys("space", "enter"), key.WithHelp("space", "rule/filter on/off")),
		Only:      key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "only this rule")),
		All:       key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "all rules and filters on")),
	}
}

// ShortHelp is the panel's keys for the one-line help.
func (km rulesKeyMap) ShortHelp() []key.Binding { return []key.Binding{km.Toggle, km.Only, km.All} }

// FullHelp lists the panel's own keys (it moves like every list).
func (km rulesKeyMap) FullHelp() [][]key.Binding { return [][]key.Binding{km.ShortHelp()} }

type rulesRow struct {
	rule  *rules.Rule
	ident string // "" for the rule's own row
}

// ruleToggle asks the screen to change the rule filters.
type ruleToggle struct {
	ruleID, ident string
	only, all     bool
}

// rulesPanel lists the loaded rules, each followed by its filter_*
// identifiers; each row switches on or off with one key. The counts are
// the findings each rule has under the current filters and in all.
type rulesPanel struct {
	KeyMap rulesKeyMap
	styles *rulesStyles // set by SetStyles, never written through (copies may share it)

	rows          []rulesRow
	cursor, top   int
	width, height int

	filter       filterState         // what the rows show as on or off
	shown, total map[*rules.Rule]int // findings per rule: shown, all
}

// newRulesPanel returns an empty panel; its styles are set with SetStyles.
func newRulesPanel() rulesPanel {
	return rulesPanel{KeyMap: defaultRulesKeyMap(), styles: new(rulesStyles)}
}

// SetStyles sets the panel's styles.
func (p *rulesPanel) SetStyles(s rulesStyles) { p.styles = &s }

// filterIdents returns a rule's filter identifiers (those whose name
// starts with "filter").
func filterIdents(r *rules.Rule) []string {
	var out []string
	for _, id := range r.Identifiers() {
		if strings.HasPrefix(strings.ToLower(id), "filter") {
			out = append(out, id)
		}
	}
	return out
}

// SetRules lists the rules.
func (p *rulesPanel) SetRules(rs []*rules.Rule) {
	p.rows = p.rows[:0]
	for _, r := range rs {
		p.rows = append(p.rows, rulesRow{rule: r})
		for _, id := range filterIdents(r) {
			p.rows = append(p.rows, rulesRow{rule: r, ident: id})
		}
	}
	p.clamp()
}

// SetCounts sets the filter the rows show and the findings per rule
// shown under it and in all.
func (p *rulesPanel) SetCounts(f filterState, shown, total map[*rules.Rule]int) {
	p.filter, p.shown, p.total = f, shown, total
}

// SetSize sets the panel's size.
func (p *rulesPanel) SetSize(w, h int) { p.width, p.height = w, h; p.clamp() }

func (p *rulesPanel) clamp() {
	p.cursor = max(min(p.cursor, len(p.rows)-1), 0)
	h := max(p.height-1, 1)
	if p.cursor < p.top {
		p.top = p.cursor
	}
	if p.cursor >= p.top+h {
		p.top = p.cursor - h + 1
	}
}

// Update moves and toggles.
func (p rulesPanel) Update(msg tea.Msg) (rulesPanel, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok || len(p.rows) == 0 {
		return p, nil
	}
	row := p.rows[p.cursor]
	if c, ok := p.KeyMap.move(k, p.cursor, len(p.rows), p.height-1); ok {
		p.cursor = c
		p.clamp()
		return p, nil
	}
	switch {
	case key.Matches(k, p.KeyMap.Toggle):
		t := ruleToggle{ruleID: row.rule.ID, ident: row.ident}
		return p, func() tea.Msg { return t }
	case key.Matches(k, p.KeyMap.Only):
		t := ruleToggle{ruleID: row.rule.ID, only: true}
		return p, func() tea.Msg { return t }
	case key.Matches(k, p.KeyMap.All):
		return p, func() tea.Msg { return ruleToggle{all: true} }
	}
	p.clamp()
	return p, nil
}

// update is Update for the screen's panes.
func (p *rulesPanel) update(k tea.KeyPressMsg) tea.Cmd {
	var cmd tea.Cmd
	*p, cmd = p.Update(k)
	return cmd
}

// View renders the panel.
func (p rulesPanel) View() string {
	st, f, shown, total := p.styles, &p.filter, p.shown, p.total
	lines := []string{st.Header.Render(fit("  ON   LEVEL SHOWN/ALL  RULE / FILTER", p.width))}
	if len(p.rows) == 0 {
		lines = append(lines, st.Faint.Render("  no rules loaded"))
	}
	end := min(p.top+max(p.height-1, 1), len(p.rows))
	for i := p.top; i < end; i++ {
		r := p.rows[i]
		var s string
		if r.ident == "" {
			on := !f.DisabledRules[r.rule.ID]
			s = fmt.Sprintf("  %s %s %9s  %s", onOff(st, on), st.Levels.of(r.rule.Level).Render(fit(levelShort(r.rule.Level), 5)),
				fmt.Sprintf("%d/%d", shown[r.rule], total[r.rule]), termsafe.Clean(r.rule.Title))
		} else {
			on := !f.identDisabled(r.rule.ID, r.ident)
			note := ""
			if f.carHides(r.rule.ID, r.ident) {
				note = st.Faint.Render("  (CAR exclusion: c)")
			}
			s = fmt.Sprintf("       %s    └ %s%s", onOff(st, on), termsafe.Clean(r.ident), note)
		}
		if i == p.cursor {
			s = st.Selected.Render(fit("›"+ansi.Strip(s)[1:], p.width))
		}
		lines = append(lines, s)
	}
	return padLines(lines, p.width, p.height)
}

func onOff(st *rulesStyles, on bool) string {
	if on {
		return st.On.Render("[on] ")
	}
	return st.Off.Render("[off]")
}
