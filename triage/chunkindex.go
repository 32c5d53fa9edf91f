package triage

import (
	"math"
	"slices"
	"time"

	"github.com/evtriage/evtriage/parser"
)

// chunkIndex records, while a hunt reads, where the events of each host
// are: for each chunk of each input (parser.ChunkOf), the hosts seen in
// it, the range of its event times and how many events were read from it.
// It costs 32 bytes a chunk (64 KiB of log), so that a view that needs
// events the hunt does not keep — the host timeline — reads back only the
// chunks that can hold them (Result.Chunks, parser.Reader.ChunkEvents)
// instead of the hunt keeping events. A ring-wrapped log, whose file order
// is not time order, needs nothing more: each chunk has its own range.
type chunkIndex struct {
	spans []chunkSpan
	more  map[int32][]strID // the other hosts of spans that saw several, by span
	last  map[strID]int32   // each file's last span
	size  map[strID]int64   // each file's size as read
}

// chunkSpan is what the hunt read from one chunk of one file: the events
// it counted (duplicates of records read before are not counted; see
// Result.Duplicates), their first host, and their times as Unix seconds,
// rounded out (min down, max up); min > max when none had a time.
type chunkSpan struct {
	file     strID
	chunk    int32
	host     strID
	records  int32
	min, max int64
}

func newChunkIndex() chunkIndex {
	return chunkIndex{more: map[int32][]strID{}, last: map[strID]int32{}, size: map[strID]int64{}}
}

// add counts one event read from file at off, of host, at t. Events of a
// file come in file order, so each chunk's events come together.
func (x *chunkIndex) add(file strID, off int64, host strID, t time.Time) {
	c := parser.ChunkOf(off)
	if c < 0 {
		return
	}
	i, ok := x.last[file]
	if !ok || x.spans[i].chunk != int32(c) {
		i = int32(len(x.spans))
		x.spans = append(x.spans, chunkSpan{file: file, chunk: int32(c), host: host, min: math.MaxInt64, max: math.MinInt64})
		x.last[file] = i
	}
	s := &x.spans[i]
	if s.records < math.MaxInt32 {
		s.records++
	}
	if host != s.host && !slices.Contains(x.more[i], host) {
		x.more[i] = append(x.more[i], host)
	}
	if !t.IsZero() {
		lo, hi := t.Unix(), t.Unix()
		if t.Nanosecond() > 0 && hi < math.MaxInt64 {
			hi++
		}
		s.min, s.max = min(s.min, lo), max(s.max, hi)
	}
}

// snapshot copies the index for a Result.
func (x *chunkIndex) snapshot(strs []string) chunkRefs {
	more := make(map[int32][]strID, len(x.more))
	for k, v := range x.more {
		more[k] = slices.Clone(v)
	}
	size := make(map[string]int64, len(x.size))
	for f, n := range x.size {
		size[strs[f]] = n
	}
	return chunkRefs{spans: slices.Clone(x.spans), more: more, size: size, strs: strs}
}

// chunkRefs is a Result's copy of the chunk index.
type chunkRefs struct {
	spans []chunkSpan
	more  map[int32][]strID
	size  map[string]int64
	strs  []string
}

// ChunkRef is a chunk of an input that holds events of a host in a time
// range, as Result.Chunks finds it: where to read them back
// (parser.Reader.ChunkEvents).
type ChunkRef struct {
	File  string // Source.Path
	Chunk int    // parser.ChunkOf
	// Records counts the events of the chunk the hunt read (every host's,
	// duplicates of records read before not counted).
	Records int
	// First and Last bound its events' times (to the second, rounded
	// out).
	First, Last time.Time
}

// Chunks lists the chunks of the inputs that hold events of host whose
// time range overlaps [from, to] (a zero bound is open), in the order the
// hunt read them. A chunk is listed when any of its events names host, so
// it may hold other hosts' events and events outside the range too: the
// reader filters.
func (r *Result) Chunks(host string, from, to time.Time) []ChunkRef {
	x := &r.chunks
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if !from.IsZero() {
		lo = from.Unix()
	}
	if !to.IsZero() {
		hi = to.Unix()
		if to.Nanosecond() > 0 && hi < math.MaxInt64 {
			hi++
		}
	}
	var out []ChunkRef
	for i, s := range x.spans {
		if s.min > s.max || s.max < lo || s.min > hi {
			continue
		}
		if x.strs[s.host] != host && !slices.ContainsFunc(x.more[int32(i)], func(h strID) bool { return x.strs[h] == host }) {
			continue
		}
		out = append(out, ChunkRef{File: x.strs[s.file], Chunk: int(s.chunk), Records: int(s.records),
			First: time.Unix(s.min, 0).UTC(), Last: time.Unix(s.max, 0).UTC()})
	}
	return out
}

// InputSize returns the size an input had when the hunt read it, and
// whether it read the input (a reader of it later can tell the file
// changed since).
func (r *Result) InputSize(file string) (int64, bool) {
	n, ok := r.chunks.size[file]
	return n, ok
}
