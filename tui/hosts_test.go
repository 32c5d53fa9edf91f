package tui

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/triage"
)

// TestHostToggleWithUnnamedHost: a log whose events include one naming no
// computer (crafted or damaged evidence) still lets h step through every
// named host and back to all.
func TestHostToggleWithUnnamedHost(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hosts.evtx")
	var evs []*parser.Event
	for i, host := range []string{"", "WS1", "WS2"} {
		evs = append(evs, &parser.Event{Provider: "Microsoft-Windows-Sysmon", Channel: "Microsoft-Windows-Sysmon/Operational",
			Computer: host, EventID: 1, RecordID: uint64(i + 1), Time: t0.Add(time.Duration(i) * time.Second),
			Fields: []parser.Field{{Name: "ProcessGuid", Value: "{00000000-0000-0000-0000-00000000000" + string(rune('1'+i)) + "}"},
				{Name: "ProcessId", Value: "100"}, {Name: "Image", Value: `C:\Windows\System32\cmd.exe`}, {Name: "CommandLine", Value: "cmd"}}})
	}
	writeEvents(t, path, evs)
	h := triage.NewHunter(triage.Options{})
	if err := h.AddFile(context.Background(), path, nil); err != nil {
		t.Fatal(err)
	}
	res := h.Finish()
	m := loaded(t, res, 160, 30)
	for _, want := range []string{"WS1", "WS2", "all", "WS1"} {
		m, _ = drive(t, m, press("h")...)
		status := lastLines(screen(m), 3)
		if !strings.Contains(status, "host "+want+" ") {
			t.Fatalf("after h, want host %s in the status:\n%s", want, status)
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
}
