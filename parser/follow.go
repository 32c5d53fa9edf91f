package parser

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"slices"
	"time"
)

// Following a growing log.
//
// The Windows event log service writes a log in place: it appends each
// record inside the current chunk and then rewrites that chunk's header
// (last record number, free-space offset, both CRCs), starts a new 64 KiB
// chunk when one is full, and once the log reaches its maximum size
// overwrites the oldest chunk (a ring). A Follower polls such a file: it
// reads the chunk headers only, decodes only chunks that hold records it
// has not delivered, and delivers each record once, in record-number
// order, however the chunks lie in the file.
//
// A chunk can be read between two of the writer's steps: a header whose CRC
// does not match yet, or records newer than the header that counts them
// (which the Follower does not read yet), or an old header over new
// records (a chunk being overwritten). Such a chunk is "not ready": it is
// read again at the next poll, and records numbered after its own wait for
// it. Only a chunk that stays inconsistent and unchanged for
// FollowOptions.Settle polls (or inconsistent for MaxWait polls while it
// keeps changing) is reported as damaged; its readable records are then
// delivered as the Reader delivers a damaged chunk's.

// ErrReplaced is returned by Follower.Poll and Run when the followed file
// was replaced: a different file now has its name (rotated, cleared and
// recreated) or its records were rewritten with older record numbers. What
// could still be read from the old file was delivered first. Read the path
// again as a new file.
var ErrReplaced = errors.New("parser: followed log was replaced")

// FollowOptions tunes a Follower. The zero value is valid.
type FollowOptions struct {
	// Settle is how many polls in a row a chunk may be inconsistent and
	// unchanged (a writer stopped between two writes) before it is
	// reported as damaged; 0 means 3 (1.5 s at the usual 500 ms).
	Settle int
	// MaxWait is how many polls in a row a chunk may be inconsistent while
	// it keeps changing before it is reported as damaged; 0 means 20.
	MaxWait int
	// Sweep: every Sweep polls, every chunk header is read; in between,
	// only the chunks that can have changed are (the one being written, the
	// next ones in ring order, those not ready). 0 means 16.
	Sweep int
	// OnProblem, if set, is called for every problem, once: a chunk
	// reported as damaged, a record that cannot be decoded, a record out
	// of order. Problems are counted in FollowStats.Problems either way.
	OnProblem func(Problem)
	// OnLost, if set, is called for every range of records that were
	// overwritten before they could be read (the log wrapped faster than
	// it was polled). Lost records are counted in FollowStats.Lost.
	OnLost func(Lost)
}

// Lost is a range of records a Follower could not deliver because the log
// overwrote them before they were read.
type Lost struct {
	// First and Last are record numbers, which are the EventRecordIDs in a
	// live log (they differ only in exported or filtered files).
	First, Last uint64
}

// Count is the number of records lost.
func (l Lost) Count() uint64 { return l.Last - l.First + 1 }

// FollowStats is what a Follower has seen so far.
type FollowStats struct {
	Polls    int
	Events   int    // events delivered
	Lost     uint64 // records overwritten before they were read
	Problems int    // problems reported
	Waiting  int    // chunks not ready at the last poll
	Chunks   int    // whole chunks in the file at the last poll
	Size     int64  // file size at the last poll
	Dirty    bool   // file header flag 0x1 at the last poll (the log is open)
	Wrapped  bool   // the log has wrapped: file order is not record order
	// Start is the first record number the Follower delivered (older
	// records were overwritten before its first poll); Next is the next
	// record number it expects (0 before the first).
	Start, Next uint64
}

// chunkState is what a Follower keeps per chunk (a few dozen bytes): its
// header's fingerprint and what it said, whether it is ready, and how far
// its records were delivered.
type chunkState struct {
	fp      uint32 // CRC32 of the 512 header bytes last read
	readFP  uint32 // fp when the chunk was last read whole
	badFP   uint32 // what was seen when it was last not ready (header and data)
	checked int    // the poll that last read the header
	empty   bool   // all zero: not used yet
	hdrOK   bool   // the header is consistent: first..last are known
	pending bool   // inconsistent at the last look: not ready
	damaged bool   // reported as damaged: read as it is (this incarnation)
	waits   int    // polls in a row not ready
	still   int    // of which the header did not change
	first   uint64 // record numbers in the chunk (hdrOK, or learnt when damaged)
	last    uint64
	free    uint32 // free-space offset and records CRC (hdrOK)
	dataCRC uint32
	gen     uint64 // first record number of the incarnation done and damaged refer to
	done    int32  // chunk offset up to which records were handled
	hdrSaid bool   // a problem about its header was reported (this incarnation)
}

// Follower follows one growing EVTX file. Create it with NewFollower (any
// io.ReaderAt and a way to learn the current size) or FollowFile (a path),
// then call Poll at an interval, or Run. A Follower keeps a few dozen bytes
// per chunk of the file, one chunk buffer and a decoder, whatever the number
// of records it delivers. It is not safe for concurrent use; it starts no
// goroutines.
type Follower struct {
	r        io.ReaderAt
	size     func() (int64, error)
	replaced func() bool // the path now names another file (FollowFile)
	opts     FollowOptions

	w      *worker
	hdr    []byte
	chunks []chunkState
	cands  []int
	next   uint64 // next record number to deliver; 0 before the first
	cur    int    // index of the chunk holding the newest records
	nextID uint64 // file header's next record number, last read
	stats  FollowStats
	done   bool // ErrReplaced was returned
}

// NewFollower returns a Follower reading r, whose current size size
// returns. Nothing is read before the first Poll, which delivers the
// records already in the file, oldest first (taking as long as reading the
// file does).
func NewFollower(r io.ReaderAt, size func() (int64, error), opts FollowOptions) *Follower {
	if opts.Settle <= 0 {
		opts.Settle = 3
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = 20
	}
	opts.MaxWait = max(opts.MaxWait, opts.Settle)
	if opts.Sweep <= 0 {
		opts.Sweep = 16
	}
	w := &worker{buf: make([]byte, chunkSize), dec: newDecoder()}
	return &Follower{r: r, size: size, opts: opts, w: w, hdr: make([]byte, chunkHeaderSize)}
}

// FileFollower is a Follower of a file opened by path.
type FileFollower struct {
	*Follower
	f *os.File
}

// FollowFile opens the regular file at path read-only, sharing it with
// the writer (on Windows: read, write and delete sharing, so that the event
// log service can go on writing, archiving and replacing it; see
// infile.Open) and follows it. Poll also checks that path still names the
// opened file; when it does not (the log was rotated or recreated), the old
// file is read to its end and ErrReplaced is returned.
func FollowFile(path string, opts FollowOptions) (*FileFollower, error) {
	f, fi, err := openLog(path)
	if err != nil {
		return nil, err
	}
	size := func() (int64, error) {
		fi, err := f.Stat()
		if err != nil {
			return 0, err
		}
		return fi.Size(), nil
	}
	ff := &FileFollower{Follower: NewFollower(f, size, opts), f: f}
	ff.replaced = func() bool {
		now, err := os.Stat(path)
		return err != nil || !os.SameFile(now, fi)
	}
	return ff, nil
}

// Close closes the file.
func (ff *FileFollower) Close() error { return ff.f.Close() }

// Stats returns what the Follower has seen so far.
func (f *Follower) Stats() FollowStats { return f.stats }

// Run polls every interval (the first time at once) until ctx ends (it
// returns ctx.Err()), fn returns an error (returned as is), or the file is
// replaced (ErrReplaced). onPoll, if not nil, is called after each poll.
func (f *Follower) Run(ctx context.Context, interval time.Duration, fn func(*Event) error, onPoll func(FollowStats)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := f.Poll(ctx, fn); err != nil {
			return err
		}
		if onPoll != nil {
			onPoll(f.stats)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (f *Follower) problem(p Problem) {
	f.stats.Problems++
	if f.opts.OnProblem != nil {
		f.opts.OnProblem(p)
	}
}

// Poll reads what changed in the file since the last poll and calls fn
// with each new event, in record-number order. It returns fn's error as
// is, ctx.Err(), ErrReplaced (once the file was replaced, every call
// does), or an error getting the file's size. A chunk that cannot be read
// is not ready; it is reported once it settles (FollowOptions.Settle).
func (f *Follower) Poll(ctx context.Context, fn func(*Event) error) error {
	if f.done {
		return ErrReplaced
	}
	replaced := f.replaced != nil && f.replaced()
	size, err := f.size()
	if err != nil {
		return fmt.Errorf("parser: follow: %w", err)
	}
	f.stats.Polls++
	if size < f.stats.Size || f.readFileHeader(size) {
		f.done = true // truncated or restarted: the old content is gone
		return ErrReplaced
	}
	f.stats.Size = size
	n := 0 // chunks, the last one possibly partial (being extended)
	if size > fileHeaderSize {
		n = int((size - fileHeaderSize + chunkSize - 1) / chunkSize)
		f.stats.Chunks = int((size - fileHeaderSize) / chunkSize)
	}
	old := len(f.chunks)
	for len(f.chunks) < n {
		f.chunks = append(f.chunks, chunkState{})
	}
	if err := f.examine(ctx, old); err != nil {
		if errors.Is(err, ErrReplaced) {
			f.done = true
		}
		return err
	}
	err = f.deliver(ctx, fn)
	f.newest()
	if err != nil {
		return err
	}
	f.stats.Waiting = 0
	for i := range f.chunks {
		if f.chunks[i].pending {
			f.stats.Waiting++
		}
	}
	f.stats.Next = f.next
	if replaced {
		f.done = true
		return ErrReplaced
	}
	return nil
}

// readFileHeader reads the flags and the next record number; it reports
// whether the file was restarted (the next record number went back).
func (f *Follower) readFileHeader(size int64) bool {
	if size < 0x80 {
		return false
	}
	h := f.hdr[:0x80]
	if _, err := f.r.ReadAt(h, 0); err != nil {
		return false
	}
	le := binary.LittleEndian
	if string(h[:8]) != string(fileMagic) || crc32.ChecksumIEEE(h[:0x78]) != le.Uint32(h[0x7c:]) {
		return false // being written, or damaged: the chunks tell
	}
	f.stats.Dirty = le.Uint32(h[0x78:])&1 != 0
	next := le.Uint64(h[0x18:])
	if next < f.nextID {
		return true
	}
	f.nextID = next
	return false
}

// examine reads the headers of the chunks that can have changed (all of
// them at the first poll and every Sweep polls): the chunk being written
// and the next ones in ring order until one is unchanged, chunks new in the
// file (from index old), chunks not ready and chunks with records not
// delivered yet.
func (f *Follower) examine(ctx context.Context, old int) error {
	n := len(f.chunks)
	poll := f.stats.Polls
	if poll == 1 || poll%f.opts.Sweep == 0 {
		for i := range n {
			if err := f.check(ctx, i); err != nil {
				return err
			}
		}
		return nil
	}
	for i, k := f.cur, 0; k < n; i, k = (i+1)%n, k+1 {
		fp := f.chunks[i].fp
		if err := f.check(ctx, i); err != nil {
			return err
		}
		if k > 0 && f.chunks[i].fp == fp {
			break
		}
	}
	for i := range n {
		st := &f.chunks[i]
		if st.checked == poll || !(i >= old || st.pending || st.damaged || st.hdrOK && st.last >= f.next) {
			continue
		}
		if err := f.check(ctx, i); err != nil {
			return err
		}
	}
	return nil
}

// check reads the header of chunk i and updates its state.
func (f *Follower) check(ctx context.Context, i int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	st := &f.chunks[i]
	st.checked = f.stats.Polls
	base := chunkBase(i)
	if base+chunkSize > f.stats.Size {
		// The file ends inside this chunk: it is being extended, or it was
		// cut. Once the size has stayed for Settle polls it is read as
		// the Reader reads a partial chunk.
		f.notReady(st, uint32(f.stats.Size), base, "") // decoding it says so
		return nil
	}
	h := f.hdr
	if _, err := f.r.ReadAt(h, base); err != nil {
		f.notReady(st, st.badFP, base, "read chunk header: "+err.Error())
		return nil
	}
	fp := crc32.ChecksumIEEE(h)
	if fp == st.fp && (st.hdrOK || st.empty) {
		return nil
	}
	st.fp = fp
	st.empty = false
	le := binary.LittleEndian
	first, last, free := le.Uint64(h[0x08:]), le.Uint64(h[0x10:]), le.Uint32(h[0x30:])
	switch {
	case isZero(h):
		if st.hdrOK {
			return ErrReplaced // a live log never empties a chunk
		}
		st.empty, st.pending = true, false
	case string(h[:8]) != string(chunkMagic):
		st.hdrOK = false
		f.notReady(st, fp, base, "chunk header magic missing")
	case !chunkHeaderCRCOK(h):
		st.hdrOK = false
		f.notReady(st, fp, base+0x7c, "chunk header CRC mismatch")
	case last < first || last-first >= maxRecordsPerChunk || free < chunkHeaderSize || free > chunkSize:
		// Consistent (its CRC matches) but unusable: damaged, not torn.
		st.hdrOK = false
		f.settle(st, base+0x10, fmt.Sprintf("chunk header lists records %d to %d ending at 0x%x", first, last, free))
	default:
		dataCRC := le.Uint32(h[0x34:])
		if st.gen != 0 && !st.damaged && (first < st.gen || first == st.gen && st.hdrOK &&
			(last < st.last || last == st.last && free == st.free && dataCRC != st.dataCRC)) {
			// A live log only adds records to a chunk, or replaces them
			// by newer ones: these records were rewritten.
			return ErrReplaced
		}
		st.free, st.dataCRC = free, dataCRC
		if first != st.gen {
			// A new chunk, or the ring overwrote this one.
			st.gen, st.done, st.damaged, st.hdrSaid = first, chunkHeaderSize, false, false
		}
		st.hdrOK = true
		st.first, st.last = first, last
	}
	return nil
}

// notReady counts a poll where chunk st was inconsistent; seen
// fingerprints what was seen (the header, and the records when they were
// read), so that a chunk a writer keeps changing is told from one that
// stays as it is. Once it settles, it is damaged.
func (f *Follower) notReady(st *chunkState, seen uint32, off int64, reason string) {
	if st.damaged {
		return // read as it is
	}
	if !st.pending {
		st.waits, st.still = 0, 0
	}
	if !st.pending || seen != st.badFP {
		st.still = 0
	}
	st.pending = true
	st.badFP = seen
	st.waits++
	st.still++
	if st.still >= f.opts.Settle || st.waits >= f.opts.MaxWait {
		if reason != "" {
			reason = fmt.Sprintf("%s for %d polls", reason, st.waits)
		}
		f.settle(st, off, reason)
	}
}

// settle reports chunk st as damaged (once per incarnation, unless reason
// is empty: decoding it will say what is wrong): from now on it is read as
// it is, as the Reader reads a damaged chunk.
func (f *Follower) settle(st *chunkState, off int64, reason string) {
	st.pending = false
	if !st.damaged {
		st.damaged = true
		st.readFP = st.fp + 1 // read it
		if reason != "" {
			f.problem(problemAt(off, "%s; reading the chunk as it is", reason))
		}
	}
}

// deliver walks the chunks that hold records not delivered yet, in
// record-number order, and delivers their new records; it stops at a gap
// that a chunk not ready may fill, and at a chunk not ready.
func (f *Follower) deliver(ctx context.Context, fn func(*Event) error) error {
	cands := f.cands[:0]
	unknown := false // a chunk not ready whose records are unknown
	for i := range f.chunks {
		st := &f.chunks[i]
		switch {
		case st.damaged && !st.hdrOK && st.fp != st.readFP:
			// Its records show only when it is read: learn their range.
			f.learnRange(i)
			cands = append(cands, i)
		case st.pending && !st.hdrOK:
			unknown = true
		case (st.hdrOK || st.damaged) && st.last >= f.next && st.gen != 0:
			cands = append(cands, i)
		}
	}
	f.cands = cands
	slices.SortFunc(cands, func(a, b int) int { return cmp.Compare(f.chunks[a].first, f.chunks[b].first) })
	for _, i := range cands {
		if err := ctx.Err(); err != nil {
			return err
		}
		st := &f.chunks[i]
		if st.last < f.next && f.next != 0 {
			continue
		}
		if unknown && (f.next == 0 || st.first > f.next) {
			return nil // the gap may be in a chunk not ready yet
		}
		if f.next != 0 && st.first > f.next {
			f.lost(f.next, st.first-1)
		}
		ready, err := f.readChunk(i, fn)
		if err != nil || !ready {
			return err // not ready: what follows waits for it
		}
	}
	return nil
}

// newest points cur at the chunk holding the newest records, and notes
// whether the log has wrapped (a chunk holds newer records than one after
// it in the file).
func (f *Follower) newest() {
	var top, prev uint64
	for i := range f.chunks {
		st := &f.chunks[i]
		if st.gen == 0 {
			continue
		}
		if st.last >= top {
			top, f.cur = st.last, i
		}
		if st.first < prev {
			f.stats.Wrapped = true
		}
		prev = st.first
	}
}

// learnRange decodes a damaged chunk without a usable header to learn the
// record numbers it holds.
func (f *Follower) learnRange(i int) {
	st := &f.chunks[i]
	st.first, st.last = 0, 0
	res := f.decode(i)
	if res == nil || len(res.events) == 0 {
		st.gen = 0
		return
	}
	st.first, st.last = res.events[0].RecordNum, res.events[0].RecordNum
	for _, ev := range res.events {
		st.first, st.last = min(st.first, ev.RecordNum), max(st.last, ev.RecordNum)
	}
	if st.gen != st.first {
		st.gen, st.done = st.first, 0
	}
}

// decode reads chunk i and decodes it as the Reader does.
func (f *Follower) decode(i int) *chunkResult {
	base := chunkBase(i)
	n, err := f.r.ReadAt(f.w.buf, base)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil
	}
	res := &chunkResult{}
	f.w.decodeChunk(res, base, f.w.buf, n)
	return res
}

func (f *Follower) lost(first, last uint64) {
	l := Lost{First: first, Last: last}
	f.stats.Lost += l.Count()
	if f.opts.OnLost != nil {
		f.opts.OnLost(l)
	}
	f.next = last + 1
}

// readChunk reads chunk i whole and, unless it is damaged, checks that it
// is consistent with itself; then it delivers its records numbered f.next
// and later, in order. It reports false when the chunk is not ready.
func (f *Follower) readChunk(i int, fn func(*Event) error) (bool, error) {
	st := &f.chunks[i]
	base := chunkBase(i)
	buf := f.w.buf
	n, err := f.r.ReadAt(buf, base)
	if err != nil && !errors.Is(err, io.EOF) || n < chunkHeaderSize {
		f.notReady(st, st.badFP, base, "read chunk: "+errString(err))
		if st.damaged {
			st.readFP = st.fp // reported; nothing to read in it
		}
		return st.damaged, nil
	}
	h := buf[:chunkHeaderSize]
	if !st.damaged {
		le := binary.LittleEndian
		reason, off := "", int64(0)
		free := int(le.Uint32(h[0x30:]))
		data := uint32(0)
		switch {
		case string(h[:8]) != string(chunkMagic):
			reason = "chunk header magic missing"
		case !chunkHeaderCRCOK(h):
			reason, off = "chunk header CRC mismatch", 0x7c
		case le.Uint64(h[0x08:]) != st.gen:
			reason = "chunk rewritten while read"
		case free < chunkHeaderSize || free > n:
			reason, off = "chunk free-space offset out of range", 0x30
		default:
			if data = crc32.ChecksumIEEE(buf[chunkHeaderSize:free]); data != le.Uint32(h[0x34:]) {
				reason, off = "chunk data CRC mismatch", 0x34
			}
		}
		if reason != "" {
			f.notReady(st, crc32.ChecksumIEEE(h)^data, base+off, reason)
			if !st.damaged {
				return false, nil
			}
		} else {
			st.pending = false
			st.last = le.Uint64(h[0x10:])
		}
	}
	st.readFP = crc32.ChecksumIEEE(h)
	res := &chunkResult{}
	f.w.decodeChunk(res, base, buf, n)
	pi := 0
	for _, ev := range res.events {
		for ; pi < len(res.problems) && res.problems[pi].Offset <= ev.Offset; pi++ {
			f.chunkProblem(st, base, res.problems[pi])
		}
		pos := int32(ev.Offset - base)
		if pos < st.done {
			continue // handled at an earlier poll
		}
		st.done = pos + 1
		if f.next != 0 && ev.RecordNum < f.next {
			f.problem(problemAt(ev.Offset, "record %d out of order (after %d); not delivered", ev.RecordNum, f.next-1))
			continue
		}
		if f.stats.Start == 0 {
			f.stats.Start = ev.RecordNum
		}
		f.next = ev.RecordNum + 1
		f.stats.Events++
		if err := fn(ev); err != nil {
			return true, err
		}
	}
	for ; pi < len(res.problems); pi++ {
		f.chunkProblem(st, base, res.problems[pi])
	}
	if st.hdrOK && !st.damaged && st.last >= f.next {
		// Records the header lists that did not decode were reported.
		f.next = st.last + 1
	}
	return true, nil
}

// chunkProblem reports a problem found decoding a chunk, once: one about a
// record as the walk passes it, one about the header once per incarnation
// (none for a damaged chunk: settling reported it).
func (f *Follower) chunkProblem(st *chunkState, base int64, p Problem) {
	pos := int32(p.Offset - base)
	switch {
	case pos >= chunkHeaderSize && pos < st.done-1:
		return // reported at an earlier poll
	case pos < chunkHeaderSize && (st.hdrSaid || st.damaged):
		return
	case pos < chunkHeaderSize:
		st.hdrSaid = true
	}
	f.problem(p)
}

func errString(err error) string {
	if err == nil {
		return "short read"
	}
	return err.Error()
}
