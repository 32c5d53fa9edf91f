package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/rules"
)

func TestDefaultCommandArgs(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
		stdout string
	}{
		{"not a terminal", nil, exitUsage, "needs a terminal", ""},
		{"not a terminal with path", []string{"."}, exitUsage, "'evtriage hunt PATH...'", ""},
		{"mistyped command", []string{"hutn"}, exitUsage, `unknown command "hutn"`, ""},
		{"bad level", []string{"--min-level", "severe", "x.evtx"}, exitUsage, `unknown level "severe"`, ""},
		{"bad new key", []string{"--new-key", "hash"}, exitUsage, `unknown --new-key "hash"`, ""},
		{"baseline and window", []string{"--baseline", "a.json", "--baseline-window", "30d"}, exitUsage, "exclude each other", ""},
		{"bad window", []string{"--baseline-window", "soon"}, exitUsage, "bad window", ""},
		{"unknown flag", []string{"--frobnicate"}, exitUsage, "Run 'evtriage --help'", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCapture(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr %q lacks %q", stderr, tt.stderr)
			}
			if !strings.Contains(stdout, tt.stdout) {
				t.Errorf("stdout %q lacks %q", stdout, tt.stdout)
			}
		})
	}
}

func TestScreenConfig(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"b.evtx", "a.EVTX", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name      string
		args      []string
		inputs    []string
		demo      bool
		failed    []string // inputs that give nothing to read, with their error
		minLevel  rules.Level
		noBuiltin bool
	}{
		{name: "demo", demo: true},
		{name: "folder", args: []string{dir}, inputs: []string{filepath.Join(dir, "a.EVTX"), filepath.Join(dir, "b.evtx")}},
		{name: "file and missing", args: []string{filepath.Join(dir, "notes.txt"), filepath.Join(dir, "gone.evtx")},
			inputs: []string{filepath.Join(dir, "notes.txt")}, failed: []string{filepath.Join(dir, "gone.evtx")}},
		{name: "nothing found", args: []string{filepath.Join(dir, "gone")}, failed: []string{filepath.Join(dir, "gone")}},
		{name: "flags", args: []string{"--min-level", "high", "--no-builtin", dir}, minLevel: rules.LevelHigh, noBuiltin: true,
			inputs: []string{filepath.Join(dir, "a.EVTX"), filepath.Join(dir, "b.evtx")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &env{stdout: &strings.Builder{}, stderr: &strings.Builder{}}
			df, code, stop := parseDefaultFlags(e, tt.args)
			if stop {
				t.Fatalf("flags stopped with %d: %s", code, e.stderr)
			}
			cfg, err := screenConfig(df, func(string) string { return "" })
			if err != nil {
				t.Fatal(err)
			}
			if tt.demo {
				if cfg.Title != demoTitle || len(cfg.Inputs) != 1 || len(cfg.Inputs[0].Data) == 0 {
					t.Fatalf("no PATH does not open the demo log: %+v", cfg.Title)
				}
			} else {
				var got, failed []string
				for _, in := range cfg.Inputs {
					var ie *parser.InputError
					switch {
					case in.Err == nil:
						got = append(got, in.Path)
					case errors.As(in.Err, &ie) && ie.Path == in.Path:
						failed = append(failed, in.Path)
					default:
						t.Errorf("input %s: error %v", in.Path, in.Err)
					}
				}
				if strings.Join(got, "|") != strings.Join(tt.inputs, "|") {
					t.Errorf("inputs %v, want %v", got, tt.inputs)
				}
				if strings.Join(failed, "|") != strings.Join(tt.failed, "|") {
					t.Errorf("inputs with problems %v, want %v", failed, tt.failed)
				}
			}
			if len(cfg.Notes) != 0 {
				t.Errorf("notes %q, want none (inputs with problems are inputs)", cfg.Notes)
			}
			if cfg.MinLevel != tt.minLevel {
				t.Errorf("min level %v, want %v", cfg.MinLevel, tt.minLevel)
			}
			if n := len(cfg.Hunt.Rules.Rules()); (n == 0) != tt.noBuiltin {
				t.Errorf("%d rules loaded (no-builtin %v)", n, tt.noBuiltin)
			}
		})
	}
}

// TestClipboardSetting: y copies through the terminal (OSC 52) unless over
// SSH, where --clipboard osc52 or EVTRIAGE_CLIPBOARD=osc52 turn it on;
// off turns it off everywhere; any other value is a usage error.
func TestClipboardSetting(t *testing.T) {
	tests := []struct {
		flag string
		env  map[string]string
		want bool
	}{
		{"auto", nil, true},
		{"auto", map[string]string{"SSH_CONNECTION": "10.0.0.1 50000 10.0.0.2 22"}, false},
		{"auto", map[string]string{"SSH_TTY": "/dev/pts/3"}, false},
		{"osc52", map[string]string{"SSH_TTY": "/dev/pts/3"}, true},
		{"auto", map[string]string{"SSH_TTY": "/dev/pts/3", clipboardEnv: "osc52"}, true},
		{"off", nil, false},
		{"auto", map[string]string{clipboardEnv: "off"}, false},
		{"off", map[string]string{clipboardEnv: "osc52"}, false},
	}
	for _, tt := range tests {
		e := &env{stdout: &strings.Builder{}, stderr: &strings.Builder{}}
		df, code, stop := parseDefaultFlags(e, []string{"--clipboard", tt.flag})
		if stop {
			t.Fatalf("--clipboard %s: stopped with %d: %s", tt.flag, code, e.stderr)
		}
		cfg, err := screenConfig(df, func(k string) string { return tt.env[k] })
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Clipboard != tt.want {
			t.Errorf("--clipboard %s, env %v: OSC 52 %v, want %v", tt.flag, tt.env, cfg.Clipboard, tt.want)
		}
	}
	e := &env{stdout: &strings.Builder{}, stderr: &strings.Builder{}}
	if _, code, stop := parseDefaultFlags(e, []string{"--clipboard", "xclip"}); !stop || code != exitUsage {
		t.Errorf("--clipboard xclip: stop %v, code %d", stop, code)
	}
}
