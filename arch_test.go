package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportDirection keeps the architecture: main -> tui -> triage ->
// {rules, parser}; rules and parser never import each other; parser uses
// the standard library only.
func TestImportDirection(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go tool not on PATH")
	}
	const mod = "github.com/evtriage/evtriage"
	// forbidden[pkg] lists project packages pkg must not depend on.
	forbidden := map[string][]string{
		"parser":  {"rules", "triage", "tui", "samples"},
		"rules":   {"parser", "triage", "tui", "samples"},
		"triage":  {"tui"},
		"samples": {"rules", "triage", "tui"},
		// internal/ holds small helpers every package may use: they use no
		// other package of the project.
		"internal/...": {"parser", "rules", "triage", "tui", "samples"},
	}
	for pkg, bad := range forbidden {
		out, err := exec.Command("go", "list", "-deps", "./"+pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		deps := strings.Fields(string(out))
		for _, d := range deps {
			for _, b := range bad {
				if d == mod+"/"+b {
					t.Errorf("%s imports %s", pkg, b)
				}
			}
			if pkg == "parser" && !strings.HasPrefix(d, mod) && strings.Contains(strings.SplitN(d, "/", 2)[0], ".") {
				t.Errorf("parser depends on %s; it must use the standard library only", d)
			}
		}
	}
}
