package triage

import (
	"sort"

	"github.com/evtriage/evtriage/rules"
)

// pending is a rule match waiting for the tree.
type pending struct {
	ref        *EventRef
	rule       *rules.Rule
	details    []rules.MatchDetail
	suppressed []string
	corr       *CorrelationHit // a correlation's firing; ref is its completing event
	new        *bool           // the verdict already known (a finding read from an export)
}

// makeFindings turns matches into findings tied to their processes
// (procs[i] is ms[i]'s), ordered by event time, then file and record.
func makeFindings(ms []pending, procs []*Process) []*Finding {
	out := make([]*Finding, 0, len(ms))
	for i, m := range ms {
		out = append(out, &Finding{Rule: m.rule, Event: m.ref, Match: m.details, Suppressed: m.suppressed, Correlation: m.corr, Process: procs[i], New: m.new})
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Event, out[j].Event
		if !a.Event.Time.Equal(b.Event.Time) {
			return a.Event.Time.Before(b.Event.Time)
		}
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Event.RecordID < b.Event.RecordID
	})
	for i, f := range out {
		f.ID = i
		if f.Process != nil {
			f.Process.Findings = append(f.Process.Findings, f)
		}
	}
	return out
}

// Written returns the findings the rules report as written (no suppressed
// candidates): what the hunt command and default exports list.
func (r *Result) Written() []*Finding {
	var out []*Finding
	for _, f := range r.Findings {
		if len(f.Suppressed) == 0 {
			out = append(out, f)
		}
	}
	return out
}

// Partial reports whether some input could not be read or some rule was
// rejected (exit status 1 of the commands).
func (r *Result) Partial() bool {
	if len(r.Rejected) > 0 {
		return true
	}
	for _, s := range append(r.Sources, r.BaselineSources...) {
		if len(s.Problems) > 0 {
			return true
		}
	}
	return false
}
