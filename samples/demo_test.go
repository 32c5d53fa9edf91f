package samples

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/evtriage/evtriage/internal/golden"
)

// generateFile runs Generate into a temporary file and returns its bytes.
func generateFile(t testing.TB, opts Options) ([]byte, Truth) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gen.evtx")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	truth, err := Generate(f, opts)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("Generate(%+v): %v", opts, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data, truth
}

// TestDemoIsGenerated checks that the embedded demo log is exactly what
// Generate writes for DemoOptions (run with -update to rewrite it).
func TestDemoIsGenerated(t *testing.T) {
	data, truth := generateFile(t, DemoOptions())
	if golden.Updating() {
		if err := os.WriteFile("demo.evtx", data, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(Demo(), data) {
		t.Fatalf("demo.evtx (%d bytes) differs from Generate(DemoOptions()) (%d bytes); run go test ./samples -run TestDemoIsGenerated -update", len(Demo()), len(data))
	}
	if truth.Hosts[0].Form != "sysmon+security-v2" {
		t.Errorf("demo host form = %s, want sysmon+security-v2", truth.Hosts[0].Form)
	}
	for _, r := range RuleIDs() {
		if len(truth.Flag[r]) == 0 {
			t.Errorf("demo: rule %s flags nothing; the demo should exercise every built-in rule", r)
		}
	}
}
