package rules

import (
	"regexp/syntax"
	"sort"
	"strings"
)

// The gate is a prefilter: for each rule, a set of string tests on single
// fields such that the rule can only match when one of them holds (a
// necessary condition, derived from the parts of the condition that are
// not under a "not"). Each bucket of the index keeps its rules' gate tests
// in lookup tables (exact value, 4-byte prefix, 4-byte suffix, 4-byte
// n-grams for contains), so an event looks up each field value once
// instead of running thousands of rules. Rules whose condition yields no
// usable test are always evaluated. Because the gate is only necessary,
// every rule it lets through is still evaluated in full.

// anyField stands for "any value of the event" (keyword searches).
const anyField = -1

// regexLiterals returns lower-cased literals one of which appears in any
// string the regular expression matches, when it can tell.
func regexLiterals(src string) ([]string, bool) {
	re, err := syntax.Parse(src, syntax.Perl)
	if err != nil {
		return nil, false
	}
	return reLits(re.Simplify(), 0)
}

func reLits(re *syntax.Regexp, depth int) ([]string, bool) {
	if depth > 20 {
		return nil, false
	}
	switch re.Op {
	case syntax.OpLiteral:
		lit := string(re.Rune)
		if re.Flags&syntax.FoldCase != 0 {
			// Case folding also matches forms strings.ToLower keeps
			// apart (ſ for s, K for k): keep the longest ASCII piece
			// free of those letters.
			best := ""
			for _, piece := range strings.FieldsFunc(lit, func(r rune) bool {
				return r >= 0x80 || r == 's' || r == 'S' || r == 'k' || r == 'K'
			}) {
				if len(piece) > len(best) {
					best = piece
				}
			}
			lit = best
		}
		if len(lit) < 3 {
			return nil, false
		}
		return []string{strings.ToLower(lit)}, true
	case syntax.OpCapture:
		return reLits(re.Sub[0], depth+1)
	case syntax.OpPlus:
		return reLits(re.Sub[0], depth+1)
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return reLits(re.Sub[0], depth+1)
		}
	case syntax.OpConcat:
		// Any one part that must match gives a necessary literal: take the
		// one with the shortest literal longest.
		var best []string
		score := func(l []string) int {
			m := -1
			for _, x := range l {
				if m < 0 || len(x) < m {
					m = len(x)
				}
			}
			return m
		}
		for _, sub := range re.Sub {
			if l, ok := reLits(sub, depth+1); ok && (best == nil || score(l) > score(best)) {
				best = l
			}
		}
		return best, best != nil
	case syntax.OpAlternate:
		var out []string
		for _, sub := range re.Sub {
			l, ok := reLits(sub, depth+1)
			if !ok {
				return nil, false
			}
			out = append(out, l...)
		}
		return out, true
	}
	return nil, false
}

// gateAtom is one necessary test: the lower-cased literal lit appears in
// field fid in the way kind says.
type gateAtom struct {
	fid  int
	kind strKind // sExact, sPrefix, sSuffix or sContains
	lit  string
}

// gateScore rates how selective a set of atoms is (higher is better): the
// shortest literal, with a bonus for anchored tests.
func gateScore(atoms []gateAtom) int {
	best := -1
	for _, a := range atoms {
		s := len(a.lit)
		if s > 12 {
			s = 12
		}
		if a.kind != sContains {
			s += 2
		}
		if best < 0 || s < best {
			best = s
		}
	}
	return best
}

// patternAtom derives a necessary test from a compiled pattern.
func patternAtom(fid int, p *strPattern) (gateAtom, bool) {
	switch p.kind {
	case sExact, sPrefix, sSuffix, sContains:
		return gateAtom{fid: fid, kind: p.kind, lit: strings.ToLower(p.lit)}, true
	case sGlob:
		// Every literal run of a glob must appear in the value: use the
		// longest one as a contains test.
		lit := ""
		for _, t := range p.toks {
			if t.kind == tLit && len(t.lit) > len(lit) {
				lit = t.lit
			}
		}
		if lit == "" {
			return gateAtom{}, false
		}
		return gateAtom{fid: fid, kind: sContains, lit: strings.ToLower(lit)}, true
	}
	return gateAtom{}, false
}

// itemAtoms returns the tests one of which holds whenever the item does.
func itemAtoms(it *fieldItem) ([]gateAtom, bool) {
	if it.neq {
		return nil, false
	}
	fid := it.fid
	if it.field == "" {
		fid = anyField // keywords: the literal is in some value of the event
	}
	groupAtoms := func(g *valGroup) ([]gateAtom, bool) {
		var out []gateAtom
		for i := range g.ms {
			m := &g.ms[i]
			var a []gateAtom
			switch m.kind {
			case mStr:
				at, ok := patternAtom(fid, &m.pat)
				if !ok {
					return nil, false
				}
				a = []gateAtom{at}
			case mRegex:
				lits, ok := regexLiterals(m.re.String())
				if !ok {
					return nil, false
				}
				for _, l := range lits {
					a = append(a, gateAtom{fid: fid, kind: sContains, lit: l})
				}
			default:
				return nil, false
			}
			out = append(out, a...)
		}
		return out, len(out) > 0
	}
	if it.all {
		// Every group must hold, so any one group's tests are necessary.
		var best []gateAtom
		for i := range it.vals {
			if a, ok := groupAtoms(&it.vals[i]); ok && (best == nil || gateScore(a) > gateScore(best)) {
				best = a
			}
		}
		return best, best != nil
	}
	var out []gateAtom
	for i := range it.vals {
		a, ok := groupAtoms(&it.vals[i])
		if !ok {
			return nil, false
		}
		out = append(out, a...)
	}
	return out, len(out) > 0
}

// searchAtoms: an identifier holds when one of its alternatives does, and
// an alternative only when each of its items does; take the most selective
// item of each alternative.
func searchAtoms(s *search) ([]gateAtom, bool) {
	var out []gateAtom
	for _, alt := range s.alts {
		var best []gateAtom
		for _, it := range alt {
			if a, ok := itemAtoms(it); ok && (best == nil || gateScore(a) > gateScore(best)) {
				best = a
			}
		}
		if best == nil {
			return nil, false
		}
		out = append(out, best...)
	}
	return out, len(out) > 0
}

// nodeAtoms derives the gate of a condition node.
func nodeAtoms(cr *compiledRule, n *node) ([]gateAtom, bool) {
	switch n.op {
	case nIdent:
		return searchAtoms(cr.searches[n.ident])
	case nAnd:
		a, okA := nodeAtoms(cr, n.kids[0])
		b, okB := nodeAtoms(cr, n.kids[1])
		switch {
		case okA && okB:
			if gateScore(b) > gateScore(a) {
				return b, true
			}
			return a, true
		case okA:
			return a, true
		case okB:
			return b, true
		}
		return nil, false
	case nOr:
		a, okA := nodeAtoms(cr, n.kids[0])
		b, okB := nodeAtoms(cr, n.kids[1])
		if okA && okB {
			return append(append([]gateAtom(nil), a...), b...), true
		}
		return nil, false
	case nOneOf:
		var out []gateAtom
		for _, i := range n.idents {
			a, ok := searchAtoms(cr.searches[i])
			if !ok {
				return nil, false
			}
			out = append(out, a...)
		}
		return out, true
	case nAllOf:
		var best []gateAtom
		for _, i := range n.idents {
			if a, ok := searchAtoms(cr.searches[i]); ok && (best == nil || gateScore(a) > gateScore(best)) {
				best = a
			}
		}
		return best, best != nil
	}
	return nil, false // not: no necessary positive test
}

// ruleAtoms derives a rule's gate (conditions in a list are OR'd).
func ruleAtoms(cr *compiledRule) ([]gateAtom, bool) {
	var out []gateAtom
	for _, c := range cr.conds {
		a, ok := nodeAtoms(cr, c)
		if !ok {
			return nil, false
		}
		out = append(out, a...)
	}
	return out, len(out) > 0
}

// gateIndex is a bucket's prefilter.
type gateIndex struct {
	always []int32 // positions in the bucket evaluated for every event
	fields []*fieldGate
}

// shortLit is a contains literal too short for the n-gram tables.
type shortLit struct {
	lit string
	pos int32
}

// anchorKey is the longest prefix or suffix an anchored table keys on.
const anchorKey = 16

// fieldGate holds one (physical) field's tests.
type fieldGate struct {
	fid   int
	exact map[string][]int32
	// prefix[k] and suffix[k] key literals by their first/last k bytes
	// (k = min(len, anchorKey)); an event value is looked up once per k.
	prefix map[int]map[string][]int32
	suffix map[int]map[string][]int32
	grams  map[uint32][]int32 // contains literals of 4 to 7 bytes, by a 4-gram
	grams8 map[uint64][]int32 // contains literals of 8 bytes or more, by an 8-gram
	short  []shortLit         // contains literals under 4 bytes

	prefixLens, suffixLens []int

	// gramBits has a bit set for the hash of every key of grams and
	// grams8, so most positions of a value skip the map lookups.
	gramBits *[1024]uint64
}

func h16(x uint64) uint32 { return uint32((x * 0x9E3779B97F4A7C15) >> 48) }

func sortedLens(m map[int]map[string][]int32) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

func gram(s string) uint32 {
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

func gram8(s string) uint64 {
	return uint64(gram(s)) | uint64(gram(s[4:]))<<32
}

func addAnchored(m map[int]map[string][]int32, key string, pos int32) {
	k := len(key)
	if m[k] == nil {
		m[k] = map[string][]int32{}
	}
	m[k][key] = appendPos(m[k][key], pos)
}

// buildGate builds the prefilter of a bucket.
func buildGate(refs []ruleRef) *gateIndex {
	g := &gateIndex{}
	byField := map[int]*fieldGate{}
	type pending struct {
		fg  *fieldGate
		lit string
		pos int32
	}
	var contains, contains8 []pending
	freq := map[uint32]int{}
	freq8 := map[uint64]int{}
	for p, ref := range refs {
		cr := ref.rule.compiled
		if !cr.gateOK {
			g.always = append(g.always, int32(p))
			continue
		}
		for _, a := range cr.gate {
			fid := a.fid
			if remap := ref.entry.remap; remap != nil && fid != anyField {
				fid = int(remap[fid])
			}
			fg := byField[fid]
			if fg == nil {
				fg = &fieldGate{fid: fid, exact: map[string][]int32{}, prefix: map[int]map[string][]int32{},
					suffix: map[int]map[string][]int32{}, grams: map[uint32][]int32{}, grams8: map[uint64][]int32{}}
				byField[fid] = fg
				g.fields = append(g.fields, fg)
			}
			pos := int32(p)
			switch {
			case a.kind == sExact:
				fg.exact[a.lit] = appendPos(fg.exact[a.lit], pos)
			case a.kind == sPrefix && a.lit != "":
				addAnchored(fg.prefix, a.lit[:min(len(a.lit), anchorKey)], pos)
			case a.kind == sSuffix && a.lit != "":
				addAnchored(fg.suffix, a.lit[len(a.lit)-min(len(a.lit), anchorKey):], pos)
			case len(a.lit) < 4:
				fg.short = append(fg.short, shortLit{lit: a.lit, pos: pos})
			case len(a.lit) >= 8:
				contains8 = append(contains8, pending{fg, a.lit, pos})
				for i := 0; i+8 <= len(a.lit); i++ {
					freq8[gram8(a.lit[i:])]++
				}
			default:
				contains = append(contains, pending{fg, a.lit, pos})
				for i := 0; i+4 <= len(a.lit); i++ {
					freq[gram(a.lit[i:])]++
				}
			}
		}
	}
	// Key each contains literal by its rarest 4-gram.
	for _, c := range contains {
		best, bestN := uint32(0), -1
		for i := 0; i+4 <= len(c.lit); i++ {
			k := gram(c.lit[i:])
			if n := freq[k]; bestN < 0 || n < bestN {
				best, bestN = k, n
			}
		}
		c.fg.grams[best] = appendPos(c.fg.grams[best], c.pos)
	}
	for _, c := range contains8 {
		best, bestN := uint64(0), -1
		for i := 0; i+8 <= len(c.lit); i++ {
			k := gram8(c.lit[i:])
			if n := freq8[k]; bestN < 0 || n < bestN {
				best, bestN = k, n
			}
		}
		c.fg.grams8[best] = appendPos(c.fg.grams8[best], c.pos)
	}
	for _, fg := range g.fields {
		if len(fg.grams)+len(fg.grams8) > 0 {
			fg.gramBits = new([1024]uint64)
			for k := range fg.grams {
				h := h16(uint64(k))
				fg.gramBits[h>>6] |= 1 << (h & 63)
			}
			for k := range fg.grams8 {
				h := h16(k)
				fg.gramBits[h>>6] |= 1 << (h & 63)
			}
		}
		fg.prefixLens = sortedLens(fg.prefix)
		fg.suffixLens = sortedLens(fg.suffix)
	}
	return g
}

func appendPos(l []int32, p int32) []int32 {
	if n := len(l); n > 0 && l[n-1] == p {
		return l
	}
	return append(l, p)
}

// mark sets the candidate bits of the bucket positions whose gate holds
// for the event in c.
func (g *gateIndex) mark(c *evalCtx, bits []uint64) {
	set := func(l []int32) {
		for _, p := range l {
			bits[p>>6] |= 1 << (uint(p) & 63)
		}
	}
	set(g.always)
	c.remap = nil // gate fields are physical ids
	for _, fg := range g.fields {
		if fg.fid == anyField {
			c.keywords()
			for _, v := range c.kwLow {
				fg.markValue(v, bits, set)
			}
			continue
		}
		p := c.load(fg.fid)
		if c.flags[p]&fPresent == 0 {
			continue
		}
		fg.markValue(c.lowered(p), bits, set)
		for _, v := range c.lowMore(p) { // the other values of a repeated field
			fg.markValue(v, bits, set)
		}
	}
}

// markValue runs one lower-cased value through a field's tables.
func (fg *fieldGate) markValue(v string, bits []uint64, set func([]int32)) {
	{
		set(fg.exact[v])
		for _, k := range fg.prefixLens {
			if k > len(v) {
				break
			}
			set(fg.prefix[k][v[:k]])
		}
		for _, k := range fg.suffixLens {
			if k > len(v) {
				break
			}
			set(fg.suffix[k][v[len(v)-k:]])
		}
		if fg.gramBits != nil {
			has4, has8 := len(fg.grams) > 0, len(fg.grams8) > 0
			for i := 0; i+4 <= len(v); i++ {
				k := gram(v[i:])
				if has4 {
					if h := h16(uint64(k)); fg.gramBits[h>>6]&(1<<(h&63)) != 0 {
						set(fg.grams[k])
					}
				}
				if has8 && i+8 <= len(v) {
					k8 := uint64(k) | uint64(gram(v[i+4:]))<<32
					if h := h16(k8); fg.gramBits[h>>6]&(1<<(h&63)) != 0 {
						set(fg.grams8[k8])
					}
				}
			}
		}
		for _, s := range fg.short {
			if strings.Contains(v, s.lit) {
				bits[s.pos>>6] |= 1 << (uint(s.pos) & 63)
			}
		}
	}
}
