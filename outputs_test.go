//go:build unix

package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runGuarded is runCapture failing the test, instead of hanging it, when
// the command does not return (a FIFO opened for reading blocks forever).
func runGuarded(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	type result struct {
		code           int
		stdout, stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, o, e := runCapture(t, args...)
		done <- result{code, o, e}
	}()
	select {
	case r := <-done:
		return r.code, r.stdout, r.stderr
	case <-time.After(60 * time.Second): // a hang detector, not a timing assertion
		t.Fatalf("%v did not return", args)
		return 0, "", ""
	}
}

func mustMkfifo(t *testing.T, p string) string {
	t.Helper()
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	return p
}

// tempLeft lists the temporary output files left in dir.
func tempLeft(t *testing.T, dir string) []string {
	t.Helper()
	var left []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".tmp-") {
			left = append(left, p)
		}
		return nil
	})
	return left
}

// TestHuntOutputTargets: -o never replaces what is not a regular file,
// never an input, and is checked before the hunt.
func TestHuntOutputTargets(t *testing.T) {
	dir := t.TempDir()
	logDir := filepath.Join(dir, "logs")
	if err := os.Mkdir(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	log := writeLog(t, logDir, "a.evtx", sampleEvents())
	orig, _ := os.ReadFile(log)
	hardlink := filepath.Join(dir, "hard.json")
	if err := os.Link(log, hardlink); err != nil {
		t.Fatal(err)
	}
	symlink := filepath.Join(dir, "sym.json")
	if err := os.Symlink(log, symlink); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"output is the input", []string{"-o", log, log}, exitUsage, "is one of the inputs"},
		{"output is a file under a folder PATH", []string{"-o", log, logDir}, exitUsage, "is one of the inputs"},
		{"output is a hard link to an input", []string{"-o", hardlink, logDir}, exitUsage, "is one of the inputs"},
		{"output is a symlink to an input", []string{"-o", symlink, logDir}, exitUsage, "is one of the inputs"},
		{"output is a baseline", []string{"--baseline", log, "-o", log, filepath.Join(dir, "other")}, exitUsage, "is one of the inputs"},
		{"output folder missing", []string{"-o", filepath.Join(dir, "nonexistent", "x.json"), logDir}, exitUsage, "no such file"},
		{"output is a folder", []string{"-o", logDir, log}, exitUsage, "is a folder"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runGuarded(t, append([]string{"hunt"}, tc.args...)...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tc.code, tc.stderr)
			}
			if got, _ := os.ReadFile(log); string(got) != string(orig) {
				t.Fatal("the input was changed")
			}
		})
	}

	t.Run("fifo written through", func(t *testing.T) {
		fifo := mustMkfifo(t, filepath.Join(dir, "out.fifo"))
		got := make(chan []byte)
		go func() {
			b, _ := os.ReadFile(fifo)
			got <- b
		}()
		code, _, stderr := runGuarded(t, "hunt", "-o", fifo, log)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if b := <-got; !json.Valid(b) {
			t.Errorf("reader got %.200q", b)
		}
		if fi, _ := os.Lstat(fifo); fi.Mode()&fs.ModeNamedPipe == 0 {
			t.Errorf("fifo replaced by %v", fi.Mode())
		}
	})

	t.Run("device written through", func(t *testing.T) {
		null := filepath.Join(dir, "null")
		if err := syscall.Mknod(null, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
			t.Skip("mknod needs root:", err)
		}
		code, _, stderr := runGuarded(t, "hunt", "-o", null, log)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if fi, _ := os.Lstat(null); fi.Mode()&fs.ModeCharDevice == 0 {
			t.Errorf("device replaced by %v", fi.Mode())
		}
	})

	t.Run("dash is stdout", func(t *testing.T) {
		code, stdout, _ := runGuarded(t, "hunt", "-o", "-", log)
		if code != exitOK || !json.Valid([]byte(stdout)) {
			t.Errorf("exit %d, stdout %.200q", code, stdout)
		}
		if _, err := os.Stat("-"); err == nil {
			t.Error("a file named - was written")
		}
	})

	t.Run("flags after PATH", func(t *testing.T) {
		out := filepath.Join(dir, "after.json")
		code, stdout, stderr := runGuarded(t, "hunt", log, "-o", out, "--min-level", "high")
		if code != exitOK || stdout != "" {
			t.Fatalf("exit %d stdout %q stderr %s", code, stdout, stderr)
		}
		if b, err := os.ReadFile(out); err != nil || !json.Valid(b) {
			t.Errorf("-o after PATH not honoured: %v", err)
		}
		if code, _, stderr := runGuarded(t, "hunt", log, "--nope"); code != exitUsage {
			t.Errorf("unknown flag after PATH: exit %d (%s)", code, stderr)
		}
		if code, _, _ := runGuarded(t, "hunt", "-o", filepath.Join(dir, "dd.json"), "--", log); code != exitOK {
			t.Errorf("-- before PATH: exit %d", code)
		}
	})
	if left := tempLeft(t, dir); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestHuntSpecialInputs: pipes, sockets and devices are refused at once
// wherever an input is named; nothing hangs or reads forever.
func TestHuntSpecialInputs(t *testing.T) {
	dir := t.TempDir()
	log := writeLog(t, dir, "a.evtx", sampleEvents())
	fifo := mustMkfifo(t, filepath.Join(dir, "fifo.evtx"))
	zero := filepath.Join(dir, "zero")
	haveZero := syscall.Mknod(zero, syscall.S_IFCHR|0o666, 1<<8|5) == nil // /dev/zero's numbers
	big := filepath.Join(dir, "big.yml")
	if err := os.WriteFile(big, make([]byte, 17<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr []string
		zero   bool
	}{
		{"fifo PATH", []string{fifo}, exitPartial, []string{"fifo.evtx: not a regular file (named pipe)"}, false},
		{"fifo rules", []string{"--rules", fifo, log}, exitPartial, []string{"rule rejected", "named pipe"}, false},
		{"fifo rules config", []string{"--rules-config", fifo, log}, exitPartial, []string{"rule rejected", "named pipe"}, false},
		{"fifo baseline log", []string{"--baseline", fifo, log}, exitPartial, []string{"named pipe"}, false},
		{"fifo baseline export", []string{"--baseline", mustMkfifo(t, filepath.Join(dir, "fifo.json")), log}, exitPartial, []string{"named pipe"}, false},
		{"rules config bounded", []string{"--rules-config", big, log}, exitPartial, []string{"file too large"}, false},
		{"device PATH", []string{zero}, exitPartial, []string{"character device"}, true},
		{"device rules config", []string{"--rules-config", zero, log}, exitPartial, []string{"character device"}, true},
		{"huge workers", []string{"--workers", "10000000", log}, exitOK, nil, false},
		{"negative workers", []string{"--workers", "-1", log}, exitUsage, []string{"--workers"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.zero && !haveZero {
				t.Skip("mknod needs root")
			}
			code, stdout, stderr := runGuarded(t, append([]string{"hunt", "--format", "json"}, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %s)", code, tc.code, stderr)
			}
			for _, s := range tc.stderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q: %s", s, stderr)
				}
			}
			if tc.code != exitUsage && !json.Valid([]byte(stdout)) {
				t.Errorf("no export: %.300q", stdout)
			}
		})
	}
}

// TestHuntNothingFound: a folder without logs and a missing PATH are exit
// 1, said on stderr and listed in the export's sources with their errors.
func TestHuntNothingFound(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.evtx")
	code, stdout, stderr := runGuarded(t, "hunt", "--format", "json", empty, missing)
	if code != exitPartial {
		t.Errorf("exit %d, want %d", code, exitPartial)
	}
	for _, s := range []string{"no .evtx file found in " + empty, "missing.evtx"} {
		if !strings.Contains(stderr, s) {
			t.Errorf("stderr lacks %q: %s", s, stderr)
		}
	}
	var doc struct {
		Sources []struct {
			Path     string
			Problems []struct{ Reason string }
		}
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{empty: "no .evtx file found in " + empty, missing: "no such file"}
	for _, s := range doc.Sources {
		if w, ok := want[s.Path]; ok && len(s.Problems) == 1 && strings.Contains(s.Problems[0].Reason, w) {
			delete(want, s.Path)
		}
	}
	if len(want) > 0 {
		t.Errorf("sources lack %v: %+v", want, doc.Sources)
	}
}

// TestGenOutput: gen checks every option before touching -o, never
// truncates a symlink's target, and writes through pipes.
func TestGenOutput(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing.evtx")
	if err := os.WriteFile(existing, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(outside, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.evtx")
	if err := os.Symlink(outside, link); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--scenario", "nope"},
		{"--form", "nope"},
		{"--hosts", "-1"},
		{"--hosts", "10001"},
		{"--events", "10", "--size", "1MB"},
	} {
		code, _, stderr := runGuarded(t, append([]string{"gen", "-o", existing}, args...)...)
		if code != exitUsage {
			t.Errorf("%v: exit %d (%s)", args, code, stderr)
		}
		if b, _ := os.ReadFile(existing); string(b) != "precious" {
			t.Fatalf("%v: a usage error changed the existing output: %q", args, b)
		}
	}
	if code, _, stderr := runGuarded(t, "gen", "--events", "200", "-o", link); code != exitOK {
		t.Fatalf("gen to a symlink: exit %d: %s", code, stderr)
	}
	if b, _ := os.ReadFile(outside); string(b) != "precious" {
		t.Errorf("symlink target changed: %.20q", b)
	}
	if b, _ := os.ReadFile(link); !strings.HasPrefix(string(b), "ElfFile") {
		t.Errorf("output not written: %.20q", b)
	}
	fifo := mustMkfifo(t, filepath.Join(dir, "out.fifo"))
	got := make(chan []byte)
	go func() {
		b, _ := os.ReadFile(fifo)
		got <- b
	}()
	code, stdout, stderr := runGuarded(t, "gen", "--events", "200", "-o", fifo, "--truth", filepath.Join(dir, "t.json"))
	if code != exitOK {
		t.Fatalf("gen to a fifo: exit %d: %s", code, stderr)
	}
	if b := <-got; !strings.HasPrefix(string(b), "ElfFile") || !strings.Contains(stdout, "wrote") {
		t.Errorf("fifo reader got %.20q; stdout %q", b, stdout)
	}
	if code, _, stderr := runGuarded(t, "gen", "-o", filepath.Join(dir, "no", "x.evtx")); code != exitUsage {
		t.Errorf("missing folder: exit %d (%s)", code, stderr)
	}
	if left := tempLeft(t, dir); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
