package tui

import (
	"errors"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/rules"
	"github.com/evtriage/evtriage/triage"
)

// pressToggle applies the toggle keys ks (one key string each) to f the
// way the screen does: on a clone, kept only when the key applies.
func pressToggle(t *testing.T, ts *toggleTable, f filterState, env *toggleEnv, ks ...string) (filterState, error) {
	t.Helper()
	for _, k := range ks {
		tk, ok := ts.find(press(k)[0].(tea.KeyPressMsg))
		if !ok {
			t.Fatalf("%q is no toggle key", k)
		}
		if tk.apply == nil {
			continue
		}
		g := f.clone()
		if err := tk.apply(&g, env); err != nil {
			return f, err
		}
		f = g
	}
	return f, nil
}

// TestToggles drives each toggle's keys and checks the filter predicate
// they set, what the status bar shows, and when a key refuses.
func TestToggles(t *testing.T) {
	res := fixture()
	sel := t0.Add(2 * time.Second)
	tests := []struct {
		name     string
		keys     []string
		baseline bool
		selected time.Time
		id       toggleID
		check    func(f filterState) bool
		long     string // the status item as the long bar shows it
		short    string // and the compact one
		active   bool
		err      error
	}{
		{"level", []string{"l"}, false, sel, toggleLevel, func(f filterState) bool { return f.MinLevel == rules.LevelLow }, "level ≥low", "≥low", true, nil},
		{"level wraps", []string{"l", "l", "l", "l", "l"}, false, sel, toggleLevel, func(f filterState) bool { return f.MinLevel == rules.LevelInformational }, "level ≥informational", "≥info", false, nil},
		{"rules untouched", nil, false, sel, toggleRules, func(f filterState) bool { return len(f.DisabledRules) == 0 }, "rules 5/5", "rules:5/5", false, nil},
		{"CAR exclusions off", []string{"c"}, false, sel, toggleCAR, func(f filterState) bool {
			return f.carOff && f.triage().DisabledIdents[carRuleID]["filter_car_wevtutil"]
		}, "CAR-excl off", "CAR:off", true, nil},
		{"CAR exclusions back on", []string{"c", "c"}, false, sel, toggleCAR, func(f filterState) bool {
			return !f.carOff && !f.triage().DisabledIdents[carRuleID]["filter_car_wevtutil"]
		}, "CAR-excl on", "CAR:on", false, nil},
		{"unsigned", []string{"u"}, false, sel, toggleUnsigned, func(f filterState) bool { return f.UnsignedOnly }, "unsigned on", "unsig:on", true, nil},
		{"new without baseline", []string{"b"}, false, sel, toggleNew, func(f filterState) bool { return !f.NewOnly }, "new –", "new:–", false, errNoBaseline},
		{"new with baseline", []string{"b"}, true, sel, toggleNew, func(f filterState) bool { return f.NewOnly }, "new on", "new:on", true, nil},
		{"host", []string{"h"}, false, sel, toggleHost, func(f filterState) bool { return f.Host == "IEWIN7" }, "host IEWIN7", "host:IEWIN7", true, nil},
		{"host cycles back to all", []string{"h", "h", "h"}, false, sel, toggleHost, func(f filterState) bool { return f.Host == "" }, "host all", "host:all", false, nil},
		{"time from", []string{"["}, false, sel, toggleTime, func(f filterState) bool { return f.From.Equal(sel) && f.To.IsZero() }, "time 05-12 18:35:07–…", "time:05-12 18:35:07–…", true, nil},
		{"time range", []string{"[", "]"}, false, sel, toggleTime, func(f filterState) bool { return f.From.Equal(sel) && f.To.Equal(sel.Add(time.Second-1)) }, "time 05-12 18:35:07–05-12 18:35:07", "time:05-12 18:35:07–05-12 18:35:07", true, nil},
		{"time cleared", []string{"[", "t"}, false, sel, toggleTime, func(f filterState) bool { return f.From.IsZero() && f.To.IsZero() }, "time all", "time:all", false, nil},
		{"time without selection", []string{"]"}, false, time.Time{}, toggleTime, func(f filterState) bool { return f.To.IsZero() }, "time all", "time:all", false, errNoTime},
		{"sources Sysmon", []string{"s"}, false, sel, toggleSources, func(f filterState) bool { return f.Sources == triage.FromSysmon }, "src Sysmon", "src:Sysmon", true, nil},
		{"sources 4688", []string{"s", "s"}, false, sel, toggleSources, func(f filterState) bool { return f.Sources == triage.FromSecurity }, "src 4688", "src:4688", true, nil},
		{"sources all", []string{"s", "s", "s"}, false, sel, toggleSources, func(f filterState) bool { return f.Sources == 0 }, "src all", "src:all", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := defaultToggles()
			env := &toggleEnv{res: res, baseline: tt.baseline, selected: tt.selected}
			f, err := pressToggle(t, &ts, filterState{}, env, tt.keys...)
			if !errors.Is(err, tt.err) {
				t.Errorf("error %v, want %v", err, tt.err)
			}
			if !tt.check(f) {
				t.Errorf("filter after %v: %+v", tt.keys, f)
			}
			it := ts.statusItems(&f, env)[tt.id]
			if got := it.label + " " + it.value; got != tt.long {
				t.Errorf("status %q, want %q", got, tt.long)
			}
			short := it.shortValue
			if it.short != "" {
				short = it.short + ":" + short
			}
			if short != tt.short {
				t.Errorf("compact status %q, want %q", short, tt.short)
			}
			if it.active != tt.active {
				t.Errorf("active %v, want %v", it.active, tt.active)
			}
		})
	}
}

// TestTogglesDriveTheScreen checks that every toggle of the table is wired
// without further code: each of its keys is in the help and works on the
// screen, and it has its item in the status bar.
func TestTogglesDriveTheScreen(t *testing.T) {
	m := loaded(t, fixture(), 200, 60)
	help, _ := drive(t, m, press("?")...)
	helpText := screen(help)
	status := strings.Split(screen(m), "\n")[58]
	for id, tg := range m.toggles {
		status := status
		if tg.shown != nil {
			// A toggle that shows once it matters: shown after its key.
			on, _ := drive(t, m, press(tg.keys[0].Keys()[0])...)
			status = strings.Split(screen(on), "\n")[58]
		}
		if !strings.Contains(status, tg.label+" ") {
			t.Errorf("toggle %d: %q is not in the status bar %q", id, tg.label, status)
		}
		for _, k := range tg.keys {
			h := k.Help()
			if !strings.Contains(helpText, h.Key+" "+h.Desc) {
				t.Errorf("toggle %d: %q is not in the help", id, h.Key+" "+h.Desc)
			}
			after, _ := drive(t, m, press(k.Keys()[0])...)
			if k.opens != overlayNone {
				if after.overlay != k.opens {
					t.Errorf("key %q: overlay %d, want %d", k.Keys()[0], after.overlay, k.opens)
				}
				continue
			}
			if after.shown.gen == m.shown.gen && after.message == "" {
				t.Errorf("key %q neither filtered again nor said why not", k.Keys()[0])
			}
		}
	}
}

// TestToggleRefusalKeepsFilter checks that a toggle key that cannot apply
// says why on the message line and leaves the findings as they were.
func TestToggleRefusalKeepsFilter(t *testing.T) {
	m := loaded(t, fixture(), 120, 40)
	m, _ = drive(t, m, press("b")...)
	if m.message != errNoBaseline.Error() || !m.msgErr {
		t.Errorf("message %q (error %v)", m.message, m.msgErr)
	}
	if m.filter.NewOnly || m.table.Len() != 7 {
		t.Errorf("filter changed: new only %v, %d shown", m.filter.NewOnly, m.table.Len())
	}
}

// TestStatusBar checks the bar's layouts: every toggle long when that
// fits; else only the toggles that narrow what is shown, long, then
// compact (value alone where there is no short label), the others
// counted.
func TestStatusBar(t *testing.T) {
	items := []statusItem{
		{label: "level", value: "≥medium", shortValue: "≥med", active: true},
		{label: "CAR-excl", short: "CAR", value: "on", shortValue: "on"},
		{label: "host", short: "host", value: "WS02.corp", shortValue: "WS02.corp", active: true},
		{label: "unsigned", short: "unsig", value: "off", shortValue: "off"},
	}
	tests := []struct {
		width int
		want  string
	}{
		{80, "level ≥medium · CAR-excl on · host WS02.corp · unsigned off"},
		{60, "level ≥medium · host WS02.corp · +2 at default"},
		{45, "≥med host:WS02.corp +2 at default"},
	}
	for _, tt := range tests {
		var s statusBar
		s.SetStyles(newStatusStyles(newTheme(true)))
		s.SetWidth(tt.width)
		s.SetStatus(items, "3/8 shown", "3/8")
		got := ansi.Strip(s.View())
		if ansi.StringWidth(got) != tt.width {
			t.Errorf("width %d: bar is %d wide", tt.width, ansi.StringWidth(got))
		}
		if !strings.HasPrefix(got, tt.want+" ") || !strings.HasSuffix(got, "3/8 shown") {
			t.Errorf("width %d: %q, want %q … 3/8 shown", tt.width, got, tt.want)
		}
	}
}

// TestTimeRangeShownPrecision: [ and ] take the selected row's time to the
// second, as the table shows it, so that a row showing the same time as
// the selection is not filtered out by its milliseconds.
func TestTimeRangeShownPrecision(t *testing.T) {
	r := fixture()
	// Findings 0 and 3 are of one event at 18:35:05; finding 3's is made
	// 300 ms later (the same second as the table shows it).
	r.Findings[3].Event = &triage.EventRef{File: r.Findings[3].Event.File, Event: func() *parser.Event {
		ev := *r.Findings[3].Event.Event
		ev.Time = ev.Time.Add(300 * time.Millisecond)
		return &ev
	}()}
	for _, keys := range [][]string{{"j", "[", "]"}, {"[", "]"}} {
		m := loaded(t, r, 120, 40)
		m, _ = drive(t, m, press(keys...)...)
		if m.table.Len() != 2 {
			t.Errorf("keys %v: %d rows in the range of 18:35:05, want both rows showing that time", keys, m.table.Len())
		}
		if got := screen(m); !strings.Contains(got, "05-12 18:35:05–05-12 18:35:05") {
			t.Errorf("keys %v: status bar:\n%s", keys, lastLines(got, 2))
		}
	}
}
