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
