package parser

import (
	"bytes"
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
)

// allEvents reads every event of data with opts.
func allEvents(t *testing.T, data []byte, opts Options) []*Event {
	t.Helper()
	evs, _ := read(t, data, opts)
	return evs
}

func TestEventAtHostileOffsets(t *testing.T) {
	data := writerSample(t, 300)
	// A record that cannot be decoded: an unknown token right after its
	// fragment header, in the second record of a hand-built chunk.
	bad := mkFile(mkChunk([]rec{
		{num: 1, body: sysmonBody(1, 1, sampleFields)},
		{num: 2, body: func(x *bx) { x.fragment(); x.u8(0x7f) }},
	}, chunkOpts{}))
	evs := allEvents(t, data, Options{})
	first, second := evs[0].Offset, evs[1].Offset
	size := int64(len(data))
	badAt := fileHeaderSize + chunkHeaderSize + int64(len(recordArea(mkFile(mkChunk([]rec{{num: 1, body: sysmonBody(1, 1, sampleFields)}}, chunkOpts{})))))
	tests := []struct {
		name string
		data []byte
		off  int64
		why  string
	}{
		{"negative", data, -1, "outside the file's chunks"},
		{"min int64", data, math.MinInt64, "outside the file's chunks"},
		{"file header", data, 0x20, "outside the file's chunks"},
		{"chunk header", data, fileHeaderSize + 0x30, "inside a chunk header"},
		{"mid record", data, first + 8, "no record starts here"},
		{"between records", data, second - 1, "no record starts here"},
		{"end of file", data, size, "outside the file's chunks"},
		{"last bytes", data, size - 4, "too close to the end of the file"},
		{"max int64", data, math.MaxInt64, "outside the file's chunks"},
		{"past a chunk's records", data, fileHeaderSize + chunkSize - 64, "no record starts here"},
		{"undecodable record", bad, badAt, "record 2 skipped: unknown token 0x7f"},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(tt.data), int64(len(tt.data)), Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, call := range []func() (any, error){
				func() (any, error) { return r.EventAt(ctx, tt.off) },
				func() (any, error) { return r.XMLAt(ctx, tt.off) },
			} {
				got, err := call()
				var fe *FormatError
				if !errors.As(err, &fe) || !errors.Is(err, ErrNoRecord) || fe.Offset != tt.off || !strings.Contains(err.Error(), tt.why) {
					t.Errorf("offset %d: %v, %v; want a FormatError saying %q", tt.off, got, err, tt.why)
				}
			}
		})
	}
}

func TestEventAtConcurrent(t *testing.T) {
	data := writerSample(t, 3000)
	evs := allEvents(t, data, Options{})
	r, err := NewReader(bytes.NewReader(data), int64(len(data)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := r.numChunks(); n <= atCacheChunks {
		t.Fatalf("only %d chunks: the cache is not exercised", n)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each goroutine walks the events with its own stride, so that
			// chunks are decoded, evicted and decoded again concurrently.
			for i := g; i < len(evs); i += 7 + g {
				want := evs[i]
				got, err := r.EventAt(ctx, want.Offset)
				if err != nil || !sameEvent(got, want) {
					t.Errorf("0x%x: %+v, %v", want.Offset, got, err)
					return
				}
				if i%5 == 0 {
					x, err := r.XMLAt(ctx, want.Offset)
					if err != nil || !bytes.Contains(x, []byte("<EventRecordID>"+itoa(want.RecordID)+"</EventRecordID>")) {
						t.Errorf("0x%x: XML %v\n%s", want.Offset, err, x)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	r.at.mu.Lock()
	n := len(r.at.entries)
	r.at.mu.Unlock()
	if n > atCacheChunks {
		t.Errorf("%d chunks cached, at most %d", n, atCacheChunks)
	}
	// The event returned is the caller's own.
	e, _ := r.EventAt(ctx, evs[0].Offset)
	e.Fields[0].Value = "changed"
	if e2, _ := r.EventAt(ctx, evs[0].Offset); e2.Fields[0].Value == "changed" {
		t.Error("EventAt returned the cached event itself")
	}
}

// swapReader is an io.ReaderAt whose bytes can be replaced (a live log).
type swapReader struct {
	mu   sync.Mutex
	data []byte
}

func (s *swapReader) ReadAt(p []byte, off int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.NewReader(s.data).ReadAt(p, off)
}

func (s *swapReader) set(data []byte) {
	s.mu.Lock()
	s.data = data
	s.mu.Unlock()
}

// TestEventAtChunkChanged reads a record appended to a chunk after the
// chunk was cached: the changed header makes EventAt decode it again.
func TestEventAtChunkChanged(t *testing.T) {
	one := mkFile(mkChunk([]rec{{num: 1, body: sysmonBody(1, 1, sampleFields)}}, chunkOpts{}))
	two := mkFile(mkChunk([]rec{{num: 1, body: sysmonBody(1, 1, sampleFields)}, {num: 2, body: sysmonBody(2, 1, sampleFields)}}, chunkOpts{}))
	src := &swapReader{data: one}
	r, err := NewReader(src, int64(len(one)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	evs := allEvents(t, two, Options{})
	if _, err := r.EventAt(ctx, evs[0].Offset); err != nil {
		t.Fatal(err)
	}
	if _, err := r.EventAt(ctx, evs[1].Offset); !errors.Is(err, ErrNoRecord) {
		t.Fatalf("record 2 before it was written: %v", err)
	}
	src.set(two)
	e, err := r.EventAt(ctx, evs[1].Offset)
	if err != nil || e.RecordID != 2 {
		t.Fatalf("record 2 after it was written: %+v, %v", e, err)
	}
}

func TestEventAtCanceled(t *testing.T) {
	data := writerSample(t, 10)
	r, err := NewReader(bytes.NewReader(data), int64(len(data)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.EventAt(ctx, fileHeaderSize+chunkHeaderSize); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

// errReaderAt fails every read after the first n bytes of data.
type errReaderAt struct{ data []byte }

func (e errReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= fileHeaderSize {
		return 0, errors.New("device gone")
	}
	return bytes.NewReader(e.data).ReadAt(p, off)
}

func TestEventAtReadError(t *testing.T) {
	data := writerSample(t, 10)
	r, err := NewReader(errReaderAt{data}, int64(len(data)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.EventAt(context.Background(), fileHeaderSize+chunkHeaderSize)
	if err == nil || !strings.Contains(err.Error(), "device gone") {
		t.Errorf("got %v, want the read error", err)
	}
}

// TestChunkEvents reads every chunk back and finds exactly the events
// Events delivers, chunk by chunk (ChunkOf names their chunk), plus the
// carved copies Events drops; keep selects, and the events are the
// caller's own.
func TestChunkEvents(t *testing.T) {
	good := rec{num: 1, body: sysmonBody(1, 1, sampleFields)}
	tests := []struct {
		name  string
		data  []byte
		opts  Options
		extra int // carved copies Events drops
	}{
		{"many chunks", writerSample(t, 3000), Options{}, 0},
		{"many chunks, carving", writerSample(t, 3000), Options{Carve: true}, 0},
		{"a recovered record", mkFile(mkChunk([]rec{good}, chunkOpts{slack: []rec{{num: 9, body: sysmonBody(9, 1, []Field{{"Image", "x"}})}}})), Options{Carve: true}, 0},
		{"a carved copy of a live record", mkFile(mkChunk([]rec{good}, chunkOpts{slack: []rec{good}})), Options{Carve: true}, 1},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := allEvents(t, tt.data, tt.opts)
			r, err := NewReader(bytes.NewReader(tt.data), int64(len(tt.data)), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []*Event
			for idx := range r.Chunks() {
				evs, err := r.ChunkEvents(ctx, idx, nil)
				if err != nil {
					t.Fatalf("chunk %d: %v", idx, err)
				}
				for _, e := range evs {
					if ChunkOf(e.Offset) != idx {
						t.Errorf("event at 0x%x is in chunk %d, ChunkOf says %d", e.Offset, idx, ChunkOf(e.Offset))
					}
				}
				got = append(got, evs...)
			}
			if len(got) != len(want)+tt.extra {
				t.Fatalf("%d events read back, want %d + %d", len(got), len(want), tt.extra)
			}
			i := 0
			for _, e := range got {
				if i < len(want) && sameEvent(e, want[i]) {
					i++
				} else if !e.Recovered {
					t.Errorf("0x%x: %+v is not among Events' (next %+v)", e.Offset, e, want[i])
				}
			}
			if i != len(want) {
				t.Errorf("%d of Events' %d events found in order", i, len(want))
			}
			// keep selects; what it sees is not the caller's.
			odd, err := r.ChunkEvents(ctx, 0, func(e *Event) bool { return e.RecordNum%2 == 1 })
			if err != nil || len(odd) == 0 {
				t.Fatalf("keep: %d events, %v", len(odd), err)
			}
			for _, e := range odd {
				if e.RecordNum%2 != 1 {
					t.Errorf("keep let record %d through", e.RecordNum)
				}
			}
			odd[0].Fields[0].Value = "changed"
			again, _ := r.ChunkEvents(ctx, 0, nil)
			if again[0].Fields[0].Value == "changed" {
				t.Error("ChunkEvents returned the cached event itself")
			}
		})
	}
}

func TestChunkEventsBadChunk(t *testing.T) {
	data := writerSample(t, 10)
	r, err := NewReader(bytes.NewReader(data), int64(len(data)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, idx := range []int{-1, r.Chunks(), math.MaxInt32, math.MinInt} {
		evs, err := r.ChunkEvents(ctx, idx, nil)
		if !errors.Is(err, ErrNoRecord) || evs != nil {
			t.Errorf("chunk %d: %d events, %v; want ErrNoRecord", idx, len(evs), err)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := r.ChunkEvents(cctx, 0, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := (&Reader{r: errReaderAt{data}, size: int64(len(data))}).ChunkEvents(ctx, 0, nil); err == nil || !strings.Contains(err.Error(), "device gone") {
		t.Errorf("read error: %v", err)
	}
	for _, tc := range []struct {
		off  int64
		want int
	}{{0, -1}, {fileHeaderSize - 1, -1}, {fileHeaderSize, 0}, {fileHeaderSize + chunkSize - 1, 0}, {fileHeaderSize + chunkSize, 1}, {math.MaxInt64, math.MaxInt32}, {math.MinInt64, -1}} {
		if got := ChunkOf(tc.off); got != tc.want {
			t.Errorf("ChunkOf(%d) = %d, want %d", tc.off, got, tc.want)
		}
	}
}
