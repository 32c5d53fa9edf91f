package triage

import (
	"github.com/evtriage/evtriage/rules"
)

// WithRules returns a copy of r judged by set, a reload of r's rules that
// adds filters (a false positive's filter file, say): each finding takes
// set's rule of the same id, and is evaluated again on its event, so that
// what the new filters hide is suppressed (Suppressed names them, and the
// rules panel can switch them off as it does a rule's own filter_*
// blocks). Adding filters only hides findings, so no finding appears; a
// finding whose rule set does not hold, or that its rule no longer
// matches even as a candidate, is kept as it was. Correlation findings
// are kept with their rule renewed.
//
// r is left as it is (the screen may still be reading it): processes and
// findings are copied, their links remade among the copies; events and
// what the processes keep of them are shared, never written.
func (r *Result) WithRules(set *rules.Set) *Result {
	byID := make(map[string]*rules.Rule)
	for _, rl := range set.Rules() {
		if rl.ID != "" {
			byID[rl.ID] = rl
		}
	}
	renew := func(old *rules.Rule) *rules.Rule {
		if old != nil {
			if n := byID[old.ID]; n != nil && old.ID != "" {
				return n
			}
		}
		return old
	}
	out := *r
	out.Loaded, out.Rejected = set.Rules(), set.Rejected()
	procs := make([]Process, len(r.Processes))
	out.Processes = make([]*Process, len(r.Processes))
	of := func(p *Process) *Process {
		if p != nil && p.ID >= 0 && p.ID < len(procs) && r.Processes[p.ID] == p {
			return &procs[p.ID]
		}
		return p // not a node of r (cannot happen in a built Result)
	}
	for i, p := range r.Processes {
		procs[i] = *p
		out.Processes[i] = &procs[i]
	}
	finds := make([]Finding, len(r.Findings))
	out.Findings = make([]*Finding, len(r.Findings))
	byOld := make(map[*Finding]*Finding, len(r.Findings))
	for i, f := range r.Findings {
		nf := &finds[i]
		*nf = *f
		nf.Process = of(f.Process)
		nf.Rule = renew(f.Rule)
		if c := f.Correlation; c != nil {
			cc := *c
			cc.Events = append([]CorrelationEvent(nil), c.Events...)
			for j := range cc.Events {
				cc.Events[j].Rule = renew(cc.Events[j].Rule)
			}
			nf.Correlation = &cc
		} else if nf.Rule != f.Rule {
			rejudge(nf)
		}
		out.Findings[i] = nf
		byOld[f] = nf
	}
	for i := range procs {
		p := &procs[i]
		p.Parent = of(p.Parent)
		if len(p.Children) > 0 {
			ch := make([]*Process, len(p.Children))
			for j, c := range p.Children {
				ch[j] = of(c)
			}
			p.Children = ch
		}
		if len(p.Findings) > 0 {
			fs := make([]*Finding, 0, len(p.Findings))
			for _, f := range p.Findings {
				if nf := byOld[f]; nf != nil {
					fs = append(fs, nf)
				}
			}
			p.Findings = fs
		}
	}
	out.Roots = make([]*Process, len(r.Roots))
	for i, p := range r.Roots {
		out.Roots[i] = of(p)
	}
	return &out
}

// rejudge evaluates f's (renewed) rule on f's event again: the event as
// the rule saw it (with the tree fields for a tree rule).
func rejudge(f *Finding) {
	if f.Rule == nil || f.Event == nil || f.Event.Event == nil {
		return
	}
	var ev rules.Event = f.Event.Event
	if isTreeRule(f.Rule) && f.Process != nil && f.Process.Create() == f.Event {
		ev = newTreeEvent(f.Process)
	}
	if m, ok := f.Rule.Candidate(ev); ok {
		f.Match, f.Suppressed = m.Details, m.Suppressed
	}
}
