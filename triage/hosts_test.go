package triage

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"
)

// huntTimes feeds one Security event per time to a hunter, host by host
// (hosts[i] for times[i]), and returns its Result.
func huntTimes(hosts []string, times []time.Time) (*Hunter, *Result) {
	h := NewHunter(Options{})
	for i, tm := range times {
		h.consume(nil, "t.evtx", ev("Security", 4624, hosts[i%len(hosts)], uint64(i+1), tm))
	}
	return h, h.Result()
}

func TestHostActivity(t *testing.T) {
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	span := func(n int, step time.Duration) []time.Time {
		out := make([]time.Time, n)
		for i := range out {
			out[i] = base.Add(time.Duration(i) * step)
		}
		return out
	}
	reversed := func(ts []time.Time) []time.Time {
		out := make([]time.Time, len(ts))
		for i, t := range ts {
			out[len(ts)-1-i] = t
		}
		return out
	}
	shuffled := func(ts []time.Time) []time.Time {
		out := append([]time.Time(nil), ts...)
		r := rand.New(rand.NewPCG(1, 2))
		r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
		return out
	}
	year := span(5000, 105*time.Minute) // a year, one event every 105 minutes
	tests := []struct {
		name       string
		hosts      []string
		times      []time.Time
		untimed    int
		maxRegrids int
	}{
		{"one second", []string{"A"}, span(10, 100*time.Millisecond), 0, 0},
		{"a year in order", []string{"A", "B"}, year, 0, 40},
		{"a year backwards", []string{"A", "B"}, reversed(year), 0, 40},
		{"a year shuffled", []string{"A", "B", "C"}, shuffled(year), 0, 40},
		{"implausible times", []string{"A"}, append(span(100, time.Minute), time.Time{},
			time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(30828, 9, 14, 2, 48, 5, 0, time.UTC)), 3, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, res := huntTimes(tt.hosts, tt.times)
			for _, acc := range h.hosts {
				t.Logf("%d regrids", acc.axis.regrids)
				if acc.axis.regrids > tt.maxRegrids {
					t.Errorf("%d regrids, want at most %d", acc.axis.regrids, tt.maxRegrids)
				}
			}
			total, untimed := 0, 0
			want := map[string][]uint32{}
			for _, hs := range res.HostStats {
				if a := hs.Axis; a.N < 1 || a.N > activityBins || len(hs.Activity) != a.N {
					t.Fatalf("host %s: axis %+v, %d bins", hs.Host, a, len(hs.Activity))
				}
				want[hs.Host] = make([]uint32, hs.Axis.N)
			}
			for i, tm := range tt.times {
				hs := res.HostStatsOf(tt.hosts[i%len(tt.hosts)])
				if tm.Before(plausibleFrom) || !tm.Before(plausibleTo) {
					continue
				}
				b := hs.Axis.Bin(tm)
				if b < 0 {
					t.Fatalf("%v outside the axis %+v", tm, hs.Axis)
				}
				want[hs.Host][b]++
			}
			for _, hs := range res.HostStats {
				total += hs.Events
				untimed += hs.Untimed
				if fmt.Sprint(hs.Activity) != fmt.Sprint(want[hs.Host]) {
					t.Errorf("host %s: activity\n%v\nwant\n%v", hs.Host, hs.Activity, want[hs.Host])
				}
				// The axis spans the host's own events: its first and last
				// bins hold some.
				if hs.Activity[0] == 0 || hs.Activity[len(hs.Activity)-1] == 0 || !hs.Axis.Start.Add(hs.Axis.Width).After(hs.First) {
					t.Errorf("host %s: axis %+v does not start at its first event %v", hs.Host, hs.Axis, hs.First)
				}
			}
			if total != len(tt.times) || untimed != tt.untimed {
				t.Errorf("events %d untimed %d, want %d and %d", total, untimed, len(tt.times), tt.untimed)
			}
			if hs := res.HostStatsOf(tt.hosts[0]); hs == nil || hs.First.IsZero() || hs.Last.Before(hs.First) {
				t.Errorf("host stats %+v", hs)
			}
		})
	}
}

// TestHostActivityBounded gives more hosts than MaxActivityHosts: the
// later ones are counted without a histogram.
func TestHostActivityBounded(t *testing.T) {
	n := MaxActivityHosts + 10
	hosts := make([]string, n)
	times := make([]time.Time, n)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("H%05d", i)
		times[i] = t0.Add(time.Duration(i) * time.Second)
	}
	_, res := huntTimes(hosts, times)
	with := 0
	for _, hs := range res.HostStats {
		if hs.Events != 1 {
			t.Fatalf("host %s: %d events", hs.Host, hs.Events)
		}
		if hs.Activity != nil {
			with++
		}
	}
	if len(res.HostStats) != n || with != MaxActivityHosts {
		t.Errorf("%d hosts, %d with a histogram", len(res.HostStats), with)
	}
}

// TestHostActivityScenario hunts the scenario log of five hosts: every
// event is counted once under its host, duplicates aside.
func TestHostActivityScenario(t *testing.T) {
	h := NewHunter(Options{})
	if err := h.AddFile(context.Background(), filepath.Join("..", "samples", "logs", "all.evtx"), nil); err != nil {
		t.Fatal(err)
	}
	res := h.Finish()
	sum, binned := 0, 0
	for _, hs := range res.HostStats {
		sum += hs.Events
		for _, c := range hs.Activity {
			binned += int(c)
		}
		if hs.Untimed != 0 {
			t.Errorf("host %s: %d untimed", hs.Host, hs.Untimed)
		}
	}
	if len(res.HostStats) != len(res.Hosts) || len(res.Hosts) != 5 || sum != res.Events-res.Duplicates || binned != sum {
		t.Errorf("%d host stats for %d hosts: %d events (%d binned) of %d read, %d duplicates", len(res.HostStats),
			len(res.Hosts), sum, binned, res.Events, res.Duplicates)
	}
}

// TestHostActivityOwnAxis: hosts whose logs lie years apart each keep
// their own resolution (an hour of events over hundreds of bins).
func TestHostActivityOwnAxis(t *testing.T) {
	var hosts []string
	var times []time.Time
	for i := range 3600 {
		hosts = append(hosts, "OLD", "NEW")
		times = append(times, time.Date(2016, 9, 21, 3, 0, i, 0, time.UTC), time.Date(2026, 3, 2, 7, 0, i, 0, time.UTC))
	}
	h := NewHunter(Options{})
	for i, tm := range times {
		h.consume(nil, "t.evtx", ev("Security", 4624, hosts[i], uint64(i+1), tm))
	}
	for _, hs := range h.Result().HostStats {
		if hs.Axis.N < activityBins/4 || hs.Axis.Width > time.Hour/(activityBins/4) {
			t.Errorf("host %s: an hour over %d bins of %v", hs.Host, hs.Axis.N, hs.Axis.Width)
		}
	}
}
