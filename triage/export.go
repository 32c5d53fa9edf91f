package triage

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/evtriage/evtriage/internal/termsafe"
	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/rules"
)

// Format is an export format.
type Format int

// Export formats: one JSON document, or JSON Lines with one finding per
// line (each line is one element of the document's "findings").
const (
	FormatJSON Format = iota
	FormatJSONL
)

// ErrExport wraps export failures.
var ErrExport = errors.New("triage: export")

//go:embed export.schema.json
var schema []byte

// Schema returns the JSON Schema (draft 2020-12) of the JSON document
// export; its $defs.finding describes one JSON Lines record.
func Schema() []byte { return append([]byte(nil), schema...) }

// exportHeader is the document's head: everything but its processes and
// findings. In JSON Lines it is the first line ({"export": …}).
type exportHeader struct {
	Tool      exportTool      `json:"tool"`
	Generated string          `json:"generated"`
	Complete  bool            `json:"complete"`
	Sources   []Source        `json:"sources"`
	Rules     exportRules     `json:"rules"`
	Summary   exportSummary   `json:"summary"`
	Baseline  *exportBaseline `json:"baseline"`
}

// exportDoc is the JSON document, as the baseline reader decodes it.
type exportDoc struct {
	exportHeader
	Processes []exportProcess `json:"processes"`
	Findings  []exportFinding `json:"findings"`
}

// exportLine is one line of JSON Lines: exactly one of its fields is set.
type exportLine struct {
	Export  *exportHeader  `json:"export,omitempty"`
	Process *exportProcess `json:"process,omitempty"`
	Finding *exportFinding `json:"finding,omitempty"`
}

type exportTool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type exportRules struct {
	Loaded   int               `json:"loaded"`
	Rejected []rules.Rejection `json:"rejected"`
}

type exportSummary struct {
	Events     int      `json:"events"`
	Duplicates int      `json:"duplicates"`
	Hosts      []string `json:"hosts"`
	Processes  int      `json:"processes"`
	Findings   int      `json:"findings"`
	Suppressed int      `json:"suppressed"`
	OrphanExit int      `json:"orphan_exits"`
	// CorrelationOnly is present when some matches only fed correlations.
	CorrelationOnly int `json:"correlation_only,omitempty"`
}

type exportBaseline struct {
	Key       string   `json:"key"`
	Judged    bool     `json:"judged"`
	Keys      int      `json:"keys"`
	WindowEnd *string  `json:"window_end"`
	Sources   []Source `json:"sources"`
}

// exportFinding is one finding; its process and lineage are ids of the
// processes table.
type exportFinding struct {
	Rule    exportRule  `json:"rule"`
	Event   exportEvent `json:"event"`
	Process *int        `json:"process"`
	// Lineage is the process's ancestors, root-most first, and the process
	// last: at most maxLineage ids, the nearest; LineageOmitted counts the
	// root-most ones left out (the parent links of the processes table
	// still lead to them).
	Lineage        []int               `json:"lineage"`
	LineageOmitted int                 `json:"lineage_omitted"`
	Match          []rules.MatchDetail `json:"match"`
	Suppressed     []string            `json:"suppressed"`
	New            *bool               `json:"new"`
	// Correlation is present only on a correlation rule's finding.
	Correlation *exportCorrelation `json:"correlation,omitempty"`
}

// exportCorrelation is a correlation firing; the finding's event is the
// one that completed it.
type exportCorrelation struct {
	Type            string             `json:"type"`
	TimespanSeconds int64              `json:"timespan_seconds"`
	Group           []exportGroupValue `json:"group"`
	Count           int                `json:"count"`
	Start           string             `json:"start"`
	End             string             `json:"end"`
	Events          []exportEventRef   `json:"events"`
	EventsTotal     int                `json:"events_total"`
}

// exportGroupValue is one group-by field of a correlation and its value.
type exportGroupValue struct {
	Field string `json:"field"`
	Value string `json:"value"`
}

// exportEventRef locates a contributing event of a correlation.
type exportEventRef struct {
	File      string `json:"file"`
	Offset    int64  `json:"offset"`
	RecordID  uint64 `json:"record_id"`
	EventID   uint16 `json:"event_id"`
	Computer  string `json:"computer"`
	Time      string `json:"time"`
	RuleID    string `json:"rule_id"`
	RuleTitle string `json:"rule_title"`
}

// toExportCorrelation converts a correlation firing.
func toExportCorrelation(h *CorrelationHit) *exportCorrelation {
	ec := &exportCorrelation{Type: h.Type, TimespanSeconds: int64(h.Timespan / time.Second), Count: h.Count,
		Group: make([]exportGroupValue, 0, len(h.GroupBy)), Events: make([]exportEventRef, 0, len(h.Events)),
		EventsTotal: h.Total}
	for i, name := range h.GroupBy {
		gv := exportGroupValue{Field: name}
		if i < len(h.Group) {
			gv.Value = h.Group[i]
		}
		ec.Group = append(ec.Group, gv)
	}
	if s := timeStr(h.Start); s != nil {
		ec.Start = *s
	}
	if s := timeStr(h.End); s != nil {
		ec.End = *s
	}
	for _, ce := range h.Events {
		if ce.Ref == nil || ce.Ref.Event == nil {
			continue
		}
		ev := ce.Ref.Event
		r := exportEventRef{File: ce.Ref.File, Offset: ev.Offset, RecordID: ev.RecordID, EventID: ev.EventID, Computer: ev.Computer}
		if s := timeStr(ev.Time); s != nil {
			r.Time = *s
		}
		if ce.Rule != nil {
			r.RuleID, r.RuleTitle = ce.Rule.ID, ce.Rule.Title
		}
		ec.Events = append(ec.Events, r)
	}
	return ec
}

type exportRule struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Level       string   `json:"level"`
	Tags        []string `json:"tags"`
	Description string   `json:"description"`
}

type exportEvent struct {
	File      string            `json:"file"`
	Offset    int64             `json:"offset"`
	RecordID  uint64            `json:"record_id"`
	EventID   uint16            `json:"event_id"`
	Channel   string            `json:"channel"`
	Provider  string            `json:"provider"`
	Computer  string            `json:"computer"`
	Time      *string           `json:"time"`
	Recovered bool              `json:"recovered"`
	Fields    map[string]string `json:"fields"`
}

// exportProcess is one row of the processes table.
type exportProcess struct {
	ID          int      `json:"id"`
	Host        string   `json:"host"`
	GUID        string   `json:"guid"`
	PID         uint32   `json:"pid"`
	Image       string   `json:"image"`
	CommandLine string   `json:"command_line"`
	User        string   `json:"user"`
	Created     *string  `json:"created"`
	Terminated  *string  `json:"terminated"`
	Sources     []string `json:"sources"`
	Stub        bool     `json:"stub"`
	Regsvr32    bool     `json:"regsvr32"`
	Renamed     bool     `json:"renamed"`
	Parent      *int     `json:"parent"`
	Link        string   `json:"link"`
	// Children lists the children in the table (at most maxChildren);
	// ChildrenTotal counts all the process's children.
	Children      []int          `json:"children"`
	ChildrenTotal int            `json:"children_total"`
	Activity      exportActivity `json:"activity"`
}

// exportActivity is what a process did besides starting children: counts
// of every event read, and the events kept in memory (Options.AllActivity
// and the default keep those of regsvr32 and its descendants; headless
// hunts keep none), at most maxActivity.
//
// In JSON the counts come first, one member per activity kind named by
// the kinds' table ("image_loads", "network", …), then "events" and
// "events_kept".
type exportActivity struct {
	Counts      Activity
	Events      []exportActivityEvent
	EventsTotal int
}

// MarshalJSON writes the counts by kind, then the events.
func (a exportActivity) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for _, k := range ActivityKinds() {
		b = strconv.AppendQuote(b, k.exportCounts())
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(a.Counts.Count(k)), 10)
		b = append(b, ',')
	}
	ev, err := json.Marshal(a.Events)
	if err != nil {
		return nil, err
	}
	b = append(append(append(b, `"events":`...), ev...), `,"events_kept":`...)
	return append(strconv.AppendInt(b, int64(a.EventsTotal), 10), '}'), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (a *exportActivity) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*a = exportActivity{}
	for _, k := range ActivityKinds() {
		var n int
		if v, ok := m[k.exportCounts()]; ok {
			if err := json.Unmarshal(v, &n); err != nil {
				return err
			}
		}
		a.Counts.Add(k, n)
	}
	if v, ok := m["events"]; ok {
		if err := json.Unmarshal(v, &a.Events); err != nil {
			return err
		}
	}
	if v, ok := m["events_kept"]; ok {
		return json.Unmarshal(v, &a.EventsTotal)
	}
	return nil
}

// exportActivityEvent is one kept activity event.
type exportActivityEvent struct {
	Kind string `json:"kind"`
	exportEvent
}

// Bounds of the export: each keeps its size proportional to the findings
// and processes, never their product.
const (
	maxLineage  = 64   // ids in a finding's lineage
	maxChildren = 100  // children listed per process
	maxActivity = 1000 // activity events listed per process
)

// timeStr renders a time as RFC 3339 UTC with nanoseconds; nil when zero.
func timeStr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339Nano)
	return &s
}

// fieldMap flattens event fields into an object, under the names
// parser.Namer gives them (what the reader gives; unnamed values are Data,
// a repeated name gets "#2", "#3"…), so no value is lost.
func fieldMap(ref *EventRef) map[string]string {
	m := make(map[string]string, len(ref.Event.Fields))
	var names parser.Namer
	for _, f := range ref.Event.Fields {
		m[names.Name(f.Name)] = f.Value
	}
	return m
}

// exporter writes one export: it decides which processes the findings
// need (their processes, the ancestors and the first children of those)
// and numbers nothing itself: ids are Process.ID.
type exporter struct {
	r        *Result
	findings []*Finding
	in       []bool // by Process.ID: in the table
	written  []bool // by Process.ID: already written (JSON Lines)
}

func newExporter(r *Result, findings []*Finding) *exporter {
	x := &exporter{r: r, findings: findings, in: make([]bool, len(r.Processes))}
	for _, f := range findings {
		x.need(f.Process, x.in, func(*Process) {})
	}
	return x
}

// has reports whether p is a process of the result in the table.
func (x *exporter) has(p *Process) bool {
	return p != nil && p.ID >= 0 && p.ID < len(x.in) && x.in[p.ID] && x.r.Processes[p.ID] == p
}

// need calls add, once, for each process a finding on p needs that is not
// marked in done yet, and marks it: the ancestors root-most first, p, then
// its first maxChildren children (the order JSON Lines writes them in).
// The walk up stops at a marked process (its ancestors are marked too), so
// that a whole export costs O(processes + findings).
func (x *exporter) need(p *Process, done []bool, add func(*Process)) {
	if !x.valid(p) {
		return
	}
	var up []*Process
	for q := p; x.valid(q) && !done[q.ID] && len(up) <= len(x.r.Processes); q = q.Parent {
		up = append(up, q)
	}
	for i := len(up) - 1; i >= 0; i-- {
		if q := up[i]; !done[q.ID] { // a cycle would list one twice
			done[q.ID] = true
			add(q)
		}
	}
	n := 0
	for _, c := range p.Children {
		if x.valid(c) {
			if !done[c.ID] {
				done[c.ID] = true
				add(c)
			}
			if n++; n == maxChildren {
				break
			}
		}
	}
}

// valid reports whether p belongs to the result (ids index its table).
func (x *exporter) valid(p *Process) bool {
	return p != nil && p.ID >= 0 && p.ID < len(x.r.Processes) && x.r.Processes[p.ID] == p
}

// process converts a process of the table.
func (x *exporter) process(p *Process) exportProcess {
	ep := exportProcess{ID: p.ID, Host: p.Host, GUID: p.GUID.String(), PID: p.PID, Image: p.Image, CommandLine: p.CommandLine,
		User: p.User, Created: timeStr(p.Created), Terminated: timeStr(p.Terminated), Sources: p.Sources.Names(),
		Stub: p.Stub, Regsvr32: p.Regsvr32, Renamed: p.Renamed, Link: p.Link.String(), Children: []int{},
		ChildrenTotal: len(p.Children)}
	if x.has(p.Parent) {
		id := p.Parent.ID
		ep.Parent = &id
	}
	for _, c := range p.Children {
		if len(ep.Children) == maxChildren {
			break
		}
		if x.has(c) {
			ep.Children = append(ep.Children, c.ID)
		}
	}
	a := &ep.Activity
	a.Counts = p.Seen
	a.Events = []exportActivityEvent{}
	for _, k := range ActivityKinds() {
		refs := p.Events(k)
		a.EventsTotal += len(refs)
		for _, ref := range refs {
			if len(a.Events) < maxActivity && ref != nil && ref.Event != nil {
				a.Events = append(a.Events, exportActivityEvent{Kind: k.exportName(), exportEvent: toExportEvent(ref)})
			}
		}
	}
	return ep
}

// toExportEvent converts an event.
func toExportEvent(ref *EventRef) exportEvent {
	ev := ref.Event
	return exportEvent{File: ref.File, Offset: ev.Offset, RecordID: ev.RecordID, EventID: ev.EventID,
		Channel: ev.Channel, Provider: ev.Provider, Computer: ev.Computer, Time: timeStr(ev.Time),
		Recovered: ev.Recovered, Fields: fieldMap(ref)}
}

// finding converts a finding.
func (x *exporter) finding(f *Finding) exportFinding {
	ef := exportFinding{
		Event:      toExportEvent(f.Event),
		Lineage:    []int{},
		Match:      f.Match,
		Suppressed: f.Suppressed,
		New:        f.New,
	}
	if f.Rule != nil {
		ef.Rule = exportRule{ID: f.Rule.ID, Title: f.Rule.Title, Level: f.Rule.Level.String(), Tags: f.Rule.Tags,
			Description: f.Rule.Description}
	}
	if ef.Rule.Tags == nil {
		ef.Rule.Tags = []string{}
	}
	if ef.Match == nil {
		ef.Match = []rules.MatchDetail{}
	}
	if f.Correlation != nil {
		ef.Correlation = toExportCorrelation(f.Correlation)
	}
	if ef.Suppressed == nil {
		ef.Suppressed = []string{}
	}
	if p := f.Process; x.has(p) {
		id := p.ID
		ef.Process = &id
		depth := 0
		for q := p; x.has(q) && depth <= len(x.r.Processes); q = q.Parent {
			if len(ef.Lineage) < maxLineage {
				ef.Lineage = append(ef.Lineage, q.ID)
			} else {
				ef.LineageOmitted++
			}
			depth++
		}
		slices.Reverse(ef.Lineage)
	}
	return ef
}

// header builds the document's head.
func (x *exporter) header() *exportHeader {
	r := x.r
	h := &exportHeader{
		Tool:     exportTool{Name: "evtriage", Version: r.ToolVersion},
		Complete: !r.Incomplete,
		Sources:  r.Sources,
		Rules:    exportRules{Loaded: len(r.Loaded), Rejected: r.Rejected},
		Summary: exportSummary{Events: r.Events, Duplicates: r.Duplicates, Hosts: r.Hosts, Processes: r.ProcessCount(),
			Findings: len(x.findings), Suppressed: r.Unkept + len(r.Findings) - len(r.Written()), OrphanExit: r.Orphans,
			CorrelationOnly: r.CorrelationOnly},
	}
	if s := timeStr(r.Generated); s != nil {
		h.Generated = *s
	}
	if h.Sources == nil {
		h.Sources = []Source{}
	}
	for i := range h.Sources {
		if h.Sources[i].Problems == nil {
			h.Sources[i].Problems = []Problem{}
		}
	}
	if h.Rules.Rejected == nil {
		h.Rules.Rejected = []rules.Rejection{}
	}
	if h.Summary.Hosts == nil {
		h.Summary.Hosts = []string{}
	}
	if r.NewKey != "" {
		h.Baseline = &exportBaseline{Key: r.NewKey, Judged: !r.NotJudged, Keys: r.BaselineKeys,
			WindowEnd: timeStr(r.BaselineEnd), Sources: r.BaselineSources}
		if h.Baseline.Sources == nil {
			h.Baseline.Sources = []Source{}
		}
	}
	return h
}

// jsonOut writes JSON values made terminal-safe (termsafe.EscapeJSON)
// through a buffer, remembering the first error.
type jsonOut struct {
	w   *bufio.Writer
	err error
}

func (o *jsonOut) raw(s string) {
	if o.err == nil {
		_, o.err = o.w.WriteString(s)
	}
}

// value writes v; indent is the nesting depth of a document member (-1:
// compact, for JSON Lines).
func (o *jsonOut) value(v any, depth int) {
	if o.err != nil {
		return
	}
	var b []byte
	if depth < 0 {
		b, o.err = json.Marshal(v)
	} else {
		b, o.err = json.MarshalIndent(v, strings.Repeat("  ", depth), "  ")
	}
	if o.err == nil {
		_, o.err = o.w.Write(termsafe.EscapeJSON(b))
	}
}

// WriteExport writes findings (normally Result.Written() or a Filter's
// output) with r's context to w, streamed: memory stays bounded by the
// largest single finding or process, whatever the export's size.
//
// The JSON document holds the head (tool, sources, rules, summary,
// baseline), a "processes" table (each process once: the findings'
// processes, their ancestors and first children) and the "findings", which
// refer to processes by id. JSON Lines holds one {"export": head} line,
// then {"process": …} lines, each before the first finding that needs it,
// and {"finding": …} lines.
func WriteExport(w io.Writer, r *Result, findings []*Finding, format Format) error {
	if format != FormatJSON && format != FormatJSONL {
		return fmt.Errorf("%w: unknown format %d", ErrExport, format)
	}
	x := newExporter(r, findings)
	o := &jsonOut{w: bufio.NewWriterSize(w, 64<<10)}
	if format == FormatJSONL {
		x.written = make([]bool, len(r.Processes))
		o.value(exportLine{Export: x.header()}, -1)
		o.raw("\n")
		for _, f := range findings {
			x.need(f.Process, x.written, func(p *Process) {
				ep := x.process(p)
				o.value(exportLine{Process: &ep}, -1)
				o.raw("\n")
			})
			ef := x.finding(f)
			o.value(exportLine{Finding: &ef}, -1)
			o.raw("\n")
		}
	} else {
		head, err := json.MarshalIndent(x.header(), "", "  ")
		if err != nil {
			return fmt.Errorf("%w: %w", ErrExport, err)
		}
		o.raw(string(termsafe.EscapeJSON(head[:len(head)-2]))) // without "\n}"
		o.raw(",\n  \"processes\": [")
		n := 0
		for _, p := range r.Processes {
			if x.has(p) {
				o.raw(map[bool]string{true: "\n    ", false: ",\n    "}[n == 0])
				o.value(x.process(p), 2)
				n++
			}
		}
		o.raw(map[bool]string{true: "],\n", false: "\n  ],\n"}[n == 0])
		o.raw("  \"findings\": [")
		for i, f := range findings {
			o.raw(map[bool]string{true: "\n    ", false: ",\n    "}[i == 0])
			o.value(x.finding(f), 2)
		}
		o.raw(map[bool]string{true: "]\n}\n", false: "\n  ]\n}\n"}[len(findings) == 0])
	}
	if o.err == nil {
		o.err = o.w.Flush()
	}
	if o.err != nil {
		return fmt.Errorf("%w: %w", ErrExport, o.err)
	}
	return nil
}
