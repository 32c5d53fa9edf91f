package main

import (
	"encoding/json"
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
			stdout: []string{`"tool": {`, `"e23771a3-d2bc-4535-9b97-ab6769c1a38d"`, `"bc399179-15fa-4ca9-a55b-d46b526bf897"`},
			// The seed rule's matches on the shared logs are suppressed
			// candidates: not in the default output.
			noStdout: []string{`"ce2c44b5-a6ac-412a-afba-9e89326fa972"`, `"suppressed": [
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
		{name: "jsonl", args: []string{"--format", "jsonl", shared}, code: exitOK, stdout: []string{`{"rule":{"id":"e23771a3`}, noStdout: []string{`"tool"`}},
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
	for _, tc := range []struct{ name, lineStart string }{{"out.json", "{"}, {"out.jsonl", `{"rule"`}} {
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
		var f struct{ New *bool }
		if err := json.Unmarshal([]byte(l), &f); err != nil {
			t.Fatal(err)
		}
		if f.New == nil || *f.New {
			t.Errorf("finding not judged seen: %.200s", l)
		}
		n++
	}
	if n == 0 {
		t.Error("no findings")
	}
}
