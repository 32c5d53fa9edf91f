package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/evtriage/evtriage/triage"
	"github.com/evtriage/evtriage/tui"
)

// caseFileName is the case file's name beside the evidence.
const caseFileName = "evtriage-case.json"

// besideCase is where the case of the evidence at path goes by default:
// inside it when it is a folder, beside it when it is a file.
func besideCase(path string) string {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return filepath.Join(path, caseFileName)
	}
	return filepath.Join(filepath.Dir(path), caseFileName)
}

// fallbackCase is where the case of the evidence at path goes when the
// folder beside it cannot be written (a read-only mount): under the
// user's configuration folder, evtriage/cases/NAME-HASH.json, the hash
// that of path's absolute form, so that the same evidence finds its case
// again. "" when the system has no such folder.
func fallbackCase(path string) string {
	dir, err := os.UserConfigDir()
	if err != nil || dir == "" {
		return ""
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256([]byte(abs))
	name := strings.Map(func(r rune) rune {
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return r
		}
		return '_'
	}, filepath.Base(abs))
	if len(name) > 40 {
		name = name[:40]
	}
	return filepath.Join(dir, "evtriage", "cases", name+"-"+hex.EncodeToString(sum[:6])+".json")
}

// readCase reads the case file at path: nil (a new case) when it does not
// exist.
func readCase(path string) (*triage.Case, error) {
	c, err := triage.LoadCase(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return c, err
}

// screenCase says where the screen keeps its marks and reads them: the
// --case file, or evtriage-case.json beside the first PATH, or the
// fallback of that PATH when an earlier session had to keep the case
// there (the demo log has none). A case file that cannot be read is
// reported in the config (marks are off; it is never written over); one
// that is also an input is a usage error.
func screenCase(caseFile string, paths, inputs []string) (tui.CaseConfig, error) {
	var cc tui.CaseConfig
	switch {
	case caseFile != "":
		cc.Path = caseFile
	case len(paths) == 0:
		return cc, nil
	default:
		cc.Path, cc.Fallback = besideCase(paths[0]), fallbackCase(paths[0])
		if _, err := os.Stat(cc.Path); err != nil && cc.Fallback != "" {
			if _, err := os.Stat(cc.Fallback); err == nil {
				cc.Path, cc.Fallback = cc.Fallback, ""
			}
		}
	}
	if err := notAnInput(cc.Path, inputs); err != nil {
		return cc, fmt.Errorf("%w: the case file %s is one of the inputs; name another with --case", errUsage, cc.Path)
	}
	cc.Case, cc.Err = readCase(cc.Path)
	return cc, nil
}

// addRules adds a case's rules folder to the rule paths (once).
func (hf *huntFlags) addRules(dir string) {
	if dir == "" {
		return
	}
	for _, p := range hf.rules {
		if filepath.Clean(p) == filepath.Clean(dir) {
			return
		}
	}
	hf.rules = append(hf.rules, dir)
}
