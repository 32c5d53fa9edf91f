package triage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/rules"
)

// Following growing logs.
//
// A Follower feeds a Hunter the events of logs that are still being
// written: it polls each file with a parser.FileFollower (chunk headers
// only, new records only, each once), lists the folders it was given again
// for new .evtx files, and reads a replaced file (rotated, cleared,
// recreated) as a new source. Every event goes through the same hunter as a
// normal load, so the tree, the findings, the correlations and the baseline
// verdicts are those a hunt of the same events gives.
//
// Findings come from building a Result, which costs time proportional to
// everything read (about 0.4 µs an event: 100 ms for 250,000 events of
// dense Sysmon). Rebuilding at every poll would spend a large log's time
// rebuilding, so the Follower builds only when it can matter and at a
// bounded cost: when a rule matched, or a creation event a tree rule can
// read arrived, since the last build (Refresh adds a rebuild for the counts
// and the tree of a screen), and never sooner after a build than
// buildCost times as long as that build took, so that building takes at
// most a fifth of the time. A finding is thus reported within a poll of its
// event being written while builds are quick, and within four build times
// on a very large log. Each update names the findings no earlier update
// had, by rule and event (a correlation also by its group).

// ErrLost marks records of a followed log that were overwritten before
// they were read: the log wrapped around faster than it was polled (or
// while following was paused). The problem names the record ids.
var ErrLost = errors.New("triage: records overwritten before they were read")

// DefaultPoll is how often a Follower polls its files by default.
const DefaultPoll = 500 * time.Millisecond

// buildCost bounds the time spent building Results while following: the
// next build waits buildCost times as long as the last one took.
const buildCost = 4

// maxLostProblems bounds the lost ranges listed per source; further ones
// are summed up in one more problem.
const maxLostProblems = 100

// FollowOptions configures a Follower. The zero value is valid.
type FollowOptions struct {
	// Poll is the interval between polls of the files (0: DefaultPoll).
	Poll time.Duration
	// Rescan is how often the folders given are listed again for new logs
	// (0: every 2 s; never more often than Poll).
	Rescan time.Duration
	// Refresh, when set, also rebuilds the Result at this interval while
	// events arrive, for a screen whose tree and counts should follow; by
	// default a Result is built only when the findings may have changed.
	Refresh time.Duration
	// Parser tunes the file followers; its OnProblem and OnLost, if set,
	// are called too (from the goroutine running Step or Run).
	Parser parser.FollowOptions
	// OnUpdate is called, from the goroutine running Step or Run, after
	// each Result built and with the status of every poll.
	OnUpdate func(FollowUpdate)
	// OnNote is called, like OnUpdate, for what an operator should be told
	// as it happens: a log picked up, replaced or gone, lost records, a
	// problem. note is plain text naming file paths; sanitise it before
	// showing it.
	OnNote func(note string)
	// Now and After are the clock (nil: the time package's); tests drive
	// them.
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
}

// FollowUpdate is what a Follower reports.
type FollowUpdate struct {
	// Result is the Result just built, nil when the update only reports
	// the status.
	Result *Result
	// New are the findings of Result that no earlier update had, in
	// Result's order.
	New    []*Finding
	Status FollowStatus
}

// FollowStatus is how following is going.
type FollowStatus struct {
	Files    int       // files being followed
	Events   int       // events the files delivered
	Lost     uint64    // records overwritten before they were read
	Replaced int       // files read anew after they were replaced
	Problems int       // problems reported (lost ranges and unreadable parts)
	Last     time.Time // when an event was last delivered (zero: none yet)
	Paused   bool
	Polls    int // poll rounds
}

// followed is one file being followed.
type followed struct {
	path   string
	ff     *parser.FileFollower
	src    int    // its source in the hunter
	ranges int    // lost ranges
	lost   uint64 // records lost in the ranges past maxLostProblems
	sum    int    // index of the problem summing those up (0: none yet)
}

// findingKey identifies a finding across Results: the rule, the event
// (EventRefs are made once per event) and, for a correlation, its group.
type findingKey struct {
	rule  *rules.Rule
	ref   *EventRef
	group string
}

func keyOf(f *Finding) findingKey {
	k := findingKey{rule: f.Rule, ref: f.Event}
	if f.Correlation != nil {
		k.group = strings.Join(f.Correlation.Group, "\x00")
	}
	return k
}

// Follower follows logs as they are written and feeds their events to a
// Hunter. Create it with NewFollower; call Run, or Step at an interval.
// SetPaused may be called from any goroutine; the rest is for one.
type Follower struct {
	h     *Hunter
	paths []string
	opts  FollowOptions

	files     []*followed
	byPath    map[string]bool // paths followed now
	known     map[string]bool // paths ever followed
	said      map[string]bool // notes and scan errors given once
	lastScan  time.Time
	scanned   bool
	paused    atomic.Bool
	buf       []rules.Match
	events    int
	lost      uint64
	replaced  int
	problems  int
	last      time.Time
	polls     int
	changed   bool // sources changed since the last build
	built     bool
	builtAt   time.Time // when the last build ended
	wait      time.Duration
	builtEvts int
	builtWork int
	emitted   map[findingKey]bool
}

// NewFollower returns a Follower of paths (.evtx files and folders, as
// parser.FindFiles expands them) feeding h. Nothing is read before the
// first Step, whose polls deliver what the files already hold.
func NewFollower(h *Hunter, paths []string, opts FollowOptions) *Follower {
	if opts.Poll <= 0 {
		opts.Poll = DefaultPoll
	}
	if opts.Rescan <= 0 {
		opts.Rescan = 2 * time.Second
	}
	opts.Rescan = max(opts.Rescan, opts.Poll)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.After == nil {
		opts.After = time.After
	}
	return &Follower{h: h, paths: append([]string(nil), paths...), opts: opts, byPath: make(map[string]bool), known: make(map[string]bool),
		said: make(map[string]bool), emitted: make(map[findingKey]bool)}
}

// SetPaused pauses or resumes following: while paused no file is read (a
// log that wraps meanwhile loses records, which are counted).
func (f *Follower) SetPaused(on bool) { f.paused.Store(on) }

// Paused reports whether following is paused.
func (f *Follower) Paused() bool { return f.paused.Load() }

// Status returns how following is going.
func (f *Follower) Status() FollowStatus {
	return FollowStatus{Files: len(f.files), Events: f.events, Lost: f.lost, Replaced: f.replaced,
		Problems: f.problems, Last: f.last, Paused: f.Paused(), Polls: f.polls}
}

// Run follows until ctx ends, polling every FollowOptions.Poll (the first
// time at once), and returns ctx.Err(). Call Update afterwards (with
// another context) for a last Result of everything written until then,
// then Close.
func (f *Follower) Run(ctx context.Context) error {
	for {
		if err := f.Step(ctx); err != nil {
			return err
		}
		wait := f.opts.Poll
		if f.pending() {
			wait = min(wait, max(f.wait-f.opts.Now().Sub(f.builtAt), time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-f.opts.After(wait):
		}
	}
}

// Step lists the folders again when it is time, polls every file once
// (unless paused), and builds a Result when one is due. It returns only
// ctx's error.
func (f *Follower) Step(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if f.Paused() {
		f.report(nil)
		return nil
	}
	now := f.opts.Now()
	if !f.scanned || now.Sub(f.lastScan) >= f.opts.Rescan {
		f.Scan()
	}
	f.polls++
	for i := 0; i < len(f.files); i++ {
		if err := f.poll(ctx, f.files[i]); err != nil {
			return err
		}
	}
	f.maybeBuild()
	return nil
}

// Scan lists the paths (files and folders, as parser.FindFiles does:
// links to folders, pipes and devices are refused) and starts following
// the logs not followed yet. A folder without logs is not a problem: it
// is watched. Each error is reported once.
func (f *Follower) Scan() {
	f.scanned, f.lastScan = true, f.opts.Now()
	files, errs := parser.FindFiles(f.paths)
	for _, err := range errs {
		var ie *parser.InputError
		if errors.Is(err, parser.ErrNoEvtx) {
			continue // a folder that has no log yet
		}
		if errors.As(err, &ie) && f.known[ie.Path] {
			continue // a log followed before, being replaced or gone: its poll tells
		}
		if errors.As(err, &ie) && !f.said["scan\x00"+err.Error()] {
			f.said["scan\x00"+err.Error()] = true
			f.h.AddProblem(ie.Path, err)
			f.problems++
			f.changed = true
			f.note(err.Error())
		}
	}
	for _, p := range files {
		if !f.byPath[p] {
			f.open(p)
		}
	}
}

// open starts following the file at path.
func (f *Follower) open(path string) {
	fl := &followed{path: path}
	popts := f.opts.Parser
	onProblem, onLost := popts.OnProblem, popts.OnLost
	popts.OnProblem = func(p parser.Problem) {
		if onProblem != nil {
			onProblem(p)
		}
		f.problems++
		f.changed = true
		f.h.updateSource(fl.src, func(s *Source) { s.Problems = append(s.Problems, p) })
		f.note(fmt.Sprintf("%s: %s", path, p))
	}
	popts.OnLost = func(l parser.Lost) {
		if onLost != nil {
			onLost(l)
		}
		f.lostRange(fl, l)
	}
	ff, err := parser.FollowFile(path, popts)
	if err != nil {
		if key := "open\x00" + path + "\x00" + err.Error(); !f.said[key] {
			f.said[key] = true
			f.h.AddProblem(path, fmt.Errorf("%w: %w", ErrOpen, err))
			f.problems++
			f.changed = true
			f.note(fmt.Sprintf("%s: cannot follow: %v", path, err))
		}
		return
	}
	fl.ff = ff
	fl.src = f.h.addSource(Source{Path: path})
	f.files = append(f.files, fl)
	f.byPath[path], f.known[path] = true, true
	f.changed = true
	if f.polls > 0 {
		f.note(path + ": following (new log)")
	}
}

// lostRange records records lost from fl: one problem per range, up to
// maxLostProblems, then one more summing up the rest.
func (f *Follower) lostRange(fl *followed, l parser.Lost) {
	f.lost += l.Count()
	fl.ranges++
	f.changed = true
	f.note(fmt.Sprintf("%s: record ids %d to %d (%d) were overwritten before they were read", fl.path, l.First, l.Last, l.Count()))
	if fl.ranges <= maxLostProblems {
		f.problems++
		err := fmt.Errorf("%w: record ids %d to %d (%d records)", ErrLost, l.First, l.Last, l.Count())
		f.h.updateSource(fl.src, func(s *Source) { s.Problems = append(s.Problems, Problem{Err: err}) })
		return
	}
	fl.lost += l.Count() // beyond the ranges listed
	err := fmt.Errorf("%w: %d more ranges of record ids, the last %d to %d (%d records in these ranges)",
		ErrLost, fl.ranges-maxLostProblems, l.First, l.Last, fl.lost)
	if fl.ranges == maxLostProblems+1 {
		f.problems++
	}
	f.h.updateSource(fl.src, func(s *Source) {
		if fl.sum == 0 {
			fl.sum = len(s.Problems)
			s.Problems = append(s.Problems, Problem{})
		}
		s.Problems[fl.sum] = Problem{Err: err}
	})
}

// poll reads what is new in one file. A replaced file is read to its end,
// then followed anew as a new source; a file gone is no longer followed.
func (f *Follower) poll(ctx context.Context, fl *followed) error {
	n := 0
	err := fl.ff.Poll(ctx, func(ev *parser.Event) error {
		f.buf = f.h.consume(f.buf, fl.path, ev)
		n++
		if n%4096 == 0 {
			f.delivered(fl, 4096)
			f.maybeBuild() // a long first read shows its findings as it goes
		}
		return nil
	})
	f.delivered(fl, n%4096)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, parser.ErrReplaced):
		f.drop(fl)
		f.replaced++
		f.note(fl.path + ": replaced (rotated, cleared or recreated): read anew as a new source")
		f.open(fl.path)
		if !f.byPath[fl.path] {
			f.note(fl.path + ": gone: no longer followed")
		}
	default:
		f.drop(fl)
		f.problems++
		f.h.updateSource(fl.src, func(s *Source) { s.Problems = append(s.Problems, Problem{Err: err}) })
		f.note(fmt.Sprintf("%s: no longer followed: %v", fl.path, err))
	}
	return nil
}

// delivered counts n events delivered by fl.
func (f *Follower) delivered(fl *followed, n int) {
	if n == 0 {
		return
	}
	f.events += n
	f.last = f.opts.Now()
	f.h.updateSource(fl.src, func(s *Source) { s.Records += n })
}

// drop stops following fl.
func (f *Follower) drop(fl *followed) {
	fl.ff.Close()
	delete(f.byPath, fl.path)
	for i, o := range f.files {
		if o == fl {
			f.files = append(f.files[:i], f.files[i+1:]...)
			break
		}
	}
	f.changed = true
}

// pending reports whether a build is waiting for its time.
func (f *Follower) pending() bool {
	events, work := f.h.progress()
	return work != f.builtWork || f.opts.Refresh > 0 && (events != f.builtEvts || f.changed)
}

// maybeBuild builds a Result when one is due: something changed that the
// caller wants to see (findings; with Refresh also counts and sources),
// and the time since the last build is at least buildCost times what it
// took. It reports the status either way.
func (f *Follower) maybeBuild() {
	now := f.opts.Now()
	events, work := f.h.progress()
	due := !f.built || now.Sub(f.builtAt) >= f.wait
	want := work != f.builtWork ||
		f.opts.Refresh > 0 && (events != f.builtEvts || f.changed) && (!f.built || now.Sub(f.builtAt) >= f.opts.Refresh)
	if !due || !want {
		f.report(nil)
		return
	}
	f.build()
}

// Update reads what the files hold now (one more poll of each, paused or
// not), builds a Result of everything read, unless nothing changed since
// the last one, and reports it: the last call, after Run returns. ctx
// bounds the reading (a first read of a large log takes as long as reading
// it); its error is returned when it cut the reading short, after the
// Result of what was read.
func (f *Follower) Update(ctx context.Context) error {
	var err error
	for i := 0; i < len(f.files) && err == nil; i++ {
		err = f.poll(ctx, f.files[i])
	}
	events, work := f.h.progress()
	if !f.built || events != f.builtEvts || work != f.builtWork || f.changed {
		f.build()
	}
	return err
}

func (f *Follower) build() {
	start := f.opts.Now()
	events, work := f.h.progress()
	r := f.h.Result()
	f.builtAt = f.opts.Now()
	f.wait = buildCost * f.builtAt.Sub(start)
	f.built, f.builtEvts, f.builtWork, f.changed = true, events, work, false
	f.report(r)
}

// report calls OnUpdate with r (nil: the status only) and the findings of
// r no earlier update had.
func (f *Follower) report(r *Result) {
	if f.opts.OnUpdate == nil {
		if r != nil {
			f.fresh(r)
		}
		return
	}
	u := FollowUpdate{Result: r, Status: f.Status()}
	if r != nil {
		u.New = f.fresh(r)
	}
	f.opts.OnUpdate(u)
}

// fresh returns the findings of r not reported before, and remembers them.
func (f *Follower) fresh(r *Result) []*Finding {
	var out []*Finding
	for _, fd := range r.Findings {
		if k := keyOf(fd); !f.emitted[k] {
			f.emitted[k] = true
			out = append(out, fd)
		}
	}
	return out
}

// note passes a note on.
func (f *Follower) note(s string) {
	if f.opts.OnNote != nil {
		f.opts.OnNote(s)
	}
}

// Close closes the files; the Follower is not used afterwards.
func (f *Follower) Close() error {
	var err error
	for _, fl := range f.files {
		err = errors.Join(err, fl.ff.Close())
	}
	f.files = nil
	clear(f.byPath)
	return err
}
