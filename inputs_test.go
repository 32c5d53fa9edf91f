package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fleetExports hunts the shared logs file by file into per-file exports
// (JSON Lines and JSON documents) under a results folder that also holds
// JSON that is no export, as a Velociraptor download does.
func fleetExports(t *testing.T) (dir string, exports []string) {
	t.Helper()
	shared := sharedLogs(t)
	dir = filepath.Join(t.TempDir(), "results")
	if err := os.MkdirAll(filepath.Join(dir, "C.1", "uploads"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"sysmon_regsvr32_sct.evtx", "sysmon_renamed_regsvr32_scrobj.evtx"} {
		ext := ".jsonl"
		if i == 1 {
			ext = ".json"
		}
		out := filepath.Join(dir, "C.1", "uploads", "evtriage-"+strings.TrimSuffix(name, ".evtx")+ext)
		if code, _, stderr := runCapture(t, "hunt", "--min-level", "low", "-o", out, filepath.Join(shared, name)); code != exitOK {
			t.Fatalf("hunt %s: exit %d: %s", name, code, stderr)
		}
		exports = append(exports, out)
	}
	for name, data := range map[string]string{
		"client_info.json":                          `{"ClientId":"C.1","Hostname":"IEWIN7"}`,
		"Windows.EventLogs.Evtriage%2FResults.json": `{"EventTime":"2019-05-12T18:35:05Z","Rule":"x","finding":{}}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir, exports
}

func TestSortPaths(t *testing.T) {
	dir, exports := fleetExports(t)
	shared := sharedLogs(t)
	tmp := t.TempDir()
	notExport := filepath.Join(tmp, "other.json")
	if err := os.WriteFile(notExport, []byte(`{"a":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(tmp, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	mixed := filepath.Join(tmp, "case")
	if err := os.MkdirAll(mixed, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(shared, "sysmon_regsvr32_sct.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"ws.evtx": data, "evtriage-findings.json": mustRead(t, exports[1])} {
		if err := os.WriteFile(filepath.Join(mixed, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name                       string
		paths                      []string
		logs, exports, errs, notes int
		usage                      bool
	}{
		{name: "a folder of exports", paths: []string{dir}, exports: 2, notes: 1},
		{name: "export files", paths: exports, exports: 2},
		{name: "a folder of logs", paths: []string{shared}, logs: 10},
		{name: "a folder of logs and an earlier export: the logs", paths: []string{mixed}, logs: 1},
		{name: "JSON that is no export", paths: []string{notExport}, errs: 1},
		{name: "an empty folder", paths: []string{empty}, errs: 1},
		{name: "a missing export", paths: []string{filepath.Join(tmp, "gone.jsonl")}, errs: 1},
		{name: "logs and exports", paths: []string{shared, exports[0]}, logs: 10, exports: 1, usage: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, err := sortPaths(tc.paths)
			if (err != nil) != tc.usage {
				t.Fatalf("error %v, want a usage error: %v", err, tc.usage)
			}
			if len(in.logs) < tc.logs || (tc.logs == 0) != (len(in.logs) == 0) || len(in.exports) != tc.exports || len(in.errs) != tc.errs || len(in.notes) != tc.notes {
				t.Errorf("%d logs, %d exports, errors %v, notes %q; want %d, %d, %d, %d", len(in.logs), len(in.exports), in.errs, in.notes,
					tc.logs, tc.exports, tc.errs, tc.notes)
			}
		})
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHuntExports: hunt reads exports back — a fleet's, from a folder —
// and writes them again in any format, filtered by --min-level; flags
// that say how to hunt logs are refused.
func TestHuntExports(t *testing.T) {
	dir, exports := fleetExports(t)
	code, stdout, stderr := runCapture(t, "hunt", "--format", "json", dir)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "are not evtriage exports (passed over)") {
		t.Errorf("stderr does not note the other JSON files: %s", stderr)
	}
	var doc struct {
		Sources []struct {
			Path    string
			Records int
		}
		Summary  struct{ Findings int }
		Findings []struct {
			Rule struct{ Level string }
		}
		Processes []json.RawMessage
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, p := range exports {
		_, one, _ := runCapture(t, "hunt", "--format", "json", p)
		var d struct{ Findings []json.RawMessage }
		if err := json.Unmarshal([]byte(one), &d); err != nil {
			t.Fatal(err)
		}
		want += len(d.Findings)
	}
	if len(doc.Sources) != 2 || len(doc.Findings) != want || want == 0 || len(doc.Processes) == 0 {
		t.Errorf("%d sources, %d findings (want %d), %d processes", len(doc.Sources), len(doc.Findings), want, len(doc.Processes))
	}
	// Filtered and turned into a CSV timeline.
	code, stdout, stderr = runCapture(t, "hunt", "--format", "csv", "--min-level", "high", dir)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	high := 0
	for _, f := range doc.Findings {
		if f.Rule.Level == "high" || f.Rule.Level == "critical" {
			high++
		}
	}
	if len(rows)-1 != high || high == 0 {
		t.Errorf("%d CSV rows, want %d high findings", len(rows)-1, high)
	}
	for _, args := range [][]string{{"--rules", dir}, {"--baseline", exports[0]}, {"--no-builtin"}, {"--new-key", "parent-child"}} {
		code, _, stderr := runCapture(t, append(append([]string{"hunt"}, args...), dir)...)
		if code != exitUsage || !strings.Contains(stderr, "read as they were exported") {
			t.Errorf("%v on exports: exit %d: %s", args, code, stderr)
		}
	}
	shared := sharedLogs(t)
	if code, _, stderr := runCapture(t, "hunt", shared, exports[0]); code != exitUsage || !strings.Contains(stderr, "both logs") {
		t.Errorf("logs and exports: exit %d: %s", code, stderr)
	}
	// The screen opens them as exports.
	e := &env{stdout: &strings.Builder{}, stderr: &strings.Builder{}}
	df, _, stop := parseDefaultFlags(e, []string{dir})
	if stop {
		t.Fatal(e.stderr)
	}
	cfg, err := screenConfig(df, func(string) string { return "" })
	if err != nil || !cfg.Exports || len(cfg.Inputs) != 2 || len(cfg.Notes) != 1 {
		t.Errorf("screen config: %v, exports %v, %d inputs, notes %q", err, cfg.Exports, len(cfg.Inputs), cfg.Notes)
	}
	if code := run([]string{"--rules", dir, dir}, strings.NewReader(""), &strings.Builder{}, &strings.Builder{}); code != exitUsage {
		t.Errorf("the screen with --rules on exports: exit %d", code)
	}
}
