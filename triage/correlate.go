package triage

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/evtriage/evtriage/rules"
)

// A rule set's correlation rules are evaluated when a Result is built, not
// as events arrive: files are read one after another and each in parallel
// chunks, so only the whole of what was read can be put in event-time
// order, across files and hosts. The hunter keeps the matches of the rules
// correlations reference (corrFeed) and, at Result/Finish, feeds them to a
// rules.Correlator sorted by time. Alongside the correlator it keeps, per
// correlation and group, the events in the window, so that a firing names
// the events that made it.

// corrPlan is what the hunter needs to know of a rule set's correlations.
type corrPlan struct {
	set *rules.Set
	// refs maps a referenced rule (detection or correlation) to the
	// correlation rules that reference it, once per mention, as the
	// correlator does.
	refs map[*rules.Rule][]*rules.Rule
	// feed holds the detection rules whose matches are fed.
	feed map[*rules.Rule]bool
	// quiet holds the correlation rules only other correlations use
	// (referenced by no correlation with generate: true): their firings
	// feed those correlations but are not findings.
	quiet map[*rules.Rule]bool
}

// newCorrPlan returns nil when set holds no correlation rule.
func newCorrPlan(set *rules.Set) *corrPlan {
	if set == nil {
		return nil
	}
	corrs := set.Correlations()
	if len(corrs) == 0 {
		return nil
	}
	p := &corrPlan{set: set, refs: map[*rules.Rule][]*rules.Rule{}, feed: map[*rules.Rule]bool{}, quiet: map[*rules.Rule]bool{}}
	for _, cr := range corrs {
		for _, r := range cr.Correlation.Rules {
			p.refs[r] = append(p.refs[r], cr)
			switch {
			case r.Correlation == nil:
				p.feed[r] = true
			case !cr.Correlation.Generate:
				p.quiet[r] = true
			}
		}
	}
	for _, cr := range corrs {
		if cr.Correlation.Generate {
			for _, r := range cr.Correlation.Rules {
				delete(p.quiet, r)
			}
		}
	}
	return p
}

// corrFeed is a match of a rule a correlation references, as written (no
// suppressed candidate), waiting to be fed in time order.
type corrFeed struct {
	ref *EventRef
	m   rules.Match // Details and Suppressed dropped; keeps the logsource's field renames
	seq int         // order read, the last tie-breaker
}

// corrEntry is one event in a tracked window: its time (for an event that
// reached the window through a chained correlation, the time that
// correlation fired) and the event.
type corrEntry struct {
	t  time.Time
	ev CorrelationEvent
}

// corrTrack is one correlation group's window as the tracker sees it.
type corrTrack struct {
	entries []corrEntry
	seen    time.Time
}

// tracker mirrors the correlator's windows with the events in them.
type tracker struct {
	groups map[*rules.Rule]map[string]*corrTrack
}

// groupKey computes a correlation group the way the correlator does: the
// group-by fields (through the correlation's aliases for rule r) read with
// the match's field renames, or from the event itself for a chained
// correlation (m nil), joined by NUL.
func groupKey(cr, r *rules.Rule, ev rules.Event, m *rules.Match) string {
	corr := cr.Correlation
	vals := make([]string, len(corr.GroupBy))
	for i, name := range corr.GroupBy {
		if a, ok := corr.Aliases[name]; ok {
			if f, ok := a[r]; ok {
				name = f
			}
		}
		if m != nil {
			vals[i], _ = m.Field(ev, name)
		} else {
			vals[i], _ = ev.Get(name)
		}
	}
	return strings.Join(vals, "\x00")
}

// add puts events into a group's window at time t and drops what the
// window has left behind.
func (tr *tracker) add(cr *rules.Rule, key string, t time.Time, evs []CorrelationEvent) {
	gm := tr.groups[cr]
	if gm == nil {
		gm = map[string]*corrTrack{}
		tr.groups[cr] = gm
	}
	g := gm[key]
	if g == nil {
		g = &corrTrack{}
		gm[key] = g
	}
	g.seen = t
	for _, e := range evs {
		g.entries = append(g.entries, corrEntry{t: t, ev: e})
	}
	from := t.Add(-cr.Correlation.Timespan)
	drop := 0
	for drop < len(g.entries) && g.entries[drop].t.Before(from) {
		drop++
	}
	if drop > 0 {
		g.entries = append(g.entries[:0], g.entries[drop:]...)
	}
}

// take empties the window of a firing's group (the correlator starts it
// again empty) and returns the distinct events in it from the firing's
// start, in time order.
func (tr *tracker) take(cm rules.CorrelationMatch) []CorrelationEvent {
	key := strings.Join(cm.Group, "\x00")
	g := tr.groups[cm.Rule][key]
	if g == nil {
		return nil
	}
	delete(tr.groups[cm.Rule], key)
	var out []CorrelationEvent
	seen := make(map[*EventRef]bool, len(g.entries))
	for _, e := range g.entries {
		if e.t.Before(cm.Start) || seen[e.ev.Ref] {
			continue
		}
		seen[e.ev.Ref] = true
		out = append(out, e.ev)
	}
	slices.SortStableFunc(out, func(a, b CorrelationEvent) int { return a.Ref.Event.Time.Compare(b.Ref.Event.Time) })
	return out
}

// sweep forgets groups not seen within their window.
func (tr *tracker) sweep(now time.Time) {
	for cr, gm := range tr.groups {
		from := now.Add(-cr.Correlation.Timespan)
		for k, g := range gm {
			if g.seen.Before(from) {
				delete(gm, k)
			}
		}
	}
}

// sweepEvery is how many feeds pass between two sweeps of stale groups.
const sweepEvery = 4096

// run sorts feeds by event time (then file, record and reading order) and
// evaluates the correlations over them. It returns one pending finding per
// firing of a correlation that reports on its own, tied to the event that
// completed it.
//
// Each match is fed on its own, so that the tracked windows follow the
// correlator's exactly when one event matches several referenced rules.
// One corner is approximate: when a correlation references both a rule and
// a correlation over that same rule, the events listed for it may include
// the rule's match of the firing event even if the correlator counted it
// after the firing; which firings occur and their counts are the
// correlator's.
func (p *corrPlan) run(feeds []corrFeed) []pending {
	slices.SortStableFunc(feeds, func(a, b corrFeed) int {
		ea, eb := a.ref.Event, b.ref.Event
		if c := ea.Time.Compare(eb.Time); c != 0 {
			return c
		}
		if c := strings.Compare(a.ref.File, b.ref.File); c != 0 {
			return c
		}
		if c := cmp.Compare(ea.RecordID, eb.RecordID); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	c := p.set.NewCorrelator()
	tr := &tracker{groups: map[*rules.Rule]map[string]*corrTrack{}}
	var out []pending
	for i := range feeds {
		f := &feeds[i]
		ev := f.ref.Event
		t := ev.Time
		self := CorrelationEvent{Ref: f.ref, Rule: f.m.Rule}
		for _, cr := range p.refs[f.m.Rule] {
			tr.add(cr, groupKey(cr, f.m.Rule, ev, &f.m), t, []CorrelationEvent{self})
		}
		one := [1]rules.Match{f.m}
		for _, cm := range c.Feed(ev, t, one[:]) {
			evs := tr.take(cm)
			if len(evs) == 0 {
				evs = []CorrelationEvent{self}
			}
			for _, outer := range p.refs[cm.Rule] {
				tr.add(outer, groupKey(outer, cm.Rule, ev, nil), t, evs)
			}
			if p.quiet[cm.Rule] {
				continue
			}
			out = append(out, pending{ref: f.ref, rule: cm.Rule, corr: newHit(cm, evs)})
		}
		if i%sweepEvery == sweepEvery-1 {
			tr.sweep(t)
		}
	}
	return out
}

// newHit describes a firing with its contributing events.
func newHit(cm rules.CorrelationMatch, evs []CorrelationEvent) *CorrelationHit {
	corr := cm.Rule.Correlation
	h := &CorrelationHit{
		Type:     corr.Type,
		Timespan: corr.Timespan,
		GroupBy:  append([]string{}, corr.GroupBy...),
		Group:    append([]string{}, cm.Group...),
		Count:    cm.Count,
		Start:    cm.Start,
		End:      cm.End,
		Total:    len(evs),
		Events:   slices.Clone(evs[max(len(evs)-MaxCorrelationEvents, 0):]),
	}
	// A chained correlation's events can predate the firing of the
	// correlation it chains on, where the correlator starts its window.
	if first := evs[0].Ref.Event.Time; first.Before(h.Start) {
		h.Start = first
	}
	return h
}

// Summary describes a firing on one line, the group first (what tells
// two firings of a rule apart in a narrow column): "User=WS1\bob: 3 in 20s
// (event_count, window 1m0s, 3 events)". The group values are evidence:
// sanitise before showing them.
func (c *CorrelationHit) Summary() string {
	var g []string
	for i, name := range c.GroupBy {
		if i < len(c.Group) {
			g = append(g, name+"="+c.Group[i])
		}
	}
	s := fmt.Sprintf("%d in %s (%s, window %s, %d events)", c.Count, c.End.Sub(c.Start).Round(time.Millisecond), c.Type, c.Timespan, c.Total)
	if len(g) > 0 {
		s = strings.Join(g, ", ") + ": " + s
	}
	return s
}
