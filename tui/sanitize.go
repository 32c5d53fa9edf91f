package tui

import (
	"unicode/utf8"

	"github.com/evtriage/evtriage/internal/termsafe"
)

// maxDetailValue bounds how much of one evidence value the detail pane
// shows; the rest is summarised as a byte count.
const maxDetailValue = 4096

// clean is termsafe.Clean, under the name the screen's code calls it by:
// every text from evidence goes through it before it is drawn.
func clean(s string) string { return termsafe.Clean(s) }

// cleanLimit is termsafe.CleanLimit (see clean).
func cleanLimit(s string, max int) string { return termsafe.CleanLimit(s, max) }

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
	return clean(s)
}
