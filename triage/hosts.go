package triage

import (
	"slices"
	"strings"
	"time"
)

// HostStats is what a hunt read of one computer: how many events, when,
// and how they spread over time.
type HostStats struct {
	Host   string // the events' Computer ("" for events that name none)
	Events int    // events naming it, duplicates dropped
	// First and Last are its earliest and latest event times among those
	// with a plausible time (see Untimed); zero when none has one.
	First, Last time.Time
	// Activity counts its events over time, in the bins of Axis (which
	// span its first to its last event); nil for the hosts beyond
	// MaxActivityHosts.
	Activity []uint32
	Axis     ActivityBins
	// Untimed counts its events whose time is missing or implausible
	// (before 1990, from 2100 on): a crafted or damaged record would
	// otherwise stretch every host's time axis over centuries.
	Untimed int
}

// ActivityBins is the time axis of a host's Activity: N bins of Width
// from Start, covering every plausible event time of the host.
type ActivityBins struct {
	Start time.Time
	Width time.Duration
	N     int
}

// Bin returns the bin holding t, or -1 when t lies outside the axis.
func (a ActivityBins) Bin(t time.Time) int {
	if a.N == 0 || a.Width <= 0 || t.Before(a.Start) {
		return -1
	}
	i := t.Sub(a.Start) / a.Width
	if i >= time.Duration(a.N) {
		return -1
	}
	return int(i)
}

// End is the end of the last bin.
func (a ActivityBins) End() time.Time { return a.Start.Add(time.Duration(a.N) * a.Width) }

// Sizes of the activity histograms: a fixed number of bins per host,
// re-binned (width doubled) as the hunt's span grows, for at most
// MaxActivityHosts hosts, so that their memory does not grow with the
// logs (MaxActivityHosts × activityBins × 4 bytes at most, 2 MiB).
const (
	activityBins     = 512
	MaxActivityHosts = 1024
)

// Plausible event times: outside them a time is counted, not binned.
var (
	plausibleFrom = time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)
	plausibleTo   = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// hostAcc accumulates one host's HostStats while the hunt reads.
type hostAcc struct {
	events, untimed int
	first, last     time.Time
	bins            []uint32 // activityBins long; nil beyond MaxActivityHosts
	axis            timeAxis
}

// timeAxis is the axis of a host's histogram while the hunt reads: bin i
// holds the times t with floor(t/w) = lo+i (t in Unix nanoseconds). The
// bins in use, [minA, maxA] in absolute units, always fit; when a time
// falls outside, the histogram is re-binned (regrid) so that the bins in
// use fill at most half of them, centred, leaving room to grow on either
// side: a host re-bins a few times per doubling of its span, whatever the
// order of its events.
type timeAxis struct {
	w, lo      int64
	minA, maxA int64
	used       bool
	regrids    int // times every histogram was re-binned
}

// add counts t in bins (re-binned first when t falls outside the axis).
func (x *timeAxis) add(bins []uint32, t time.Time) {
	ns := t.UnixNano()
	if !x.used {
		x.w, x.used = int64(time.Second), true
		a := floorDiv(ns, x.w)
		x.minA, x.maxA, x.lo = a, a, a-activityBins/2
	}
	a := floorDiv(ns, x.w)
	if a < x.lo || a >= x.lo+activityBins {
		x.regrid(a, bins)
		a = floorDiv(ns, x.w)
	}
	x.minA, x.maxA = min(x.minA, a), max(x.maxA, a)
	bins[a-x.lo]++
}

// regrid widens the bins (doubling) until the bins in use and a fit in
// half of them, centres them, and moves the counts.
func (x *timeAxis) regrid(a int64, bins []uint32) {
	lo, hi := min(x.minA, a), max(x.maxA, a)
	shift := 0
	for hi-lo+1 > activityBins/2 {
		lo, hi = floorDiv(lo, 2), floorDiv(hi, 2)
		shift++
	}
	newLo := lo - (activityBins-(hi-lo+1))/2
	var scratch [activityBins]uint32
	for i, c := range bins {
		if c != 0 {
			scratch[floorDiv(x.lo+int64(i), 1<<shift)-newLo] += c
		}
	}
	copy(bins, scratch[:])
	x.w <<= shift
	x.lo = newLo
	x.regrids++
	x.minA, x.maxA = floorDiv(x.minA, 1<<shift), floorDiv(x.maxA, 1<<shift)
}

// floorDiv is a/b rounded towards minus infinity (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// countHost counts ev's time for its host. Called with h.mu held.
func (h *Hunter) countHost(host strID, t time.Time) {
	acc := h.hosts[host]
	if acc == nil {
		acc = &hostAcc{}
		if h.histHosts < MaxActivityHosts {
			acc.bins = make([]uint32, activityBins)
			h.histHosts++
		}
		h.hosts[host] = acc
	}
	acc.events++
	if t.Before(plausibleFrom) || !t.Before(plausibleTo) {
		acc.untimed++
		return
	}
	if acc.first.IsZero() || t.Before(acc.first) {
		acc.first = t
	}
	if t.After(acc.last) {
		acc.last = t
	}
	if acc.bins != nil {
		acc.axis.add(acc.bins, t)
	}
}

// hostStats copies the hosts' counts into r, by host, each histogram cut
// to the bins in use. Called with h.mu held.
func (h *Hunter) hostStats(r *Result) {
	r.HostStats = make([]HostStats, 0, len(h.hosts))
	for id, acc := range h.hosts {
		hs := HostStats{Host: h.strs.str(id), Events: acc.events, First: acc.first, Last: acc.last, Untimed: acc.untimed}
		if x := &acc.axis; acc.bins != nil && x.used {
			hs.Axis = ActivityBins{Start: time.Unix(0, x.minA*x.w).UTC(), Width: time.Duration(x.w), N: int(x.maxA - x.minA + 1)}
			hs.Activity = slices.Clone(acc.bins[x.minA-x.lo : x.maxA-x.lo+1])
		}
		r.HostStats = append(r.HostStats, hs)
	}
	slices.SortFunc(r.HostStats, func(a, b HostStats) int { return strings.Compare(a.Host, b.Host) })
}

// HostStatsOf returns the stats of host, nil when the hunt read no event
// of it.
func (r *Result) HostStatsOf(host string) *HostStats {
	i, ok := slices.BinarySearchFunc(r.HostStats, host, func(s HostStats, h string) int { return strings.Compare(s.Host, h) })
	if !ok {
		return nil
	}
	return &r.HostStats[i]
}
