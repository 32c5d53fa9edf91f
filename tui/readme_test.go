package tui

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeKeys: the README's keys table names every key the screen's
// help lists (the help is assembled from every component's KeyMap and
// the toggles), so that the table stays complete as keys are added.
func TestReadmeKeys(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Skip("no README:", err)
	}
	text := string(b)
	loc := regexp.MustCompile(`(?m)^#+ Keys`).FindStringIndex(text)
	if loc == nil {
		t.Fatal("the README has no keys table")
	}
	table := text[loc[0]:]
	if end := strings.Index(table[loc[1]-loc[0]:], "\n#"); end >= 0 {
		table = table[:loc[1]-loc[0]+end]
	}
	named := map[string]bool{}
	for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(table, -1) {
		for _, k := range strings.Fields(m[1]) {
			named[k] = true
		}
	}
	m := New(Config{})
	groups := append(m.fullHelp(), m.rules.KeyMap.FullHelp()...)
	for _, g := range groups {
		for _, bnd := range g {
			keys := strings.Split(bnd.Help().Key, "/")
			if bnd.Help().Key == "/" {
				keys = []string{"/"}
			}
			for _, k := range keys {
				if k == "↑" || k == "↓" || k == "→" || k == "←" {
					continue // the table writes the arrows together: ↑↓
				}
				if !named[k] {
					t.Errorf("the README's keys table does not name %q (%s)", k, bnd.Help().Desc)
				}
			}
		}
	}
}
