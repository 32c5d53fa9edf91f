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
// rules.Correlator sorted by time. A firing names the events that made it
// (rules.CorrelationMatch.Events): the correlator hands back the EventRefs
// it was fed.

// corrPlan is what the hunter needs to know of a rule set's correlations.
type corrPlan struct {
	set *rules.Set
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
	p := &corrPlan{set: set, feed: map[*rules.Rule]bool{}, quiet: map[*rules.Rule]bool{}}
	for _, cr := range corrs {
		for _, r := range cr.Correlation.Rules {
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

// refEvent is an EventRef as the correlator sees it: a rules.Event that
// it hands back among a firing's contributing events.
type refEvent EventRef

func (r *refEvent) Get(name string) (string, bool)                { return r.Event.Get(name) }
func (r *refEvent) Values(name string, dst []string) []string     { return r.Event.Values(name, dst) }
func (r *refEvent) Each(fn func(name, value string) bool)         { r.Event.Each(fn) }
func (r *refEvent) Source() (channel, provider string, id uint32) { return r.Event.Source() }

// run sorts feeds by event time (then file, record and reading order) and
// evaluates the correlations over them, each event's matches together. It
// returns one pending finding per firing of a correlation that reports on
// its own, tied to the event that completed it, with the events the
// correlator names as having made it fire.
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
	c.MaxEvents = MaxCorrelationEvents
	var out []pending
	var ms []rules.Match
	for i := 0; i < len(feeds); {
		ref := feeds[i].ref // an event's matches are adjacent (same seq)
		ms = ms[:0]
		for ; i < len(feeds) && feeds[i].ref == ref; i++ {
			ms = append(ms, feeds[i].m)
		}
		for _, cm := range c.Feed((*refEvent)(ref), ref.Event.Time, ms) {
			if p.quiet[cm.Rule] {
				continue
			}
			out = append(out, pending{ref: ref, rule: cm.Rule, corr: newHit(cm)})
		}
	}
	return out
}

// newHit describes a firing with its contributing events.
func newHit(cm rules.CorrelationMatch) *CorrelationHit {
	corr := cm.Rule.Correlation
	h := &CorrelationHit{
		Type:     corr.Type,
		Timespan: corr.Timespan,
		GroupBy:  append([]string{}, corr.GroupBy...),
		Group:    append([]string{}, cm.Group...),
		Count:    cm.Count,
		Start:    cm.Start,
		End:      cm.End,
		Total:    cm.Total,
	}
	for _, e := range cm.Events {
		if r, ok := e.Event.(*refEvent); ok {
			h.Events = append(h.Events, CorrelationEvent{Ref: (*EventRef)(r), Rule: e.Rule})
		}
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
