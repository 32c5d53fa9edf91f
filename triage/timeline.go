package triage

import (
	"cmp"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/evtriage/evtriage/parser"
)

// A host timeline is every event of one host in a time window, whatever
// its log: logons, services, PowerShell, Defender as well as processes.
// The hunt keeps none of these events; it keeps where they are (the chunk
// index, Result.Chunks), and ReadTimeline reads back the chunks that can
// hold them, so that memory follows the window, never the log.

// DefaultTimelineMax is how many events a timeline holds at most by
// default (TimelineQuery.Max).
const DefaultTimelineMax = 5000

// maxTimelineKeys bounds the record keys ReadTimeline keeps to count the
// window's events once each (8 bytes a key); past it, Total is a lower
// bound (Timeline.TotalExact is false).
const maxTimelineKeys = 1 << 21

// TimelineQuery asks for the events of one host in a time window.
type TimelineQuery struct {
	Host     string    // Computer, as Result.Hosts names it ("" is the events that name none)
	From, To time.Time // the window, both included
	// Center is where the window is looked at from: when it holds more
	// than Max events, the Max nearest to Center are kept.
	Center time.Time
	Max    int // 0: DefaultTimelineMax
}

// TimelineEvent is one event read back, with the Result's findings on it.
type TimelineEvent struct {
	EventRef
	Findings []*Finding // in Result order; nil for none
}

// Timeline is what ReadTimeline read back.
type Timeline struct {
	Query TimelineQuery
	// Events are in time order, then input order (Result.Sources) and
	// offset.
	Events []TimelineEvent
	// Total counts the host's events in the window, each record once;
	// Events holds the Max nearest Center when there are more. TotalExact
	// is false when the window held too many to count them once each
	// (then Total counts copies too).
	Total      int
	TotalExact bool
	// Duplicates counts the copies not counted: the same record read in
	// another input (or carved again from slack), as the hunt counts them.
	Duplicates int
	Chunks     int // chunks read back
	// Problems are the inputs and chunks that could not be read back
	// (the rest was read).
	Problems []error
}

// Opener returns a reader of the input the hunt named file (Source.Path),
// opened again, read-only. ReadTimeline does not close it: the Opener's
// caller owns the readers (and their caches of decoded chunks).
type Opener func(file string) (*parser.Reader, error)

// Errors ReadTimeline reports.
var (
	ErrChanged    = errors.New("triage: the input changed since it was read")
	ErrNoReadBack = errors.New("triage: no input to read events back from")
)

// ReadTimeline reads back the events of q.Host between q.From and q.To
// from the inputs (through open), sorts them in time, counts each record
// once across inputs as the hunt does, and flags the findings on them. It
// decodes only the chunks Chunks lists, on a few goroutines, and keeps at
// most q.Max events: its memory follows the window and q.Max. It stops
// with ctx's error when ctx ends.
func (r *Result) ReadTimeline(ctx context.Context, q TimelineQuery, open Opener) (*Timeline, error) {
	if q.Max <= 0 {
		q.Max = DefaultTimelineMax
	}
	if q.Center.IsZero() {
		q.Center = q.From
	}
	tl := &Timeline{Query: q, TotalExact: true}
	refs := r.Chunks(q.Host, q.From, q.To)
	srcIdx := make(map[string]int, len(r.Sources))
	for i, s := range r.Sources {
		if _, ok := srcIdx[s.Path]; !ok {
			srcIdx[s.Path] = i
		}
	}
	// One reader per input, opened in the order the hunt read them.
	readers := map[string]*parser.Reader{}
	var jobs []ChunkRef
	for _, c := range refs {
		rd, seen := readers[c.File]
		if !seen {
			var err error
			if rd, err = open(c.File); err != nil {
				tl.Problems = append(tl.Problems, fmt.Errorf("%s: %w", c.File, err))
			} else if n, ok := r.InputSize(c.File); ok && n != rd.Size() {
				tl.Problems = append(tl.Problems, fmt.Errorf("%s: %w (%d bytes then, %d now): its events may differ from the hunt's", c.File, ErrChanged, n, rd.Size()))
			}
			readers[c.File] = rd
		}
		if rd != nil {
			jobs = append(jobs, c)
		}
	}
	tl.Chunks = len(jobs)
	// Nearest chunks first: the events kept are found early, and keep lets
	// few of the farther ones through to be copied.
	chunkDist := func(c ChunkRef) time.Duration {
		switch {
		case q.Center.Before(c.First):
			return c.First.Sub(q.Center)
		case q.Center.After(c.Last):
			return q.Center.Sub(c.Last)
		}
		return 0
	}
	slices.SortStableFunc(jobs, func(a, b ChunkRef) int { return cmp.Compare(chunkDist(a), chunkDist(b)) })
	in := func(t time.Time) bool { return !t.IsZero() && !t.Before(q.From) && !t.After(q.To) }
	seed := maphash.MakeSeed()
	var (
		mu    sync.Mutex
		near  = nearest{center: q.Center, max: q.Max}
		keys  []uint64
		extra int // events past maxTimelineKeys
	)
	// keep sees every event of a chunk: it counts those of the window
	// (their keys) and lets through only those that would be kept now, so
	// that a wide window copies few more events than it keeps.
	keep := func(ev *parser.Event) bool {
		if ev.Computer != q.Host || !in(ev.Time) {
			return false
		}
		k := recordKey(seed, ev)
		mu.Lock()
		defer mu.Unlock()
		if len(keys) < maxTimelineKeys {
			keys = append(keys, k)
		} else {
			extra++
		}
		return len(near.items) < near.max || near.dist(near.items[0]) >= near.distAt(ev.Time)
	}
	collect := func(file string, evs []*parser.Event) {
		mu.Lock()
		defer mu.Unlock()
		for _, ev := range evs {
			near.offer(candidate{ref: EventRef{File: file, Event: ev}, src: srcIdx[file], key: recordKey(seed, ev)})
		}
	}
	work := make(chan ChunkRef)
	var wg sync.WaitGroup
	var errMu sync.Mutex
	for range min(4, runtime.GOMAXPROCS(0), max(len(jobs), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				evs, err := readers[c.File].ChunkEvents(ctx, c.Chunk, keep)
				if err != nil {
					if ctx.Err() == nil {
						errMu.Lock()
						tl.Problems = append(tl.Problems, fmt.Errorf("%s: chunk %d: %w", c.File, c.Chunk, err))
						errMu.Unlock()
					}
					continue
				}
				collect(c.File, evs)
			}
		}()
	}
	for _, c := range jobs {
		if ctx.Err() != nil {
			break
		}
		work <- c
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(refs) > 0 && len(jobs) == 0 {
		return tl, fmt.Errorf("%w: %w", ErrNoReadBack, errors.Join(tl.Problems...))
	}

	slices.Sort(keys)
	unique := len(slices.Compact(keys))
	tl.Total, tl.Duplicates = unique+extra, len(keys)-unique
	tl.TotalExact = extra == 0

	// The events kept, in time order, each record once (its first copy in
	// input order, as the hunt keeps it).
	kept := near.items
	slices.SortFunc(kept, func(a, b candidate) int {
		if c := a.ref.Event.Time.Compare(b.ref.Event.Time); c != 0 {
			return c
		}
		return a.order(b)
	})
	seen := make(map[uint64]bool, len(kept))
	byLoc := r.findingsAt(q)
	for _, c := range kept {
		if seen[c.key] {
			continue
		}
		seen[c.key] = true
		tl.Events = append(tl.Events, TimelineEvent{EventRef: c.ref, Findings: byLoc[eventLoc{c.ref.File, c.ref.Event.Offset}]})
	}
	return tl, nil
}

// eventLoc is where an event's record is: input and offset.
type eventLoc struct {
	file string
	off  int64
}

// findingsAt maps the events of q's host and window to their findings.
func (r *Result) findingsAt(q TimelineQuery) map[eventLoc][]*Finding {
	out := map[eventLoc][]*Finding{}
	for _, f := range r.Findings {
		if f.Event == nil || f.Event.Event == nil {
			continue
		}
		ev := f.Event.Event
		if ev.Computer != q.Host || ev.Time.Before(q.From) || ev.Time.After(q.To) {
			continue
		}
		k := eventLoc{f.Event.File, ev.Offset}
		out[k] = append(out[k], f)
	}
	return out
}

// candidate is an event read back, waiting to be kept or not.
type candidate struct {
	ref EventRef
	src int    // input order
	key uint64 // recordKey
}

// order orders candidates of the same time: input order, then offset.
func (c candidate) order(d candidate) int {
	if x := cmp.Compare(c.src, d.src); x != 0 {
		return x
	}
	return cmp.Compare(c.ref.Event.Offset, d.ref.Event.Offset)
}

// nearest keeps the max candidates nearest to center (ties: earlier input,
// then lower offset, so that the first copy of a record is kept before
// its copies): a heap whose root is the farthest kept.
type nearest struct {
	center time.Time
	max    int
	items  []candidate
}

func (n *nearest) dist(c candidate) time.Duration { return n.distAt(c.ref.Event.Time) }

// distAt is how far t is from center.
func (n *nearest) distAt(t time.Time) time.Duration {
	d := t.Sub(n.center)
	if d < 0 {
		d = -d // Sub saturates; so does this, at the maximum Duration
	}
	return d
}

// farther reports whether a is farther from center than b.
func (n *nearest) farther(a, b candidate) bool {
	if da, db := n.dist(a), n.dist(b); da != db {
		return da > db
	}
	return a.order(b) > 0
}

func (n *nearest) Len() int           { return len(n.items) }
func (n *nearest) Less(i, j int) bool { return n.farther(n.items[i], n.items[j]) }
func (n *nearest) Swap(i, j int)      { n.items[i], n.items[j] = n.items[j], n.items[i] }
func (n *nearest) Push(x any)         { n.items = append(n.items, x.(candidate)) }
func (n *nearest) Pop() any {
	last := n.items[len(n.items)-1]
	n.items = n.items[:len(n.items)-1]
	return last
}

// offer keeps c if it is among the max nearest so far.
func (n *nearest) offer(c candidate) {
	if len(n.items) < n.max {
		heap.Push(n, c)
		return
	}
	if n.farther(n.items[0], c) {
		n.items[0] = c
		heap.Fix(n, 0)
	}
}
