//go:build unix

package parser

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/evtriage/evtriage/internal/infile"
)

func TestFindFiles(t *testing.T) {
	root := t.TempDir()
	mk := func(rel string) string {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	link := func(target, rel string) string {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fifo := func(rel string) string {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Skip("mkfifo:", err)
		}
		return p
	}
	outside := mk("outside/real.log") // a regular file not named .evtx
	mk("plain/a.evtx")
	mk("plain/B.EVTX")
	mk("plain/notes.txt")
	link(outside, "links/linked.evtx")
	link(filepath.Join(root, "links", "loop2.evtx"), "links/loop1.evtx")
	link(filepath.Join(root, "links", "loop1.evtx"), "links/loop2.evtx")
	link(filepath.Join(root, "nowhere"), "links/dangling.evtx")
	link(filepath.Join(root, "plain"), "links/dir.evtx")
	link(filepath.Join(root, "plain"), "links/hostdir")
	link(outside, "links/other-name.log") // not .evtx: ignored like any other file
	pipe := fifo("pipes/fifo.evtx")
	link(pipe, "pipes/tofifo.evtx")
	if err := os.MkdirAll(filepath.Join(root, "empty", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		paths     []string
		want      []string // relative to root
		wantErrs  []string // substrings, one per error, in order
		wantIsErr []error
	}{
		{"plain folder", []string{"plain"}, []string{"plain/B.EVTX", "plain/a.evtx"}, nil, nil},
		{"file given as is", []string{"outside/real.log"}, []string{"outside/real.log"}, nil, nil},
		{"links", []string{"links"}, []string{"links/linked.evtx"},
			[]string{"dangling.evtx", "dir.evtx: symbolic link to a folder", "hostdir: symbolic link to a folder", "loop1.evtx", "loop2.evtx"},
			[]error{os.ErrNotExist, nil, nil, nil, nil}},
		{"pipes in a folder", []string{"pipes"}, nil,
			[]string{"fifo.evtx: not a regular file (named pipe)", "tofifo.evtx: not a regular file (named pipe)", "no .evtx file found in " + filepath.Join(root, "pipes")},
			[]error{infile.ErrNotRegular, infile.ErrNotRegular, ErrNoEvtx}},
		{"pipe given", []string{"pipes/fifo.evtx"}, nil, []string{"fifo.evtx: not a regular file (named pipe)"}, []error{infile.ErrNotRegular}},
		{"empty folder", []string{"empty"}, nil, []string{"no .evtx file found in " + filepath.Join(root, "empty")}, []error{ErrNoEvtx}},
		{"missing", []string{"missing.evtx"}, nil, []string{"missing.evtx"}, []error{os.ErrNotExist}},
		{"duplicates once", []string{"plain", "plain/a.evtx"}, []string{"plain/B.EVTX", "plain/a.evtx"}, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var in []string
			for _, p := range tc.paths {
				in = append(in, filepath.Join(root, p))
			}
			files, errs := FindFiles(in)
			var got []string
			for _, f := range files {
				rel, _ := filepath.Rel(root, f)
				got = append(got, rel)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("files %v, want %v", got, tc.want)
			}
			if len(errs) != len(tc.wantErrs) {
				t.Fatalf("errors %v, want %d", errs, len(tc.wantErrs))
			}
			for i, err := range errs {
				var ie *InputError
				if !errors.As(err, &ie) || ie.Path == "" {
					t.Errorf("error %v is not an *InputError with a path", err)
				}
				if !strings.Contains(err.Error(), tc.wantErrs[i]) {
					t.Errorf("error %d %q lacks %q", i, err, tc.wantErrs[i])
				}
				if i < len(tc.wantIsErr) && tc.wantIsErr[i] != nil && !errors.Is(err, tc.wantIsErr[i]) {
					t.Errorf("error %d %q is not %v", i, err, tc.wantIsErr[i])
				}
			}
		})
	}
}
