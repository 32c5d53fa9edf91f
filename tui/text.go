package tui

import (
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// fit truncates or pads plain (already cleaned) text to exactly w cells.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := ansi.StringWidth(s)
	if sw > w {
		s = ansi.Truncate(s, w, "…")
		sw = ansi.StringWidth(s)
	}
	if sw < w {
		s += strings.Repeat(" ", w-sw)
	}
	return s
}

// paint fits plain text to w cells, renders it with base, and marks every
// case-insensitive occurrence of query with match. base and match are
// applied per segment so that the result has no style spill-over.
func paint(s string, w int, query string, base, match lipgloss.Style) string {
	s = fit(s, w)
	if query == "" {
		return base.Render(s)
	}
	hay, needle := s, query
	if lower := strings.ToLower(s); len(lower) == len(s) {
		hay, needle = lower, strings.ToLower(query)
	}
	var b strings.Builder
	for {
		i := strings.Index(hay, needle)
		if i < 0 || needle == "" {
			b.WriteString(base.Render(s))
			return b.String()
		}
		if i > 0 {
			b.WriteString(base.Render(s[:i]))
		}
		b.WriteString(match.Inherit(base).Render(s[i : i+len(needle)]))
		s, hay = s[i+len(needle):], hay[i+len(needle):]
		if s == "" {
			return b.String()
		}
	}
}

// containsFold reports whether s contains the lower-case needle, ignoring
// case. ASCII needles are matched without allocating (search runs over
// every process of a big hunt).
func containsFold(s, lowerNeedle string) bool {
	n := len(lowerNeedle)
	if n == 0 || len(s) < n {
		return false
	}
	for i := 0; i < n; i++ {
		if lowerNeedle[i] >= 0x80 {
			return strings.Contains(strings.ToLower(s), lowerNeedle)
		}
	}
	c0 := lowerNeedle[0]
	c0u := c0
	if 'a' <= c0 && c0 <= 'z' {
		c0u = c0 - 'a' + 'A'
	}
	for i := 0; i+n <= len(s); i++ {
		if b := s[i]; b != c0 && b != c0u {
			continue
		}
		j := 1
		for ; j < n; j++ {
			b := s[i+j]
			if 'A' <= b && b <= 'Z' {
				b += 'a' - 'A'
			}
			if b != lowerNeedle[j] {
				break
			}
		}
		if j == n {
			return true
		}
	}
	return false
}

// padLines makes s exactly h lines of w cells, so panes never shift.
func padLines(lines []string, w, h int) string {
	var b strings.Builder
	for i := 0; i < h; i++ {
		if i > 0 {
			b.WriteByte('\n')
		}
		if i < len(lines) {
			l := lines[i]
			lw := ansi.StringWidth(l)
			if lw > w {
				l = ansi.Truncate(l, w, "")
				lw = ansi.StringWidth(l)
			}
			b.WriteString(l)
			if lw < w {
				b.WriteString(strings.Repeat(" ", w-lw))
			}
		} else {
			b.WriteString(strings.Repeat(" ", w))
		}
	}
	return b.String()
}

// scrollClamp keeps a list's cursor on one of its n rows and its first
// visible row top such that the cursor shows in h rows and no page ends
// past the last row.
func scrollClamp(cursor, top, n, h int) (int, int) {
	cursor = max(min(cursor, n-1), 0)
	if h <= 0 {
		return cursor, cursor
	}
	top = min(top, cursor)
	top = max(top, cursor-h+1)
	return cursor, max(min(top, n-h), 0)
}

// wrapWords breaks text (already safe for the terminal, maybe styled) into
// lines of at most width cells at its spaces; a word wider than a line is
// broken at the line's edge. Hyphens, slashes and dots never break a line,
// so that URLs, paths and hashes stay whole wherever they fit. Newlines
// are kept.
func wrapWords(text string, width int) []string {
	width = max(width, 1)
	var out []string
	for _, para := range strings.Split(text, "\n") {
		line, lw := "", 0
		flush := func() { out = append(out, line); line, lw = "", 0 }
		rest := para
		for {
			// the next word and the spaces before it
			i := 0
			for i < len(rest) && rest[i] == ' ' {
				i++
			}
			spaces := rest[:i]
			j := strings.IndexByte(rest[i:], ' ')
			if j < 0 {
				j = len(rest) - i
			}
			word := rest[i : i+j]
			rest = rest[i+j:]
			if word == "" {
				if lw+len(spaces) <= width {
					line += spaces // trailing spaces are kept where they fit
				}
				break
			}
			ww := ansi.StringWidth(word)
			switch {
			case lw > 0 && lw+len(spaces)+ww <= width:
				line, lw = line+spaces+word, lw+len(spaces)+ww
				continue
			case lw > 0:
				flush()
			case len(spaces)+ww <= width:
				line, lw = spaces+word, len(spaces)+ww
				continue
			}
			if ww <= width {
				line, lw = word, ww
				continue
			}
			parts := strings.Split(ansi.Hardwrap(word, width, true), "\n")
			out = append(out, parts[:len(parts)-1]...)
			line, lw = parts[len(parts)-1], ansi.StringWidth(parts[len(parts)-1])
		}
		flush()
	}
	return out
}

// paragraphs splits a rule's description into paragraphs: the lines of
// one are joined (YAML folds prose at its author's width, not the
// screen's); a blank line, or a line that starts a list item, begins a
// new one.
func paragraphs(s string) []string {
	var out []string
	cur := ""
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(strings.TrimRight(l, "\r"))
		switch {
		case l == "":
			if cur != "" {
				out = append(out, cur)
			}
			cur = ""
		case cur == "" || strings.HasPrefix(l, "- ") || strings.HasPrefix(l, "* "):
			if cur != "" {
				out = append(out, cur)
			}
			cur = l
		default:
			cur += " " + l
		}
	}
	if cur != "" {
		out = append(out, cur)
	}
	return out
}
