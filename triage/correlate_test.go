package triage

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/rules"
)

// Hand-written rules for the correlation tests: regsvr32 starting (Sysmon 1
// and Security 4688, through the logsource's field renames) and regsvr32
// connecting out (Sysmon 3).
const (
	corrStartRule = `title: regsvr32 start
id: 0c0c0c0c-0000-4000-8000-000000000001
name: regsvr32_start
level: low
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '\regsvr32.exe'
    condition: selection
`
	corrNetRule = `title: regsvr32 network
id: 0c0c0c0c-0000-4000-8000-000000000002
name: regsvr32_net
level: low
logsource:
    product: windows
    category: network_connection
detection:
    selection:
        Image|endswith: '\regsvr32.exe'
    condition: selection
`
)

// corrRepeatedRule fires on three regsvr32 starts of one user within a
// minute.
const corrRepeatedRule = `title: repeated regsvr32
id: 0c0c0c0c-0000-4000-8000-0000000000c1
level: high
correlation:
    type: event_count
    rules: [regsvr32_start]
    group-by: [User]
    timespan: 1m
    condition: {gte: 3}
`

// corrRules writes the base rules and docs to a folder and loads them
// alone (no built-in pack), failing on any rejection.
func corrRules(t *testing.T, docs ...string) *rules.Set {
	t.Helper()
	dir := t.TempDir()
	for i, d := range append([]string{corrStartRule, corrNetRule}, docs...) {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("r%d.yml", i)), []byte(d), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	set := rules.Load(rules.LoadOptions{NoBuiltin: true, Paths: []string{dir}})
	if rj := set.Rejected(); len(rj) > 0 {
		t.Fatalf("rejected: %+v", rj)
	}
	return set
}

// regStart is a Sysmon 1 of regsvr32 (guid g) run by user.
func regStart(rec uint64, s, g int, user string) *parser.Event {
	e := s1("WS1", rec, at(s), g, 1000+g, sys32Reg, 1, 1001, `C:\Windows\explorer.exe`)
	for i := range e.Fields {
		if e.Fields[i].Name == "User" {
			e.Fields[i].Value = user
		}
	}
	return e
}

// regNet is a Sysmon 3 of regsvr32 (guid g) run by user.
func regNet(rec uint64, s, g int, user string) *parser.Event {
	return ev(sysmonCh, 3, "WS1", rec, at(s), "ProcessGuid", guid(g), "ProcessId", fmt.Sprint(1000+g),
		"Image", sys32Reg, "User", user, "DestinationIp", "203.0.113.7", "DestinationPort", "443")
}

// describeFinding renders a finding as "title" for a rule match, or
// "title [group] count=N start–end: file#rec file#rec…" for a correlation.
func describeFinding(f *Finding) string {
	s := f.Rule.Title
	if f.Correlation == nil {
		return fmt.Sprintf("%s %s#%d", s, filepath.Base(f.Event.File), f.Event.Event.RecordID)
	}
	c := f.Correlation
	var evs []string
	for _, e := range c.Events {
		evs = append(evs, fmt.Sprintf("%s#%d", filepath.Base(e.Ref.File), e.Ref.Event.RecordID))
	}
	return fmt.Sprintf("%s [%s] count=%d %s–%s: %s", s, strings.Join(c.Group, ","), c.Count,
		c.Start.Sub(t0), c.End.Sub(t0), strings.Join(evs, " "))
}

func TestHuntCorrelations(t *testing.T) {
	const (
		alice = `WS1\alice`
		bob   = `WS1\bob`
	)
	tests := []struct {
		name  string
		rules []string
		// files are written and read in this order; events are out of
		// time order across them on purpose.
		files    [][]*parser.Event
		want     []string
		corrOnly int
	}{
		{
			name:  "event_count by user, base rule correlation-only",
			rules: []string{corrRepeatedRule},
			files: [][]*parser.Event{
				{regStart(1, 0, 10, alice), regStart(2, 40, 11, alice), regStart(3, 5, 20, bob)},
				{regStart(1, 10, 12, alice), regStart(2, 20, 13, alice), regStart(3, 300, 21, bob)},
			},
			// In file order alice's starts come at 0, 40, 10, 20 s: only
			// time order gives three within a minute (0, 10, 20); the one
			// at 40 s opens a new window after the firing.
			want:     []string{"repeated regsvr32 [WS1\\alice] count=3 0s–20s: a.evtx#1 b.evtx#1 b.evtx#2"},
			corrOnly: 6,
		},
		{
			name: "temporal with generate reports the base rules too",
			rules: []string{`title: regsvr32 started and connected out
id: 0c0c0c0c-0000-4000-8000-0000000000c2
level: high
correlation:
    type: temporal
    rules: [regsvr32_start, regsvr32_net]
    group-by: [ProcessGuid]
    timespan: 30s
    generate: true
`},
			files: [][]*parser.Event{
				{regStart(1, 0, 10, alice), regStart(2, 0, 11, bob)},
				{regNet(1, 10, 10, alice), regNet(2, 100, 11, bob)},
			},
			want: []string{
				"regsvr32 start a.evtx#1", "regsvr32 start a.evtx#2",
				"regsvr32 network b.evtx#1",
				"regsvr32 started and connected out [" + guid(10) + "] count=2 0s–10s: a.evtx#1 b.evtx#1",
				"regsvr32 network b.evtx#2",
			},
		},
		{
			name: "temporal_ordered needs the order",
			rules: []string{`title: start then connect
id: 0c0c0c0c-0000-4000-8000-0000000000c3
correlation:
    type: temporal_ordered
    rules: [regsvr32_start, regsvr32_net]
    group-by: [User]
    timespan: 1m
`},
			files: [][]*parser.Event{
				{regNet(1, 0, 20, bob), regStart(2, 10, 20, bob), regStart(3, 20, 10, alice)},
				{regNet(1, 30, 10, alice)},
			},
			want:     []string{"start then connect [WS1\\alice] count=2 20s–30s: a.evtx#3 b.evtx#1"},
			corrOnly: 4,
		},
		{
			name: "group-by follows the field renames of Security 4688",
			rules: []string{`title: regsvr32 image started twice
id: 0c0c0c0c-0000-4000-8000-0000000000c4
correlation:
    type: event_count
    rules: [regsvr32_start]
    group-by: [Image]
    timespan: 5m
    condition: {gte: 2}
`},
			files: [][]*parser.Event{
				{regStart(1, 0, 10, alice)},
				{n4688("WS1", 7, at(60), 0x99, sys32Reg, 0x10, `C:\Windows\explorer.exe`)},
			},
			want:     []string{`regsvr32 image started twice [` + sys32Reg + `] count=2 0s–1m0s: a.evtx#1 b.evtx#7`},
			corrOnly: 2,
		},
		{
			name: "chained: a quiet event_count then a temporal_ordered over it",
			rules: []string{`title: repeated regsvr32 by user
id: 0c0c0c0c-0000-4000-8000-0000000000c5
name: repeated_regsvr32
correlation:
    type: event_count
    rules: [regsvr32_start]
    group-by: [User]
    timespan: 1m
    condition: {gte: 2}
`, `title: repeated regsvr32 then network
id: 0c0c0c0c-0000-4000-8000-0000000000c6
level: critical
correlation:
    type: temporal_ordered
    rules: [repeated_regsvr32, regsvr32_net]
    group-by: [User]
    timespan: 5m
`},
			files: [][]*parser.Event{
				{regStart(1, 0, 10, alice), regStart(2, 10, 11, alice), regNet(3, 20, 11, alice)},
				{regStart(1, 15, 12, bob), regNet(2, 25, 12, bob)}, // bob started once: no chain
			},
			want:     []string{"repeated regsvr32 then network [WS1\\alice] count=2 0s–20s: a.evtx#1 a.evtx#2 a.evtx#3"},
			corrOnly: 5,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set := corrRules(t, tc.rules...)
			dir := t.TempDir()
			h := NewHunter(Options{Rules: set})
			for i, evs := range tc.files {
				path := filepath.Join(dir, string(rune('a'+i))+".evtx")
				writeLog(t, path, evs)
				if err := h.AddFile(context.Background(), path, nil); err != nil {
					t.Fatal(err)
				}
			}
			snapshot := h.Result()
			res := h.Finish()
			for name, r := range map[string]*Result{"Result": snapshot, "Finish": res} {
				var got []string
				for _, f := range r.Written() {
					got = append(got, describeFinding(f))
				}
				if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
					t.Errorf("%s:\n%s\nwant:\n%s", name, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
				}
				if r.CorrelationOnly != tc.corrOnly {
					t.Errorf("%s: %d correlation-only matches, want %d", name, r.CorrelationOnly, tc.corrOnly)
				}
			}
			for _, f := range res.Findings {
				c := f.Correlation
				if c == nil {
					continue
				}
				last := c.Events[len(c.Events)-1]
				if last.Ref != f.Event || f.Process == nil || c.Total != len(c.Events) || !c.End.Equal(f.Event.Event.Time) {
					t.Errorf("%s: completing event %+v, finding event %+v, process %v, total %d", f.Rule.Title, last.Ref, f.Event, f.Process, c.Total)
				}
				if len(f.Match) != 0 || len(f.Suppressed) != 0 {
					t.Errorf("%s: match %v suppressed %v", f.Rule.Title, f.Match, f.Suppressed)
				}
				if f.Process != nil && !containsFinding(f.Process.Findings, f) {
					t.Errorf("%s: not among its process's findings", f.Rule.Title)
				}
			}
			checkExport(t, res)
		})
	}
}

func containsFinding(fs []*Finding, f *Finding) bool {
	for _, x := range fs {
		if x == f {
			return true
		}
	}
	return false
}

// checkExport writes res as JSON and JSON Lines, validates both against the
// schema and checks that each correlation finding carries its firing.
func checkExport(t *testing.T, res *Result) {
	t.Helper()
	schema, err := decodeSchema()
	if err != nil {
		t.Fatal(err)
	}
	var doc bytes.Buffer
	if err := WriteExport(&doc, res, res.Written(), FormatJSON); err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(doc.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	for _, e := range validate(schema, v) {
		t.Errorf("json: %s", e)
	}
	var lines bytes.Buffer
	if err := WriteExport(&lines, res, res.Written(), FormatJSONL); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&lines)
	sc.Buffer(nil, 1<<24)
	i := 0
	written := res.Written()
	for sc.Scan() {
		var line any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		vd := &validator{root: schema}
		vd.check(map[string]any{"$ref": "#/$defs/line"}, line, "$")
		for _, e := range vd.errs {
			t.Errorf("jsonl line %d: %s", i+1, e)
		}
		var el exportLine
		if err := json.Unmarshal(sc.Bytes(), &el); err != nil {
			t.Fatal(err)
		}
		if el.Finding == nil {
			continue
		}
		ef := *el.Finding
		f := written[i]
		switch c := f.Correlation; {
		case c == nil && ef.Correlation != nil:
			t.Errorf("line %d: rule finding carries a correlation", i+1)
		case c != nil:
			ec := ef.Correlation
			if ec == nil {
				t.Fatalf("line %d: correlation missing", i+1)
			}
			if ec.Type != c.Type || ec.Count != c.Count || ec.EventsTotal != c.Total || len(ec.Events) != len(c.Events) ||
				len(ec.Group) != len(c.GroupBy) || ec.TimespanSeconds != int64(c.Timespan/time.Second) {
				t.Errorf("line %d: exported %+v from %+v", i+1, ec, c)
			}
			for j, g := range ec.Group {
				if g.Field != c.GroupBy[j] || g.Value != c.Group[j] {
					t.Errorf("line %d: group %d is %+v", i+1, j, g)
				}
			}
			last := ec.Events[len(ec.Events)-1]
			if last.File != ef.Event.File || last.RecordID != ef.Event.RecordID || ef.Event.Time == nil || last.Time != *ef.Event.Time || ec.End != *ef.Event.Time {
				t.Errorf("line %d: last contributing event %+v is not the finding's event %+v", i+1, last, ef.Event)
			}
		}
		i++
	}
	if i != len(written) {
		t.Errorf("%d lines, want %d", i, len(written))
	}
}

// TestCorrelationEventsBounded: a firing over more events than
// MaxCorrelationEvents lists the latest and counts them all.
func TestCorrelationEventsBounded(t *testing.T) {
	n := MaxCorrelationEvents + 5
	set := corrRules(t, fmt.Sprintf(`title: many
id: 0c0c0c0c-0000-4000-8000-0000000000c7
correlation:
    type: event_count
    rules: [regsvr32_start]
    timespan: 1h
    condition: {gte: %d}
`, n))
	evs := make([]*parser.Event, n)
	for i := range evs {
		evs[i] = regStart(uint64(i+1), i, 10+i, `WS1\alice`)
	}
	path := filepath.Join(t.TempDir(), "a.evtx")
	writeLog(t, path, evs)
	h := NewHunter(Options{Rules: set, WrittenOnly: true, NoActivity: true})
	if err := h.AddFile(context.Background(), path, nil); err != nil {
		t.Fatal(err)
	}
	res := h.Finish()
	if len(res.Findings) != 1 || res.Findings[0].Correlation == nil {
		t.Fatalf("%d findings", len(res.Findings))
	}
	c := res.Findings[0].Correlation
	if c.Count != n || c.Total != n || len(c.Events) != MaxCorrelationEvents || c.Events[0].Ref.Event.RecordID != 6 ||
		!c.Start.Equal(at(0)) || len(c.Group) != 0 {
		t.Errorf("count %d total %d listed %d first #%d start %v group %q", c.Count, c.Total, len(c.Events),
			c.Events[0].Ref.Event.RecordID, c.Start, c.Group)
	}
	checkExport(t, res)
}

// TestCorrelationBaseline: a correlation finding is judged like any
// other, by the key of the event that completed it (and its process), from
// an earlier log and from an earlier export of it.
func TestCorrelationBaseline(t *testing.T) {
	set := corrRules(t, `title: repeated regsvr32
id: 0c0c0c0c-0000-4000-8000-0000000000c1
correlation:
    type: event_count
    rules: [regsvr32_start]
    group-by: [User]
    timespan: 1m
    condition: {gte: 2}
`)
	dir := t.TempDir()
	early := filepath.Join(dir, "early.evtx")
	writeLog(t, early, []*parser.Event{regStart(1, 0, 10, "u"), regStart(2, 5, 11, "u")})
	first := NewHunter(Options{Rules: set})
	if err := first.AddFile(context.Background(), early, nil); err != nil {
		t.Fatal(err)
	}
	export := filepath.Join(dir, "early.jsonl")
	var buf bytes.Buffer
	if err := WriteExport(&buf, first.Finish(), first.Finish().Written(), FormatJSONL); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(export, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	late := func(cmdline string) string {
		path := filepath.Join(t.TempDir(), "late.evtx")
		evs := []*parser.Event{regStart(3, 9000, 12, "u"), regStart(4, 9005, 13, "u")}
		for _, e := range evs {
			for i := range e.Fields {
				if e.Fields[i].Name == "CommandLine" {
					e.Fields[i].Value = cmdline
				}
			}
		}
		writeLog(t, path, evs)
		return path
	}
	tests := []struct {
		base, cmdline string
		want          bool // new
	}{
		{early, "regsvr32.exe args", false},
		{export, "REGSVR32.EXE ARGS", false},
		{early, "regsvr32.exe /s other.dll", true},
		{export, "regsvr32.exe /s other.dll", true},
	}
	for _, tc := range tests {
		h := NewHunter(Options{Rules: set, Baseline: []string{tc.base}})
		if err := h.AddFile(context.Background(), late(tc.cmdline), nil); err != nil {
			t.Fatal(err)
		}
		res := h.Finish()
		if len(res.Findings) != 1 || res.Findings[0].Correlation == nil || res.Findings[0].New == nil ||
			*res.Findings[0].New != tc.want || res.BaselineKeys != 1 {
			t.Errorf("baseline %s, %q: %d findings, keys %d, want new=%v", filepath.Base(tc.base), tc.cmdline,
				len(res.Findings), res.BaselineKeys, tc.want)
		}
	}
}
