package samples

import (
	"bytes"
	"encoding/json"
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

// smallLogs are the generated logs kept in samples/logs for tests and
// examples, with their ground truth beside them.
func smallLogs() map[string]Options {
	return map[string]Options{
		"squiblydoo":   {Scenario: "squiblydoo", Events: 300, Seed: 1},
		"dll-register": {Scenario: "dll-register", Events: 300, Seed: 1},
		"pid-reuse":    {Scenario: "pid-reuse", Events: 250, Seed: 1},
		"all":          {Scenario: "all", Events: 800, Seed: 1},
	}
}

// TestSmallLogsAreGenerated checks samples/logs/NAME.evtx and
// NAME.truth.json against Generate (run with -update to rewrite them), and
// that they stay under 2 MB in all.
func TestSmallLogsAreGenerated(t *testing.T) {
	total := 0
	for name, opts := range smallLogs() {
		data, truth := generateFile(t, opts)
		tj, err := json.Marshal(truth)
		if err != nil {
			t.Fatal(err)
		}
		tj = append(tj, '\n')
		base := filepath.Join("logs", name)
		if golden.Updating() {
			if err := os.MkdirAll("logs", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(base+".evtx", data, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(base+".truth.json", tj, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		onDisk, err := os.ReadFile(base + ".evtx")
		if err != nil {
			t.Fatal(err)
		}
		onDiskTruth, err := os.ReadFile(base + ".truth.json")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(onDisk, data) || !bytes.Equal(onDiskTruth, tj) {
			t.Errorf("%s differs from Generate(%+v); run go test ./samples -run TestSmallLogsAreGenerated -update", base, opts)
		}
		total += len(onDisk) + len(onDiskTruth)
	}
	if total > 2<<20 {
		t.Errorf("small logs take %d bytes, over 2 MiB", total)
	}
}
