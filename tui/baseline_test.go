package tui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/evtriage/evtriage/internal/golden"
	"github.com/evtriage/evtriage/triage"
)

// judged returns fixture() judged against a baseline: the first three
// findings seen, the next three new, the last one not judged.
func judged(keys int) *triage.Result {
	r := fixture()
	for i, f := range r.Findings {
		v := i >= 3
		if i < 6 {
			f.New = &v
		}
	}
	r.NewKey, r.BaselineKeys = triage.KeyCommandLine, keys
	r.First, r.Last = t0.Add(-900*time.Second), t0.Add(101*time.Second)
	return r
}

// withBaseline shows r on a screen whose hunt had cfg's baseline options.
func withBaseline(t *testing.T, r *triage.Result, opts triage.Options, w, h int) Model {
	t.Helper()
	m := New(Config{Title: "fixture (2 hosts)", ExportDir: t.TempDir(), Now: func() time.Time { return t0 }, Hunt: opts})
	m, _ = drive(t, m, tea.WindowSizeMsg{Width: w, Height: h}, loaderMsg{msg: snapshotMsg{r: r, files: 2, final: true}},
		loaderMsg{msg: loadDoneMsg{}})
	return m
}

// TestBaselineExplained: with a baseline the screen says what it is
// (source, time range, key, keys) under the tabs, warns when it holds no
// keys, leaves nothing to judge or does not overlap the evidence, shows
// a NEW column, and the detail explains each verdict without speaking of
// a window when none was given.
func TestBaselineExplained(t *testing.T) {
	window := func(keys int, end time.Time) *triage.Result {
		r := judged(keys)
		r.BaselineEnd, r.BaselineFrom, r.BaselineTo = end, r.First, end
		return r
	}
	files := func(keys int, from, to time.Time, hosts ...string) *triage.Result {
		r := judged(keys)
		r.BaselineFrom, r.BaselineTo, r.BaselineHosts = from, to, hosts
		return r
	}
	winOpts := triage.Options{BaselineWindow: 10 * time.Minute}
	fileOpts := triage.Options{Baseline: []string{"/cases/march/IEWIN7.evtx", "/cases/march/WS02.evtx"}}
	tests := []struct {
		name    string
		r       *triage.Result
		opts    triage.Options
		w, h    int
		keys    []string
		line    string   // in the baseline line
		warn    []string // warnings there, in a few words or in full
		detail  string   // in the detail of the selected finding
		notWord string   // never in the detail
		golden  string
	}{
		{"window", window(3, t0.Add(-300*time.Second)), winOpts, 120, 40, nil,
			"baseline: first 10m of the evidence · 2019-05-12 18:20–18:30 UTC · key commandline · 3 keys", nil,
			"seen: its key (commandline) is in the baseline window (the evidence until 2019-05-12 18:30:05 UTC)", "", "baseline_window_120x40"},
		{"window 80x24", window(3, t0.Add(-300*time.Second)), winOpts, 80, 24, []string{"jjjj"},
			"baseline: 3 keys (commandline) · 2019-05-12 18:20–18:30 UTC · first 10m of the …", nil, "new: its key (commandline) is not among the 3 keys", "", "baseline_window_80x24"},
		{"warnings at 80 columns", files(40, t0.Add(24*time.Hour), t0.Add(48*time.Hour), "DC01"), fileOpts, 80, 24, nil,
			"baseline: 40 keys (commandline) · ⚠ other hosts (DC01) · ⚠ after the evidence ·…", []string{"other hosts (DC01)", "after the evidence"},
			"", "", ""},
		{"window without keys", window(0, t0.Add(-300*time.Second)), winOpts, 120, 40, nil, "0 keys",
			[]string{"holds no keys: every finding judged is new"}, "", "", ""},
		{"window without keys 80x24", window(0, t0.Add(-300*time.Second)), winOpts, 80, 24, nil, "baseline: 0 keys (commandline) · ⚠ holds no keys: every finding judged is new ·…",
			[]string{"holds no keys: every finding judged is new"}, "", "", ""},
		{"window over everything", window(2, t0.Add(time.Hour)), winOpts, 120, 40, []string{"jjjjjj"}, "2 keys",
			[]string{"covers all the evidence"}, "not judged: it is in the baseline window itself", "", ""},
		{"files", files(40, t0.Add(-30*24*time.Hour), t0.Add(-29*24*time.Hour), "IEWIN7", "WS02"), fileOpts, 120, 40, nil,
			"baseline: IEWIN7.evtx, WS02.evtx · 2019-04-12 18:35 – 2019-04-13 18:35 UTC · key commandline · 40 keys", nil,
			"seen: its key (commandline) is in the baseline (IEWIN7.evtx, WS02.evtx)", "window", ""},
		{"files of other hosts, later", files(40, t0.Add(24*time.Hour), t0.Add(48*time.Hour), "DC01"), fileOpts, 120, 40, []string{"jjjj"},
			"40 keys", []string{"names none of the evidence's hosts (DC01)", "is later than the evidence"},
			"new: its key (commandline) is not among the 40 keys of the baseline (IEWIN7.evtx, WS02.evtx)", "window", ""},
		{"unreadable", func() *triage.Result { r := files(0, time.Time{}, time.Time{}); r.NotJudged = true; return r }(), fileOpts, 120, 40, nil,
			"baseline: IEWIN7.evtx", []string{"could not be read"}, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := withBaseline(t, tt.r, tt.opts, tt.w, tt.h)
			m, _ = drive(t, m, press(tt.keys...)...)
			got := screen(m)
			line := strings.Split(got, "\n")[2]
			full := strings.Join(strings.Fields(line), " ")
			if !strings.Contains(strings.Join(strings.Fields(line), " "), strings.Join(strings.Fields(tt.line), " ")) {
				t.Errorf("baseline line %q, want %q", line, tt.line)
			}
			for _, w := range tt.warn {
				if !strings.Contains(full, "⚠ "+w) {
					t.Errorf("no warning %q in %q", w, full)
				}
			}
			if len(tt.warn) == 0 && strings.Contains(full, "⚠") {
				t.Errorf("unexpected warning in %q", full)
			}
			if !strings.Contains(strings.Split(got, "\n")[3], "NEW") {
				t.Errorf("no NEW column:\n%s", got)
			}
			d := detailText(m)
			if tt.detail != "" && !strings.Contains(d, tt.detail) {
				t.Errorf("detail lacks %q:\n%s", tt.detail, d)
			}
			if tt.notWord != "" && strings.Contains(d, tt.notWord) {
				t.Errorf("detail speaks of a %s:\n%s", tt.notWord, d)
			}
			if tt.golden != "" {
				golden.Assert(t, "screen_"+tt.golden+".txt", []byte(got))
			}
		})
	}
}

// TestFmtRange: a baseline's time range to the minute, one minute when it
// falls within one, both dates across days, in the screen's zone.
func TestFmtRange(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	tests := []struct {
		name     string
		z        zone
		from, to string
		want     string
	}{
		{"one instant", zone{}, "2019-05-12T18:35:05Z", "2019-05-12T18:35:05Z", "2019-05-12 18:35 UTC"},
		{"within a minute", zone{}, "2019-05-12T18:35:05.155Z", "2019-05-12T18:35:06.9Z", "2019-05-12 18:35 UTC"},
		{"no end", zone{}, "2019-05-12T18:35:05Z", "", "2019-05-12 18:35 UTC"},
		{"within a day", zone{}, "2019-05-12T18:20:00Z", "2019-05-12T18:30:59Z", "2019-05-12 18:20–18:30 UTC"},
		{"across days", zone{}, "2019-05-12T23:59:00Z", "2019-05-13T00:01:00Z", "2019-05-12 23:59 – 2019-05-13 00:01 UTC"},
		{"across days in the zone", zone{berlin}, "2019-05-12T21:59:00Z", "2019-05-12T22:01:00Z", "2019-05-12 23:59 – 2019-05-13 00:01 Europe/Berlin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var to time.Time
			if tt.to != "" {
				to = at(tt.to)
			}
			if got := fmtRange(tt.z, at(tt.from), to); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
