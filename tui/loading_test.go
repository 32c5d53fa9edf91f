package tui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/rules"
	"github.com/evtriage/evtriage/samples"
	"github.com/evtriage/evtriage/triage"
)

// partOf returns fixture() as a snapshot taken earlier shows it: without
// the first `findings` findings and the first `roots` roots (what was
// read later sorts before what was read first).
func partOf(findings, roots int) *triage.Result {
	r := fixture()
	r.Findings = r.Findings[findings:]
	for i, f := range r.Findings {
		f.ID = i
	}
	r.Roots = r.Roots[roots:]
	return r
}

// loading returns a screen of size w×h that has received the snapshot r
// while its inputs are still being read.
func loading(t testing.TB, r *triage.Result, w, h int) Model {
	t.Helper()
	m := New(Config{Title: "loading", ExportDir: t.TempDir(), Inputs: []Input{{Name: "x"}}, Now: func() time.Time { return t0 }})
	m, _ = drive(t, m, tea.WindowSizeMsg{Width: w, Height: h}, loaderMsg{msg: snapshotMsg{r: r, files: 1, partial: true}})
	return m
}

// TestCursorDuringLoading: snapshots that add rows above the selection
// leave the cursor on the first row until the user moves, then on the
// user's row at the same line of the pane.
func TestCursorDuringLoading(t *testing.T) {
	tests := []struct {
		name     string
		keys     []string
		wantRow  int // in the full result
		wantLine int // cursor - top
		tree     bool
	}{
		{"table untouched", nil, 0, 0, false},
		{"table moved", []string{"j", "j"}, 5, 2, false},
		{"tree untouched", []string{"2"}, 0, 0, true},
		{"tree moved", []string{"2", "j"}, 0, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := loading(t, partOf(3, 1), 80, 14)
			m, _ = drive(t, m, press(tt.keys...)...)
			var before any
			if tt.tree {
				before = procKey(m.tree.Selected())
			} else {
				before = keyOf(m.table.Selected())
			}
			m, _ = drive(t, m, loaderMsg{msg: snapshotMsg{r: fixture(), files: 2, partial: true}})
			if tt.tree {
				if len(tt.keys) == 1 {
					if m.tree.cursor != 0 || m.tree.top != 0 {
						t.Fatalf("tree cursor %d top %d, want the first row", m.tree.cursor, m.tree.top)
					}
					return
				}
				if got := procKey(m.tree.Selected()); got != before {
					t.Errorf("tree selection %+v, want %+v", got, before)
				}
				if line := m.tree.cursor - m.tree.top; line != tt.wantLine {
					t.Errorf("tree selection at line %d, want %d", line, tt.wantLine)
				}
				return
			}
			if len(tt.keys) == 0 {
				if m.table.Cursor() != 0 || m.table.top != 0 {
					t.Fatalf("cursor %d top %d, want the first row", m.table.Cursor(), m.table.top)
				}
				return
			}
			if got := keyOf(m.table.Selected()); got != before {
				t.Errorf("selection %+v, want %+v", got, before)
			}
			if m.table.Cursor() != tt.wantRow || m.table.Cursor()-m.table.top != tt.wantLine {
				t.Errorf("cursor row %d at line %d, want row %d at line %d", m.table.Cursor(), m.table.Cursor()-m.table.top,
					tt.wantRow, tt.wantLine)
			}
		})
	}
}

// TestCursorKeepsLineDuringLoading: on a log long enough to scroll, a
// user who moved down keeps their finding and their process at the same
// line of the pane when a snapshot inserts rows above them (earlier
// findings, other roots), and the first row stays selected for a user who
// did not move.
func TestCursorKeepsLineDuringLoading(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gen.evtx")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := samples.Generate(f, samples.Options{Events: 600, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	// hunt reads the log anew: a later snapshot's values are new ones.
	hunt := func() *triage.Result {
		h := triage.NewHunter(triage.Options{Rules: rules.Load(rules.LoadOptions{})})
		if err := h.AddFile(context.Background(), path, nil); err != nil {
			t.Fatal(err)
		}
		return h.Finish()
	}
	// The earlier snapshot lacks the first 40 findings and the first 4
	// roots (with their subtrees), which sort above the rest.
	early := hunt()
	if len(early.Findings) < 100 || len(early.Roots) < 8 {
		t.Fatalf("%d findings, %d roots: too few to scroll", len(early.Findings), len(early.Roots))
	}
	early.Findings, early.Roots = early.Findings[40:], early.Roots[4:]
	for i, f := range early.Findings {
		f.ID = i
	}
	tests := []struct {
		name string
		keys []string
		tree bool
	}{
		{"table untouched", nil, false},
		{"table moved", []string{"j", "j", "j", "j", "j", "j", "j", "j", "j", "j", "j", "j", "j", "j", "j", "J"}, false},
		{"tree untouched", []string{"2"}, true},
		{"tree moved", []string{"2", "j", "j", "j", "j", "j", "j", "j", "j", "j", "j", "j", "j", "j", "j", "j"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := loading(t, early, 80, 24)
			m, _ = drive(t, m, press(tt.keys...)...)
			type place struct {
				key          any
				cursor, line int
			}
			at := func(m Model) place {
				if tt.tree {
					var key any
					if p := m.tree.Selected(); p != nil {
						key = procKey(p)
					} else if g := m.tree.SelectedGroup(); g != nil {
						key = g.groupKey
					}
					return place{key, m.tree.cursor, m.tree.cursor - m.tree.top}
				}
				return place{keyOf(m.table.Selected()), m.table.Cursor(), m.table.Cursor() - m.table.top}
			}
			before := at(m)
			moved := len(tt.keys) > 1 || !tt.tree && len(tt.keys) > 0
			if moved && (before.line == 0 || before.line == before.cursor) {
				t.Fatalf("the pane did not scroll: %+v", before)
			}
			m, _ = drive(t, m, loaderMsg{msg: snapshotMsg{r: hunt(), files: 1, partial: true}})
			after := at(m)
			switch {
			case !moved && (after.cursor != 0 || after.line != 0):
				t.Errorf("cursor %+v, want the first row", after)
			case moved && (after.key != before.key || after.line != before.line || after.cursor <= before.cursor):
				t.Errorf("after the snapshot %+v, want %+v lower in the list at the same line", after, before)
			}
		})
	}
}

// TestFinishReleasesSnapshot: while Finish builds the final Result the
// screen holds no snapshot (work on the old one that arrives late is
// dropped), says what it is doing, and shows the final Result with the
// user's selection where it was; an export asked meanwhile waits for it and
// is complete.
func TestFinishReleasesSnapshot(t *testing.T) {
	m := loading(t, partOf(3, 1), 80, 14)
	m, _ = drive(t, m, press("j", "j", "2", "j", "1", "e")...) // the export menu open
	wantF, wantP := keyOf(m.table.Selected()), procKey(m.tree.Selected())
	late := prepare(m.load.received+1, 1, false, partOf(3, 1), nil)() // indexing still under way
	m.load.received++
	m, _ = drive(t, m, loaderMsg{msg: finishingMsg{}})
	if m.res != nil || m.table.Len() != 0 || m.tree.Len() != 0 || m.detail.Key() != nil {
		t.Fatalf("the snapshot is still held: res %v, %d rows, %d tree rows", m.res != nil, m.table.Len(), m.tree.Len())
	}
	if got := screen(m); !strings.Contains(got, "building the process tree") {
		t.Errorf("the screen does not say what it does:\n%s", got)
	}
	m, _ = drive(t, m, late)
	if m.res != nil {
		t.Fatal("a snapshot indexed before the release was shown")
	}
	m, _ = drive(t, m, press("enter")...)
	if !strings.Contains(m.message, "waits") {
		t.Errorf("export while finishing: %q", m.message)
	}
	m, _ = drive(t, m, loaderMsg{msg: snapshotMsg{r: fixture(), files: 2, final: true}}, loaderMsg{msg: loadDoneMsg{}})
	if got := keyOf(m.table.Selected()); got != wantF {
		t.Errorf("finding %+v, want %+v", got, wantF)
	}
	if got := procKey(m.tree.Selected()); got != wantP {
		t.Errorf("process %+v, want %+v", got, wantP)
	}
	if !strings.Contains(m.message, "wrote 7 findings") {
		t.Fatalf("the waiting export: %q", m.message)
	}
	data, err := os.ReadFile(filepath.Join(m.cfg.ExportDir, "evtriage-findings-"+m.stamp()+".json"))
	if err != nil || !strings.Contains(string(data), `"complete": true`) {
		t.Errorf("export of the final result is not complete (%v):\n%.300s", err, data)
	}
}

// TestManySmallFilesFewSnapshots loads a folder of small logs through the
// real loader (its clock never fires): the snapshots follow the work done
// (Hunter.Snapshot), not the files, so the screen indexes and filters a
// few times, not once per file; the missing input is a source with its
// problem, and the screen ends ready on the final Result.
func TestManySmallFilesFewSnapshots(t *testing.T) {
	dir := t.TempDir()
	var inputs []Input
	for i := range 120 {
		path := filepath.Join(dir, fmt.Sprintf("h%03d.evtx", i))
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := samples.Generate(f, samples.Options{Hosts: 1, Events: 40, Seed: int64(i + 1)}); err != nil {
			t.Fatal(err)
		}
		f.Close()
		inputs = append(inputs, Input{Name: path, Path: path})
	}
	missing := filepath.Join(dir, "gone.evtx")
	inputs = append(inputs, Input{Path: missing, Err: &parser.InputError{Path: missing, Err: os.ErrNotExist}})
	ch := make(chan tea.Msg, 16)
	go load(context.Background(), clock{now: time.Now, after: func(time.Duration) <-chan time.Time { return nil }},
		triage.Options{Rules: rules.Load(rules.LoadOptions{})}, inputs, false, ch)
	m := New(Config{Inputs: inputs, ExportDir: dir})
	m, _ = drive(t, m, tea.WindowSizeMsg{Width: 120, Height: 40})
	snaps, finals := 0, 0
	for msg := range ch {
		if s, ok := msg.(snapshotMsg); ok {
			snaps++
			if s.final {
				finals++
			}
		}
		m, _ = drive(t, m, loaderMsg{msg: msg})
	}
	if finals != 1 || snaps > 4 {
		t.Errorf("%d snapshots (%d final) for %d files, want a few and one final", snaps, finals, len(inputs))
	}
	if m.load.running || !m.load.complete || m.res == nil || len(m.res.Sources) != len(inputs) {
		t.Fatalf("not ready on the final result: %+v", m.load)
	}
	last := m.res.Sources[len(m.res.Sources)-1]
	if last.Path != missing || len(last.Problems) != 1 {
		t.Errorf("the missing input is not a source with its problem: %+v", last)
	}
	if !strings.HasSuffix(strings.SplitN(screen(m), "\n", 2)[0], "ready") {
		t.Errorf("header:\n%s", screen(m))
	}
}
