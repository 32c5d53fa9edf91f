package tui

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// safeForTerminal reports whether s holds nothing a terminal would act on.
func safeForTerminal(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || unicode.Is(unicode.Cf, r) {
			return false
		}
	}
	return true
}

func TestContainsFold(t *testing.T) {
	tests := []struct {
		s, needle string
		want      bool
	}{
		{`C:\Windows\System32\REGSVR32.EXE`, "regsvr32", true},
		{"regsvr", "regsvr32", false},
		{"abc", "", false},
		{"xxScrObj.dll", "scrobj", true},
		{"scro bj", "scrobj", false},
		{"ÜBUNG test", "übung", true},
		{"übung", "ubung", false},
		{"aaab", "aab", true},
	}
	for _, tt := range tests {
		if got := containsFold(tt.s, tt.needle); got != tt.want {
			t.Errorf("containsFold(%q, %q) = %v, want %v", tt.s, tt.needle, got, tt.want)
		}
	}
}

func TestCell(t *testing.T) {
	tests := []struct {
		in      string
		w, max  int
		wantPre string
	}{
		{strings.Repeat("a", 1<<20), 10, 43, "aaaaaaaaaa"},
		{strings.Repeat("é", 1000), 10, 43, "éééééééééé"},
		{strings.Repeat("\x1b", 100), 2, 40, `\x1b\x1b`},
		{"short", 80, 5, "short"},
	}
	for _, tt := range tests {
		got := cell(tt.in, tt.w)
		if len(got) > tt.max || !utf8.ValidString(got) || !strings.HasPrefix(got, tt.wantPre) || !safeForTerminal(got) {
			t.Errorf("cell(%.20q…, %d) = %q", tt.in, tt.w, got)
		}
	}
}
