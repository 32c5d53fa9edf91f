package rules

import (
	"strings"
	"unicode/utf8"
)

// tokKind is the kind of one piece of a Sigma string value.
type tokKind uint8

const (
	tLit  tokKind = iota // literal text
	tStar                // * : any run of characters, including none
	tOne                 // ? : exactly one character
	tDash                // a windash flag position: one of - / – — ―
)

// token is one piece of a Sigma string value.
type token struct {
	kind tokKind
	lit  string
}

// windashChars are the five characters a windash position stands for.
var windashChars = [...]rune{'-', '/', '\u2013', '\u2014', '\u2015'}

func isDash(r rune) bool {
	for _, d := range windashChars {
		if r == d {
			return true
		}
	}
	return false
}

// parseSigmaString splits a (non-regex) Sigma value into literal runs and
// wildcards, following the specification's escaping: a backslash before
// *, ? or another backslash makes that character literal; any other
// backslash is itself literal. So '\*' is a literal star, '\\*' a backslash
// then a wildcard, '\\\*' a backslash and a literal star, and both
// 'C:\Windows' and 'C:\\Windows' mean one backslash.
func parseSigmaString(s string) []token {
	var toks []token
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			toks = append(toks, token{kind: tLit, lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			if i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\') {
				lit.WriteByte(s[i+1])
				i++
			} else {
				lit.WriteByte('\\')
			}
		case '*':
			flush()
			toks = append(toks, token{kind: tStar})
		case '?':
			flush()
			toks = append(toks, token{kind: tOne})
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return toks
}

// hasWildcard reports whether toks holds anything but literal text.
func hasWildcard(toks []token) bool {
	for _, t := range toks {
		if t.kind != tLit {
			return true
		}
	}
	return false
}

func isWordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// applyWindash marks the flag positions of literal text as windash tokens.
// A position is a '-' or '/' that does not follow a word character and is
// followed by one (the regular expression \B[-/]\b that pySigma uses), so
// in "-param-name" only the first dash is a flag position. Matching a
// windash token accepts any of the five dash characters, which is the
// Cartesian product of all variants without expanding it.
func applyWindash(toks []token) []token {
	var out []token
	for ti, t := range toks {
		if t.kind != tLit {
			out = append(out, t)
			continue
		}
		s := t.lit
		start := 0
		for i := 0; i < len(s); i++ {
			if s[i] != '-' && s[i] != '/' {
				continue
			}
			prevWord := false
			if i > 0 {
				prevWord = isWordByte(s[i-1])
			} else if ti > 0 && toks[ti-1].kind == tLit {
				l := toks[ti-1].lit
				prevWord = len(l) > 0 && isWordByte(l[len(l)-1])
			}
			nextWord := i+1 < len(s) && isWordByte(s[i+1])
			if prevWord || !nextWord {
				continue
			}
			if i > start {
				out = append(out, token{kind: tLit, lit: s[start:i]})
			}
			out = append(out, token{kind: tDash})
			start = i + 1
		}
		if start < len(s) {
			out = append(out, token{kind: tLit, lit: s[start:]})
		}
	}
	return out
}

// normalize merges adjacent literals and runs of stars, and lower-cases
// literals unless cased.
func normalize(toks []token, cased bool) []token {
	var out []token
	for _, t := range toks {
		if t.kind == tLit && !cased {
			t.lit = strings.ToLower(t.lit)
		}
		if n := len(out); n > 0 {
			last := &out[n-1]
			if t.kind == tLit && last.kind == tLit {
				last.lit += t.lit
				continue
			}
			if t.kind == tStar && last.kind == tStar {
				continue
			}
		}
		if t.kind == tLit && t.lit == "" {
			continue
		}
		out = append(out, t)
	}
	return out
}

// strKind is how a compiled string pattern is matched.
type strKind uint8

const (
	sExact strKind = iota
	sPrefix
	sSuffix
	sContains
	sAny // a lone '*': any value, including the empty one
	sGlob
)

// strPattern is a compiled wildcard pattern.
type strPattern struct {
	kind  strKind
	lit   string
	toks  []token
	cased bool
}

// compilePattern builds the matcher for normalised tokens.
func compilePattern(toks []token, cased bool) strPattern {
	toks = normalize(toks, cased)
	p := strPattern{toks: toks, cased: cased}
	switch {
	case len(toks) == 0:
		p.kind = sExact
	case len(toks) == 1 && toks[0].kind == tLit:
		p.kind, p.lit = sExact, toks[0].lit
	case len(toks) == 1 && toks[0].kind == tStar:
		p.kind = sAny
	case len(toks) == 2 && toks[0].kind == tStar && toks[1].kind == tLit:
		p.kind, p.lit = sSuffix, toks[1].lit
	case len(toks) == 2 && toks[0].kind == tLit && toks[1].kind == tStar:
		p.kind, p.lit = sPrefix, toks[0].lit
	case len(toks) == 3 && toks[0].kind == tStar && toks[1].kind == tLit && toks[2].kind == tStar:
		p.kind, p.lit = sContains, toks[1].lit
	default:
		p.kind = sGlob
	}
	return p
}

// match tests s, which the caller has lower-cased unless p.cased.
func (p *strPattern) match(s string) bool {
	switch p.kind {
	case sExact:
		return s == p.lit
	case sPrefix:
		return strings.HasPrefix(s, p.lit)
	case sSuffix:
		return strings.HasSuffix(s, p.lit)
	case sContains:
		return strings.Contains(s, p.lit)
	case sAny:
		return true
	}
	return globMatch(p.toks, s)
}

// globMatch matches s against toks with the classic single-backtrack-point
// algorithm: on a mismatch it retries from the last star one character
// further on. Its cost is bounded by len(s) times the pattern length.
func globMatch(toks []token, s string) bool {
	ti, si := 0, 0
	starTi, starSi := -1, 0
	for {
		if ti < len(toks) {
			t := toks[ti]
			switch t.kind {
			case tStar:
				starTi, starSi = ti, si
				ti++
				continue
			case tLit:
				if strings.HasPrefix(s[si:], t.lit) {
					si += len(t.lit)
					ti++
					continue
				}
			case tOne:
				if si < len(s) {
					_, n := utf8.DecodeRuneInString(s[si:])
					si += n
					ti++
					continue
				}
			case tDash:
				if si < len(s) {
					r, n := utf8.DecodeRuneInString(s[si:])
					if isDash(r) {
						si += n
						ti++
						continue
					}
				}
			}
		} else if si == len(s) {
			return true
		}
		if starTi < 0 || starSi >= len(s) {
			return false
		}
		_, n := utf8.DecodeRuneInString(s[starSi:])
		starSi += n
		si, ti = starSi, starTi+1
	}
}
