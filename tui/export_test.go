package tui

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
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
		msg := exportCmd(dir, "findings", "STAMP", r, r.Findings, tc.loading)().(exportedMsg)
		if msg.err != nil || filepath.Base(msg.path) != tc.want {
			t.Fatalf("exported to %q (%v), want %s", msg.path, msg.err, tc.want)
		}
		data, err := os.ReadFile(msg.path)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Complete bool
			Summary  struct{ Events int }
			Findings []json.RawMessage
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Complete != tc.complete || doc.Summary.Events != r.Events || len(doc.Findings) != len(r.Findings) {
			t.Errorf("loading %v: complete %v, %d events, %d findings", tc.loading, doc.Complete, doc.Summary.Events, len(doc.Findings))
		}
	}
	if b, _ := os.ReadFile(first); string(b) != "precious" {
		t.Errorf("existing file overwritten: %.20q", b)
	}
	if r.Incomplete {
		t.Error("the shared result was marked incomplete")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 3 {
		t.Errorf("%d files in the export folder, want 3 (temporary files left?)", len(ents))
	}
}
