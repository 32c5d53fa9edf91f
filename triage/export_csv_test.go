package triage

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/rules"
)

// flatRule matches every Sysmon process creation; its title needs CSV
// quoting.
const flatRule = `title: Any "process", started
id: flat-any
level: medium
tags: [attack.execution, attack.t1218.010]
logsource: {product: windows, category: process_creation}
detection:
  sel: {Image|endswith: '.exe'}
  condition: sel
`

// flatResult hunts, with flatRule, a log written from hand-made events:
// on WS1 explorer starts regsvr32 (a command line that is a spreadsheet
// formula) which starts cmd (one starting with "-"); on WS2 a process
// whose command line holds a comma, quotes, a newline, terminal escapes
// and a bidi override, one whose user starts with "@", and one with no
// time at all.
func flatResult(t *testing.T) *Result {
	t.Helper()
	dir := t.TempDir()
	rule := filepath.Join(dir, "flat.yml")
	if err := os.WriteFile(rule, []byte(flatRule), 0o600); err != nil {
		t.Fatal(err)
	}
	at := func(s int) time.Time { return time.Date(2024, 3, 1, 10, 0, s, 123456700, time.UTC) }
	proc := func(host string, rec uint64, when time.Time, g, pid int, image, cmdline, user string, pg, ppid int, pimage string) *parser.Event {
		return ev(sysmonCh, 1, host, rec, when, "ProcessGuid", guid(g), "ProcessId", fmt.Sprint(pid), "Image", image,
			"CommandLine", cmdline, "User", user, "ParentProcessGuid", guid(pg), "ParentProcessId", fmt.Sprint(ppid),
			"ParentImage", pimage, "CurrentDirectory", `C:\Users\u\`)
	}
	evs := []*parser.Event{
		proc("WS1", 1, at(1), 1, 100, `C:\Windows\explorer.exe`, `C:\Windows\Explorer.EXE`, `WS1\u`, 9, 9, `C:\Windows\System32\userinit.exe`),
		proc("WS1", 2, at(2), 2, 200, `C:\Windows\System32\regsvr32.exe`, `=HYPERLINK("http://evil.example/x","click")`, `WS1\u`, 1, 100, `C:\Windows\explorer.exe`),
		proc("WS1", 3, at(3), 3, 300, `C:\Windows\System32\cmd.exe`, `-enc SQBFAFgA`, `WS1\u`, 2, 200, `C:\Windows\System32\regsvr32.exe`),
		proc("WS2", 4, at(4), 4, 400, `C:\Windows\System32\rundll32.exe`, "a, \"b\"\nc \x1b]0;pwned\x07 \u202eexe.txt", "@admin", 8, 80, `C:\x.exe`),
		proc("WS2", 5, time.Time{}, 5, 500, `C:\Windows\System32\regsvr32.exe`, `regsvr32 /s +x.dll`, `WS2\u`, 8, 80, `C:\x.exe`),
	}
	path := filepath.Join(dir, "flat.evtx")
	writeLog(t, path, evs)
	set := rules.Load(rules.LoadOptions{NoBuiltin: true, Paths: []string{rule}})
	if rj := set.Rejected(); len(rj) > 0 {
		t.Fatalf("rule rejected: %v", rj)
	}
	h := NewHunter(Options{Rules: set, Provenance: Provenance{Version: "v9.9.9", Commit: "abcdef", Command: []string{"hunt", "-o", "x.csv", path}}})
	if err := h.AddFile(context.Background(), path, nil); err != nil {
		t.Fatal(err)
	}
	res := h.Finish()
	if len(res.Findings) != len(evs) {
		t.Fatalf("%d findings, want %d", len(res.Findings), len(evs))
	}
	return res
}

// timelineColumns is the documented column order of the CSV timeline
// (README, "CSV timeline"): the first eighteen the issue names, then the
// added ones.
var timelineColumns = []string{"time", "host", "level", "rule_title", "rule_id", "event_id", "channel", "image", "pid",
	"command_line", "parent_image", "parent_command_line", "user", "file", "record_id", "new", "verdict", "details",
	"tags", "lineage", "export_generated", "export_tool", "export_command", "export_rules", "export_filters",
	"export_complete"}

func TestCSVCell(t *testing.T) {
	tests := []struct {
		in   flatValue
		want string
	}{
		{flatString("regsvr32 /s x.dll"), "regsvr32 /s x.dll"},
		{flatString(""), ""},
		{flatString("=1+1"), "'=1+1"},
		{flatString("+cmd|' /C calc'!A0"), "'+cmd|' /C calc'!A0"},
		{flatString("-enc SQBFAFgA"), "'-enc SQBFAFgA"},
		{flatString("@SUM(A1)"), "'@SUM(A1)"},
		{flatString("-"), "'-"},
		{flatString("a=1"), "a=1"},
		{flatString("\t=1"), `\t=1`},                     // escaped: no tab left to start a formula
		{flatString("\r=1"), `\r=1`},                     // likewise a carriage return
		{flatString("x\x1b]0;t\x07"), `x\x1b]0;t\x07`},   // terminal escapes shown, not sent
		{flatString("\u202eexe.txt"), `\u202eexe.txt`},   // a bidi override shown
		{flatString("ünïcode 日本"), "ünïcode 日本"},         // UTF-8 as it is
		{flatString("'quoted' \"x\""), "'quoted' \"x\""}, // csv.Writer quotes; the cell is as it is
		{flatUint(4688), "4688"},
		{flatBoolean(true), "true"},
		{flatValue{}, ""},
	}
	for _, tc := range tests {
		if got := csvCell(tc.in); got != tc.want {
			t.Errorf("csvCell(%q) = %q, want %q", tc.in.String(), got, tc.want)
		}
	}
}

// readCSV reads a CSV export with encoding/csv, strictly (every row as
// wide as the header).
func readCSV(t *testing.T, data []byte) [][]string {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = 0
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestCSVExport(t *testing.T) {
	res := flatResult(t)
	res.Selection = &Selection{Filter: Filter{MinLevel: rules.LevelLow}}
	var b bytes.Buffer
	if err := WriteExport(&b, res, res.Findings, FormatCSV); err != nil {
		t.Fatal(err)
	}
	data := b.Bytes()
	for i, c := range data {
		if (c < 0x20 && c != '\r' && c != '\n') || c == 0x7f {
			t.Fatalf("raw control byte %#x at %d: %q", c, i, data[max(i-20, 0):min(i+20, len(data))])
		}
	}
	if strings.Contains(string(data), "\u202e") || bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		t.Error("a bidi override, or a byte order mark, in the CSV")
	}
	if !bytes.HasSuffix(data, []byte("\r\n")) || bytes.Count(data, []byte("\n")) != bytes.Count(data, []byte("\r\n")) {
		t.Error("lines do not all end in CRLF (RFC 4180)")
	}
	rows := readCSV(t, data)
	if strings.Join(rows[0], ",") != strings.Join(timelineColumns, ",") {
		t.Fatalf("header %v\nwant   %v", rows[0], timelineColumns)
	}
	if len(rows)-1 != len(res.Findings) {
		t.Fatalf("%d rows, want one per finding (%d)", len(rows)-1, len(res.Findings))
	}
	col := map[string]int{}
	for i, n := range rows[0] {
		col[n] = i
	}
	byRecord := map[string][]string{}
	for _, r := range rows[1:] {
		byRecord[r[col["record_id"]]] = r
	}
	tests := []struct {
		record, column, want string
	}{
		{"2", "time", "2024-03-01T10:00:02.1234567Z"},
		{"2", "host", "WS1"},
		{"2", "level", "medium"},
		{"2", "rule_title", `Any "process", started`},
		{"2", "rule_id", "flat-any"},
		{"2", "event_id", "1"},
		{"2", "channel", "Microsoft-Windows-Sysmon/Operational"},
		{"2", "image", `C:\Windows\System32\regsvr32.exe`},
		{"2", "pid", "200"},
		{"2", "command_line", `'=HYPERLINK("http://evil.example/x","click")`},
		{"2", "parent_image", `C:\Windows\explorer.exe`},
		{"2", "parent_command_line", `C:\Windows\Explorer.EXE`},
		{"2", "user", `WS1\u`},
		{"2", "new", ""},
		{"2", "verdict", ""},
		{"2", "details", `CurrentDirectory: C:\Users\u\ ¦ ParentProcessGuid: ` + guid(1) + ` ¦ ParentProcessId: 100 ¦ ProcessGuid: ` + guid(2) + ` ¦ ProcessId: 200`},
		{"2", "tags", "attack.execution, attack.t1218.010"},
		{"2", "lineage", "userinit.exe > explorer.exe > regsvr32.exe"},
		{"3", "command_line", "'-enc SQBFAFgA"},
		{"3", "parent_command_line", `'=HYPERLINK("http://evil.example/x","click")`},
		{"3", "lineage", "userinit.exe > explorer.exe > regsvr32.exe > cmd.exe"},
		{"4", "command_line", `a, "b"\nc \x1b]0;pwned\x07 \u202eexe.txt`},
		{"4", "user", "'@admin"},
		{"5", "time", ""},
		{"5", "command_line", "regsvr32 /s +x.dll"},
		{"5", "export_tool", "evtriage v9.9.9 commit abcdef"},
		{"5", "export_command", "hunt -o x.csv " + res.Sources[0].Path},
		{"5", "export_rules", "1 rules, " + res.RulesDigest},
		{"5", "export_filters", "min-level low"},
		{"5", "export_complete", "true"},
	}
	for _, tc := range tests {
		r, ok := byRecord[tc.record]
		if !ok {
			t.Fatalf("no row for record %s", tc.record)
		}
		if got := r[col[tc.column]]; got != tc.want {
			t.Errorf("record %s %s = %q, want %q", tc.record, tc.column, got, tc.want)
		}
	}
	if !strings.HasPrefix(res.RulesDigest, "sha256:") {
		t.Errorf("rules digest %q", res.RulesDigest)
	}
	checkPythonReads(t, data, rows)
}

// checkPythonReads reads the CSV with Python's csv module, as scripts and
// pandas-style tools do, and checks it gets the same cells as Go; it skips
// when python3 is not installed.
func checkPythonReads(t *testing.T, data []byte, want [][]string) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Log("python3 not installed: the CSV is not read back with Python's csv module")
		return
	}
	path := filepath.Join(t.TempDir(), "export.csv")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	const script = `import csv, json, sys
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    rows = list(csv.reader(f, strict=True))
    f.seek(0)
    dicts = list(csv.DictReader(f, strict=True))
assert all(len(r) == len(rows[0]) for r in rows), "ragged rows"
assert len(dicts) == len(rows) - 1
json.dump(rows, sys.stdout)
`
	out, err := exec.Command(py, "-c", script, path).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("python3 csv: %v\n%s", err, stderr)
	}
	var got [][]string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("python reads %d rows, Go %d", len(got), len(want))
	}
	for i := range want {
		if strings.Join(got[i], "\x00") != strings.Join(want[i], "\x00") {
			t.Errorf("row %d: python reads\n%q\nGo reads\n%q", i, got[i], want[i])
		}
	}
}
