package triage

import (
	"crypto/sha256"
	"strings"
)

// GUID is a Sysmon ProcessGuid in binary form, in the order its text is
// written (so that String gives back the canonical text). The zero GUID
// means none: 4688-only processes, and Sysmon's all-zero GUID.
type GUID [16]byte

// IsZero reports whether g is the zero GUID.
func (g GUID) IsZero() bool { return g == GUID{} }

const hexDigits = "0123456789ABCDEF"

// String returns g as upper-case text without braces
// (365ABB72-6759-5CD8-0000-001012345678); "" for the zero GUID.
func (g GUID) String() string {
	if g.IsZero() {
		return ""
	}
	var b [36]byte
	j := 0
	for i, c := range g {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = hexDigits[c>>4], hexDigits[c&15]
		j += 2
	}
	return string(b[:])
}

// ParseGUID reads a ProcessGuid as Sysmon writes it ({8-4-4-4-12} hex
// digits, braces optional, surrounding spaces ignored). Empty text and the
// all-zero GUID give the zero GUID. Text that is not a GUID (crafted logs)
// is identified by the first 16 bytes of the SHA-256 of its normalised
// form (trimmed, upper case, without braces), so that equal texts still
// name one process; such a GUID prints as those bytes.
func ParseGUID(s string) GUID {
	if g, ok := parseCanonicalGUID(s); ok {
		return g
	}
	n := normGUID(s)
	if n == "" {
		return GUID{}
	}
	if g, ok := parseCanonicalGUID(n); ok {
		return g
	}
	sum := sha256.Sum256([]byte(n))
	var g GUID
	copy(g[:], sum[:16])
	if g.IsZero() {
		g[15] = 1
	}
	return g
}

// parseCanonicalGUID is ParseGUID's fast path: 36 hex digits and dashes,
// optionally in braces.
func parseCanonicalGUID(s string) (GUID, bool) {
	var g GUID
	if len(s) == 38 && s[0] == '{' && s[37] == '}' {
		s = s[1:37]
	}
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return g, false
	}
	j := 0
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i++
			continue
		}
		hi, ok1 := unhex(s[i])
		lo, ok2 := unhex(s[i+1])
		if !ok1 || !ok2 {
			return GUID{}, false
		}
		g[j] = hi<<4 | lo
		j++
		i += 2
	}
	return g, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// normGUID canonicalises a GUID's text as upper case without braces; ""
// when the value is empty or the all-zero GUID.
func normGUID(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "{")
	s = strings.TrimSuffix(s, "}")
	if s == "" || strings.Trim(s, "0-") == "" {
		return ""
	}
	return strings.ToUpper(s)
}
