//go:build linux

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evtriage/evtriage/parser"
)

// liveLog grows a log in place, as the event log service does.
type liveLog struct {
	t *testing.T
	w *parser.LiveWriter
}

func newLiveLog(t *testing.T, path string, maxSize int64) *liveLog {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	w, err := parser.NewLiveWriter(f, parser.LiveOptions{MaxSize: maxSize})
	if err != nil {
		t.Fatal(err)
	}
	return &liveLog{t: t, w: w}
}

func (l *liveLog) write(evs ...*parser.Event) {
	l.t.Helper()
	for _, e := range evs {
		if err := l.w.Write(e); err != nil {
			l.t.Fatal(err)
		}
	}
}

// lines reads a process's output line by line.
type lines struct {
	ch  chan string
	all []string
}

func readLines(t *testing.T, cmd *exec.Cmd) *lines {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	l := &lines{ch: make(chan string, 1024)}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			l.ch <- sc.Text()
		}
		close(l.ch)
	}()
	return l
}

// waitFor reads lines until one contains want; it fails the test when the
// output ends first, or nothing comes for a minute (a hang).
func (l *lines) waitFor(t *testing.T, want string) {
	t.Helper()
	for {
		select {
		case s, ok := <-l.ch:
			if !ok {
				t.Fatalf("output ended without %q", want)
			}
			l.all = append(l.all, s)
			if strings.Contains(s, want) {
				return
			}
		case <-time.After(time.Minute):
			t.Fatalf("no line with %q after a minute", want)
		}
	}
}

// rest reads what is left of the output.
func (l *lines) rest() {
	for s := range l.ch {
		l.all = append(l.all, s)
	}
}

// TestHuntFollow runs `hunt --follow` on a folder while a test writer
// grows a log in place: each finding is streamed as a JSON Lines record as
// soon as its event is written, also after the log wrapped, for a log
// that appears in the folder, and when records were lost (the process
// stopped while the log wrapped). SIGINT or SIGTERM ends it with the
// findings pending written, a summary on stderr and exit 0, or 1 when
// records were lost (a problem named by its record ids).
func TestHuntFollow(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t, t.TempDir())
	const (
		reg  = `C:\Windows\System32\regsvr32.exe`
		ring = 4096 + 4*65536
	)
	tests := []struct {
		name string
		sig  syscall.Signal
		lose bool
		code int
	}{
		{"SIGINT", syscall.SIGINT, false, exitOK},
		{"SIGTERM", syscall.SIGTERM, false, exitOK},
		{"SIGINT after records were lost", syscall.SIGINT, true, exitPartial},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			logs := filepath.Join(dir, "logs")
			if err := os.Mkdir(logs, 0o700); err != nil {
				t.Fatal(err)
			}
			a := newLiveLog(t, filepath.Join(logs, "Sysmon.evtx"), ring)
			rec := 0
			background := func(n int) {
				for range n {
					rec++
					a.write(procCreate(rec, 0, `C:\Windows\System32\notepad.exe`, "NOTEPAD.EXE", `C:\Windows\explorer.exe`))
				}
			}
			regsvr32 := func(l *liveLog) string {
				rec++
				l.write(procCreate(rec, 0, reg, "REGSVR32.EXE", `C:\Windows\explorer.exe`))
				return fmt.Sprintf(`"record_id":%d,`, rec+1)
			}
			background(20)
			cmd := exec.Command(bin, "hunt", "--follow", "--poll", "20ms", logs)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out := readLines(t, cmd)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			out.waitFor(t, `{"export":`)
			out.waitFor(t, regsvr32(a))
			// The log wraps four times, followed: each finding streamed
			// says that the records before it were read.
			for range 30 {
				background(100)
				out.waitFor(t, regsvr32(a))
			}
			if tc.lose {
				// Stopped while the log wraps twice: what it did not
				// read is lost.
				cmd.Process.Signal(syscall.SIGSTOP)
				background(1500)
				cmd.Process.Signal(syscall.SIGCONT)
				out.waitFor(t, regsvr32(a))
			}
			b := newLiveLog(t, filepath.Join(logs, "Security.evtx"), 0)
			out.waitFor(t, regsvr32(b))
			last := regsvr32(a) // written just before the signal
			cmd.Process.Signal(tc.sig)
			out.rest()
			err := cmd.Wait()
			if code := cmd.ProcessState.ExitCode(); code != tc.code {
				t.Errorf("exit %d (%v), want %d; stderr:\n%s", code, err, tc.code, stderr.String())
			}
			findings := 0
			for i, s := range out.all {
				var v map[string]json.RawMessage
				if err := json.Unmarshal([]byte(s), &v); err != nil || len(v) != 1 || (i == 0) != (v["export"] != nil) {
					t.Errorf("line %d is not a JSON Lines record of an export (head first): %.100s", i+1, s)
				}
				if v["finding"] != nil {
					findings++
				}
			}
			if !strings.Contains(strings.Join(out.all, "\n"), last) {
				t.Errorf("the finding written just before the signal was not streamed")
			}
			m := regexp.MustCompile(`stopped \((interrupt|terminated)\) after \S+: (\d+) findings written; (\d+) events from 2 logs`).FindStringSubmatch(stderr.String())
			if m == nil {
				t.Fatalf("no summary on stderr:\n%s", stderr.String())
			}
			if n, _ := strconv.Atoi(m[2]); n != findings || findings < 4 {
				t.Errorf("summary says %s findings, %d streamed (want at least 4)", m[2], findings)
			}
			for _, want := range []string{"Security.evtx: following (new log)"} {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
			if lost := strings.Contains(stderr.String(), "records overwritten before they were read: record ids"); lost != tc.lose {
				t.Errorf("lost records reported: %v, want %v:\n%s", lost, tc.lose, stderr.String())
			}
		})
	}
}

// TestHuntFollowCase: `hunt --follow --case FILE` streams each finding
// with the case's mark, as a hunt's export carries them, and names the case
// in the head.
func TestHuntFollowCase(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	src, casePath := markedSquiblydoo(t, dir, "case.json")
	logs := filepath.Join(dir, "logs")
	if err := os.Mkdir(logs, 0o700); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(logs, "squiblydoo.evtx"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "hunt", "--follow", "--poll", "20ms", "--case", casePath, logs)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out := readLines(t, cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	out.waitFor(t, `{"export":`)
	out.waitFor(t, `"malicious"`)
	cmd.Process.Signal(syscall.SIGINT)
	out.rest()
	cmd.Wait()
	if !strings.Contains(out.all[0], `"case":{`) {
		t.Errorf("the head names no case: %.300s", out.all[0])
	}
	if !strings.Contains(strings.Join(out.all, "\n"), `"dropper"`) {
		t.Errorf("the mark's note was not streamed")
	}
}
