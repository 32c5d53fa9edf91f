package tui

import (
	"maps"
	"sort"
	"strings"
	"time"

	"github.com/evtriage/evtriage/rules"
	"github.com/evtriage/evtriage/triage"
)

// The built-in CAR-2019-04-002 children rule and the filter identifiers
// that the "CAR exclusions" toggle switches off.
const carRuleID = "bc399179-15fa-4ca9-a55b-d46b526bf897"

func carIdents() [2]string { return [2]string{"filter_car_werfault", "filter_car_wevtutil"} }

// filterState is what the status bar shows and triage.Filter applies. It
// is treated as immutable once handed to a tea.Cmd: toggles copy it.
type filterState struct {
	minLevel       rules.Level
	disabledRules  map[string]bool            // rule ID
	disabledIdents map[string]map[string]bool // rule ID → filter identifiers switched off
	carOff         bool                       // CAR exclusions switched off (WerFault, wevtutil shown)
	unsignedOnly   bool
	newOnly        bool
	host           string // "" for every host
	from, to       time.Time
	sources        triage.SourceKind // 0 for both
}

func (f filterState) clone() filterState {
	g := f
	g.disabledRules = maps.Clone(f.disabledRules)
	g.disabledIdents = make(map[string]map[string]bool, len(f.disabledIdents))
	for k, v := range f.disabledIdents {
		g.disabledIdents[k] = maps.Clone(v)
	}
	return g
}

// identDisabled reports whether the rule's filter identifier is off,
// either by itself or through the CAR toggle.
func (f *filterState) identDisabled(ruleID, ident string) bool {
	return f.disabledIdents[ruleID][ident] || f.carHides(ruleID, ident) && f.carOff
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

// triage returns the filter for triage.Result.Filter.
func (f *filterState) triage() triage.Filter {
	idents := make(map[string]map[string]bool, len(f.disabledIdents)+1)
	for k, v := range f.disabledIdents {
		idents[k] = maps.Clone(v)
	}
	if f.carOff {
		m := idents[carRuleID]
		if m == nil {
			m = make(map[string]bool)
			idents[carRuleID] = m
		}
		for _, c := range carIdents() {
			m[c] = true
		}
	}
	return triage.Filter{
		DisabledRules:  maps.Clone(f.disabledRules),
		MinLevel:       f.minLevel,
		DisabledIdents: idents,
		UnsignedOnly:   f.unsignedOnly,
		NewOnly:        f.newOnly,
		Host:           f.host,
		From:           f.from,
		To:             f.to,
		Sources:        f.sources,
	}
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
