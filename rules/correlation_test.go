package rules

import (
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
