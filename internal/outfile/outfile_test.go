//go:build unix

package outfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// leftovers returns the temporary files left in dir.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			out = append(out, e.Name())
		}
	}
	return out
}

func write(path, s string) error {
	return Write(path, 0o644, nil, func(w io.Writer) error {
		_, err := io.WriteString(w, s)
		return err
	})
}

func TestRegularFiles(t *testing.T) {
	errWrite := errors.New("write failed")
	tests := []struct {
		name     string
		setup    func(t *testing.T, dir string) string // returns the output path
		fn       func(w io.Writer) error
		wantErr  error
		want     string // content of the path afterwards
		wantMode fs.FileMode
	}{
		{"new file", func(t *testing.T, dir string) string { return filepath.Join(dir, "out.json") },
			nil, nil, "new", 0o644},
		{"replaces a regular file, keeps its mode", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "out.json")
			mustWrite(t, p, "old", 0o640)
			return p
		}, nil, nil, "new", 0o640},
		{"failed write leaves the old file", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "out.json")
			mustWrite(t, p, "old", 0o644)
			return p
		}, func(w io.Writer) error { io.WriteString(w, "partial"); return errWrite }, errWrite, "old", 0o644},
		{"dangling symlink is replaced", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "out.json")
			mustSymlink(t, filepath.Join(dir, "nowhere"), p)
			return p
		}, nil, nil, "new", 0o644},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := tc.setup(t, dir)
			fn := tc.fn
			if fn == nil {
				fn = func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }
			}
			err := Write(p, 0o644, nil, fn)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			got, _ := os.ReadFile(p)
			if string(got) != tc.want {
				t.Errorf("content %q, want %q", got, tc.want)
			}
			fi, err := os.Lstat(p)
			if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != tc.wantMode {
				t.Errorf("mode %v (%v), want regular %v", fi.Mode(), err, tc.wantMode)
			}
			if l := leftovers(t, dir); len(l) > 0 {
				t.Errorf("temporary files left: %v", l)
			}
		})
	}
}

func mustWrite(t *testing.T, p, s string, perm fs.FileMode) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// TestSymlinkTargetUntouched: a link to a regular file elsewhere is
// replaced by the output; the file it named is never written.
func TestSymlinkTargetUntouched(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	victim := filepath.Join(outside, "victim")
	mustWrite(t, victim, "precious", 0o644)
	link := filepath.Join(dir, "out.evtx")
	mustSymlink(t, victim, link)
	if err := write(link, "new"); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(victim); string(got) != "precious" {
		t.Errorf("link target changed: %q", got)
	}
	if got, _ := os.ReadFile(link); string(got) != "new" {
		t.Errorf("output %q", got)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&fs.ModeSymlink != 0 {
		t.Error("output is still a link")
	}
}

func TestRefused(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	linkToDir := filepath.Join(dir, "linkdir")
	mustSymlink(t, sub, linkToDir)
	tests := []struct {
		name, path string
		want       error
	}{
		{"folder", sub, ErrIsDir},
		{"link to a folder", linkToDir, ErrIsDir},
		{"missing folder", filepath.Join(dir, "no", "such", "x.json"), fs.ErrNotExist},
		{"empty", "", errNoOutput},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Create(tc.path, 0o600, nil); !errors.Is(err, tc.want) {
				t.Errorf("Create(%s) = %v, want %v", tc.path, err, tc.want)
			}
		})
	}
	if l := leftovers(t, dir); len(l) > 0 {
		t.Errorf("temporary files left: %v", l)
	}
}

func TestAbort(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.json")
	mustWrite(t, p, "old", 0o644)
	o, err := Create(p, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(o, "half")
	o.Abort()
	o.Abort() // twice is fine
	if _, err := o.Write([]byte("more")); !errors.Is(err, ErrAborted) {
		t.Errorf("write after abort: %v", err)
	}
	if err := o.Commit(); !errors.Is(err, ErrAborted) {
		t.Errorf("commit after abort: %v", err)
	}
	if got, _ := os.ReadFile(p); string(got) != "old" {
		t.Errorf("target %q", got)
	}
	if l := leftovers(t, dir); len(l) > 0 {
		t.Errorf("temporary files left: %v", l)
	}
	if !o.Aborted() {
		t.Error("not marked aborted")
	}
}

func TestStdout(t *testing.T) {
	var b bytes.Buffer
	if err := Write("-", 0o600, &b, func(w io.Writer) error { _, err := io.WriteString(w, "x"); return err }); err != nil {
		t.Fatal(err)
	}
	if b.String() != "x" {
		t.Errorf("stdout got %q", b.String())
	}
}

// readFIFO makes a named pipe in dir and reads it whole in the background;
// it skips the test where pipes cannot be made.
func readFIFO(t *testing.T, dir string) (string, <-chan string) {
	t.Helper()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	got := make(chan string)
	go func() {
		b, _ := os.ReadFile(fifo)
		got <- string(b)
	}()
	return fifo, got
}

// TestWrittenThrough: targets that exist and are not regular files are
// written to, never replaced.
func TestWrittenThrough(t *testing.T) {
	dir := t.TempDir()

	t.Run("named pipe", func(t *testing.T) {
		fifo, got := readFIFO(t, dir)
		if err := write(fifo, "through"); err != nil {
			t.Fatal(err)
		}
		if s := <-got; s != "through" {
			t.Errorf("reader got %q", s)
		}
		if fi, _ := os.Lstat(fifo); fi.Mode()&fs.ModeNamedPipe == 0 {
			t.Errorf("fifo replaced: %v", fi.Mode())
		}
	})

	t.Run("link into /proc", func(t *testing.T) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		link := filepath.Join(dir, "stdout")
		mustSymlink(t, fmt.Sprintf("/proc/self/fd/%d", w.Fd()), link)
		got := make(chan string)
		go func() {
			b, _ := io.ReadAll(r)
			got <- string(b)
		}()
		err = write(link, "through")
		w.Close()
		if err != nil {
			t.Fatal(err)
		}
		if s := <-got; s != "through" {
			t.Errorf("pipe got %q", s)
		}
		if fi, _ := os.Lstat(link); fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("link replaced: %v", fi.Mode())
		}
	})

	t.Run("character device", func(t *testing.T) {
		null := filepath.Join(dir, "null")
		// /dev/null's numbers (1, 3), made in the test's own folder.
		if err := syscall.Mknod(null, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
			t.Skip("mknod needs root:", err)
		}
		if err := write(null, "into the void"); err != nil {
			t.Fatal(err)
		}
		if fi, _ := os.Lstat(null); fi.Mode()&fs.ModeCharDevice == 0 {
			t.Errorf("device replaced: %v", fi.Mode())
		}
	})

	t.Run("socket", func(t *testing.T) {
		sock := filepath.Join(dir, "sock")
		l, err := net.Listen("unix", sock)
		if err != nil {
			t.Skip("unix socket:", err)
		}
		defer l.Close()
		if err := write(sock, "x"); err == nil {
			t.Error("writing to a socket succeeded")
		}
		if fi, _ := os.Lstat(sock); fi.Mode()&fs.ModeSocket == 0 {
			t.Errorf("socket replaced: %v", fi.Mode())
		}
	})
	if l := leftovers(t, dir); len(l) > 0 {
		t.Errorf("temporary files left: %v", l)
	}
}

func TestCreateUnique(t *testing.T) {
	dir := t.TempDir()
	name := func(n int) string {
		if n == 1 {
			return "export.json"
		}
		return fmt.Sprintf("export-%d.json", n)
	}
	mustWrite(t, filepath.Join(dir, "export.json"), "first", 0o600)
	var names []string
	for i := range 3 {
		o, err := CreateUnique(dir, name, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(o, "export %d", i)
		if err := o.Commit(); err != nil {
			t.Fatal(err)
		}
		names = append(names, filepath.Base(o.Name()))
	}
	if got := strings.Join(names, ","); got != "export-2.json,export-3.json,export-4.json" {
		t.Errorf("names %s", got)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "export.json")); string(b) != "first" {
		t.Errorf("existing file overwritten: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "export-3.json")); string(b) != "export 1" {
		t.Errorf("export-3 holds %q", b)
	}
	if l := leftovers(t, dir); len(l) > 0 {
		t.Errorf("temporary files left: %v", l)
	}
}

func TestSeek(t *testing.T) {
	dir := t.TempDir()
	o, err := Create(filepath.Join(dir, "x"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(o, "abcd")
	if _, err := o.Seek(1, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	io.WriteString(o, "X")
	if err := o.Commit(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "x")); string(b) != "aXcd" {
		t.Errorf("content %q", b)
	}
	s, _ := Create("-", 0o600, io.Discard)
	if _, err := s.Seek(0, io.SeekStart); !errors.Is(err, ErrNotSeek) {
		t.Errorf("seek on stdout: %v", err)
	}
}

// TestCreateStream: a stream goes to a new file, readable as it grows and
// kept however it ends, or through a pipe; it never replaces a file, nor
// writes through a link to one.
func TestCreateStream(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string) string
		wantErr error
		abort   bool
	}{
		{"new file", func(t *testing.T, dir string) string { return filepath.Join(dir, "live.jsonl") }, nil, false},
		{"new file, aborted: what was written stays", func(t *testing.T, dir string) string { return filepath.Join(dir, "live.jsonl") }, nil, true},
		{"existing file refused", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "old.jsonl")
			mustWrite(t, p, "old", 0o644)
			return p
		}, ErrExists, false},
		{"link to a file refused", func(t *testing.T, dir string) string {
			mustWrite(t, filepath.Join(dir, "target"), "old", 0o644)
			p := filepath.Join(dir, "link.jsonl")
			mustSymlink(t, filepath.Join(dir, "target"), p)
			return p
		}, ErrExists, false},
		{"dangling link refused", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "link.jsonl")
			mustSymlink(t, filepath.Join(dir, "nowhere"), p)
			return p
		}, ErrExists, false},
		{"folder refused", func(t *testing.T, dir string) string { return dir }, ErrIsDir, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tc.setup(t, dir)
			before, _ := os.ReadFile(path)
			o, err := CreateStream(path, 0o600, nil)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
					t.Errorf("refused target changed: %q", after)
				}
				return
			}
			if _, err := io.WriteString(o, "line 1\n"); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(path); string(b) != "line 1\n" {
				t.Errorf("while written the file holds %q", b)
			}
			if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
				t.Errorf("mode %v", fi.Mode())
			}
			if tc.abort {
				o.Abort()
			} else if err := o.Commit(); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(path); string(b) != "line 1\n" {
				t.Errorf("at the end the file holds %q", b)
			}
			if l := leftovers(t, dir); len(l) > 0 {
				t.Errorf("temporary files left: %v", l)
			}
		})
	}
	t.Run("named pipe", func(t *testing.T) {
		fifo, got := readFIFO(t, t.TempDir())
		o, err := CreateStream(fifo, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(o, "through")
		if err := o.Commit(); err != nil {
			t.Fatal(err)
		}
		if s := <-got; s != "through" {
			t.Errorf("reader got %q", s)
		}
	})
}
