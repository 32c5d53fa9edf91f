package tui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/evtriage/evtriage/triage"
)

// following returns a screen of size w×h opened with --follow whose
// clock is *now, having received the snapshot r with the status st.
func following(t testing.TB, now *time.Time, r *triage.Result, st triage.FollowStatus, w, h int) Model {
	t.Helper()
	m := New(Config{Title: "lab", ExportDir: t.TempDir(), Follow: &Follow{Paths: []string{"lab"}}, Now: func() time.Time { return *now }})
	m, _ = drive(t, m, tea.WindowSizeMsg{Width: w, Height: h}, loaderMsg{msg: followStatusMsg{status: st}},
		loaderMsg{msg: snapshotMsg{r: r, files: st.Files, partial: true}})
	return m
}

// TestFollowHeader: the header says how many files are followed and how
// long ago the last event came, and whether following is paused (once
// the Follower says so: pausing… until then).
func TestFollowHeader(t *testing.T) {
	tests := []struct {
		name        string
		last        time.Duration // before now; 0: no event yet
		files       int
		keys        []string
		ackPaused   bool // the Follower's status says paused
		want        string
		wantStatus  string // in the status bar
		wantMessage string
	}{
		{"following", 2 * time.Second, 3, nil, false, "following 3 files · last event 2s ago", "", ""},
		{"one file, minutes", 125 * time.Second, 1, nil, false, "following 1 file · last event 2m ago", "", ""},
		{"no event yet", 0, 2, nil, false, "following 2 files · no event yet", "", ""},
		{"pausing", time.Second, 1, []string{"P"}, false, "pausing… · 1 file · last event 1s ago", "paused · ", "following paused"},
		{"paused", time.Second, 1, []string{"P"}, true, "paused (P resumes) · last event 1s ago", "paused · ", "following paused"},
		{"resumed", time.Second, 1, []string{"P", "P"}, false, "following 1 file · last event 1s ago", "", "following resumed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := t0
			st := triage.FollowStatus{Files: tt.files}
			if tt.last > 0 {
				st.Last = now.Add(-tt.last)
			}
			m := following(t, &now, fixture(), st, 160, 30)
			m, _ = drive(t, m, press(tt.keys...)...)
			msg := m.message
			if tt.ackPaused {
				st.Paused = true
				m, _ = drive(t, m, loaderMsg{msg: followStatusMsg{status: st}})
			}
			lines := strings.Split(screen(m), "\n")
			if !strings.HasSuffix(strings.TrimRight(lines[0], " "), tt.want) {
				t.Errorf("header %q, want it to end in %q", lines[0], tt.want)
			}
			status := lines[len(lines)-2]
			if got := strings.Contains(status, "paused · "); got != (tt.wantStatus != "") {
				t.Errorf("status bar %q: paused shown %v, want %v", status, got, !got)
			}
			if !strings.Contains(msg, tt.wantMessage) {
				t.Errorf("message %q, want %q", msg, tt.wantMessage)
			}
		})
	}
}

// TestFollowPauses: P pauses and resumes the Follower itself, also when
// pressed before following started.
func TestFollowPauses(t *testing.T) {
	now := t0
	m := following(t, &now, fixture(), triage.FollowStatus{Files: 1}, 120, 30)
	m, _ = drive(t, m, press("P")...) // before the Follower is there
	f := triage.NewFollower(triage.NewHunter(triage.Options{}), nil, triage.FollowOptions{})
	defer f.Close()
	m, _ = drive(t, m, loaderMsg{msg: followStartedMsg{f: f}})
	if !f.Paused() {
		t.Fatal("P before following started: the Follower is not paused")
	}
	m, _ = drive(t, m, press("P")...)
	if f.Paused() {
		t.Fatal("P did not resume the Follower")
	}
	m, _ = drive(t, m, press("P")...)
	if !f.Paused() {
		t.Fatal("P did not pause the Follower")
	}

	// Without --follow, P says what it is for and changes nothing.
	l := loaded(t, fixture(), 120, 30)
	l, _ = drive(t, l, press("P")...)
	if !strings.Contains(l.message, "--follow") || l.follow.paused {
		t.Errorf("P without --follow: message %q, paused %v", l.message, l.follow.paused)
	}
}

// TestFollowMarksNew: findings that arrive while following are marked (•)
// for freshFor, on the clock the screen is given; the ticks expire them.
func TestFollowMarksNew(t *testing.T) {
	now := t0
	part := partOf(3, 0)
	m := following(t, &now, part, triage.FollowStatus{Files: 1}, 160, 30)
	full := fixture()
	fresh := full.Findings[:3]
	now = now.Add(10 * time.Second)
	m, _ = drive(t, m, loaderMsg{msg: followStatusMsg{status: triage.FollowStatus{Files: 1, Last: now}, fresh: fresh}},
		loaderMsg{msg: snapshotMsg{r: full, files: 1, partial: true}})
	marked := func(m Model) int {
		n := 0
		for _, l := range strings.Split(screen(m), "\n") {
			if strings.HasPrefix(l, " •") || strings.HasPrefix(l, "›•") {
				n++
			}
		}
		return n
	}
	if got := marked(following(t, &now, part, triage.FollowStatus{Files: 1}, 160, 30)); got != 0 {
		t.Fatalf("%d rows marked before anything arrived", got)
	}
	want := 0
	for _, f := range m.table.rows {
		for _, g := range fresh {
			if keyOf(f) == keyOf(g) {
				want++
			}
		}
	}
	if want == 0 {
		t.Fatal("the fixture's first findings are not shown")
	}
	if got := marked(m); got != want {
		t.Errorf("%d rows marked, want %d:\n%s", got, want, screen(m))
	}
	now = now.Add(freshFor - time.Second)
	m = tick(m)
	if got := marked(m); got != want {
		t.Errorf("%v later: %d rows marked, want %d", freshFor-time.Second, got, want)
	}
	now = now.Add(time.Second)
	m = tick(m)
	if got := marked(m); got != 0 || len(m.follow.fresh) != 0 {
		t.Errorf("after %v: %d rows marked, %d remembered, want none:\n%s", freshFor, got, len(m.follow.fresh), screen(m))
	}
}

// tick gives m a followTickMsg; the next tick it asks for is dropped (it
// waits on the clock).
func tick(m Model) Model {
	next, _ := m.Update(followTickMsg{})
	return next.(Model)
}

// TestFollowKeepsSelection: rows inserted while following never move the
// selection: the selected finding and process stay under the cursor (the
// loading's logic, applySnapshot), and filters apply to what arrives.
func TestFollowKeepsSelection(t *testing.T) {
	now := t0
	m := following(t, &now, partOf(3, 1), triage.FollowStatus{Files: 1}, 80, 14)
	m, _ = drive(t, m, press("j", "j")...)
	wantF, wantLine := keyOf(m.table.Selected()), m.table.Cursor()-m.table.top
	m, _ = drive(t, m, press("2", "j")...)
	wantP, wantPLine := procKey(m.tree.Selected()), m.tree.cursor-m.tree.top
	m, _ = drive(t, m, press("1")...)

	m, _ = drive(t, m, loaderMsg{msg: followStatusMsg{status: triage.FollowStatus{Files: 1}, fresh: fixture().Findings[:3]}},
		loaderMsg{msg: snapshotMsg{r: fixture(), files: 1, partial: true}})
	if got, line := keyOf(m.table.Selected()), m.table.Cursor()-m.table.top; got != wantF || line != wantLine {
		t.Errorf("finding %+v at line %d, want %+v at line %d", got, line, wantF, wantLine)
	}
	m, _ = drive(t, m, press("2")...)
	if got, line := procKey(m.tree.Selected()), m.tree.cursor-m.tree.top; got != wantP || line != wantPLine {
		t.Errorf("process %+v at line %d, want %+v at line %d", got, line, wantP, wantPLine)
	}

	// A level filter set while following holds for the findings that
	// arrive after it.
	m, _ = drive(t, m, press("1", "l", "l", "l")...)
	min := m.filter.MinLevel
	m, _ = drive(t, m, loaderMsg{msg: snapshotMsg{r: fixture(), files: 1, partial: true}})
	for _, f := range m.table.rows {
		if f.Rule.Level < min {
			t.Errorf("a finding below the level filter arrived in view: %s %v", f.Rule.Title, f.Rule.Level)
		}
	}
	if m.table.Len() == 0 || m.table.Len() == len(m.res.Findings) {
		t.Errorf("%d of %d shown: the filter should keep some and hide some", m.table.Len(), len(m.res.Findings))
	}
}

// TestFollowExportSays: an export taken while following says what it
// covers (events read, from how many files, by when) and is marked
// incomplete.
func TestFollowExportSays(t *testing.T) {
	now := t0
	m := following(t, &now, fixture(), triage.FollowStatus{Files: 2}, 120, 30)
	m, _ = drive(t, m, exportRequest{format: triage.FormatJSON})
	want := `taken while following: the 15 events read from 2 files by ` + t0.UTC().Format("15:04:05") + ` UTC (the file says "complete": false)`
	if !strings.Contains(m.message, want) {
		t.Errorf("message %q, want it to say %q", m.message, want)
	}
}
