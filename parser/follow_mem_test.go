package parser

import (
	"context"
	"runtime"
	"testing"
)

// growAndFollow writes records events into a ring of ring chunks in
// memory, polling f after every pollEvery writes, and calls measure after
// each tenth of the records with the events delivered so far. It returns
// the bytes the polls allocated (the events delivered included).
func growAndFollow(tb testing.TB, records, ring, pollEvery int, measure func(delivered int)) (*Follower, uint64) {
	tb.Helper()
	m := &liveMem{}
	f := NewFollower(m, m.Size, FollowOptions{})
	w, err := NewLiveWriter(m, LiveOptions{MaxSize: fileHeaderSize + int64(ring)*chunkSize})
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	var ms0, ms1 runtime.MemStats
	var polled uint64
	delivered := 0
	count := func(*Event) error { delivered++; return nil }
	// The events written are made once: the writer does not keep them.
	evs := make([]*Event, 64)
	for i := range evs {
		evs[i] = liveEvent(i + 1)
	}
	for i := 1; i <= records; i++ {
		if err := w.Write(evs[i%len(evs)]); err != nil {
			tb.Fatal(err)
		}
		if i%pollEvery == 0 || i == records {
			runtime.ReadMemStats(&ms0)
			if err := f.Poll(ctx, count); err != nil {
				tb.Fatal(err)
			}
			runtime.ReadMemStats(&ms1)
			polled += ms1.TotalAlloc - ms0.TotalAlloc
		}
		if measure != nil && i%(records/10) == 0 {
			measure(delivered)
		}
	}
	if st := f.Stats(); st.Next != uint64(records)+1 || st.Problems != 0 || st.Lost != 0 {
		tb.Fatalf("stats %+v", st)
	}
	return f, polled
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestFollowMemoryBounded follows a log that grows by many events through
// a ring of 64 chunks (4 MiB): the heap in use does not grow with the
// events delivered. It logs the heap at each tenth and per event; it
// asserts only what does not depend on the machine: the Follower's state is
// one entry per chunk of the file.
func TestFollowMemoryBounded(t *testing.T) {
	records := 200_000
	if raceEnabled || testing.Short() {
		records = 20_000
	}
	var first uint64
	var samples []uint64
	f, polled := growAndFollow(t, records, 64, 100, func(delivered int) {
		h := heapInUse()
		if first == 0 {
			first = h
		}
		samples = append(samples, h)
	})
	last := samples[len(samples)-1]
	t.Logf("%d events: heap in use %d KiB after the first tenth, %d KiB at the end (%.3f bytes per event more), polls allocated %d bytes per event; samples %v",
		records, first>>10, last>>10, (float64(last)-float64(first))/float64(records*9/10), polled/uint64(records), samples)
	if len(f.chunks) != 64 {
		t.Errorf("%d chunk states, want 64 (one per chunk)", len(f.chunks))
	}
}

// BenchmarkFollow follows a log growing by b.N events (a ring of 64
// chunks, 4 MiB, polled every 100 events) and reports the heap in use at
// the end of the run (the ring, the Follower's state and its decoder; it
// does not grow with the events: see TestFollowMemoryBounded), its growth
// per event, and the bytes the polls allocate per event (the delivered
// events included). One million events:
//
//	go test ./parser -run '^$' -bench Follow -benchtime 1000000x
func BenchmarkFollow(b *testing.B) {
	n := max(b.N, 100)
	var first, last uint64
	_, polled := growAndFollow(b, n, 64, 100, func(int) {
		last = heapInUse()
		if first == 0 {
			first = last
		}
	})
	b.ReportMetric(float64(last)/(1<<20), "heap-MiB")
	b.ReportMetric((float64(last)-float64(first))/float64(n*9/10), "heap-growth-B/event")
	b.ReportMetric(float64(polled)/float64(n), "poll-alloc-B/event")
}
