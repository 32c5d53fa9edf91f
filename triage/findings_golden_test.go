package triage

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evtriage/evtriage/internal/golden"
	"github.com/evtriage/evtriage/internal/winpath"
	"github.com/evtriage/evtriage/samples"
)

// TestFindingsGolden pins what hunts find in the committed sample logs and
// in logs of the Sysmon profiles: every finding's rule, event and process
// lineage, and the process counts, as hunt (headless) and the screen
// (suppressed candidates and regsvr32's activity kept) read them. The ground truth
// (TestScenariosGroundTruth) says what is right; this says that nothing
// moved.
func TestFindingsGolden(t *testing.T) {
	set := builtin(t)
	headless := Options{Rules: set, WrittenOnly: true, NoActivity: true}
	screen := Options{Rules: set}
	var b bytes.Buffer
	describe := func(name string, res *Result) {
		fmt.Fprintf(&b, "== %s: %d events, %d duplicates, %d nodes, %d roots, %d activity-only, %d orphan exits, %d findings (%d written)\n",
			name, res.Events, res.Duplicates, len(res.Processes), len(res.Roots), res.ActivityOnly, res.Orphans, len(res.Findings), len(res.Written()))
		for _, h := range res.ActivityOnlyHosts() {
			fmt.Fprintf(&b, "   activity-only on %s: %d\n", h.Host, h.Processes)
		}
		for _, f := range res.Findings {
			ev := f.Event.Event
			line := fmt.Sprintf("%-8.8s %s#%d", f.Rule.ID, ev.Computer, ev.RecordID)
			if len(f.Suppressed) > 0 {
				line += " (suppressed)"
			}
			if p := f.Process; p != nil {
				var lin []string
				for _, q := range Lineage(p) {
					s := fmt.Sprintf("%s(%d)", winpath.Base(q.Image), q.PID)
					if q.Stub {
						s = "*" + s
					}
					lin = append(lin, s)
				}
				line += fmt.Sprintf("  %s  guid=%s %s link=%s children=%d", strings.Join(lin, " > "), p.GUID, p.Sources, p.Link, len(p.Children))
			}
			b.WriteString(line + "\n")
		}
	}
	logs, _ := filepath.Glob(filepath.Join("..", "samples", "logs", "*.evtx"))
	if len(logs) == 0 {
		t.Fatal("no sample logs")
	}
	h := NewHunter(headless)
	for _, l := range logs {
		if err := h.AddFile(context.Background(), l, nil); err != nil {
			t.Fatal(err)
		}
	}
	describe("samples/logs", h.Finish())
	for _, p := range []string{samples.ProfileSysmonDense, samples.ProfileSysmonActivity} {
		var f memFile
		if _, err := samples.Generate(&f, samples.Options{Profile: p, Events: 8000, Seed: 7}); err != nil {
			t.Fatal(err)
		}
		for _, o := range []struct {
			name string
			opts Options
		}{{"headless", headless}, {"screen", screen}} {
			h := NewHunter(o.opts)
			if err := h.AddReader(context.Background(), p+".evtx", bytes.NewReader(f.b), int64(len(f.b)), nil); err != nil {
				t.Fatal(err)
			}
			describe(p+" "+o.name, h.Finish())
		}
	}
	golden.Assert(t, "findings.txt", b.Bytes())
}
