package parser

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// followLog records what a Follower delivered and reported.
type followLog struct {
	mu       sync.Mutex
	nums     []uint64
	lost     []Lost
	problems []Problem
	bad      []string // events that differ from what was written
}

func (l *followLog) opts(o FollowOptions) FollowOptions {
	o.OnLost = func(x Lost) { l.mu.Lock(); l.lost = append(l.lost, x); l.mu.Unlock() }
	o.OnProblem = func(p Problem) { l.mu.Lock(); l.problems = append(l.problems, p); l.mu.Unlock() }
	return o
}

// event checks a delivered event against what was written as record num
// (liveEvent(num)) and records it.
func (l *followLog) event(ev *Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	want := liveEvent(int(ev.RecordNum))
	if ev.RecordID != ev.RecordNum || ev.EventID != want.EventID || !ev.Time.Equal(want.Time) ||
		len(ev.Fields) != len(want.Fields) || ev.Fields[4] != want.Fields[4] {
		l.bad = append(l.bad, fmt.Sprintf("record %d: %+v", ev.RecordNum, ev))
	}
	l.nums = append(l.nums, ev.RecordNum)
	return nil
}

// check verifies the promises: records delivered in order, each once, and
// with the lost ranges they make up exactly start..total; no problem
// reported (a chunk seen mid-update is not damaged).
func (l *followLog) check(t *testing.T, start, total uint64, wantLost bool) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range l.bad[:min(len(l.bad), 3)] {
		t.Errorf("delivered event differs from the one written: %s", b)
	}
	if len(l.problems) > 0 {
		t.Errorf("%d problems, first %v", len(l.problems), l.problems[0])
	}
	lost := slices.Clone(l.lost)
	next := start
	var nLost uint64
	for i, n := range l.nums {
		for len(lost) > 0 && lost[0].First == next {
			nLost += lost[0].Count()
			next = lost[0].Last + 1
			lost = lost[1:]
		}
		if n != next {
			t.Fatalf("event %d: record %d, want %d (delivered out of order, twice, or skipped without being counted lost)", i, n, next)
		}
		next++
	}
	for _, x := range lost {
		if x.First != next {
			t.Fatalf("lost range %+v does not follow record %d", x, next-1)
		}
		nLost += x.Count()
		next = x.Last + 1
	}
	if next != total+1 {
		t.Errorf("records %d..%d accounted for, %d written", start, next-1, total)
	}
	if wantLost != (nLost > 0) {
		t.Errorf("%d records lost (%d ranges), want lost: %v", nLost, len(l.lost), wantLost)
	}
	t.Logf("%d delivered, %d lost in %d ranges", len(l.nums), nLost, len(l.lost))
}

func TestFollowLive(t *testing.T) {
	tests := []struct {
		name      string
		records   int
		maxChunks int  // 0: no limit
		split     bool // also poll between the halves of every write
		every     int  // poll after every every-th write
		wantLost  bool
	}{
		{name: "growing, every write", records: 1200, split: true, every: 1},
		{name: "wrapping, every write", records: 1500, maxChunks: 3, split: true, every: 1},
		{name: "wrapping, polled often", records: 4000, maxChunks: 3, every: 7},
		{name: "wrapping, polled seldom", records: 4000, maxChunks: 3, every: 1500, wantLost: true},
		{name: "one chunk ring", records: 600, maxChunks: 1, every: 3, wantLost: true},
	}
	for _, tt := range tests {
		if raceEnabled && tt.every < 100 {
			tt.records /= 2 // still many chunks and wraps; a poll per write is slow with -race
		}
		t.Run(tt.name, func(t *testing.T) {
			m := &liveMem{split: tt.split}
			var log followLog
			f := NewFollower(m, m.Size, log.opts(FollowOptions{}))
			ctx := context.Background()
			var pollErr error
			m.onWrite = func() {
				if m.writes%tt.every == 0 && pollErr == nil {
					pollErr = f.Poll(ctx, log.event)
				}
			}
			w, err := NewLiveWriter(m, LiveOptions{MaxSize: fileHeaderSize + int64(tt.maxChunks)*chunkSize})
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i <= tt.records; i++ {
				if err := w.Write(liveEvent(i)); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if pollErr == nil {
				pollErr = f.Poll(ctx, log.event)
			}
			if pollErr != nil {
				t.Fatal(pollErr)
			}
			st := f.Stats()
			if tt.every < 1000 && st.Start != 1 {
				t.Errorf("first record delivered %d, want 1", st.Start)
			}
			log.check(t, st.Start, uint64(tt.records), tt.wantLost)
			if st.Dirty || st.Waiting != 0 || st.Next != uint64(tt.records)+1 {
				t.Errorf("stats %+v", st)
			}
			if tt.maxChunks > 0 && (!w.Wrapped() || st.Chunks != tt.maxChunks || st.Wrapped != (tt.maxChunks > 1)) {
				t.Errorf("wrapped %v, %d chunks; want a ring of %d", w.Wrapped(), st.Chunks, tt.maxChunks)
			}
			// The file as left is a valid log for the Reader too.
			m.onWrite = nil
			evs, r := read(t, m.b, Options{})
			if len(r.Problems()) > 0 || len(evs) == 0 || evs[len(evs)-1].RecordNum > uint64(tt.records) {
				t.Errorf("reader: %d events, problems %v", len(evs), r.Problems())
			}
		})
	}
}

// TestFollowLiveRacing grows a log on disk while a Follower reads it from
// another goroutine through its own handle (run with -race): writes and
// reads race for real, so chunks are seen at any point of an update. In a
// small ring the writer overwrites records before they are read (lost,
// counted); in a large one the reader keeps up.
func TestFollowLiveRacing(t *testing.T) {
	records := 20000
	if raceEnabled || testing.Short() {
		records = 6000
	}
	for _, ring := range []int{5, 64} {
		t.Run(fmt.Sprintf("ring of %d chunks", ring), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "live.evtx")
			wf, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			defer wf.Close()
			w, err := NewLiveWriter(wf, LiveOptions{MaxSize: fileHeaderSize + int64(ring)*chunkSize})
			if err != nil {
				t.Fatal(err)
			}
			var log followLog
			// Settle is generous: a writer goroutine descheduled between two
			// writes on a loaded machine must not look damaged.
			ff, err := FollowFile(path, log.opts(FollowOptions{Settle: 200, MaxWait: 2000}))
			if err != nil {
				t.Fatal(err)
			}
			defer ff.Close()
			var written atomic.Bool
			errc := make(chan error, 1)
			go func() {
				ctx := context.Background()
				for {
					end := written.Load()
					if err := ff.Poll(ctx, log.event); err != nil {
						errc <- err
						return
					}
					if end && ff.Stats().Next == uint64(records)+1 {
						errc <- nil
						return
					}
					time.Sleep(100 * time.Microsecond)
				}
			}()
			for i := 1; i <= records; i++ {
				if err := w.Write(liveEvent(i)); err != nil {
					t.Fatal(err)
				}
				if i%50 == 0 {
					runtime.Gosched()
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			written.Store(true)
			select {
			case err := <-errc:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(2 * time.Minute):
				t.Fatalf("the follower did not catch up: %+v", ff.Stats())
			}
			log.mu.Lock()
			wantLost := len(log.lost) > 0 // how far the reader falls behind depends on scheduling
			log.mu.Unlock()
			log.check(t, 1, uint64(records), wantLost)
			if !w.Wrapped() {
				t.Error("the log did not wrap")
			}
			t.Logf("stats %+v", ff.Stats())
		})
	}
}

// corruptHeader flips a byte of chunk idx's header (a header caught mid
// write) in the live file.
func (m *liveMem) corruptHeader(idx int, v byte) {
	m.mu.Lock()
	m.b[fileHeaderSize+idx*chunkSize+0x40] = v
	m.mu.Unlock()
}

// TestFollowSettles leaves a chunk inconsistent: it is not ready (the
// records after it wait) until it has stayed so for Settle polls, or
// changed for MaxWait polls; then it is reported once and read as it is.
func TestFollowSettles(t *testing.T) {
	for _, changing := range []bool{false, true} {
		t.Run(fmt.Sprintf("changing=%v", changing), func(t *testing.T) {
			m := &liveMem{}
			w, err := NewLiveWriter(m, LiveOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i <= 300; i++ {
				if err := w.Write(liveEvent(i)); err != nil {
					t.Fatal(err)
				}
			}
			if w.Chunks() < 2 {
				t.Fatalf("%d chunks", w.Chunks())
			}
			var log followLog
			opts := FollowOptions{Settle: 3, MaxWait: 5}
			f := NewFollower(m, m.Size, log.opts(opts))
			ctx := context.Background()
			m.corruptHeader(0, 1) // chunk 0 is torn: nothing can be delivered
			want := opts.Settle
			if changing {
				want = opts.MaxWait
			}
			for p := 1; p <= want; p++ {
				if changing {
					m.corruptHeader(0, byte(p+1))
				}
				if err := f.Poll(ctx, log.event); err != nil {
					t.Fatal(err)
				}
				log.mu.Lock()
				got, probs := len(log.nums), len(log.problems)
				log.mu.Unlock()
				if p < want && (got != 0 || probs != 0 || f.Stats().Waiting != 1) {
					t.Fatalf("poll %d: %d events, %d problems, stats %+v; want none while the chunk is not ready", p, got, probs, f.Stats())
				}
				if p == want && (got != 300 || probs != 1) {
					t.Fatalf("poll %d: %d events, problems %v; want all and one problem", p, got, log.problems)
				}
			}
			for range 5 {
				if err := f.Poll(ctx, log.event); err != nil {
					t.Fatal(err)
				}
			}
			if len(log.problems) != 1 || !strings.Contains(log.problems[0].String(), "chunk header CRC mismatch") {
				t.Errorf("problems %v; want the CRC mismatch once", log.problems)
			}
			// The damaged chunk does not stop following.
			for i := 301; i <= 400; i++ {
				if err := w.Write(liveEvent(i)); err != nil {
					t.Fatal(err)
				}
			}
			if err := f.Poll(ctx, log.event); err != nil {
				t.Fatal(err)
			}
			log.problems = nil
			log.check(t, 1, 400, false)
		})
	}
}

// TestFollowReplaced covers the ways a followed log is replaced.
func TestFollowReplaced(t *testing.T) {
	write := func(t *testing.T, w interface{ Write(*Event) error }, from, to int) {
		for i := from; i <= to; i++ {
			if err := w.Write(liveEvent(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	ctx := context.Background()

	t.Run("renamed and recreated", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "Security.evtx")
		wf, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer wf.Close()
		w, _ := NewLiveWriter(wf, LiveOptions{})
		write(t, w, 1, 100)
		var log followLog
		ff, err := FollowFile(path, log.opts(FollowOptions{}))
		if err != nil {
			t.Fatal(err)
		}
		defer ff.Close()
		if err := ff.Poll(ctx, log.event); err != nil {
			t.Fatal(err)
		}
		// Archived: renamed, then records still reach the old file, then a
		// new log appears under the name.
		if err := os.Rename(path, filepath.Join(dir, "Archive-Security.evtx")); err != nil {
			t.Fatal(err)
		}
		write(t, w, 101, 150)
		nf, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		nf.Close()
		if err := ff.Poll(ctx, log.event); !errors.Is(err, ErrReplaced) {
			t.Fatalf("poll after rotation: %v, want ErrReplaced", err)
		}
		if err := ff.Poll(ctx, log.event); !errors.Is(err, ErrReplaced) {
			t.Fatalf("poll after ErrReplaced: %v", err)
		}
		log.check(t, 1, 150, false) // the old file was read to its end first
	})

	// followed400 is a log of 400 records, read by a Follower.
	followed400 := func(t *testing.T) (*liveMem, *Follower) {
		m := &liveMem{}
		w, _ := NewLiveWriter(m, LiveOptions{})
		write(t, w, 1, 400)
		f := NewFollower(m, m.Size, FollowOptions{})
		if err := f.Poll(ctx, func(*Event) error { return nil }); err != nil {
			t.Fatal(err)
		}
		return m, f
	}
	tests := []struct {
		name   string
		change func(t *testing.T, m *liveMem)
	}{
		{"truncated", func(t *testing.T, m *liveMem) { m.b = m.b[:fileHeaderSize+chunkSize] }},
		{"rewritten in place", func(t *testing.T, m *liveMem) {
			// Another log, with record numbers starting over, written over
			// the same bytes (the size stays).
			other := &liveMem{}
			w2, _ := NewLiveWriter(other, LiveOptions{})
			for i := 1; i <= 50; i++ {
				ev := liveEvent(i)
				ev.Fields[4].Value += "-other"
				if err := w2.Write(ev); err != nil {
					t.Fatal(err)
				}
			}
			copy(m.b[fileHeaderSize:], other.b[fileHeaderSize:])
		}},
		{"next record number went back", func(t *testing.T, m *liveMem) { copy(m.b, wFileHeader(0, 0, 1, 1, 1)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, f := followed400(t)
			m.mu.Lock()
			tt.change(t, m)
			m.mu.Unlock()
			if err := f.Poll(ctx, func(*Event) error { return nil }); !errors.Is(err, ErrReplaced) {
				t.Fatalf("got %v, want ErrReplaced", err)
			}
		})
	}
}

// TestFollowRun covers Run's ways of ending; it starts no goroutine.
func TestFollowRun(t *testing.T) {
	m := &liveMem{}
	w, _ := NewLiveWriter(m, LiveOptions{})
	for i := 1; i <= 10; i++ {
		if err := w.Write(liveEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	before := runtime.NumGoroutine()
	stop := errors.New("stop")
	f := NewFollower(m, m.Size, FollowOptions{})
	n := 0
	err := f.Run(context.Background(), time.Millisecond, func(*Event) error {
		if n++; n == 5 {
			return stop
		}
		return nil
	}, nil)
	if !errors.Is(err, stop) || n != 5 {
		t.Errorf("fn's error: got %v after %d events", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	polls := 0
	err = NewFollower(m, m.Size, FollowOptions{}).Run(ctx, time.Millisecond, func(*Event) error { return nil }, func(st FollowStats) {
		if polls++; polls == 3 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || polls != 3 {
		t.Errorf("canceled: got %v after %d polls", err, polls)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("%d goroutines before, %d after", before, after)
	}
	sizeErr := errors.New("stat failed")
	f = NewFollower(m, func() (int64, error) { return 0, sizeErr }, FollowOptions{})
	if err := f.Poll(context.Background(), func(*Event) error { return nil }); !errors.Is(err, sizeErr) {
		t.Errorf("size error: got %v", err)
	}
}

// TestFollowHostile follows files that are not clean logs: no panic, every
// event once and in order, problems reported.
func TestFollowHostile(t *testing.T) {
	for _, c := range hostileCases() {
		t.Run(c.name, func(t *testing.T) {
			data := c.data
			f := NewFollower(bytes.NewReader(data), func() (int64, error) { return int64(len(data)), nil }, FollowOptions{})
			var last uint64
			for range 5 {
				err := f.Poll(context.Background(), func(ev *Event) error {
					if ev.RecordNum <= last && last != 0 {
						t.Fatalf("record %d after %d", ev.RecordNum, last)
					}
					last = ev.RecordNum
					return nil
				})
				if err != nil && !errors.Is(err, ErrReplaced) {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestFollowStaticMatchesReader follows files that do not change (real
// logs, samples, hand-built records, a file cut inside a chunk): once
// every chunk has settled, the Follower has delivered what the Reader
// reads, in record order.
func TestFollowStaticMatchesReader(t *testing.T) {
	files := xmlTestFiles(t)
	cut := writerSample(t, 300)
	files["cut inside a chunk"] = cut[:fileHeaderSize+chunkSize+30000]
	for name, data := range files {
		evs, r := read(t, data, Options{})
		var want []uint64
		for _, e := range evs {
			want = append(want, e.RecordNum)
		}
		slices.Sort(want)
		var log followLog
		opts := log.opts(FollowOptions{})
		f := NewFollower(bytes.NewReader(data), func() (int64, error) { return int64(len(data)), nil }, opts)
		var got []uint64
		for range 4 { // Settle (3) polls and one more
			err := f.Poll(context.Background(), func(ev *Event) error { got = append(got, ev.RecordNum); return nil })
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: follower delivered %d records %v..., reader %d %v...", name, len(got), got[:min(5, len(got))], len(want), want[:min(5, len(want))])
		}
		if fmt.Sprint(log.problems) != fmt.Sprint(r.Problems()) {
			t.Errorf("%s: follower problems %v, reader %v", name, log.problems, r.Problems())
		}
		if name == "cut inside a chunk" && len(log.problems) == 0 {
			t.Errorf("%s: no problem reported", name)
		}
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r     *liveMem
	bytes atomic.Int64
	reads atomic.Int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	c.bytes.Add(int64(len(p)))
	c.reads.Add(1)
	return c.r.ReadAt(p, off)
}

// TestFollowReadsOnlyWhatChanged follows a log of 100 chunks: after the
// first poll, a poll with one new record reads the file header, a few
// chunk headers and the one chunk that changed; a poll with nothing new
// reads no chunk; only every Sweep polls are all the headers read.
func TestFollowReadsOnlyWhatChanged(t *testing.T) {
	m := &liveMem{}
	w, err := NewLiveWriter(m, LiveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := 1
	for ; w.Chunks() < 100; n++ {
		if err := w.Write(liveEvent(n)); err != nil {
			t.Fatal(err)
		}
	}
	cr := &countingReader{r: m}
	f := NewFollower(cr, m.Size, FollowOptions{Sweep: 10})
	ctx := context.Background()
	nop := func(*Event) error { return nil }
	if err := f.Poll(ctx, nop); err != nil {
		t.Fatal(err)
	}
	const fileHeader, header = 0x80, chunkHeaderSize
	for poll := 2; poll <= 20; poll++ {
		cr.bytes.Store(0)
		cr.reads.Store(0)
		newRecord := poll%2 == 0
		if newRecord {
			if err := w.Write(liveEvent(n)); err != nil {
				t.Fatal(err)
			}
			n++
		}
		if err := f.Poll(ctx, nop); err != nil {
			t.Fatal(err)
		}
		var max int64 = fileHeader + 3*header // the newest chunk and the next in ring order (+ a new one)
		if newRecord {
			max += chunkSize
		}
		if poll%10 == 0 {
			max += 100 * header // a sweep
		}
		if got := cr.bytes.Load(); got > max {
			t.Errorf("poll %d (new record %v): %d bytes in %d reads, want at most %d", poll, newRecord, got, cr.reads.Load(), max)
		}
	}
	if st := f.Stats(); st.Next != uint64(n) {
		t.Errorf("next %d, want %d", st.Next, n)
	}
}

// FuzzFollow follows hostile bytes that change between polls (the second
// half of the input is written over the first at a position it chooses):
// no panic, no hang, events strictly in record order, counts that add up.
func FuzzFollow(f *testing.F) {
	m := &liveMem{}
	w, _ := NewLiveWriter(m, LiveOptions{})
	for i := 1; i <= 3; i++ {
		_ = w.Write(liveEvent(i))
	}
	f.Add(firstChunkOnly(m.b), []byte{}, uint16(0))
	f.Add(firstChunkOnly(m.b), []byte("XXXXXXXX"), uint16(fileHeaderSize))
	f.Add(firstChunkOnly(writerSample(f, 3)), []byte{0xff, 0xff}, uint16(fileHeaderSize+0x10))
	f.Fuzz(func(t *testing.T, data, patch []byte, at uint16) {
		file := data
		if !bytes.HasPrefix(data, fileMagic) {
			file = wrapRecords(data)
		}
		src := &swapReader{data: file}
		size := func() (int64, error) {
			src.mu.Lock()
			defer src.mu.Unlock()
			return int64(len(src.data)), nil
		}
		fl := NewFollower(src, size, FollowOptions{Settle: 2, MaxWait: 3})
		var last uint64
		n := 0
		check := func(ev *Event) error {
			if n > 0 && ev.RecordNum <= last {
				t.Fatalf("record %d after %d", ev.RecordNum, last)
			}
			last = ev.RecordNum
			n++
			return nil
		}
		for p := range 6 {
			if p == 2 && len(patch) > 0 {
				next := bytes.Clone(file)
				if off := int(at); off < len(next) {
					copy(next[off:], patch)
				} else {
					next = append(next, patch...)
				}
				src.set(next)
			}
			if err := fl.Poll(context.Background(), check); err != nil {
				if errors.Is(err, ErrReplaced) {
					return
				}
				t.Fatal(err)
			}
		}
		if st := fl.Stats(); st.Events != n {
			t.Fatalf("stats %+v, %d events", st, n)
		}
	})
}
