package parser

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// liveMem is an in-memory file a LiveWriter writes and a Follower reads.
// After every write (and, with split, between the two halves of every
// write, so that a reader sees half-written headers and records) it calls
// onWrite, where a test polls its Follower: each state the writer passes
// through is seen.
type liveMem struct {
	mu      sync.Mutex
	b       []byte
	split   bool
	onWrite func()
	writes  int
}

func (m *liveMem) WriteAt(p []byte, off int64) (int, error) {
	if m.split && len(p) > 1 {
		h := len(p) / 2
		m.write(p[:h], off)
		m.write(p[h:], off+int64(h))
		return len(p), nil
	}
	m.write(p, off)
	return len(p), nil
}

func (m *liveMem) write(p []byte, off int64) {
	m.mu.Lock()
	if need := off + int64(len(p)); need > int64(len(m.b)) {
		m.b = append(m.b, make([]byte, need-int64(len(m.b)))...)
	}
	copy(m.b[off:], p)
	m.writes++
	m.mu.Unlock()
	if m.onWrite != nil {
		m.onWrite()
	}
}

func (m *liveMem) ReadAt(p []byte, off int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return bytes.NewReader(m.b).ReadAt(p, off)
}

func (m *liveMem) Size() (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return int64(len(m.b)), nil
}

// liveEvent is the event written as record n (varied sizes and shapes).
func liveEvent(n int) *Event {
	ev := sysmonEvent(n, time.Date(2024, 5, 12, 8, 0, 0, 0, time.UTC))
	ev.RecordID = 0 // a live log: the record number
	return ev
}

// TestLiveWriter grows a log in place and checks it after every write:
// the file always holds whole chunks, each chunk's header and CRCs match
// its records (the Reader finds no problem), the file header counts the
// chunks and is dirty until Close, and once the ring is full the oldest
// chunk is overwritten, its old records left as slack after the new ones.
func TestLiveWriter(t *testing.T) {
	for _, ring := range []int{0, 1, 3} {
		t.Run(fmt.Sprintf("ring of %d chunks", ring), func(t *testing.T) {
			m := &liveMem{}
			var maxSize int64 // no limit
			if ring > 0 {
				maxSize = fileHeaderSize + int64(ring)*chunkSize + 100 // rounded down to whole chunks
			}
			w, err := NewLiveWriter(m, LiveOptions{MaxSize: maxSize})
			if err != nil {
				t.Fatal(err)
			}
			le := binary.LittleEndian
			const records = 700
			for i := 1; i <= records; i++ {
				if err := w.Write(liveEvent(i)); err != nil {
					t.Fatal(err)
				}
				if i%47 != 0 && i != records {
					continue
				}
				if (len(m.b)-fileHeaderSize)%chunkSize != 0 || len(m.b) != fileHeaderSize+w.Chunks()*chunkSize {
					t.Fatalf("record %d: file of %d bytes, %d chunks", i, len(m.b), w.Chunks())
				}
				if ring > 0 && w.Chunks() > ring {
					t.Fatalf("record %d: %d chunks in a ring of %d", i, w.Chunks(), ring)
				}
				h := m.b[:fileHeaderSize]
				if le.Uint32(h[0x78:])&1 == 0 || int(le.Uint16(h[0x2a:])) != w.Chunks() {
					t.Fatalf("record %d: file header flags %d, %d chunks; want dirty, %d", i, le.Uint32(h[0x78:]), le.Uint16(h[0x2a:]), w.Chunks())
				}
				evs, r := read(t, m.b, Options{})
				if p := r.Problems(); len(p) > 0 {
					t.Fatalf("record %d: problems %v", i, p)
				}
				// In record order the events are i-len+1..i; in file order
				// they start at the oldest chunk once the ring wrapped.
				nums := make([]uint64, len(evs))
				for k, e := range evs {
					nums[k] = e.RecordNum
					if e.RecordID != e.RecordNum {
						t.Fatalf("record %d: EventRecordID %d", e.RecordNum, e.RecordID)
					}
				}
				if nums[len(nums)-1] != uint64(i) && !w.Wrapped() {
					t.Fatalf("record %d: last record read %d", i, nums[len(nums)-1])
				}
				if ring == 0 && nums[0] != 1 {
					t.Fatalf("record %d: first record read %d", i, nums[0])
				}
			}
			if ring > 0 && !w.Wrapped() {
				t.Fatal("the log did not wrap")
			}
			// Slack: the overwritten chunks keep old records past the new
			// ones, which carving recovers.
			if ring > 1 {
				_, r := read(t, m.b, Options{Carve: true})
				if st := r.Stats(); st.Recovered+st.Duplicates+st.CarveFailed == 0 {
					t.Errorf("no old record found in slack: %+v", st)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			h := m.b[:fileHeaderSize]
			if le.Uint32(h[0x78:]) != 0 || le.Uint64(h[0x18:]) != records+1 {
				t.Errorf("closed: flags %d, next record %d", le.Uint32(h[0x78:]), le.Uint64(h[0x18:]))
			}
			if ring > 0 {
				newest := le.Uint64(h[0x10:])
				oldest := le.Uint64(h[0x08:])
				if oldest != (newest+1)%uint64(ring) {
					t.Errorf("oldest chunk %d, newest %d in a ring of %d", oldest, newest, ring)
				}
			}
			if err := w.Write(liveEvent(1)); err != ErrWriterClosed {
				t.Errorf("write after close: %v", err)
			}
			if _, err := lookEvtxexport(); err == nil {
				// libyal reads the ring too (it checks CRCs and the header).
				evs, _ := read(t, m.b, Options{})
				path := filepath.Join(t.TempDir(), "live.evtx")
				if err := os.WriteFile(path, m.b, 0o644); err != nil {
					t.Fatal(err)
				}
				xevs, ok := evtxexportEvents(t, path)
				if !ok || len(xevs) != len(evs) {
					t.Errorf("evtxexport: %d events (ok %v), reader %d", len(xevs), ok, len(evs))
				}
			}
		})
	}
}

// TestLiveWriterTooLarge rejects a record no chunk can hold and leaves the
// log as it was.
func TestLiveWriterTooLarge(t *testing.T) {
	m := &liveMem{}
	w, err := NewLiveWriter(m, LiveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(liveEvent(1)); err != nil {
		t.Fatal(err)
	}
	before := bytes.Clone(m.b)
	big := liveEvent(2)
	big.Fields[4].Value = string(bytes.Repeat([]byte("x"), chunkSize))
	if err := w.Write(big); err == nil || !errors.Is(err, ErrRecordTooLarge) {
		t.Fatalf("got %v, want ErrRecordTooLarge", err)
	}
	if !bytes.Equal(before, m.b) {
		t.Error("the rejected record changed the file")
	}
	if err := w.Write(liveEvent(2)); err != nil || w.Records() != 2 {
		t.Fatalf("after the rejected record: %v, %d records", err, w.Records())
	}
}
