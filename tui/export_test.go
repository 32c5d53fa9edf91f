package tui

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evtriage/evtriage/rules"
	"github.com/evtriage/evtriage/triage"
)

// TestExportCmd: the screen's exports go through the shared writer, never
// replace a file, and one taken while loading says so.
func TestExportCmd(t *testing.T) {
	dir := t.TempDir()
	r := fixture()
	first := filepath.Join(dir, "evtriage-findings-STAMP.json")
	if err := os.WriteFile(first, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		loading  bool
		want     string
		complete bool
	}{
		{false, "evtriage-findings-STAMP-2.json", true},
		{true, "evtriage-findings-STAMP-3.json", false},
	}
	for _, tc := range tests {
		j := exportJob{dir: dir, what: "findings", stamp: "STAMP", format: triage.FormatJSON, r: r, findings: r.Findings,
			sel: triage.Selection{Screen: true, Filter: triage.Filter{MinLevel: rules.LevelLow}}, loading: tc.loading, out: newWriting()}
		msg := exportCmd(j)().(exportedMsg)
		if msg.err != nil || filepath.Base(msg.path) != tc.want {
			t.Fatalf("exported to %q (%v), want %s", msg.path, msg.err, tc.want)
		}
		if said := strings.Contains(msg.text(), "taken while loading (15 events read so far"); said != tc.loading {
			t.Errorf("loading %v: the message says %q", tc.loading, msg.text())
		}
		data, err := os.ReadFile(msg.path)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Complete  bool
			Selection struct {
				Screen bool
				Filter struct {
					MinLevel string `json:"min_level"`
				}
			}
			Summary  struct{ Events int }
			Findings []json.RawMessage
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Complete != tc.complete || doc.Summary.Events != r.Events || len(doc.Findings) != len(r.Findings) {
			t.Errorf("loading %v: complete %v, %d events, %d findings", tc.loading, doc.Complete, doc.Summary.Events, len(doc.Findings))
		}
		if !doc.Selection.Screen || doc.Selection.Filter.MinLevel != "low" {
			t.Errorf("selection %+v: the screen's filter is not recorded", doc.Selection)
		}
	}
	if b, _ := os.ReadFile(first); string(b) != "precious" {
		t.Errorf("existing file overwritten: %.20q", b)
	}
	if r.Incomplete || r.Selection != nil {
		t.Error("the shared result was changed (incomplete, selection)")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 3 {
		t.Errorf("%d files in the export folder, want 3 (temporary files left?)", len(ents))
	}
}

// TestExportTimesketchUndated: a Timesketch export from the screen leaves
// out the findings without a time and says so.
func TestExportTimesketchUndated(t *testing.T) {
	dir := t.TempDir()
	r := fixture()
	r.Findings[0].Event.Event.Time = time.Time{}
	j := exportJob{dir: dir, what: "findings", stamp: "STAMP", format: triage.FormatTimesketch, r: r, findings: r.Findings, out: newWriting()}
	msg := exportCmd(j)().(exportedMsg)
	if msg.err != nil || filepath.Base(msg.path) != "evtriage-findings-STAMP-timesketch.jsonl" {
		t.Fatalf("exported to %q (%v)", msg.path, msg.err)
	}
	undated := 0
	for _, f := range r.Findings {
		if f.Event.Event.Time.IsZero() {
			undated++ // the first finding's, and any other on its event
		}
	}
	if msg.n != len(r.Findings)-undated || msg.undated != undated || undated == 0 {
		t.Errorf("%d written, %d undated; want %d and %d", msg.n, msg.undated, len(r.Findings)-undated, undated)
	}
	data, err := os.ReadFile(msg.path)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(data), "\n"); lines != msg.n {
		t.Errorf("%d lines, want %d", lines, msg.n)
	}
	want := fmt.Sprintf("wrote %d findings to %s — %d without a time left out", msg.n, msg.path, undated)
	if !strings.HasPrefix(msg.text(), want) {
		t.Errorf("message %q, want it to start %q", msg.text(), want)
	}
}
