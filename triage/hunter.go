package triage

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/evtriage/evtriage/internal/infile"
	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/rules"
)

// Errors the hunter returns (wrapped with the file's name and cause).
var (
	ErrFinished = errors.New("triage: hunter finished: no more input")
	ErrOpen     = errors.New("triage: cannot open input")
	ErrRead     = errors.New("triage: input read with problems")
)

// New-item keys (Options.NewKey).
const (
	KeyCommandLine = "commandline"
	KeyParentChild = "parent-child"
	KeyImageLoaded = "image-loaded"
)

// Options configures a Hunter.
type Options struct {
	// Rules is the rule set events are matched against (nil: no findings,
	// the process tree is still built).
	Rules *rules.Set
	// Baseline lists earlier logs (.evtx files or folders) or an earlier
	// export (.json / .jsonl): findings whose key appears there are "seen".
	Baseline []string
	// BaselineWindow, when set instead, makes the first window of the
	// evidence itself the baseline; only findings after it are judged.
	BaselineWindow time.Duration
	// NewKey is what makes a finding new: "commandline" (default),
	// "parent-child" (parent image → image) or "image-loaded" (Sysmon 7
	// ImageLoaded).
	NewKey string
	// Workers is the number of chunks decoded in parallel per file
	// (0: GOMAXPROCS).
	Workers int
	// AllActivity keeps every Sysmon activity event (image loads, network,
	// DNS, files, registry…) on its process. By default only the activity
	// of regsvr32 processes (also renamed) and their descendants, and of
	// events that matched a rule, is kept; the rest is counted in
	// Process.Seen. Keeping everything of a large log costs memory
	// proportional to its size.
	AllActivity bool
	// NoActivity keeps no activity event that did not match a rule: all
	// are only counted (Process.Seen). For headless runs, whose output
	// does not list activity.
	NoActivity bool
	// WrittenOnly keeps only the findings the rules report as written:
	// suppressed candidates are counted (Result.Unkept) but neither kept nor
	// their events held in memory. For headless runs that do not show them.
	WrittenOnly bool
	// Provenance is what exports say produced them (Version "dev" when
	// empty).
	Provenance Provenance
	// NoCarve turns off the recovery of records from chunk slack space and
	// damaged chunks (on by default).
	NoCarve bool
}

// Progress reports how far reading a file has come.
type Progress struct {
	File   string
	Bytes  int64 // offset of the last event read
	Total  int64 // file size
	Events int   // events read from this file so far
	Done   bool
}

// Hunter reads event logs, keeps what the process tree and the findings
// need, and builds a Result. It is safe for use by several goroutines, but
// files are read one at a time.
//
// Result builds a Result of everything read so far (cached until more is
// read); a screen loading in the background calls Snapshot instead, as
// often as it likes, and Finish once the last input is read: Finish
// releases what was kept for reading (the duplicate set, the process
// records and tables, the string index) as it builds the final Result.
type Hunter struct {
	opts Options

	mu         sync.Mutex
	sources    []Source
	procEvents procList
	strs       *strTable  // hosts, files, channels, images, command lines, users
	guids      *guidTable // every Sysmon process seen: activity counts, interest
	activity   []record   // activity events kept in memory
	matches    []pending
	plan       *corrPlan  // nil without correlation rules
	feeds      []corrFeed // matches the correlations need
	treeRules  []*rules.Rule
	isTree     map[*rules.Rule]bool
	// regPIDs holds the process ids of regsvr32 processes (renamed ones
	// included) per host, when tree rules are loaded: a 4688 those start is
	// kept for them (4688 names its creator by id only).
	regPIDs    map[pidKey]bool
	corrOnly   int
	seen       u64Set // records read (dedupKey), for duplicates
	seed       maphash.Seed
	hosts      map[strID]*hostAcc // events per host and their histograms
	histHosts  int                // hosts with a histogram (MaxActivityHosts at most)
	seq        int32
	events     int
	dups       int
	dropped    int
	suppressed int
	first      time.Time
	last       time.Time
	result     *Result
	finished   bool
	snapshot   *Result // the last Snapshot built, covering snapEvents events
	snapEvents int
	// work counts the events that can change the findings when the
	// Result is built: rule matches, and with tree rules the kept
	// creation events (see Follower).
	work int

	// index records, per chunk of each input, its hosts and time range
	// (Result.Chunks); curFile caches the last input's name in strs.
	index   chunkIndex
	curFile string
	curID   strID

	baseOnce sync.Once
	base     *baseline
}

// dedupKey hashes what identifies a record across files: computer,
// channel and EventRecordID, plus the event's time and id, so that a crafted
// log repeating one EventRecordID cannot hide distinct events. Eight bytes a
// record (u64Set) keeps the set small on large logs; with 64 bits a false
// duplicate becomes likely only near 4e9 records.
func (h *Hunter) dedupKey(ev *parser.Event) uint64 { return recordKey(h.seed, ev) }

// recordKey hashes what identifies a record across files (see dedupKey).
func recordKey(seed maphash.Seed, ev *parser.Event) uint64 {
	var m maphash.Hash
	m.SetSeed(seed)
	m.WriteString(ev.Computer)
	m.WriteByte(0)
	m.WriteString(ev.Channel)
	m.WriteByte(0)
	var b [22]byte
	binary.LittleEndian.PutUint64(b[0:], ev.RecordID)
	binary.LittleEndian.PutUint64(b[8:], uint64(ev.Time.Unix())) // defined for every time, unlike UnixNano
	binary.LittleEndian.PutUint32(b[16:], uint32(ev.Time.Nanosecond()))
	binary.LittleEndian.PutUint16(b[20:], ev.EventID)
	m.Write(b[:])
	return m.Sum64()
}

// NewHunter returns a Hunter with opts.
func NewHunter(opts Options) *Hunter {
	if opts.NewKey == "" {
		opts.NewKey = KeyCommandLine
	}
	var treeRules []*rules.Rule
	isTree := map[*rules.Rule]bool{}
	if opts.Rules != nil {
		for _, r := range opts.Rules.Rules() {
			if r.Correlation == nil && isTreeRule(r) {
				treeRules = append(treeRules, r)
				isTree[r] = true
			}
		}
	}
	return &Hunter{
		treeRules: treeRules,
		isTree:    isTree,
		regPIDs:   make(map[pidKey]bool),
		opts:      opts,
		plan:      newCorrPlan(opts.Rules),
		seed:      maphash.MakeSeed(),
		hosts:     make(map[strID]*hostAcc),
		strs:      newStrTable(),
		guids:     newGUIDTable(),
		index:     newChunkIndex(),
	}
}

// AddFile reads one .evtx file. The returned error wraps ErrOpen when the
// file cannot be read at all (also when it is not a regular file: a
// pipe, socket or device is refused at once), ErrRead when parts of it could not be read
// (the rest is in the result), or the context's error.
func (h *Hunter) AddFile(ctx context.Context, path string, progress func(Progress)) error {
	f, err := infile.Open(path)
	if err != nil {
		h.addSource(Source{Path: path, Problems: []Problem{{Err: err}}})
		return fmt.Errorf("%w: %w", ErrOpen, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		h.addSource(Source{Path: path, Problems: []Problem{{Err: err}}})
		return fmt.Errorf("%w: %w", ErrOpen, err)
	}
	return h.AddReader(ctx, path, f, fi.Size(), progress)
}

// AddReader reads one log held by r (e.g. the embedded demo), naming it
// name in the result. Errors as for AddFile; ErrFinished after Finish.
func (h *Hunter) AddReader(ctx context.Context, name string, r io.ReaderAt, size int64, progress func(Progress)) error {
	h.mu.Lock()
	finished := h.finished
	h.mu.Unlock()
	if finished {
		return ErrFinished
	}
	src := Source{Path: name}
	// Hash alongside the parse: the file is read twice, but from the page
	// cache and on another core.
	sum := make(chan string, 1)
	go func() { sum <- hashOf(ctx, r, size) }()
	rd, err := parser.NewReader(r, size, parser.Options{Workers: h.opts.Workers, Carve: !h.opts.NoCarve})
	if err != nil {
		src.SHA256 = <-sum
		src.Problems = []Problem{{Err: err}}
		h.addSource(src)
		return fmt.Errorf("%w: %s: %w", ErrOpen, name, err)
	}
	var buf []rules.Match // reused match buffer of this file
	n := 0
	scan := NewTamperScan()
	err = rd.Events(ctx, func(ev *parser.Event) error {
		n++
		scan.Add(ev)
		buf = h.consume(buf, name, ev)
		if progress != nil && n%4096 == 0 {
			progress(Progress{File: name, Bytes: ev.Offset, Total: size, Events: n})
		}
		return nil
	})
	st := rd.Stats()
	src.Records, src.Recovered = st.Records, st.Recovered
	src.Tamper = scan.Result(st)
	src.Hosts, src.HostsTotal = scan.Hosts()
	src.Problems = append(src.Problems, rd.Problems()...)
	if err != nil && ctx.Err() == nil {
		src.Problems = append(src.Problems, Problem{Err: err})
	}
	src.SHA256 = <-sum
	h.mu.Lock()
	finished = h.finished
	if !finished {
		// Carved copies of live records, which the reader dropped, are
		// duplicates too (not among the events read: never delivered).
		h.dups += st.Duplicates
		h.index.size[h.strs.id(name)] = size
	}
	h.mu.Unlock()
	if finished {
		return fmt.Errorf("%w: %s was still being read", ErrFinished, name)
	}
	h.addSource(src)
	if progress != nil {
		progress(Progress{File: name, Bytes: size, Total: size, Events: n, Done: true})
	}
	switch {
	case err != nil:
		return fmt.Errorf("triage: %s: %w", name, err)
	case len(src.Problems) > 0:
		return fmt.Errorf("%w: %s: %d problems", ErrRead, name, len(src.Problems))
	}
	return nil
}

// hashOf returns the hex SHA-256 of the size bytes of r, or "" when they
// cannot be read or ctx is cancelled first. It reads 1 MiB at a time, less
// for a smaller input (a folder of small logs would otherwise allocate and
// clear 1 MiB per file).
func hashOf(ctx context.Context, r io.ReaderAt, size int64) string {
	d := sha256.New()
	buf := make([]byte, max(min(size, 1<<20), 1))
	for off := int64(0); off < size; {
		if ctx.Err() != nil {
			return ""
		}
		n, err := r.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		d.Write(buf[:n])
		off += int64(n)
		if (err != nil && !(errors.Is(err, io.EOF) && off == size)) || (n == 0 && err == nil) {
			return ""
		}
	}
	return hex.EncodeToString(d.Sum(nil))
}

// AddProblem records an input that gave nothing to read (a PATH that does
// not exist, a pipe refused, a folder without .evtx files) as a source
// holding one problem, so that the result and its exports list it.
func (h *Hunter) AddProblem(path string, err error) {
	h.addSource(Source{Path: path, Problems: []Problem{{Err: err}}})
}

func (h *Hunter) addSource(s Source) int {
	if s.Problems == nil {
		s.Problems = []Problem{}
	}
	if s.Hosts == nil {
		s.Hosts = []string{}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sources = append(h.sources, s)
	h.result = nil
	return len(h.sources) - 1
}

// updateSource changes source i (a followed file's, as it is read).
func (h *Hunter) updateSource(i int, fn func(*Source)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fn(&h.sources[i])
	h.result = nil
}

// progress returns the events read and the work done (see Hunter.work)
// so far.
func (h *Hunter) progress() (events, work int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.events, h.work
}

// consume looks at one event: drops a duplicate record, matches it, and
// keeps it when the tree or a finding needs it. buf is a reusable match
// buffer; consume returns it.
func (h *Hunter) consume(buf []rules.Match, file string, ev *parser.Event) []rules.Match {
	var matches []rules.Match
	if h.opts.Rules != nil {
		buf = h.opts.Rules.Candidates(ev, buf[:0])
		matches = buf
		if len(h.treeRules) > 0 {
			// Tree rules are matched when the tree is built (see treeMatches).
			kept := matches[:0]
			for _, m := range matches {
				if !h.isTree[m.Rule] {
					kept = append(kept, m)
				}
			}
			matches = kept
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.finished {
		return buf // Finish ran while this file was being read: too late
	}
	h.result = nil
	h.events++
	if h.seen.add(h.dedupKey(ev)) {
		h.dups++
		return buf
	}
	host := h.strs.id(ev.Computer)
	h.countHost(host, ev.Time)
	if file != h.curFile {
		h.curFile, h.curID = file, h.strs.id(file)
	}
	h.index.add(h.curID, ev.Offset, host, ev.Time)
	if !ev.Time.IsZero() && (h.first.IsZero() || ev.Time.Before(h.first)) {
		h.first = ev.Time
	}
	if ev.Time.After(h.last) {
		h.last = ev.Time
	}
	if h.opts.WrittenOnly {
		kept := matches[:0]
		for _, m := range matches {
			if len(m.Suppressed) > 0 {
				if !m.Rule.CorrelationOnly { // never shown: not a candidate either
					h.suppressed++
				}
				continue
			}
			kept = append(kept, m)
		}
		matches = kept
	}
	seq := h.seq
	if h.seq < 1<<31-1 { // past 2^31 events, ties in time keep no order
		h.seq++
	}
	var ref *EventRef
	mk := func() *EventRef {
		if ref == nil {
			ref = &EventRef{File: file, Event: ev}
		}
		return ref
	}
	switch src, kind := classify(ev); {
	case kind == KindCreate || kind == KindExit:
		rec, create := compactRec(src, kind, file, ev, seq, host, h.strs, h.guids)
		keep := h.opts.AllActivity || len(matches) > 0 || rec.has(recRegsvr32)
		if kind == KindCreate {
			if pis, _ := classifyRegsvr32(h.strs.str(create.parentImage), "", ""); pis {
				keep = true
			}
		}
		if len(h.treeRules) > 0 && kind == KindCreate {
			// Tree rules judge a process by its parent: keep the creation
			// events of regsvr32's children, renamed regsvr32 included.
			if rec.has(recRegsvr32) && rec.has(recHasPID) {
				h.regPIDs[pidKey{host, rec.pid}] = true
			}
			if src == FromSecurity && rec.has(recHasPPID) && h.regPIDs[pidKey{host, create.ppid}] {
				keep = true
			}
		}
		if src == FromSysmon && rec.row >= 0 {
			row := h.guids.row(rec.row)
			switch kind {
			case KindCreate:
				if keep || h.interesting(procKey{host, create.parentGUID}) {
					row.flags |= rowInterest
					keep = true
				}
			case KindExit:
				keep = keep || row.flags&rowInterest != 0
			}
		}
		if keep {
			rec.ref = mk()
			if kind == KindCreate && len(h.treeRules) > 0 {
				h.work++ // a tree rule may match it, or its children
			}
		}
		h.procEvents.add(rec, create)
	case kind.IsActivity():
		guid := eventGUID(ev)
		if guid.IsZero() {
			break
		}
		img := field(ev, "Image")
		row := h.guids.row(h.guids.get(procKey{host, guid}, seq))
		if row.flags&rowCreated == 0 && row.seen.Total() == 0 && row.image == 0 {
			// What an activity-only process will show: its first event's.
			row.pid, _ = parsePID(field(ev, "ProcessId"))
			row.image = h.strs.id(img)
		}
		row.seen.Add(kind, 1)
		is, _ := classifyRegsvr32(img, "", "")
		if len(matches) > 0 || (!h.opts.NoActivity && (h.opts.AllActivity || row.flags&rowInterest != 0 || is)) {
			h.activity = append(h.activity, record{mk(), kind, seq})
		} else {
			h.dropped++
		}
	}
	if len(matches) > 0 {
		h.work++
	}
	for _, m := range matches {
		if h.plan != nil && h.plan.feed[m.Rule] && len(m.Suppressed) == 0 {
			fm := m
			fm.Details, fm.Suppressed = nil, nil
			h.feeds = append(h.feeds, corrFeed{ref: mk(), m: fm, seq: int(seq)})
		}
		if m.Rule.CorrelationOnly {
			if len(m.Suppressed) == 0 {
				h.corrOnly++
			}
			continue
		}
		h.matches = append(h.matches, pending{ref: mk(), rule: m.Rule,
			details:    append([]rules.MatchDetail(nil), m.Details...),
			suppressed: append([]string(nil), m.Suppressed...)})
	}
	return buf
}

// Result builds the process tree, the findings (as written and suppressed
// candidates) and the baseline verdicts from everything read so far. The
// Result is shared until more input is added; treat it as read-only.
func (h *Hunter) Result() *Result {
	h.loadBaseline(context.Background())
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.result != nil {
		return h.result
	}
	return h.build(false)
}

// snapshotMin is the fewest events Snapshot builds a new Result for.
const snapshotMin = 4096

// Snapshot is Result for a screen that shows what has been read while more
// is coming. It builds a new Result only once the events read since the
// last one it built number at least snapshotMin and at least half of the
// events that one covered; otherwise it returns that last Result (nil
// before the first). Building is proportional to everything read, so
// growing the gap with the input keeps all the snapshots of a load within a
// small multiple of one final build, however many files or ticks ask
// (Result after every small file costs the square of the input). After
// Finish it returns the final Result.
func (h *Hunter) Snapshot() *Result {
	h.loadBaseline(context.Background())
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.finished || h.result != nil {
		return h.result
	}
	if n := h.events - h.snapEvents; h.snapshot != nil && (n < snapshotMin || n < h.snapEvents/2) {
		return h.snapshot
	}
	h.snapshot, h.snapEvents = h.build(false), h.events
	return h.snapshot
}

// Finish is Result for a last call: it releases the memory held for
// building the tree as the tree is built, so the peak is about the larger
// of the two rather than their sum. Afterwards the Hunter takes no more
// input (ErrFinished) and Result returns the same Result.
func (h *Hunter) Finish() *Result {
	h.loadBaseline(context.Background())
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.result != nil && h.finished {
		return h.result
	}
	h.finished, h.snapshot = true, nil
	return h.build(true)
}

// interesting reports whether the Sysmon process k has its activity kept.
func (h *Hunter) interesting(k procKey) bool {
	if k.guid.IsZero() {
		return false
	}
	r := h.guids.find(k)
	return r >= 0 && h.guids.row(r).flags&rowInterest != 0
}

// build makes the Result; release drops the hunter's records as they are
// used and everything else it held for reading (Finish). Called with h.mu
// held.
func (h *Hunter) build(release bool) *Result {
	activity := append([]record(nil), h.activity...)
	if release {
		h.seen = u64Set{} // no more input: the duplicate set is not needed
		h.activity = nil
	}
	t := newTree(h.strs, h.guids)
	t.build(&h.procEvents, activity, release)
	if release {
		h.procEvents = procList{}
	}
	res := &Result{
		Sources:         cloneSources(h.sources),
		Events:          h.events,
		Duplicates:      h.dups,
		Dropped:         h.dropped,
		Unkept:          h.suppressed,
		CorrelationOnly: h.corrOnly,
		Provenance:      h.opts.Provenance,
		First:           h.first,
		Last:            h.last,
		Generated:       time.Now().UTC(),
		strs:            h.strs.strs,
		chunks:          h.index.snapshot(h.strs.strs),
	}
	if release {
		h.index = chunkIndex{}
	}
	res.activityOnly(t)
	t.breakCycles()
	ms, feeds := h.matches, h.feeds
	if len(h.treeRules) > 0 {
		tms, tfeeds, unkept, corrOnly := h.treeMatches(t)
		ms = append(slices.Clip(ms), tms...)
		feeds = append(slices.Clip(feeds), tfeeds...)
		res.Unkept += unkept
		res.CorrelationOnly += corrOnly
	}
	if h.plan != nil && len(feeds) > 0 {
		ms = append(slices.Clip(ms), h.plan.run(feeds)...)
	}
	// The findings' processes are found now, so that the GUID table can
	// go before the tree is finished.
	procs := make([]*Process, len(ms))
	for i, m := range ms {
		procs[i] = t.processOf(m.ref)
	}
	if release {
		h.feeds, h.matches = nil, nil
		h.guids, t.guids, t.nodeOf, t.extra = nil, nil, nil, nil
		h.strs.freeze()
	}
	t.finish()
	res.Processes, res.Roots, res.Orphans = t.procs, t.roots(), t.orphans
	if res.Provenance.Version == "" {
		res.Provenance.Version = "dev"
	}
	if h.opts.Rules != nil {
		res.Loaded = h.opts.Rules.Rules()
		res.Rejected = h.opts.Rules.Rejected()
		res.RulesDigest = h.opts.Rules.Digest()
	}
	for host := range h.hosts {
		if s := h.strs.str(host); s != "" { // a filter's "" is every host: an event naming none is among them
			res.Hosts = append(res.Hosts, s)
		}
	}
	sort.Strings(res.Hosts)
	h.hostStats(res)
	res.Findings = makeFindings(ms, procs)
	h.judge(res)
	h.result = res
	return res
}

// cloneSources copies sources and their problems, which a followed file's
// source goes on adding to.
func cloneSources(srcs []Source) []Source {
	out := slices.Clone(srcs)
	for i := range out {
		out[i].Problems = slices.Clone(out[i].Problems)
	}
	return out
}

// treeMatches matches the tree rules (rules reading a tree field, see
// fields.go) against the creation event of every process of t kept in
// memory, with its tree fields. It returns the pending findings, the
// matches correlations need, and the counts consume would have kept:
// suppressed candidates not kept (WrittenOnly) and correlation-only
// matches. Called with h.mu held.
func (h *Hunter) treeMatches(t *tree) (ms []pending, feeds []corrFeed, unkept, corrOnly int) {
	seq := h.seq
	for _, p := range t.procs {
		if p.Create() == nil {
			continue
		}
		ev := newTreeEvent(p)
		for _, r := range h.treeRules {
			m, ok := r.Candidate(ev)
			if !ok {
				continue
			}
			if len(m.Suppressed) > 0 && h.opts.WrittenOnly {
				if !r.CorrelationOnly {
					unkept++
				}
				continue
			}
			if h.plan != nil && h.plan.feed[r] && len(m.Suppressed) == 0 {
				fm := m
				fm.Details, fm.Suppressed = nil, nil
				feeds = append(feeds, corrFeed{ref: p.Create(), m: fm, seq: int(seq)})
				seq++
			}
			if r.CorrelationOnly {
				if len(m.Suppressed) == 0 {
					corrOnly++
				}
				continue
			}
			ms = append(ms, pending{ref: p.Create(), rule: r, details: m.Details, suppressed: m.Suppressed})
		}
	}
	return ms, feeds, unkept, corrOnly
}

// activityOnly copies the rows of the processes known only from their
// activity into r, by host then first event.
func (r *Result) activityOnly(t *tree) {
	rows := t.activityOnly()
	r.ActivityOnly = len(rows)
	if len(rows) == 0 {
		return
	}
	r.activity = make([]guidRow, len(rows))
	for i, row := range rows {
		r.activity[i] = *t.guids.row(row)
	}
	slices.SortFunc(r.activity, func(a, b guidRow) int {
		if c := strings.Compare(r.strs[a.key.host], r.strs[b.key.host]); c != 0 {
			return c
		}
		return cmp.Compare(a.first, b.first)
	})
	for i := 0; i < len(r.activity); {
		j := i
		for j < len(r.activity) && r.activity[j].key.host == r.activity[i].key.host {
			j++
		}
		r.hostRuns = append(r.hostRuns, hostRange{r.strs[r.activity[i].key.host], int32(i), int32(j)})
		i = j
	}
}
