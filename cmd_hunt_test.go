package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evtriage/evtriage/parser"
)

// sharedLogs returns ../shared/evtx beside the module, or skips.
func sharedLogs(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(filepath.Dir(wd), "shared", "evtx")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("../shared/evtx not present")
	}
	return dir
}

// hostileLog is a regsvr32 start whose evidence text carries terminal
// escapes: a title-setting OSC and a colour CSI.
func hostileLog(t *testing.T) string {
	return writeLog(t, t.TempDir(), "hostile.evtx", []*parser.Event{{
		Provider: "Microsoft-Windows-Sysmon", Channel: "Microsoft-Windows-Sysmon/Operational",
		Computer: "WS\x1b]0;owned\x07", EventID: 1, RecordID: 7, Time: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		Fields: []parser.Field{
			{Name: "ProcessGuid", Value: "{11111111-2222-3333-4444-555555555555}"},
			{Name: "ProcessId", Value: "42"},
			{Name: "Image", Value: `C:\Windows\System32\regsvr32.exe`},
			{Name: "CommandLine", Value: "regsvr32 /s \x1b[31mC:\\Users\\x\\evil.dll"},
			{Name: "CurrentDirectory", Value: `C:\Users\x\`},
			{Name: "ParentProcessGuid", Value: "{11111111-2222-3333-4444-000000000001}"},
			{Name: "ParentProcessId", Value: "41"},
			{Name: "ParentImage", Value: `C:\Windows\explorer.exe`},
		},
	}})
}

func TestHuntCommand(t *testing.T) {
	shared := sharedLogs(t)
	hostile := hostileLog(t)
	badRule := filepath.Join(t.TempDir(), "bad.yml")
	if err := os.WriteFile(badRule, []byte("title: x\nlogsource: {product: windows}\ndetection:\n  sel:\n    Image|nosuchmod: a\n  condition: sel\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	corrupt := filepath.Join(t.TempDir(), "corrupt.evtx")
	data, err := os.ReadFile(filepath.Join(shared, "sysmon_regsvr32_sct.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(corrupt, data[:0x1000+5000], 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   []string
		noStdout []string
		stderr   []string
	}{
		{name: "no path", args: []string{}, code: exitUsage, stderr: []string{"no PATH"}},
		{name: "bad level", args: []string{"--min-level", "severe", shared}, code: exitUsage, stderr: []string{"unknown level"}},
		{name: "bad format", args: []string{"--format", "xml", shared}, code: exitUsage, stderr: []string{"unknown --format"}},
		{name: "both baselines", args: []string{"--baseline", shared, "--baseline-window", "30d", shared}, code: exitUsage, stderr: []string{"exclude each other"}},
		{name: "bad window", args: []string{"--baseline-window", "thirty", shared}, code: exitUsage, stderr: []string{"bad window"}},
		{name: "bad key", args: []string{"--new-key", "hash", shared}, code: exitUsage, stderr: []string{"unknown --new-key"}},
		{
			name: "json by default off a terminal", args: []string{shared}, code: exitOK,
			stdout: []string{`"tool": {`, `"id": "e23771a3-d2bc-4535-9b97-ab6769c1a38d"`, `"id": "bc399179-15fa-4ca9-a55b-d46b526bf897"`},
			// The seed rule's matches on the shared logs are suppressed
			// candidates: not in the default output (the rule is loaded:
			// its id is in rules.ids).
			noStdout: []string{`"id": "ce2c44b5-a6ac-412a-afba-9e89326fa972"`, `"suppressed": [
        "filter`},
		},
		{
			name: "table", args: []string{"--format", "table", shared}, code: exitOK,
			stdout: []string{"TIME (UTC)", "CAR-2019-04-002 Generic Regsvr32 - Child of Regsvr32", "jabber.exe (regsvr32)", "suppressed candidates not shown"},
		},
		{
			name: "min level drops low", args: []string{"--format", "table", "--min-level", "medium", shared}, code: exitOK,
			stdout: []string{"Spawned Child Processes"}, noStdout: []string{"Child of Regsvr32 "},
		},
		{
			name: "table sanitises evidence", args: []string{"--format", "table", hostile}, code: exitOK,
			stdout: []string{`WS\x1b]0;owned\x07`, `regsvr32 /s \x1b[31mC:\Users\x\evil.dll`}, noStdout: []string{"\x1b", "\x07"},
		},
		{name: "rejected rule is exit 1", args: []string{"--rules", badRule, shared}, code: exitPartial, stderr: []string{"rule rejected", "bad.yml"}, stdout: []string{`"rejected": [`}},
		{name: "corrupt input is exit 1", args: []string{corrupt}, code: exitPartial, stderr: []string{"corrupt.evtx"}, stdout: []string{`"findings"`}},
		{name: "missing input is exit 1", args: []string{filepath.Join(shared, "nope.evtx"), shared}, code: exitPartial, stderr: []string{"nope.evtx"}, stdout: []string{`"findings"`}},
		{name: "jsonl", args: []string{"--format", "jsonl", shared}, code: exitOK, stdout: []string{`{"export":{"tool":`, `{"process":{"id":`, `{"finding":{"rule":{"id":"e23771a3`}, noStdout: []string{`"processes":[`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCapture(t, append([]string{"hunt"}, tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstderr: %s", code, tc.code, stderr)
			}
			for _, s := range tc.stdout {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout lacks %q:\n%.3000s", s, stdout)
				}
			}
			for _, s := range tc.noStdout {
				if strings.Contains(stdout, s) {
					t.Errorf("stdout has %q", s)
				}
			}
			for _, s := range tc.stderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
			if strings.ContainsAny(stderr, "\x1b\x07") {
				t.Errorf("stderr carries control characters: %q", stderr)
			}
		})
	}
}

func TestHuntOutputFile(t *testing.T) {
	shared := sharedLogs(t)
	dir := t.TempDir()
	for _, tc := range []struct{ name, lineStart string }{{"out.json", "{"}, {"out.jsonl", `{"export":{"tool"`}} {
		out := filepath.Join(dir, tc.name)
		code, stdout, stderr := runCapture(t, "hunt", "-o", out, shared)
		if code != exitOK || stdout != "" {
			t.Fatalf("%s: exit %d stdout %q stderr %s", tc.name, code, stdout, stderr)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if !strings.HasPrefix(lines[0], tc.lineStart) {
			t.Errorf("%s starts %q", tc.name, lines[0])
		}
		if strings.HasSuffix(tc.name, ".jsonl") {
			for i, l := range lines {
				if !json.Valid([]byte(l)) {
					t.Errorf("line %d is not JSON", i+1)
				}
			}
		} else if !json.Valid(data) {
			t.Errorf("%s is not JSON", tc.name)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("folder holds %d entries; temporary files left?", len(entries))
	}
	// A baseline from the earlier export: every finding is then seen.
	code, stdout, _ := runCapture(t, "hunt", "--baseline", filepath.Join(dir, "out.jsonl"), "--format", "jsonl", shared)
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	n := 0
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var line struct{ Finding *struct{ New *bool } }
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatal(err)
		}
		if f := line.Finding; f == nil {
			continue
		} else if f.New == nil || *f.New {
			t.Errorf("finding not judged seen: %.200s", l)
		}
		n++
	}
	if n == 0 {
		t.Error("no findings")
	}
}

// correlationInputs writes two hand-made logs and a rule folder: a
// regsvr32 start rule and an event_count correlation over it (three starts
// by one user within a minute). The logs hold alice's starts out of time
// order across the files (0 s and 40 s in one, 10 s and 20 s in the other)
// and two of bob's.
func correlationInputs(t *testing.T) (ruleDir string, logs []string) {
	t.Helper()
	ruleDir = t.TempDir()
	docs := map[string]string{
		"start.yml": `title: regsvr32 start
id: 0c0c0c0c-0000-4000-8000-000000000001
name: regsvr32_start
level: low
logsource: {product: windows, category: process_creation}
detection:
    selection:
        Image|endswith: '\regsvr32.exe'
    condition: selection
`,
		"burst.yml": `title: repeated regsvr32
id: 0c0c0c0c-0000-4000-8000-0000000000c1
level: high
correlation:
    type: event_count
    rules: [regsvr32_start]
    group-by: [User]
    timespan: 1m
    condition: {gte: 3}
`,
	}
	for name, d := range docs {
		if err := os.WriteFile(filepath.Join(ruleDir, name), []byte(d), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	start := func(rec uint64, s, pid int, user string) *parser.Event {
		return &parser.Event{Provider: "Microsoft-Windows-Sysmon", Channel: "Microsoft-Windows-Sysmon/Operational",
			Computer: "WS1", EventID: 1, RecordID: rec, Time: t0.Add(time.Duration(s) * time.Second),
			Fields: []parser.Field{
				{Name: "ProcessGuid", Value: fmt.Sprintf("{365ABB72-0000-0000-0000-%012X}", pid)},
				{Name: "ProcessId", Value: fmt.Sprint(pid)},
				{Name: "Image", Value: `C:\Windows\System32\regsvr32.exe`},
				{Name: "CommandLine", Value: fmt.Sprintf("regsvr32 /s c:\\users\\public\\%d.dll", pid)},
				{Name: "User", Value: user},
				{Name: "ParentImage", Value: `C:\Windows\explorer.exe`},
			}}
	}
	dir := t.TempDir()
	logs = []string{
		writeLog(t, dir, "a.evtx", []*parser.Event{start(1, 0, 101, `WS1\alice`), start(2, 40, 102, `WS1\alice`), start(3, 5, 201, `WS1\bob`)}),
		writeLog(t, dir, "b.evtx", []*parser.Event{start(1, 10, 103, `WS1\alice`), start(2, 20, 104, `WS1\alice`), start(3, 300, 202, `WS1\bob`)}),
	}
	return ruleDir, logs
}

func TestHuntCorrelation(t *testing.T) {
	ruleDir, logs := correlationInputs(t)
	base := append([]string{"hunt", "--no-builtin", "--rules", ruleDir}, logs...)
	tests := []struct {
		name     string
		format   string
		stdout   []string
		noStdout []string
	}{
		{"table", "table", []string{
			"2024-03-01 10:00:20  WS1   high   repeated regsvr32  -    104  regsvr32.exe  User=WS1\\alice: 3 in 20s (event_count, window 1m0s, 3 events)",
			"1 findings; 0 suppressed candidates not shown; 6 matches of correlation-only rules; 6 events from 2 files",
		}, []string{"regsvr32 start", "bob"}},
		{"jsonl", "jsonl", []string{`"correlation":{"type":"event_count","timespan_seconds":60,"group":[{"field":"User","value":"WS1\\alice"}],"count":3,"start":"2024-03-01T10:00:00Z","end":"2024-03-01T10:00:20Z","events":[`},
			[]string{`"title":"regsvr32 start"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCapture(t, append(base[:4:4], append([]string{"--format", tc.format}, logs...)...)...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			for _, s := range tc.stdout {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout)
				}
			}
			for _, s := range tc.noStdout {
				if strings.Contains(stdout, s) {
					t.Errorf("stdout has %q:\n%s", s, stdout)
				}
			}
		})
	}
	// The JSON document: one finding, its event the completing start
	// (b.evtx #2), its contributing events the three starts in time order.
	code, stdout, stderr := runCapture(t, base...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc struct {
		Summary struct {
			Findings        int `json:"findings"`
			CorrelationOnly int `json:"correlation_only"`
		} `json:"summary"`
		Findings []struct {
			Rule  struct{ Title string } `json:"rule"`
			Event struct {
				File     string `json:"file"`
				RecordID uint64 `json:"record_id"`
			} `json:"event"`
			Process     *int `json:"process"`
			Correlation *struct {
				Count  int `json:"count"`
				Events []struct {
					File     string `json:"file"`
					RecordID uint64 `json:"record_id"`
					Time     string `json:"time"`
					RuleID   string `json:"rule_id"`
				} `json:"events"`
				EventsTotal int `json:"events_total"`
			} `json:"correlation"`
		} `json:"findings"`
		Processes []struct {
			ID  int    `json:"id"`
			PID uint32 `json:"pid"`
		} `json:"processes"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatal(err)
	}
	pid := map[int]uint32{}
	for _, p := range doc.Processes {
		pid[p.ID] = p.PID
	}
	if doc.Summary.Findings != 1 || doc.Summary.CorrelationOnly != 6 || len(doc.Findings) != 1 {
		t.Fatalf("summary %+v, %d findings", doc.Summary, len(doc.Findings))
	}
	f := doc.Findings[0]
	if f.Rule.Title != "repeated regsvr32" || filepath.Base(f.Event.File) != "b.evtx" || f.Event.RecordID != 2 ||
		f.Process == nil || pid[*f.Process] != 104 || f.Correlation == nil || f.Correlation.Count != 3 || f.Correlation.EventsTotal != 3 {
		t.Fatalf("finding %+v", f)
	}
	var got []string
	for _, e := range f.Correlation.Events {
		got = append(got, fmt.Sprintf("%s#%d@%s:%s", filepath.Base(e.File), e.RecordID, e.Time, e.RuleID[len(e.RuleID)-2:]))
	}
	want := "a.evtx#1@2024-03-01T10:00:00Z:01 b.evtx#1@2024-03-01T10:00:10Z:01 b.evtx#2@2024-03-01T10:00:20Z:01"
	if strings.Join(got, " ") != want {
		t.Errorf("contributing events %s, want %s", strings.Join(got, " "), want)
	}
}

// TestHuntProblemsOnce: an input that gives nothing (missing, not EVTX,
// a folder without .evtx) is reported once on stderr, by its reason alone
// (no "offset 0x0" for a problem with the input as a whole), while damage
// inside a file keeps its offset.
func TestHuntProblemsOnce(t *testing.T) {
	dir := t.TempDir()
	notEVTX := filepath.Join(dir, "notes.evtx")
	if err := os.WriteFile(notEVTX, []byte("not an event log"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	good := writeLog(t, dir, "good.evtx", nil)
	tests := []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "nope.evtx"), "nope.evtx"},
		{"not evtx", notEVTX, "notes.evtx"},
		{"folder without logs", empty, "no .evtx file found in"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCapture(t, "hunt", "--format", "json", tc.path, good)
			if code != exitPartial {
				t.Fatalf("exit %d, want %d\n%s", code, exitPartial, stderr)
			}
			lines := 0
			for _, l := range strings.Split(stderr, "\n") {
				if strings.Contains(l, tc.want) {
					lines++
				}
			}
			if lines != 1 {
				t.Errorf("%q reported on %d lines, want 1:\n%s", tc.want, lines, stderr)
			}
			if strings.Contains(stderr, "offset 0x0:") && tc.name != "not evtx" {
				t.Errorf("a problem with the whole input shows an offset:\n%s", stderr)
			}
		})
	}
}
