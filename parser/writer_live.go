package parser

import (
	"fmt"
	"io"
)

// LiveOptions tunes a LiveWriter.
type LiveOptions struct {
	// MaxSize is the log's maximum size in bytes (the event log's
	// "Maximum log size"), rounded down to whole chunks and at least one
	// chunk: once the file holds that many chunks, each new chunk
	// overwrites the oldest one (the log wraps around). 0 means no limit.
	MaxSize int64
}

// LiveWriter grows an EVTX file in place the way the Windows event log
// service does, so that tests can follow a log while it is written:
//
//   - each record is written into the current chunk at its free-space
//     offset, then the chunk's header is rewritten (last record number and
//     EventRecordID, last record offset, free-space offset, the records'
//     CRC and the header's CRC): a reader can see the record before the
//     header that counts it, or a header being written;
//   - a full chunk is followed by a new one: the file first grows by a
//     zeroed 64 KiB block, then the first record and the header are
//     written, then the file header (oldest and newest chunk, chunk count,
//     next record number);
//   - once the file holds MaxSize worth of chunks, the next chunk
//     overwrites the oldest one in place (a ring: file order is no longer
//     record order), leaving the old chunk's bytes past the new records as
//     slack, as Windows does;
//   - the file header's dirty flag is set from creation until Close.
//
// Records are encoded as Writer encodes them (the same templates and value
// types); record numbers run from 1 and a zero RecordID becomes the record
// number, as in a live log. The file must be empty at the start. A
// LiveWriter is not safe for concurrent use; readers may read the file
// concurrently through their own handle.
type LiveWriter struct {
	w         io.WriterAt
	enc       *Writer // encodes records and keeps template ids; its stream is not used
	maxChunks int     // 0: no limit
	err       error
	closed    bool

	chunk   []byte // the current chunk's bytes as written
	idx     int    // the current chunk's index in the file; -1 before the first record
	nChunks int    // chunks in the file
	wrapped bool   // the ring has wrapped: idx+1 (mod nChunks) is the oldest chunk
	pos     int    // free-space offset of the current chunk
	lastRec int    // offset of its last record
	first   uint64 // its first record number and EventRecordID (0: no record yet)
	firstID uint64
	lastID  uint64
	recNum  uint64 // the last record number written
}

// NewLiveWriter starts a live log in w (an empty file): it writes the file
// header with the dirty flag set.
func NewLiveWriter(w io.WriterAt, opts LiveOptions) (*LiveWriter, error) {
	l := &LiveWriter{w: w, enc: NewWriter(nil), chunk: make([]byte, wChunkSize), idx: -1}
	if opts.MaxSize > 0 {
		l.maxChunks = max(1, int((opts.MaxSize-wFileHeaderSize)/wChunkSize))
	}
	if err := l.fileHeader(); err != nil {
		return nil, err
	}
	return l, nil
}

// Records returns the number of records written so far.
func (l *LiveWriter) Records() uint64 { return l.recNum }

// Chunks returns the number of chunks in the file.
func (l *LiveWriter) Chunks() int { return l.nChunks }

// Wrapped reports whether the log has wrapped around (overwritten chunks).
func (l *LiveWriter) Wrapped() bool { return l.wrapped }

func (l *LiveWriter) fail(err error) error {
	l.err = fmt.Errorf("parser: write evtx: %w", err)
	return l.err
}

func (l *LiveWriter) writeAt(b []byte, off int64) error {
	if _, err := l.w.WriteAt(b, off); err != nil {
		return l.fail(err)
	}
	return nil
}

// fileHeader writes the file header for the current state (dirty while
// open).
func (l *LiveWriter) fileHeader() error {
	var oldest, newest uint64
	if l.idx >= 0 {
		newest = uint64(l.idx)
		if l.wrapped {
			oldest = uint64((l.idx + 1) % l.nChunks)
		}
	}
	var flags uint32
	if !l.closed {
		flags = 1
	}
	return l.writeAt(wFileHeader(oldest, newest, uint64(l.nChunks), l.recNum+1, flags), 0)
}

// Write appends one event record in place. An event whose record cannot
// fit in a chunk is rejected with ErrRecordTooLarge and nothing is
// written; after an I/O error every call fails.
func (l *LiveWriter) Write(ev *Event) error {
	if l.closed {
		return ErrWriterClosed
	}
	if l.err != nil {
		return l.err
	}
	num := l.recNum + 1
	enc := l.enc
	var rec []byte
	var added []wTmplDef
	var err error
	if l.idx >= 0 {
		rec, added, err = enc.encodeRecord(ev, num, l.pos)
		if err != nil {
			return err
		}
	}
	newChunk := l.idx < 0 || l.pos+len(rec) > wMaxChunkEnd
	if newChunk {
		// Encode for an empty chunk before starting it, so that a record
		// too large for any chunk leaves the log as it was.
		kept := enc.defined
		enc.defined = make(map[uint32]uint32)
		rec, added, err = enc.encodeRecord(ev, num, wChunkHeaderSize)
		if err == nil && wChunkHeaderSize+len(rec) > wMaxChunkEnd {
			err = fmt.Errorf("%w: %d bytes", ErrRecordTooLarge, len(rec))
		}
		if err != nil {
			enc.defined = kept
			return err
		}
		if err := l.startChunk(); err != nil {
			return err
		}
	}
	for _, a := range added {
		enc.defined[a.id] = a.off
	}
	id := ev.RecordID
	if id == 0 {
		id = num
	}
	base := wFileHeaderSize + int64(l.idx)*wChunkSize
	copy(l.chunk[l.pos:], rec)
	if err := l.writeAt(l.chunk[l.pos:l.pos+len(rec)], base+int64(l.pos)); err != nil {
		return err
	}
	l.lastRec = l.pos
	l.pos += len(rec)
	if l.first == 0 {
		l.first, l.firstID = num, id
	}
	l.lastID = id
	l.recNum = num
	wChunkHeader(l.chunk, l.first, num, l.firstID, id, l.lastRec, l.pos)
	if err := l.writeAt(l.chunk[:wChunkHeaderSize], base); err != nil {
		return err
	}
	if newChunk {
		return l.fileHeader()
	}
	return nil
}

// startChunk moves to the next chunk: a new one at the end of the file,
// or the oldest one once the file holds maxChunks.
func (l *LiveWriter) startChunk() error {
	next := l.idx + 1
	if l.maxChunks > 0 && next >= l.maxChunks {
		next = 0
		l.wrapped = true
	}
	if next >= l.nChunks {
		// The file grows by a whole (zeroed) chunk first.
		clear(l.chunk)
		if err := l.writeAt(l.chunk, wFileHeaderSize+int64(next)*wChunkSize); err != nil {
			return err
		}
		l.nChunks = next + 1
	}
	clear(l.chunk)
	l.idx = next
	l.pos = wChunkHeaderSize
	l.lastRec = 0
	l.first, l.firstID, l.lastID = 0, 0, 0
	return nil
}

// Close clears the dirty flag in the file header. It does not close the
// underlying file.
func (l *LiveWriter) Close() error {
	if l.closed {
		return ErrWriterClosed
	}
	l.closed = true
	if l.err != nil {
		return l.err
	}
	return l.fileHeader()
}
