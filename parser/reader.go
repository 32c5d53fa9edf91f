// Package parser reads Windows XML Event Log (.evtx) files into Events.
//
// It works from the format's public documentation (libyal's "Windows XML
// Event Log (EVTX)" notes and Velocidex's evtx_format.md) and uses only the
// standard library. A Reader walks the file in 64 KiB chunks, decodes the
// binary XML of every record (templates, substitutions, nested binary XML,
// template-less records) straight into Event values, and decodes chunks in
// parallel while delivering events in file order.
//
// Evidence may be damaged or crafted: the Reader never trusts a length,
// count or offset it has not checked against the bytes present, caps nesting
// depth, template arguments and decoding work per chunk, verifies the file
// header and chunk CRCs, and reports every part it cannot read as a Problem
// while carrying on with the rest. With Options.Carve it also recovers
// records from chunk slack space and from chunks whose header is damaged.
//
// Reader.EventsXML and Reader.XMLAt give records as Windows renders them in
// XML; Reader.EventAt reads one event back by its offset. A Follower
// follows a log while it is written; a Writer writes events as a log, and a
// LiveWriter grows one in place as the Windows event log service does.
package parser

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/maphash"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"

	"github.com/evtriage/evtriage/internal/infile"
)

// Format constants.
const (
	fileHeaderSize  = 0x1000  // the file header block; the first chunk follows it
	chunkSize       = 0x10000 // every chunk is 64 KiB
	chunkHeaderSize = 0x200   // chunk header incl. string and template tables
	recordHeaderLen = 24      // magic, size, record number, written time
	minRecordSize   = 28      // header plus trailing size copy
)

var (
	fileMagic   = []byte("ElfFile\x00")
	chunkMagic  = []byte("ElfChnk\x00")
	recordMagic = []byte{0x2a, 0x2a, 0x00, 0x00}
)

// ErrStop may be returned by the function passed to Reader.Events to stop
// reading early; Events then returns nil.
var ErrStop = errors.New("parser: stop")

// ErrNotEVTX is wrapped by the error NewReader returns when the input holds
// neither a file header nor a chunk.
var ErrNotEVTX = errors.New("parser: not an evtx file")

// FormatError reports malformed data at an offset of the file, like
// debug/elf.FormatError. Problems carry it.
type FormatError struct {
	Offset int64  // byte offset in the file
	Msg    string // what is wrong (it includes Err's text)
	Err    error  // the error behind it, if any (a decoding limit); see Unwrap
}

func (e *FormatError) Error() string {
	return "parser: " + e.Msg + " at offset 0x" + strconv.FormatInt(e.Offset, 16)
}

// Unwrap returns the error behind this one, if any.
func (e *FormatError) Unwrap() error { return e.Err }

// formatErrorf returns a *FormatError at off.
func formatErrorf(off int64, format string, args ...any) *FormatError {
	return &FormatError{Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// Problem is a part of the input that could not be read (or was read with a
// doubt, such as a CRC mismatch): where, and the error. Err is a
// *FormatError at Offset for malformed data (errors.As finds it), or the
// error reading the file gave.
type Problem struct {
	Offset int64 // byte offset in the file
	Err    error
}

// Reason says what is wrong, without the offset: the FormatError's
// message, or the error's text.
func (p Problem) Reason() string {
	var fe *FormatError
	switch {
	case p.Err == nil:
		return ""
	case errors.As(p.Err, &fe) && fe.Offset == p.Offset:
		return fe.Msg
	}
	return p.Err.Error()
}

// String gives the offset once, then the reason: "offset 0x11000: chunk
// header magic missing; chunk skipped". A problem with the input as a whole
// (it could not be opened or found: offset 0 and no *FormatError) is its
// reason alone.
func (p Problem) String() string {
	var fe *FormatError
	if p.Offset == 0 && !errors.As(p.Err, &fe) {
		return p.Reason()
	}
	return "offset 0x" + strconv.FormatInt(p.Offset, 16) + ": " + p.Reason()
}

// MarshalJSON writes {"offset": …, "reason": …}, the form exports and
// `evtriage stats` give.
func (p Problem) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Offset int64  `json:"offset"`
		Reason string `json:"reason"`
	}{p.Offset, p.Reason()})
}

// UnmarshalJSON reads what MarshalJSON writes (an export's problems read
// back): the reason becomes a FormatError at the offset, so that Reason
// and String give the same text again.
func (p *Problem) UnmarshalJSON(b []byte) error {
	var v struct {
		Offset int64  `json:"offset"`
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = Problem{Offset: v.Offset}
	if v.Reason != "" {
		p.Err = &FormatError{Offset: v.Offset, Msg: v.Reason}
	}
	return nil
}

// problemAt is a Problem for malformed data at off.
func problemAt(off int64, format string, args ...any) Problem {
	return Problem{Offset: off, Err: formatErrorf(off, format, args...)}
}

// MaxWorkers caps Options.Workers.
const MaxWorkers = 256

// Options tunes a Reader. The zero value is valid: GOMAXPROCS workers, no
// problem callback, no carving.
type Options struct {
	// Workers is the number of chunks decoded in parallel; 0 means
	// GOMAXPROCS. With 1, chunks are decoded on the calling goroutine. It
	// is capped to the number of chunks and to MaxWorkers.
	Workers int
	// OnProblem, if set, is called from the goroutine running Events, in
	// file order, for every problem as it is found.
	OnProblem func(Problem)
	// Carve recovers records from chunk slack space (after the last record)
	// and from chunks whose header is damaged; such events have Recovered
	// set. A carved record whose record number lies in the range of an
	// intact chunk, that was already carved, or that is identical to a
	// live record read before it (same EventRecordID, time and content) is
	// counted in Stats.Duplicates and not delivered. A carved candidate
	// that decodes to no record (no EventRecordID, no time or no event
	// data) is a Problem, never an event. Off by default in the library;
	// the evtriage commands turn it on.
	Carve bool
}

// Stats summarises what a Reader found. Counts cover the Events calls made
// so far (a full pass when Events ran to the end).
type Stats struct {
	Version      string // file format version, "major.minor" (e.g. "3.1")
	Dirty        bool   // file header flag 0x1: the log was not closed cleanly
	Full         bool   // file header flag 0x2: the log is full
	HeaderChunks int    // chunk count stated in the file header (not trusted)
	Chunks       int    // chunks present in the file (64 KiB blocks walked)
	EmptyChunks  int    // all-zero (unused) chunks among them
	BadChunks    int    // chunks whose header could not be used
	Records      int    // events delivered, including recovered ones
	Recovered    int    // events carved from slack space or damaged chunks
	Duplicates   int    // carved records dropped as copies of other records (see Options.Carve)
	Skipped      int    // records found but not decodable (each is a Problem)
	CarveFailed  int    // carved record frames whose content did not decode (stale slack)
	Problems     int    // problems reported (Problems lists the first 10,000)
}

// Reader reads events from an EVTX file held by an io.ReaderAt. It keeps no
// seek position, so the same ReaderAt may be shared with other readers. A
// Reader is meant for one Events call at a time.
type Reader struct {
	r    io.ReaderAt
	size int64
	opts Options

	version      string
	dirty, full  bool
	headerChunks int
	headerOK     bool // file header present and magic valid
	headerProbs  []Problem

	mu       sync.Mutex
	problems []Problem
	stats    Stats

	at atCache // EventAt and XMLAt
}

// NewReader returns a Reader for the size bytes of r. It fails only when the
// input cannot be EVTX at all (no file header and no chunk where the first
// one belongs); damage past that is reported as problems while reading.
func NewReader(r io.ReaderAt, size int64, opts Options) (*Reader, error) {
	if size < 0 {
		return nil, fmt.Errorf("parser: negative size %d", size)
	}
	rd := &Reader{r: r, size: size, opts: opts, version: "?"}
	hdr := make([]byte, min(int64(fileHeaderSize), size))
	if _, err := r.ReadAt(hdr, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parser: read file header: %w", err)
	}
	if len(hdr) >= 8 && string(hdr[:8]) == string(fileMagic) {
		rd.headerOK = true
		if len(hdr) < 0x80 {
			rd.headerProbs = append(rd.headerProbs, problemAt(0, "file header truncated"))
		} else {
			le := binary.LittleEndian
			minor, major := le.Uint16(hdr[0x24:]), le.Uint16(hdr[0x26:])
			rd.version = strconv.Itoa(int(major)) + "." + strconv.Itoa(int(minor))
			if major != 3 || (minor != 1 && minor != 2) {
				rd.headerProbs = append(rd.headerProbs, problemAt(0x24, "unknown format version %s", rd.version))
			}
			rd.headerChunks = int(le.Uint16(hdr[0x2a:]))
			flags := le.Uint32(hdr[0x78:])
			rd.dirty = flags&1 != 0
			rd.full = flags&2 != 0
			if got, want := crc32.ChecksumIEEE(hdr[:0x78]), le.Uint32(hdr[0x7c:]); got != want {
				rd.headerProbs = append(rd.headerProbs, problemAt(0x7c, "file header CRC mismatch (stored 0x%08x, computed 0x%08x)", want, got))
			}
		}
	} else {
		// No file header: accept the input only if a chunk sits where the
		// first one belongs (a log whose first block was wiped).
		var m [8]byte
		if size < fileHeaderSize+8 {
			return nil, fmt.Errorf("%w: no file header", ErrNotEVTX)
		}
		if _, err := r.ReadAt(m[:], fileHeaderSize); err != nil || string(m[:]) != string(chunkMagic) {
			return nil, fmt.Errorf("%w: no file header", ErrNotEVTX)
		}
		rd.headerProbs = append(rd.headerProbs, problemAt(0, "file header magic missing; reading chunks"))
	}
	if size < fileHeaderSize {
		rd.headerProbs = append(rd.headerProbs, problemAt(size, "file ends inside the file header; no chunks"))
	}
	rd.stats.Version, rd.stats.Dirty, rd.stats.Full, rd.stats.HeaderChunks = rd.version, rd.dirty, rd.full, rd.headerChunks
	return rd, nil
}

// File is a Reader over an open file.
type File struct {
	*Reader
	f *os.File
}

// Open opens the file at path read-only and returns a Reader for it. A
// path that is not a regular file (a pipe, socket, device or folder) is
// refused at once (infile.ErrNotRegular). On Windows the file is shared for
// reading, writing and deleting, so that a live log stays usable by the
// event log service (infile.Open).
func Open(path string, opts Options) (*File, error) {
	f, fi, err := openLog(path)
	if err != nil {
		return nil, err
	}
	r, err := NewReader(f, fi.Size(), opts)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return &File{Reader: r, f: f}, nil
}

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }

// openLog opens the regular file at path read-only (infile.Open) and
// returns it with what it is.
func openLog(path string) (*os.File, os.FileInfo, error) {
	f, err := infile.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("parser: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("parser: %w", err)
	}
	return f, fi, nil
}

// Problems returns the problems found so far, in file order: all of them,
// or the first 10,000 when there are more (Stats.Problems counts all).
func (r *Reader) Problems() []Problem {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Problem(nil), r.problems...)
}

// Stats returns what the Reader has found so far.
func (r *Reader) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// numChunks is the number of (possibly partial) chunks the file holds.
func (r *Reader) numChunks() int {
	if r.size <= fileHeaderSize {
		return 0
	}
	return int((r.size - fileHeaderSize + chunkSize - 1) / chunkSize)
}

// maxListed bounds the problems a Reader keeps for Problems; all of them
// still go to Options.OnProblem and are counted in Stats.Problems.
const maxListed = 10000

func (r *Reader) report(p Problem) {
	r.mu.Lock()
	if len(r.problems) < maxListed {
		r.problems = append(r.problems, p)
	}
	r.stats.Problems++
	r.mu.Unlock()
	if r.opts.OnProblem != nil {
		r.opts.OnProblem(p)
	}
}

// Events calls fn with every event in file order. Each *Event is freshly
// allocated and may be retained. An event costs two allocations: the Event
// together with its Fields, and one string holding all its field values.
// So keeping one value keeps that event's values alive, keeping the Event
// or its Fields keeps both, and nothing keeps other events or the chunk
// alive (per-chunk slabs would be faster but would let one retained event
// pin a whole chunk's worth of events). Events stops when fn returns an error
// (returned as is, or nil for ErrStop) or when ctx ends (ctx.Err()).
// Problems are reported through Options.OnProblem as they are met and
// collected in Problems.
func (r *Reader) Events(ctx context.Context, fn func(*Event) error) error {
	return r.run(ctx, &deliverer{r: r, fn: fn})
}

// EventsXML is Events that also gives each event's XML, as XMLAt renders
// it (see XMLAt). The XML is only valid during the call to fn; it is nil
// for an event whose XML could not be rendered (reported as a problem).
func (r *Reader) EventsXML(ctx context.Context, fn func(ev *Event, xml []byte) error) error {
	return r.run(ctx, &deliverer{r: r, xfn: fn})
}

func (r *Reader) run(ctx context.Context, d *deliverer) error {
	r.mu.Lock()
	r.problems = r.problems[:0]
	r.stats = Stats{Version: r.version, Dirty: r.dirty, Full: r.full, HeaderChunks: r.headerChunks}
	r.mu.Unlock()
	for _, p := range r.headerProbs {
		r.report(p)
	}
	n := r.numChunks()
	var cov *coverage
	if r.opts.Carve {
		cov = r.scanCoverage(n)
	}
	d.cov = cov
	if cov != nil {
		d.seed = maphash.MakeSeed()
	}
	workers := r.opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, n, MaxWorkers) // each worker holds buffers: no more than there is work for
	var err error
	if workers == 1 || n <= 1 {
		err = r.sequential(ctx, n, d)
	} else {
		err = r.parallel(ctx, n, workers, d)
	}
	if errors.Is(err, ErrStop) {
		return nil
	}
	return err
}

func (r *Reader) sequential(ctx context.Context, n int, d *deliverer) error {
	free := make(chan *chunkResult, 1)
	w := newWorker(r, free)
	w.xml = d.xfn != nil
	for i := 0; i < n; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		res := w.chunk(i)
		if err := d.deliver(res); err != nil {
			return err
		}
		recycle(free, res)
	}
	return nil
}

// parallel decodes chunks on workers goroutines and delivers results in
// order; at most 2*workers+2 chunk results are in flight.
func (r *Reader) parallel(ctx context.Context, n, workers int, d *deliverer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type job struct {
		idx int
		out chan *chunkResult
	}
	jobs := make(chan job)
	order := make(chan chan *chunkResult, 2*workers+2)
	free := make(chan *chunkResult, 2*workers+4)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := newWorker(r, free)
			w.xml = d.xfn != nil
			for j := range jobs {
				if ctx.Err() != nil {
					j.out <- nil
					continue
				}
				j.out <- w.chunk(j.idx)
			}
		}()
	}
	go func() {
		defer close(order)
		defer close(jobs)
		for i := 0; i < n; i++ {
			out := make(chan *chunkResult, 1)
			select {
			case order <- out:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- job{i, out}:
			case <-ctx.Done():
				out <- nil
				return
			}
		}
	}()
	var err error
	for out := range order {
		res := <-out
		if err != nil || res == nil {
			continue
		}
		if err = d.deliver(res); err == nil {
			err = ctx.Err()
		}
		recycle(free, res)
		if err != nil {
			cancel()
		}
	}
	wg.Wait()
	if err == nil {
		err = ctx.Err()
	}
	return err
}

// deliverer hands one chunk's results to the caller, in offset order, and
// keeps the counts.
type deliverer struct {
	r      *Reader
	fn     func(*Event) error
	xfn    func(*Event, []byte) error // instead of fn (EventsXML)
	cov    *coverage
	carved map[uint64]bool
	// uncovered holds the fingerprints of the live records delivered from
	// chunks the coverage does not vouch for (a damaged header), so that
	// a carved copy of one is known; live records of intact chunks need
	// none (their record numbers are in the coverage).
	uncovered map[uint64]struct{}
	seed      maphash.Seed
}

// fingerprint hashes what makes two records the same record: the
// EventRecordID, the time and the content.
func (d *deliverer) fingerprint(ev *Event) uint64 {
	var h maphash.Hash
	h.SetSeed(d.seed)
	var b [26]byte
	binary.LittleEndian.PutUint64(b[0:], ev.RecordID)
	binary.LittleEndian.PutUint64(b[8:], uint64(ev.Time.Unix()))
	binary.LittleEndian.PutUint32(b[16:], uint32(ev.Time.Nanosecond()))
	binary.LittleEndian.PutUint16(b[20:], ev.EventID)
	binary.LittleEndian.PutUint32(b[22:], uint32(len(ev.Fields)))
	h.Write(b[:])
	for _, s := range []string{ev.Provider, ev.Channel, ev.Computer, ev.UserID} {
		h.WriteString(s)
		h.WriteByte(0)
	}
	for _, f := range ev.Fields {
		h.WriteString(f.Name)
		h.WriteByte(0)
		h.WriteString(f.Value)
		h.WriteByte(0)
	}
	return h.Sum64()
}

func (d *deliverer) deliver(res *chunkResult) error {
	r := d.r
	r.mu.Lock()
	r.stats.Chunks++
	r.stats.Skipped += res.skipped
	r.stats.CarveFailed += res.carveFailed
	if res.empty {
		r.stats.EmptyChunks++
	}
	if res.bad {
		r.stats.BadChunks++
	}
	r.mu.Unlock()
	// Event counts are kept locally and added once per chunk.
	var records, recovered, dups int
	defer func() {
		r.mu.Lock()
		r.stats.Records += records
		r.stats.Recovered += recovered
		r.stats.Duplicates += dups
		r.mu.Unlock()
	}()
	pi := 0
	for i, ev := range res.events {
		for pi < len(res.problems) && res.problems[pi].Offset <= ev.Offset {
			r.report(res.problems[pi])
			pi++
		}
		switch {
		case ev.Recovered:
			if d.cov.covers(ev.RecordNum) || d.carved[ev.RecordNum] {
				dups++
				continue
			}
			if _, same := d.uncovered[d.fingerprint(ev)]; same {
				dups++
				continue
			}
			if d.carved == nil {
				d.carved = make(map[uint64]bool)
			}
			d.carved[ev.RecordNum] = true
			recovered++
		case d.cov != nil && !d.cov.covers(ev.RecordNum):
			if d.uncovered == nil {
				d.uncovered = make(map[uint64]struct{})
			}
			d.uncovered[d.fingerprint(ev)] = struct{}{}
		}
		records++
		var err error
		if d.xfn != nil {
			err = d.xfn(ev, res.eventXML(i))
		} else {
			err = d.fn(ev)
		}
		if err != nil {
			return err
		}
	}
	for ; pi < len(res.problems); pi++ {
		r.report(res.problems[pi])
	}
	return nil
}

// coverage holds the record-number ranges of chunks whose header is intact;
// a carved record inside one of them is a copy of a live record. The
// ranges are sorted and merged (seal) so that covers, asked for every
// record, is a binary search, not a walk over every chunk.
type coverage struct {
	ranges [][2]uint64
}

// seal sorts the ranges by their first record number and merges those
// that overlap or touch, leaving disjoint ranges in order.
func (c *coverage) seal() {
	slices.SortFunc(c.ranges, func(a, b [2]uint64) int { return cmp.Compare(a[0], b[0]) })
	out := c.ranges[:0]
	for _, rg := range c.ranges {
		if n := len(out); n > 0 && (rg[0] <= out[n-1][1] || rg[0]-out[n-1][1] == 1) {
			out[n-1][1] = max(out[n-1][1], rg[1])
			continue
		}
		out = append(out, rg)
	}
	c.ranges = out
}

func (c *coverage) covers(num uint64) bool {
	if c == nil {
		return false
	}
	// The first range that starts after num; the one before it is the
	// only one that may hold num.
	i, _ := slices.BinarySearchFunc(c.ranges, num, func(rg [2]uint64, n uint64) int {
		if rg[0] <= n {
			return -1
		}
		return 1
	})
	return i > 0 && num <= c.ranges[i-1][1]
}

// scanCoverage reads every chunk header (512 bytes each) and keeps the
// ranges of those with valid magic and header CRC.
func (r *Reader) scanCoverage(n int) *coverage {
	c := &coverage{}
	hdr := make([]byte, chunkHeaderSize)
	for i := 0; i < n; i++ {
		off := int64(fileHeaderSize) + int64(i)*chunkSize
		if off+chunkHeaderSize > r.size {
			break
		}
		if _, err := r.r.ReadAt(hdr, off); err != nil {
			continue
		}
		if string(hdr[:8]) != string(chunkMagic) || !chunkHeaderCRCOK(hdr) {
			continue
		}
		le := binary.LittleEndian
		first, last := le.Uint64(hdr[0x08:]), le.Uint64(hdr[0x10:])
		if last < first || last-first > chunkSize/minRecordSize {
			continue
		}
		c.ranges = append(c.ranges, [2]uint64{first, last})
	}
	c.seal()
	return c
}

func chunkHeaderCRCOK(hdr []byte) bool {
	h := crc32.NewIEEE()
	h.Write(hdr[:0x78])
	h.Write(hdr[0x80:chunkHeaderSize])
	return h.Sum32() == binary.LittleEndian.Uint32(hdr[0x7c:])
}
