package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDigest: the rule set's digest follows the contents of every file
// read (pack, rules, configuration), not their paths or order.
func TestDigest(t *testing.T) {
	dir := t.TempDir()
	const ruleA = "title: A\nid: a\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel: {Image|endswith: '\\a.exe'}\n  condition: sel\n"
	const ruleB = "title: B\nid: b\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel: {Image|endswith: '\\b.exe'}\n  condition: sel\n"
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b := write("x/a.yml", ruleA), write("x/b.yml", ruleB)
	a2, b2 := write("y/other-a.yml", ruleA), write("y/other-b.yml", ruleB)
	changed := write("z/b.yml", strings.Replace(ruleB, "b.exe", "c.exe", 1))
	cfg := write("cfg.yml", "placeholders:\n  admins: [root]\n")
	digest := func(o LoadOptions) string { return Load(o).Digest() }
	base := digest(LoadOptions{NoBuiltin: true, Paths: []string{a, b}})
	if !strings.HasPrefix(base, "sha256:") || len(base) != len("sha256:")+64 {
		t.Fatalf("digest %q", base)
	}
	tests := []struct {
		name string
		opts LoadOptions
		same bool
	}{
		{"same files again", LoadOptions{NoBuiltin: true, Paths: []string{a, b}}, true},
		{"other order", LoadOptions{NoBuiltin: true, Paths: []string{b, a}}, true},
		{"copies elsewhere", LoadOptions{NoBuiltin: true, Paths: []string{a2, b2}}, true},
		{"the folder", LoadOptions{NoBuiltin: true, Paths: []string{filepath.Join(dir, "x")}}, true},
		{"one byte changed", LoadOptions{NoBuiltin: true, Paths: []string{a, changed}}, false},
		{"one file fewer", LoadOptions{NoBuiltin: true, Paths: []string{a}}, false},
		{"with the built-in pack", LoadOptions{Paths: []string{a, b}}, false},
		{"with a configuration", LoadOptions{NoBuiltin: true, Paths: []string{a, b}, Config: cfg}, false},
	}
	for _, tc := range tests {
		if got := digest(tc.opts); (got == base) != tc.same {
			t.Errorf("%s: digest %s, base %s: same %v, want %v", tc.name, got, base, got == base, tc.same)
		}
	}
	if digest(LoadOptions{}) == digest(LoadOptions{NoBuiltin: true}) {
		t.Error("the built-in pack does not count in the digest")
	}
}
