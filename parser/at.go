package parser

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"sync"
)

// Reading one event back by its offset (Event.Offset), for views that
// keep only where events are (a host timeline, a finding's raw event)
// instead of the events themselves.

// atCacheChunks is how many decoded chunks EventAt and XMLAt keep: enough
// for paging back and forth across a chunk boundary and a second file
// position, small enough not to matter (each holds its 64 KiB and at most
// chunkOutput of events).
const atCacheChunks = 4

// ErrNoRecord is what EventAt and XMLAt return for an offset where no
// readable record starts, together with a *FormatError saying why (both
// match with errors.Is and errors.As).
var ErrNoRecord = errors.New("parser: no record at this offset")

// noRecordError is a *FormatError that also matches ErrNoRecord.
type noRecordError struct{ *FormatError }

func (e noRecordError) Unwrap() []error { return []error{e.FormatError, ErrNoRecord} }

// atCache holds the chunks decoded for EventAt and XMLAt, most recently
// used last. The zero value is ready to use.
type atCache struct {
	mu      sync.Mutex
	entries []*atChunk
	workers sync.Pool // *worker
}

// atChunk is one decoded chunk. Its fields are set before done is closed
// and not changed afterwards.
type atChunk struct {
	idx   int
	carve bool
	done  chan struct{}

	buf      []byte   // the chunk's bytes as decoded (chunkSize, zero past the file's end)
	avail    int      // bytes present in the file
	events   []*Event // in offset order
	problems []Problem
	err      error // reading failed
}

// EventAt returns the event whose record starts at file offset off (an
// Event.Offset that Events delivered, recovered ones included), decoding
// only the chunk that holds it. The last few chunks decoded are kept, so
// reading events of the same chunks again does not decode them again; a
// kept chunk whose header changed since (a live log) is decoded again.
// The returned Event is the caller's own, as Events gives it.
//
// Recovered records are found as Events finds them with Options.Carve;
// a Reader without Carve also finds them, when no live record starts at
// off. An offset where no record can be read gives an error that matches
// ErrNoRecord (errors.Is) and is a *FormatError (errors.As) saying why:
// outside the chunks, inside a chunk header, a record there that could
// not be decoded (with the reason), or no record starting there. A read
// error is returned as it is. EventAt is safe for concurrent use,
// alongside Events.
func (r *Reader) EventAt(ctx context.Context, off int64) (*Event, error) {
	_, ev, err := r.recordAt(ctx, off)
	if err != nil {
		return nil, err
	}
	return ownCopy(ev), nil
}

// ownCopy returns a copy of a cached event for a caller to keep: its own
// Event and Fields (the values' string is shared, and immutable).
func ownCopy(ev *Event) *Event {
	e, fields := newEvent(len(ev.Fields))
	*e = *ev
	if ev.Fields != nil {
		copy(fields, ev.Fields)
		e.Fields = fields
	}
	return e
}

// XMLAt returns the record at offset off as Windows renders it: the
// <Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">
// document, indented, with values rendered as in the Event and every
// character a terminal could act on escaped (see the notes in xml.go).
// It finds the record as EventAt does, with the same errors, and is safe
// for concurrent use.
func (r *Reader) XMLAt(ctx context.Context, off int64) ([]byte, error) {
	c, ev, err := r.recordAt(ctx, off)
	if err != nil {
		return nil, err
	}
	w := r.at.worker(r)
	defer r.at.workers.Put(w)
	base := chunkBase(c.idx)
	w.dec.reset(c.buf, base)
	out, err := w.dec.recordXMLAt(&w.xw, nil, int(off-base), ev.Recovered)
	if err != nil {
		return nil, &FormatError{Offset: off, Msg: "record " + strconv.FormatUint(ev.RecordNum, 10) + ": XML not rendered: " + err.Error()}
	}
	return out, nil
}

func chunkBase(idx int) int64 { return fileHeaderSize + int64(idx)*chunkSize }

// ChunkOf returns the number of the chunk that holds file offset off (an
// Event.Offset): chunk 0 starts after the file header, and every chunk is
// 64 KiB. It returns -1 for an offset before the first chunk. Together
// with ChunkEvents it lets an index of a log keep where events are by
// chunk (a few bytes per 64 KiB) instead of keeping the events.
func ChunkOf(off int64) int {
	if off < fileHeaderSize {
		return -1
	}
	return int(min((off-fileHeaderSize)/chunkSize, math.MaxInt32))
}

// Chunks returns the number of chunks the file holds, the last one
// possibly partial: ChunkEvents takes 0 up to Chunks()-1.
func (r *Reader) Chunks() int { return r.numChunks() }

// Size returns the size of the input the Reader was made for.
func (r *Reader) Size() int64 { return r.size }

// ChunkEvents returns the events of chunk idx (see ChunkOf) that keep
// selects, in offset order, each the caller's own as Events gives it. keep
// sees every event the chunk holds, recovered ones included when the
// Reader carves (Options.Carve); it must neither keep nor change the
// *Event it is given (nil keep selects every event). The chunk is decoded
// through the cache EventAt uses, so reading it again, or events of it
// with EventAt, does not decode it again.
//
// It sees one chunk only: a carved record that Events would drop as a
// copy of a record of another chunk (Stats.Duplicates) is returned here,
// marked Recovered. Records that cannot be decoded are skipped, as Events
// skips them (it reports them as problems). An idx outside the file gives
// an error matching ErrNoRecord; a read error is returned as it is.
// ChunkEvents is safe for concurrent use, alongside EventAt and Events.
func (r *Reader) ChunkEvents(ctx context.Context, idx int, keep func(*Event) bool) ([]*Event, error) {
	if idx < 0 || idx >= r.numChunks() {
		off := int64(-1)
		if idx >= 0 {
			off = chunkBase(idx)
		}
		return nil, noRecordError{&FormatError{Offset: off, Msg: "no chunk " + strconv.Itoa(idx) + " in this file"}}
	}
	c, err := r.at.get(ctx, r, idx, r.opts.Carve)
	if err != nil {
		return nil, err
	}
	var out []*Event
	for _, ev := range c.events {
		if keep != nil && !keep(ev) {
			continue
		}
		out = append(out, ownCopy(ev))
	}
	return out, nil
}

// recordAt finds the decoded event at off and the chunk holding it.
func (r *Reader) recordAt(ctx context.Context, off int64) (*atChunk, *Event, error) {
	noRecord := func(why string) error {
		return noRecordError{&FormatError{Offset: off, Msg: "no record at this offset: " + why}}
	}
	if off < fileHeaderSize || off >= r.size {
		return nil, nil, noRecord("outside the file's chunks")
	}
	idx := int((off - fileHeaderSize) / chunkSize)
	if off+minRecordSize > r.size {
		return nil, nil, noRecord("too close to the end of the file for a record")
	}
	var c *atChunk
	for _, carve := range []bool{r.opts.Carve, true} {
		var err error
		if c, err = r.at.get(ctx, r, idx, carve); err != nil {
			return nil, nil, err
		}
		if ev := c.find(off); ev != nil {
			return c, ev, nil
		}
		if carve {
			break
		}
	}
	// A record that could not be decoded: its problem is at the record or
	// where inside it decoding failed.
	end := off + 1
	if pos := int(off - chunkBase(idx)); pos+8 <= len(c.buf) && string(c.buf[pos:pos+4]) == string(recordMagic) {
		end = off + int64(binary.LittleEndian.Uint32(c.buf[pos+4:]))
	}
	for _, p := range c.problems {
		if p.Offset >= off && p.Offset < end {
			return nil, nil, noRecord(p.Reason())
		}
	}
	if off-chunkBase(idx) < chunkHeaderSize {
		return nil, nil, noRecord("inside a chunk header")
	}
	return nil, nil, noRecord("no record starts here")
}

// find returns the event whose record starts at off, or nil.
func (c *atChunk) find(off int64) *Event {
	i, ok := slices.BinarySearchFunc(c.events, off, func(e *Event, off int64) int {
		switch {
		case e.Offset < off:
			return -1
		case e.Offset > off:
			return 1
		}
		return 0
	})
	if !ok {
		return nil
	}
	return c.events[i]
}

// worker returns a worker for decoding one chunk or record.
func (a *atCache) worker(r *Reader) *worker {
	if w, ok := a.workers.Get().(*worker); ok {
		return w
	}
	return newWorker(r, nil)
}

// get returns chunk idx decoded (with carving or not), from the cache when
// it is there and its header has not changed.
func (a *atCache) get(ctx context.Context, r *Reader, idx int, carve bool) (*atChunk, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c, fresh := a.lookup(idx, carve)
		if fresh {
			a.decode(r, c)
		} else {
			select {
			case <-c.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if c.err != nil {
			a.evict(c)
			return nil, c.err
		}
		if fresh || r.unchanged(c) {
			return c, nil
		}
		a.evict(c) // the chunk was written to since: decode it again
	}
}

// lookup returns the cache entry for (idx, carve), creating it (fresh)
// when there is none; the least recently used entry goes when the cache
// is full (a caller still waiting for it keeps its pointer).
func (a *atCache) lookup(idx int, carve bool) (c *atChunk, fresh bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, e := range a.entries {
		if e.idx == idx && e.carve == carve {
			a.entries = append(append(a.entries[:i:i], a.entries[i+1:]...), e)
			return e, false
		}
	}
	if len(a.entries) >= atCacheChunks {
		a.entries = slices.Delete(a.entries, 0, 1)
	}
	c = &atChunk{idx: idx, carve: carve, done: make(chan struct{})}
	a.entries = append(a.entries, c)
	return c, true
}

func (a *atCache) evict(c *atChunk) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if i := slices.Index(a.entries, c); i >= 0 {
		a.entries = slices.Delete(a.entries, i, i+1)
	}
}

// decode fills c and closes c.done.
func (a *atCache) decode(r *Reader, c *atChunk) {
	defer close(c.done)
	base := chunkBase(c.idx)
	c.buf = make([]byte, chunkSize)
	n, err := r.r.ReadAt(c.buf[:min(chunkSize, r.size-base)], base)
	if err != nil && !errors.Is(err, io.EOF) {
		c.err = fmt.Errorf("parser: read chunk at 0x%x: %w", base, err)
		return
	}
	c.avail = n
	w := a.worker(r)
	defer a.workers.Put(w)
	w.carve, w.xml = c.carve, false
	res := &chunkResult{}
	w.decodeChunk(res, base, c.buf, n)
	c.events, c.problems = res.events, res.problems
}

// unchanged reports whether the header of chunk c in the file is still the
// one c was decoded from (records appended to a live log change it).
func (r *Reader) unchanged(c *atChunk) bool {
	n := min(chunkHeaderSize, c.avail)
	hdr := make([]byte, n)
	if _, err := r.r.ReadAt(hdr, chunkBase(c.idx)); err != nil && !errors.Is(err, io.EOF) {
		return true // keep what was read; the read error shows when decoding again fails
	}
	return bytes.Equal(hdr, c.buf[:n])
}
