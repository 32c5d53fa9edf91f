package triage

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/evtriage/evtriage/internal/infile"
	"github.com/evtriage/evtriage/internal/outfile"
	"github.com/evtriage/evtriage/internal/termsafe"
	"github.com/evtriage/evtriage/internal/winpath"
	"github.com/evtriage/evtriage/parser"
)

// Verdict is what an analyst concluded about a finding or a process.
type Verdict int

// The verdicts; VerdictNone is no mark.
const (
	VerdictNone Verdict = iota
	VerdictMalicious
	VerdictSuspicious
	VerdictBenign
	VerdictFalsePositive
	numVerdicts
)

// verdictInfo is the one table of the verdicts: the name case files and
// exports use, the words the screen uses, and its short form for a column.
var verdictInfo = [numVerdicts]struct{ name, title, short string }{
	VerdictNone:          {"", "no verdict", ""},
	VerdictMalicious:     {"malicious", "malicious", "MAL"},
	VerdictSuspicious:    {"suspicious", "suspicious", "SUSP"},
	VerdictBenign:        {"benign", "benign", "BEN"},
	VerdictFalsePositive: {"false_positive", "false positive", "FP"},
}

// Verdicts lists the verdicts a mark can give, in the order menus show
// them.
func Verdicts() []Verdict {
	return []Verdict{VerdictMalicious, VerdictSuspicious, VerdictBenign, VerdictFalsePositive}
}

func (v Verdict) valid() bool { return v >= 0 && v < numVerdicts }

// String is the verdict's name ("false_positive"; "" for none).
func (v Verdict) String() string {
	if !v.valid() {
		return "unknown"
	}
	return verdictInfo[v].name
}

// Title is the verdict in words ("false positive").
func (v Verdict) Title() string {
	if !v.valid() {
		return "unknown"
	}
	return verdictInfo[v].title
}

// Short is the verdict as a column shows it ("FP"; "" for none).
func (v Verdict) Short() string {
	if !v.valid() {
		return "?"
	}
	return verdictInfo[v].short
}

// Dismissed reports whether the verdict sets the item aside: benign or
// a false positive.
func (v Verdict) Dismissed() bool { return v == VerdictBenign || v == VerdictFalsePositive }

// ParseVerdict returns the verdict named s ("false_positive"; also
// "false positive" and "fp"), case-insensitively.
func ParseVerdict(s string) (Verdict, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, v := range Verdicts() {
		if s == verdictInfo[v].name || s == verdictInfo[v].title || s == strings.ToLower(verdictInfo[v].short) {
			return v, true
		}
	}
	return VerdictNone, false
}

// Mark is a verdict with a one-line note and when it was given.
type Mark struct {
	Verdict Verdict
	Note    string
	Marked  time.Time
}

// Kinds of what a CaseKey names.
const (
	KindFinding = "finding"
	KindProcess = "process"
)

// CaseKey identifies a finding or a process across runs over the same
// evidence, wherever its files lie: the computer, channel and record id
// (EventRecordID) of its event, and a hash of that event's content. A
// finding is one rule's match on one event (Rule is the rule's id); a
// process is keyed by its creation event, its hash taken over the values
// the tree keeps of it (ProcessGuid, process id, image, command line,
// user, time), so that it is the same whether or not the event itself was
// kept in memory. A process never created in the logs (a stub) has no
// channel or record id.
type CaseKey struct {
	Kind     string
	Rule     string
	Computer string
	Channel  string
	RecordID uint64
	Hash     string // hex SHA-256
}

// markRecord is where a key points, without its hash: the cheap first
// test of a lookup.
type markRecord struct {
	computer, channel string
	recordID          uint64
}

func (k CaseKey) record() markRecord { return markRecord{k.Computer, k.Channel, k.RecordID} }

func (k CaseKey) compare(o CaseKey) int {
	return cmp.Or(strings.Compare(k.Computer, o.Computer), strings.Compare(k.Channel, o.Channel),
		cmp.Compare(k.RecordID, o.RecordID), strings.Compare(k.Kind, o.Kind), strings.Compare(k.Rule, o.Rule),
		strings.Compare(k.Hash, o.Hash))
}

// hasher writes length-prefixed values into a SHA-256, so that no two
// different sequences of values hash alike by concatenation.
type hasher struct{ h []byte }

func (x *hasher) str(s string) {
	x.h = binary.AppendUvarint(x.h, uint64(len(s)))
	x.h = append(x.h, s...)
}

func (x *hasher) num(n uint64) { x.h = binary.AppendUvarint(x.h, n) }

func (x *hasher) time(t time.Time) {
	if t.IsZero() {
		x.str("")
		return
	}
	x.str(t.UTC().Format(time.RFC3339Nano))
}

func (x *hasher) sum() string {
	s := sha256.Sum256(x.h)
	return hex.EncodeToString(s[:])
}

// EventHash is the hex SHA-256 of an event's content: its System values
// and every field, in order. It does not depend on the file the event
// was read from, nor on its offset.
func EventHash(ev *parser.Event) string {
	var x hasher
	x.str("event")
	x.str(ev.Provider)
	x.str(ev.ProviderGUID)
	x.str(ev.Channel)
	x.str(ev.Computer)
	x.num(uint64(ev.EventID))
	x.num(uint64(ev.Qualifiers))
	x.num(uint64(ev.Version))
	x.num(uint64(ev.Level))
	x.num(uint64(ev.Task))
	x.num(uint64(ev.Opcode))
	x.num(ev.Keywords)
	x.time(ev.Time)
	x.num(ev.RecordID)
	x.num(uint64(ev.ProcessID))
	x.num(uint64(ev.ThreadID))
	x.str(ev.UserID)
	x.num(uint64(len(ev.Fields)))
	for _, f := range ev.Fields {
		x.str(f.Name)
		x.str(f.Value)
	}
	return x.sum()
}

// FindingKey is f's key in a case.
func FindingKey(f *Finding) CaseKey {
	k := CaseKey{Kind: KindFinding}
	if f.Rule != nil {
		k.Rule = f.Rule.ID
	}
	if f.Event != nil && f.Event.Event != nil {
		ev := f.Event.Event
		k.Computer, k.Channel, k.RecordID, k.Hash = ev.Computer, ev.Channel, ev.RecordID, EventHash(ev)
	}
	return k
}

// processRecord is where p's key points: its host and its first creation
// record (none for a stub).
func (r *Result) processRecord(p *Process) markRecord {
	k := markRecord{computer: p.Host}
	if !p.Stub && int(p.rec.channel) < len(r.strs) {
		k.channel, k.recordID = r.strs[p.rec.channel], p.rec.recordID
	}
	return k
}

// ProcessKey is p's key in a case.
func (r *Result) ProcessKey(p *Process) CaseKey {
	rk := r.processRecord(p)
	var x hasher
	x.str("process")
	x.str(p.GUID.String())
	x.num(uint64(p.PID))
	x.str(p.Image)
	x.str(p.CommandLine)
	x.str(p.User)
	x.time(p.Created)
	if p.Stub {
		x.str("stub")
	}
	return CaseKey{Kind: KindProcess, Computer: rk.computer, Channel: rk.channel, RecordID: rk.recordID, Hash: x.sum()}
}

// CaseEntry is one mark of a case: the key, the mark, and for a reader
// of the file what was marked and when its event happened.
type CaseEntry struct {
	Key  CaseKey
	Mark Mark
	What string
	Time time.Time
}

// FindingEntry is a mark of f.
func FindingEntry(f *Finding, m Mark) CaseEntry {
	e := CaseEntry{Key: FindingKey(f), Mark: m}
	if f.Rule != nil {
		e.What = f.Rule.Title
	}
	if p := f.Process; p != nil {
		e.What += " — " + winpath.Base(p.Image) + " " + strconv.FormatUint(uint64(p.PID), 10)
	}
	if f.Event != nil && f.Event.Event != nil {
		e.Time = f.Event.Event.Time
	}
	return e
}

// ProcessEntry is a mark of p.
func (r *Result) ProcessEntry(p *Process, m Mark) CaseEntry {
	return CaseEntry{Key: r.ProcessKey(p), Mark: m, Time: p.Created,
		What: winpath.Base(p.Image) + " " + strconv.FormatUint(uint64(p.PID), 10) + " " + p.CommandLine}
}

// Case is a case file's content: the marks, and the folder the filter
// rules written for false positives go to. A Case is never changed once
// made (With and WithRulesFolder return a new one), so that background
// work can read it while the screen makes changes; a nil Case is empty.
type Case struct {
	entries     []CaseEntry // sorted by key
	records     map[markRecord]bool
	rulesFolder string
}

// NewCase returns a case holding entries (a later entry with the key of
// an earlier one replaces it; one without a verdict removes it).
func NewCase(rulesFolder string, entries ...CaseEntry) *Case {
	c := &Case{rulesFolder: rulesFolder}
	for _, e := range entries {
		c = c.With(e)
	}
	return c
}

// Len is the number of marks.
func (c *Case) Len() int {
	if c == nil {
		return 0
	}
	return len(c.entries)
}

// Entries returns the marks, sorted by key.
func (c *Case) Entries() []CaseEntry {
	if c == nil {
		return nil
	}
	return slices.Clone(c.entries)
}

// RulesFolder is the folder the filter rules of false positives go to
// ("" until the analyst names one).
func (c *Case) RulesFolder() string {
	if c == nil {
		return ""
	}
	return c.rulesFolder
}

func (c *Case) find(k CaseKey) (int, bool) {
	if c == nil {
		return 0, false
	}
	return slices.BinarySearchFunc(c.entries, k, func(e CaseEntry, k CaseKey) int { return e.Key.compare(k) })
}

// With returns the case with e's mark set (a mark without a verdict
// removes the key's mark).
func (c *Case) With(e CaseEntry) *Case {
	out := &Case{}
	if c != nil {
		out.entries, out.rulesFolder = slices.Clone(c.entries), c.rulesFolder
	}
	i, found := out.find(e.Key)
	switch {
	case e.Mark.Verdict == VerdictNone && found:
		out.entries = slices.Delete(out.entries, i, i+1)
	case e.Mark.Verdict == VerdictNone:
	case found:
		out.entries[i] = e
	default:
		out.entries = slices.Insert(out.entries, i, e)
	}
	out.records = make(map[markRecord]bool, len(out.entries))
	for _, x := range out.entries {
		out.records[x.Key.record()] = true
	}
	return out
}

// WithRulesFolder returns the case with the filter rules' folder set.
func (c *Case) WithRulesFolder(dir string) *Case {
	out := &Case{rulesFolder: dir}
	if c != nil {
		out.entries, out.records = c.entries, c.records // shared: never written
	}
	return out
}

// Mark returns the mark of key k.
func (c *Case) Mark(k CaseKey) (Mark, bool) {
	i, ok := c.find(k)
	if !ok {
		return Mark{}, false
	}
	return c.entries[i].Mark, true
}

// FindingMark returns f's mark. A finding whose event no mark points to
// costs a map lookup; its hash is computed only when one does.
func (c *Case) FindingMark(f *Finding) (Mark, bool) {
	if c.Len() == 0 || f.Event == nil || f.Event.Event == nil {
		return Mark{}, false
	}
	ev := f.Event.Event
	if !c.records[markRecord{ev.Computer, ev.Channel, ev.RecordID}] {
		return Mark{}, false
	}
	return c.Mark(FindingKey(f))
}

// ProcessMark returns p's mark (p a process of r).
func (c *Case) ProcessMark(r *Result, p *Process) (Mark, bool) {
	if c.Len() == 0 || p == nil || !c.records[r.processRecord(p)] {
		return Mark{}, false
	}
	return c.Mark(r.ProcessKey(p))
}

// Verdict is the verdict that applies to f: its own mark's, or else its
// process's.
func (c *Case) Verdict(r *Result, f *Finding) Verdict {
	if m, ok := c.FindingMark(f); ok {
		return m.Verdict
	}
	if m, ok := c.ProcessMark(r, f.Process); ok {
		return m.Verdict
	}
	return VerdictNone
}

// ByComputer counts the marks by the computer they name.
func (c *Case) ByComputer() map[string]int {
	out := map[string]int{}
	for _, e := range c.Entries() {
		out[e.Key.Computer]++
	}
	return out
}

// Matched counts the marks that name a finding or a process of r: a case
// file of other evidence matches none.
func (c *Case) Matched(r *Result) int {
	if c.Len() == 0 {
		return 0
	}
	n := 0
	for _, f := range r.Findings {
		if _, ok := c.FindingMark(f); ok {
			n++
		}
	}
	for _, p := range r.Processes {
		if _, ok := c.ProcessMark(r, p); ok {
			n++
		}
	}
	return n
}

// Case file errors.
var (
	// ErrCase wraps every error reading a case file: the file is there but
	// cannot be used (not JSON, not a case file, a mark that does not make
	// sense). Such a file is never written over.
	ErrCase = errors.New("triage: case file")
)

// CaseVersion is the version of the case file format written.
const CaseVersion = 1

// maxCaseFile bounds a case file's size.
const maxCaseFile = 64 << 20

// caseFile is a case file as JSON.
type caseFile struct {
	Version     int             `json:"evtriage_case"`
	RulesFolder string          `json:"rules_folder"`
	Marks       []caseFileEntry `json:"marks"`
}

type caseFileEntry struct {
	Kind     string  `json:"kind"`
	Rule     string  `json:"rule_id,omitempty"`
	Computer string  `json:"computer"`
	Channel  string  `json:"channel"`
	RecordID uint64  `json:"record_id"`
	Hash     string  `json:"hash"`
	Verdict  string  `json:"verdict"`
	Note     string  `json:"note"`
	Marked   *string `json:"marked"`
	What     string  `json:"what"`
	Time     *string `json:"time"`
}

// LoadCase reads the case file at path. A file that does not exist gives
// an error wrapping fs.ErrNotExist (a new case starts empty); one that
// is there but not a valid case file, one wrapping ErrCase that says why.
func LoadCase(path string) (*Case, error) {
	data, err := infile.ReadAll(path, maxCaseFile)
	if err != nil {
		return nil, err
	}
	c, err := ParseCase(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseCase reads a case file's content.
func ParseCase(data []byte) (*Case, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var cf caseFile
	if err := dec.Decode(&cf); err != nil {
		return nil, fmt.Errorf("%w: not valid JSON: %w", ErrCase, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: more data after the case object", ErrCase)
	}
	switch {
	case cf.Version == 0:
		return nil, fmt.Errorf("%w: no \"evtriage_case\" version: not an evtriage case file", ErrCase)
	case cf.Version > CaseVersion:
		return nil, fmt.Errorf("%w: version %d is newer than this evtriage reads (%d)", ErrCase, cf.Version, CaseVersion)
	}
	entries := make([]CaseEntry, 0, len(cf.Marks))
	seen := make(map[CaseKey]bool, len(cf.Marks))
	for i, m := range cf.Marks {
		e, err := m.entry()
		if err != nil {
			return nil, fmt.Errorf("%w: mark %d: %w", ErrCase, i+1, err)
		}
		if seen[e.Key] {
			return nil, fmt.Errorf("%w: mark %d: a second mark of the same %s", ErrCase, i+1, e.Key.Kind)
		}
		seen[e.Key] = true
		entries = append(entries, e)
	}
	slices.SortFunc(entries, func(a, b CaseEntry) int { return a.Key.compare(b.Key) })
	c := &Case{entries: entries, rulesFolder: cf.RulesFolder, records: make(map[markRecord]bool, len(entries))}
	for _, e := range entries {
		c.records[e.Key.record()] = true
	}
	return c, nil
}

func (m caseFileEntry) entry() (CaseEntry, error) {
	e := CaseEntry{Key: CaseKey{Kind: m.Kind, Rule: m.Rule, Computer: m.Computer, Channel: m.Channel, RecordID: m.RecordID,
		Hash: m.Hash}, What: m.What}
	switch {
	case m.Kind != KindFinding && m.Kind != KindProcess:
		return e, fmt.Errorf("kind %q (want %q or %q)", m.Kind, KindFinding, KindProcess)
	case m.Kind == KindFinding && m.Rule == "":
		return e, errors.New("a finding's mark needs its rule_id")
	case len(m.Hash) != 64 || strings.Trim(strings.ToLower(m.Hash), "0123456789abcdef") != "":
		return e, fmt.Errorf("hash %q is not a hex SHA-256", m.Hash)
	}
	v, ok := ParseVerdict(m.Verdict)
	if !ok {
		return e, fmt.Errorf("verdict %q (want malicious, suspicious, benign or false_positive)", m.Verdict)
	}
	e.Mark = Mark{Verdict: v, Note: m.Note}
	var err error
	if e.Mark.Marked, err = parseTimeStrict(m.Marked); err != nil {
		return e, fmt.Errorf("marked: %w", err)
	}
	if e.Time, err = parseTimeStrict(m.Time); err != nil {
		return e, fmt.Errorf("time: %w", err)
	}
	e.Key.Hash = strings.ToLower(m.Hash)
	return e, nil
}

// parseTimeStrict reads an RFC 3339 time; nil or empty is the zero time.
func parseTimeStrict(s *string) (time.Time, error) {
	if s == nil || *s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, *s)
}

// MarshalJSON writes the case file: its version, the rules folder and the
// marks in key order, evidence text escaped for terminals
// (termsafe.EscapeJSON; it decodes to the text unchanged).
func (c *Case) MarshalJSON() ([]byte, error) {
	cf := caseFile{Version: CaseVersion, RulesFolder: c.RulesFolder(), Marks: []caseFileEntry{}}
	for _, e := range c.Entries() {
		cf.Marks = append(cf.Marks, caseFileEntry{Kind: e.Key.Kind, Rule: e.Key.Rule, Computer: e.Key.Computer,
			Channel: e.Key.Channel, RecordID: e.Key.RecordID, Hash: e.Key.Hash, Verdict: e.Mark.Verdict.String(),
			Note: e.Mark.Note, Marked: timeStr(e.Mark.Marked), What: e.What, Time: timeStr(e.Time)})
	}
	b, err := json.MarshalIndent(cf, "", "  ")
	if err != nil {
		return nil, err
	}
	return termsafe.EscapeJSON(b), nil
}

// Save writes the case to path atomically (internal/outfile: a temporary
// file beside it, then renamed over it), mode 0600.
func (c *Case) Save(path string) error {
	b, err := c.MarshalJSON()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCase, err)
	}
	return outfile.Write(path, 0o600, nil, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}
