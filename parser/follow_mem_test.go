package parser

import (
	"context"
	"runtime"
	"testing"
)

// growAndFollow writes records events into a ring of ring chunks in
// memory, polling f after every pollEvery writes, and calls measure after
// each tenth of the records with the events delivered so far.
func growAndFollow(tb testing.TB, records, ring, pollEvery int, measure func(delivered int)) *Follower {
	tb.Helper()
	m := &liveMem{}
	f := NewFollower(m, m.Size, FollowOptions{})
	w, err := NewLiveWriter(m, LiveOptions{MaxSize: fileHeaderSize + int64(ring)*chunkSize})
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
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
			if err := f.Poll(ctx, count); err != nil {
				tb.Fatal(err)
			}
		}
		if measure != nil && i%(records/10) == 0 {
			measure(delivered)
		}
	}
	if st := f.Stats(); st.Next != uint64(records)+1 || st.Problems != 0 || st.Lost != 0 {
		tb.Fatalf("stats %+v", st)
	}
	return f
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
	f := growAndFollow(t, records, 64, 100, func(delivered int) {
		h := heapInUse()
		if first == 0 {
			first = h
		}
		samples = append(samples, h)
	})
	last := samples[len(samples)-1]
	t.Logf("%d events: heap in use %d KiB after the first tenth, %d KiB at the end (%.3f bytes per event more); samples %v",
		records, first>>10, last>>10, (float64(last)-float64(first))/float64(records*9/10), samples)
	if len(f.chunks) != 64 {
		t.Errorf("%d chunk states, want 64 (one per chunk)", len(f.chunks))
	}
}

// BenchmarkFollow follows a log growing by b.N events (a ring of 64
// chunks, polled every 100 events) and reports the bytes allocated per
// event and the heap in use at the end (bounded: the ring, the Follower's
// state and its decoder). One million events:
//
//	go test ./parser -run '^$' -bench Follow -benchtime 1000000x
func BenchmarkFollow(b *testing.B) {
	b.ReportAllocs()
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	b.ResetTimer()
	growAndFollow(b, max(b.N, 10), 64, 100, nil)
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	b.ReportMetric(float64(heapInUse())/(1<<20), "heap-MiB")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(b.N), "alloc-B/event")
}
