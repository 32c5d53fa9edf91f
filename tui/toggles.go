package tui

import (
	"errors"
	"fmt"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/evtriage/evtriage/internal/termsafe"
	"github.com/evtriage/evtriage/rules"
	"github.com/evtriage/evtriage/triage"
)

// toggle is one filter the user switches from the keyboard, and one item
// of the status bar. The table of toggles (defaultToggles) is the one
// place a filter switch is described: it drives the key handling, the
// help, the status bar, and through filterState (whose triage.Filter
// holds the predicates) what is shown.
type toggle struct {
	label string // in the status bar: "CAR-excl"
	short string // in the compact status bar: "CAR"; "" shows the value alone
	keys  []toggleKey
	// show is the toggle's value as the status bar shows it, long or
	// compact, and whether it narrows what is shown (drawn as active).
	show func(f *filterState, env *toggleEnv, compact bool) (value string, active bool)
	// shown, when set, says whether the status bar shows the toggle now
	// (one that matters only in some states); nil: always.
	shown func(f *filterState, env *toggleEnv) bool
}

// toggleKey is one key of a toggle and how it changes the filter.
type toggleKey struct {
	key.Binding
	// apply changes f; an error says why the key cannot apply now
	// (errNoChange: nothing to do, nothing to say).
	apply func(f *filterState, env *toggleEnv) error
	// opens is the overlay the key opens instead of changing the filter
	// itself (the rules panel, which switches rules one by one).
	opens overlayKind
}

// toggleEnv is what toggles read besides the filter.
type toggleEnv struct {
	res       *triage.Result // nil until the first snapshot
	baseline  bool           // a baseline was given: findings are judged new or seen
	selected  time.Time      // the selection's time; zero when none
	searching bool           // a search is shown
	zone      zone           // the time zone times are shown in
	marks     int            // marks in the case
}

// toggleID names a toggle of the table, in status bar order.
type toggleID int

// The toggles, in the order the status bar and the help show them.
const (
	toggleLevel toggleID = iota
	toggleRules
	toggleCAR
	toggleUnsigned
	toggleNew
	toggleHost
	toggleTime
	toggleSources
	toggleSearch
	toggleDismissed
	numToggles
)

// toggleTable is the toggles by ID.
type toggleTable [numToggles]toggle

// key returns a toggle's first key, for the one-line help.
func (ts *toggleTable) key(id toggleID) key.Binding { return ts[id].keys[0].Binding }

// bindings lists every toggle key, in table order, for the full help.
func (ts *toggleTable) bindings() []key.Binding {
	var out []key.Binding
	for _, t := range ts {
		for _, k := range t.keys {
			out = append(out, k.Binding)
		}
	}
	return out
}

// find returns the toggle key k is bound to.
func (ts *toggleTable) find(k tea.KeyPressMsg) (toggleKey, bool) {
	for _, t := range ts {
		for _, tk := range t.keys {
			if key.Matches(k, tk.Binding) {
				return tk, true
			}
		}
	}
	return toggleKey{}, false
}

// Errors a toggle key reports instead of changing the filter.
var (
	errNoChange   = errors.New("nothing to change")
	errNoBaseline = errors.New("no baseline was given (--baseline or --baseline-window): no finding is judged new")
	errNoTime     = errors.New("the selection has no time")
)

// flip returns a toggle key that switches a boolean of the filter.
func flip(keys []string, k, desc string, field func(*filterState) *bool) toggleKey {
	return toggleKey{Binding: bind(keys, k, desc), apply: func(f *filterState, _ *toggleEnv) error {
		p := field(f)
		*p = !*p
		return nil
	}}
}

// defaultToggles returns the toggles and their default keys.
func defaultToggles() toggleTable {
	var ts toggleTable
	ts[toggleLevel] = toggle{label: "level",
		keys: []toggleKey{{Binding: bind([]string{"l"}, "l", "minimum level"), apply: func(f *filterState, _ *toggleEnv) error {
			f.MinLevel = (f.MinLevel + 1) % (rules.LevelCritical + 1)
			return nil
		}}},
		show: func(f *filterState, _ *toggleEnv, compact bool) (string, bool) {
			if compact {
				return "≥" + levelShort(f.MinLevel), f.MinLevel > rules.LevelInformational
			}
			return "≥" + f.MinLevel.String(), f.MinLevel > rules.LevelInformational
		}}
	ts[toggleRules] = toggle{label: "rules", short: "rules",
		keys: []toggleKey{{Binding: bind([]string{"r"}, "r", "rules & filters"), opens: overlayRules}},
		show: showRules}
	ts[toggleCAR] = toggle{label: "CAR-excl", short: "CAR",
		keys: []toggleKey{flip([]string{"c"}, "c", "CAR exclusions", func(f *filterState) *bool { return &f.carOff })},
		show: func(f *filterState, _ *toggleEnv, _ bool) (string, bool) { return onOffWord(!f.carOff), f.carOff }}
	ts[toggleUnsigned] = toggle{label: "unsigned", short: "unsig",
		keys: []toggleKey{flip([]string{"u"}, "u", "unsigned loads only", func(f *filterState) *bool { return &f.UnsignedOnly })},
		show: func(f *filterState, _ *toggleEnv, _ bool) (string, bool) {
			return onOffWord(f.UnsignedOnly), f.UnsignedOnly
		}}
	ts[toggleNew] = toggle{label: "new", short: "new",
		keys: []toggleKey{{Binding: bind([]string{"b"}, "b", "new since baseline"), apply: func(f *filterState, env *toggleEnv) error {
			if !env.baseline {
				return errNoBaseline
			}
			f.NewOnly = !f.NewOnly
			return nil
		}}},
		show: func(f *filterState, env *toggleEnv, _ bool) (string, bool) {
			if !env.baseline {
				return "–", false
			}
			return onOffWord(f.NewOnly), f.NewOnly
		}}
	ts[toggleHost] = toggle{label: "host", short: "host",
		keys: []toggleKey{{Binding: bind([]string{"h"}, "h", "next host"), apply: func(f *filterState, env *toggleEnv) error {
			if env.res == nil || len(env.res.Hosts) == 0 {
				return errNoChange
			}
			f.Host = nextHost(env.res.Hosts, f.Host)
			return nil
		}}},
		show: func(f *filterState, _ *toggleEnv, _ bool) (string, bool) {
			if f.Host == "" {
				return "all", false
			}
			return termsafe.Clean(f.Host), true
		}}
	ts[toggleTime] = toggle{label: "time", short: "time",
		keys: []toggleKey{
			// The range takes the selected time at the precision the
			// screen shows it (the second): a row showing the same time
			// as the selection stays in.
			{Binding: bind([]string{"["}, "[", "from selected time"), apply: func(f *filterState, env *toggleEnv) error {
				if env.selected.IsZero() {
					return errNoTime
				}
				f.From = env.selected.Truncate(time.Second)
				return nil
			}},
			{Binding: bind([]string{"]"}, "]", "to selected time"), apply: func(f *filterState, env *toggleEnv) error {
				if env.selected.IsZero() {
					return errNoTime
				}
				f.To = env.selected.Truncate(time.Second).Add(time.Second - 1)
				return nil
			}},
			{Binding: bind([]string{"t"}, "t", "clear time range"), apply: func(f *filterState, _ *toggleEnv) error {
				f.From, f.To = time.Time{}, time.Time{}
				return nil
			}},
		},
		show: func(f *filterState, env *toggleEnv, _ bool) (string, bool) {
			if f.From.IsZero() && f.To.IsZero() {
				return "all", false
			}
			return timeBound(env.zone, f.From) + "–" + timeBound(env.zone, f.To), true
		}}
	ts[toggleSources] = toggle{label: "src", short: "src",
		keys: []toggleKey{{Binding: bind([]string{"s"}, "s", "Sysmon / 4688"), apply: func(f *filterState, _ *toggleEnv) error {
			switch f.Sources {
			case 0:
				f.Sources = triage.FromSysmon
			case triage.FromSysmon:
				f.Sources = triage.FromSecurity
			default:
				f.Sources = 0
			}
			return nil
		}}},
		show: func(f *filterState, _ *toggleEnv, _ bool) (string, bool) {
			if f.Sources == 0 {
				return "all", false
			}
			return f.Sources.Short(), true
		}}
	ts[toggleSearch] = toggle{label: "search",
		keys: []toggleKey{flip([]string{"&"}, "&", "search: jump to / show only matches", func(f *filterState) *bool { return &f.searchOnly })},
		show: func(f *filterState, env *toggleEnv, compact bool) (string, bool) {
			v := "jump"
			if f.searchOnly {
				v = "only"
			}
			if compact {
				v = "/" + v
			}
			return v, f.searchOnly && env.searching
		},
		// The mode matters once there is a search, or once it is not the
		// default.
		shown: func(f *filterState, env *toggleEnv) bool { return env.searching || f.searchOnly }}
	// +FP shows what is marked benign or false positive, −FP hides it;
	// shown once something is marked, or while it hides.
	ts[toggleDismissed] = toggle{
		keys: []toggleKey{flip([]string{"v"}, "v", "hide benign / false positive", func(f *filterState) *bool { return &f.HideDismissed })},
		show: func(f *filterState, _ *toggleEnv, _ bool) (string, bool) {
			if f.HideDismissed {
				return "−FP", true
			}
			return "+FP", false
		},
		shown: func(f *filterState, env *toggleEnv) bool { return env.marks > 0 || f.HideDismissed }}
	return ts
}

// showRules is the rules toggle's value: rules on of all loaded, and how
// many of their filter identifiers are switched off.
func showRules(f *filterState, env *toggleEnv, compact bool) (string, bool) {
	n, on, identsOff := 0, 0, 0
	if env.res != nil {
		n = len(env.res.Loaded)
		for _, r := range env.res.Loaded {
			if !f.DisabledRules[r.ID] {
				on++
			}
		}
	}
	for _, ids := range f.DisabledIdents {
		for _, off := range ids {
			if off {
				identsOff++
			}
		}
	}
	s := fmt.Sprintf("%d/%d", on, n)
	switch {
	case identsOff > 0 && compact:
		s += fmt.Sprintf("−%df", identsOff)
	case identsOff > 0:
		s += fmt.Sprintf(" (%d filter%s off)", identsOff, plural(identsOff))
	}
	return s, on < n || identsOff > 0
}

// statusItems is every toggle as the status bar shows it.
func (ts *toggleTable) statusItems(f *filterState, env *toggleEnv) []statusItem {
	out := make([]statusItem, 0, len(ts))
	for _, t := range ts {
		if t.shown != nil && !t.shown(f, env) {
			continue
		}
		v, on := t.show(f, env, false)
		sv, _ := t.show(f, env, true)
		out = append(out, statusItem{label: t.label, short: t.short, value: v, shortValue: sv, active: on})
	}
	return out
}

func nextHost(hosts []string, cur string) string {
	if cur == "" {
		return hosts[0]
	}
	for i, h := range hosts {
		if h == cur {
			if i+1 < len(hosts) {
				return hosts[i+1]
			}
			return ""
		}
	}
	return ""
}

func timeBound(z zone, t time.Time) string {
	if t.IsZero() {
		return "…"
	}
	return z.format(t, "01-02 15:04:05")
}

func onOffWord(on bool) string {
	if on {
		return "on"
	}
	return "off"
}
