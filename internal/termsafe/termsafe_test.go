package termsafe

import (
	"encoding/json"
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
		{"c1 osc", "x\u009d0;t\u009c", `x\x9d0;t\x9c`},
		{"newline tab cr", "a\nb\tc\rd", `a\nb\tc\rd`},
		{"del", "a\x7f", `a\x7f`},
		{"invalid utf8", "a\xffb", `a\xffb`},
		{"bidi override", "exe.\u202etxt", `exe.\u202etxt`},
		{"bidi isolates", "\u2066a\u2069", `\u2066a\u2069`},
		{"zero width", "reg\u200bsvr32", `reg\u200bsvr32`},
		{"bom", "\ufeffx", `\ufeffx`},
		{"line separator", "a\u2028b", `a\u2028b`},
		{"tag character", "a\U000e0041", `a\U000e0041`},
		{"replacement char kept", "a\ufffdb", "a\ufffdb"},
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

func TestAppendJSONString(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{`plain "q" \ b`, `"plain \"q\" \\ b"`},
		{"a\nb\tc\rd", `"a\nb\tc\rd"`},
		{"esc\x1b[2J", `"esc\u001b[2J"`},
		{"del\x7f", `"del\u007f"`},
		{"csi\u009b31m osc\u009d", `"csi\u009b31m osc\u009d"`},
		{"rlo\u202e lri\u2066 zw\u200b bom\ufeff", `"rlo\u202e lri\u2066 zw\u200b bom\ufeff"`},
		{"ls\u2028", `"ls\u2028"`},
		{"tag\U000e0041", `"tag\udb40\udc41"`},
		{"bad\xff", `"bad\ufffd"`},
		{"日本 é", `"日本 é"`},
	}
	for _, tt := range tests {
		got := string(AppendJSONString(nil, tt.in))
		if got != tt.want {
			t.Errorf("AppendJSONString(%q) = %s, want %s", tt.in, got, tt.want)
		}
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil {
			t.Errorf("%s: %v", got, err)
		}
		if utf8.ValidString(tt.in) && back != tt.in {
			t.Errorf("%s decodes to %q, want %q", got, back, tt.in)
		}
	}
}

func TestEscapeJSON(t *testing.T) {
	in := map[string]string{"k\u202e": "a\u009b\x7f\u200b\x1b日本\n", "plain": "x"}
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	got := EscapeJSON(raw)
	if !safe(string(got)) {
		t.Fatalf("EscapeJSON left unsafe text: %q", got)
	}
	var back map[string]string
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	for k, v := range in {
		if back[k] != v {
			t.Errorf("%q = %q, want %q", k, back[k], v)
		}
	}
	clean := []byte(`{"a": "b"}`)
	if out := EscapeJSON(clean); &out[0] != &clean[0] {
		t.Error("safe input copied")
	}
	if got := string(EscapeJSON([]byte("\"\x1b\xff\""))); got != `"\u001b\ufffd"` {
		t.Errorf("stray bytes: %s", got)
	}
}

// safe reports whether s holds nothing a terminal would act on or that
// would hide text (the contract of the package).
func safe(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || (r >= 0x80 && r < 0xa0) ||
			unicode.Is(unicode.Cf, r) || r == 0x2028 || r == 0x2029 {
			return false
		}
	}
	return true
}

func FuzzClean(f *testing.F) {
	for _, s := range []string{"", "plain", "\x1b]0;t\x07", "\x1b[2J", "\xff\xfe", "\u202e", "\u009b", "日本\n", "\U000e0041"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Clean(s)
		if !safe(got) || strings.ContainsAny(got, "\n\t") {
			t.Fatalf("Clean(%q) = %q still holds control text", s, got)
		}
		if Plain(s) && got != s {
			t.Fatalf("Clean changed plain text %q to %q", s, got)
		}
		if strings.Count(got, "\\") < strings.Count(s, "\\") {
			t.Fatalf("Clean lost text: %q -> %q", s, got)
		}
		if lim := CleanLimit(s, 7); !safe(lim) {
			t.Fatalf("CleanLimit(%q) = %q still holds control text", s, lim)
		}
		js := AppendJSONString(nil, s)
		if !safe(string(js)) || strings.ContainsAny(string(js), "\n\t") {
			t.Fatalf("AppendJSONString(%q) = %s still holds control text", s, js)
		}
		var back string
		if err := json.Unmarshal(js, &back); err != nil {
			t.Fatalf("AppendJSONString(%q) = %s: %v", s, js, err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("AppendJSONString(%q) decodes to %q", s, back)
		}
		std, _ := json.Marshal(s)
		if esc := EscapeJSON(std); !safe(string(esc)) {
			t.Fatalf("EscapeJSON(%s) = %s still holds control text", std, esc)
		} else if err := json.Unmarshal(esc, &back); err != nil || utf8.ValidString(s) && back != s {
			t.Fatalf("EscapeJSON(%s) = %s decodes to %q (%v)", std, esc, back, err)
		}
	})
}
