package triage

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/evtriage/evtriage/internal/termsafe"
	"github.com/evtriage/evtriage/internal/winpath"
	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/rules"
)

// Format is an export format.
type Format int

// Export formats: one JSON document; JSON Lines of the same content (a
// head line, then process and finding lines); a CSV timeline, one row per
// finding; Timesketch's JSON Lines, one event per finding. Each has its
// file: export.go (JSON, JSON Lines), export_csv.go, export_timesketch.go.
const (
	FormatJSON Format = iota
	FormatJSONL
	FormatCSV
	FormatTimesketch
	numFormats
)

// formatInfo is the one table of the formats: the name --format takes,
// the file extension, and a title for menus.
var formatInfo = [numFormats]struct{ name, ext, title string }{
	FormatJSON:       {"json", ".json", "JSON document"},
	FormatJSONL:      {"jsonl", ".jsonl", "JSON Lines"},
	FormatCSV:        {"csv", ".csv", "CSV timeline"},
	FormatTimesketch: {"timesketch", ".jsonl", "Timesketch"},
}

// Formats lists the export formats in the order menus show them.
func Formats() []Format { return []Format{FormatJSON, FormatJSONL, FormatCSV, FormatTimesketch} }

func (f Format) valid() bool { return f >= 0 && f < numFormats }

// String is the format's name, as --format takes it.
func (f Format) String() string {
	if !f.valid() {
		return fmt.Sprintf("Format(%d)", int(f))
	}
	return formatInfo[f].name
}

// Ext is the file extension of the format (".json", ".jsonl", ".csv").
func (f Format) Ext() string {
	if !f.valid() {
		return ""
	}
	return formatInfo[f].ext
}

// Title names the format for a menu ("CSV timeline").
func (f Format) Title() string {
	if !f.valid() {
		return f.String()
	}
	return formatInfo[f].title
}

// ParseFormat returns the format named s (case-insensitive).
func ParseFormat(s string) (Format, bool) {
	for f := range numFormats {
		if strings.EqualFold(s, formatInfo[f].name) {
			return f, true
		}
	}
	return 0, false
}

// FormatOfExt returns the format a file name's extension implies: .json,
// .jsonl and .csv. Timesketch shares .jsonl with JSON Lines and is never
// implied.
func FormatOfExt(name string) (Format, bool) {
	ext := filepath.Ext(name)
	for _, f := range []Format{FormatJSON, FormatJSONL, FormatCSV} {
		if strings.EqualFold(ext, formatInfo[f].ext) {
			return f, true
		}
	}
	return 0, false
}

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
	Tool      exportTool       `json:"tool"`
	Command   []string         `json:"command"`
	Generated string           `json:"generated"`
	Complete  bool             `json:"complete"`
	Selection *exportSelection `json:"selection"`
	Sources   []Source         `json:"sources"`
	Rules     exportRules      `json:"rules"`
	Summary   exportSummary    `json:"summary"`
	Baseline  *exportBaseline  `json:"baseline"`
	Case      *exportCase      `json:"case"`
}

// exportCase says which case file's marks an export carries.
type exportCase struct {
	Path    string `json:"path"`
	Marks   int    `json:"marks"`
	Matched int    `json:"matched"`
}

// exportMark is a mark as exports carry it: on a finding, its own mark or
// else its process's (On says which).
type exportMark struct {
	Verdict string  `json:"verdict"`
	Note    string  `json:"note"`
	Marked  *string `json:"marked"`
	On      string  `json:"on"`
}

func toExportMark(m Mark, on string) *exportMark {
	return &exportMark{Verdict: m.Verdict.String(), Note: m.Note, Marked: timeStr(m.Marked), On: on}
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
	Name     string `json:"name"`
	Version  string `json:"version"`
	Commit   string `json:"commit"`
	Modified bool   `json:"modified"`
}

type exportRules struct {
	Loaded   int               `json:"loaded"`
	IDs      []string          `json:"ids"`
	Digest   string            `json:"digest"`
	Rejected []rules.Rejection `json:"rejected"`
}

// exportSelection is how the findings were chosen (Selection).
type exportSelection struct {
	Screen  bool         `json:"screen"`
	Filter  exportFilter `json:"filter"`
	Subtree *int         `json:"subtree"`
}

// exportFilter is a Filter as exports record it.
type exportFilter struct {
	MinLevel     string            `json:"min_level"`
	Host         string            `json:"host"`
	From         *string           `json:"from"`
	To           *string           `json:"to"`
	Sources      []string          `json:"sources"`
	NewOnly      bool              `json:"new_only"`
	UnsignedOnly bool              `json:"unsigned_only"`
	RulesOff     []string          `json:"rules_off"`
	FiltersOff   []exportFilterOff `json:"filters_off"`
}

// exportFilterOff is a rule's detection identifiers switched off.
type exportFilterOff struct {
	Rule        string   `json:"rule"`
	Identifiers []string `json:"identifiers"`
}

// toExportFilter converts f, its sets sorted.
func toExportFilter(f *Filter) exportFilter {
	ef := exportFilter{MinLevel: f.MinLevel.String(), Host: f.Host, From: timeStr(f.From), To: timeStr(f.To),
		Sources: f.Sources.Names(), NewOnly: f.NewOnly, UnsignedOnly: f.UnsignedOnly, RulesOff: []string{},
		FiltersOff: []exportFilterOff{}}
	for id, off := range f.DisabledRules {
		if off {
			ef.RulesOff = append(ef.RulesOff, id)
		}
	}
	slices.Sort(ef.RulesOff)
	for rule, idents := range f.DisabledIdents {
		o := exportFilterOff{Rule: rule, Identifiers: []string{}}
		for id, off := range idents {
			if off {
				o.Identifiers = append(o.Identifiers, id)
			}
		}
		if len(o.Identifiers) > 0 {
			slices.Sort(o.Identifiers)
			ef.FiltersOff = append(ef.FiltersOff, o)
		}
	}
	slices.SortFunc(ef.FiltersOff, func(a, b exportFilterOff) int { return strings.Compare(a.Rule, b.Rule) })
	return ef
}

// String is the filter on one line, as CSV and Timesketch rows carry it:
// "min-level medium; host WS1; rules off: a, b" ("min-level
// informational" alone selects everything the rules report).
func (ef *exportFilter) String() string {
	parts := []string{"min-level " + ef.MinLevel}
	add := func(cond bool, s string) {
		if cond {
			parts = append(parts, s)
		}
	}
	add(ef.Host != "", "host "+ef.Host)
	add(ef.From != nil, "from "+deref(ef.From))
	add(ef.To != nil, "to "+deref(ef.To))
	add(len(ef.Sources) > 0, "sources "+strings.Join(ef.Sources, ", "))
	add(ef.NewOnly, "new only")
	add(ef.UnsignedOnly, "unsigned only")
	add(len(ef.RulesOff) > 0, "rules off: "+strings.Join(ef.RulesOff, ", "))
	for _, o := range ef.FiltersOff {
		parts = append(parts, "filters off in "+o.Rule+": "+strings.Join(o.Identifiers, ", "))
	}
	return strings.Join(parts, "; ")
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
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
	// Mark is the analyst's verdict (Result.Case): the finding's own, or
	// its process's; null when none applies.
	Mark *exportMark `json:"mark"`
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
	Mark          *exportMark    `json:"mark"`
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
// and numbers nothing itself: ids are Process.ID, or a Stream's.
type exporter struct {
	r        *Result
	findings []*Finding
	in       []bool         // by Process.ID: in the table
	written  []bool         // by Process.ID: already written (JSON Lines)
	ids      map[string]int // a Stream's ids of the processes in its table, by Process.Key
}

func newExporter(r *Result, findings []*Finding) *exporter {
	x := &exporter{r: r, findings: findings, in: make([]bool, len(r.Processes))}
	x.subtree(func(p *Process) { x.need(p, x.in, func(*Process) {}) })
	for _, f := range findings {
		x.need(f.Process, x.in, func(*Process) {})
	}
	return x
}

// subtreeRoot is the root of the exported subtree (Selection), nil when
// none.
func (x *exporter) subtreeRoot() *Process {
	if sel := x.r.Selection; sel != nil {
		return sel.Subtree
	}
	return nil
}

// subtree calls each for every process of the exported subtree (none
// without one), the root first, depth first; each once, so that a crafted
// cycle cannot loop.
func (x *exporter) subtree(each func(*Process)) {
	root := x.subtreeRoot()
	if !x.valid(root) {
		return
	}
	seen := make([]bool, len(x.r.Processes))
	stack := []*Process{root}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if !x.valid(p) || seen[p.ID] {
			continue
		}
		seen[p.ID] = true
		each(p)
		for i := len(p.Children) - 1; i >= 0; i-- {
			stack = append(stack, p.Children[i])
		}
	}
}

// has reports whether p is a process of the result in the table.
func (x *exporter) has(p *Process) bool {
	_, ok := x.id(p)
	return ok
}

// id returns p's id in the table, and whether it is there.
func (x *exporter) id(p *Process) (int, bool) {
	if !x.valid(p) {
		return 0, false
	}
	if x.ids != nil {
		id, ok := x.ids[p.Key()]
		return id, ok
	}
	return p.ID, x.in[p.ID]
}

// need calls add, once, for each process a finding on p needs that is not
// marked in done yet, and marks it: the ancestors root-most first, p, then
// its first maxChildren children (the order JSON Lines writes them in).
// The walk up stops at a marked process (its ancestors are marked too), so
// that a whole export costs O(processes + findings).
func (x *exporter) need(p *Process, done []bool, add func(*Process)) {
	x.walk(p, func(q *Process) bool { return done[q.ID] }, func(q *Process) {
		done[q.ID] = true
		add(q)
	})
}

// walk is need with done a predicate, which add must make true (a
// Stream's table, by key).
func (x *exporter) walk(p *Process, done func(*Process) bool, add func(*Process)) {
	if !x.valid(p) {
		return
	}
	var up []*Process
	for q := p; x.valid(q) && !done(q) && len(up) <= len(x.r.Processes); q = q.Parent {
		up = append(up, q)
	}
	for i := len(up) - 1; i >= 0; i-- {
		if q := up[i]; !done(q) { // a cycle would list one twice
			add(q)
		}
	}
	n := 0
	for _, c := range p.Children {
		if x.valid(c) {
			if !done(c) {
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

// process converts a process of the table, with its activity.
func (x *exporter) process(p *Process) exportProcess {
	ep := x.processRow(p)
	x.activity(p, &ep.Activity)
	return ep
}

// processRow converts a process of the table without its activity
// events: what a flat record of a finding needs of it.
func (x *exporter) processRow(p *Process) exportProcess {
	pid, _ := x.id(p)
	ep := exportProcess{ID: pid, Host: p.Host, GUID: p.GUID.String(), PID: p.PID, Image: p.Image, CommandLine: p.CommandLine,
		User: p.User, Created: timeStr(p.Created), Terminated: timeStr(p.Terminated), Sources: p.Sources.Names(),
		Stub: p.Stub, Regsvr32: p.Regsvr32, Renamed: p.Renamed, Link: p.Link.String(), Children: []int{},
		ChildrenTotal: len(p.Children)}
	if id, ok := x.id(p.Parent); ok {
		ep.Parent = &id
	}
	if m, ok := x.r.Case.ProcessMark(x.r, p); ok {
		ep.Mark = toExportMark(m, KindProcess)
	}
	for _, c := range p.Children {
		if len(ep.Children) == maxChildren {
			break
		}
		if id, ok := x.id(c); ok {
			ep.Children = append(ep.Children, id)
		}
	}
	return ep
}

// activity converts p's activity counts and kept events into a.
func (x *exporter) activity(p *Process, a *exportActivity) {
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
	if m, ok := x.r.Case.FindingMark(f); ok {
		ef.Mark = toExportMark(m, KindFinding)
	} else if m, ok := x.r.Case.ProcessMark(x.r, f.Process); ok {
		ef.Mark = toExportMark(m, KindProcess)
	}
	if ef.Suppressed == nil {
		ef.Suppressed = []string{}
	}
	if id, ok := x.id(f.Process); ok {
		ef.Process = &id
		depth := 0
		for q := f.Process; depth <= len(x.r.Processes); q = q.Parent {
			qid, ok := x.id(q)
			if !ok {
				break
			}
			if len(ef.Lineage) < maxLineage {
				ef.Lineage = append(ef.Lineage, qid)
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
	pv := r.Provenance
	h := &exportHeader{
		Tool:     exportTool{Name: "evtriage", Version: pv.Version, Commit: pv.Commit, Modified: pv.Modified},
		Command:  pv.Command,
		Complete: !r.Incomplete,
		Sources:  slices.Clone(r.Sources), // normalised below: r is shared
		Rules:    exportRules{Loaded: len(r.Loaded), IDs: make([]string, 0, len(r.Loaded)), Digest: r.RulesDigest, Rejected: r.Rejected},
		Summary: exportSummary{Events: r.Events, Duplicates: r.Duplicates, Hosts: r.Hosts, Processes: r.ProcessCount(),
			Findings: len(x.findings), Suppressed: r.Unkept + len(r.Findings) - len(r.Written()), OrphanExit: r.Orphans,
			CorrelationOnly: r.CorrelationOnly},
	}
	if s := timeStr(r.Generated); s != nil {
		h.Generated = *s
	}
	if h.Command == nil {
		h.Command = []string{}
	}
	for _, rl := range r.Loaded {
		h.Rules.IDs = append(h.Rules.IDs, rl.ID)
	}
	if sel := r.Selection; sel != nil {
		h.Selection = &exportSelection{Screen: sel.Screen, Filter: toExportFilter(&sel.Filter)}
		if id, ok := x.id(sel.Subtree); ok {
			h.Selection.Subtree = &id
		}
	}
	if h.Sources == nil {
		h.Sources = []Source{}
	}
	normaliseSources(h.Sources)
	if h.Rules.Rejected == nil {
		h.Rules.Rejected = []rules.Rejection{}
	}
	if h.Summary.Hosts == nil {
		h.Summary.Hosts = []string{}
	}
	if r.Case != nil {
		h.Case = &exportCase{Path: r.CasePath, Marks: r.Case.Len(), Matched: r.Case.Matched(r)}
	}
	if r.NewKey != "" {
		h.Baseline = &exportBaseline{Key: r.NewKey, Judged: !r.NotJudged, Keys: r.BaselineKeys,
			WindowEnd: timeStr(r.BaselineEnd), Sources: slices.Clone(r.BaselineSources)}
		if h.Baseline.Sources == nil {
			h.Baseline.Sources = []Source{}
		}
		normaliseSources(h.Baseline.Sources)
	}
	return h
}

// normaliseSources gives the sources' lists their empty JSON form ([], not
// null).
func normaliseSources(srcs []Source) {
	for i := range srcs {
		if srcs[i].Problems == nil {
			srcs[i].Problems = []Problem{}
		}
		if srcs[i].Hosts == nil {
			srcs[i].Hosts = []string{}
		}
	}
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
// CSV and Timesketch are flat: one row or event per finding (see
// flatFinding); Timesketch leaves out the findings Undated lists.
//
// The JSON document holds the head (tool, sources, rules, summary,
// baseline), a "processes" table (each process once: the findings'
// processes, their ancestors and first children, and with Result.Subtree
// set every process of that subtree, with its activity) and the
// "findings", which refer to processes by id. JSON Lines holds one {"export": head} line,
// then {"process": …} lines, each before the first finding that needs it,
// and {"finding": …} lines.
func WriteExport(w io.Writer, r *Result, findings []*Finding, format Format) error {
	if !format.valid() {
		return fmt.Errorf("%w: unknown format %d", ErrExport, format)
	}
	x := newExporter(r, findings)
	o := &jsonOut{w: bufio.NewWriterSize(w, 64<<10)}
	switch format {
	case FormatCSV:
		o.err = x.writeCSV(o.w)
	case FormatTimesketch:
		x.writeTimesketch(o)
	case FormatJSONL:
		x.written = make([]bool, len(r.Processes))
		o.value(exportLine{Export: x.header()}, -1)
		o.raw("\n")
		// The subtree, its root (which the head names) and the root's
		// ancestors first.
		writeProcess := func(p *Process) {
			ep := x.process(p)
			o.value(exportLine{Process: &ep}, -1)
			o.raw("\n")
		}
		x.subtree(func(p *Process) { x.need(p, x.written, writeProcess) })
		for _, f := range findings {
			x.need(f.Process, x.written, writeProcess)
			ef := x.finding(f)
			o.value(exportLine{Finding: &ef}, -1)
			o.raw("\n")
		}
	default:
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

// flatColumn names a field of a finding's flat record (flatFinding).
type flatColumn int

// The flat record's fields, in the CSV's column order. The first eighteen
// are the documented timeline columns; tags and lineage follow, then what
// produced the export, repeated on every row so that rows of many exports
// pasted together still say where they came from.
const (
	colTime flatColumn = iota
	colHost
	colLevel
	colRuleTitle
	colRuleID
	colEventID
	colChannel
	colImage
	colPID
	colCommandLine
	colParentImage
	colParentCommandLine
	colUser
	colFile
	colRecordID
	colNew
	colVerdict
	colDetails
	colTags
	colLineage
	colExportGenerated
	colExportTool
	colExportCommand
	colExportRules
	colExportFilters
	colExportComplete
	numFlatColumns
)

// flatNames are the columns' names: the CSV header and the keys of a
// Timesketch line.
var flatNames = [numFlatColumns]string{
	colTime: "time", colHost: "host", colLevel: "level", colRuleTitle: "rule_title", colRuleID: "rule_id",
	colEventID: "event_id", colChannel: "channel", colImage: "image", colPID: "pid", colCommandLine: "command_line",
	colParentImage: "parent_image", colParentCommandLine: "parent_command_line", colUser: "user", colFile: "file",
	colRecordID: "record_id", colNew: "new", colVerdict: "verdict", colDetails: "details", colTags: "tags",
	colLineage: "lineage", colExportGenerated: "export_generated", colExportTool: "export_tool",
	colExportCommand: "export_command", colExportRules: "export_rules", colExportFilters: "export_filters",
	colExportComplete: "export_complete",
}

// flatKind says how a flat value is typed where types exist (Timesketch).
type flatKind uint8

const (
	flatNone   flatKind = iota // no value: an empty cell, no key
	flatText                   // a string (possibly empty)
	flatNumber                 // an unsigned integer
	flatBool                   // true or false
)

// flatValue is one field of a flat record.
type flatValue struct {
	kind flatKind
	text string
	num  uint64
}

func flatString(s string) flatValue { return flatValue{kind: flatText, text: s} }
func flatUint(n uint64) flatValue   { return flatValue{kind: flatNumber, num: n} }
func flatBoolean(b bool) flatValue {
	if b {
		return flatValue{kind: flatBool, num: 1}
	}
	return flatValue{kind: flatBool}
}

// String is the value as a CSV cell shows it.
func (v flatValue) String() string {
	switch v.kind {
	case flatText:
		return v.text
	case flatNumber:
		return strconv.FormatUint(v.num, 10)
	case flatBool:
		return strconv.FormatBool(v.num != 0)
	}
	return ""
}

// flatFinding is a finding as one flat record: a CSV row, a Timesketch
// event. It is made from the export's own conversions of the finding
// (exporter.finding) and of its processes (exporter.processRow), so that
// every format says the same thing.
type flatFinding struct {
	time    time.Time // the event's time; zero when it has none
	message string    // one line: rule title, process, command line or detail
	cols    [numFlatColumns]flatValue
}

// maxFlatText bounds a text value of a flat record in bytes; longer
// evidence is cut and says how many bytes were left out (termsafe.Cut).
// Spreadsheets hold at most 32,767 characters in a cell, and search
// engines refuse longer terms; the JSON export holds every value whole.
const maxFlatText = 32000

// flatTimeLayout is the CSV's time: RFC 3339 in UTC with the event's full
// precision (100 ns) at a fixed width, so that the column also sorts as
// text.
const flatTimeLayout = "2006-01-02T15:04:05.0000000Z"

// provenance returns the columns that say what produced the export; they
// are the same on every row.
func (x *exporter) provenance() [numFlatColumns]flatValue {
	var cols [numFlatColumns]flatValue
	h := x.header()
	tool := "evtriage " + h.Tool.Version
	if h.Tool.Commit != "" {
		tool += " commit " + h.Tool.Commit
	}
	if h.Tool.Modified {
		tool += " (modified)"
	}
	args := make([]string, len(h.Command))
	for i, a := range h.Command {
		args[i] = a
		if a == "" || strings.ContainsAny(a, " \t\"'\\") {
			args[i] = strconv.Quote(a)
		}
	}
	rs := fmt.Sprintf("%d rules, %s", h.Rules.Loaded, h.Rules.Digest)
	if n := len(h.Rules.Rejected); n > 0 {
		rs += fmt.Sprintf(", %d rejected", n)
	}
	filters := ""
	if sel := h.Selection; sel != nil {
		filters = sel.Filter.String()
		if sel.Screen {
			filters = "screen: " + filters
		}
		if sel.Subtree != nil {
			p := x.r.Processes[*sel.Subtree]
			filters += fmt.Sprintf("; subtree of %s (pid %d on %s)", winpath.Base(p.Image), p.PID, p.Host)
		}
	}
	cols[colExportGenerated] = flatString(h.Generated)
	cols[colExportTool] = flatString(tool)
	cols[colExportCommand] = flatString(strings.Join(args, " "))
	cols[colExportRules] = flatString(rs)
	cols[colExportFilters] = flatString(filters)
	cols[colExportComplete] = flatBoolean(h.Complete)
	return cols
}

// columnFields are the event fields a column may show, by column: the
// details leave out a field whose value a column already shows.
var columnFields = map[string]flatColumn{
	"Image": colImage, "NewProcessName": colImage, "CommandLine": colCommandLine, "ParentImage": colParentImage,
	"ParentProcessName": colParentImage, "ParentCommandLine": colParentCommandLine, "User": colUser,
}

// flat makes the flat record of a finding; prov are the provenance
// columns (provenance), copied into it.
func (x *exporter) flat(f *Finding, prov *[numFlatColumns]flatValue) flatFinding {
	ef := x.finding(f)
	ev := &ef.Event
	fl := flatFinding{cols: *prov}
	c := &fl.cols
	if f.Event != nil && f.Event.Event != nil {
		fl.time = f.Event.Event.Time
	}
	if !fl.time.IsZero() {
		c[colTime] = flatString(fl.time.UTC().Format(flatTimeLayout))
	}
	c[colHost] = flatString(ev.Computer)
	c[colLevel] = flatString(ef.Rule.Level)
	c[colRuleTitle] = flatString(ef.Rule.Title)
	c[colRuleID] = flatString(ef.Rule.ID)
	c[colEventID] = flatUint(uint64(ev.EventID))
	c[colChannel] = flatString(ev.Channel)
	c[colFile] = flatString(ev.File)
	c[colRecordID] = flatUint(ev.RecordID)
	c[colTags] = flatString(strings.Join(ef.Rule.Tags, ", "))
	c[colVerdict] = flatString("")
	if ef.Mark != nil {
		c[colVerdict] = flatString(ef.Mark.Verdict)
	}
	c[colNew] = flatString("")
	if ef.New != nil {
		c[colNew] = flatString(map[bool]string{true: "new", false: "seen"}[*ef.New])
	}
	// The process's and its parent's values, as the processes table has
	// them; for an event of no known process, the event's own.
	field := func(names ...string) string {
		for _, n := range names {
			if v := ev.Fields[n]; v != "" {
				return v
			}
		}
		return ""
	}
	c[colImage] = flatString(field("Image", "NewProcessName"))
	c[colCommandLine] = flatString(field("CommandLine"))
	c[colParentImage] = flatString(field("ParentImage", "ParentProcessName"))
	c[colParentCommandLine] = flatString(field("ParentCommandLine"))
	c[colUser] = flatString(field("User"))
	if ef.Process != nil {
		p := x.r.Processes[*ef.Process]
		row := x.processRow(p)
		c[colImage], c[colPID] = flatString(row.Image), flatUint(uint64(row.PID))
		c[colCommandLine], c[colUser] = flatString(row.CommandLine), flatString(row.User)
		if row.Parent != nil {
			parent := x.processRow(x.r.Processes[*row.Parent])
			c[colParentImage], c[colParentCommandLine] = flatString(parent.Image), flatString(parent.CommandLine)
		}
		names := make([]string, 0, len(ef.Lineage)+1)
		if ef.LineageOmitted > 0 {
			names = append(names, fmt.Sprintf("(%d more)", ef.LineageOmitted))
		}
		for _, id := range ef.Lineage {
			names = append(names, winpath.Base(x.r.Processes[id].Image))
		}
		c[colLineage] = flatString(strings.Join(names, " > "))
	}
	// The details: the analyst's note (and whose mark the verdict is when
	// it is the process's), a correlation's summary, then the event's
	// fields that no column shows, by name.
	var details []string
	if mk := ef.Mark; mk != nil {
		if mk.On == KindProcess {
			details = append(details, "verdict: its process's")
		}
		if mk.Note != "" {
			details = append(details, "note: "+mk.Note)
		}
	}
	if f.Correlation != nil {
		details = append(details, f.Correlation.Summary())
	}
	for _, name := range slices.Sorted(maps.Keys(ev.Fields)) {
		v := ev.Fields[name]
		if col, ok := columnFields[name]; ok && c[col].text == v {
			continue
		}
		details = append(details, name+": "+v)
	}
	c[colDetails] = flatString(strings.Join(details, " ¦ "))
	for i := range c {
		if c[i].kind == flatText {
			c[i].text = termsafe.Cut(c[i].text, maxFlatText)
		}
	}
	// The message: what the finding is about, in one line.
	what := winpath.Base(c[colImage].text)
	if c[colPID].kind == flatNumber {
		what += fmt.Sprintf(" (pid %d)", c[colPID].num)
	}
	detail := c[colCommandLine].text
	if v := ev.Fields["ImageLoaded"]; v != "" {
		detail = "loaded " + v
	}
	if f.Correlation != nil {
		detail = f.Correlation.Summary()
	}
	fl.message = ef.Rule.Title
	for _, part := range []string{what, detail} {
		if strings.TrimSpace(part) != "" {
			fl.message += " — " + part
		}
	}
	fl.message = termsafe.Cut(fl.message, maxFlatText)
	return fl
}
