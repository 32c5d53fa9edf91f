package tui

import (
	"fmt"
	"maps"
	"sort"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/evtriage/evtriage/internal/termsafe"
	"github.com/evtriage/evtriage/rules"
	"github.com/evtriage/evtriage/triage"
)

// The built-in CAR-2019-04-002 children rule and the filter identifiers
// that the "CAR exclusions" toggle switches off.
const carRuleID = "bc399179-15fa-4ca9-a55b-d46b526bf897"

func carIdents() [2]string { return [2]string{"filter_car_werfault", "filter_car_wevtutil"} }

// filterState is what the toggles set and the status bar shows: the
// triage.Filter whose predicates select the findings, and the CAR
// exclusions switch, which stands for two of its identifiers. It is
// treated as immutable once handed to a tea.Cmd: a change works on a
// clone.
type filterState struct {
	// Filter holds the predicates; its DisabledIdents are those switched
	// off one by one in the rules panel, the CAR exclusions aside.
	triage.Filter
	carOff bool // CAR exclusions switched off (WerFault, wevtutil shown)
	// searchOnly makes a search show only the matching rows (findings,
	// processes with their ancestors, timeline events) instead of jumping
	// between them.
	searchOnly bool
}

func (f filterState) clone() filterState {
	g := f
	g.DisabledRules = maps.Clone(f.DisabledRules)
	g.DisabledIdents = make(map[string]map[string]bool, len(f.DisabledIdents))
	for k, v := range f.DisabledIdents {
		g.DisabledIdents[k] = maps.Clone(v)
	}
	return g
}

// identDisabled reports whether the rule's filter identifier is off,
// either by itself or through the CAR toggle.
func (f *filterState) identDisabled(ruleID, ident string) bool {
	return f.DisabledIdents[ruleID][ident] || f.carHides(ruleID, ident) && f.carOff
}

// switchRules applies a change made in the rules panel: a rule or one of
// its filter identifiers on or off, only one rule on, or everything on.
func (f *filterState) switchRules(t ruleToggle, loaded []*rules.Rule) {
	switch {
	case t.all:
		f.DisabledRules = nil
		f.DisabledIdents = map[string]map[string]bool{}
	case t.only:
		f.DisabledRules = map[string]bool{}
		for _, r := range loaded {
			if r.ID != t.ruleID {
				f.DisabledRules[r.ID] = true
			}
		}
	case t.ident == "":
		if f.DisabledRules == nil {
			f.DisabledRules = map[string]bool{}
		}
		f.DisabledRules[t.ruleID] = !f.DisabledRules[t.ruleID]
	case f.carHides(t.ruleID, t.ident):
		f.carOff = !f.carOff // the CAR toggle owns these two
	default:
		if f.DisabledIdents[t.ruleID] == nil {
			f.DisabledIdents[t.ruleID] = map[string]bool{}
		}
		f.DisabledIdents[t.ruleID][t.ident] = !f.DisabledIdents[t.ruleID][t.ident]
	}
}

// carHides reports whether ident is one of the CAR exclusions.
func (f *filterState) carHides(ruleID, ident string) bool {
	if ruleID != carRuleID {
		return false
	}
	for _, c := range carIdents() {
		if c == ident {
			return true
		}
	}
	return false
}

// triage returns the filter for triage.Result.Filter: the CAR
// exclusions become identifiers switched off.
func (f *filterState) triage() triage.Filter {
	if !f.carOff {
		return f.Filter
	}
	idents := make(map[string]map[string]bool, len(f.DisabledIdents)+1)
	for k, v := range f.DisabledIdents {
		idents[k] = maps.Clone(v)
	}
	m := idents[carRuleID]
	if m == nil {
		m = make(map[string]bool)
		idents[carRuleID] = m
	}
	for _, c := range carIdents() {
		m[c] = true
	}
	g := f.Filter
	g.DisabledIdents = idents
	return g
}

// findingKey identifies a finding across Result snapshots (IDs are
// renumbered when a snapshot adds earlier events).
type findingKey struct {
	rule, file string
	offset     int64
}

func keyOf(f *triage.Finding) findingKey {
	k := findingKey{}
	if f.Rule != nil {
		k.rule = f.Rule.ID
	}
	if f.Event != nil {
		k.file = f.Event.File
		if f.Event.Event != nil {
			k.offset = f.Event.Event.Offset
		}
	}
	return k
}

// filterRun follows the background filter runs: the latest output in
// (rows aside, which the table holds), and whether a run is under way.
type filterRun struct {
	gen     int  // of the latest run asked for
	running bool // its output is not in yet
	filtered
}

// filteredMsg carries a filter run's output.
type filteredMsg struct{ filtered }

// refilter filters and sorts the findings again in the background; the
// table keeps its selected finding.
func (m *Model) refilter() tea.Cmd {
	if m.res == nil {
		return nil
	}
	m.shown.gen++
	m.shown.running = true
	gen, r, ix, f, l := m.shown.gen, m.res, m.index, m.filter, m.table.labels
	by, desc := m.table.Sort()
	var keep findingKey
	if s := m.table.Selected(); s != nil {
		keep = keyOf(s)
	} else if r := m.load.resume; r != nil {
		keep = r.finding
	}
	var search []bool
	if s := m.search.result; s != nil {
		search = s.findings
	}
	return func() tea.Msg {
		return filteredMsg{runFilter(gen, r, ix, f, l, by, desc, keep, search)}
	}
}

// searchRows reports whether a search narrows the rows to its matches
// (the search mode is "only", and there is a search).
func (m *Model) searchRows() bool { return m.filter.searchOnly && m.search.result != nil }

// applyFiltered shows the latest filter run's output; then the jump a
// search waits for, and an export waiting for the filters, can go.
func (m *Model) applyFiltered(out filtered) tea.Cmd {
	if out.gen != m.shown.gen {
		return nil // a later run is under way
	}
	m.shown.running = false
	m.shown.filtered = out
	m.table.SetRows(out.rows, out.keepAt)
	m.table.SetContent(out.content, m.hasBaseline())
	if m.load.complete {
		m.load.resume = nil // restored
	}
	m.tree.SetStats(out.stats)
	m.timeline.SetVisible(out.visible)
	if m.search.jumpDue() {
		// The first filter run over the typed query's results.
		m.search.jumpTo = ""
		m.step(true, true)
	}
	m.layout()
	return m.export.take()
}

// filtered is what a filter run produces, computed in a tea.Cmd.
type filtered struct {
	gen       int
	rows      []*triage.Finding // filtered and sorted
	keepAt    int               // row of the finding selected before, or -1
	visible   []bool            // by Finding.ID
	stats     procStats
	perRule   map[*rules.Rule]int
	matchRows []int32 // rows that match the search, ascending
	content   contentWidths
}

// runFilter filters and sorts r's findings and counts what is left per
// process and per rule; with the search mode "only", the findings that do
// not match the search (search, by Finding.ID, when not nil) are left out
// too. It is the body of a tea.Cmd.
func runFilter(gen int, r *triage.Result, ix treeIndex, f filterState, l labels, by column, desc bool, keep findingKey, search []bool) filtered {
	rows := r.Filter(f.triage())
	if f.searchOnly && search != nil {
		kept := rows[:0]
		for _, fd := range rows {
			if fd.ID >= 0 && fd.ID < len(search) && search[fd.ID] {
				kept = append(kept, fd)
			}
		}
		rows = kept
	}
	sortFindings(rows, by, desc)
	out := filtered{gen: gen, rows: rows, keepAt: -1, perRule: make(map[*rules.Rule]int), content: measure(rows, l)}
	out.visible = make([]bool, len(r.Findings))
	out.stats = procStats{count: make([]int32, len(r.Processes)), maxLevel: make([]int8, len(r.Processes))}
	for i := range out.stats.maxLevel {
		out.stats.maxLevel[i] = -1
	}
	for i, fd := range rows {
		if fd.ID >= 0 && fd.ID < len(out.visible) {
			out.visible[fd.ID] = true
		}
		if out.keepAt < 0 && keep.rule != "" && keyOf(fd) == keep {
			out.keepAt = i
		}
		if fd.ID >= 0 && fd.ID < len(search) && search[fd.ID] {
			out.matchRows = append(out.matchRows, int32(i))
		}
		out.perRule[fd.Rule]++
		if p := fd.Process; p != nil && p.ID >= 0 && p.ID < len(out.stats.count) {
			out.stats.count[p.ID]++
			if int8(fd.Rule.Level) > out.stats.maxLevel[p.ID] {
				out.stats.maxLevel[p.ID] = int8(fd.Rule.Level)
			}
		}
	}
	for id, n := range out.stats.count {
		if n > 0 && id < len(ix.pos) && ix.pos[id] >= 0 {
			out.stats.marked = append(out.stats.marked, ix.pos[id])
		}
	}
	sort.Slice(out.stats.marked, func(i, j int) bool { return out.stats.marked[i] < out.stats.marked[j] })
	return out
}

// searchState is the search: the prompt, the latest result, and the jump
// to the first match that waits for it.
type searchState struct {
	prompting bool // the prompt has the keyboard
	pager     bool // the prompt searches the open pager (help, problems), not the findings
	input     prompt
	gen       int           // of the latest search asked for
	result    *searchResult // nil: no search
	// jumpTo is the query typed with enter whose first match is still to
	// be selected, once its results (and the table rows they mark) are in;
	// "" when none.
	jumpTo string
}

// query is the query of the search shown, or "".
func (s *searchState) query() string {
	if s.result == nil {
		return ""
	}
	return s.result.query
}

// jumpDue reports whether the results of the query typed with enter are
// in, so that its first match can be selected.
func (s *searchState) jumpDue() bool {
	return s.jumpTo != "" && s.result != nil && s.result.gen == s.gen && s.result.query == s.jumpTo
}

// searchedMsg carries a search's result.
type searchedMsg struct{ searchResult }

// startSearch runs query q in the background; "" ends the search.
func (m *Model) startSearch(q string) tea.Cmd {
	m.search.gen++
	if q == "" || m.res == nil {
		m.search.result = nil
		m.search.jumpTo = ""
		m.table.SetHighlight("")
		m.tree.SetSearch("", nil)
		m.timeline.SetSearch("", nil, nil)
		m.applySearchMode()
		return m.refilter()
	}
	gen, r, ix, tl := m.search.gen, m.res, m.index, m.timeline.data
	return func() tea.Msg { return searchedMsg{runSearch(gen, r, ix, q, nil, tl)} }
}

// applySearch shows a search's result and filters again, which marks the
// matching rows.
func (m *Model) applySearch(s searchResult) tea.Cmd {
	if s.gen != m.search.gen {
		return nil // a later search is under way
	}
	m.search.result = &s
	m.table.SetHighlight(s.query)
	m.tree.SetSearch(s.query, s.procs)
	m.timeline.SetSearch(s.query, s.tlMatch, s.tl)
	m.applySearchMode()
	msg := fmt.Sprintf("%q: %d findings, %d processes", termsafe.Clean(s.query), s.nFind, s.nProc)
	if s.tl != nil {
		msg += fmt.Sprintf(", %d timeline events", s.nTL)
	}
	if m.filter.searchOnly {
		msg += " match — only they are shown (& shows every row)"
	} else {
		msg += " match — n/N to step (& shows only them)"
	}
	m.setMessage(msg, false)
	return m.refilter()
}

// searchResult is what a search produces, computed in a tea.Cmd.
type searchResult struct {
	gen       int
	query     string
	findings  []bool  // by Finding.ID
	procs     []bool  // by Process.ID
	procMarks []int32 // tree positions of matching processes, ascending
	matchRows []int32 // rows of the current table that match
	nFind     int
	nProc     int
	// procKeep marks the matching processes and their ancestors (by
	// Process.ID), and expand lists those ancestors: what the tree shows
	// when only matches are shown.
	procKeep []bool
	expand   []int32
	// tlMatch marks the matching events of the timeline tl (by index in
	// tl.Events); nil without a timeline.
	tl      *triage.Timeline
	tlMatch []bool
	nTL     int
}

// eventMatches reports whether any field of ref's event contains q.
func eventMatches(ref *triage.EventRef, q string) bool {
	if ref == nil || ref.Event == nil {
		return false
	}
	for _, f := range ref.Event.Fields {
		if containsFold(f.Value, q) {
			return true
		}
	}
	return false
}

// runSearch looks for q (case-insensitive) in images, command lines and
// event fields of every process and finding, and in the events of the
// timeline tl (nil: none).
func runSearch(gen int, r *triage.Result, ix treeIndex, query string, rows []*triage.Finding, tl *triage.Timeline) searchResult {
	q := strings.ToLower(query)
	out := searchResult{gen: gen, query: query, findings: make([]bool, len(r.Findings)), procs: make([]bool, len(r.Processes)),
		procKeep: make([]bool, len(r.Processes))}
	for _, p := range r.Processes {
		if p.ID < 0 || p.ID >= len(out.procs) {
			continue
		}
		if containsFold(p.Image, q) || containsFold(p.CommandLine, q) || containsFold(p.User, q) || eventMatches(p.Create(), q) {
			out.procs[p.ID] = true
			out.procKeep[p.ID] = true
			out.nProc++
			if p.ID < len(ix.pos) && ix.pos[p.ID] >= 0 {
				out.procMarks = append(out.procMarks, ix.pos[p.ID])
			}
		}
	}
	for _, p := range r.Processes {
		if p.ID < 0 || p.ID >= len(out.procs) || !out.procs[p.ID] {
			continue
		}
		// Its ancestors show with it; a chain already marked stops the walk.
		for a, n := p.Parent, 0; a != nil && n < maxDepth; a, n = a.Parent, n+1 {
			if a.ID < 0 || a.ID >= len(out.procKeep) {
				break
			}
			out.expand = append(out.expand, int32(a.ID))
			if out.procKeep[a.ID] {
				break
			}
			out.procKeep[a.ID] = true
		}
	}
	if tl != nil {
		out.tl, out.tlMatch = tl, make([]bool, len(tl.Events))
		for i := range tl.Events {
			e := &tl.Events[i]
			if eventMatches(&e.EventRef, q) || containsFold(e.Event.Channel, q) || containsFold(e.Event.Provider, q) ||
				containsFold(triage.Summary(e.Event, 0), q) {
				out.tlMatch[i] = true
				out.nTL++
			}
		}
	}
	sort.Slice(out.procMarks, func(i, j int) bool { return out.procMarks[i] < out.procMarks[j] })
	for _, f := range r.Findings {
		if f.ID < 0 || f.ID >= len(out.findings) || f.Rule == nil {
			continue
		}
		if containsFold(f.Rule.Title, q) || containsFold(findingImage(f), q) || containsFold(findingCommandLine(f), q) || eventMatches(f.Event, q) {
			out.findings[f.ID] = true
			out.nFind++
		}
	}
	for i, f := range rows {
		if f.ID >= 0 && f.ID < len(out.findings) && out.findings[f.ID] {
			out.matchRows = append(out.matchRows, int32(i))
		}
	}
	return out
}
