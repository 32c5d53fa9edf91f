package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evtriage/evtriage/internal/golden"
)

func writeRuleFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const goodRule = `title: Good rule
id: 5d0c1a9e-0000-4000-8000-000000000001
level: high
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        Image|endswith: '\x.exe'
    condition: selection
`

const badRule = `title: Bad rule
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        Image|fuzzy: x
    condition: selection
`

func TestRulesCommand(t *testing.T) {
	good := writeRuleFiles(t, map[string]string{"good.yml": goodRule})
	mixed := writeRuleFiles(t, map[string]string{"good.yml": goodRule, "bad.yaml": badRule, "notes.txt": "ignored"})
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		{"builtin table", []string{"rules"}, exitOK,
			[]string{"LEVEL", "ce2c44b5-a6ac-412a-afba-9e89326fa972", "bc399179-15fa-4ca9-a55b-d46b526bf897", "builtin:", "13 rules loaded"}, nil},
		{"no builtin", []string{"rules", "--no-builtin", "--rules", good}, exitOK,
			[]string{"Good rule", "1 rules loaded", "0 rejected"}, nil},
		{"rejected rule exits 1", []string{"rules", "--no-builtin", "--rules", mixed}, exitPartial,
			[]string{"Good rule", "Rejected (1):", "bad.yaml:7: unknown modifier \"fuzzy\""}, nil},
		{"missing path exits 1", []string{"rules", "--no-builtin", "--rules", filepath.Join(good, "nope")}, exitPartial,
			[]string{"Rejected (1):", "no such file"}, nil},
		{"bad format", []string{"rules", "--format", "xml"}, exitUsage, nil, []string{"unknown --format"}},
		{"stray argument", []string{"rules", good}, exitUsage, nil, []string{"unexpected argument"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCapture(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			for _, s := range tc.stdout {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout)
				}
			}
			for _, s := range tc.stderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
		})
	}
}

func TestRulesCommandJSON(t *testing.T) {
	mixed := writeRuleFiles(t, map[string]string{"good.yml": goodRule, "bad.yml": badRule})
	code, stdout, _ := runCapture(t, "rules", "--rules", mixed, "--format", "json")
	if code != exitPartial {
		t.Fatalf("exit %d", code)
	}
	var rep struct {
		Loaded []struct {
			ID, Title, Level, Path string
		} `json:"loaded"`
		Rejected []struct {
			Path   string `json:"path"`
			Line   int    `json:"line"`
			Reason string `json:"reason"`
		} `json:"rejected"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Loaded) != 14 {
		t.Errorf("%d loaded, want 13 built-in + 1", len(rep.Loaded))
	}
	last := rep.Loaded[len(rep.Loaded)-1]
	if last.ID != "5d0c1a9e-0000-4000-8000-000000000001" || last.Level != "high" || !strings.HasSuffix(last.Path, "good.yml") {
		t.Errorf("last loaded %+v", last)
	}
	if len(rep.Rejected) != 1 || rep.Rejected[0].Line != 7 || !strings.HasSuffix(rep.Rejected[0].Path, "bad.yml") {
		t.Errorf("rejected %+v", rep.Rejected)
	}
}

// TestRulesCommandSanitises checks that control characters from a rule
// file never reach the terminal.
func TestRulesCommandSanitises(t *testing.T) {
	// YAML's \e escape puts a real ESC into the title.
	evil := strings.Replace(goodRule, "title: Good rule", `title: "Evil \e[2J rule"`, 1)
	dir := writeRuleFiles(t, map[string]string{"evil.yml": evil})
	_, stdout, _ := runCapture(t, "rules", "--no-builtin", "--rules", dir)
	if !strings.Contains(stdout, `Evil \x1b[2J rule`) {
		t.Errorf("title not shown escaped: %q", stdout)
	}
	if strings.ContainsRune(stdout, 0x1b) {
		t.Errorf("escape sequence in output: %q", stdout)
	}
}

// TestRulesGolden pins the output of `evtriage rules` for the built-in pack.
func TestRulesGolden(t *testing.T) {
	for _, tc := range []struct{ name, format string }{
		{"rules_builtin_table.txt", "table"},
		{"rules_builtin.json", "json"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			code, stdout, stderr := runCapture(t, "rules", "--format", tc.format)
			if code != exitOK || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			golden.Assert(t, tc.name, []byte(stdout))
		})
	}
}
