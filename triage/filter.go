package triage

import (
	"strings"
	"time"

	"github.com/evtriage/evtriage/rules"
)

// Filter selects findings for display or export. The zero Filter selects
// the findings the rules report as written.
type Filter struct {
	DisabledRules map[string]bool // by rule id
	MinLevel      rules.Level
	// DisabledIdents switches detection identifiers off per rule id (e.g.
	// filter_main_paths): a finding of such a rule is kept when the rule,
	// re-evaluated on its event with those identifiers off, still matches.
	// This reveals suppressed candidates whose filters are all off.
	DisabledIdents map[string]map[string]bool
	// UnsignedOnly keeps findings whose event is an unsigned image load or
	// whose process loaded an unsigned image.
	UnsignedOnly bool
	// NewOnly keeps findings judged new against the baseline.
	NewOnly  bool
	Host     string    // "" = all
	From, To time.Time // zero = open
	// Sources keeps findings whose event came from these logs (0 = all).
	Sources SourceKind
	// HideDismissed leaves out the findings Case marks benign or false
	// positive, themselves or through their process (Case.Verdict).
	HideDismissed bool
	Case          *Case
}

// Filter returns the findings f selects, in Result order. Its cost is
// proportional to the number of findings, not of events.
func (r *Result) Filter(f Filter) []*Finding { return f.Select(r, r.Findings) }

// Select returns the findings of fs (findings of r) that f selects, in
// their order (a Follower's new findings, say).
func (f Filter) Select(r *Result, fs []*Finding) []*Finding {
	var out []*Finding
	hide := f.HideDismissed && f.Case.Len() > 0
	for _, x := range fs {
		if f.keep(x) && !(hide && f.Case.Verdict(r, x).Dismissed()) {
			out = append(out, x)
		}
	}
	return out
}

func (f *Filter) keep(x *Finding) bool {
	if x.Rule == nil || f.DisabledRules[x.Rule.ID] || x.Rule.Level < f.MinLevel {
		return false
	}
	ev := x.Event.Event
	if f.Host != "" && !strings.EqualFold(ev.Computer, f.Host) {
		return false
	}
	if !f.From.IsZero() && ev.Time.Before(f.From) {
		return false
	}
	if !f.To.IsZero() && ev.Time.After(f.To) {
		return false
	}
	if f.Sources != 0 && sourceOf(ev)&f.Sources == 0 {
		return false
	}
	if f.NewOnly && (x.New == nil || !*x.New) {
		return false
	}
	if f.UnsignedOnly && !unsigned(x) {
		return false
	}
	off := f.DisabledIdents[x.Rule.ID]
	if len(off) == 0 {
		return len(x.Suppressed) == 0
	}
	for _, id := range x.Suppressed {
		if !off[id] {
			return false // a filter still on hides it
		}
	}
	if len(x.Suppressed) == 0 && len(x.Rule.Identifiers()) == 0 {
		return true // a rule known by its id alone (read from an export) cannot be evaluated: as reported
	}
	ok, _ := x.Rule.Eval(ev, func(ident string) bool { return off[ident] })
	return ok
}

// unsigned reports whether the finding's event is an unsigned image load,
// or its process loaded an unsigned image (among the loads kept).
func unsigned(x *Finding) bool {
	if isUnsignedLoad(x.Event) {
		return true
	}
	if p := x.Process; p != nil {
		for _, l := range p.Events(KindImageLoad) {
			if isUnsignedLoad(l) {
				return true
			}
		}
	}
	return false
}

func isUnsignedLoad(ref *EventRef) bool {
	return kindOf(ref.Event) == KindImageLoad && strings.EqualFold(field(ref.Event, "Signed"), "false")
}
