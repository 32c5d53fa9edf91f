package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evtriage/evtriage/internal/golden"
)

func TestStats(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, "good.evtx", sampleEvents())
	corrupt(t, writeLog(t, dir, "bad.evtx", sampleEvents()[:2]))
	good := "good.evtx"
	tests := []struct {
		name   string
		args   []string
		code   int
		golden string
		stderr []string
	}{
		{name: "table", args: []string{"stats", "."}, code: exitPartial, golden: "stats_table.txt"},
		{name: "json", args: []string{"stats", "--format", "json", "."}, code: exitPartial, golden: "stats.json"},
		{name: "clean file", args: []string{"stats", "--format", "json", "--workers", "1", good}, code: exitOK},
		{name: "missing", args: []string{"stats", good, "nope"}, code: exitPartial, stderr: []string{"no such file"}},
		{name: "no path", args: []string{"stats"}, code: exitUsage, stderr: []string{"no PATH given"}},
		{name: "bad format", args: []string{"stats", "--format", "csv", "."}, code: exitUsage, stderr: []string{`unknown --format "csv"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runIn(t, dir, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			for _, s := range tc.stderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
			if tc.golden != "" {
				golden.Assert(t, tc.golden, []byte(stdout))
			}
		})
	}
}

// TestStatsCountsAddUp checks the JSON report against itself: per-file
// event counts sum to records, files sum to totals.
func TestStatsCountsAddUp(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, "a.evtx", sampleEvents())
	writeLog(t, dir, "b.evtx", sampleEvents()[1:])
	code, stdout, stderr := runCapture(t, "stats", "--format", "json", dir)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep statsReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, f := range rep.Files {
		sum := 0
		for _, c := range f.EventIDs {
			sum += c.Count
		}
		if sum != f.Records {
			t.Errorf("%s: event counts sum to %d, records %d", f.File, sum, f.Records)
		}
		total += f.Records
	}
	sum := 0
	for _, c := range rep.Totals.EventIDs {
		sum += c.Count
	}
	if total != 7 || rep.Totals.Records != total || sum != total || rep.Totals.Files != 2 {
		t.Errorf("totals %+v, files sum %d, event counts %d", rep.Totals, total, sum)
	}
}

// TestStatsTamper checks that stats shows the tamper signs hunts find,
// with where: the shared psexec log begins with a Security 1102.
func TestStatsTamper(t *testing.T) {
	path := filepath.Join(sharedLogs(t), "security_4688_v1_psexec.evtx")
	code, stdout, stderr := runCapture(t, "stats", path)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"TAMPER SIGNS", "cleared 1", "Tamper signs in " + path,
		`log cleared: Security 1102, record 13677 at offset 0x1200, 2016-09-21 03:40:37 UTC — Security log cleared by IE10WIN7\IEUser`} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stats lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, _ = runCapture(t, "stats", "--format", "json", path)
	var rep statsReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || code != exitOK {
		t.Fatalf("exit %d: %v", code, err)
	}
	if tp := rep.Files[0].Tamper; tp == nil || tp.Cleared != 1 || tp.EventsTotal != 1 || tp.Events[0].RecordID != 13677 {
		t.Errorf("tamper %+v", tp)
	}
}
