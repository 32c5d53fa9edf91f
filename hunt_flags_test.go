package main

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/evtriage/evtriage/rules"
	"github.com/evtriage/evtriage/triage"
)

// TestHuntFlagsShared: the hunt command and the hunting screen read the
// shared flags the same way into the same hunter options.
func TestHuntFlagsShared(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		window   time.Duration
		baseline []string
		newKey   string
		workers  int
		level    rules.Level
	}{
		{name: "defaults", newKey: triage.KeyCommandLine},
		{name: "window in days", args: []string{"--baseline-window", "30d", "--new-key", "parent-child"},
			window: 30 * 24 * time.Hour, newKey: triage.KeyParentChild},
		{name: "baselines, workers, level", args: []string{"--baseline", "a.json", "--baseline", "b", "--workers", "3", "--min-level", "HIGH", "--new-key", "image-loaded"},
			baseline: []string{"a.json", "b"}, newKey: triage.KeyImageLoaded, workers: 3, level: rules.LevelHigh},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &env{stdout: &strings.Builder{}, stderr: &strings.Builder{}}
			args := append([]string{"--no-builtin"}, tt.args...)
			hf, code, stop := parseHuntFlags(e, append(args, "x.evtx"))
			if stop {
				t.Fatalf("hunt flags stopped with %d: %s", code, e.stderr)
			}
			df, code, stop := parseDefaultFlags(e, append(args, "x.evtx"))
			if stop {
				t.Fatalf("screen flags stopped with %d: %s", code, e.stderr)
			}
			for name, f := range map[string]*huntFlags{"hunt": &hf.huntFlags, "screen": &df.huntFlags} {
				o := f.options()
				if o.BaselineWindow != tt.window || strings.Join(o.Baseline, "|") != strings.Join(tt.baseline, "|") ||
					o.NewKey != tt.newKey || o.Workers != tt.workers || f.minLevel != tt.level || o.Provenance.Version != readBuildInfo(debug.ReadBuildInfo).Version ||
					strings.Join(o.Provenance.Command, " ") != strings.Join(f.command, " ") || len(f.command) == 0 ||
					o.Rules == nil || len(o.Rules.Rules()) != 0 {
					t.Errorf("%s: options %+v, min level %v", name, o, f.minLevel)
				}
			}
		})
	}
}

// TestFollowFlags: --follow and --poll, for hunt and the screen; hunt
// streams JSON Lines only, to a new file or through a pipe.
func TestFollowFlags(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "old.jsonl")
	if err := os.WriteFile(existing, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		screen bool   // the screen's flags instead of hunt's
		err    string // "" when accepted
		poll   time.Duration
		format string
	}{
		{name: "hunt follows as JSON Lines by default", args: []string{"--follow", dir}, poll: 500 * time.Millisecond, format: "jsonl"},
		{name: "jsonl named", args: []string{"--follow", "--format", "jsonl", "--poll", "2s", dir}, poll: 2 * time.Second, format: "jsonl"},
		{name: "-o a new file", args: []string{"--follow", "-o", filepath.Join(dir, "new.jsonl"), dir}, poll: 500 * time.Millisecond, format: "jsonl"},
		{name: "table cannot be followed", args: []string{"--follow", "--format", "table", dir}, err: "--format table cannot be followed"},
		{name: "json cannot be followed", args: []string{"--follow", "--format", "json", dir}, err: "--format json cannot be followed"},
		{name: "-o an existing file", args: []string{"--follow", "-o", existing, dir}, err: "file exists"},
		{name: "--poll without --follow", args: []string{"--poll", "2s", dir}, err: "--poll needs --follow"},
		{name: "bad --poll", args: []string{"--follow", "--poll", "soon", dir}, err: "bad --poll"},
		{name: "--poll too short", args: []string{"--follow", "--poll", "1ms", dir}, err: "bad --poll"},
		{name: "missing PATH", args: []string{"--follow", filepath.Join(dir, "nosuch.evtx")}, err: "no such file"},
		{name: "screen follows", args: []string{"--follow", "--poll", "1s", dir}, screen: true, poll: time.Second},
		{name: "screen: --poll without --follow", args: []string{"--poll", "1s", dir}, screen: true, err: "--poll needs --follow"},
		{name: "screen: nothing to follow", args: []string{"--follow"}, screen: true, err: "--follow needs a PATH"},
		{name: "screen: missing PATH", args: []string{"--follow", filepath.Join(dir, "nosuch")}, screen: true, err: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr strings.Builder
			e := &env{stdout: &strings.Builder{}, stderr: &stderr}
			args := append([]string{"--no-builtin"}, tt.args...)
			var hf *huntFlags
			var format string
			var code int
			var stop bool
			if tt.screen {
				var df *defaultFlags
				if df, code, stop = parseDefaultFlags(e, args); !stop {
					hf = &df.huntFlags
				}
			} else {
				var h *huntCmdFlags
				if h, code, stop = parseHuntFlags(e, args); !stop {
					hf, format = &h.huntFlags, h.format
					// -o is checked as hunt prepares its output.
					if out, err := h.output(e, nil); err != nil {
						stop, code = true, usageError(e, "hunt", err)
					} else {
						out.Abort()
					}
				}
			}
			if tt.err != "" {
				if !stop || code != exitUsage || !strings.Contains(stderr.String(), tt.err) {
					t.Errorf("stop %v, code %d, stderr %q; want a usage error with %q", stop, code, stderr.String(), tt.err)
				}
				return
			}
			if stop {
				t.Fatalf("stopped with %d: %s", code, stderr.String())
			}
			if !hf.follow || hf.poll != tt.poll || format != tt.format {
				t.Errorf("follow %v, poll %v, format %q", hf.follow, hf.poll, format)
			}
		})
	}
	if b, _ := os.ReadFile(existing); string(b) != "old" {
		t.Errorf("the existing file was changed: %q", b)
	}
}
