package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evtriage/evtriage/rules"
	"github.com/evtriage/evtriage/triage"
)

func TestCaseLocation(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	dir := t.TempDir()
	log := filepath.Join(dir, "Security.evtx")
	if err := os.WriteFile(log, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := besideCase(log); got != filepath.Join(dir, caseFileName) {
		t.Errorf("beside a file: %s", got)
	}
	if got := besideCase(dir); got != filepath.Join(dir, caseFileName) {
		t.Errorf("beside a folder: %s", got)
	}
	fb := fallbackCase(log)
	if !strings.HasPrefix(fb, filepath.Join(cfg, "evtriage", "cases", "Security.evtx-")) || fb != fallbackCase(log) ||
		fb == fallbackCase(filepath.Join(t.TempDir(), "Security.evtx")) {
		t.Errorf("fallback %s", fb)
	}
}

// markedSquiblydoo hunts the squiblydoo scenario and returns its path
// and a case marking its first finding malicious and a process benign,
// saved at dir/name.
func markedSquiblydoo(t *testing.T, dir, name string) (log, casePath string) {
	t.Helper()
	log = filepath.Join("samples", "logs", "squiblydoo.evtx")
	h := triage.NewHunter(triage.Options{Rules: rules.Load(rules.LoadOptions{})})
	if err := h.AddFile(context.Background(), log, nil); err != nil {
		t.Fatal(err)
	}
	r := h.Finish()
	at := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
	c := triage.NewCase("", triage.FindingEntry(r.Written()[0], triage.Mark{Verdict: triage.VerdictMalicious, Note: "dropper", Marked: at}))
	for _, f := range r.Written() {
		if f.Process != nil && f.Process != r.Written()[0].Process {
			c = c.With(r.ProcessEntry(f.Process, triage.Mark{Verdict: triage.VerdictBenign, Marked: at}))
			break
		}
	}
	casePath = filepath.Join(dir, name)
	if err := c.Save(casePath); err != nil {
		t.Fatal(err)
	}
	return log, casePath
}

func TestScreenCase(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	dir := t.TempDir()
	log := filepath.Join(dir, "a.evtx")
	if err := os.WriteFile(log, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	// No case yet: beside the evidence, with a fallback.
	cc, err := screenCase("", []string{log}, []string{log})
	if err != nil || cc.Path != filepath.Join(dir, caseFileName) || cc.Fallback != fallbackCase(log) || cc.Case != nil || cc.Err != nil {
		t.Fatalf("new case: %+v %v", cc, err)
	}
	// A case an earlier session kept at the fallback is found there.
	if err := os.MkdirAll(filepath.Dir(cc.Fallback), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := triage.NewCase("/f").Save(cc.Fallback); err != nil {
		t.Fatal(err)
	}
	fb, err := screenCase("", []string{log}, []string{log})
	if err != nil || fb.Path != cc.Fallback || fb.Fallback != "" || fb.Case.RulesFolder() != "/f" {
		t.Fatalf("case at the fallback: %+v %v", fb, err)
	}
	// One beside the evidence comes first; a corrupt one turns marks off.
	if err := os.WriteFile(cc.Path, []byte(`{"evtriage_case": 1, "marks": [{"kind": "host"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	bad, err := screenCase("", []string{log}, []string{log})
	if err != nil || bad.Path != cc.Path || !errors.Is(bad.Err, triage.ErrCase) {
		t.Fatalf("corrupt case: %+v %v", bad, err)
	}
	// --case naming an input is refused; no PATH keeps no case.
	if _, err := screenCase(log, []string{log}, []string{log}); !errors.Is(err, errUsage) {
		t.Errorf("--case naming the input: %v", err)
	}
	if demo, err := screenCase("", nil, nil); err != nil || demo.Path != "" {
		t.Errorf("demo: %+v %v", demo, err)
	}
}

// TestScreenConfigLoadsCaseRules: the case's rules folder is loaded with
// the rules, and the screen can reload them.
func TestScreenConfigLoadsCaseRules(t *testing.T) {
	dir := t.TempDir()
	rulesDir := filepath.Join(dir, "filters")
	if err := os.Mkdir(rulesDir, 0o700); err != nil {
		t.Fatal(err)
	}
	casePath := filepath.Join(dir, "my.json")
	if err := triage.NewCase(rulesDir).Save(casePath); err != nil {
		t.Fatal(err)
	}
	e := &env{stdout: &strings.Builder{}, stderr: &strings.Builder{}}
	df, code, stop := parseDefaultFlags(e, []string{"--case", casePath, dir})
	if stop {
		t.Fatalf("flags stopped with %d", code)
	}
	cfg, err := screenConfig(df, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Case.Path != casePath || cfg.Case.Fallback != "" || len(cfg.RuleLoad.Paths) != 1 || cfg.RuleLoad.Paths[0] != rulesDir {
		t.Errorf("case %+v, rule paths %v", cfg.Case, cfg.RuleLoad.Paths)
	}
}

func TestHuntCase(t *testing.T) {
	dir := t.TempDir()
	log, casePath := markedSquiblydoo(t, dir, "case.json")
	otherDir := t.TempDir()
	_, other := markedSquiblydoo(t, otherDir, "other.json")
	// A case of other evidence: rewrite its marks' record ids.
	data, _ := os.ReadFile(other)
	data = []byte(strings.ReplaceAll(string(data), `"record_id": `, `"record_id": 9`))
	if err := os.WriteFile(other, data, 0o600); err != nil {
		t.Fatal(err)
	}
	corrupt := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(corrupt, []byte(`{"evtriage_case": 1, "marks": [{}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		{"table", []string{"--case", casePath, "--format", "table", log}, exitOK,
			[]string{"VERDICT", "malicious", "benign"}, nil},
		{"json", []string{"--case", casePath, "--format", "json", log}, exitOK,
			[]string{`"verdict": "malicious"`, `"note": "dropper"`, `"on": "process"`, `"matched": 2`}, nil},
		{"no case: no column", []string{"--format", "table", log}, exitOK, nil, nil},
		{"other evidence", []string{"--case", other, "--format", "table", log}, exitOK, []string{"VERDICT"},
			[]string{"none of them of these logs", "nothing was applied"}},
		{"missing", []string{"--case", filepath.Join(dir, "none.json"), log}, exitUsage, nil, []string{"--case:", "no such file"}},
		{"corrupt", []string{"--case", corrupt, log}, exitUsage, nil, []string{"--case:", "mark 1: kind"}},
		{"-o over the case", []string{"--case", casePath, "-o", casePath, log}, exitUsage, nil, []string{"is one of the inputs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCapture(t, append([]string{"hunt"}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s", code, tt.code, stderr)
			}
			for _, s := range tt.stdout {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout lacks %q:\n%.3000s", s, stdout)
				}
			}
			for _, s := range tt.stderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
			if tt.name == "no case: no column" && strings.Contains(stdout, "VERDICT") {
				t.Error("a VERDICT column without a case")
			}
			if tt.name == "json" {
				var v any
				if err := json.Unmarshal([]byte(stdout), &v); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	if data, _ := os.ReadFile(corrupt); string(data) != `{"evtriage_case": 1, "marks": [{}]}` {
		t.Error("hunt wrote the case file")
	}
}
