//go:build unix

package infile

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestOpenRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "log.evtx")
	if err := os.WriteFile(regular, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.evtx")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock.evtx")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	link := filepath.Join(dir, "link.evtx")
	if err := os.Symlink(fifo, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		want       error
		what       string
	}{
		{"regular", regular, nil, ""},
		{"fifo", fifo, ErrNotRegular, "named pipe"},
		{"socket", sock, ErrNotRegular, "socket"},
		{"link to a fifo", link, ErrNotRegular, "named pipe"},
		{"folder", dir, ErrNotRegular, "folder"},
		{"missing", filepath.Join(dir, "nope"), os.ErrNotExist, ""},
	}
	if dev := filepath.Join(dir, "zero"); syscall.Mknod(dev, syscall.S_IFCHR|0o666, 1<<8|5) == nil {
		tests = append(tests, struct {
			name, path string
			want       error
			what       string
		}{"character device (/dev/zero's numbers)", dev, ErrNotRegular, "character device"})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Open(tc.path) // a FIFO without a writer would block here before
			if f != nil {
				f.Close()
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open = %v, want %v", err, tc.want)
			}
			if err != nil && !strings.Contains(err.Error(), tc.what) {
				t.Errorf("error %q does not say %q", err, tc.what)
			}
			if _, err := ReadAll(tc.path, 1<<20); !errors.Is(err, tc.want) {
				t.Errorf("ReadAll = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestReadAllBound(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(p, make([]byte, 101), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadAll(p, 100); !errors.Is(err, ErrTooLarge) {
		t.Errorf("101 bytes with a 100 bound: %v", err)
	}
	if b, err := ReadAll(p, 101); err != nil || len(b) != 101 {
		t.Errorf("101 bytes with a 101 bound: %d, %v", len(b), err)
	}
}
