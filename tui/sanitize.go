package tui

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxDetailValue bounds how much of one evidence value the detail pane
// shows; the rest is summarised as a byte count.
const maxDetailValue = 4096

// Clean makes text read from evidence safe to print on a terminal. Control
// characters (C0, DEL, C1 — ESC included, so no escape sequence survives),
// invalid UTF-8, Unicode format characters (bidirectional overrides,
// zero-width marks) and line/paragraph separators are replaced by visible
// Go-style escapes: "\x1b]0;title\x07" shows as exactly those characters.
// Printable text, backslashes included, is left as it is.
func Clean(s string) string {
	if isPlainASCII(s) {
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
		switch {
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			b.WriteString(`\x`)
			writeHex(&b, uint32(r), 2)
		case unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r) ||
			unicode.Is(unicode.Co, r) || !unicode.IsGraphic(r) && r != ' ':
			if r > 0xffff {
				b.WriteString(`\U`)
				writeHex(&b, uint32(r), 8)
			} else {
				b.WriteString(`\u`)
				writeHex(&b, uint32(r), 4)
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// CleanLimit is Clean for values that may be huge: it keeps at most max
// bytes of s and says how many were left out.
func CleanLimit(s string, max int) string {
	if len(s) <= max {
		return Clean(s)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return Clean(s[:cut]) + " … (" + strconv.Itoa(len(s)-cut) + " more bytes)"
}

// cell cleans the part of s that can show in w cells: a cell never needs
// more than 4 bytes of input, so a 1 MiB command line costs no more to
// draw than a short one.
func cell(s string, w int) string {
	if n := 4 * max(w, 1); len(s) > n {
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n] + "…" // the row is cut anyway; the mark stays if it fits
	}
	return Clean(s)
}

func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

func writeHex(b *strings.Builder, v uint32, digits int) {
	const hexdigits = "0123456789abcdef"
	for d := digits - 1; d >= 0; d-- {
		b.WriteByte(hexdigits[(v>>(4*uint(d)))&0xf])
	}
}
