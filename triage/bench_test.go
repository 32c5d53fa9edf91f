package triage

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/evtriage/evtriage/internal/heappeak"
	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/rules"
	"github.com/evtriage/evtriage/samples"
)

// The hunt benchmarks read logs of the generator's profiles (see
// samples.Profiles): dense Sysmon (25% each of Sysmon 1/3/7/22, a host's
// process population), the activity-only stress (nine processes in ten
// known only from their activity) and the default 4688-heavy mix. Each log
// is EVTRIAGE_BENCH_MB megabytes (default 64; the figures use 256
// and 1024), generated into the temporary folder once per run;
// EVTRIAGE_BENCH_EVTX=FILE benchmarks one given file instead.
//
//	EVTRIAGE_BENCH_MB=256 go test ./triage -run '^$' -bench 'Hunt' -benchtime 3x
//
// Besides MB/s (b.SetBytes) each reports the bytes allocated per event,
// the peak of the live heap (measured after each collection) and of the
// heap in use (objects, live or not yet swept), and the live heap per
// event: what decides the resident memory of a large hunt.

// benchSize is the size of the generated benchmark logs in bytes.
func benchSize() int64 {
	mb := 64
	if s := os.Getenv("EVTRIAGE_BENCH_MB"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			mb = n
		}
	}
	return int64(mb) << 20
}

// benchLog returns the log to benchmark for profile: $EVTRIAGE_BENCH_EVTX
// when set, else a log generated into dir.
func benchLog(b *testing.B, dir, profile string) string {
	b.Helper()
	if p := os.Getenv("EVTRIAGE_BENCH_EVTX"); p != "" {
		return p
	}
	size := benchSize()
	path := filepath.Join(dir, fmt.Sprintf("%s-%dMB.evtx", profile, size>>20))
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := samples.Generate(f, samples.Options{Profile: profile, Size: size, Seed: 1}); err != nil {
		f.Close()
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// benchHunt hunts path with opts b.N times, as hunt does (Finish, then the
// written findings as JSON Lines), and reports the figures described
// above.
func benchHunt(b *testing.B, path string, opts Options) {
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	b.ReportAllocs()
	var live, inUse uint64
	var events, procs, nodes int
	var ms0, ms1 runtime.MemStats
	var alloc uint64
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		peak := heappeak.Start()
		b.StartTimer()
		h := NewHunter(opts)
		if err := h.AddFile(context.Background(), path, nil); err != nil {
			b.Fatal(err)
		}
		res := h.Finish()
		if err := WriteExport(io.Discard, res, res.Written(), FormatJSONL); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		pl, pu := peak.End()
		runtime.ReadMemStats(&ms1)
		alloc += ms1.TotalAlloc - ms0.TotalAlloc
		live, inUse = max(live, pl), max(inUse, pu)
		events, procs, nodes = res.Events, res.ProcessCount(), len(res.Processes)
		runtime.KeepAlive(res)
		b.StartTimer()
	}
	if events > 0 {
		b.ReportMetric(float64(alloc)/float64(b.N)/float64(events), "alloc-B/event")
		b.ReportMetric(float64(live)/float64(events), "live-B/event")
	}
	b.ReportMetric(float64(live)/(1<<20), "peak-live-MB")
	b.ReportMetric(float64(inUse)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(events), "events")
	b.ReportMetric(float64(procs), "processes")
	b.ReportMetric(float64(nodes), "nodes")
}

// BenchmarkHunt hunts each profile's log as the hunt command does
// (headless: written findings only, activity counted, not kept) and as the
// screen does (suppressed candidates and regsvr32's activity kept).
func BenchmarkHunt(b *testing.B) {
	set := rules.Load(rules.LoadOptions{})
	dir := b.TempDir() // the sub-benchmarks run within this call
	for _, prof := range []string{samples.ProfileSysmonDense, samples.ProfileSysmonActivity, samples.ProfileDefault} {
		path := benchLog(b, dir, prof)
		b.Run(prof+"/headless", func(b *testing.B) {
			benchHunt(b, path, Options{Rules: set, WrittenOnly: true, NoActivity: true})
		})
		b.Run(prof+"/screen", func(b *testing.B) {
			benchHunt(b, path, Options{Rules: set})
		})
	}
}

// BenchmarkReadTimeline reads a host's timeline back from a hunted dense
// Sysmon log (EVTRIAGE_BENCH_MB, EVTRIAGE_BENCH_EVTX as above) around the
// middle of the log, for windows of ±5 minutes, ±1 hour and ±12 hours
// (at most DefaultTimelineMax events kept). It reports the chunks read,
// the events in the window, how much the heap in use grew at its peak
// while reading (garbage not yet collected included: the decoded chunks),
// what the Timeline keeps once read (the heap after a collection, less
// the heap before) and the chunk index's size per chunk.
func BenchmarkReadTimeline(b *testing.B) {
	path := benchLog(b, b.TempDir(), samples.ProfileSysmonDense)
	h := NewHunter(Options{Rules: rules.Load(rules.LoadOptions{})}) // as the screen hunts
	if err := h.AddFile(context.Background(), path, nil); err != nil {
		b.Fatal(err)
	}
	res := h.Result()
	x := res.chunks
	index := len(x.spans) * int(unsafe.Sizeof(chunkSpan{}))
	for _, hs := range x.more {
		index += 8 + 4*len(hs)
	}
	var first, last time.Time
	for _, s := range x.spans {
		if s.min <= s.max {
			if t := time.Unix(s.min, 0); first.IsZero() || t.Before(first) {
				first = t
			}
			if t := time.Unix(s.max, 0); t.After(last) {
				last = t
			}
		}
	}
	center := first.Add(last.Sub(first) / 2)
	host := res.Hosts[0]
	f, err := parser.Open(path, parser.Options{Carve: true})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	open := func(string) (*parser.Reader, error) { return f.Reader, nil }
	for _, span := range []time.Duration{5 * time.Minute, time.Hour, 12 * time.Hour} {
		b.Run("±"+span.String(), func(b *testing.B) {
			b.ReportAllocs()
			var tl *Timeline
			var inUse, kept uint64
			for b.Loop() {
				b.StopTimer()
				runtime.GC()
				before := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
				metrics.Read(before)
				base := before[0].Value.Uint64()
				peak := heappeak.Start()
				b.StartTimer()
				tl, err = res.ReadTimeline(context.Background(), TimelineQuery{Host: host, From: center.Add(-span), To: center.Add(span), Center: center}, open)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				_, pu := peak.End()
				inUse = max(inUse, pu-min(base, pu))
				runtime.GC()
				metrics.Read(before)
				kept = max(kept, before[0].Value.Uint64()-min(base, before[0].Value.Uint64()))
				runtime.KeepAlive(tl)
				b.StartTimer()
			}
			b.ReportMetric(float64(tl.Chunks), "chunks")
			b.ReportMetric(float64(len(x.spans)), "chunks-in-log")
			b.ReportMetric(float64(tl.Total), "events-in-window")
			b.ReportMetric(float64(len(tl.Events)), "events-kept")
			b.ReportMetric(float64(inUse)/(1<<20), "peak-heap-growth-MB")
			b.ReportMetric(float64(kept)/(1<<20), "kept-MB")
			b.ReportMetric(float64(index)/float64(max(len(x.spans), 1)), "index-B/chunk")
		})
	}
}

// followEvents is the number of events BenchmarkFollow writes:
// $EVTRIAGE_FOLLOW_EVENTS, default 1,000,000.
func followEvents() int {
	if s := os.Getenv("EVTRIAGE_FOLLOW_EVENTS"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return n
		}
	}
	return 1_000_000
}

// BenchmarkFollow follows a dense Sysmon log that a LiveWriter grows in
// place by EVTRIAGE_FOLLOW_EVENTS events (default a million; the log
// wraps in a 64 MiB ring, as a Sysmon log of that maximum size does),
// polling after every 2,000 events, as the hunt command follows
// (headless) and as the screen does (a Result at least every second). The
// events are the generator's dense Sysmon profile, a new process
// population (seed) for every 100,000, an hour apart. It reports the live
// heap per event once everything is read (what hours of following cost:
// the same compact records as a normal load, see BenchmarkHunt), its
// peak, the builds, the share they took of the follower's time and of the
// whole run (the writer included, which writes far faster than a host
// logs), and the last build's duration (what delays a finding on a log of
// this size).
//
//	go test ./triage -run '^$' -bench Follow -benchtime 1x
func BenchmarkFollow(b *testing.B) {
	set := rules.Load(rules.LoadOptions{})
	total := followEvents()
	const perRound, every = 100_000, 2000
	for _, mode := range []struct {
		name    string
		refresh time.Duration
		opts    Options
	}{
		{"headless", 0, Options{Rules: set, WrittenOnly: true, NoActivity: true}},
		{"screen", time.Second, Options{Rules: set}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			for b.Loop() {
				benchFollow(b, total, perRound, every, mode.refresh, mode.opts)
			}
		})
	}
}

func benchFollow(b *testing.B, total, perRound, every int, refresh time.Duration, opts Options) {
	b.StopTimer()
	dir := b.TempDir()
	runtime.GC()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	path := filepath.Join(dir, "Microsoft-Windows-Sysmon%4Operational.evtx")
	lf := newLiveFile(b, path, 64<<20)
	h := NewHunter(opts)
	var builds int
	var buildTime, lastBuild time.Duration
	var findings int
	f := NewFollower(h, []string{path}, FollowOptions{Refresh: refresh, OnUpdate: func(u FollowUpdate) {
		findings += len(u.New)
	}})
	defer f.Close()
	// Builds are timed through the clock the follower reads around them.
	ctx := context.Background()
	peak := heappeak.Start()
	began := time.Now()
	written := 0
	var busy time.Duration
	for round := 0; written < total; round++ {
		src := filepath.Join(dir, "round.evtx")
		w, err := os.Create(src)
		if err != nil {
			b.Fatal(err)
		}
		n := min(perRound, total-written)
		_, err = samples.Generate(w, samples.Options{Profile: samples.ProfileSysmonDense, Events: n, Seed: int64(round + 1),
			Start: time.Date(2026, 3, 2, 7, 0, 0, 0, time.UTC).Add(time.Duration(round) * time.Hour), Duration: time.Hour})
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			b.Fatal(err)
		}
		r, err := os.Open(src)
		if err != nil {
			b.Fatal(err)
		}
		fi, _ := r.Stat()
		rd, err := parser.NewReader(r, fi.Size(), parser.Options{})
		if err != nil {
			b.Fatal(err)
		}
		err = rd.Events(ctx, func(ev *parser.Event) error {
			ev.RecordID = 0
			if err := lf.w.Write(ev); err != nil {
				return err
			}
			if written++; written%every == 0 {
				b.StartTimer()
				start := time.Now()
				before := f.builtAt
				if err := f.Step(ctx); err != nil {
					return err
				}
				if f.builtAt != before {
					builds++
					lastBuild = f.builtAt.Sub(start) // the poll's share is small beside the build
					buildTime += lastBuild
				}
				busy += time.Since(start)
				b.StopTimer()
			}
			return nil
		})
		r.Close()
		os.Remove(src)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StartTimer()
	if err := f.Step(ctx); err != nil {
		b.Fatal(err)
	}
	f.Update(ctx)
	b.StopTimer()
	wall := time.Since(began)
	peakLive, _ := peak.End()
	res := h.Result()
	runtime.GC()
	runtime.ReadMemStats(&ms1)
	st := f.Status()
	if uint64(st.Events)+st.Lost != uint64(written) {
		b.Fatalf("delivered %d + lost %d != written %d", st.Events, st.Lost, written)
	}
	live := float64(ms1.HeapAlloc) - float64(ms0.HeapAlloc)
	b.ReportMetric(live/float64(st.Events), "live-B/event")
	b.ReportMetric(float64(peakLive)/(1<<20), "peak-live-MB")
	b.ReportMetric(float64(st.Events), "events")
	b.ReportMetric(float64(st.Lost), "lost")
	b.ReportMetric(float64(builds), "builds")
	b.ReportMetric(100*buildTime.Seconds()/max(busy.Seconds(), 1e-9), "build-%-of-polls")
	b.ReportMetric(100*buildTime.Seconds()/wall.Seconds(), "build-%-of-wall")
	b.ReportMetric(float64(lastBuild.Milliseconds()), "last-build-ms")
	b.ReportMetric(float64(findings), "findings")
	b.ReportMetric(float64(len(res.Processes)), "nodes")
	runtime.KeepAlive(res)
	b.StartTimer()
}
