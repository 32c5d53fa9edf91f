package main

import (
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
