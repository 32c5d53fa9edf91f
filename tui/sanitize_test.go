package tui

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestClean(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", `C:\Windows\System32\regsvr32.exe /s x.dll`, `C:\Windows\System32\regsvr32.exe /s x.dll`},
		{"osc title", "a\x1b]0;pwned\x07b", `a\x1b]0;pwned\x07b`},
		{"clear screen", "cmd \x1b[2J", `cmd \x1b[2J`},
		{"c1 csi", "x\u009b31m", `x\x9b31m`},
		{"newline tab cr", "a\nb\tc\rd", `a\nb\tc\rd`},
		{"del", "a\x7f", `a\x7f`},
		{"invalid utf8", "a\xffb", `a\xffb`},
		{"bidi override", "exe.\u202etxt", `exe.\u202etxt`},
		{"zero width", "reg\u200bsvr32", `reg\u200bsvr32`},
		{"line separator", "a\u2028b", `a\u2028b`},
		{"unicode kept", "Übung 日本 é", "Übung 日本 é"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Clean(tt.in); got != tt.want {
				t.Errorf("Clean(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCleanLimit(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"abcdef", 10, "abcdef"},
		{"abcdef", 3, "abc … (3 more bytes)"},
		{"aé\x1b", 2, "a … (3 more bytes)"}, // never cuts inside a rune
	}
	for _, tt := range tests {
		if got := CleanLimit(tt.in, tt.max); got != tt.want {
			t.Errorf("CleanLimit(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

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

func FuzzClean(f *testing.F) {
	for _, s := range []string{"", "plain", "\x1b]0;t\x07", "\x1b[2J", "\xff\xfe", "\u202e", "\u009b", "日本\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Clean(s)
		if !safeForTerminal(got) {
			t.Fatalf("Clean(%q) = %q still holds control text", s, got)
		}
		if isPlainASCII(s) && got != s {
			t.Fatalf("Clean changed plain text %q to %q", s, got)
		}
		if strings.Count(got, "\\") < strings.Count(s, "\\") {
			t.Fatalf("Clean lost text: %q -> %q", s, got)
		}
		lim := CleanLimit(s, 7)
		if !safeForTerminal(lim) {
			t.Fatalf("CleanLimit(%q) = %q still holds control text", s, lim)
		}
	})
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
