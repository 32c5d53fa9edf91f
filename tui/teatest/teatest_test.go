// Package teatest_test runs the whole hunting screen under charm's teatest
// harness. It lives in its own folder because teatest's golden package and
// evtriage's internal/golden both define the -update flag.
package teatest_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/evtriage/evtriage/rules"
	"github.com/evtriage/evtriage/samples"
	"github.com/evtriage/evtriage/triage"
	"github.com/evtriage/evtriage/tui"
)

// TestDemoSmoke opens the built-in demo log as `evtriage` with no PATH does,
// waits until it is loaded, walks to the process tree and its first
// regsvr32 finding, and quits with q.
func TestDemoSmoke(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := tui.Config{
		Context:   ctx,
		Title:     "built-in demo log (no PATH given)",
		Inputs:    []tui.Input{{Name: "demo.evtx", Data: samples.Demo()}},
		Hunt:      triage.Options{Rules: rules.Load(rules.LoadOptions{})},
		ExportDir: t.TempDir(),
	}
	tm := teatest.NewTestModel(t, tui.New(cfg), teatest.WithInitialTermSize(120, 40))

	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		return bytes.Contains(b, []byte("ready")) && bytes.Contains(b, []byte("Findings"))
	}, teatest.WithDuration(30*time.Second), teatest.WithCheckInterval(50*time.Millisecond))

	tm.Type("2") // process tree
	tm.Type("f") // next process with findings
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		return bytes.Contains(b, []byte("[regsvr32]"))
	}, teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(50*time.Millisecond))

	tm.Type("q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
	if _, ok := tm.FinalModel(t).(tui.Model); !ok {
		t.Fatalf("final model is %T, want tui.Model", tm.FinalModel(t))
	}
}
