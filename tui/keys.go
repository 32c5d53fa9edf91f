package tui

import (
	"slices"

	"charm.land/bubbles/v2/key"
)

// keyMap is the screen's own bindings. Each component keeps its own
// (findingsTable.KeyMap, processTree.KeyMap…) and the filter toggles
// theirs (toggles.go); the help is assembled from all of them.
type keyMap struct {
	Quit, Help, Back                 key.Binding
	Findings, Tree, SwitchView, Open key.Binding
	TimelineView, Timeline           key.Binding
	Raw                              key.Binding
	Hosts, Files                     key.Binding
	Search, Next, Prev               key.Binding
	Export, ExportSubtree            key.Binding
	Copy, Save                       key.Binding // the detail's selected field
	Problems                         key.Binding
	Mark, WriteFilter                key.Binding
	Pause                            key.Binding // following
}

// bind is a binding on keys, shown in the help as k: desc.
func bind(keys []string, k, desc string) key.Binding {
	return key.NewBinding(key.WithKeys(keys...), key.WithHelp(k, desc))
}

// defaultKeyMap returns the screen's default bindings.
func defaultKeyMap() keyMap {
	return keyMap{
		Quit:          bind([]string{"q", "ctrl+c"}, "q", "quit"),
		Help:          bind([]string{"?"}, "?", "all keys"),
		Back:          bind([]string{"esc"}, "esc", "back"),
		Findings:      bind([]string{"1"}, "1", "findings"),
		Tree:          bind([]string{"2"}, "2", "process tree"),
		TimelineView:  bind([]string{"3"}, "3", "timeline"),
		Timeline:      bind([]string{"T"}, "T", "host timeline here"),
		Raw:           bind([]string{"x"}, "x", "raw event (XML) / fields"),
		Hosts:         bind([]string{"4"}, "4", "hosts"),
		Files:         bind([]string{"5"}, "5", "files & tamper signs"),
		SwitchView:    bind([]string{"tab"}, "tab", "switch view"),
		Open:          bind([]string{"enter"}, "enter", "finding ⇄ tree"),
		Search:        bind([]string{"/"}, "/", "search"),
		Next:          bind([]string{"n"}, "n", "next match"),
		Prev:          bind([]string{"N"}, "N", "previous match"),
		Export:        bind([]string{"e"}, "e", "export shown findings"),
		ExportSubtree: bind([]string{"E"}, "E", "export subtree"),
		Copy:          bind([]string{"y"}, "y", "copy the selected field (OSC 52)"),
		Save:          bind([]string{"Y"}, "Y", "write the selected field to a file"),
		Problems:      bind([]string{"p"}, "p", "parse problems"),
		Mark:          bind([]string{"m"}, "m", "mark verdict"),
		WriteFilter:   bind([]string{"W"}, "W", "write false-positive filter"),
		Pause:         bind([]string{"P"}, "P", "follow: pause/resume"),
	}
}

// helpColumn flattens help groups into one column.
func helpColumn(groups ...[][]key.Binding) []key.Binding {
	var out []key.Binding
	for _, g := range groups {
		for _, c := range g {
			out = append(out, c...)
		}
	}
	return out
}

// shortHelp is the one-line help under the status bar: the screen's keys
// for what is open, with the open component's own.
func (m *Model) shortHelp() []key.Binding {
	k, ts := m.keys, &m.toggles
	switch m.overlay {
	case overlayHelp:
		return []key.Binding{k.Back, k.Search, k.Next, k.Quit}
	case overlayRules:
		return slices.Concat(m.rules.KeyMap.ShortHelp(), []key.Binding{k.Back, k.Help, k.Quit})
	case overlayProblems:
		return []key.Binding{k.Back, m.problems.KeyMap.Bottom, k.Search, k.Next, k.Help, k.Quit}
	case overlayExport:
		return slices.Concat(m.exportMenu.KeyMap.ShortHelp(), []key.Binding{k.Back, k.Quit})
	case overlayMark, overlayFilter:
		return nil // the overlay says what its keys do
	}
	// Following, P comes first after the help: it is what a person
	// watching a log reaches for.
	first := []key.Binding{k.Help}
	if m.follow.on {
		first = append(first, k.Pause)
	}
	switch m.view {
	case viewHosts:
		enter := bind([]string{"enter"}, "enter", "only this host")
		if r := m.hosts.Selected(); r != nil && r.host != "" && r.host == m.filter.Host {
			enter = bind([]string{"enter"}, "enter", "every host again")
		}
		return slices.Concat([]key.Binding{k.Help, enter, ts.key(toggleHost)},
			[]key.Binding{k.Findings, k.Files, k.Quit})
	case viewFiles:
		return []key.Binding{k.Help, bind([]string{"enter"}, "enter", "only its host"), k.Hosts, k.Problems, k.Quit}
	case viewTree:
		return slices.Concat(first, m.tree.KeyMap.ShortHelp(),
			[]key.Binding{k.Open, k.Timeline, k.Search, k.ExportSubtree, k.Mark, ts.key(toggleRules), ts.key(toggleLevel), k.Quit})
	case viewTimeline:
		return slices.Concat(first, m.timeline.KeyMap.ShortHelp(),
			[]key.Binding{k.Raw, k.Open, k.Timeline, k.Search, ts.key(toggleSearch), k.Back, k.Quit})
	default:
		return slices.Concat(first, []key.Binding{k.Open}, m.table.KeyMap.ShortHelp(),
			[]key.Binding{k.Timeline, k.Search, k.Export, k.Mark, ts.key(toggleRules), ts.key(toggleLevel), ts.key(toggleCAR), k.Quit})
	}
}

// fullHelp lists every binding, in columns: the screen's, the lists' and
// the detail pane's, the tree's, the filters', search and export, the
// rules panel's, the export menu's.
func (m *Model) fullHelp() [][]key.Binding {
	k := m.keys
	return slices.Concat(
		[][]key.Binding{
			{k.Findings, k.Tree, k.TimelineView, k.Hosts, k.Files, k.SwitchView, k.Open, k.Back, k.Help, k.Quit, k.Problems, k.Pause},
			helpColumn(m.table.KeyMap.FullHelp(), m.detail.KeyMap.FullHelp(), [][]key.Binding{{k.Raw}}),
		},
		m.tree.KeyMap.FullHelp(),
		[][]key.Binding{helpColumn([][]key.Binding{{k.Timeline}}, m.timeline.KeyMap.FullHelp())},
		[][]key.Binding{
			m.toggles.bindings(),
			{k.Search, k.Next, k.Prev, k.Copy, k.Save},
			{k.Export, k.ExportSubtree, k.Mark, k.WriteFilter},
		},
		m.rules.KeyMap.FullHelp(),
		m.exportMenu.KeyMap.FullHelp(),
	)
}
