// Package golden compares test output with files under testdata/ and
// rewrites them when tests run with -update.
//
// Convention: every package keeps its fixtures in its own testdata/ folder;
// golden files live in testdata/golden/NAME. Run
//
//	go test ./... -update
//
// to rewrite them, then review the diff before committing.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/golden")

// Path returns the golden file's path for name.
func Path(name string) string { return filepath.Join("testdata", "golden", name) }

// Assert compares got with testdata/golden/name, or rewrites the file when
// the test binary runs with -update.
func Assert(t testing.TB, name string, got []byte) {
	t.Helper()
	p := Path(name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatalf("golden: %v", err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatalf("golden: %v", err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("golden: %v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("golden %s differs (run with -update to accept):\n--- got\n%s\n--- want\n%s", p, got, want)
	}
}

// Updating reports whether -update was given.
func Updating() bool { return *update }
