package triage

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readCounts reads an export and says what the visitor saw: heads,
// processes, findings.
func readCounts(data []byte, max int64) (heads, procs, findings int, err error) {
	err = readExportBounded(bytes.NewReader(data), exportVisitor{
		head:    func(*exportHeader) error { heads++; return nil },
		process: func(*exportProcess) error { procs++; return nil },
		finding: func(*readFinding) error { findings++; return nil },
	}, max)
	return
}

func TestReadExportRecords(t *testing.T) {
	res := handResult(t)
	var doc, lines bytes.Buffer
	if err := WriteExport(&doc, res, res.Findings, FormatJSON); err != nil {
		t.Fatal(err)
	}
	if err := WriteExport(&lines, res, res.Findings, FormatJSONL); err != nil {
		t.Fatal(err)
	}
	nf := len(res.Findings)
	np := strings.Count(lines.String(), `{"process":`)
	big := `{"export":{"tool":{"name":"evtriage"}}}` + "\n" + `{"finding":{"rule":{"id":"` + strings.Repeat("x", 5000) + `"}}}` + "\n"
	deep := `{"export":{"tool":{"name":"evtriage"}}}` + "\n" + `{"finding":{"event":{"fields":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "}}}\n"
	tests := []struct {
		name                   string
		data                   string
		max                    int64
		heads, procs, findings int
		err                    error  // errors.Is
		errText                string // in the error
	}{
		{name: "document", data: doc.String(), heads: 1, procs: np, findings: nf},
		{name: "json lines", data: lines.String(), heads: 1, procs: np, findings: nf},
		{name: "json lines concatenated", data: lines.String() + lines.String(), heads: 2, procs: 2 * np, findings: 2 * nf},
		{name: "evtriage 0.1 lines", data: `{"rule":{"id":"r"},"event":{"event_id":1},"process":{"image":"p"},"lineage":[{"image":"p"}]}` + "\n" + `{"rule":{"id":"s"},"process":null,"lineage":[]}`, findings: 2},
		{name: "null arrays", data: `{"tool":{"name":"evtriage"},"processes":null,"findings":null}`, heads: 1},
		{name: "empty", data: "", err: ErrNotExport},
		{name: "spaces", data: " \n\t", err: ErrNotExport},
		{name: "an array", data: "[]", err: ErrNotExport},
		{name: "other JSON", data: `{"EventTime":"2024-01-01","Computer":"x"}`, err: ErrNotExport},
		{name: "truncated line", data: lines.String()[:len(lines.String())-20], heads: 1, procs: np, findings: nf - 1, errText: "truncated"},
		{name: "truncated document", data: doc.String()[:strings.Index(doc.String(), `"findings": [`)+40], procs: np, errText: "truncated"},
		{name: "data after the document", data: doc.String() + "{}", heads: 0, procs: np, findings: nf, errText: "data after"},
		{name: "a line of something else", data: lines.String() + `{"other":1}` + "\n", heads: 1, procs: np, findings: nf, errText: "neither"},
		{name: "a record too large", data: big, max: 4096, heads: 1, err: ErrExportRecord},
		{name: "the same record in bounds", data: big, max: 1 << 20, heads: 1, findings: 1},
		{name: "nesting too deep", data: deep, heads: 1, errText: "record 2"},
		{name: "a process of the wrong type", data: `{"export":{}}` + "\n" + `{"process":{"id":"x"}}`, heads: 1, errText: "record 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			max := tc.max
			if max == 0 {
				max = maxExportRecord
			}
			h, p, f, err := readCounts([]byte(tc.data), max)
			switch {
			case tc.err != nil && !errors.Is(err, tc.err):
				t.Errorf("error %v, want %v", err, tc.err)
			case tc.errText != "" && (err == nil || !strings.Contains(err.Error(), tc.errText)):
				t.Errorf("error %v, want one saying %q", err, tc.errText)
			case tc.err == nil && tc.errText == "" && err != nil:
				t.Errorf("error %v", err)
			}
			if h != tc.heads || p != tc.procs || f != tc.findings {
				t.Errorf("%d heads, %d processes, %d findings; want %d, %d, %d", h, p, f, tc.heads, tc.procs, tc.findings)
			}
		})
	}
}

func TestIsExport(t *testing.T) {
	res := handResult(t)
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var doc, lines bytes.Buffer
	if err := WriteExport(&doc, res, res.Findings, FormatJSON); err != nil {
		t.Fatal(err)
	}
	if err := WriteExport(&lines, res, res.Findings, FormatJSONL); err != nil {
		t.Fatal(err)
	}
	var csvOut, ts bytes.Buffer
	if err := WriteExport(&csvOut, res, res.Findings, FormatCSV); err != nil {
		t.Fatal(err)
	}
	if err := WriteExport(&ts, res, res.Findings, FormatTimesketch); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, data string
		want       bool
	}{
		{"x.json", doc.String(), true},
		{"x.jsonl", lines.String(), true},
		{"old.jsonl", `{"rule":{"id":"r"},"event":{}}`, true},
		{"csv.json", csvOut.String(), false},
		{"timesketch.jsonl", ts.String(), false},
		{"velociraptor-results.json", `{"EventTime":"2024-01-01T00:00:00Z","Computer":"WS1","finding":{}}`, false},
		{"other-tool.json", `{"tool":{"name":"chainsaw"}}`, false},
		{"empty.json", "", false},
		{"array.json", `[{"tool":{"name":"evtriage"}}]`, false},
		{"binary.json", "\x00\x01\xff", false},
	}
	for _, tc := range tests {
		got, err := IsExport(write(tc.name, tc.data))
		if err != nil || got != tc.want {
			t.Errorf("%s: %v (%v), want %v", tc.name, got, err, tc.want)
		}
	}
	if _, err := IsExport(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("a missing file is not an error")
	}
	for _, n := range []string{"a.json", "A.JSONL", "b.ndjson"} {
		if !IsExportName(n) {
			t.Errorf("%s is not an export name", n)
		}
	}
	for _, n := range []string{"a.evtx", "a.csv", "json", "a.json.gz"} {
		if IsExportName(n) {
			t.Errorf("%s is an export name", n)
		}
	}
}
