package rules

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

const baseA = `title: failed logon
id: aaaaaaaa-0000-4000-8000-000000000001
name: failed_logon
logsource:
    product: windows
    service: security
detection:
    s:
        EventID: 4625
    condition: s
`

const baseB = `title: successful logon
id: aaaaaaaa-0000-4000-8000-000000000002
name: good_logon
logsource:
    product: windows
    service: security
detection:
    s:
        EventID: 4624
    condition: s
`

type timedEvent struct {
	at time.Duration
	ev *mapEvent
}

func logon(id uint32, user, ip string) *mapEvent {
	return newEvent("Security", id, "TargetUserName", user, "IpAddress", ip)
}

// runCorrelation feeds events through Match and a Correlator and returns
// the correlation firings as "rule-title:group:count".
func runCorrelation(t *testing.T, s *Set, evs []timedEvent) []string {
	t.Helper()
	c := s.NewCorrelator()
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var out []string
	for _, te := range evs {
		ms := s.Match(te.ev, nil)
		for _, cm := range c.Feed(te.ev, t0.Add(te.at), ms) {
			out = append(out, cm.Rule.Title+":"+strings.Join(cm.Group, ",")+":"+strconv.Itoa(cm.Count))
		}
	}
	return out
}

func TestCorrelations(t *testing.T) {
	cases := []struct {
		name string
		corr string
		evs  []timedEvent
		want []string
	}{
		{"event_count with group-by", `title: brute
correlation:
    type: event_count
    rules: [failed_logon]
    group-by: [TargetUserName]
    timespan: 1m
    condition: {gte: 3}
`, []timedEvent{
			{0, logon(4625, "bob", "")}, {10 * time.Second, logon(4625, "alice", "")},
			{20 * time.Second, logon(4625, "bob", "")}, {30 * time.Second, logon(4625, "bob", "")},
			{40 * time.Second, logon(4625, "alice", "")},
		}, []string{"brute:bob:3"}},
		{"event_count window slides", `title: brute
correlation:
    type: event_count
    rules: [failed_logon]
    group-by: [TargetUserName]
    timespan: 1m
    condition: {gte: 3}
`, []timedEvent{
			{0, logon(4625, "bob", "")}, {50 * time.Second, logon(4625, "bob", "")},
			{70 * time.Second, logon(4625, "bob", "")}, // first one left the window
			{100 * time.Second, logon(4625, "bob", "")},
		}, []string{"brute:bob:3"}},
		{"value_count", `title: spray
correlation:
    type: value_count
    rules: [aaaaaaaa-0000-4000-8000-000000000001]
    group-by: [IpAddress]
    timespan: 5m
    condition:
        gte: 3
        field: TargetUserName
`, []timedEvent{
			{0, logon(4625, "a", "10.0.0.1")}, {1 * time.Second, logon(4625, "a", "10.0.0.1")},
			{2 * time.Second, logon(4625, "b", "10.0.0.1")}, {3 * time.Second, logon(4625, "c", "10.0.0.2")},
			{4 * time.Second, logon(4625, "c", "10.0.0.1")},
		}, []string{"spray:10.0.0.1:3"}},
		{"temporal any order within the span", `title: fail then success
correlation:
    type: temporal
    rules: [failed_logon, good_logon]
    group-by: [TargetUserName]
    timespan: 1m
`, []timedEvent{
			{0, logon(4624, "bob", "")}, {10 * time.Second, logon(4625, "alice", "")},
			{20 * time.Second, logon(4625, "bob", "")},
			{200 * time.Second, logon(4624, "alice", "")}, // too late for alice
		}, []string{"fail then success:bob:2"}},
		{"temporal_ordered needs the order", `title: ordered
correlation:
    type: temporal_ordered
    rules: [failed_logon, good_logon]
    group-by: [TargetUserName]
    timespan: 1m
`, []timedEvent{
			{0, logon(4624, "bob", "")}, {10 * time.Second, logon(4625, "bob", "")}, // wrong order so far
			{20 * time.Second, logon(4625, "alice", "")}, {30 * time.Second, logon(4624, "alice", "")},
			{40 * time.Second, logon(4624, "bob", "")}, // now in order for bob too
		}, []string{"ordered:alice:2", "ordered:bob:2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := loadRules(t, map[string]string{"a.yml": baseA, "b.yml": baseB, "c.yml": tc.corr}, "")
			if len(s.Rejected()) != 0 {
				t.Fatal(s.Rejected())
			}
			got := runCorrelation(t, s, tc.evs)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCorrelationLoading(t *testing.T) {
	multi := baseA + "---\n" + `title: brute
correlation:
    type: event_count
    rules: [failed_logon]
    group-by: [TargetUserName]
    timespan: 10m
    condition: {gt: 5}
`
	s := loadRules(t, map[string]string{"m.yml": multi}, "")
	if len(s.Rejected()) != 0 || len(s.Correlations()) != 1 {
		t.Fatalf("rejected %+v", s.Rejected())
	}
	var base *Rule
	for _, r := range s.Rules() {
		if r.Name == "failed_logon" {
			base = r
		}
	}
	if base == nil || !base.CorrelationOnly {
		t.Error("base rule of a non-generating correlation should be CorrelationOnly")
	}
	bad := []struct{ body, reason string }{
		{"title: x\ncorrelation:\n    type: event_count\n    rules: [nope]\n    timespan: 1m\n    condition: {gte: 1}\n", `refers to rule "nope"`},
		{"title: x\ncorrelation:\n    type: value_sum\n    rules: [failed_logon]\n    timespan: 1m\n    condition: {gte: 1}\n", "not supported"},
		{"title: x\ncorrelation:\n    type: event_count\n    rules: [failed_logon]\n    timespan: 1y\n    condition: {gte: 1}\n", "timespan"},
		{"title: x\ncorrelation:\n    type: event_count\n    rules: [failed_logon]\n    timespan: 1m\n    condition: {lt: 3}\n", "lone upper bound"},
		{"title: x\ncorrelation:\n    type: value_count\n    rules: [failed_logon]\n    timespan: 1m\n    condition: {gte: 3}\n", "condition.field"},
	}
	for _, b := range bad {
		s := loadRules(t, map[string]string{"a.yml": baseA, "c.yml": b.body}, "")
		if len(s.Rejected()) != 1 || !strings.Contains(s.Rejected()[0].Reason, b.reason) {
			t.Errorf("%q: rejected %+v", b.reason, s.Rejected())
		}
	}
}

// TestCorrelationSpecExample runs the correlation specification's own
// example: a chained temporal_ordered correlation over an event_count
// correlation, all in one multi-document file, referenced by name.
func TestCorrelationSpecExample(t *testing.T) {
	doc := `title: Correlation - Multiple Failed Logins Followed by Successful Login
id: b180ead8-d58f-40b2-ae54-c8940995b9b6
correlation:
    type: temporal_ordered
    rules:
        - multiple_failed_login
        - successful_login
    group-by:
        - User
    timespan: 10m
level: high
---
title: Multiple failed logons
id: a8418a5a-5fc4-46b5-b23b-6c73beb19d41
name: multiple_failed_login
correlation:
    type: event_count
    rules:
        - failed_login
    group-by:
        - User
    timespan: 10m
    condition:
        gte: 10
---
title: Single failed login
id: 53ba33fd-3a50-4468-a5ef-c583635cfa92
name: failed_login
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID:
            - 529
            - 4625
    condition: selection
---
title: Successful login
id: 4d0a2c83-c62c-4ed4-b475-c7e23a9269b8
name: successful_login
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID:
            - 528
            - 4624
    condition: selection
`
	s := loadRules(t, map[string]string{"mr_bruteforce.yml": doc}, "")
	if len(s.Rejected()) != 0 || len(s.Correlations()) != 2 {
		t.Fatalf("rejected %+v, %d correlations", s.Rejected(), len(s.Correlations()))
	}
	user := func(id uint32, u string) *mapEvent { return newEvent("Security", id, "User", u) }
	var evs []timedEvent
	evs = append(evs, timedEvent{0, user(4624, "bob")}) // success first: no order yet
	for i := 0; i < 10; i++ {
		evs = append(evs, timedEvent{time.Duration(i+1) * 10 * time.Second, user(4625, "bob")})
		evs = append(evs, timedEvent{time.Duration(i+1) * 10 * time.Second, user(4625, "eve")})
	}
	evs = append(evs, timedEvent{3 * time.Minute, user(4624, "bob")})
	evs = append(evs, timedEvent{30 * time.Minute, user(4624, "eve")}) // too late for eve
	got := runCorrelation(t, s, evs)
	want := []string{"Multiple failed logons:bob:10", "Multiple failed logons:eve:10",
		"Correlation - Multiple Failed Logins Followed by Successful Login:bob:2"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// TestCorrelationEvents: a firing names the events that made it (the
// group's window from its start, distinct, in time order, the completing
// one last), bounded by MaxEvents with Total counting them all; a chained
// firing names the events of the firings it chains on.
func TestCorrelationEvents(t *testing.T) {
	logon := func(id uint32, user, label string) *mapEvent {
		return newEvent("Security", id, "TargetUserName", user, "Label", label)
	}
	both := `title: any logon
name: any_logon
logsource:
    product: windows
    service: security
detection:
    s:
        EventID: [4624, 4625]
    condition: s
`
	cases := []struct {
		name      string
		corr      []string
		maxEvents int
		evs       []timedEvent
		// firings as "title:count:total:start-end:labels"
		want []string
	}{
		{"event_count names the window", []string{`title: brute
correlation:
    type: event_count
    rules: [failed_logon]
    group-by: [TargetUserName]
    timespan: 1m
    condition: {gte: 3}
`}, 0, []timedEvent{
			{0, logon(4625, "bob", "b0")}, {70 * time.Second, logon(4625, "bob", "b70")}, // b0 leaves the window
			{80 * time.Second, logon(4625, "alice", "a80")}, {90 * time.Second, logon(4625, "bob", "b90")},
			{100 * time.Second, logon(4625, "bob", "b100")},
		}, []string{"brute:3:3:1m10s-1m40s:b70 b90 b100"}},
		{"temporal names the events from the window's start", []string{`title: fail and success
correlation:
    type: temporal
    rules: [failed_logon, good_logon]
    group-by: [TargetUserName]
    timespan: 1m
`}, 0, []timedEvent{
			{0, logon(4625, "bob", "f0")}, {20 * time.Second, logon(4625, "bob", "f20")},
			{30 * time.Second, logon(4624, "bob", "s30")},
		}, []string{"fail and success:2:2:20s-30s:f20 s30"}},
		{"an event two referenced rules match counts once", []string{`title: twice
correlation:
    type: event_count
    rules: [failed_logon, any_logon]
    group-by: [TargetUserName]
    timespan: 1m
    condition: {gte: 4}
`}, 0, []timedEvent{
			{0, logon(4625, "bob", "f0")}, {10 * time.Second, logon(4625, "bob", "f10")},
		}, []string{"twice:4:2:0s-10s:f0 f10"}},
		{"bounded by MaxEvents, the latest listed", []string{`title: brute
correlation:
    type: event_count
    rules: [failed_logon]
    timespan: 1h
    condition: {gte: 5}
`}, 2, []timedEvent{
			{0, logon(4625, "a", "e0")}, {1 * time.Second, logon(4625, "b", "e1")}, {2 * time.Second, logon(4625, "c", "e2")},
			{3 * time.Second, logon(4625, "d", "e3")}, {4 * time.Second, logon(4625, "e", "e4")},
		}, []string{"brute:5:5:0s-4s:e3 e4"}},
		{"a chained firing names the inner firing's events", []string{`title: repeated failures
name: repeated_failures
correlation:
    type: event_count
    rules: [failed_logon]
    group-by: [TargetUserName]
    timespan: 1m
    condition: {gte: 2}
`, `title: failures then success
correlation:
    type: temporal_ordered
    rules: [repeated_failures, good_logon]
    group-by: [TargetUserName]
    timespan: 5m
`}, 0, []timedEvent{
			{0, logon(4625, "bob", "f0")}, {10 * time.Second, logon(4625, "bob", "f10")},
			{60 * time.Second, logon(4624, "bob", "s60")},
		}, []string{"repeated failures:2:2:0s-10s:f0 f10", "failures then success:2:3:0s-1m0s:f0 f10 s60"}},
	}
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"a.yml": baseA, "b.yml": baseB, "any.yml": both}
			for i, c := range tc.corr {
				files[fmt.Sprintf("c%d.yml", i)] = c
			}
			s := loadRules(t, files, "")
			if len(s.Rejected()) != 0 {
				t.Fatal(s.Rejected())
			}
			c := s.NewCorrelator()
			c.MaxEvents = tc.maxEvents
			var got []string
			for _, te := range tc.evs {
				for _, cm := range c.Feed(te.ev, t0.Add(te.at), s.Match(te.ev, nil)) {
					var labels []string
					for _, e := range cm.Events {
						l, _ := e.Event.Get("Label")
						labels = append(labels, l)
					}
					last := cm.Events[len(cm.Events)-1]
					if last.Event != Event(te.ev) || !cm.End.Equal(t0.Add(te.at)) {
						t.Errorf("%s: the completing event is not listed last", cm.Rule.Title)
					}
					got = append(got, fmt.Sprintf("%s:%d:%d:%s-%s:%s", cm.Rule.Title, cm.Count, cm.Total,
						cm.Start.Sub(t0), cm.End.Sub(t0), strings.Join(labels, " ")))
				}
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}
