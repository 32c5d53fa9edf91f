package tui

import (
	"maps"
	"sort"
	"strings"

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

// filtered is what a filter run produces, computed in a tea.Cmd.
type filtered struct {
	gen       int
	rows      []*triage.Finding // filtered and sorted
	keepAt    int               // row of the finding selected before, or -1
	visible   []bool            // by Finding.ID
	stats     procStats
	perRule   map[*rules.Rule]int
	matchRows []int32 // rows that match the search, ascending
}

// runFilter filters and sorts r's findings and counts what is left per
// process and per rule. It is the body of a tea.Cmd.
func runFilter(gen int, r *triage.Result, ix treeIndex, f filterState, by column, desc bool, keep findingKey, search []bool) filtered {
	rows := r.Filter(f.triage())
	sortFindings(rows, by, desc)
	out := filtered{gen: gen, rows: rows, keepAt: -1, perRule: make(map[*rules.Rule]int)}
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
// event fields of every process and finding.
func runSearch(gen int, r *triage.Result, ix treeIndex, query string, rows []*triage.Finding) searchResult {
	q := strings.ToLower(query)
	out := searchResult{gen: gen, query: query, findings: make([]bool, len(r.Findings)), procs: make([]bool, len(r.Processes))}
	for _, p := range r.Processes {
		if p.ID < 0 || p.ID >= len(out.procs) {
			continue
		}
		if containsFold(p.Image, q) || containsFold(p.CommandLine, q) || containsFold(p.User, q) || eventMatches(p.Create, q) {
			out.procs[p.ID] = true
			out.nProc++
			if p.ID < len(ix.pos) && ix.pos[p.ID] >= 0 {
				out.procMarks = append(out.procMarks, ix.pos[p.ID])
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
