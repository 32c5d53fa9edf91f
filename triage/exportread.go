package triage

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/evtriage/evtriage/internal/infile"
)

// Errors of reading an export.
var (
	// ErrNotExport is returned for a file that is not an evtriage export.
	ErrNotExport = errors.New("not an evtriage export")
	// ErrExportRecord is returned for a record larger than maxExportRecord.
	ErrExportRecord = errors.New("export record too large")
)

// maxExportRecord bounds, in bytes, one record of an export as it is
// read: a JSON Lines line, one element of a document's processes or
// findings, one member of its head. An export evtriage wrote stays far
// below it (its largest records, a process with 1,000 activity events,
// are a few MiB); a larger one is refused rather than held in memory.
const maxExportRecord = 64 << 20

// exportExts are the file name extensions of exports.
var exportExts = []string{".json", ".jsonl", ".ndjson"}

// IsExportName reports whether a file name has an export's extension
// (.json, .jsonl, .ndjson); whether the file is one, IsExport says.
func IsExportName(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	for _, e := range exportExts {
		if ext == e {
			return true
		}
	}
	return false
}

// readFinding is a finding as the reader decodes it: the current shape,
// with process and lineage kept raw, for evtriage 0.1 wrote them as the
// process and lineage objects themselves.
type readFinding struct {
	exportFinding
	Process json.RawMessage `json:"process"`
	Lineage json.RawMessage `json:"lineage"`
}

// ids returns the finding's process id (nil: none) and lineage ids in the
// current shape; ok is false for the earlier shape.
func (f *readFinding) ids() (process *int, lineage []int, ok bool) {
	if len(f.Lineage) > 0 && json.Unmarshal(f.Lineage, &lineage) != nil {
		return nil, nil, false
	}
	if len(f.Process) > 0 && string(f.Process) != "null" {
		var id int
		if json.Unmarshal(f.Process, &id) != nil {
			return nil, nil, false
		}
		process = &id
	}
	return process, lineage, true
}

// exportVisitor receives an export's records as they are read. head is
// called for each export head: a JSON Lines {"export"} line (files
// concatenated hold several: the ids of the processes that follow are
// those of the new head), and a document's head once the document is
// read. Any callback may be nil; an error from one stops the reading.
type exportVisitor struct {
	head    func(h *exportHeader) error
	process func(p *exportProcess) error
	finding func(f *readFinding) error
}

// budgetReader fails a read once more than the budget set by reset has
// been read: the JSON decoder buffers a whole value, and this bounds the
// value.
type budgetReader struct {
	r         io.Reader
	max, left int64
}

func (b *budgetReader) reset() { b.left = b.max }

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, ErrExportRecord
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

// exportReader reads one export's records.
type exportReader struct {
	br  *budgetReader
	dec *json.Decoder
	v   exportVisitor
	no  int // records read (JSON Lines lines, document elements)
}

// readExportRecords reads an export from r — one JSON document or JSON
// Lines, of this version or of evtriage 0.1 (findings carrying their
// process and lineage objects) — and passes its records to v, streamed:
// memory is bounded by the largest record (maxExportRecord), whatever
// the export's size. It returns ErrNotExport for JSON that is no export,
// and an error naming the record for one that cannot be read; the
// records before it have been passed on.
func readExportRecords(r io.Reader, v exportVisitor) error {
	return readExportBounded(r, v, maxExportRecord)
}

// readExportBounded is readExportRecords with records bounded to max
// bytes.
func readExportBounded(r io.Reader, v exportVisitor, max int64) error {
	x := &exportReader{br: &budgetReader{r: bufio.NewReaderSize(r, 64<<10), max: max}, v: v}
	x.dec = json.NewDecoder(x.br)
	x.br.reset()
	t, err := x.dec.Token()
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: empty file", ErrNotExport)
	}
	if d, ok := t.(json.Delim); err != nil || !ok || d != '{' {
		return fmt.Errorf("%w: not a JSON object", ErrNotExport)
	}
	first, isDoc, err := x.firstObject()
	if err != nil {
		return err
	}
	switch {
	case isDoc || first["tool"] != nil:
		return x.document(first)
	case first["export"] != nil || first["process"] != nil || first["finding"] != nil || first["rule"] != nil:
		if err := x.line(first); err != nil {
			return err
		}
		return x.lines()
	}
	return fmt.Errorf("%w: neither an export document nor JSON Lines of an export", ErrNotExport)
}

// firstObject reads the members of the first object (its '{' read): a
// document's processes and findings are passed on as they come, the other
// members are returned raw.
func (x *exportReader) firstObject() (map[string]json.RawMessage, bool, error) {
	members := make(map[string]json.RawMessage)
	isDoc := false
	for x.dec.More() {
		x.br.reset()
		t, err := x.dec.Token()
		if err != nil {
			return nil, false, x.fail(err)
		}
		key, _ := t.(string)
		switch key {
		case "processes", "findings":
			isDoc = true
			if err := x.array(key); err != nil {
				return nil, false, err
			}
		default:
			x.br.reset()
			var raw json.RawMessage
			if err := x.dec.Decode(&raw); err != nil {
				return nil, false, x.fail(err)
			}
			members[key] = raw
		}
	}
	x.br.reset()
	if _, err := x.dec.Token(); err != nil { // '}'
		return nil, false, x.fail(err)
	}
	return members, isDoc, nil
}

// array passes on the elements of a document's processes or findings.
func (x *exportReader) array(key string) error {
	x.br.reset()
	t, err := x.dec.Token()
	if err != nil {
		return x.fail(err)
	}
	if d, ok := t.(json.Delim); !ok || d != '[' {
		if t == nil {
			return nil // null: none
		}
		return fmt.Errorf("%s: not an array", key)
	}
	for x.dec.More() {
		x.no++
		x.br.reset()
		var err error
		if key == "processes" {
			var p exportProcess
			if err = x.dec.Decode(&p); err == nil && x.v.process != nil {
				err = x.v.process(&p)
			}
		} else {
			var f readFinding
			if err = x.dec.Decode(&f); err == nil && x.v.finding != nil {
				err = x.v.finding(&f)
			}
		}
		if err != nil {
			return x.fail(fmt.Errorf("%s: %w", key, err))
		}
	}
	x.br.reset()
	_, err = x.dec.Token() // ']'
	return x.fail(err)
}

// document ends a document: its head, from the other members.
func (x *exportReader) document(members map[string]json.RawMessage) error {
	x.br.reset()
	if _, err := x.dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("data after the export document")
	}
	if x.v.head == nil {
		return nil
	}
	b, err := json.Marshal(members)
	if err != nil {
		return err
	}
	var h exportHeader
	if err := json.Unmarshal(b, &h); err != nil {
		return fmt.Errorf("head: %w", err)
	}
	return x.v.head(&h)
}

// lines reads JSON Lines records after the first.
func (x *exportReader) lines() error {
	for {
		x.br.reset()
		var rec map[string]json.RawMessage
		err := x.dec.Decode(&rec)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			x.no++
			return x.fail(err)
		}
		if err := x.line(rec); err != nil {
			return err
		}
	}
}

// line passes on one JSON Lines record.
func (x *exportReader) line(rec map[string]json.RawMessage) error {
	x.no++
	var err error
	switch {
	case rec["rule"] != nil: // a finding of evtriage 0.1 (which has a "process" too)
		var b []byte
		if b, err = json.Marshal(rec); err == nil {
			var f readFinding
			if err = json.Unmarshal(b, &f); err == nil && x.v.finding != nil {
				err = x.v.finding(&f)
			}
		}
	case rec["export"] != nil:
		var h exportHeader
		if err = json.Unmarshal(rec["export"], &h); err == nil && x.v.head != nil {
			err = x.v.head(&h)
		}
	case rec["process"] != nil:
		var p exportProcess
		if err = json.Unmarshal(rec["process"], &p); err == nil && x.v.process != nil {
			err = x.v.process(&p)
		}
	case rec["finding"] != nil:
		var f readFinding
		if err = json.Unmarshal(rec["finding"], &f); err == nil && x.v.finding != nil {
			err = x.v.finding(&f)
		}
	default:
		err = errors.New("neither an export head, a process nor a finding")
	}
	return x.fail(err)
}

// fail names the record an error happened at.
func (x *exportReader) fail(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		err = fmt.Errorf("truncated: %w", io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("record %d: %w", x.no, err)
}

// IsExport reports whether the file at path is an evtriage export: a
// JSON document whose head names the tool evtriage, JSON Lines whose
// first line is such a head, or JSON Lines of evtriage 0.1 (findings with
// a rule). Only the start of the file is read (at most one record).
func IsExport(path string) (bool, error) {
	f, err := infile.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	br := &budgetReader{r: bufio.NewReaderSize(f, 64<<10), max: maxExportRecord}
	dec := json.NewDecoder(br)
	br.reset()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false, nil
	}
	br.reset()
	t, err := dec.Token()
	if err != nil {
		return false, nil
	}
	var tool struct {
		Tool struct {
			Name string `json:"name"`
		} `json:"tool"`
	}
	br.reset()
	switch t {
	case "export":
		err = dec.Decode(&tool)
	case "tool":
		err = dec.Decode(&tool.Tool)
	case "rule":
		return true, nil
	default:
		return false, nil
	}
	return err == nil && tool.Tool.Name == "evtriage", nil
}
