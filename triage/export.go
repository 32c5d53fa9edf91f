package triage

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/evtriage/evtriage/internal/termsafe"
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

// exportDoc is the JSON document.
type exportDoc struct {
	Tool      exportTool      `json:"tool"`
	Generated string          `json:"generated"`
	Sources   []Source        `json:"sources"`
	Rules     exportRules     `json:"rules"`
	Summary   exportSummary   `json:"summary"`
	Baseline  *exportBaseline `json:"baseline"`
	Findings  []exportFinding `json:"findings"`
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
	Keys      int      `json:"keys"`
	WindowEnd *string  `json:"window_end"`
	Sources   []Source `json:"sources"`
}

type exportFinding struct {
	Rule       exportRule          `json:"rule"`
	Event      exportEvent         `json:"event"`
	Process    *exportProcess      `json:"process"`
	Lineage    []exportNode        `json:"lineage"`
	Children   []exportNode        `json:"children"`
	Match      []rules.MatchDetail `json:"match"`
	Suppressed []string            `json:"suppressed"`
	New        *bool               `json:"new"`
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
	Time      string            `json:"time"`
	Recovered bool              `json:"recovered"`
	Fields    map[string]string `json:"fields"`
}

type exportProcess struct {
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
}

type exportNode struct {
	GUID        string  `json:"guid"`
	PID         uint32  `json:"pid"`
	Image       string  `json:"image"`
	CommandLine string  `json:"command_line"`
	Time        *string `json:"time"`
	Stub        bool    `json:"stub"`
}

// timeStr renders a time as RFC 3339 UTC with nanoseconds; nil when zero.
func timeStr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339Nano)
	return &s
}

func sourceNames(k SourceKind) []string {
	out := []string{}
	if k&FromSysmon != 0 {
		out = append(out, "sysmon")
	}
	if k&FromSecurity != 0 {
		out = append(out, "security")
	}
	return out
}

func node(p *Process) exportNode {
	return exportNode{GUID: p.GUID, PID: p.PID, Image: p.Image, CommandLine: p.CommandLine, Time: timeStr(p.Created), Stub: p.Stub}
}

// fieldMap flattens event fields into an object. Unnamed values are named
// "Data"; a repeated name gets "#2", "#3"… so no value is lost.
func fieldMap(ref *EventRef) map[string]string {
	m := make(map[string]string, len(ref.Event.Fields))
	var next map[string]int // per repeated name: the suffix to try next
	for _, f := range ref.Event.Fields {
		name := f.Name
		if name == "" {
			name = "Data"
		}
		key := name
		if _, dup := m[key]; dup {
			if next == nil {
				next = make(map[string]int)
			}
			i := max(next[name], 2)
			for {
				key = name + "#" + strconv.Itoa(i)
				i++
				if _, taken := m[key]; !taken {
					break
				}
			}
			next[name] = i
		}
		m[key] = f.Value
	}
	return m
}

// toExport converts a finding.
func toExport(f *Finding) exportFinding {
	ev := f.Event.Event
	ef := exportFinding{
		Event: exportEvent{File: f.Event.File, Offset: ev.Offset, RecordID: ev.RecordID, EventID: ev.EventID,
			Channel: ev.Channel, Provider: ev.Provider, Computer: ev.Computer, Recovered: ev.Recovered,
			Fields: fieldMap(f.Event)},
		Lineage:    []exportNode{},
		Children:   []exportNode{},
		Match:      f.Match,
		Suppressed: f.Suppressed,
		New:        f.New,
	}
	if s := timeStr(ev.Time); s != nil {
		ef.Event.Time = *s
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
	if p := f.Process; p != nil {
		ef.Process = &exportProcess{GUID: p.GUID, PID: p.PID, Image: p.Image, CommandLine: p.CommandLine,
			User: p.User, Created: timeStr(p.Created), Terminated: timeStr(p.Terminated),
			Sources: sourceNames(p.Sources), Stub: p.Stub, Regsvr32: p.Regsvr32, Renamed: p.Renamed}
		for _, q := range Lineage(p) {
			ef.Lineage = append(ef.Lineage, node(q))
		}
		for _, c := range p.Children {
			ef.Children = append(ef.Children, node(c))
		}
	}
	return ef
}

// WriteExport writes findings (normally Result.Written() or a Filter's
// output) with r's context to w.
func WriteExport(out io.Writer, r *Result, findings []*Finding, format Format) error {
	w := &safeWriter{w: out}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	switch format {
	case FormatJSONL:
		for _, f := range findings {
			if err := enc.Encode(toExport(f)); err != nil {
				return fmt.Errorf("%w: %w", ErrExport, err)
			}
		}
		return nil
	case FormatJSON:
	default:
		return fmt.Errorf("%w: unknown format %d", ErrExport, format)
	}
	doc := exportDoc{
		Tool:    exportTool{Name: "evtriage", Version: r.ToolVersion},
		Sources: r.Sources,
		Rules:   exportRules{Loaded: len(r.Loaded), Rejected: r.Rejected},
		Summary: exportSummary{Events: r.Events, Duplicates: r.Duplicates, Hosts: r.Hosts, Processes: len(r.Processes),
			Findings: len(findings), Suppressed: r.Unkept + len(r.Findings) - len(r.Written()), OrphanExit: r.Orphans,
			CorrelationOnly: r.CorrelationOnly},
		Findings: make([]exportFinding, 0, len(findings)),
	}
	if s := timeStr(r.Generated); s != nil {
		doc.Generated = *s
	}
	if doc.Sources == nil {
		doc.Sources = []Source{}
	}
	for i := range doc.Sources {
		if doc.Sources[i].Problems == nil {
			doc.Sources[i].Problems = []Problem{}
		}
	}
	if doc.Rules.Rejected == nil {
		doc.Rules.Rejected = []rules.Rejection{}
	}
	if doc.Summary.Hosts == nil {
		doc.Summary.Hosts = []string{}
	}
	if r.NewKey != "" {
		doc.Baseline = &exportBaseline{Key: r.NewKey, Keys: r.BaselineKeys, WindowEnd: timeStr(r.BaselineEnd), Sources: r.BaselineSources}
		if doc.Baseline.Sources == nil {
			doc.Baseline.Sources = []Source{}
		}
	}
	for _, f := range findings {
		doc.Findings = append(doc.Findings, toExport(f))
	}
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("%w: %w", ErrExport, err)
	}
	return nil
}

// safeWriter escapes, with termsafe.EscapeJSON, what encoding/json leaves
// raw in each JSON value it is given (one Encode call is one Write).
type safeWriter struct{ w io.Writer }

func (s *safeWriter) Write(p []byte) (int, error) {
	if _, err := s.w.Write(termsafe.EscapeJSON(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Export writes an export to path atomically: into a temporary file in the
// same folder, synced, then renamed over path. On failure no file is left
// and an existing path is untouched. The file is created with mode 0600
// (it holds evidence).
func Export(path string, r *Result, findings []*Finding, format Format) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrExport, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = WriteExport(tmp, r, findings, format); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("%w: %w", ErrExport, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("%w: %w", ErrExport, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("%w: %w", ErrExport, err)
	}
	return nil
}
