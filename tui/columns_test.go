package tui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/evtriage/evtriage/internal/golden"
	"github.com/evtriage/evtriage/rules"
	"github.com/evtriage/evtriage/triage"
)

// TestShortTitles: the three CAR-2019-04-002 analytics, whose titles share
// their first 35 characters, get short titles that differ within 24
// cells, and so do all the built-in rules; a rule's own name is its short
// title; a title is shortened only to its first word and the part that
// differs from another title's.
func TestShortTitles(t *testing.T) {
	loaded := rules.Load(rules.LoadOptions{}).Rules()
	named := &rules.Rule{ID: "n", Name: "many_regsvr32", Title: "Many Regsvr32 Executions In A Short Time"}
	loaded = append(loaded, named)
	titles := shortTitles(loaded)
	seen := map[string]string{}
	car := 0
	for _, r := range loaded {
		s := titles[r]
		if strings.HasPrefix(r.Title, "CAR-2019-04-002") {
			car++
			if !strings.HasPrefix(s, "CAR-2019-04-002 … ") || len(s) >= len(r.Title) {
				t.Errorf("%q: short title %q", r.Title, s)
			}
		} else if first, tail, ok := strings.Cut(s, " … "); r != named && s != r.Title &&
			(!ok || !strings.HasPrefix(r.Title, first+" ") || !strings.HasSuffix(r.Title, tail)) {
			t.Errorf("%q shortened to %q", r.Title, s)
		}
		cut := ansi.Truncate(s, 24+len("…")-1, "")
		if other, dup := seen[cut]; dup {
			t.Errorf("%q and %q look alike in 24 cells: %q", other, r.Title, cut)
		}
		seen[cut] = r.Title
	}
	if car != 3 || titles[named] != "many_regsvr32" {
		t.Errorf("%d CAR analytics; named rule %q", car, titles[named])
	}
	if got := shortHosts([]string{"WS-001.corp.example.com", "WS-002.corp.example.com", "DC.a.local", "DC.b.local", "IEWIN7"}); len(got) != 2 ||
		got["WS-001.corp.example.com"] != "WS-001" || got["DC.a.local"] != "" {
		t.Errorf("short hosts %v", got)
	}
}

// TestLayout: the columns follow their content; at 80 columns the event
// ID and the command line go (and a host column when every row has the
// same host), never the year, the PID or the rule's distinguishing part.
func TestLayout(t *testing.T) {
	content := contentWidths{hosts: 2}
	content.w[colRule], content.w[colHost], content.w[colProcess], content.w[colEventID] = 41, 11, 17, 4
	one := content
	one.hosts = 1
	tests := []struct {
		name    string
		width   int
		c       contentWidths
		newCol  bool
		visible string
	}{
		{"120", 120, content, false, "TIME LVL EID RULE HOST PROCESS COMMAND LINE"},
		{"120 baseline", 120, content, true, "TIME LVL NEW RULE HOST PROCESS COMMAND LINE"},
		{"80", 80, content, false, "TIME LVL RULE HOST PROCESS"},
		{"80 one host", 80, one, true, "TIME LVL NEW RULE PROCESS"},
		{"200", 200, content, false, "TIME LVL EID RULE HOST PROCESS COMMAND LINE"},
	}
	for _, tt := range tests {
		cw := layout(tt.width, tt.c, tt.newCol, false)
		var names []string
		total := 2
		for col, w := range cw {
			if w > 0 {
				names = append(names, column(col).String())
				total += w + 1
			}
		}
		if got := strings.Join(names, " "); got != tt.visible {
			t.Errorf("%s: columns %q, want %q", tt.name, got, tt.visible)
		}
		if total > tt.width+1 {
			t.Errorf("%s: %d cells wide", tt.name, total)
		}
		if cw[colTime] != timeLong || (cw[colProcess] > 0 && cw[colProcess] < 17) {
			t.Errorf("%s: time %d, process %d: the year or the PID is cut", tt.name, cw[colTime], cw[colProcess])
		}
		if cw[colRule] < 20 {
			t.Errorf("%s: rule column %d", tt.name, cw[colRule])
		}
	}
}

// carFixture is fixture() with the built-in pack loaded and the three
// CAR analytics among its findings.
func carFixture() *triage.Result {
	r := fixture()
	r.Loaded = rules.Load(rules.LoadOptions{}).Rules()
	byID := map[string]*rules.Rule{}
	for _, x := range r.Loaded {
		byID[x.ID] = x
	}
	r.Findings[0].Rule = byID["e23771a3-d2bc-4535-9b97-ab6769c1a38d"]
	r.Findings[1].Rule = byID["8537fa9f-c8d8-4530-81bc-1b4db643e582"]
	r.Findings[2].Rule = byID["bc399179-15fa-4ca9-a55b-d46b526bf897"]
	return r
}

// TestColumnsTellRulesApart: golden screens of findings of the three CAR
// analytics at both sizes.
func TestColumnsTellRulesApart(t *testing.T) {
	for _, size := range [][2]int{{120, 40}, {80, 24}} {
		m := loaded(t, carFixture(), size[0], size[1])
		got := screen(m)
		for _, tail := range []string{"Child of", "Unsigned", "Spawned"} {
			if !strings.Contains(got, "CAR-2019-04-002 … "+tail) {
				t.Errorf("%dx%d: the CAR analytic %q is not told apart:\n%s", size[0], size[1], tail, got)
			}
		}
		golden.Assert(t, "screen_findings_car_"+map[int]string{120: "120x40", 80: "80x24"}[size[0]]+".txt", []byte(got))
	}
}
