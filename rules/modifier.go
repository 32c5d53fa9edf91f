package rules

import (
	"encoding/base64"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"
)

// mkind is what one compiled value tests.
type mkind uint8

const (
	mStr    mkind = iota // wildcard pattern
	mRegex               // re
	mCIDR                // cidr
	mNum                 // lt, lte, gt, gte
	mNull                // null: absent or empty
	mExists              // exists: true/false
	mRef                 // fieldref
)

// matcher is one compiled alternative of a rule value.
type matcher struct {
	kind   mkind
	pat    strPattern
	re     *regexp.Regexp
	pfx    netip.Prefix
	num    float64
	cmp    string // lt lte gt gte
	exists bool
	ref    int     // field id of a fieldref
	refPos strKind // sExact, sPrefix, sSuffix, sContains for fieldref
}

// valGroup is one value as written in the rule and the matchers it
// compiles to (several for base64offset or an expanded placeholder); it
// matches when any of them does.
type valGroup struct {
	raw string
	ms  []matcher
}

// fieldItem is one "Field|modifiers: values" entry of a selection, or a
// keyword list when field is "".
type fieldItem struct {
	field string // logical (rule) field name; "" for keywords
	fid   int
	mods  string // modifier chain as written, for explanations
	all   bool   // every group must match (the all modifier)
	neq   bool   // neq: the field is present and matches none of the groups
	cased bool
	vals  []valGroup
}

// knownModifiers lists every modifier the engine implements.
var knownModifiers = map[string]bool{
	"contains": true, "startswith": true, "endswith": true, "all": true, "exists": true,
	"cased": true, "neq": true, "windash": true, "re": true, "i": true, "m": true, "s": true,
	"base64": true, "base64offset": true, "wide": true, "utf16le": true, "utf16be": true,
	"utf16": true, "lt": true, "lte": true, "gt": true, "gte": true, "cidr": true,
	"fieldref": true, "expand": true,
}

// maxValues bounds the compiled values of one document (YAML aliases can
// repeat a large selection many times in a small file).
const maxValues = 100000

// compileCtx carries what compiling a value needs from the loader.
type compileCtx struct {
	placeholders map[string][]string
	intern       func(name string) int
	values       int // compiled so far in the current document
}

// yval is a scalar rule value after YAML decoding.
type yval struct {
	s      string
	isNull bool
	isBool bool
	b      bool
	isNum  bool
}

// compileItem compiles one field entry. key is the YAML key as written
// ("" or "|all" style for keywords), vals its values.
func compileItem(cc *compileCtx, key string, vals []yval, keyword bool) (*fieldItem, error) {
	parts := strings.Split(key, "|")
	field, mods := parts[0], parts[1:]
	it := &fieldItem{field: field, mods: strings.Join(mods, "|")}
	if keyword {
		it.field = ""
	} else if field == "" {
		return nil, fmt.Errorf("empty field name in %q", key)
	}
	var (
		pos                                  = sExact
		posSet, isRe, reI, reM, reS, isCIDR  bool
		isExists, isRef, isExpand, isWindash bool
		numCmp                               string
		encoders                             []string
	)
	if keyword {
		pos = sContains
	}
	for i, m := range mods {
		if !knownModifiers[m] {
			switch m {
			case "minute", "hour", "day", "week", "month", "year":
				return nil, fmt.Errorf("time modifier %q (specification v2.1) is not supported", m)
			}
			return nil, fmt.Errorf("unknown modifier %q in %q", m, key)
		}
		switch m {
		case "contains", "startswith", "endswith":
			if posSet {
				return nil, fmt.Errorf("modifiers %q: more than one of contains/startswith/endswith", key)
			}
			posSet = true
			pos = map[string]strKind{"contains": sContains, "startswith": sPrefix, "endswith": sSuffix}[m]
		case "all":
			it.all = true
		case "cased":
			it.cased = true
		case "neq":
			it.neq = true
		case "windash":
			isWindash = true
		case "re":
			isRe = true
		case "i", "m", "s":
			if i == 0 || !isRe {
				return nil, fmt.Errorf("modifier %q only follows re (in %q)", m, key)
			}
			switch m {
			case "i":
				reI = true
			case "m":
				reM = true
			case "s":
				reS = true
			}
		case "base64", "base64offset", "wide", "utf16le", "utf16be", "utf16":
			encoders = append(encoders, m)
		case "lt", "lte", "gt", "gte":
			if numCmp != "" {
				return nil, fmt.Errorf("more than one comparison modifier in %q", key)
			}
			numCmp = m
		case "cidr":
			isCIDR = true
		case "exists":
			isExists = true
		case "fieldref":
			isRef = true
		case "expand":
			isExpand = true
		}
	}
	// Combinations the specification does not define are refused.
	special := 0
	for _, b := range []bool{isRe, isCIDR, isExists, isRef, numCmp != ""} {
		if b {
			special++
		}
	}
	if special > 1 {
		return nil, fmt.Errorf("modifiers %q cannot be combined", it.mods)
	}
	if special == 1 && (len(encoders) > 0 || isWindash || isExpand) {
		return nil, fmt.Errorf("modifiers %q cannot be combined", it.mods)
	}
	if (isRe || isCIDR || isExists || numCmp != "") && posSet {
		return nil, fmt.Errorf("modifiers %q cannot be combined", it.mods)
	}
	if (isCIDR || isExists || numCmp != "") && it.cased {
		return nil, fmt.Errorf("modifier cased cannot be combined with %q", it.mods)
	}
	if isWindash && it.all {
		return nil, fmt.Errorf("windash cannot be combined with all (SigmaHQ convention)")
	}
	if len(vals) == 0 {
		return nil, fmt.Errorf("%q has no value", key)
	}
	if it.all && len(vals) < 2 && !keyword {
		return nil, fmt.Errorf("modifier all needs a list of at least two values in %q", key)
	}
	if keyword && (isExists || isRef || isCIDR || numCmp != "") {
		return nil, fmt.Errorf("modifiers %q are not allowed on keywords", it.mods)
	}
	cc.values += len(vals)
	if cc.values > maxValues {
		return nil, fmt.Errorf("rule has more than %d values", maxValues)
	}
	if !keyword {
		it.fid = cc.intern(field)
	}
	for _, v := range vals {
		g := valGroup{raw: v.s}
		switch {
		case v.isNull:
			if len(vals) > 1 {
				return nil, fmt.Errorf("null is not allowed in a list of values (%q)", key)
			}
			if len(mods) > 0 || keyword {
				return nil, fmt.Errorf("null cannot take modifiers (%q)", key)
			}
			g.raw = "null"
			g.ms = []matcher{{kind: mNull}}
		case isExists:
			if !v.isBool || len(vals) != 1 {
				return nil, fmt.Errorf("exists takes a single true or false in %q", key)
			}
			g.ms = []matcher{{kind: mExists, exists: v.b}}
		case numCmp != "":
			f, err := strconv.ParseFloat(v.s, 64)
			if err != nil || math.IsNaN(f) {
				return nil, fmt.Errorf("%s needs a number, got %q", numCmp, v.s)
			}
			g.ms = []matcher{{kind: mNum, num: f, cmp: numCmp}}
		case isCIDR:
			p, err := netip.ParsePrefix(v.s)
			if err != nil {
				return nil, fmt.Errorf("cidr value %q: %w", v.s, err)
			}
			g.ms = []matcher{{kind: mCIDR, pfx: p.Masked()}}
		case isRe:
			flags := ""
			if reI {
				flags += "i"
			}
			if reM {
				flags += "m"
			}
			if reS {
				flags += "s"
			}
			src := v.s
			if flags != "" {
				src = "(?" + flags + ")" + src
			}
			re, err := regexp.Compile(src)
			if err != nil {
				return nil, fmt.Errorf("regular expression %q is not supported by Go RE2: %w", v.s, err)
			}
			g.ms = []matcher{{kind: mRegex, re: re}}
		case isRef:
			if v.isBool || v.isNum || v.s == "" {
				return nil, fmt.Errorf("fieldref needs a field name, got %q", v.s)
			}
			g.ms = []matcher{{kind: mRef, ref: cc.intern(v.s), refPos: pos}}
		default:
			strs := []string{v.s}
			if isExpand {
				var err error
				if strs, err = expandPlaceholders(v.s, cc.placeholders); err != nil {
					return nil, err
				}
			}
			for _, s := range strs {
				ms, err := compileString(s, pos, it.cased, isWindash, encoders)
				if err != nil {
					return nil, fmt.Errorf("%q: %w", key, err)
				}
				g.ms = append(g.ms, ms...)
			}
		}
		it.vals = append(it.vals, g)
	}
	return it, nil
}

// compileString turns one string value into matchers: parse wildcards and
// escapes, mark windash positions, apply encodings in the order written,
// then anchor per contains/startswith/endswith.
func compileString(s string, pos strKind, cased, windash bool, encoders []string) ([]matcher, error) {
	variants := [][]token{parseSigmaString(s)}
	if windash {
		variants[0] = applyWindash(variants[0])
	}
	for _, enc := range encoders {
		var next [][]token
		for _, toks := range variants {
			for _, t := range toks {
				if t.kind == tDash {
					return nil, fmt.Errorf("windash cannot be combined with %s", enc)
				}
			}
			switch enc {
			case "wide", "utf16le", "utf16be", "utf16":
				out := make([]token, len(toks))
				for i, t := range toks {
					out[i] = t
					if t.kind == tLit {
						out[i].lit = encodeUTF16(t.lit, enc)
					}
				}
				next = append(next, out)
			case "base64", "base64offset":
				if hasWildcard(toks) {
					return nil, fmt.Errorf("%s cannot encode a value with wildcards", enc)
				}
				plain := ""
				if len(toks) == 1 {
					plain = toks[0].lit
				}
				if enc == "base64" {
					next = append(next, []token{{kind: tLit, lit: base64.StdEncoding.EncodeToString([]byte(plain))}})
					continue
				}
				for _, b := range base64Offsets(plain) {
					next = append(next, []token{{kind: tLit, lit: b}})
				}
			}
		}
		variants = next
	}
	var out []matcher
	for _, toks := range variants {
		switch pos {
		case sContains:
			toks = append(append([]token{{kind: tStar}}, toks...), token{kind: tStar})
		case sPrefix:
			toks = append(toks, token{kind: tStar})
		case sSuffix:
			toks = append([]token{{kind: tStar}}, toks...)
		}
		out = append(out, matcher{kind: mStr, pat: compilePattern(toks, cased)})
	}
	return out, nil
}

// encodeUTF16 encodes s as UTF-16 bytes (utf16 adds the little-endian BOM).
func encodeUTF16(s, enc string) string {
	u := utf16.Encode([]rune(s))
	var b []byte
	if enc == "utf16" {
		b = append(b, 0xFF, 0xFE)
	}
	for _, c := range u {
		if enc == "utf16be" {
			b = append(b, byte(c>>8), byte(c))
		} else {
			b = append(b, byte(c), byte(c>>8))
		}
	}
	return string(b)
}

// base64Offsets returns the three encodings of s at byte offsets 0, 1 and
// 2 within a base64 stream, with the characters that depend on the
// unknown neighbouring bytes trimmed from both ends.
func base64Offsets(s string) []string {
	start := [3]int{0, 2, 3}
	end := [3]int{0, 3, 2}
	var out []string
	for i := 0; i < 3; i++ {
		enc := base64.StdEncoding.EncodeToString(append(make([]byte, i), s...))
		e := end[(len(s)+i)%3]
		// base64.StdEncoding pads; trailing '=' are part of what is trimmed.
		if start[i] > len(enc)-e {
			continue
		}
		out = append(out, enc[start[i]:len(enc)-e])
	}
	return out
}

// expandPlaceholders replaces %name% with each configured value (\% is a
// literal percent sign). A placeholder without values is an error.
func expandPlaceholders(s string, ph map[string][]string) ([]string, error) {
	outs := []string{""}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) && s[i+1] == '%' {
			for j := range outs {
				outs[j] += "%"
			}
			i++
			continue
		}
		if c == '%' {
			end := strings.IndexByte(s[i+1:], '%')
			if end > 0 {
				name := s[i+1 : i+1+end]
				vals := ph[name]
				if len(vals) == 0 {
					return nil, fmt.Errorf("placeholder %%%s%% has no value (give it a value under placeholders: in the --rules-config file)", name)
				}
				var next []string
				for _, o := range outs {
					for _, v := range vals {
						next = append(next, o+v)
					}
				}
				if len(next) > 4096 {
					return nil, fmt.Errorf("placeholders in %q expand to more than 4096 values", s)
				}
				outs = next
				i += end + 1
				continue
			}
		}
		for j := range outs {
			outs[j] += s[i : i+1]
		}
	}
	return outs, nil
}
