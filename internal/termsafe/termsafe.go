// Package termsafe makes text read from evidence safe for every output
// channel: the screen, tables, standard error and JSON. It is the one place
// that decides which characters a terminal could act on or that would hide
// text from the reader, and how they are shown instead.
//
// Unsafe are: invalid UTF-8, the C0 controls (ESC included) and DEL, the C1
// controls (U+0080–U+009F, CSI and OSC included), the line and paragraph
// separators, format characters (Unicode category Cf: the bidirectional
// controls U+202A–U+202E and U+2066–U+2069, zero-width marks U+200B–U+200F,
// U+FEFF…), private-use, surrogate and unassigned code points. Everything
// else — printable text in any script, spaces, backslashes — passes as it
// is.
package termsafe

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Unsafe reports whether r must not reach an output raw. Tab and newline
// are unsafe too: each channel decides whether it shows them as they are.
func Unsafe(r rune) bool {
	if r < utf8.RuneSelf {
		return r < 0x20 || r == 0x7f
	}
	return !unicode.IsGraphic(r)
}

// Plain reports whether s holds only printable ASCII (no escaping needed).
func Plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// Clean makes text safe for one line of a terminal (a screen row, a table
// cell, a message on standard error): every unsafe character is replaced
// by a visible Go-style escape, so "\x1b]0;title\x07" shows as exactly
// those characters, a bidi override as \u202e, a tab as \t and a newline
// as \n. An invalid byte shows as \xNN.
func Clean(s string) string {
	if Plain(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			b.WriteString(`\x`)
			writeHex(&b, uint32(s[i]), 2)
			i++
			continue
		}
		i += size
		if !Unsafe(r) {
			b.WriteString(s[i-size : i])
			continue
		}
		switch {
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0xa0:
			b.WriteString(`\x`)
			writeHex(&b, uint32(r), 2)
		case r > 0xffff:
			b.WriteString(`\U`)
			writeHex(&b, uint32(r), 8)
		default:
			b.WriteString(`\u`)
			writeHex(&b, uint32(r), 4)
		}
	}
	return b.String()
}

// CleanLimit is Clean for values that may be huge: it keeps at most max
// bytes of s (never cutting a character) and says how many were left out.
func CleanLimit(s string, max int) string { return Clean(Cut(s, max)) }

// Cut keeps at most max bytes of s, never cutting a character, and says
// how many were left out: "… (N more bytes)". It does not make s safe.
func Cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + " … (" + strconv.Itoa(len(s)-cut) + " more bytes)"
}

const hexDigits = "0123456789abcdef"

func writeHex(b *strings.Builder, v uint32, digits int) {
	for d := digits - 1; d >= 0; d-- {
		b.WriteByte(hexDigits[(v>>(4*uint(d)))&0xf])
	}
}

// AppendJSONString appends s to b as a JSON string. Quotes and backslashes
// are escaped as JSON requires, \n \r \t by name, every other unsafe
// character as \u00XX (surrogate pairs above U+FFFF), and an invalid byte
// becomes \ufffd. The result holds printable text only.
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			if c == '"' || c == '\\' {
				b = append(b, '\\')
			}
			b = append(b, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size <= 1:
			b = append(b, `\ufffd`...)
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r == '\t':
			b = append(b, `\t`...)
		case Unsafe(r):
			b = appendEscape(b, r)
		default:
			b = append(b, s[i-size:i]...)
		}
	}
	return append(b, '"')
}

// appendEscape appends r as a JSON \uXXXX escape (a surrogate pair above
// U+FFFF).
func appendEscape(b []byte, r rune) []byte {
	if r > 0xffff {
		r -= 0x10000
		b = appendU(b, 0xd800+(r>>10))
		return appendU(b, 0xdc00+(r&0x3ff))
	}
	return appendU(b, r)
}

func appendU(b []byte, r rune) []byte {
	return append(b, '\\', 'u', hexDigits[r>>12&15], hexDigits[r>>8&15], hexDigits[r>>4&15], hexDigits[r&15])
}

// EscapeJSON makes JSON text produced by encoding/json safe: it escapes,
// as \uXXXX, the unsafe characters encoding/json leaves raw (DEL, the C1
// controls, format characters and the other non-printing ones; it already
// escapes the C0 controls and replaces invalid UTF-8). Outside strings JSON
// text is ASCII, so every such character is inside a string and the result
// decodes to the same value. A stray C0 control other than JSON whitespace
// is escaped the same way and an invalid byte becomes \ufffd, so that
// nothing unsafe passes whatever the input. Input that needs no change is
// returned as is.
func EscapeJSON(js []byte) []byte {
	i := 0
	for i < len(js) {
		size, ok := jsonSafeAt(js, i)
		if !ok {
			break
		}
		i += size
	}
	if i == len(js) {
		return js
	}
	out := make([]byte, 0, len(js)+16)
	out = append(out, js[:i]...)
	for i < len(js) {
		size, ok := jsonSafeAt(js, i)
		switch {
		case ok:
			out = append(out, js[i:i+size]...)
		case size == 1 && js[i] >= utf8.RuneSelf:
			out = append(out, `\ufffd`...)
		default:
			r, _ := utf8.DecodeRune(js[i:])
			out = appendEscape(out, r)
		}
		i += size
	}
	return out
}

// jsonSafeAt returns the size of the character at js[i] and whether it may
// stay raw in JSON text.
func jsonSafeAt(js []byte, i int) (int, bool) {
	c := js[i]
	if c < utf8.RuneSelf {
		return 1, c >= 0x20 && c != 0x7f || c == '\t' || c == '\n' || c == '\r'
	}
	r, size := utf8.DecodeRune(js[i:])
	if r == utf8.RuneError && size <= 1 {
		return 1, false
	}
	return size, !Unsafe(r)
}
