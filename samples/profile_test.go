package samples

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// TestProfileShapes reads back logs of each Sysmon profile and checks the
// shape it promises: the share of each event id, how many processes are
// known only from their activity, and that the truth's flags and parents
// still describe the file.
func TestProfileShapes(t *testing.T) {
	tests := []struct {
		profile string
		share   map[uint16]float64 // event id -> share of the records (±0.03)
		// quiet is the share of processes with activity but no creation
		// event, within [quietMin, quietMax].
		quietMin, quietMax float64
	}{
		{ProfileSysmonDense, map[uint16]float64{1: 0.25, 3: 0.25, 7: 0.25, 22: 0.25}, 0, 0.02},
		{ProfileSysmonActivity, map[uint16]float64{1: 0.08}, 0.85, 0.95},
	}
	for _, tc := range tests {
		t.Run(tc.profile, func(t *testing.T) {
			g := generateAndRead(t, Options{Profile: tc.profile, Events: 20000, Seed: 3})
			ids := map[uint16]int{}
			created := map[string]bool{}
			active := map[string]bool{}
			images := map[string]bool{}
			for _, ev := range g.events {
				if ev.Channel != chanSysmon {
					t.Fatalf("%s: a %s event", tc.profile, ev.Channel)
				}
				ids[ev.EventID]++
				guid, _ := ev.Field("ProcessGuid")
				switch ev.EventID {
				case 1:
					created[guid] = true
					img, _ := ev.Field("Image")
					images[img] = true
				case 3, 7, 22:
					active[guid] = true
				}
			}
			for id, want := range tc.share {
				if got := float64(ids[id]) / float64(len(g.events)); math.Abs(got-want) > 0.03 {
					t.Errorf("event %d: %.3f of the records, want %.2f", id, got, want)
				}
			}
			quiet := 0
			for guid := range active {
				if !created[guid] {
					quiet++
				}
			}
			if q := float64(quiet) / float64(len(active)); q < tc.quietMin || q > tc.quietMax {
				t.Errorf("%d of %d active processes have no creation event (%.2f), want %.2f..%.2f", quiet, len(active), q, tc.quietMin, tc.quietMax)
			}
			if tc.profile == ProfileSysmonDense && len(images) < 100 {
				t.Errorf("%d distinct images, want a population of at least 100", len(images))
			}
			if len(g.truth.Hosts) != 1 || g.truth.Hosts[0].Form != "sysmon" {
				t.Errorf("hosts %+v, want one Sysmon host", g.truth.Hosts)
			}
			if len(g.truth.Flag[RuleDLLRegisterServer]) == 0 {
				t.Error("the scenario's chains were not planted")
			}
		})
	}
}

// TestProfileOptions: unknown profiles and Sysmon profiles on a form
// without Sysmon are refused; the same options give the same bytes.
func TestProfileOptions(t *testing.T) {
	for _, o := range []Options{{Profile: "nope"}, {Profile: ProfileSysmonDense, Form: "security-v2"}} {
		f, err := os.Create(filepath.Join(t.TempDir(), "x.evtx"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Generate(f, o); !errors.Is(err, ErrOptions) {
			t.Errorf("%+v: %v, want ErrOptions", o, err)
		}
		f.Close()
	}
	for _, p := range Profiles() {
		a, _ := generateFile(t, Options{Profile: p.Name, Events: 3000, Seed: 5})
		b, _ := generateFile(t, Options{Profile: p.Name, Events: 3000, Seed: 5})
		if string(a) != string(b) {
			t.Errorf("%s: two runs differ", p.Name)
		}
	}
	if Profiles()[0].Name != ProfileDefault {
		t.Errorf("the first profile is %s, want the default", Profiles()[0].Name)
	}
}
