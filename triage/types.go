// Package triage turns parsed events and rule matches into what an analyst
// reasons about: processes, who started whom, what each did, findings with
// their lineage and explanation, and which of it is new against a baseline.
package triage

import (
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
}

// SourceKind says which log told us about a process.
type SourceKind uint8

const (
	FromSysmon   SourceKind = 1 << iota // Sysmon 1/5
	FromSecurity                        // Security 4688/4689
)

// Process is one node of the process tree.
type Process struct {
	ID          int    // index in Result.Processes
	Host        string // Computer
	GUID        string // Sysmon ProcessGuid ("" for 4688-only processes)
	PID         uint32
	Image       string
	CommandLine string
	User        string
	Created     time.Time // zero for stubs
	Terminated  time.Time // zero if not seen
	Sources     SourceKind
	Stub        bool // never created in the log; known from a child's Parent* fields

	// Regsvr32 marks regsvr32 by path, and Renamed a regsvr32 running under
	// another name (OriginalFileName REGSVR32.EXE or its PE description).
	Regsvr32 bool
	Renamed  bool

	Parent   *Process
	Children []*Process

	// Create is the Sysmon 1 / 4688 event: nil for stubs, and for processes
	// whose creation event was not kept in memory (see Options.AllActivity;
	// Records still locates it).
	Create   *EventRef
	Loads    []*EventRef
	Network  []*EventRef
	DNS      []*EventRef
	Files    []*EventRef
	Registry []*EventRef
	Other    []*EventRef

	Findings []*Finding

	// Merged holds the other create events folded into this node: the 4688
	// of a process Sysmon also saw (or the reverse), and repeated creates of
	// one ProcessGuid.
	Merged []*EventRef
	// Exit is the Sysmon 5 / 4689 event that ended the process, if seen.
	Exit *EventRef
	// Seen counts every activity event of this process that was read, kept
	// or not; the Loads…Other slices hold the ones kept (see Options.AllActivity).
	Seen Activity
	// Link says how the parent was found: "guid", "pid", or "" for roots.
	Link string
	// Records locates the create events of this node (Create and Merged),
	// also when the events themselves were not kept in memory.
	Records []RecordRef
}

// RecordRef locates an event record: file, channel, EventRecordID and
// byte offset in the file.
type RecordRef struct {
	File     string
	Channel  string
	RecordID uint64
	Offset   int64
}

// Activity counts a process's events by kind.
type Activity struct {
	Loads, Network, DNS, Files, Registry, Other int
}

// Total is the number of events counted.
func (a Activity) Total() int {
	return a.Loads + a.Network + a.DNS + a.Files + a.Registry + a.Other
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
	Sources    []Source
	Loaded     []*rules.Rule
	Rejected   []rules.Rejection
	Hosts      []string // computers the events name, sorted ("" is not listed: a Filter's "" means every host)
	Processes  []*Process
	Roots      []*Process // processes without a known parent, by host then time
	Findings   []*Finding // ordered by event time, then file and record
	Events     int        // events read in all (the hunt's duplicates included)
	Duplicates int        // records dropped as copies: seen twice by the hunt (same computer, channel, EventRecordID, time, event id; among Events), or carved copies of live records the reader dropped (not among Events)

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
	// BaselineKeys is the number of distinct keys the baseline held, and
	// BaselineEnd the end of the --baseline-window period (zero otherwise).
	BaselineKeys int
	BaselineEnd  time.Time
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
	// ToolVersion and Generated go into exports.
	ToolVersion string
	Generated   time.Time
}
