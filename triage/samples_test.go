package triage

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/evtriage/evtriage/samples"
)

// memFile is an in-memory io.WriteSeeker for the generator.
type memFile struct {
	b   []byte
	off int64
}

func (m *memFile) Write(p []byte) (int, error) {
	if need := m.off + int64(len(p)); need > int64(len(m.b)) {
		m.b = append(m.b, make([]byte, need-int64(len(m.b)))...)
	}
	copy(m.b[m.off:], p)
	m.off += int64(len(p))
	return len(p), nil
}

func (m *memFile) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case 1:
		off += m.off
	case 2:
		off += int64(len(m.b))
	}
	if off < 0 {
		return 0, fmt.Errorf("negative seek")
	}
	m.off = off
	return off, nil
}

// TestScenariosGroundTruth hunts every generated scenario and compares with
// the generator's ground truth: the events each issue rule must and must not
// flag, and the real parent of every process created in the log.
//
// Besides every scenario on the default background, the chains of all
// scenarios are hunted on the Sysmon profiles' backgrounds, as the hunt
// command reads them (written findings only, activity counted) and as the
// screen does.
func TestScenariosGroundTruth(t *testing.T) {
	set := builtin(t)
	type hunt struct {
		name    string
		gen     samples.Options
		opts    Options
		quietOK bool // processes known only from their activity are expected
	}
	var hunts []hunt
	for _, sc := range samples.Scenarios() {
		hunts = append(hunts, hunt{name: sc.Name, gen: samples.Options{Scenario: sc.Name, Events: 3000, Seed: 7}})
	}
	headless := Options{WrittenOnly: true, NoActivity: true}
	for _, p := range []string{samples.ProfileSysmonDense, samples.ProfileSysmonActivity} {
		gen := samples.Options{Profile: p, Events: 8000, Seed: 7}
		hunts = append(hunts, hunt{p + "/headless", gen, headless, true}, hunt{p + "/screen", gen, Options{}, true})
	}
	for _, hc := range hunts {
		t.Run(hc.name, func(t *testing.T) {
			var f memFile
			truth, err := samples.Generate(&f, hc.gen)
			if err != nil {
				t.Fatal(err)
			}
			opts := hc.opts
			opts.Rules = set
			h := NewHunter(opts)
			if err := h.AddReader(context.Background(), hc.name+".evtx", bytes.NewReader(f.b), int64(len(f.b)), nil); err != nil {
				t.Fatal(err)
			}
			res := h.Finish()
			if res.Events != truth.Events {
				t.Errorf("%d events, truth %d", res.Events, truth.Events)
			}
			if (res.ActivityOnly > 0) != hc.quietOK && hc.gen.Profile == samples.ProfileSysmonActivity {
				t.Errorf("%d processes known only from their activity", res.ActivityOnly)
			}
			// Findings of the issue's rules, as written.
			got := map[string][]string{}
			for _, x := range res.Written() {
				if issueRules[x.Rule.ID] != "" {
					got[x.Rule.ID] = append(got[x.Rule.ID], samples.KeyOf(x.Event.Event).String())
				}
			}
			for _, id := range samples.RuleIDs() {
				var want []string
				for _, k := range truth.Flag[id] {
					want = append(want, k.String())
				}
				sort.Strings(want)
				sort.Strings(got[id])
				if strings.Join(got[id], "\n") != strings.Join(want, "\n") {
					t.Errorf("%s: flagged\n%s\nwant\n%s", issueRules[id], strings.Join(got[id], "\n"), strings.Join(want, "\n"))
				}
				flagged := map[string]bool{}
				for _, k := range got[id] {
					flagged[k] = true
				}
				for _, k := range truth.NotFlag[id] {
					if flagged[k.String()] {
						t.Errorf("%s flags near miss %s (%s)", issueRules[id], k, truth.Roles[k])
					}
				}
			}
			// Every process's parent.
			byKey := map[samples.EventKey]*Process{}
			for _, p := range res.Processes {
				for _, r := range res.Records(p) {
					byKey[samples.EventKey{Host: p.Host, Channel: r.Channel, RecordID: r.RecordID}] = p
				}
			}
			checked := 0
			for _, p := range res.Processes {
				for _, r := range res.Records(p) {
					k := samples.EventKey{Host: p.Host, Channel: r.Channel, RecordID: r.RecordID}
					pk, ok := truth.Parent[k]
					switch {
					case ok && byKey[pk] == nil:
						t.Errorf("%s: parent %s made no process", k, pk)
					case ok && p.Parent != byKey[pk]:
						t.Errorf("%s (%s, %s): parent %s, truth %s (%s)", k, p.Image, truth.Roles[k], describeProc(p.Parent), pk, byKey[pk].Image)
					case !ok && p.Parent != nil && !p.Parent.Stub:
						t.Errorf("%s (%s): parent %s, but truth says its parent is not in the log", k, p.Image, describeProc(p.Parent))
					}
					checked++
				}
			}
			t.Logf("%d events, %d processes checked, %d written findings, flag truth %d", res.Events, checked, len(res.Written()), len(truth.Flag[samples.RuleCARRegsvr32Child])+len(truth.Flag[samples.RuleDLLRegisterServer])+len(truth.Flag[samples.RuleCARSpawningChildren])+len(truth.Flag[samples.RuleCARUnsignedLoad]))
			if checked == 0 {
				t.Error("no process checked")
			}
		})
	}
}

func describeProc(p *Process) string {
	if p == nil {
		return "none"
	}
	return fmt.Sprintf("%s(%d) stub=%v", p.Image, p.PID, p.Stub)
}
