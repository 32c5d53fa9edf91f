package tui

import "charm.land/bubbles/v2/key"

// keyMap is the screen's own bindings; the components keep theirs.
type keyMap struct {
	Quit, Help, Back                       key.Binding
	Findings, Tree, SwitchView, Open       key.Binding
	Search, Next, Prev                     key.Binding
	Export, ExportSubtree                  key.Binding
	Level, Rules, CAR, Unsigned, NewOnly   key.Binding
	Host, Sources, From, To, ClearTime     key.Binding
	Problems                               key.Binding
	table                                  tableKeyMap
	tree                                   treeKeyMap
	detail                                 detailKeyMap
	rulesPanel                             rulesKeyMap
	inTree, inRules, helpOpen, overlayOpen bool
}

// defaultKeyMap returns the screen's default bindings.
func defaultKeyMap() keyMap {
	b := func(keys []string, k, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(k, desc))
	}
	return keyMap{
		Quit:          b([]string{"q", "ctrl+c"}, "q", "quit"),
		Help:          b([]string{"?"}, "?", "all keys"),
		Back:          b([]string{"esc"}, "esc", "back"),
		Findings:      b([]string{"1"}, "1", "findings"),
		Tree:          b([]string{"2"}, "2", "process tree"),
		SwitchView:    b([]string{"tab"}, "tab", "switch view"),
		Open:          b([]string{"enter"}, "enter", "finding ⇄ tree"),
		Search:        b([]string{"/"}, "/", "search"),
		Next:          b([]string{"n"}, "n", "next match"),
		Prev:          b([]string{"N"}, "N", "previous match"),
		Export:        b([]string{"e"}, "e", "export shown findings"),
		ExportSubtree: b([]string{"E"}, "E", "export subtree"),
		Level:         b([]string{"l"}, "l", "minimum level"),
		Rules:         b([]string{"r"}, "r", "rules & filters"),
		CAR:           b([]string{"c"}, "c", "CAR exclusions"),
		Unsigned:      b([]string{"u"}, "u", "unsigned loads only"),
		NewOnly:       b([]string{"b"}, "b", "new since baseline"),
		Host:          b([]string{"h"}, "h", "next host"),
		Sources:       b([]string{"s"}, "s", "Sysmon / 4688"),
		From:          b([]string{"["}, "[", "from selected time"),
		To:            b([]string{"]"}, "]", "to selected time"),
		ClearTime:     b([]string{"t"}, "t", "clear time range"),
		Problems:      b([]string{"p"}, "p", "parse problems"),
		table:         defaultTableKeyMap(),
		tree:          defaultTreeKeyMap(),
		detail:        defaultDetailKeyMap(),
		rulesPanel:    defaultRulesKeyMap(),
	}
}

// ShortHelp is the one-line help under the status bar.
func (k keyMap) ShortHelp() []key.Binding {
	switch {
	case k.helpOpen:
		return []key.Binding{k.Back, k.Quit}
	case k.inRules:
		return []key.Binding{k.rulesPanel.Toggle, k.rulesPanel.Only, k.rulesPanel.All, k.Back, k.Help, k.Quit}
	case k.overlayOpen:
		return []key.Binding{k.Back, k.Help, k.Quit}
	case k.inTree:
		return []key.Binding{k.Help, k.tree.Toggle, k.tree.NextFinding, k.Open, k.Search, k.ExportSubtree, k.Rules, k.Level, k.Quit}
	}
	return []key.Binding{k.Help, k.Open, k.table.Sort, k.Search, k.Export, k.Rules, k.Level, k.CAR, k.Quit}
}

// FullHelp lists every binding, in columns.
func (k keyMap) FullHelp() [][]key.Binding {
	t, tr := k.table, k.tree
	return [][]key.Binding{
		{k.Findings, k.Tree, k.SwitchView, k.Open, k.Back, k.Help, k.Quit, k.Problems},
		{t.Up, t.Down, t.PageUp, t.PageDown, t.Top, t.Bottom, t.Sort, t.Reverse, k.detail.Down, k.detail.Up},
		{tr.Expand, tr.Collapse, tr.Toggle, tr.ExpandAll, tr.CollapseAll, tr.NextFinding, tr.PrevFinding},
		{k.Level, k.Rules, k.CAR, k.Unsigned, k.NewOnly, k.Host, k.Sources, k.From, k.To, k.ClearTime},
		{k.Search, k.Next, k.Prev, k.Export, k.ExportSubtree},
		{k.rulesPanel.Toggle, k.rulesPanel.Only, k.rulesPanel.All},
	}
}
