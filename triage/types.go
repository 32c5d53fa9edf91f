// Package triage turns parsed events and rule matches into what an analyst
// reasons about: processes, who started whom, what each did, findings with
// their lineage and explanation, and which of it is new against a baseline.
package triage

import (
	"sort"
	"strconv"
	"time"

	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/rules"
)

// Problem is a part of an input that could not be read: the parser's
// Problem (offset in the file and the error; JSON {offset, reason}), also
// for an input that could not be opened at all (offset 0). The file is the
// Source's Path.
type Problem = parser.Problem

// Source is one input file and what reading it gave.
type Source struct {
	Path      string    `json:"path"`
	SHA256    string    `json:"sha256"`
	Records   int       `json:"records"`
	Recovered int       `json:"recovered"`
	Problems  []Problem `json:"problems"`
	// Hosts are the computers its events name, in the order they came
	// (the first MaxSourceHosts); HostsTotal counts them all.
	Hosts      []string `json:"hosts"`
	HostsTotal int      `json:"hosts_total"`
	// Tamper is what the file shows of tampering or loss (nil when it
	// could not be read as a log).
	Tamper *Tamper `json:"tamper"`
}

// Source returns the source read from path (nil when none was).
func (r *Result) Source(path string) *Source {
	for i := range r.Sources {
		if r.Sources[i].Path == path {
			return &r.Sources[i]
		}
	}
	return nil
}

// Process is one node of the process tree. Nodes are what the tree, the
// findings and the screen need; processes known only from their activity
// are counted apart (Result.ActivityOnly) and made Process values on
// demand (Result.ActivityOnlyProcesses).
type Process struct {
	ID      int    // index in Result.Processes
	Host    string // Computer
	GUID    GUID   // Sysmon ProcessGuid (zero for 4688-only processes)
	PID     uint32
	Sources SourceKind
	// Link says how the parent was found (LinkNone for roots).
	Link LinkKind
	Stub bool // never created in the log; known from a child's Parent* fields or its own activity
	// Regsvr32 marks regsvr32 by path, and Renamed a regsvr32 running under
	// another name (OriginalFileName REGSVR32.EXE or its PE description).
	Regsvr32, Renamed bool

	Image       string
	CommandLine string
	User        string
	Created     time.Time // zero for stubs
	Terminated  time.Time // zero if not seen

	Parent   *Process
	Children []*Process // by creation time
	Findings []*Finding
	// Seen counts every activity event of this process that was read, kept
	// in memory or not (see Events and Options.AllActivity).
	Seen Activity

	kept *keptEvents // events kept in memory; nil when none
	rec  recLoc      // the first create event (Result.Records)
}

// keptEvents are the events of a process kept in memory, and its create
// records after the first: few processes have any (regsvr32, its family,
// matches, processes both logs saw; everything with AllActivity).
type keptEvents struct {
	create   *EventRef
	exit     *EventRef
	merged   []*EventRef
	records  []recLoc
	activity *[numActivity][]*EventRef
}

// addActivity keeps an activity event of kind k.
func (k *keptEvents) addActivity(kind EventKind, ref *EventRef) {
	if k.activity == nil {
		k.activity = new([numActivity][]*EventRef)
	}
	k.activity[kind-firstActivity] = append(k.activity[kind-firstActivity], ref)
}

// Create is the Sysmon 1 / 4688 event that created p: nil for stubs, and
// for processes whose creation event was not kept in memory (see
// Options.AllActivity; Result.Records still locates it).
func (p *Process) Create() *EventRef {
	if p.kept == nil {
		return nil
	}
	return p.kept.create
}

// Exit is the Sysmon 5 / 4689 event that ended p, when seen and kept.
func (p *Process) Exit() *EventRef {
	if p.kept == nil {
		return nil
	}
	return p.kept.exit
}

// Merged returns the other create events folded into p and kept in
// memory: the 4688 of a process Sysmon also saw (or the reverse), and
// repeated creates of one ProcessGuid.
func (p *Process) Merged() []*EventRef {
	if p.kept == nil {
		return nil
	}
	return p.kept.merged
}

// Events returns p's activity events of kind k kept in memory, in time
// order (Seen counts them all).
func (p *Process) Events(k EventKind) []*EventRef {
	if p.kept == nil || p.kept.activity == nil || !k.IsActivity() {
		return nil
	}
	return p.kept.activity[k-firstActivity]
}

// Kept counts p's activity events kept in memory, by kind.
func (p *Process) Kept() Activity {
	var a Activity
	if p.kept != nil && p.kept.activity != nil {
		for i, l := range p.kept.activity {
			a[i] = uint32(len(l))
		}
	}
	return a
}

// Keep keeps ref in memory as p's event of kind k: its creation (a second
// one counts as merged), its end, or one of its activities. The tree does
// this for the events it keeps; tests and hand-built Results use it too.
// Seen is not changed.
func (p *Process) Keep(k EventKind, ref *EventRef) {
	switch {
	case k == KindCreate && p.Create() == nil:
		p.keep().create = ref
	case k == KindCreate:
		p.kept.merged = append(p.kept.merged, ref)
	case k == KindExit:
		p.keep().exit = ref
	case k.IsActivity():
		p.keep().addActivity(k, ref)
	}
}

// Key identifies p across the Results of one hunt, which number their
// processes anew: host and ProcessGuid, or for a process without one its
// host, process id, creation time and, for a stub, its image.
func (p *Process) Key() string {
	if !p.GUID.IsZero() {
		return p.Host + "\x00" + p.GUID.String()
	}
	k := p.Host + "\x00" + strconv.FormatUint(uint64(p.PID), 10) + "\x00" + strconv.FormatInt(p.Created.UnixNano(), 10)
	if p.Stub {
		k += "\x00" + p.Image
	}
	return k
}

// keep returns p's kept events, allocating them on first use.
func (p *Process) keep() *keptEvents {
	if p.kept == nil {
		p.kept = new(keptEvents)
	}
	return p.kept
}

// RecordRef locates an event record: file, channel, EventRecordID and
// byte offset in the file.
type RecordRef struct {
	File     string
	Channel  string
	RecordID uint64
	Offset   int64
}

// recLoc is a RecordRef with the file and channel named in the hunt's
// string table.
type recLoc struct {
	file, channel strID
	recordID      uint64
	offset        int64
}

// EventRef is an event with the file it came from.
type EventRef struct {
	File  string
	Event *parser.Event
}

// Finding is one rule matching one event.
type Finding struct {
	ID      int // index in Result.Findings
	Rule    *rules.Rule
	Event   *EventRef
	Process *Process // nil when the event belongs to no known process
	Match   []rules.MatchDetail
	// New is nil when not judged against a baseline.
	New *bool
	// Suppressed lists the rule's filter identifiers that hide this match in
	// the rule as written; empty for a match the rule reports as written.
	// The TUI reveals suppressed matches when their filters are toggled off.
	Suppressed []string
	// Correlation is set when Rule is a correlation rule that fired: Event
	// is then the event that completed it (Process that event's process),
	// Match is empty, and Correlation says which events contributed.
	Correlation *CorrelationHit
}

// CorrelationHit is one firing of a correlation rule (Sigma correlation
// specification v2) over the events the hunt read, in event-time order.
type CorrelationHit struct {
	Type     string        // event_count, value_count, temporal, temporal_ordered
	Timespan time.Duration // the rule's sliding window
	// GroupBy names the rule's group-by fields and Group holds this
	// firing's values of them, in the same order.
	GroupBy []string
	Group   []string
	// Count is what the condition was checked against: events
	// (event_count), distinct values (value_count) or referenced rules
	// (temporal, temporal_ordered) within the window.
	Count int
	// Start and End bound the window that fired: the first and the last
	// (completing) contributing event's times.
	Start, End time.Time
	// Events are the contributing events in time order, the completing one
	// last: at most MaxCorrelationEvents, the latest. Total counts them all
	// (distinct events; an event two referenced rules match counts once).
	Events []CorrelationEvent
	Total  int
}

// CorrelationEvent is one event that contributed to a correlation, and
// the referenced rule it matched.
type CorrelationEvent struct {
	Ref  *EventRef
	Rule *rules.Rule
}

// MaxCorrelationEvents bounds CorrelationHit.Events.
const MaxCorrelationEvents = 1000

// Result is everything a hunt produced.
type Result struct {
	Sources  []Source
	Loaded   []*rules.Rule
	Rejected []rules.Rejection
	Hosts    []string // computers the events name, sorted ("" is not listed: a Filter's "" means every host)
	// HostStats are the events of each computer (the events naming none
	// under ""), sorted by host, with their spread over time.
	HostStats []HostStats
	// Processes are the tree's nodes: every process created in the logs,
	// stubs known from a child's parent fields, and processes known from
	// their activity that have children, findings or kept events.
	Processes []*Process
	Roots     []*Process // processes without a known parent, by host then time
	// ActivityOnly counts the other processes known only from their
	// activity (no creation event, no child, no finding, no event kept):
	// a rolled-over log, a Sysmon config without event 1. They are not
	// nodes; ActivityOnlyHosts and ActivityOnlyProcesses list them.
	ActivityOnly int
	Findings     []*Finding // ordered by event time, then file and record
	Events       int        // events read in all (the hunt's duplicates included)
	Duplicates   int        // records dropped as copies: seen twice by the hunt (same computer, channel, EventRecordID, time, event id; among Events), or carved copies of live records the reader dropped (not among Events)

	// Orphans counts process events naming no process of the log: exits of
	// processes created before it began (they create no node).
	Orphans int
	// Dropped counts activity events read but not kept (their processes'
	// Seen counters include them); see Options.AllActivity.
	Dropped int
	// Unkept counts suppressed candidates not kept (Options.WrittenOnly).
	Unkept int
	// CorrelationOnly counts the matches of rules that only correlations
	// use (rules.Rule.CorrelationOnly): fed to the correlations, never
	// findings of their own.
	CorrelationOnly int
	// First and Last are the earliest and latest event times read (zero
	// when no event had a time).
	First, Last time.Time
	// BaselineKeys is the number of distinct keys the baseline held, and
	// BaselineEnd the end of the --baseline-window period (zero otherwise).
	BaselineKeys int
	BaselineEnd  time.Time
	// BaselineFrom and BaselineTo bound the time the baseline covers: the
	// --baseline-window period (from the evidence's first event to
	// BaselineEnd), or the earliest and latest event of the --baseline
	// inputs (zero when none had a time); BaselineHosts are the hosts
	// those inputs name (nil for a window: the evidence's own).
	BaselineFrom, BaselineTo time.Time
	BaselineHosts            []string
	// NewKey is the key findings were judged by ("" without a baseline).
	NewKey string
	// NotJudged is set when a --baseline input could not be read (missing,
	// not a log or an export, invalid): no finding is then judged, for a
	// partial baseline would call findings new that are not.
	NotJudged bool
	// BaselineSources are the baseline inputs read (--baseline).
	BaselineSources []Source
	// Incomplete marks a snapshot taken while inputs were still being
	// read (the screen sets it on a copy it exports): exports say
	// "complete": false, and Events counts the events read so far.
	Incomplete bool
	// Provenance is what produced the Result (Options.Provenance), and
	// RulesDigest identifies its rule set (rules.Set.Digest); Generated is
	// when it was built. Exports record them.
	Provenance  Provenance
	RulesDigest string
	// Case holds the analyst's marks, which exports carry on the findings
	// and processes they name; CasePath is the case file's path (exports
	// name it). The screen and hunt --case set them on the Result they
	// export.
	Case      *Case
	CasePath  string
	Generated time.Time
	// Selection says how the findings an export holds were chosen; the
	// caller sets it on the Result (or a copy) it exports. Nil: no filter
	// is recorded.
	Selection *Selection

	strs     []string    // names of the hunt's strID (Records, activity-only processes)
	activity []guidRow   // the activity-only processes, by host then first event
	hostRuns []hostRange // their hosts' ranges in activity
	chunks   chunkRefs   // where each host's events are (Chunks)
}

// hostRange is one host's run of activity-only processes.
type hostRange struct {
	host       string
	start, end int32
}

// ProcessCount is the number of processes the logs tell of: the tree's
// nodes and the processes known only from their activity.
func (r *Result) ProcessCount() int { return len(r.Processes) + r.ActivityOnly }

// HostActivity is how many processes of one host are known only from
// their activity.
type HostActivity struct {
	Host      string
	Processes int
}

// ActivityOnlyHosts lists the hosts that have processes known only from
// their activity, in host order, with their counts.
func (r *Result) ActivityOnlyHosts() []HostActivity {
	out := make([]HostActivity, 0, len(r.hostRuns))
	for _, h := range r.hostRuns {
		out = append(out, HostActivity{h.host, int(h.end - h.start)})
	}
	return out
}

// ActivityOnlyProcesses makes Process values of host's processes known
// only from their activity, in the order their first events came: stubs
// with GUID, PID and Image from their first activity event, Seen set, no
// parent, children or events. Their IDs run from len(Processes) on and
// are the same in every call (unique in the Result); the values are new
// on each call, so a caller keeps those it shows.
func (r *Result) ActivityOnlyProcesses(host string) []*Process {
	h, ok := r.hostRun(host)
	if !ok {
		return nil
	}
	out := make([]*Process, 0, h.end-h.start)
	nodes := make([]Process, h.end-h.start)
	for i := h.start; i < h.end; i++ {
		p := &nodes[i-h.start]
		r.materialise(p, i)
		out = append(out, p)
	}
	return out
}

// ActivityOnlyProcess makes the i-th of ActivityOnlyProcesses(host) alone
// (the same ID, a new value each call), nil when there is none: for a
// screen that makes Process values only of the rows it shows.
func (r *Result) ActivityOnlyProcess(host string, i int) *Process {
	h, ok := r.hostRun(host)
	if !ok || i < 0 || i >= int(h.end-h.start) {
		return nil
	}
	p := new(Process)
	r.materialise(p, h.start+int32(i))
	return p
}

// hostRun returns host's run of activity-only processes.
func (r *Result) hostRun(host string) (hostRange, bool) {
	i := sort.Search(len(r.hostRuns), func(i int) bool { return r.hostRuns[i].host >= host })
	if i < len(r.hostRuns) && r.hostRuns[i].host == host {
		return r.hostRuns[i], true
	}
	return hostRange{}, false
}

// materialise fills p with the i-th activity-only process.
func (r *Result) materialise(p *Process, i int32) {
	r.activity[i].materialise(p, r.strs)
	p.ID = len(r.Processes) + int(i)
}

// Records locates the create events of p (the first, then those folded
// into it), also when the events themselves were not kept in memory.
func (r *Result) Records(p *Process) []RecordRef {
	if p.Stub {
		return nil
	}
	name := func(id strID) string {
		if int(id) < len(r.strs) {
			return r.strs[id]
		}
		return ""
	}
	out := []RecordRef{{name(p.rec.file), name(p.rec.channel), p.rec.recordID, p.rec.offset}}
	if p.kept != nil {
		for _, l := range p.kept.records {
			out = append(out, RecordRef{name(l.file), name(l.channel), l.recordID, l.offset})
		}
	}
	return out
}

// Provenance is what produced a hunt: the tool and the command line.
type Provenance struct {
	Version string // evtriage's version ("dev" when not set)
	Commit  string // VCS revision of the build; "" when unknown
	// Modified marks a build from a checkout with uncommitted changes.
	Modified bool
	Command  []string // the command line's arguments, program name left out
}

// Selection is how an export's findings were chosen from a Result: the
// filter (hunt's --min-level; the screen's toggles), on the screen or
// not, and for a subtree export the process at its root.
type Selection struct {
	Filter Filter
	Screen bool // chosen on the hunting screen
	// Subtree is the root of the exported subtree (nil: every finding the
	// filter selects); the export's processes table then holds every
	// process of the subtree, with the activity kept for each, and the
	// root's ancestors, not only the findings' processes.
	Subtree *Process
}
