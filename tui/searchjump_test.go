package tui

import (
	"strings"
	"testing"
)

// selectedPID is the PID of what is selected in the current view, 0 when
// nothing is.
func selectedPID(m Model) uint32 {
	if m.view == viewTree {
		if p := m.tree.Selected(); p != nil {
			return p.PID
		}
		return 0
	}
	if f := m.table.Selected(); f != nil && f.Process != nil {
		return f.Process.PID
	}
	return 0
}

// TestSearchEnterSelectsFirstMatch checks that enter in the search prompt
// selects the first match at or after the selected row, wrapping, in the
// view that is shown, once the background search is done.
func TestSearchEnterSelectsFirstMatch(t *testing.T) {
	tests := []struct {
		name    string
		before  []string // keys that pick the view and the starting row
		query   string
		wantPID uint32
		wantRow int // table row, or tree row, selected after enter
	}{
		// Findings table, sorted by time: 0-2 regsvr32 1420, 3 cmd 2340,
		// 4 regsvr32 4000, 5 jabber 5120, 6 regsvr32 812.
		{"table forward", nil, "jabber", 5120, 5},
		{"table wraps", []string{"jjjjj"}, "evil.example", 4000, 4},
		{"table selected row matches", []string{"jjj"}, "calc", 2340, 3},
		{"table skips earlier matches", []string{"j"}, "Potentially Suspicious", 4000, 4},
		// Process tree: 0 explorer 3528, 1 cmd 2992, 2 regsvr32 1420,
		// 3 cmd 2340 (collapsed: calc 2344 under it), 4 regsvr32 4000,
		// 5 services 612, 6 jabber 5120, 7 svchost 700, 8 regsvr32 812,
		// 9 wevtutil 900.
		{"tree forward", []string{"2"}, "wevtutil", 900, 9},
		{"tree expands ancestors", []string{"2"}, "2344", 2344, 4},
		{"tree wraps", []string{"2", "G"}, "jabber", 5120, 6},
		{"tree selected row matches", []string{"2", "jjjjjj"}, "scrobj", 5120, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := loaded(t, fixture(), 120, 40)
			m, _ = drive(t, m, press(tt.before...)...)
			m, _ = drive(t, m, press("/", tt.query, "enter")...)
			if got := selectedPID(m); got != tt.wantPID {
				t.Errorf("selected pid %d, want %d", got, tt.wantPID)
			}
			row := m.table.Cursor()
			if m.view == viewTree {
				row = m.tree.cursor
			}
			if row != tt.wantRow {
				t.Errorf("selected row %d, want %d", row, tt.wantRow)
			}
			if !strings.Contains(m.message, "n/N to step") {
				t.Errorf("status %q no longer says what the search found", m.message)
			}
		})
	}
}

// TestSearchJumpFollowsActiveQuery checks that the jump happens for the
// query that is active when results arrive, and only once.
func TestSearchJumpFollowsActiveQuery(t *testing.T) {
	t.Run("superseded query", func(t *testing.T) {
		m := loaded(t, fixture(), 120, 40)
		// Both searches are typed before either result is in.
		m, _ = burst(t, m, press("/", "calc", "enter", "/", "backspace", "backspace", "backspace", "backspace", "jabber", "enter")...)
		if got := selectedPID(m); got != 5120 {
			t.Errorf("selected pid %d, want 5120 (jabber, the active query)", got)
		}
	})
	t.Run("cleared query", func(t *testing.T) {
		m := loaded(t, fixture(), 120, 40)
		m, _ = burst(t, m, press("/", "jabber", "enter", "/", "backspace", "backspace", "backspace", "backspace", "backspace", "backspace", "enter")...)
		if m.search.result != nil {
			t.Fatal("the search was not cleared")
		}
		if got := m.table.Cursor(); got != 0 {
			t.Errorf("selected row %d, want 0: a cleared search must not jump", got)
		}
	})
	t.Run("no jump on a later snapshot", func(t *testing.T) {
		m := loaded(t, fixture(), 120, 40)
		m, _ = drive(t, m, press("/", "jabber", "enter", "g")...)
		if got := m.table.Cursor(); got != 0 {
			t.Fatalf("g left row %d", got)
		}
		// A streamed snapshot re-runs the search; it must not move the
		// selection again.
		r2 := fixture()
		m, _ = drive(t, m, loaderMsg{msg: snapshotMsg{r: r2, files: 2}})
		if m.res != r2 || m.search.result == nil {
			t.Fatal("the snapshot or its search was not applied")
		}
		if got := m.table.Cursor(); got != 0 {
			t.Errorf("selected row %d after a snapshot, want 0", got)
		}
	})
}
