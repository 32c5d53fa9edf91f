//go:build linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tmuxSession runs a command in a tmux server of its own (a socket in the
// test's folder), as a person would in a terminal.
type tmuxSession struct {
	t    *testing.T
	sock string
}

func newTmux(t *testing.T, dir string, w, h int, argv ...string) *tmuxSession {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux not installed")
	}
	s := &tmuxSession{t: t, sock: filepath.Join(dir, "tmux.sock")}
	args := append([]string{"-f", "/dev/null", "new-session", "-d", "-x", fmt.Sprint(w), "-y", fmt.Sprint(h), "-s", "evtriage"}, argv...)
	if out, err := s.cmd(args...).CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	t.Cleanup(func() { s.cmd("kill-server").Run() })
	return s
}

func (s *tmuxSession) cmd(args ...string) *exec.Cmd {
	c := exec.Command("tmux", append([]string{"-S", s.sock}, args...)...)
	c.Env = append(os.Environ(), "TERM=xterm-256color")
	return c
}

// keys sends keys to the pane.
func (s *tmuxSession) keys(keys ...string) {
	s.t.Helper()
	if out, err := s.cmd(append([]string{"send-keys", "-t", "evtriage"}, keys...)...).CombinedOutput(); err != nil {
		s.t.Fatalf("tmux send-keys: %v: %s", err, out)
	}
}

// screen returns the pane's text.
func (s *tmuxSession) screen() string {
	out, _ := s.cmd("capture-pane", "-p", "-t", "evtriage").Output()
	return string(out)
}

// waitFor waits until the pane shows every one of want; it fails after a
// minute without (a hang), showing the pane.
func (s *tmuxSession) waitFor(what string, want ...string) string {
	s.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		scr := s.screen()
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(scr, w)
		}
		if ok {
			return scr
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s: the screen never showed %q:\n%s", what, want, scr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestScreenFollowsTmux opens the hunting screen with --follow on a folder
// in tmux while the test grows a log in place: the header says what is
// followed, a regsvr32 chain written to the log appears in the findings
// and in the process tree, P pauses (the header says so, nothing is read)
// and resumes (what was written meanwhile appears), and q quits.
func TestScreenFollowsTmux(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	logs := filepath.Join(dir, "logs")
	if err := os.Mkdir(logs, 0o700); err != nil {
		t.Fatal(err)
	}
	const (
		reg    = `C:\Windows\System32\regsvr32.exe`
		word   = `C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`
		cmdExe = `C:\Windows\System32\cmd.exe`
	)
	a := newLiveLog(t, filepath.Join(logs, "Sysmon.evtx"), 4096+8*65536)
	rec := 0
	create := func(n, parent int, image, original, parentImage string) {
		rec++
		ev := procCreate(n, parent, image, original, parentImage)
		ev.RecordID = 0 // the record number
		ev.Time = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(rec) * time.Second)
		a.write(ev)
	}
	for n := 100; n < 140; n++ {
		create(n, 2, `C:\Windows\System32\notepad.exe`, "NOTEPAD.EXE", `C:\Windows\explorer.exe`)
	}
	done := filepath.Join(dir, "exit")
	tm := newTmux(t, dir, 120, 36, "sh", "-c", fmt.Sprintf("%q --follow --poll 100ms %q; echo $? > %q", bin, logs, done))
	tm.waitFor("start", "following 1 file", "last event", "40 events")

	// A Word document starts a Squiblydoo regsvr32, which starts cmd.
	create(1, 2, word, "WinWord.exe", `C:\Windows\explorer.exe`)
	create(3, 1, reg, "REGSVR32.EXE", word)
	create(4, 3, cmdExe, "Cmd.Exe", reg)
	tm.waitFor("the chain's findings", "Squiblydoo", "Started by an Office", "Child of Regsvr32", "43 events")
	tm.keys("2", "f") // the tree, its first process with findings
	tm.waitFor("the chain in the tree", "WINWORD.EXE", "regsvr32.exe", "cmd.exe")

	// Paused, the screen reads nothing; resumed, it catches up.
	tm.keys("P")
	tm.waitFor("paused", "paused (P resumes)")
	create(5, 2, reg, "REGSVR32.EXE", `C:\Windows\explorer.exe`)
	time.Sleep(500 * time.Millisecond) // five polls' time, paused
	if scr := tm.screen(); !strings.Contains(scr, "43 events") {
		t.Errorf("events read while paused:\n%s", scr)
	}
	tm.keys("P")
	tm.waitFor("resumed", "following 1 file", "44 events")

	tm.keys("q")
	deadline := time.Now().Add(time.Minute)
	for {
		b, err := os.ReadFile(done)
		if err == nil {
			if strings.TrimSpace(string(b)) != "0" {
				t.Errorf("exit status %s", b)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("q did not quit:\n%s", tm.screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
