package tui

import (
	"unicode/utf8"

	"github.com/evtriage/evtriage/internal/termsafe"
)

// maxDetailValue bounds how much of one evidence value the detail pane
// shows; the rest is summarised as a byte count.
const maxDetailValue = 4096

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
	return termsafe.Clean(s)
}
