package tui

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evtriage/evtriage/internal/golden"
	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/rules"
	"github.com/evtriage/evtriage/triage"
)

// correlationResult hunts two small logs with the rules of
// testdata/correlation, a regsvr32 start rule and an event_count
// correlation over it (three starts by one user within a minute, the
// rule's matches not reported alone), through the real hunter. Alice's starts are out of time order across the logs, and her
// user name carries a terminal escape.
func correlationResult(t *testing.T) *triage.Result {
	t.Helper()
	set := rules.Load(rules.LoadOptions{NoBuiltin: true, Paths: []string{filepath.Join("testdata", "correlation")}})
	if len(set.Rejected()) > 0 {
		t.Fatal(set.Rejected())
	}
	const alice = "WS01\\alice\x1b]0;pwned\x07"
	start := func(rec uint64, s, pid int, user string) *parser.Event {
		return &parser.Event{Provider: "Microsoft-Windows-Sysmon", Channel: "Microsoft-Windows-Sysmon/Operational",
			Computer: "WS01", EventID: 1, RecordID: rec, Time: t0.Add(time.Duration(s) * time.Second),
			Fields: []parser.Field{
				{Name: "ProcessGuid", Value: fmt.Sprintf("{365ABB72-0000-0000-0000-%012X}", pid)},
				{Name: "ProcessId", Value: fmt.Sprint(pid)},
				{Name: "Image", Value: `C:\Windows\System32\regsvr32.exe`},
				{Name: "CommandLine", Value: fmt.Sprintf(`regsvr32 /s C:\Users\Public\%d.dll`, pid)},
				{Name: "User", Value: user},
			}}
	}
	logs := map[string][]*parser.Event{
		"evidence/a.evtx": {start(1, 0, 101, alice), start(2, 40, 102, alice), start(3, 5, 201, `WS01\bob`)},
		"evidence/b.evtx": {start(1, 10, 103, alice), start(2, 20, 104, alice)},
	}
	h := triage.NewHunter(triage.Options{Rules: set})
	for _, name := range []string{"evidence/a.evtx", "evidence/b.evtx"} {
		data := writeEvents(t, filepath.Join(t.TempDir(), "log.evtx"), logs[name])
		if err := h.AddReader(context.Background(), name, bytes.NewReader(data), int64(len(data)), nil); err != nil {
			t.Fatal(err)
		}
	}
	return h.Finish()
}

// TestCorrelationScreens: a correlation finding in the findings table (its
// summary in the command line column), its detail (group, count, window,
// contributing events, completing event) and its process in the tree.
func TestCorrelationScreens(t *testing.T) {
	res := correlationResult(t)
	if len(res.Findings) != 1 || res.Findings[0].Correlation == nil {
		t.Fatalf("%d findings", len(res.Findings))
	}
	tests := []struct {
		name string
		keys []string
		want []string
	}{
		{"correlation_detail", nil, []string{
			`User=WS01\alice\x1b]0;pwned\x07:`,
			"Correlation", `User = WS01\alice\x1b]0;pwned\x07`, "3 events",
			"2019-05-12 18:35:05.000 UTC – 2019-05-12 18:35:25.000 UTC (20s; the rule's timespan is 1m0s)",
			"a.evtx #1  EID 1", "b.evtx #1  EID 1", "b.evtx #2  EID 1", "Completing event",
		}},
		{"correlation_tree", []string{"enter"}, []string{"correlation: User=WS01\\alice\\x1b]0;pwned\\x07: 3 in 20s (event_count, window 1m0s, 3 events)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := loaded(t, res, 120, 40)
			m, _ = drive(t, m, press(tt.keys...)...)
			got := screen(m)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("screen lacks %q", w)
				}
			}
			for _, bad := range []string{"\x1b]0;", "\x07"} {
				if strings.Contains(m.View().Content, bad) {
					t.Errorf("output contains %q", bad)
				}
			}
			golden.Assert(t, "screen_"+tt.name+".txt", []byte(got))
		})
	}
}
