package rules

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Correlation is the correlation part of a correlation rule (Sigma
// correlation specification v2).
type Correlation struct {
	Type     string        // event_count, value_count, temporal, temporal_ordered
	Rules    []*Rule       // referenced rules, in the order written
	GroupBy  []string      // fields whose values split the events into groups
	Timespan time.Duration // sliding window
	Field    []string      // value_count: the fields whose distinct values are counted
	Generate bool          // the referenced rules also report on their own
	// Conditions are AND'd: e.g. gte 10 and lt 100.
	Conditions []CountCondition
	// Aliases maps a group-by name to the field it is in each referenced
	// rule's events.
	Aliases map[string]map[*Rule]string
}

// CountCondition is one comparison of a correlation condition.
type CountCondition struct {
	Op    string // gt gte lt lte eq neq
	Value int
}

func (cc CountCondition) holds(n int) bool {
	switch cc.Op {
	case "gt":
		return n > cc.Value
	case "gte":
		return n >= cc.Value
	case "lt":
		return n < cc.Value
	case "lte":
		return n <= cc.Value
	case "eq":
		return n == cc.Value
	case "neq":
		return n != cc.Value
	}
	return false
}

// parseTimespan reads "<int>s|m|h|d|w".
func parseTimespan(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 {
		return 0, fmt.Errorf("bad timespan %q", s)
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n <= 0 || n > 1e6 {
		return 0, fmt.Errorf("bad timespan %q", s)
	}
	unit := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[s[len(s)-1]]
	if unit == 0 {
		return 0, fmt.Errorf("bad timespan unit in %q (s, m, h, d or w)", s)
	}
	return time.Duration(n) * unit, nil
}

// compileCorrelation compiles a correlation block. When a referenced rule
// is not known (yet) it returns its name in missing and no error.
func compileCorrelation(n *yaml.Node, byRef map[string]*Rule) (c *Correlation, missing string, err error) {
	if n.Kind != yaml.MappingNode {
		return nil, "", errAt(n, "correlation must be a map")
	}
	c = &Correlation{}
	c.Type, _ = scalarString(mapGet(n, "type"))
	switch c.Type {
	case "event_count", "value_count", "temporal", "temporal_ordered":
	case "value_sum", "value_avg", "value_percentile":
		return nil, "", errAt(n, "correlation type %s (specification v2.1) is not supported", c.Type)
	default:
		return nil, "", errAt(n, "unknown correlation type %q", c.Type)
	}
	refs, err := stringList(mapGet(n, "rules"))
	if err != nil {
		return nil, "", err
	}
	if len(refs) == 0 {
		return nil, "", errAt(n, "correlation names no rules")
	}
	if (c.Type == "temporal" || c.Type == "temporal_ordered") && len(refs) < 2 {
		return nil, "", errAt(n, "%s correlation needs at least two rules", c.Type)
	}
	for _, ref := range refs {
		r, ok := byRef[ref]
		if !ok {
			return nil, ref, nil
		}
		c.Rules = append(c.Rules, r)
	}
	if c.GroupBy, err = stringList(mapGet(n, "group-by")); err != nil {
		return nil, "", err
	}
	ts, ok := scalarString(mapGet(n, "timespan"))
	if !ok {
		ts, ok = scalarString(mapGet(n, "timeframe"))
	}
	if !ok {
		return nil, "", errAt(n, "correlation has no timespan")
	}
	if c.Timespan, err = parseTimespan(ts); err != nil {
		return nil, "", errAt(n, "%v", err)
	}
	if g := mapGet(n, "generate"); g != nil {
		if err := g.Decode(&c.Generate); err != nil {
			return nil, "", errAt(g, "generate must be true or false")
		}
	}
	if a := mapGet(n, "aliases"); a != nil {
		if a.Kind != yaml.MappingNode {
			return nil, "", errAt(a, "aliases must be a map")
		}
		c.Aliases = map[string]map[*Rule]string{}
		for i := 0; i+1 < len(a.Content); i += 2 {
			name, m := a.Content[i].Value, resolveAlias(a.Content[i+1])
			if m.Kind != yaml.MappingNode {
				return nil, "", errAt(m, "alias %q must map rules to fields", name)
			}
			c.Aliases[name] = map[*Rule]string{}
			for j := 0; j+1 < len(m.Content); j += 2 {
				r, ok := byRef[m.Content[j].Value]
				if !ok {
					return nil, m.Content[j].Value, nil
				}
				c.Aliases[name][r] = m.Content[j+1].Value
			}
		}
	}
	cond := mapGet(n, "condition")
	if cond != nil {
		if cond.Kind != yaml.MappingNode {
			return nil, "", errAt(cond, "correlation condition must be a map")
		}
		for i := 0; i+1 < len(cond.Content); i += 2 {
			k, v := cond.Content[i].Value, resolveAlias(cond.Content[i+1])
			if k == "field" {
				if c.Field, err = stringList(v); err != nil {
					return nil, "", err
				}
				continue
			}
			switch k {
			case "gt", "gte", "lt", "lte", "eq", "neq":
			default:
				return nil, "", errAt(cond.Content[i], "unknown correlation condition %q", k)
			}
			val, err := strconv.Atoi(v.Value)
			if err != nil || val < 0 {
				return nil, "", errAt(v, "correlation condition %s needs a whole number", k)
			}
			c.Conditions = append(c.Conditions, CountCondition{Op: k, Value: val})
		}
	}
	switch c.Type {
	case "event_count", "value_count":
		if len(c.Conditions) == 0 {
			return nil, "", errAt(n, "%s correlation has no condition", c.Type)
		}
		if c.Type == "value_count" && len(c.Field) == 0 {
			return nil, "", errAt(n, "value_count correlation needs condition.field")
		}
	case "temporal", "temporal_ordered":
		if len(c.Conditions) == 0 {
			c.Conditions = []CountCondition{{Op: "gte", Value: len(c.Rules)}}
		}
		if c.Type == "temporal_ordered" && !(len(c.Conditions) == 1 && c.Conditions[0].Op == "gte" && c.Conditions[0].Value == len(c.Rules)) {
			return nil, "", errAt(n, "temporal_ordered supports only the full ordered sequence (gte: %d)", len(c.Rules))
		}
	}
	// A count can only be known to stay under a bound when the window ends;
	// the correlator decides as events arrive, so it needs a lower bound.
	lower := false
	for _, k := range c.Conditions {
		if k.Op == "gt" || k.Op == "gte" || k.Op == "eq" {
			lower = true
		}
	}
	if !lower {
		return nil, "", errAt(n, "correlation condition needs gt, gte or eq: a lone upper bound (lt, lte, neq) can only be decided at the end of a window, which this engine does not do")
	}
	return c, "", nil
}

// CorrelationMatch is one firing of a correlation rule.
type CorrelationMatch struct {
	Rule  *Rule
	Group []string // the group-by values, in GroupBy order
	Count int      // events (event_count), distinct values (value_count) or rules (temporal*)
	// Start and End bound the firing: the earliest contributing event's
	// time (or where the window that fired starts, if that is earlier) and
	// the time of the event that completed it.
	Start time.Time
	End   time.Time
	// Events are the events that made it fire, in time order, the
	// completing one last: those of the group's window from Start (for a
	// chained correlation, the events of the firings it chains on). At
	// most the Correlator's MaxEvents are listed, the latest; Total counts
	// them all. An event two referenced rules match counts once.
	Events []Contribution
	Total  int
}

// Contribution is an event that contributed to a correlation firing: the
// event as fed, the time it was fed with, and the referenced detection rule
// it matched.
type Contribution struct {
	Event Event
	Time  time.Time
	Rule  *Rule
}

// maxWindow bounds the events one group's window keeps.
const maxWindow = 1 << 20

// DefaultMaxEvents is how many contributing events a CorrelationMatch
// lists when the Correlator's MaxEvents is 0.
const DefaultMaxEvents = 1000

// Correlator evaluates correlation rules over a stream of matches. Feed it
// every event's Match results in time order (Set.Match over each event, in
// the order of event time); it emits a CorrelationMatch whenever a
// correlation's condition holds within its sliding window for one group.
// A group's window starts again empty after it fires, so a burst is
// reported once, not once per further event. A Correlator is not safe for
// concurrent use.
type Correlator struct {
	// MaxEvents bounds CorrelationMatch.Events (0: DefaultMaxEvents).
	MaxEvents int

	set    *Set
	groups map[*Rule]map[string]*corrGroup
	feeds  int
}

type corrEvent struct {
	t     time.Time
	value string // value_count
	rule  int    // temporal: index in Correlation.Rules
}

type corrGroup struct {
	vals   []string
	events []corrEvent
	counts map[string]int // value_count: distinct values in the window
	last   []time.Time    // temporal: last time each rule matched
	chain  []time.Time    // temporal_ordered: start of the chain ending at each rule
	seen   time.Time
	// contrib are the events that entered the window, each at the time
	// it entered (an event of a chained firing enters when that fires).
	contrib []contribAt
}

type contribAt struct {
	at time.Time
	c  Contribution
}

// NewCorrelator returns a correlator for the set's correlation rules.
func (s *Set) NewCorrelator() *Correlator {
	return &Correlator{set: s, groups: map[*Rule]map[string]*corrGroup{}}
}

// Feed takes one event, its time and its matches, and returns the
// correlation matches they complete (including chained correlations).
func (c *Correlator) Feed(ev Event, t time.Time, matches []Match) []CorrelationMatch {
	var out []CorrelationMatch
	for i := range matches {
		self := []Contribution{{Event: ev, Time: t, Rule: matches[i].Rule}}
		out = c.feedRule(ev, t, matches[i].Rule, &matches[i], self, out, 0)
	}
	c.feeds++
	if c.feeds%4096 == 0 {
		c.sweep(t)
	}
	return out
}

// feedRule feeds a match of r (m nil for a firing of correlation r, whose
// contributing events are evs) to the correlations that reference r.
func (c *Correlator) feedRule(ev Event, t time.Time, r *Rule, m *Match, evs []Contribution, out []CorrelationMatch, depth int) []CorrelationMatch {
	if depth > 16 {
		return out
	}
	for _, cr := range c.set.corrByRef[r] {
		if cm, all, ok := c.update(cr, ev, t, r, m, evs); ok {
			out = append(out, cm)
			out = c.feedRule(ev, t, cr, nil, all, out, depth+1)
		}
	}
	return out
}

// fieldOf reads a group-by or counted field for the match's rule.
func fieldOf(ev Event, m *Match, corr *Correlation, r *Rule, name string) string {
	if a, ok := corr.Aliases[name]; ok {
		if f, ok := a[r]; ok {
			name = f
		}
	}
	var v string
	if m != nil {
		v, _ = m.Field(ev, name)
	} else {
		v, _ = ev.Get(name)
	}
	return v
}

// update counts a match of r (with its contributing events evs) in
// correlation cr's group; when cr fires it returns the firing and all of
// its contributing events.
func (c *Correlator) update(cr *Rule, ev Event, t time.Time, r *Rule, m *Match, evs []Contribution) (CorrelationMatch, []Contribution, bool) {
	corr := cr.Correlation
	vals := make([]string, len(corr.GroupBy))
	for i, g := range corr.GroupBy {
		vals[i] = fieldOf(ev, m, corr, r, g)
	}
	key := strings.Join(vals, "\x00")
	gm := c.groups[cr]
	if gm == nil {
		gm = map[string]*corrGroup{}
		c.groups[cr] = gm
	}
	g := gm[key]
	if g == nil {
		g = &corrGroup{vals: vals}
		gm[key] = g
	}
	g.seen = t
	from := t.Add(-corr.Timespan)
	g.addContrib(t, from, evs)
	count := 0
	switch corr.Type {
	case "event_count", "value_count":
		ce := corrEvent{t: t}
		if corr.Type == "value_count" {
			parts := make([]string, len(corr.Field))
			for i, f := range corr.Field {
				parts[i] = fieldOf(ev, m, corr, r, f)
			}
			ce.value = strings.Join(parts, "\x00")
			if g.counts == nil {
				g.counts = map[string]int{}
			}
			g.counts[ce.value]++
		}
		g.events = append(g.events, ce)
		drop := 0
		for drop < len(g.events) && (g.events[drop].t.Before(from) || len(g.events)-drop > maxWindow) {
			if corr.Type == "value_count" {
				v := g.events[drop].value
				if g.counts[v]--; g.counts[v] <= 0 {
					delete(g.counts, v)
				}
			}
			drop++
		}
		g.events = append(g.events[:0], g.events[drop:]...)
		count = len(g.events)
		if corr.Type == "value_count" {
			count = len(g.counts)
		}
	case "temporal":
		if g.last == nil {
			g.last = make([]time.Time, len(corr.Rules))
		}
		for i, x := range corr.Rules {
			if x == r {
				g.last[i] = t
			}
		}
		for _, lt := range g.last {
			if !lt.IsZero() && !lt.Before(from) {
				count++
			}
		}
	case "temporal_ordered":
		if g.chain == nil {
			g.chain = make([]time.Time, len(corr.Rules))
		}
		for i := len(corr.Rules) - 1; i >= 0; i-- {
			if corr.Rules[i] != r {
				continue
			}
			if i == 0 {
				g.chain[0] = t
			} else if !g.chain[i-1].IsZero() && !g.chain[i-1].Before(from) {
				g.chain[i] = g.chain[i-1]
			}
		}
		if last := g.chain[len(g.chain)-1]; !last.IsZero() && !last.Before(from) {
			count = len(corr.Rules)
		}
	}
	for _, k := range corr.Conditions {
		if !k.holds(count) {
			return CorrelationMatch{}, nil, false
		}
	}
	start := t
	switch {
	case len(g.events) > 0:
		start = g.events[0].t
	case g.chain != nil:
		start = g.chain[len(g.chain)-1]
	case g.last != nil:
		for _, lt := range g.last {
			if !lt.IsZero() && lt.Before(start) {
				start = lt
			}
		}
	}
	delete(gm, key) // the window starts again empty
	all := g.firing(start)
	// A chained correlation's events can predate the firing it chains on,
	// where its window starts.
	if len(all) > 0 && all[0].Time.Before(start) {
		start = all[0].Time
	}
	limit := c.MaxEvents
	if limit <= 0 {
		limit = DefaultMaxEvents
	}
	listed := slices.Clone(all[max(len(all)-limit, 0):])
	return CorrelationMatch{Rule: cr, Group: vals, Count: count, Start: start, End: t, Events: listed, Total: len(all)}, all, true
}

// addContrib puts events into the group's window at time t and drops
// those the window (from on, and at most maxWindow) has left behind.
func (g *corrGroup) addContrib(t, from time.Time, evs []Contribution) {
	for _, e := range evs {
		g.contrib = append(g.contrib, contribAt{at: t, c: e})
	}
	drop := 0
	for drop < len(g.contrib) && (g.contrib[drop].at.Before(from) || len(g.contrib)-drop > maxWindow) {
		drop++
	}
	if drop > 0 {
		g.contrib = append(g.contrib[:0], g.contrib[drop:]...)
	}
}

// firing returns the distinct events in the window from start, in the
// order of their times (the first contribution of an event kept).
func (g *corrGroup) firing(start time.Time) []Contribution {
	out := make([]Contribution, 0, len(g.contrib))
	var seen map[Event]bool
	for _, e := range g.contrib {
		if e.at.Before(start) {
			continue
		}
		if ev := e.c.Event; ev != nil && reflect.TypeOf(ev).Comparable() {
			if seen[ev] {
				continue
			}
			if seen == nil {
				seen = make(map[Event]bool, len(g.contrib))
			}
			seen[ev] = true
		}
		out = append(out, e.c)
	}
	slices.SortStableFunc(out, func(a, b Contribution) int { return a.Time.Compare(b.Time) })
	return out
}

// sweep forgets groups not seen within their window.
func (c *Correlator) sweep(now time.Time) {
	for cr, gm := range c.groups {
		from := now.Add(-cr.Correlation.Timespan)
		for k, g := range gm {
			if g.seen.Before(from) {
				delete(gm, k)
			}
		}
	}
}

// Correlations returns the set's correlation rules.
func (s *Set) Correlations() []*Rule {
	var out []*Rule
	for _, r := range s.rules {
		if r.Correlation != nil {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].index < out[j].index })
	return out
}
