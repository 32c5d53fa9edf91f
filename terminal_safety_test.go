package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/evtriage/evtriage/parser"
)

// hostileText carries everything a terminal may act on or that hides text:
// C0 (ESC, BEL), DEL, C1 (CSI, OSC, ST), bidi overrides and isolates,
// zero-width characters, a BOM and a line separator.
const hostileText = "\x1b[2J\x07\x7f\u009b31m\u009d0;t\u009c\u202egnp.exe\u2066\u2069\u200b\u200f\ufeff\u2028"

// unsafeRune returns the first character of s that must not reach an
// output raw (tab and newline allowed), or -1.
func unsafeRune(s string) rune {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size <= 1 {
				return r
			}
		}
		if r == '\t' || r == '\n' {
			continue
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || unicode.Is(unicode.Cf, r) ||
			unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r) {
			return r
		}
	}
	return -1
}

// TestEveryOutputIsTerminalSafe runs every headless command in every
// format on a log, a rule file and a folder name that carry hostile text,
// and checks that none of it reaches standard output or standard error raw
// while the JSON outputs still decode to the evidence as it was.
func TestEveryOutputIsTerminalSafe(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "case"+"\u202e"+"x")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	log := writeLog(t, dir, "host\u009b.evtx", []*parser.Event{{
		Provider: "Microsoft-Windows-Sysmon", Channel: "Microsoft-Windows-Sysmon/Operational",
		Computer: "WS" + hostileText, EventID: 1, RecordID: 7, Time: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		Fields: []parser.Field{
			{Name: "ProcessGuid", Value: "{11111111-2222-3333-4444-555555555555}"},
			{Name: "ProcessId", Value: "42"},
			{Name: "Image", Value: `C:\Windows\System32\regsvr32.exe`},
			{Name: "CommandLine", Value: "regsvr32 /s " + hostileText},
			{Name: "ParentProcessGuid", Value: "{11111111-2222-3333-4444-000000000001}"},
			{Name: "ParentProcessId", Value: "41"},
			{Name: "ParentImage", Value: `C:\Windows\explorer` + hostileText + `.exe`},
			{Name: "Field" + "\u202e", Value: "v"},
		},
	}})
	// YAML's escapes put the hostile characters into the rule's title.
	rule := strings.Replace(goodRule, "title: Good rule", `title: "Evil \e[2J \x9b31m \u202E \u200B \x7f rule"`, 1)
	rule = strings.Replace(rule, `Image|endswith: '\x.exe'`, `Image|endswith: '\regsvr32.exe'`, 1)
	rules := writeRuleFiles(t, map[string]string{"evil\u202e.yml": rule, "broken\u009b.yml": badRule + "\u202e"})
	tests := [][]string{
		{"hunt", "--format", "table", "--rules", rules, dir},
		{"hunt", "--format", "json", "--rules", rules, dir},
		{"hunt", "--format", "jsonl", "--rules", rules, dir},
		{"hunt", "--format", "json", "--rules", rules, log, filepath.Join(dir, "missing\u202e.evtx")},
		{"dump", dir},
		{"stats", dir},
		{"stats", "--format", "json", dir},
		{"rules", "--no-builtin", "--rules", rules},
		{"rules", "--no-builtin", "--format", "json", "--rules", rules},
		{"hunt", "--format", "x\u202e", dir},
	}
	for _, args := range tests {
		t.Run(strings.Join(args[:len(args)-1], " "), func(t *testing.T) {
			_, stdout, stderr := runCapture(t, args...)
			if r := unsafeRune(stdout); r >= 0 {
				t.Errorf("stdout carries %U raw:\n%.2000s", r, stdout)
			}
			if r := unsafeRune(stderr); r >= 0 {
				t.Errorf("stderr carries %U raw:\n%s", r, stderr)
			}
			if args[0] != "hunt" || !strings.HasPrefix(args[2], "json") {
				return
			}
			// The JSON outputs decode to the evidence unchanged.
			if args[2] == "jsonl" { // the first finding line
				for _, l := range strings.Split(stdout, "\n") {
					if strings.HasPrefix(l, `{"finding"`) {
						stdout = l
						break
					}
				}
			}
			var v any
			if err := json.Unmarshal([]byte(stdout), &v); err != nil {
				t.Fatalf("not JSON: %v\n%.2000s", err, stdout)
			}
			if !strings.Contains(fmt.Sprint(v), "regsvr32 /s "+hostileText) {
				t.Errorf("hostile text lost in the JSON: %.2000s", stdout)
			}
		})
	}
}
