//go:build unix

package tui

import (
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestTimelineFiles reads the timeline back from files on disk (opened
// read-only again): every log of the host; a log that became a pipe or
// went away since the hunt is a problem the header and the problems
// panel report, not a hang; the rest is still shown.
func TestTimelineFiles(t *testing.T) {
	dir := t.TempDir()
	inputs := writeHostFiles(t, dir)
	m := hunting(t, inputs, 120, 40, nil)
	got, _ := drive(t, m, press("T")...)
	logs := map[string]bool{}
	for _, r := range rowsOf(got) {
		logs[strings.Fields(r)[0]] = true
	}
	if len(logs) != 5 {
		t.Errorf("logs in the timeline: %v", logs)
	}
	if err := os.Remove(inputs[2].Path); err != nil { // System
		t.Fatal(err)
	}
	if err := os.Remove(inputs[4].Path); err != nil { // Defender
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(inputs[4].Path, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	m.ev.Close() // what the screen kept open is gone with the files
	m.ev = newEvidence(inputs, true)
	got, _ = drive(t, m, press("T")...)
	if got.timeline.data == nil || len(got.timeline.data.Problems) == 0 {
		t.Fatalf("no problem reported: %+v", got.timeline.data)
	}
	for _, r := range rowsOf(got) {
		if strings.HasPrefix(r, "System") || strings.HasPrefix(r, "Defender") {
			t.Errorf("an event of a file gone: %s", r)
		}
	}
	if s := screen(got); !strings.Contains(s, "problem") {
		t.Errorf("the header does not say so:\n%s", s)
	}
	p, _ := drive(t, got, press("p")...)
	if s := screen(p); !strings.Contains(s, "Timeline (") || !strings.Contains(s, "System.evtx") {
		t.Errorf("the problems panel does not list them:\n%s", s)
	}
}
