package tui

import (
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

type treeRow struct {
	p     *triage.Process
	depth int
}

// treeIndex is what a snapshot of the tree needs beyond the Result: every
// process in depth-first order and each process's position in it. It is
// built in a tea.Cmd.
type treeIndex struct {
	order []*triage.Process // depth-first, roots in Result order
	pos   []int32           // by Process.ID; -1 if unreachable from a root
}

func buildTreeIndex(r *triage.Result) treeIndex {
	ix := treeIndex{pos: make([]int32, len(r.Processes))}
	for i := range ix.pos {
		ix.pos[i] = -1
	}
	type frame struct {
		p     *triage.Process
		depth int
	}
	stack := make([]frame, 0, 64)
	for i := len(r.Roots) - 1; i >= 0; i-- {
		stack = append(stack, frame{r.Roots[i], 0})
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
	return ix
}

// processTree is the collapsible process tree. Only expanded nodes are in
// its row list, and only the rows on screen are rendered.
type processTree struct {
	KeyMap treeKeyMap
	styles *treeStyles // set by SetStyles, never written through (copies may share it)

	roots    []*triage.Process
	index    treeIndex
	expanded []bool // by Process.ID
	rows     []treeRow
	cursor   int
	top      int
	width    int
	height   int
	hosts    bool // more than one host: show the host on roots

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
	return processTree{KeyMap: defaultTreeKeyMap(), styles: new(treeStyles)}
}

// SetStyles sets the tree's styles.
func (t *processTree) SetStyles(s treeStyles) { t.styles = &s }

// SetSize sets the tree's size in cells.
func (t *processTree) SetSize(w, h int) {
	t.width, t.height = w, h
	t.clamp()
}

// SetData installs a snapshot: the roots to show (already narrowed to a
// host when one is chosen), its index and the expansion state.
func (t *processTree) SetData(roots []*triage.Process, ix treeIndex, expanded []bool, hosts bool) {
	sel := t.Selected()
	t.roots, t.index, t.expanded, t.hosts = roots, ix, expanded, hosts
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
	t.roots, t.index, t.expanded, t.rows = nil, treeIndex{}, nil, nil
	t.stats = procStats{}
}

// SetStats installs the per-process finding counts of the current filters.
func (t *processTree) SetStats(s procStats) { t.stats = s }

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
	if sel != nil {
		t.Select(sel)
	}
}

// kept reports whether p shows under SetOnly.
func (t *processTree) kept(p *triage.Process) bool {
	return t.only == nil || p.ID >= 0 && p.ID < len(t.only) && t.only[p.ID]
}

// Selected returns the process under the cursor, or nil.
func (t processTree) Selected() *triage.Process {
	if t.cursor < 0 || t.cursor >= len(t.rows) {
		return nil
	}
	return t.rows[t.cursor].p
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
	for _, r := range t.roots {
		if t.kept(r) {
			t.rows = t.appendSubtree(t.rows, r, 0)
		}
	}
	t.clamp()
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
		rows = append(rows, treeRow{f.p, f.depth})
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

// expandAt expands the node at row i in place.
func (t *processTree) expandAt(i int, all bool) {
	row := t.rows[i]
	if all {
		t.expandAll(row.p)
	} else {
		if t.isExpanded(row.p) || len(row.p.Children) == 0 {
			return
		}
		t.setExpanded(row.p, true)
	}
	t.collapseRows(i)
	sub := t.appendSubtree(nil, row.p, row.depth)
	t.rows = append(t.rows[:i], append(sub, t.rows[i+1:]...)...)
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

// show moves the cursor to p, expanding its ancestors, and scrolls so that
// it shows with some context.
func (t *processTree) show(p *triage.Process) bool {
	if p == nil || !t.inTree(p) {
		return false
	}
	changed := false
	for a, n := p.Parent, 0; a != nil && n < maxDepth; a, n = a.Parent, n+1 {
		if !t.isExpanded(a) {
			t.setExpanded(a, true)
			changed = true
		}
	}
	if changed {
		t.rebuild()
	}
	for i, r := range t.rows {
		if r.p == p {
			comfortable := i >= t.top && i < t.top+max(t.height*2/3, 1)
			t.cursor = i
			if !comfortable {
				// a jump to a node off screen or near the bottom: show
				// it a third of the way down, with its parents above and
				// its children below
				t.top = max(i-t.height/3, 0)
			}
			t.clamp()
			return true
		}
	}
	return false
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
		row := t.rows[t.cursor]
		if t.isExpanded(row.p) && len(row.p.Children) > 0 {
			t.setExpanded(row.p, false)
			t.collapseRows(t.cursor)
		} else if row.p.Parent != nil {
			t.Select(row.p.Parent)
		}
	case key.Matches(k, t.KeyMap.Toggle):
		row := t.rows[t.cursor]
		if t.isExpanded(row.p) {
			t.setExpanded(row.p, false)
			t.collapseRows(t.cursor)
		} else {
			t.expandAt(t.cursor, false)
		}
	case key.Matches(k, t.KeyMap.CollapseAll):
		sel := t.Selected()
		for i := range t.expanded {
			t.expanded[i] = false
		}
		t.rebuild()
		if sel != nil {
			root := sel
			for n := 0; root.Parent != nil && n < maxDepth; n++ {
				root = root.Parent
			}
			t.Select(root)
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
	p := r.p
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
	if len(p.Children) > 0 {
		if t.isExpanded(p) {
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
	if t.hosts && p.Parent == nil {
		h := "[" + cell(p.Host, 40) + "] "
		b.WriteString(base.Render(h))
		used += len([]rune(h))
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
