package triage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
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

// ExportSet reads evtriage exports — JSON documents or JSON Lines, from one
// host or many, as `hunt` and the Velociraptor artifact write them — into
// one Result, so that a fleet's hunt is triaged in one place. The findings
// are as exported (rule, event, match, verdict; no rule is run again), and
// the processes are those the exports' processes tables carry, linked by
// their parent ids: each finding's process, its lineage and the children
// the table lists. Processes and findings that several exports share (the
// same host exported twice) are kept once.
//
// Exports are read with the bounded reader (readExportRecords); ids are
// local to each export; hostile tables (parents that are missing or form
// loops, duplicate ids, ids out of range) give a tree all the same,
// and what was wrong is a problem of that export. An ExportSet is safe
// for use by several goroutines.
type ExportSet struct {
	prov Provenance

	mu       sync.Mutex
	parts    []*exportPart
	sources  []Source
	records  int // processes and findings read
	snapAt   int // records when the last snapshot was built
	snapshot *Result
	finished *Result
}

// exportPart is one export read: its head and records, kept until the
// Result is built.
type exportPart struct {
	src      int // index in sources
	head     *exportHeader
	procs    []*exportProcess
	findings []*readFinding
	old      int // findings of evtriage 0.1, without a processes table
}

// NewExportSet returns an empty set; prov is what its Result's exports
// will say produced them (the screen or hunt reading the exports).
func NewExportSet(prov Provenance) *ExportSet {
	if prov.Version == "" {
		prov.Version = "dev"
	}
	return &ExportSet{prov: prov}
}

// countingReader counts and hashes what is read through it.
type countingReader struct {
	r io.Reader
	n int64
	h io.Writer
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.h.Write(p[:n])
	return n, err
}

// AddFile reads the export at path (opened read-only, a regular file
// only). Every problem is listed with the file's source, and the error
// says it too: ErrOpen for a file that cannot be opened; ErrRead with
// ErrNotExport for a file that is no export (nothing of it is added), or
// with "record N: …" for a record that cannot be read, which ends the
// file (the records before it are kept).
// progress, if not nil, is called as the file is read.
func (s *ExportSet) AddFile(ctx context.Context, path string, progress func(Progress)) error {
	f, err := infile.Open(path)
	if err != nil {
		s.addSource(Source{Path: path, Problems: []Problem{{Err: err}}})
		return fmt.Errorf("%w: %w", ErrOpen, err)
	}
	defer f.Close()
	var total int64
	if fi, err := f.Stat(); err == nil {
		total = fi.Size()
	}
	hash := sha256.New()
	cr := &countingReader{r: f, h: hash}
	var parts []*exportPart
	cur := func() *exportPart {
		if len(parts) == 0 {
			parts = append(parts, &exportPart{})
		}
		return parts[len(parts)-1]
	}
	n := 0
	tick := func() error {
		n++
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if progress != nil {
				progress(Progress{File: path, Bytes: cr.n, Total: total, Events: n})
			}
		}
		return nil
	}
	err = readExportRecords(cr, exportVisitor{
		// A JSON Lines head starts its export; a document's head comes
		// once its records are read. A second head starts a second
		// export (files of exports concatenated).
		head: func(h *exportHeader) error {
			if cur().head != nil {
				parts = append(parts, &exportPart{})
			}
			cur().head = h
			return tick()
		},
		process: func(p *exportProcess) error {
			cur().procs = append(cur().procs, p)
			return tick()
		},
		finding: func(rf *readFinding) error {
			cur().findings = append(cur().findings, rf)
			return tick()
		},
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, ErrNotExport) {
		s.addSource(Source{Path: path, Problems: []Problem{{Err: err}}})
		return fmt.Errorf("%w: %w", ErrRead, err)
	}
	_, _ = io.Copy(hash, f) // the rest of a file whose reading stopped
	src := Source{Path: path, SHA256: hex.EncodeToString(hash.Sum(nil)), Problems: []Problem{}}
	if err != nil {
		src.Problems = append(src.Problems, Problem{Offset: cr.n, Err: err})
	}
	for _, p := range parts {
		src.Records += len(p.findings)
	}
	if progress != nil {
		progress(Progress{File: path, Bytes: cr.n, Total: total, Events: n, Done: true})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	idx := len(s.sources)
	s.sources = append(s.sources, src)
	for _, p := range parts {
		p.src = idx
		s.parts = append(s.parts, p)
	}
	s.records += n
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRead, err)
	}
	return nil
}

// AddProblem records an input that gave nothing to read (a PATH that
// does not exist, a file that is not an export) as a source holding one
// problem, so that the result and its exports list it.
func (s *ExportSet) AddProblem(path string, err error) {
	s.addSource(Source{Path: path, Problems: []Problem{{Err: err}}})
}

func (s *ExportSet) addSource(src Source) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sources = append(s.sources, src)
}

// Result builds the Result of everything read so far.
func (s *ExportSet) Result() *Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.finished != nil {
		return s.finished
	}
	return s.build()
}

// Snapshot is Result for a screen that shows exports while more are read:
// it builds a new Result only once the records read since the last one
// are at least snapshotMin and half of what that one covered (as
// Hunter.Snapshot), else returns that one.
func (s *ExportSet) Snapshot() *Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.finished != nil {
		return s.finished
	}
	if n := s.records - s.snapAt; s.snapshot != nil && (n < snapshotMin || n < s.snapAt/2) {
		return s.snapshot
	}
	s.snapshot, s.snapAt = s.build(), s.records
	return s.snapshot
}

// Finish builds the final Result and lets the records go.
func (s *ExportSet) Finish() *Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.finished == nil {
		s.finished = s.build()
		s.parts, s.snapshot = nil, nil
	}
	return s.finished
}

// exportProcKey identifies a process across exports: host and
// ProcessGuid, or host, process id and creation time.
type exportProcKey struct {
	host    string
	guid    GUID
	pid     uint32
	created int64
}

// exportFindingKey identifies a finding across exports.
type exportFindingKey struct {
	rule, host, channel string
	record              uint64
	eventID             uint16
	time                string
}

// builder makes one Result from the parts; it is used once.
type builder struct {
	res      *Result
	procs    []*Process
	byKey    map[exportProcKey]*Process
	rules    map[string]*rules.Rule
	seen     map[exportFindingKey]bool
	pending  []pending
	procOf   []*Process
	hosts    map[string]bool
	problems [][]Problem // by source
	digests  []string    // the rule sets the exports were hunted with
}

// build makes the Result. Called with s.mu held.
func (s *ExportSet) build() *Result {
	b := &builder{
		res:      &Result{Provenance: s.prov, Generated: time.Now().UTC()},
		byKey:    make(map[exportProcKey]*Process),
		rules:    make(map[string]*rules.Rule),
		seen:     make(map[exportFindingKey]bool),
		hosts:    make(map[string]bool),
		problems: make([][]Problem, len(s.sources)),
	}
	for _, p := range s.parts {
		b.part(p)
	}
	r := b.res
	for i, src := range s.sources {
		src.Problems = append(slices.Clip(src.Problems), b.problems[i]...)
		r.Sources = append(r.Sources, src)
	}
	for i, p := range b.procs {
		p.ID = i
	}
	t := &tree{procs: b.procs}
	t.breakCycles()
	for _, p := range b.procs {
		if q := p.Parent; q != nil {
			q.Children = append(q.Children, p)
		}
	}
	for _, p := range b.procs {
		slices.SortStableFunc(p.Children, func(a, c *Process) int { return a.Created.Compare(c.Created) })
	}
	// The rule set: the exports' digest, or theirs all when their hunts
	// used different rules.
	slices.Sort(b.digests)
	r.RulesDigest = strings.Join(b.digests, " ")
	r.Processes, r.Roots = b.procs, t.roots()
	r.Findings = makeFindings(b.pending, b.procOf)
	for h := range b.hosts {
		if h != "" {
			r.Hosts = append(r.Hosts, h)
		}
	}
	sort.Strings(r.Hosts)
	return r
}

// problem adds a problem to the part's export.
func (b *builder) problem(p *exportPart, format string, a ...any) {
	b.problems[p.src] = append(b.problems[p.src], Problem{Err: fmt.Errorf(format, a...)})
}

// part adds one export's processes and findings.
func (b *builder) part(p *exportPart) {
	r := b.res
	if h := p.head; h != nil {
		r.Events += h.Summary.Events
		r.Duplicates += h.Summary.Duplicates
		r.Orphans += h.Summary.OrphanExit
		r.Unkept += h.Summary.Suppressed
		r.CorrelationOnly += h.Summary.CorrelationOnly
		for _, rj := range h.Rules.Rejected {
			if !slices.Contains(r.Rejected, rj) { // the same rules on every host
				r.Rejected = append(r.Rejected, rj)
			}
		}
		for _, host := range h.Summary.Hosts {
			b.hosts[host] = true
		}
		if !h.Complete {
			r.Incomplete = true
			b.problem(p, "this export was taken while its logs were still being read: it holds what had been read")
		}
		if h.Baseline != nil && r.NewKey == "" {
			r.NewKey = h.Baseline.Key
		}
		if d := h.Rules.Digest; d != "" && !slices.Contains(b.digests, d) {
			b.digests = append(b.digests, d)
		}
		// The logs the export's hunt read: their problems are this
		// export's too.
		for _, src := range h.Sources {
			for _, q := range src.Problems {
				b.problems[p.src] = append(b.problems[p.src], Problem{Offset: q.Offset, Err: fmt.Errorf("%s: %s", src.Path, q.Reason())})
			}
		}
	}
	ids := make(map[int]*Process, len(p.procs))
	parents := make(map[*Process]int)
	dups, missing := 0, 0
	for _, ep := range p.procs {
		if _, dup := ids[ep.ID]; dup {
			dups++
			continue
		}
		proc := b.process(ep)
		ids[ep.ID] = proc
		if ep.Parent != nil {
			parents[proc] = *ep.Parent
		}
	}
	for proc, id := range parents {
		switch q := ids[id]; {
		case q == nil:
			missing++
		case proc.Parent == nil && q != proc:
			proc.Parent = q
		}
	}
	if dups > 0 {
		b.problem(p, "%d processes listed twice under one id (the first kept)", dups)
	}
	if missing > 0 {
		b.problem(p, "%d processes name a parent the table does not hold (shown as roots)", missing)
	}
	notFound := 0
	for _, rf := range p.findings {
		pid, _, ok := rf.ids()
		if !ok {
			p.old++
		}
		var proc *Process
		if ok && pid != nil {
			if proc = ids[*pid]; proc == nil {
				notFound++
			}
		}
		b.finding(rf, proc)
	}
	if notFound > 0 {
		b.problem(p, "%d findings name a process the table does not hold", notFound)
	}
	if p.old > 0 {
		b.problem(p, "%d findings in the shape of evtriage 0.1 (no processes table): shown without their processes", p.old)
	}
}

// process makes (or finds, when another export holds it) the process of
// an exported row.
func (b *builder) process(ep *exportProcess) *Process {
	created := parseTime(ep.Created)
	k := exportProcKey{host: ep.Host, guid: ParseGUID(ep.GUID)}
	if k.guid.IsZero() {
		k.pid, k.created = ep.PID, created.UnixNano()
	}
	if p := b.byKey[k]; p != nil {
		return p
	}
	p := &Process{Host: ep.Host, GUID: k.guid, PID: ep.PID, Image: ep.Image, CommandLine: ep.CommandLine, User: ep.User,
		Created: created, Terminated: parseTime(ep.Terminated), Sources: parseSourceNames(ep.Sources), Stub: ep.Stub,
		Regsvr32: ep.Regsvr32, Renamed: ep.Renamed, Link: parseLink(ep.Link), Seen: ep.Activity.Counts}
	for i := range ep.Activity.Events {
		ae := &ep.Activity.Events[i]
		if kind, ok := activityKindOfExport(ae.Kind); ok {
			p.Keep(kind, eventRef(&ae.exportEvent))
		}
	}
	b.byKey[k] = p
	b.procs = append(b.procs, p)
	b.hosts[p.Host] = true
	return p
}

// finding adds an exported finding of proc (nil: none), unless another
// export holds it.
func (b *builder) finding(rf *readFinding, proc *Process) {
	ee := &rf.Event
	k := exportFindingKey{rule: rf.Rule.ID, host: ee.Computer, channel: ee.Channel, record: ee.RecordID, eventID: ee.EventID}
	if ee.Time != nil {
		k.time = *ee.Time
	}
	if b.seen[k] {
		b.res.Duplicates++
		return
	}
	b.seen[k] = true
	rule := b.rules[rf.Rule.ID]
	if rule == nil {
		level, _ := rules.ParseLevel(rf.Rule.Level)
		rule = &rules.Rule{ID: rf.Rule.ID, Title: rf.Rule.Title, Level: level, Tags: rf.Rule.Tags, Description: rf.Rule.Description}
		b.rules[rf.Rule.ID] = rule
		b.res.Loaded = append(b.res.Loaded, rule)
	}
	ref := eventRef(ee)
	if proc != nil && proc.Create() == nil && kindOf(ref.Event) == KindCreate && sameCreate(proc, ref.Event) {
		proc.Keep(KindCreate, ref)
	}
	m := pending{ref: ref, rule: rule, details: rf.Match, suppressed: rf.Suppressed, new: rf.New}
	if c := rf.Correlation; c != nil {
		m.corr = correlationHit(c, rule)
	}
	b.pending = append(b.pending, m)
	b.procOf = append(b.procOf, proc)
	b.hosts[ee.Computer] = true
}

// sameCreate reports whether ev, a process creation, created p: the same
// ProcessGuid, or (4688) the same process id.
func sameCreate(p *Process, ev *parser.Event) bool {
	if g := eventGUID(ev); !g.IsZero() {
		return g == p.GUID
	}
	pid, ok := parsePID(field(ev, "NewProcessId"))
	return ok && pid == p.PID
}

// eventRef makes an exported event an event again: its fields by name
// (in name order: the export keeps names, not their order).
func eventRef(ee *exportEvent) *EventRef {
	ev := &parser.Event{Channel: ee.Channel, Provider: ee.Provider, Computer: ee.Computer, EventID: ee.EventID,
		RecordID: ee.RecordID, Offset: ee.Offset, Recovered: ee.Recovered, Time: parseTime(ee.Time)}
	names := make([]string, 0, len(ee.Fields))
	for n := range ee.Fields {
		names = append(names, n)
	}
	slices.Sort(names)
	ev.Fields = make([]parser.Field, 0, len(names))
	for _, n := range names {
		ev.Fields = append(ev.Fields, parser.Field{Name: n, Value: ee.Fields[n]})
	}
	return &EventRef{File: ee.File, Event: ev}
}

// correlationHit makes an exported correlation firing one again; its
// events carry what the export says of them.
func correlationHit(c *exportCorrelation, rule *rules.Rule) *CorrelationHit {
	h := &CorrelationHit{Type: c.Type, Timespan: time.Duration(max(c.TimespanSeconds, 0)) * time.Second, Count: c.Count,
		Start: parseTime(&c.Start), End: parseTime(&c.End), Total: c.EventsTotal}
	for _, g := range c.Group {
		h.GroupBy, h.Group = append(h.GroupBy, g.Field), append(h.Group, g.Value)
	}
	for _, e := range c.Events {
		ev := &parser.Event{Offset: e.Offset, RecordID: e.RecordID, EventID: e.EventID, Computer: e.Computer, Time: parseTime(&e.Time)}
		h.Events = append(h.Events, CorrelationEvent{Ref: &EventRef{File: e.File, Event: ev},
			Rule: &rules.Rule{ID: e.RuleID, Title: e.RuleTitle, Level: rule.Level}})
	}
	return h
}

// parseTime reads an export's time (RFC 3339); zero when absent or not a
// time.
func parseTime(s *string) time.Time {
	t, err := parseTimeStrict(s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}
