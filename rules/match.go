package rules

import (
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// Match is one rule matching one event.
type Match struct {
	Rule *Rule
	// Details says why: each matched selection's field, modifier and value.
	Details []MatchDetail
	// Suppressed names the filter identifiers that hide this match in the
	// rule as written; empty for a match the rule reports as written.
	Suppressed []string

	entry *logsourceEntry // which logsource entry (field renames) applied
}

// Field returns the value of a rule field (Sigma taxonomy name, such as
// Image) in ev, following the field renames of the logsource the match
// was made under (Image is NewProcessName in a Security 4688 event).
func (m *Match) Field(ev Event, name string) (string, bool) {
	if m.entry != nil {
		if phys, ok := m.entry.FieldMappings[name]; ok {
			name = phys
		}
	}
	return ev.Get(name)
}

// evalCtx is the per-event scratch space: every field a rule reads is
// fetched from the event once and lower-cased once, whatever the number of
// rules that read it.
type evalCtx struct {
	set   *Set
	ev    Event
	gen   uint32
	stamp []uint32
	raw   []string
	low   []string
	flags []uint8
	remap []int32
	// more holds a field's values after the first (a field the event
	// repeats, or a logsource's value aliases), moreLow them lower-cased;
	// both are used only when the field's flags have fMulti.
	more    [][]string
	moreLow [][]string
	vbuf    []string // scratch for Event.Values

	spacedOK bool              // spaced is computed for this event
	spaced   map[string]string // fields whose names hold spaces, by name without them
	memo     []int8            // per identifier: 0 unknown, 1 false, 2 true
	cand     []uint64          // bucket positions the gate lets through

	// the identifier evaluator for evalNode, bound once (no closure per rule)
	identFn  func(int) bool
	curCR    *compiledRule
	curNames []string
	curOff   func(string) bool
	kwLoaded bool
	kwRaw    []string
	kwLow    []string
}

const (
	fPresent uint8 = 1 << iota
	fLowered
	fMulti       // the field has more than one value (evalCtx.more)
	fMoreLowered // evalCtx.moreLow is filled
)

func newEvalCtx(s *Set) any {
	n := len(s.fields)
	c := &evalCtx{set: s, stamp: make([]uint32, n), raw: make([]string, n), low: make([]string, n), flags: make([]uint8, n),
		more: make([][]string, n), moreLow: make([][]string, n)}
	c.identFn = c.ident
	return c
}

func (c *evalCtx) reset(ev Event) {
	c.ev = ev
	c.gen++
	if c.gen == 0 { // wrapped: clear stamps so no old value looks current
		clear(c.stamp)
		c.gen = 1
	}
	c.kwLoaded = false
	c.spacedOK = false
	clear(c.spaced)
	c.kwRaw = c.kwRaw[:0]
	c.kwLow = c.kwLow[:0]
	c.remap = nil
}

// load fetches field fid (a logical id, renamed under c.remap) and returns
// its physical id.
func (c *evalCtx) load(fid int) int {
	if c.remap != nil {
		fid = int(c.remap[fid])
	}
	if c.stamp[fid] != c.gen {
		name := c.set.fields[fid]
		al := c.set.aliased[fid]
		if al != nil {
			name = al.phys
		}
		vals := c.ev.Values(name, c.vbuf[:0])
		if al != nil {
			vals = al.add(vals)
		}
		c.vbuf = vals[:0]
		var v string
		ok := len(vals) > 0
		if ok {
			v = vals[0]
		} else {
			v, ok = c.spacedField(name)
		}
		c.raw[fid] = v
		c.flags[fid] = 0
		if ok {
			c.flags[fid] = fPresent
		}
		if len(vals) > 1 {
			c.more[fid] = append(c.more[fid][:0], vals[1:]...)
			c.flags[fid] |= fMulti
		}
		c.stamp[fid] = c.gen
	}
	return fid
}

// lowMore returns field p's values after the first, lower-cased (nil for
// a field with one value).
func (c *evalCtx) lowMore(p int) []string {
	if c.flags[p]&fMulti == 0 {
		return nil
	}
	if c.flags[p]&fMoreLowered == 0 {
		c.moreLow[p] = c.moreLow[p][:0]
		for _, v := range c.more[p] {
			c.moreLow[p] = append(c.moreLow[p], strings.ToLower(v))
		}
		c.flags[p] |= fMoreLowered
	}
	return c.moreLow[p]
}

// spacedField finds a field whose name in the log has spaces ("Threat
// Name") under its name without them (ThreatName), as the Sigma
// specification names such fields.
func (c *evalCtx) spacedField(name string) (string, bool) {
	if !c.spacedOK {
		c.spacedOK = true
		c.ev.Each(func(n, v string) bool {
			if strings.IndexByte(n, ' ') >= 0 {
				if c.spaced == nil {
					c.spaced = map[string]string{}
				}
				c.spaced[strings.ReplaceAll(n, " ", "")] = v
			}
			return true
		})
	}
	v, ok := c.spaced[name]
	return v, ok
}

func (c *evalCtx) lowered(p int) string {
	if c.flags[p]&fLowered == 0 {
		c.low[p] = strings.ToLower(c.raw[p])
		c.flags[p] |= fLowered
	}
	return c.low[p]
}

func (c *evalCtx) keywords() {
	if c.kwLoaded {
		return
	}
	c.kwLoaded = true
	c.ev.Each(func(_, v string) bool {
		c.kwRaw = append(c.kwRaw, v)
		c.kwLow = append(c.kwLow, strings.ToLower(v))
		return true
	})
}

// matchValue tests one compiled matcher against a field value.
func (c *evalCtx) matchValue(m *matcher, raw, low string, present bool) bool {
	switch m.kind {
	case mNull:
		return !present || raw == ""
	case mExists:
		return present == m.exists
	}
	if !present {
		return false
	}
	switch m.kind {
	case mStr:
		if m.pat.cased {
			return m.pat.match(raw)
		}
		return m.pat.match(low)
	case mRegex:
		return m.re.MatchString(raw)
	case mCIDR:
		a, err := netip.ParseAddr(strings.TrimSpace(raw))
		if err != nil {
			return false
		}
		return m.pfx.Contains(a.Unmap()) || m.pfx.Contains(a)
	case mNum:
		f, ok := parseNumber(raw)
		if !ok {
			return false
		}
		switch m.cmp {
		case "lt":
			return f < m.num
		case "lte":
			return f <= m.num
		case "gt":
			return f > m.num
		case "gte":
			return f >= m.num
		}
	case mRef:
		p := c.load(m.ref)
		if c.flags[p]&fPresent == 0 {
			return false
		}
		// raw/low belong to the referring field; compare with the other.
		other := c.raw[p]
		val := raw
		if !m.pat.cased {
			other, val = c.lowered(p), low
		}
		switch m.refPos {
		case sPrefix:
			return strings.HasPrefix(val, other)
		case sSuffix:
			return strings.HasSuffix(val, other)
		case sContains:
			return strings.Contains(val, other)
		}
		return val == other
	}
	return false
}

func parseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f, true
	}
	if i, err := strconv.ParseInt(s, 0, 64); err == nil {
		return float64(i), true
	}
	if u, err := strconv.ParseUint(s, 0, 64); err == nil {
		return float64(u), true
	}
	return 0, false
}

// matchGroup reports whether any of g's matchers accepts the value.
func (c *evalCtx) matchGroup(g *valGroup, raw, low string, present bool) bool {
	for i := range g.ms {
		if c.matchValue(&g.ms[i], raw, low, present) {
			return true
		}
	}
	return false
}

// fieldHolds reports whether g accepts any value of field p (a field with
// several values holds when one of them does).
func (c *evalCtx) fieldHolds(p int, g *valGroup) bool {
	present := c.flags[p]&fPresent != 0
	low := ""
	if present {
		low = c.lowered(p)
	}
	if c.matchGroup(g, c.raw[p], low, present) {
		return true
	}
	if c.flags[p]&fMulti != 0 {
		lows := c.lowMore(p)
		for i, v := range c.more[p] {
			if c.matchGroup(g, v, lows[i], true) {
				return true
			}
		}
	}
	return false
}

// matchItem evaluates one field item; when det is non-nil it appends the
// groups that matched.
func (c *evalCtx) matchItem(it *fieldItem, sel string, det *[]MatchDetail) bool {
	if it.field == "" {
		return c.matchKeywords(it, sel, det)
	}
	p := c.load(it.fid)
	present := c.flags[p]&fPresent != 0
	add := func(g *valGroup) {
		if det != nil {
			*det = append(*det, MatchDetail{Selection: sel, Field: it.field, Modifier: it.mods, Value: g.raw})
		}
	}
	switch {
	case it.neq:
		if !present {
			return false
		}
		for i := range it.vals {
			if c.fieldHolds(p, &it.vals[i]) {
				return false
			}
		}
		if det != nil {
			vals := make([]string, len(it.vals))
			for i := range it.vals {
				vals[i] = it.vals[i].raw
			}
			*det = append(*det, MatchDetail{Selection: sel, Field: it.field, Modifier: it.mods, Value: strings.Join(vals, ", ")})
		}
		return true
	case it.all:
		for i := range it.vals {
			if !c.fieldHolds(p, &it.vals[i]) {
				return false
			}
		}
		for i := range it.vals {
			add(&it.vals[i])
		}
		return true
	default:
		for i := range it.vals {
			if c.fieldHolds(p, &it.vals[i]) {
				add(&it.vals[i])
				return true
			}
		}
		return false
	}
}

// matchKeywords searches every value of the event.
func (c *evalCtx) matchKeywords(it *fieldItem, sel string, det *[]MatchDetail) bool {
	c.keywords()
	groupHit := func(g *valGroup) bool {
		for j := range c.kwRaw {
			if c.matchGroup(g, c.kwRaw[j], c.kwLow[j], true) {
				return true
			}
		}
		return false
	}
	add := func(g *valGroup) {
		if det != nil {
			*det = append(*det, MatchDetail{Selection: sel, Modifier: it.mods, Value: g.raw})
		}
	}
	if it.all {
		for i := range it.vals {
			if !groupHit(&it.vals[i]) {
				return false
			}
		}
		for i := range it.vals {
			add(&it.vals[i])
		}
		return true
	}
	for i := range it.vals {
		if groupHit(&it.vals[i]) {
			add(&it.vals[i])
			return true
		}
	}
	return false
}

// evalSearch evaluates a detection identifier.
func (c *evalCtx) evalSearch(s *search, det *[]MatchDetail) bool {
	for _, alt := range s.alts {
		ok := true
		for _, it := range alt {
			if !c.matchItem(it, s.name, nil) {
				ok = false
				break
			}
		}
		if ok {
			if det != nil {
				for _, it := range alt {
					c.matchItem(it, s.name, det)
				}
			}
			return true
		}
	}
	return false
}

// evalCompiled evaluates a detection's conditions; off switches
// identifiers off (they evaluate false). It uses c.memo.
func (c *evalCtx) evalCompiled(cr *compiledRule, names []string, off func(string) bool) bool {
	if cap(c.memo) < len(cr.searches) {
		c.memo = make([]int8, len(cr.searches))
	}
	c.memo = c.memo[:len(cr.searches)]
	clear(c.memo)
	c.curCR, c.curNames, c.curOff = cr, names, off
	for _, cond := range cr.conds {
		if evalNode(cond, c.identFn) {
			return true
		}
	}
	return false
}

// ident evaluates identifier i of the detection set up by evalCompiled,
// memoised per evaluation.
func (c *evalCtx) ident(i int) bool {
	if c.memo[i] == 0 {
		v := !(c.curOff != nil && c.curOff(c.curNames[i])) && c.evalSearch(c.curCR.searches[i], nil)
		c.memo[i] = 1
		if v {
			c.memo[i] = 2
		}
	}
	return c.memo[i] == 2
}

// evalRule evaluates a rule (with its attached filter documents).
func (c *evalCtx) evalRule(r *Rule, off func(string) bool) bool {
	cr := r.compiled
	if !c.evalCompiled(cr, r.idents, off) {
		return false
	}
	for _, f := range cr.filters {
		if off != nil && off(f.ident) {
			continue
		}
		names := make([]string, len(f.cr.searches))
		for i, s := range f.cr.searches {
			names[i] = s.name
		}
		if !c.evalCompiled(f.cr, names, nil) {
			return false
		}
	}
	return true
}

// explain lists the details of a rule known to match.
func (c *evalCtx) explain(r *Rule, off func(string) bool) []MatchDetail {
	cr := r.compiled
	c.evalCompiled(cr, r.idents, off)
	ident := c.identFn
	var det []MatchDetail
	seen := map[int]bool{}
	for _, cond := range cr.conds {
		if !evalNode(cond, ident) {
			continue
		}
		positive(cond, ident, false, func(i int) {
			if !seen[i] {
				seen[i] = true
				c.evalSearch(cr.searches[i], &det)
			}
		})
		break
	}
	return det
}

// entryApplies reports whether a logsource entry covers the event.
func (c *evalCtx) entryApplies(e *logsourceEntry, channel string, eventID uint32) bool {
	ok := false
	for _, ch := range e.Channels {
		if ch == AnyChannel || strings.EqualFold(ch, channel) {
			ok = true
			break
		}
	}
	if !ok {
		return false
	}
	if len(e.EventIDs) > 0 {
		ok = false
		for _, id := range e.EventIDs {
			if id == eventID {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return c.conditionsHold(e)
}

func (c *evalCtx) conditionsHold(e *logsourceEntry) bool {
	for k, v := range e.Conditions {
		got, ok := c.ev.Get(k)
		if !ok || !strings.EqualFold(got, v) {
			return false
		}
	}
	return true
}

func (s *Set) remapFor(e *logsourceEntry) []int32 { return e.remap }

// buildIndex indexes rules by channel and event ID and prepares each
// logsource entry's field renames and value aliases.
func (s *Set) buildIndex() {
	// Intern renamed fields first so remap tables cover every id. A field
	// with value aliases under an entry gets an id of its own for that
	// entry (its values there are the event's plus their aliases).
	aliased := map[int]*aliasedField{}
	virtual := make([]map[string]int, len(s.table))
	for i := range s.table {
		e := &s.table[i]
		for _, phys := range e.FieldMappings {
			s.intern(phys)
		}
		for logical, m := range e.ValueAliases {
			if _, used := s.fieldIdx[logical]; !used || len(m) == 0 {
				continue // no rule reads it
			}
			phys := logical
			if p, ok := e.FieldMappings[logical]; ok {
				phys = p
			}
			al := &aliasedField{phys: phys}
			for from, to := range m {
				al.aliases = append(al.aliases, [2]string{from, to})
			}
			sort.Slice(al.aliases, func(a, b int) bool { return al.aliases[a][0] < al.aliases[b][0] })
			id := s.intern(phys + "\x00" + e.Name) // a key only: load reads al.phys
			aliased[id] = al
			if virtual[i] == nil {
				virtual[i] = map[string]int{}
			}
			virtual[i][logical] = id
		}
	}
	s.aliased = make([]*aliasedField, len(s.fields))
	for id, al := range aliased {
		s.aliased[id] = al
	}
	for i := range s.table {
		e := &s.table[i]
		if len(e.FieldMappings) == 0 && virtual[i] == nil {
			continue
		}
		e.remap = make([]int32, len(s.fields))
		for j := range e.remap {
			e.remap[j] = int32(j)
		}
		for logical, phys := range e.FieldMappings {
			if id, ok := s.fieldIdx[logical]; ok {
				e.remap[id] = int32(s.fieldIdx[phys])
			}
		}
		for logical, vid := range virtual[i] {
			e.remap[s.fieldIdx[logical]] = int32(vid)
		}
	}
	// Rules by channel and event ID, by channel (every event ID), and for
	// every channel (an entry whose channels are "*": product-only rules),
	// by event ID or for every event.
	exact := map[srcKey][]ruleRef{}
	wild := map[string][]ruleRef{}
	anyExact := map[uint32][]ruleRef{}
	var anyWild []ruleRef
	for _, r := range s.rules {
		if r.compiled == nil {
			continue
		}
		for _, e := range r.compiled.sources {
			for _, ch := range e.Channels {
				ref := ruleRef{r, e}
				if ch == AnyChannel {
					if len(e.EventIDs) == 0 {
						anyWild = appendRef(anyWild, ref)
					}
					for _, id := range e.EventIDs {
						anyExact[id] = appendRef(anyExact[id], ref)
					}
					continue
				}
				lc := strings.ToLower(ch)
				if len(e.EventIDs) == 0 {
					wild[lc] = appendRef(wild[lc], ref)
					continue
				}
				for _, id := range e.EventIDs {
					k := srcKey{lc, id}
					exact[k] = appendRef(exact[k], ref)
				}
			}
		}
	}
	// A channel's every-event rules meet its events of an ID that only
	// every-channel rules name: give that pair a bucket of its own.
	for ch := range wild {
		for id := range anyExact {
			if k := (srcKey{ch, id}); exact[k] == nil {
				exact[k] = []ruleRef{}
			}
		}
	}
	// A bucket carries every rule an event of its kind can meet, so that a
	// lookup needs one bucket: an exact bucket also its channel's
	// every-event rules and the every-channel rules of its ID.
	merge := func(lists ...[]ruleRef) *bucket {
		var refs []ruleRef
		for _, l := range lists {
			for _, r := range l {
				refs = appendRef(refs, r)
			}
		}
		sort.SliceStable(refs, func(i, j int) bool { return refs[i].rule.index < refs[j].rule.index })
		return &bucket{refs: refs, gate: buildGate(refs)}
	}
	s.exact = map[srcKey]*bucket{}
	for k, refs := range exact {
		s.exact[k] = merge(refs, wild[k.channel], anyExact[k.eventID], anyWild)
	}
	s.wild = map[string]*bucket{}
	for ch, refs := range wild {
		s.wild[ch] = merge(refs, anyWild)
	}
	s.anyExact = map[uint32]*bucket{}
	for id, refs := range anyExact {
		s.anyExact[id] = merge(refs, anyWild)
	}
	s.anyWild = nil
	if len(anyWild) > 0 {
		s.anyWild = merge(anyWild)
	}
}

// appendRef adds ref unless the same rule under the same entry is already
// there. (One rule can sit twice in a bucket under entries that differ in
// their conditions, as registry_delete's DeleteKey and DeleteValue.)
func appendRef(refs []ruleRef, ref ruleRef) []ruleRef {
	for _, x := range refs {
		if x == ref {
			return refs
		}
	}
	return append(refs, ref)
}

// lookup returns the rules that can apply to an event from channel/eventID.
func (s *Set) lookup(channel string, eventID uint32) *bucket {
	lc := channel
	for i := 0; i < len(lc); i++ {
		if c := lc[i]; 'A' <= c && c <= 'Z' || c >= 0x80 {
			lc = strings.ToLower(channel)
			break
		}
	}
	if b, ok := s.exact[srcKey{lc, eventID}]; ok {
		return b
	}
	if b, ok := s.wild[lc]; ok {
		return b
	}
	if b, ok := s.anyExact[eventID]; ok {
		return b
	}
	return s.anyWild
}

func (s *Set) getCtx(ev Event) *evalCtx {
	c := s.pool.Get().(*evalCtx)
	c.reset(ev)
	return c
}

func (s *Set) putCtx(c *evalCtx) {
	c.ev = nil
	s.pool.Put(c)
}

// Match appends to dst the rules that match ev as written, in rule order.
// Correlation rules never appear; rules only a correlation uses do (see
// Rule.CorrelationOnly).
func (s *Set) Match(ev Event, dst []Match) []Match {
	return s.match(ev, dst, false)
}

// Candidates is Match plus the matches that only a rule's filter
// identifiers (names starting "filter", and attached filter documents)
// prevent; for those, Suppressed names the filter identifiers that matched.
func (s *Set) Candidates(ev Event, dst []Match) []Match {
	return s.match(ev, dst, true)
}

func (s *Set) match(ev Event, dst []Match, candidates bool) []Match {
	channel, _, eventID := ev.Source()
	b := s.lookup(channel, eventID)
	if b == nil || len(b.refs) == 0 {
		return dst
	}
	c := s.getCtx(ev)
	defer s.putCtx(c)
	words := (len(b.refs) + 63) / 64
	if cap(c.cand) < words {
		c.cand = make([]uint64, words)
	}
	bits := c.cand[:words]
	clear(bits)
	b.gate.mark(c, bits)
	var done *Rule // refs of one rule are adjacent; report a rule once
	for p, ref := range b.refs {
		if bits[p>>6]&(1<<(uint(p)&63)) == 0 || ref.rule == done {
			continue
		}
		if len(ref.entry.Conditions) > 0 && !c.conditionsHold(ref.entry) {
			continue
		}
		done = ref.rule
		c.remap = s.remapFor(ref.entry)
		r := ref.rule
		if c.evalRule(r, nil) {
			dst = append(dst, Match{Rule: r, Details: c.explain(r, nil), entry: ref.entry})
			continue
		}
		if !candidates || !r.hasFilters() {
			continue
		}
		if !c.evalRule(r, isFilterIdent) {
			continue
		}
		m := Match{Rule: r, Details: c.explain(r, isFilterIdent), entry: ref.entry}
		m.Suppressed = c.suppressedBy(r)
		dst = append(dst, m)
	}
	return dst
}

func (r *Rule) hasFilters() bool {
	if r.compiled == nil {
		return false
	}
	if len(r.compiled.filters) > 0 {
		return true
	}
	for _, id := range r.idents {
		if isFilterIdent(id) {
			return true
		}
	}
	return false
}

// suppressedBy lists the filter identifiers that hold for the event.
func (c *evalCtx) suppressedBy(r *Rule) []string {
	var out []string
	for i, s := range r.compiled.searches {
		if isFilterIdent(s.name) && c.evalSearch(s, nil) {
			out = append(out, r.idents[i])
		}
	}
	for _, f := range r.compiled.filters {
		names := make([]string, len(f.cr.searches))
		for i, s := range f.cr.searches {
			names[i] = s.name
		}
		if !c.evalCompiled(f.cr, names, nil) {
			out = append(out, f.ident)
		}
	}
	return out
}

// Candidate evaluates the rule alone on ev as Set.Candidates does: a match
// as written, or a match that only the rule's filter identifiers prevent
// (Suppressed names them). It reports false for an event the rule's
// logsource does not cover, and for correlation rules.
func (r *Rule) Candidate(ev Event) (m Match, ok bool) {
	r.onEvent(ev, func(c *evalCtx, e *logsourceEntry) {
		switch {
		case c.evalRule(r, nil):
			m, ok = Match{Rule: r, Details: c.explain(r, nil), entry: e}, true
		case r.hasFilters() && c.evalRule(r, isFilterIdent):
			m, ok = Match{Rule: r, Details: c.explain(r, isFilterIdent), Suppressed: c.suppressedBy(r), entry: e}, true
		}
	})
	return m, ok
}

// onEvent calls fn with an evaluation context for ev set up under the
// first of the rule's logsource entries that covers ev (none for an event
// outside them, or a correlation rule).
func (r *Rule) onEvent(ev Event, fn func(c *evalCtx, e *logsourceEntry)) {
	cr := r.compiled
	if cr == nil || cr.set == nil {
		return
	}
	s := cr.set
	c := s.getCtx(ev)
	defer s.putCtx(c)
	channel, _, eventID := ev.Source()
	for _, e := range cr.sources {
		if c.entryApplies(e, channel, eventID) {
			c.remap = s.remapFor(e)
			fn(c, e)
			return
		}
	}
}

// Fields returns the event fields the rule's detection reads (its
// selections' fields and fieldref targets, attached filter documents
// included), sorted and distinct: nil for a correlation rule or a rule of
// keywords only.
func (r *Rule) Fields() []string {
	cr := r.compiled
	if cr == nil || cr.set == nil {
		return nil
	}
	seen := map[string]bool{}
	add := func(c *compiledRule) {
		for _, s := range c.searches {
			for _, alt := range s.alts {
				for _, it := range alt {
					if it.field != "" {
						seen[it.field] = true
					}
					for _, g := range it.vals {
						for _, m := range g.ms {
							if m.kind == mRef {
								seen[cr.set.fields[m.ref]] = true
							}
						}
					}
				}
			}
		}
	}
	add(cr)
	for _, f := range cr.filters {
		add(f.cr)
	}
	out := make([]string, 0, len(seen))
	for f := range seen {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// Eval evaluates the rule on ev with the identifiers for which off returns
// true switched off (they evaluate false; an attached filter document
// switched off is not applied). It returns false for an event the rule's
// logsource does not cover, and for correlation rules.
func (r *Rule) Eval(ev Event, off func(ident string) bool) (ok bool, details []MatchDetail) {
	r.onEvent(ev, func(c *evalCtx, _ *logsourceEntry) {
		if c.evalRule(r, off) {
			ok, details = true, c.explain(r, off)
		}
	})
	return ok, details
}
