package parser

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"strings"
)

// maxRecordsPerChunk bounds the records taken from one chunk; a 64 KiB chunk
// cannot hold more minimal records than this anyway.
const maxRecordsPerChunk = (chunkSize - chunkHeaderSize) / minRecordSize

// chunkResult is what decoding one chunk gives.
type chunkResult struct {
	events   []*Event
	problems []Problem // in offset order
	skipped  int
	// carveFailed counts carved record frames whose content could not be
	// decoded (stale slack data).
	carveFailed int
	empty       bool
	bad         bool
	// With worker.xml: the events' XML, events[i]'s at xmlSpans[i] in xml
	// ({-1, -1} when it could not be rendered).
	xml      []byte
	xmlSpans [][2]int32
}

// eventXML returns the XML of events[i], or nil.
func (res *chunkResult) eventXML(i int) []byte {
	if i >= len(res.xmlSpans) || res.xmlSpans[i][0] < 0 {
		return nil
	}
	s := res.xmlSpans[i]
	return res.xml[s[0]:s[1]:s[1]]
}

// worker decodes chunks; each goroutine has its own buffer and decoder.
type worker struct {
	r    *Reader
	buf  []byte
	dec  *decoder
	free chan *chunkResult // delivered results to reuse (may be nil)
	// carve: carve records (Options.Carve unless set otherwise); xml:
	// also render every event's XML (Reader.EventsXML).
	carve bool
	xml   bool
	xw    xmlWriter
}

func newWorker(r *Reader, free chan *chunkResult) *worker {
	return &worker{r: r, buf: make([]byte, chunkSize), dec: newDecoder(), free: free, carve: r.opts.Carve}
}

// result returns an empty chunkResult, reusing a delivered one (its
// slices keep their capacity) when there is one.
func (w *worker) result() *chunkResult {
	select {
	case res := <-w.free:
		*res = chunkResult{events: res.events[:0], problems: res.problems[:0], xml: res.xml[:0], xmlSpans: res.xmlSpans[:0]}
		if cap(res.xml) > maxRecordXML {
			res.xml = nil // do not keep a hostile chunk's output alive
		}
		return res
	default:
		return &chunkResult{events: make([]*Event, 0, 64)}
	}
}

// recycle offers a delivered result for reuse. The events themselves
// belong to the caller; only the slice of pointers is reused.
func recycle(free chan *chunkResult, res *chunkResult) {
	clear(res.events)
	select {
	case free <- res:
	default:
	}
}

// chunk reads and decodes chunk number idx.
func (w *worker) chunk(idx int) *chunkResult {
	base := int64(fileHeaderSize) + int64(idx)*chunkSize
	res := w.result()
	avail := int(min(int64(chunkSize), w.r.size-base))
	buf := w.buf[:chunkSize]
	n, err := w.r.r.ReadAt(buf[:avail], base)
	if err != nil && !errors.Is(err, io.EOF) {
		res.problems = append(res.problems, Problem{Offset: base, Err: fmt.Errorf("read chunk: %w", err)})
		res.bad = true
		if n <= 0 {
			return res
		}
	}
	w.decodeChunk(res, base, buf, n)
	return res
}

// decodeChunk decodes the chunk at file offset base held in buf (64 KiB;
// the first avail bytes are in the file) into res.
func (w *worker) decodeChunk(res *chunkResult, base int64, buf []byte, avail int) {
	clear(buf[avail:])
	c := chunkDecode{w: w, res: res, base: base, buf: buf, avail: avail, carve: w.carve}
	c.run()
	if c.limitSkipped > 0 {
		c.problem(c.limitAt, "%v: %d records from here on not decoded", c.limit, c.limitSkipped)
	}
	if w.xml {
		c.renderXML()
	}
	slices.SortStableFunc(res.problems, func(a, b Problem) int { return cmp.Compare(a.Offset, b.Offset) })
}

// chunkDecode is the state of decoding one chunk.
type chunkDecode struct {
	w     *worker
	res   *chunkResult
	base  int64  // file offset of the chunk
	buf   []byte // 64 KiB, zero past avail
	avail int    // bytes actually present in the file
	carve bool

	limit        error // the decoding budget ran out (errBudget, errChunkOut)
	limitAt      int   // chunk offset of the first record not decoded
	limitSkipped int   // live records not decoded because of it
}

func (c *chunkDecode) problem(off int, format string, args ...any) {
	c.res.problems = append(c.res.problems, problemAt(c.base+int64(off), format, args...))
}

func (c *chunkDecode) run() {
	buf, le := c.buf, binary.LittleEndian
	c.w.dec.reset(buf, c.base)
	if c.avail < chunkSize {
		c.problem(c.avail, "file ends inside chunk (%d of %d bytes present)", c.avail, chunkSize)
	}
	if string(buf[:8]) != string(chunkMagic) {
		if isZero(buf[:c.avail]) {
			c.res.empty = true
			return
		}
		c.res.bad = true
		if !c.carve {
			c.problem(0, "chunk header magic missing; chunk skipped")
			return
		}
		c.problem(0, "chunk header magic missing; carving records")
		c.scan(0, c.avail, true)
		return
	}
	if c.avail < chunkHeaderSize {
		c.res.bad = true
		c.problem(0, "chunk header truncated")
		return
	}
	headerOK := chunkHeaderCRCOK(buf)
	if !headerOK {
		c.problem(0x7c, "chunk header CRC mismatch")
	}
	first, last := le.Uint64(buf[0x08:]), le.Uint64(buf[0x10:])
	free := int(le.Uint32(buf[0x30:]))
	end := free
	if free < chunkHeaderSize || free > chunkSize {
		c.problem(0x30, "chunk free-space offset 0x%x out of range", free)
		end = c.avail
		if !headerOK {
			c.res.bad = true
		}
	} else if free <= c.avail {
		if got, want := crc32.ChecksumIEEE(buf[chunkHeaderSize:free]), le.Uint32(buf[0x34:]); got != want {
			c.problem(0x34, "chunk data CRC mismatch (stored 0x%08x, computed 0x%08x)", want, got)
		}
	}
	end = min(end, c.avail)
	found := c.scan(chunkHeaderSize, end, c.carve && !headerOK && c.res.bad)
	if headerOK && c.avail == chunkSize && free >= chunkHeaderSize && free <= chunkSize &&
		last >= first && last-first < maxRecordsPerChunk && uint64(found) != last-first+1 {
		c.problem(0x10, "chunk header lists %d records, %d found", last-first+1, found)
	}
	if c.carve && end < c.avail {
		c.carveSlack(end, c.avail)
	}
}

// scan walks records back to back in [start, end). A broken record is
// reported and the walk resynchronises on the next record magic. It returns
// the number of record structures found.
func (c *chunkDecode) scan(start, end int, recovered bool) int {
	found := 0
	pos := start
	for pos+minRecordSize <= end && found < maxRecordsPerChunk {
		size, reason := c.checkRecord(pos, end)
		if reason != "" {
			if !recovered && isZero(c.buf[pos:end]) {
				c.problem(pos, "zero bytes where records were expected (to 0x%x)", end)
				return found
			}
			// Resynchronise on the next valid record; the gap is one
			// problem (carving a damaged chunk expects gaps).
			next := c.nextRecord(pos+8, end)
			if !recovered {
				if next < 0 {
					c.problem(pos, "%s; no further record in the chunk", reason)
				} else {
					c.problem(pos, "%s; %d bytes skipped to the next record", reason, next-pos)
				}
			}
			if next < 0 {
				return found
			}
			pos = next
			continue
		}
		found++
		c.decodeRecord(pos, size, recovered)
		pos += size
	}
	return found
}

// nextRecord finds the next 8-aligned position at or after pos holding a
// valid record frame, or -1.
func (c *chunkDecode) nextRecord(pos, end int) int {
	for pos = c.nextMagic(pos, end); pos >= 0; pos = c.nextMagic(pos+8, end) {
		if _, reason := c.checkRecord(pos, end); reason == "" {
			return pos
		}
	}
	return -1
}

// carveSlack looks for whole records after the last live record.
func (c *chunkDecode) carveSlack(start, end int) {
	for pos := c.nextMagic(start, end); pos >= 0; {
		size, reason := c.checkRecord(pos, end)
		if reason != "" {
			pos = c.nextMagic(pos+8, end)
			continue
		}
		c.decodeRecord(pos, size, true)
		pos = c.nextMagic(pos+size, end)
	}
}

// nextMagic finds the next 8-aligned record magic at or after pos.
func (c *chunkDecode) nextMagic(pos, end int) int {
	pos = (pos + 7) &^ 7
	for ; pos+minRecordSize <= end; pos += 8 {
		if c.buf[pos] == 0x2a && c.buf[pos+1] == 0x2a && c.buf[pos+2] == 0 && c.buf[pos+3] == 0 {
			return pos
		}
	}
	return -1
}

// checkRecord validates the record frame at pos; it returns the size or a
// reason why no record is there.
func (c *chunkDecode) checkRecord(pos, end int) (int, string) {
	b := c.buf
	if string(b[pos:pos+4]) != string(recordMagic) {
		return 0, "record magic missing"
	}
	size := int(binary.LittleEndian.Uint32(b[pos+4:]))
	if size < minRecordSize || size > chunkSize-pos {
		return 0, fmt.Sprintf("record size %d out of range", size)
	}
	if pos+size > end {
		if pos+size > c.avail {
			return 0, fmt.Sprintf("record of %d bytes truncated (file ends)", size)
		}
		return 0, fmt.Sprintf("record of %d bytes runs past the chunk's data end 0x%x", size, end)
	}
	if binary.LittleEndian.Uint32(b[pos+size-4:]) != uint32(size) {
		return 0, "record size copy mismatch"
	}
	return size, ""
}

func (c *chunkDecode) decodeRecord(pos, size int, recovered bool) {
	if c.limit != nil {
		// The chunk's work or output budget is spent: the rest of its
		// records are counted and reported once, at the end.
		if recovered {
			c.res.carveFailed++
		} else {
			c.res.skipped++
			c.limitSkipped++
		}
		return
	}
	b, le := c.buf, binary.LittleEndian
	head := Event{
		Offset:    c.base + int64(pos),
		RecordNum: le.Uint64(b[pos+8:]),
		Written:   eventTime(le.Uint64(b[pos+16:])),
		Recovered: recovered,
	}
	ev, err := c.w.dec.record(&head, pos+recordHeaderLen, pos+size-4, recovered)
	if err != nil {
		if errors.Is(err, errBudget) || errors.Is(err, errChunkOut) {
			c.limit, c.limitAt = err, pos
			c.decodeRecord(pos, size, recovered) // counted as not decoded
			return
		}
		if recovered {
			// Stale records in slack space often refer to templates that
			// were overwritten: counted, not reported as damage.
			c.res.carveFailed++
			return
		}
		c.res.skipped++
		// The problem is where decoding failed when the decoder says
		// (a FormatError), else at the record.
		var fe *FormatError
		if errors.As(err, &fe) {
			c.res.problems = append(c.res.problems, Problem{Offset: fe.Offset,
				Err: &FormatError{Offset: fe.Offset, Msg: fmt.Sprintf("record %d skipped: %s", head.RecordNum, fe.Msg), Err: fe.Err}})
		} else {
			c.problem(pos, "record %d skipped: %v", head.RecordNum, err)
		}
		return
	}
	if recovered && (ev.RecordID == 0 || ev.Time.IsZero() || len(ev.Fields) == 0) {
		// A shell: what decoded is not a record an analyst could use.
		var missing []string
		if ev.RecordID == 0 {
			missing = append(missing, "no record id")
		}
		if ev.Time.IsZero() {
			missing = append(missing, "no time")
		}
		if len(ev.Fields) == 0 {
			missing = append(missing, "no event data")
		}
		c.problem(pos, "carved record %d (event %d) has %s: not a record, not kept", head.RecordNum, ev.EventID, strings.Join(missing, ", "))
		return
	}
	c.res.events = append(c.res.events, ev)
}

func isZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}
