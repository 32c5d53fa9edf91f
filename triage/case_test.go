package triage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evtriage/evtriage/parser"
)

// huntScenario hunts a scenario log of samples/logs (copied to dir under
// name, so that keys are seen not to depend on the path) with the
// built-in rules.
func huntScenario(t *testing.T, scenario, dir, name string) *Result {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "samples", "logs", scenario+".evtx"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	h := NewHunter(Options{Rules: builtin(t)})
	if err := h.AddFile(context.Background(), path, nil); err != nil {
		t.Fatal(err)
	}
	return h.Finish()
}

// TestCaseKeysAcrossRuns hunts the same evidence twice, from different
// paths: every finding and process has the same key both times, and the
// keys tell them apart.
func TestCaseKeysAcrossRuns(t *testing.T) {
	a := huntScenario(t, "squiblydoo", t.TempDir(), "a.evtx")
	b := huntScenario(t, "squiblydoo", t.TempDir(), "copy.evtx")
	if len(a.Findings) == 0 || len(a.Findings) != len(b.Findings) || len(a.Processes) != len(b.Processes) {
		t.Fatalf("findings %d/%d processes %d/%d", len(a.Findings), len(b.Findings), len(a.Processes), len(b.Processes))
	}
	seen := map[CaseKey]bool{}
	for i, f := range a.Findings {
		k := FindingKey(f)
		if k != FindingKey(b.Findings[i]) {
			t.Fatalf("finding %d: key %+v, then %+v", i, k, FindingKey(b.Findings[i]))
		}
		if seen[k] {
			t.Fatalf("finding %d: key %+v twice", i, k)
		}
		seen[k] = true
	}
	for i, p := range a.Processes {
		k := a.ProcessKey(p)
		if k != b.ProcessKey(b.Processes[i]) {
			t.Fatalf("process %d: key %+v, then %+v", i, k, b.ProcessKey(b.Processes[i]))
		}
		if seen[k] {
			t.Fatalf("process %d (%s): key %+v twice", i, p.Image, k)
		}
		seen[k] = true
		if !p.Stub && (k.Channel == "" || k.RecordID == 0) {
			t.Errorf("process %d: key %+v names no record", i, k)
		}
	}
	// An event changed in any value hashes apart.
	ev := *a.Findings[0].Event.Event
	h := EventHash(&ev)
	ev.Fields = append([]parser.Field(nil), ev.Fields...)
	ev.Fields[len(ev.Fields)-1].Value += "x"
	if EventHash(&ev) == h {
		t.Error("a changed field keeps the hash")
	}
}

func TestCaseMarks(t *testing.T) {
	r := huntScenario(t, "squiblydoo", t.TempDir(), "a.evtx")
	f0, f1 := r.Findings[0], r.Findings[1]
	p := f1.Process
	if p == nil {
		t.Fatal("finding 1 has no process")
	}
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var c *Case
	if c.Len() != 0 || c.Verdict(r, f0) != VerdictNone || c.Matched(r) != 0 {
		t.Fatal("a nil case is not empty")
	}
	c = c.With(FindingEntry(f0, Mark{Verdict: VerdictMalicious, Note: "the dropper", Marked: at}))
	c = c.With(r.ProcessEntry(p, Mark{Verdict: VerdictFalsePositive, Note: "IT's installer", Marked: at}))
	if c.Len() != 2 || c.Matched(r) != 2 {
		t.Errorf("len %d matched %d", c.Len(), c.Matched(r))
	}
	if m, ok := c.FindingMark(f0); !ok || m.Verdict != VerdictMalicious || m.Note != "the dropper" {
		t.Errorf("finding mark %+v %v", m, ok)
	}
	// f1 has no mark of its own: its process's applies.
	if _, ok := c.FindingMark(f1); ok && FindingKey(f1) != FindingKey(f0) {
		t.Error("f1 has a mark of its own")
	}
	if v := c.Verdict(r, f1); v != VerdictFalsePositive || !v.Dismissed() {
		t.Errorf("f1's verdict %v", v)
	}
	hidden := r.Filter(Filter{HideDismissed: true, Case: c})
	all := r.Filter(Filter{Case: c})
	for _, f := range hidden {
		if c.Verdict(r, f).Dismissed() {
			t.Errorf("finding %d shown though dismissed", f.ID)
		}
	}
	if len(hidden) >= len(all) {
		t.Errorf("hiding dismissed findings left %d of %d", len(hidden), len(all))
	}
	// Marking again replaces; no verdict removes.
	c2 := c.With(FindingEntry(f0, Mark{Verdict: VerdictBenign}))
	if m, _ := c2.FindingMark(f0); m.Verdict != VerdictBenign || c2.Len() != 2 {
		t.Errorf("re-marked: %+v, %d marks", m, c2.Len())
	}
	if m, _ := c.FindingMark(f0); m.Verdict != VerdictMalicious {
		t.Error("With changed the case it was called on")
	}
	c3 := c2.With(FindingEntry(f0, Mark{}))
	if _, ok := c3.FindingMark(f0); ok || c3.Len() != 1 {
		t.Errorf("cleared: %d marks", c3.Len())
	}
	// A case of other evidence matches nothing here.
	other := huntScenario(t, "pid-reuse", t.TempDir(), "b.evtx")
	if n := c.Matched(other); n != 0 {
		t.Errorf("a case of other evidence matches %d", n)
	}
}

// TestCaseFileRoundTrip saves a case, reads it back, and checks the file:
// mode 0600, evidence text escaped for terminals, marks in key order.
func TestCaseFileRoundTrip(t *testing.T) {
	r := huntScenario(t, "squiblydoo", t.TempDir(), "a.evtx")
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	c := NewCase("/cases/filters",
		FindingEntry(r.Findings[0], Mark{Verdict: VerdictSuspicious, Note: "odd \x1b]0;title\x07 here", Marked: at}),
		r.ProcessEntry(r.Processes[0], Mark{Verdict: VerdictBenign, Marked: at}))
	path := filepath.Join(t.TempDir(), "evtriage-case.json")
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.ContainsAny(data, "\x1b\x07") || !bytes.Contains(data, []byte(`\u001b]0;title\u0007`)) {
		t.Errorf("control characters not escaped:\n%s", data)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}
	back, err := LoadCase(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.RulesFolder() != "/cases/filters" || back.Len() != 2 || back.Matched(r) != 2 {
		t.Errorf("read back: folder %q, %d marks, %d matched", back.RulesFolder(), back.Len(), back.Matched(r))
	}
	if m, _ := back.FindingMark(r.Findings[0]); m.Note != "odd \x1b]0;title\x07 here" || !m.Marked.Equal(at) {
		t.Errorf("mark %+v", m)
	}
	again, _ := back.MarshalJSON()
	first, _ := c.MarshalJSON()
	if !bytes.Equal(again, first) {
		t.Errorf("not stable:\n%s\n%s", first, again)
	}
	if _, err := LoadCase(filepath.Join(t.TempDir(), "none.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestParseCaseRefuses(t *testing.T) {
	hash := strings.Repeat("ab", 32)
	mark := func(kv string) string {
		return `{"evtriage_case":1,"marks":[{"kind":"finding","rule_id":"r","computer":"H","channel":"C","record_id":1,"hash":"` +
			hash + `","verdict":"benign"` + kv + `}]}`
	}
	tests := []struct{ name, data, want string }{
		{"not JSON", "{", "not valid JSON"},
		{"a list", "[]", "not valid JSON"},
		{"trailing data", `{"evtriage_case":1} {}`, "more data after"},
		{"no version", `{"marks":[]}`, "not an evtriage case file"},
		{"newer", `{"evtriage_case":2}`, "newer than this evtriage"},
		{"bad verdict", strings.Replace(mark(""), "benign", "guilty", 1), `verdict "guilty"`},
		{"bad kind", strings.Replace(mark(""), `"finding"`, `"host"`, 1), `kind "host"`},
		{"bad hash", strings.Replace(mark(""), hash, "xyz", 1), "not a hex SHA-256"},
		{"no rule", strings.Replace(mark(""), `"rule_id":"r",`, "", 1), "needs its rule_id"},
		{"bad time", mark(`,"marked":"yesterday"`), "marked:"},
		{"twice", strings.Replace(mark(""), "}]}", "},"+mark("")[strings.Index(mark(""), "[")+1:], 1), "a second mark"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCase([]byte(tt.data))
			if err == nil || !errors.Is(err, ErrCase) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one wrapping ErrCase saying %q", err, tt.want)
			}
		})
	}
	if c, err := ParseCase([]byte(mark(""))); err != nil || c.Len() != 1 {
		t.Errorf("a valid case: %v", err)
	}
}

// TestExportCarriesMarks exports a hunt with a case: the finding's own
// mark, a process's mark on its findings ("on": "process") and on its
// row, the case in the head; the export validates against the schema;
// the CSV's verdict column and Timesketch's verdict key carry the same
// verdicts, and their details the note.
func TestExportCarriesMarks(t *testing.T) {
	r := huntScenario(t, "squiblydoo", t.TempDir(), "a.evtx")
	f0 := r.Findings[0]
	var other *Finding
	for _, f := range r.Findings {
		if f.Process != nil && f.Process != f0.Process {
			other = f
			break
		}
	}
	if other == nil {
		t.Fatal("no finding of another process")
	}
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	snap := *r
	snap.Case = NewCase("", FindingEntry(f0, Mark{Verdict: VerdictMalicious, Note: "n1", Marked: at}),
		r.ProcessEntry(other.Process, Mark{Verdict: VerdictFalsePositive, Note: "n2", Marked: at}))
	snap.CasePath = "case.json"
	for _, format := range []Format{FormatJSON, FormatJSONL} {
		var b bytes.Buffer
		if err := WriteExport(&b, &snap, snap.Findings, format); err != nil {
			t.Fatal(err)
		}
		s := b.String()
		for _, want := range []string{`"verdict":"malicious","note":"n1","marked":"2026-03-02T09:00:00Z","on":"finding"`,
			`"verdict":"false_positive","note":"n2","marked":"2026-03-02T09:00:00Z","on":"process"`,
			`"case":{"path":"case.json","marks":2,"matched":2}`} {
			if !strings.Contains(strings.Join(strings.Fields(s), ""), want) {
				t.Errorf("%v export lacks %s", format, want)
			}
		}
		if format == FormatJSON {
			var v any
			if err := json.Unmarshal(b.Bytes(), &v); err != nil {
				t.Fatal(err)
			}
			sc, err := decodeSchema()
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range validate(sc, v) {
				t.Error(e)
			}
		}
	}
	// The flat formats: one row (line) per finding, in the order given.
	wantVerdict := func(f *Finding) (verdict, details string) {
		switch {
		case f == f0:
			return "malicious", "note: n1"
		case f.Process == other.Process:
			return "false_positive", "verdict: its process's ¦ note: n2"
		}
		return "", ""
	}
	var b bytes.Buffer
	if err := WriteExport(&b, &snap, snap.Findings, FormatCSV); err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, b.Bytes())
	col := map[string]int{}
	for i, n := range rows[0] {
		col[n] = i
	}
	b.Reset()
	if err := WriteExport(&b, &snap, snap.Findings, FormatTimesketch); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(rows)-1 != len(snap.Findings) || len(lines) != len(snap.Findings) {
		t.Fatalf("%d CSV rows, %d Timesketch lines for %d findings", len(rows)-1, len(lines), len(snap.Findings))
	}
	marked := 0
	for i, f := range snap.Findings {
		verdict, details := wantVerdict(f)
		if verdict != "" {
			marked++
		}
		row := rows[i+1]
		if row[col["verdict"]] != verdict || !strings.HasPrefix(row[col["details"]], details) {
			t.Errorf("CSV row %d: verdict %q, details %.60q; want %q, %q…", i, row[col["verdict"]], row[col["details"]], verdict, details)
		}
		var line map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &line); err != nil {
			t.Fatal(err)
		}
		if got, _ := line["verdict"].(string); got != verdict {
			t.Errorf("Timesketch line %d: verdict %q, want %q", i, got, verdict)
		}
	}
	if marked < 2 {
		t.Fatalf("only %d marked findings exported", marked)
	}
}
