package tui

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/evtriage/evtriage/internal/winpath"
	"github.com/evtriage/evtriage/rules"
	"github.com/evtriage/evtriage/triage"
)

// maxDepth bounds how deep the tree is walked, whatever the evidence says.
const maxDepth = 256

// treeKeyMap is the process tree's key bindings.
type treeKeyMap struct {
	navKeyMap
	Expand, Collapse, Toggle key.Binding
	NextFinding, PrevFinding key.Binding
	ExpandAll, CollapseAll   key.Binding
}

// defaultTreeKeyMap returns the tree's default bindings.
func defaultTreeKeyMap() treeKeyMap {
	return treeKeyMap{
		navKeyMap:   defaultNavKeyMap(),
		Expand:      key.NewBinding(key.WithKeys("right", "+"), key.WithHelp("→/+", "expand")),
		Collapse:    key.NewBinding(key.WithKeys("left", "-"), key.WithHelp("←/-", "collapse / parent")),
		Toggle:      key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "toggle node")),
		NextFinding: key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "next finding in tree")),
		PrevFinding: key.NewBinding(key.WithKeys("F"), key.WithHelp("F", "previous finding in tree")),
		ExpandAll:   key.NewBinding(key.WithKeys("*"), key.WithHelp("*", "expand subtree")),
		CollapseAll: key.NewBinding(key.WithKeys("z"), key.WithHelp("z", "collapse all")),
	}
}

// ShortHelp is the tree's keys for the one-line help.
func (km treeKeyMap) ShortHelp() []key.Binding { return []key.Binding{km.Toggle, km.NextFinding} }

// FullHelp lists the tree's own keys (it moves like every list).
func (km treeKeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{km.Expand, km.Collapse, km.Toggle, km.ExpandAll, km.CollapseAll, km.NextFinding, km.PrevFinding}}
}

// treeRow is one row of the tree: a process, a group row standing for
// many processes of a host, or a member of an activity group (made a
// Process value only when it is shown or selected).
type treeRow struct {
	p      *triage.Process // nil for a group row and an activity member
	depth  int
	group  *treeGroup // the group of a group row or of an activity member
	member int32      // an activity member's index in its group; -1 otherwise
}

// groupKind names the rows that stand for many processes of a host.
type groupKind uint8

const (
	// groupStubs holds the host's processes not in the log that have no
	// image or no PID: roots that would fill the tree with rows saying
	// nothing ("(unknown image) 0").
	groupStubs groupKind = iota
	// groupActivity stands for the host's processes known only from their
	// activity (triage.Result.ActivityOnly): counted, not tree nodes.
	groupActivity
)

// groupKey names a group across snapshots.
type groupKey struct {
	kind groupKind
	host string
}

// treeGroup is a row that stands for many processes of one host; its
// members show below it once it is expanded. Activity members are made
// Process values on demand (triage.Result.ActivityOnlyProcess), one at a
// time, as rows are drawn or selected.
type treeGroup struct {
	groupKey
	stubs []*triage.Process // groupStubs: the grouped roots, in root order
	count int               // groupActivity: its members
	res   *triage.Result    // groupActivity: what members are made from
	made  map[int32]*triage.Process
}

// len is the number of processes the group stands for.
func (g *treeGroup) len() int {
	if g.kind == groupStubs {
		return len(g.stubs)
	}
	return g.count
}

// member returns the i-th activity member, made once and kept, so that
// the detail pane sees the same value each time.
func (g *treeGroup) member(i int32) *triage.Process {
	if p := g.made[i]; p != nil {
		return p
	}
	p := g.res.ActivityOnlyProcess(g.host, int(i))
	if p != nil {
		if g.made == nil {
			g.made = make(map[int32]*triage.Process)
		}
		g.made[i] = p
	}
	return p
}

// title is what the group's row says.
func (g *treeGroup) title() string {
	n := g.len()
	if g.kind == groupStubs {
		return fmt.Sprintf("%s not in the log, without image or PID", countNoun(n, "process", "processes"))
	}
	return fmt.Sprintf("%s seen only by their activity", countNoun(n, "process", "processes"))
}

// countNoun is "1 process", "3 processes".
func countNoun(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// treeSection is one host's part of the tree: its roots, then its group
// rows.
type treeSection struct {
	host   string
	roots  []*triage.Process
	groups []*treeGroup
}

// grouped reports whether a root goes under its host's stub group: a
// process not in the log with no image or no PID.
func grouped(p *triage.Process) bool { return p.Stub && (p.Image == "" || p.PID == 0) }

// treeIndex is what a snapshot of the tree needs beyond the Result: the
// hosts' sections, every process in the order the tree shows them
// (depth-first, a host's grouped stubs after its roots) and each
// process's position in it. It is built in a tea.Cmd.
type treeIndex struct {
	sections []treeSection
	order    []*triage.Process
	pos      []int32 // by Process.ID; -1 if unreachable from a root
	// groupOf is the stub group of each grouped root, by Process.ID.
	groupOf map[int]*treeGroup
}

func buildTreeIndex(r *triage.Result) treeIndex {
	ix := treeIndex{pos: make([]int32, len(r.Processes)), groupOf: make(map[int]*treeGroup)}
	for i := range ix.pos {
		ix.pos[i] = -1
	}
	// Sections by host: the roots come by host, and so do the hosts with
	// activity-only processes.
	section := func(host string) *treeSection {
		if n := len(ix.sections); n > 0 && ix.sections[n-1].host == host {
			return &ix.sections[n-1]
		}
		ix.sections = append(ix.sections, treeSection{host: host})
		return &ix.sections[len(ix.sections)-1]
	}
	var stubs *treeGroup
	for _, p := range r.Roots {
		if p == nil {
			continue
		}
		s := section(p.Host)
		if !grouped(p) {
			s.roots = append(s.roots, p)
			continue
		}
		if stubs == nil || stubs.host != p.Host {
			stubs = &treeGroup{groupKey: groupKey{groupStubs, p.Host}}
			s.groups = append(s.groups, stubs)
		}
		stubs.stubs = append(stubs.stubs, p)
		if p.ID >= 0 {
			ix.groupOf[p.ID] = stubs
		}
	}
	if acts := r.ActivityOnlyHosts(); len(acts) > 0 {
		byHost := make(map[string]int, len(ix.sections))
		for i, s := range ix.sections {
			byHost[s.host] = i
		}
		for _, a := range acts {
			g := &treeGroup{groupKey: groupKey{groupActivity, a.Host}, count: a.Processes, res: r}
			if i, ok := byHost[a.Host]; ok {
				ix.sections[i].groups = append(ix.sections[i].groups, g)
			} else {
				ix.sections = append(ix.sections, treeSection{host: a.Host, groups: []*treeGroup{g}})
			}
		}
		sort.SliceStable(ix.sections, func(i, j int) bool { return ix.sections[i].host < ix.sections[j].host })
	}
	type frame struct {
		p     *triage.Process
		depth int
	}
	stack := make([]frame, 0, 64)
	walk := func(roots []*triage.Process, depth int) {
		for i := len(roots) - 1; i >= 0; i-- {
			stack = append(stack, frame{roots[i], depth})
		}
		for len(stack) > 0 {
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			p := f.p
			if p == nil || p.ID < 0 || p.ID >= len(ix.pos) || ix.pos[p.ID] >= 0 {
				continue // foreign or already seen: a crafted cycle cannot loop
			}
			ix.pos[p.ID] = int32(len(ix.order))
			ix.order = append(ix.order, p)
			if f.depth >= maxDepth {
				continue
			}
			for i := len(p.Children) - 1; i >= 0; i-- {
				stack = append(stack, frame{p.Children[i], f.depth + 1})
			}
		}
	}
	for _, s := range ix.sections {
		walk(s.roots, 0)
		for _, g := range s.groups {
			walk(g.stubs, 1)
		}
	}
	return ix
}

// processTree is the collapsible process tree. Only expanded nodes are in
// its row list, and only the rows on screen are rendered.
type processTree struct {
	KeyMap treeKeyMap
	styles *treeStyles // set by SetStyles, never written through (copies may share it)

	sections []treeSection // the hosts shown
	index    treeIndex
	expanded []bool // by Process.ID
	// open holds the groups expanded, by host, across snapshots (shared
	// by the copies of the tree: only Update writes it).
	open   map[groupKey]bool
	rows   []treeRow
	cursor int
	top    int
	width  int
	height int
	hosts  bool // more than one host: show the host on roots

	stats   procStats
	query   string
	matched []bool // by Process.ID: search matches
	// only, when set, keeps only these processes (by Process.ID): a search
	// shown as a filter keeps its matches and their ancestors.
	only []bool
	// moved is set once the user moves: until then the cursor stays on
	// the first row whatever the data becomes (snapshots while loading,
	// the host filter); afterwards it stays on the user's process.
	moved bool
	marks markLookup // the analyst's marks
}

// procStats holds, per process, what the current filters leave of its
// findings. It is computed in a tea.Cmd after each filter change.
type procStats struct {
	count    []int32 // by Process.ID
	maxLevel []int8  // by Process.ID, -1 for none
	marked   []int32 // tree positions of processes with findings, ascending
}

// newProcessTree returns an empty tree; its styles are set with SetStyles.
func newProcessTree() processTree {
	return processTree{KeyMap: defaultTreeKeyMap(), styles: new(treeStyles), open: make(map[groupKey]bool)}
}

// SetStyles sets the tree's styles.
func (t *processTree) SetStyles(s treeStyles) { t.styles = &s }

// SetSize sets the tree's size in cells.
func (t *processTree) SetSize(w, h int) {
	t.width, t.height = w, h
	t.clamp()
}

// SetData installs a snapshot: the hosts' sections to show (already
// narrowed to a host when one is chosen), its index and the expansion
// state.
func (t *processTree) SetData(sections []treeSection, ix treeIndex, expanded []bool, hosts bool) {
	sel := t.Selected()
	t.sections, t.index, t.expanded, t.hosts = sections, ix, expanded, hosts
	t.rebuild()
	switch {
	case !t.moved:
		t.cursor, t.top = 0, 0
	case sel != nil:
		t.selectAt(sel, t.cursor-t.top)
	}
}

// release drops the data but keeps the cursor's place (and whether the
// user moved it) for the data that replaces it.
func (t *processTree) release() {
	t.sections, t.index, t.expanded, t.rows = nil, treeIndex{}, nil, nil
	t.stats = procStats{}
}

// SetStats installs the per-process finding counts of the current filters.
func (t *processTree) SetStats(s procStats) { t.stats = s }

// SetMarks sets the marks the rows show ([MAL], [FP]…).
func (t *processTree) SetMarks(l markLookup) { t.marks = l }

// SetSearch installs the search text and the matching processes.
func (t *processTree) SetSearch(query string, matched []bool) { t.query, t.matched = query, matched }

// SetOnly shows only the processes keep marks (by Process.ID; nil: all),
// with the nodes of expand (IDs: the ancestors of what keep is for)
// expanded so that they show; the cursor stays on its process when it is
// kept.
func (t *processTree) SetOnly(keep []bool, expand []int32) {
	for _, id := range expand {
		if id >= 0 && int(id) < len(t.expanded) {
			t.expanded[id] = true
		}
	}
	sel := t.Selected()
	t.only = keep
	t.rebuild()
	switch {
	case !t.moved:
		t.cursor, t.top = 0, 0
	case sel != nil:
		t.show(sel)
	}
}

// kept reports whether p shows under SetOnly.
func (t *processTree) kept(p *triage.Process) bool {
	return t.only == nil || p.ID >= 0 && p.ID < len(t.only) && t.only[p.ID]
}

// Selected returns the process under the cursor (made on demand for a
// member of an activity group), or nil (none, or a group row).
func (t processTree) Selected() *triage.Process {
	if t.cursor < 0 || t.cursor >= len(t.rows) {
		return nil
	}
	return t.rows[t.cursor].process()
}

// SelectedGroup returns the group whose row is under the cursor, or nil.
func (t processTree) SelectedGroup() *treeGroup {
	if t.cursor < 0 || t.cursor >= len(t.rows) || t.rows[t.cursor].p != nil || t.rows[t.cursor].member >= 0 {
		return nil
	}
	return t.rows[t.cursor].group
}

// process is the row's process: its own, or its activity member made on
// demand; nil for a group row.
func (r treeRow) process() *triage.Process {
	if r.p != nil || r.member < 0 || r.group == nil {
		return r.p
	}
	return r.group.member(r.member)
}

// Len is the number of visible rows.
func (t processTree) Len() int { return len(t.rows) }

// Expanded returns the expansion state by Process.ID.
func (t processTree) Expanded() []bool { return t.expanded }

func (t *processTree) isExpanded(p *triage.Process) bool {
	return p.ID >= 0 && p.ID < len(t.expanded) && t.expanded[p.ID]
}

func (t *processTree) setExpanded(p *triage.Process, v bool) {
	if p.ID >= 0 && p.ID < len(t.expanded) {
		t.expanded[p.ID] = v
	}
}

// rebuild flattens the expanded part of the tree into rows.
func (t *processTree) rebuild() {
	t.rows = t.rows[:0]
	for _, s := range t.sections {
		for _, r := range s.roots {
			if t.kept(r) {
				t.rows = t.appendSubtree(t.rows, r, 0)
			}
		}
		for _, g := range s.groups {
			if t.groupKept(g) {
				t.rows = t.appendGroup(t.rows, g)
			}
		}
	}
	t.clamp()
}

// groupKept reports whether a group shows under SetOnly: a stub group
// when one of its roots is kept; an activity group never (a search does
// not look into them).
func (t *processTree) groupKept(g *treeGroup) bool {
	if t.only == nil {
		return true
	}
	if g.kind == groupStubs {
		for _, p := range g.stubs {
			if t.kept(p) {
				return true
			}
		}
	}
	return false
}

// appendGroup appends a group's row and, when it is open, its members.
func (t *processTree) appendGroup(rows []treeRow, g *treeGroup) []treeRow {
	rows = append(rows, treeRow{group: g, member: -1})
	if !t.open[g.groupKey] {
		return rows
	}
	if g.kind == groupStubs {
		for _, p := range g.stubs {
			if t.kept(p) {
				rows = t.appendSubtree(rows, p, 1)
			}
		}
		return rows
	}
	for i := range int32(g.count) {
		rows = append(rows, treeRow{depth: 1, group: g, member: i})
	}
	return rows
}

// appendSubtree appends p and its expanded descendants.
func (t *processTree) appendSubtree(rows []treeRow, p *triage.Process, depth int) []treeRow {
	type frame struct {
		p     *triage.Process
		depth int
	}
	stack := []frame{{p, depth}}
	// Each node of the index is visited at most once per call, whatever
	// the Children lists claim.
	for n := 0; len(stack) > 0 && n <= len(t.index.order); n++ {
		f := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		rows = append(rows, treeRow{p: f.p, depth: f.depth, member: -1})
		if !t.isExpanded(f.p) || f.depth >= maxDepth {
			continue
		}
		for i := len(f.p.Children) - 1; i >= 0; i-- {
			c := f.p.Children[i]
			if c != nil && t.inTree(c) && t.kept(c) {
				stack = append(stack, frame{c, f.depth + 1})
			}
		}
	}
	return rows
}

// inTree reports whether p is a node of the current index, visited once.
func (t *processTree) inTree(p *triage.Process) bool {
	return p.ID >= 0 && p.ID < len(t.index.pos) && t.index.pos[p.ID] >= 0 && t.index.order[t.index.pos[p.ID]] == p
}

func (t *processTree) clamp() {
	if t.cursor >= len(t.rows) {
		t.cursor = len(t.rows) - 1
	}
	if t.cursor < 0 {
		t.cursor = 0
	}
	if t.height <= 0 {
		t.top = t.cursor
		return
	}
	if t.cursor < t.top {
		t.top = t.cursor
	}
	if t.cursor >= t.top+t.height {
		t.top = t.cursor - t.height + 1
	}
	if t.top > max(len(t.rows)-t.height, 0) {
		t.top = max(len(t.rows)-t.height, 0)
	}
	if t.top < 0 {
		t.top = 0
	}
}

// expandAt expands the node or group at row i in place; with all, its
// whole subtree.
func (t *processTree) expandAt(i int, all bool) {
	row := t.rows[i]
	switch {
	case row.p == nil && row.member >= 0:
		return // an activity member: no children
	case row.p == nil:
		if t.open[row.group.groupKey] && !all {
			return
		}
		t.open[row.group.groupKey] = true
		if all {
			for _, p := range row.group.stubs {
				t.expandAll(p)
			}
		}
		t.collapseRows(i)
		sub := t.appendGroup(nil, row.group)
		t.rows = append(t.rows[:i], append(sub, t.rows[i+1:]...)...)
		return
	case all:
		t.expandAll(row.p)
	default:
		if t.isExpanded(row.p) || len(row.p.Children) == 0 {
			return
		}
		t.setExpanded(row.p, true)
	}
	t.collapseRows(i)
	sub := t.appendSubtree(nil, row.p, row.depth)
	t.rows = append(t.rows[:i], append(sub, t.rows[i+1:]...)...)
}

// collapseAt collapses the node or group at row i; it reports false when
// there is nothing to collapse there.
func (t *processTree) collapseAt(i int) bool {
	row := t.rows[i]
	switch {
	case row.p == nil && row.member < 0:
		if !t.open[row.group.groupKey] {
			return false
		}
		t.open[row.group.groupKey] = false
	case row.p == nil || !t.isExpanded(row.p) || len(row.p.Children) == 0:
		return false
	default:
		t.setExpanded(row.p, false)
	}
	t.collapseRows(i)
	return true
}

// expanded reports whether the row at i shows its children or members.
func (t *processTree) rowExpanded(r treeRow) bool {
	if r.p == nil {
		return r.member < 0 && t.open[r.group.groupKey]
	}
	return t.isExpanded(r.p)
}

// expandAll marks p's whole subtree expanded.
func (t *processTree) expandAll(p *triage.Process) {
	stack := []*triage.Process{p}
	for n := 0; len(stack) > 0 && n <= len(t.index.order); n++ {
		q := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if len(q.Children) == 0 {
			continue
		}
		t.setExpanded(q, true)
		for _, c := range q.Children {
			if c != nil && t.inTree(c) {
				stack = append(stack, c)
			}
		}
	}
}

// collapseRows removes the rows below row i that belong to its subtree.
func (t *processTree) collapseRows(i int) {
	d := t.rows[i].depth
	j := i + 1
	for j < len(t.rows) && t.rows[j].depth > d {
		j++
	}
	t.rows = append(t.rows[:i+1], t.rows[j:]...)
}

// parentRow is the row of the node or group row i belongs to: the
// nearest row above it that is less deep; -1 for a top-level row.
func (t *processTree) parentRow(i int) int {
	d := t.rows[i].depth
	for j := i - 1; j >= 0; j-- {
		if t.rows[j].depth < d {
			return j
		}
	}
	return -1
}

// Select moves the cursor to p, expanding its ancestors: a move of the
// user's (a jump, a finding opened in the tree).
func (t *processTree) Select(p *triage.Process) bool {
	if !t.show(p) {
		return false
	}
	t.moved = true
	return true
}

// selectAt puts the cursor on p at the given line of the pane, if p is in
// the tree: a process kept selected when the rows above it change.
func (t *processTree) selectAt(p *triage.Process, line int) {
	if t.show(p) {
		t.top = t.cursor - line
		t.clamp()
	}
}

// show moves the cursor to p, expanding its ancestors (and the stub group
// its root is in), and scrolls so that it shows with some context.
func (t *processTree) show(p *triage.Process) bool {
	if p == nil || !t.inTree(p) {
		return false
	}
	changed := false
	root := p
	for a, n := p.Parent, 0; a != nil && n < maxDepth; a, n = a.Parent, n+1 {
		if !t.isExpanded(a) {
			t.setExpanded(a, true)
			changed = true
		}
		root = a
	}
	if g := t.index.groupOf[root.ID]; g != nil && !t.open[g.groupKey] {
		t.open[g.groupKey] = true
		changed = true
	}
	if changed {
		t.rebuild()
	}
	for i, r := range t.rows {
		if r.p == p {
			t.cursorTo(i)
			return true
		}
	}
	return false
}

// cursorTo moves the cursor to row i; a row off screen or near its bottom
// is shown a third of the way down, with its parents above and its
// children below.
func (t *processTree) cursorTo(i int) {
	comfortable := i >= t.top && i < t.top+max(t.height*2/3, 1)
	t.cursor = i
	if !comfortable {
		t.top = max(i-t.height/3, 0)
	}
	t.clamp()
}

// jump moves to the next (or previous) process whose tree position is in
// marks (ascending), wrapping around; with here set, the selected process
// is the next one when it is in marks. It costs O(log n) plus the rows it
// has to expand.
func (t *processTree) jump(marks []int32, forward, here bool) bool {
	if len(marks) == 0 {
		return false
	}
	cur := int32(-1)
	if p := t.Selected(); p != nil && p.ID >= 0 && p.ID < len(t.index.pos) {
		cur = t.index.pos[p.ID]
	}
	k := nextMark(marks, cur, forward, here)
	for range marks { // past the marks SetOnly hides
		if p := t.index.order[marks[k]]; t.kept(p) {
			return t.Select(p)
		}
		if forward {
			k = (k + 1) % len(marks)
		} else {
			k = (k - 1 + len(marks)) % len(marks)
		}
	}
	return false
}

// nextMark returns the index in marks (ascending, not empty) of the first
// mark after cur, or the last one before it when going backward, wrapping
// around. With here set, going forward, a mark equal to cur is the next.
func nextMark(marks []int32, cur int32, forward, here bool) int {
	if !forward {
		k := sort.Search(len(marks), func(i int) bool { return marks[i] >= cur }) - 1
		if k < 0 {
			k = len(marks) - 1
		}
		return k
	}
	k := sort.Search(len(marks), func(i int) bool { return marks[i] > cur || here && marks[i] == cur })
	if k == len(marks) {
		k = 0
	}
	return k
}

// Update handles navigation and folding keys.
func (t processTree) Update(msg tea.Msg) (processTree, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok || len(t.rows) == 0 {
		return t, nil
	}
	if c, ok := t.KeyMap.move(k, t.cursor, len(t.rows), t.height); ok {
		t.cursor, t.moved = c, true
		t.clamp()
		return t, nil
	}
	switch {
	case key.Matches(k, t.KeyMap.Expand):
		t.expandAt(t.cursor, false)
	case key.Matches(k, t.KeyMap.ExpandAll):
		t.expandAt(t.cursor, true)
	case key.Matches(k, t.KeyMap.Collapse):
		if !t.collapseAt(t.cursor) {
			if up := t.parentRow(t.cursor); up >= 0 {
				t.cursorTo(up)
				t.moved = true
			}
		}
	case key.Matches(k, t.KeyMap.Toggle):
		if !t.collapseAt(t.cursor) {
			t.expandAt(t.cursor, false)
		}
	case key.Matches(k, t.KeyMap.CollapseAll):
		i := t.cursor
		for up := t.parentRow(i); up >= 0; up = t.parentRow(i) {
			i = up
		}
		top := t.rows[i]
		clear(t.expanded)
		clear(t.open)
		t.rebuild()
		for j, r := range t.rows {
			if r.p == top.p && r.group == top.group {
				t.cursorTo(j)
				t.moved = true
				break
			}
		}
	case key.Matches(k, t.KeyMap.NextFinding):
		t.jump(t.stats.marked, true, false)
	case key.Matches(k, t.KeyMap.PrevFinding):
		t.jump(t.stats.marked, false, false)
	default:
		return t, nil
	}
	t.clamp()
	return t, nil
}

// update is Update for the screen's panes.
func (t *processTree) update(k tea.KeyPressMsg) tea.Cmd {
	var cmd tea.Cmd
	*t, cmd = t.Update(k)
	return cmd
}

// lines is the lines the tree's rows take.
func (t *processTree) lines() int { return len(t.rows) }

// View renders the visible rows, exactly width × height.
func (t processTree) View() string {
	if t.width <= 0 || t.height <= 0 {
		return ""
	}
	lines := make([]string, 0, t.height)
	if len(t.rows) == 0 {
		lines = append(lines, t.styles.Faint.Render("  no processes yet"))
	}
	end := min(t.top+t.height, len(t.rows))
	for i := t.top; i < end; i++ {
		lines = append(lines, t.renderRow(t.rows[i], i == t.cursor))
	}
	return padLines(lines, t.width, t.height)
}

func (t processTree) renderRow(r treeRow, selected bool) string {
	st := t.styles
	p := r.process()
	base := lipgloss.NewStyle()
	if selected {
		base = st.Selected
	}
	var b strings.Builder
	indent := r.depth
	if indent > 24 {
		indent = 24 // deep chains stay readable; the lineage shows the rest
	}
	glyph := "  "
	if (p == nil && r.member < 0) || (r.p != nil && len(p.Children) > 0) {
		if t.rowExpanded(r) {
			glyph = "▾ "
		} else {
			glyph = "▸ "
		}
	}
	prefix := strings.Repeat("  ", indent) + glyph
	if r.depth > indent {
		prefix = strings.Repeat("  ", indent-1) + "… " + glyph
	}
	if selected {
		prefix = "›" + prefix
	} else {
		prefix = " " + prefix
	}
	b.WriteString(base.Render(prefix))
	used := len([]rune(prefix))
	if t.hosts && r.depth == 0 {
		host := ""
		if p != nil {
			host = p.Host
		} else if r.group != nil {
			host = r.group.host
		}
		h := "[" + cell(host, 40) + "] "
		b.WriteString(base.Render(h))
		used += len([]rune(h))
	}
	if p == nil {
		if r.group != nil {
			gs := st.Faint
			if selected {
				gs = st.Selected
			}
			b.WriteString(gs.Render(fit(r.group.title(), max(t.width-used, 0))))
		}
		return b.String()
	}
	name := winpath.Base(p.Image)
	if name == "" {
		name = "(unknown image)"
	}
	nameStyle := base
	if p.Regsvr32 || p.Renamed {
		nameStyle = st.Regsvr32.Inherit(base)
	}
	matched := p.ID >= 0 && p.ID < len(t.matched) && t.matched[p.ID]
	q := ""
	if matched {
		q = t.query
	}
	nm := cell(name, t.width)
	b.WriteString(paint(nm, len([]rune(nm)), q, nameStyle, st.Match))
	used += len([]rune(nm))
	tail := " " + strconv.FormatUint(uint64(p.PID), 10)
	if p.Renamed {
		tail += " [renamed regsvr32]"
	} else if p.Regsvr32 {
		tail += " [regsvr32]"
	}
	if p.Stub {
		tail += " (not in log)"
	}
	b.WriteString(base.Render(tail))
	used += len([]rune(tail))
	if mk, ok := t.marks.process(p); ok {
		tag := " [" + mk.Verdict.Short() + "]"
		ms := st.Verdicts.of(mk.Verdict)
		if selected {
			ms = ms.Inherit(st.Selected)
		}
		b.WriteString(ms.Render(tag))
		used += len([]rune(tag))
	}
	if n := t.findingCount(p); n > 0 {
		lvl := rules.Level(t.stats.maxLevel[p.ID])
		badge := " ● " + strconv.Itoa(int(n)) + " " + levelShort(lvl)
		ls := st.Levels.of(lvl)
		if selected {
			ls = ls.Inherit(st.Selected)
		}
		b.WriteString(ls.Render(badge))
		used += len([]rune(badge))
	}
	if rest := t.width - used - 2; rest > 8 && p.CommandLine != "" {
		cs := st.Faint
		if selected {
			cs = st.Selected
		}
		b.WriteString(base.Render("  "))
		b.WriteString(paint(cell(p.CommandLine, rest), rest, q, cs, st.Match))
	}
	return b.String()
}

func (t processTree) findingCount(p *triage.Process) int32 {
	if p.ID < 0 || p.ID >= len(t.stats.count) {
		return 0
	}
	return t.stats.count[p.ID]
}

// position describes where the cursor is, for the pane title.
func (t processTree) position() string {
	if len(t.rows) == 0 {
		return "0/0"
	}
	return strconv.Itoa(t.cursor+1) + "/" + strconv.Itoa(len(t.rows))
}
