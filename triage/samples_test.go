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
func TestScenariosGroundTruth(t *testing.T) {
	set := builtin(t)
	for _, sc := range samples.Scenarios() {
		t.Run(sc.Name, func(t *testing.T) {
			var f memFile
			truth, err := samples.Generate(&f, samples.Options{Scenario: sc.Name, Events: 3000, Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			h := NewHunter(Options{Rules: set})
			if err := h.AddReader(context.Background(), sc.Name+".evtx", bytes.NewReader(f.b), int64(len(f.b)), nil); err != nil {
				t.Fatal(err)
			}
			res := h.Result()
			if res.Events != truth.Events {
				t.Errorf("%d events, truth %d", res.Events, truth.Events)
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
				for _, r := range p.Records {
					byKey[samples.EventKey{Host: p.Host, Channel: r.Channel, RecordID: r.RecordID}] = p
				}
			}
			checked := 0
			for _, p := range res.Processes {
				for _, r := range p.Records {
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
