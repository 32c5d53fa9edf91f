package triage

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/evtriage/evtriage/internal/termsafe"
	"github.com/evtriage/evtriage/internal/winpath"
	"github.com/evtriage/evtriage/rules"
)

// ErrNoFilter says why no false-positive filter can be written for a
// finding.
var ErrNoFilter = errors.New("triage: no filter for this finding")

// FalsePositive is a Sigma filter (filters specification v2: a document
// with a logsource and a filter: block naming the rules it applies to)
// that takes one finding's event, by the values of its distinguishing
// fields, out of its rule. Our engine loads it like any rule file (its
// identifier is "filter:"+Name, switchable in the rules panel); so do
// other Sigma tools.
type FalsePositive struct {
	Name   string   // the filter's name
	File   string   // a file name for it (mf_evtriage_fp_….yml)
	Fields []string // the fields it matches on, in its order
	YAML   []byte
}

// fpFields are the fields that tell one benign case of a rule apart, by
// the rule's logsource category: what ran (and from what), what it
// loaded, where it connected… Values that change with every run
// (process ids, GUIDs, times) are never used.
var fpFields = map[string][]string{
	"process_creation":     {"Image", "OriginalFileName", "CommandLine", "ParentImage"},
	"image_load":           {"Image", "ImageLoaded", "Hashes"},
	"driver_load":          {"ImageLoaded", "Hashes"},
	"network_connection":   {"Image", "DestinationHostname", "DestinationIp", "DestinationPort"},
	"dns_query":            {"Image", "QueryName"},
	"file_event":           {"Image", "TargetFilename"},
	"file_delete":          {"Image", "TargetFilename"},
	"create_remote_thread": {"SourceImage", "TargetImage", "StartModule"},
	"process_access":       {"SourceImage", "TargetImage", "GrantedAccess"},
	"registry_set":         {"Image", "TargetObject", "Details"},
	"registry_add":         {"Image", "TargetObject"},
	"registry_delete":      {"Image", "TargetObject"},
	"registry_event":       {"Image", "TargetObject", "Details"},
	"pipe_created":         {"Image", "PipeName"},
	"create_stream_hash":   {"Image", "TargetFilename", "Hash"},
}

// fpVolatile are fields that differ between two runs of the same benign
// thing, or that every match of a rule shares: never a filter's.
var fpVolatile = map[string]bool{
	"ProcessId": true, "ProcessGuid": true, "ParentProcessId": true, "ParentProcessGuid": true, "LogonGuid": true,
	"LogonId": true, "UtcTime": true, "CreationUtcTime": true, "PreviousCreationUtcTime": true, "RuleName": true,
	"SourcePort": true, "SourceProcessGuid": true, "SourceProcessId": true, "TargetProcessGuid": true,
	"TargetProcessId": true, "SourceThreadId": true, "NewThreadId": true, "NewProcessId": true, "SubjectLogonId": true,
	"TargetLogonId": true, "EventRecordID": true, "Execution_ProcessID": true, "Execution_ThreadID": true,
	"EventID": true, "Channel": true, "Provider_Name": true, "Provider": true, "Provider_Guid": true, "Level": true,
	"Keywords": true, "Task": true, "Opcode": true, "Version": true, "Computer": true,
}

// maxFPFields bounds the fields of a filter, and maxFPValue the bytes of
// a value matched whole: a longer one is matched by its start
// (|startswith).
const (
	maxFPFields = 5
	maxFPValue  = 1024
)

// FalsePositiveFilter writes the filter that takes f's event out of f's
// rule: its fields are those that tell this benign case apart (by the
// rule's logsource category, then those the rule's selections matched on,
// present in the event and not volatile, leaving out those the rule
// asks one exact value of), each matched exactly (Sigma
// escaping: a value's *, ? and backslashes are literal). note goes into
// its description, day into its date. A correlation's finding, a rule
// without a detection or an id, and an event with none of those fields
// give ErrNoFilter.
func FalsePositiveFilter(f *Finding, note string, day time.Time) (*FalsePositive, error) {
	r := f.Rule
	switch {
	case r == nil || f.Event == nil || f.Event.Event == nil:
		return nil, fmt.Errorf("%w: it has no rule or no event", ErrNoFilter)
	case f.Correlation != nil || r.Correlation != nil:
		return nil, fmt.Errorf("%w: %q is a correlation rule; filters apply to the rules it correlates", ErrNoFilter, r.Title)
	case r.ID == "" && r.Name == "":
		return nil, fmt.Errorf("%w: rule %q has neither id nor name to refer to", ErrNoFilter, r.Title)
	}
	var ev rules.Event = f.Event.Event
	if isTreeRule(r) && f.Process != nil && f.Process.Create() == f.Event {
		ev = newTreeEvent(f.Process)
	}
	m, ok := r.Candidate(ev)
	if !ok {
		return nil, fmt.Errorf("%w: rule %q does not match its event as loaded now", ErrNoFilter, r.Title)
	}
	names := slices.Clone(fpFields[strings.ToLower(r.Logsource.Category)])
	for _, d := range f.Match {
		// A field the rule asks one exact value of (Signed: 'false') is
		// the same in every finding of it: it tells none apart.
		exact := d.Modifier == "" && !strings.ContainsAny(d.Value, "*?")
		if name, _, _ := strings.Cut(d.Field, "|"); name != "" && !exact && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	var chosen []fpValue
	for _, name := range names {
		if fpVolatile[name] || isTreeField(name) || len(chosen) == maxFPFields {
			continue
		}
		if v, ok := m.Field(f.Event.Event, name); ok && v != "" {
			chosen = append(chosen, fpValue{name, v})
		}
	}
	if len(chosen) == 0 {
		return nil, fmt.Errorf("%w: its event has none of the fields that would tell it apart (%s)", ErrNoFilter,
			strings.Join(names, ", "))
	}
	ref := r.ID
	if ref == "" {
		ref = r.Name
	}
	key := FindingKey(f)
	sum := sha256.Sum256([]byte(ref + "\x00" + key.Hash))
	h := hex.EncodeToString(sum[:])
	name := "evtriage_fp_" + h[:12]
	fp := &FalsePositive{Name: name, File: fpFileName(r.Title, h[:8])}
	var b strings.Builder
	line := func(indent int, k, v string) {
		b.WriteString(strings.Repeat("    ", indent))
		b.WriteString(k + ":")
		if v != "" {
			b.WriteString(" " + v)
		}
		b.WriteByte('\n')
	}
	what := r.Title
	if img := fieldOf(chosen, "Image"); img != "" {
		what += ": " + winpath.Base(img)
	}
	desc := fmt.Sprintf("Written by evtriage for a finding marked false positive: %s %d, record %d on %s at %s.",
		key.Channel, f.Event.Event.EventID, key.RecordID, key.Computer, f.Event.Event.Time.UTC().Format(time.RFC3339))
	if note = strings.TrimSpace(note); note != "" {
		desc += " Note: " + note
	}
	line(0, "title", yamlString("False positive of "+cutText(what, 200)))
	line(0, "id", yamlString(uuidOf(sum[:])))
	line(0, "name", name)
	line(0, "description", yamlString(desc))
	line(0, "author", "evtriage")
	line(0, "date", yamlString(day.UTC().Format(time.DateOnly)))
	line(0, "logsource", "")
	for _, kv := range [][2]string{{"category", r.Logsource.Category}, {"product", r.Logsource.Product},
		{"service", r.Logsource.Service}} {
		if kv[1] != "" {
			line(1, kv[0], yamlString(kv[1]))
		}
	}
	line(0, "filter", "")
	line(1, "rules", "")
	b.WriteString("        - " + yamlString(ref) + "\n")
	line(1, "selection", "")
	for _, c := range chosen {
		k, v := c.name, c.value
		if len(v) > maxFPValue {
			v = cutText(v, maxFPValue)
			v = strings.TrimSuffix(v, "…")
			k += "|startswith"
		}
		line(2, yamlKey(k), yamlString(SigmaEscape(v)))
		fp.Fields = append(fp.Fields, c.name)
	}
	line(1, "condition", "not selection")
	fp.YAML = []byte(b.String())
	return fp, nil
}

// isTreeField reports whether name is one of the tree's fields, which no
// log holds.
func isTreeField(name string) bool { return slices.Contains(treeFields[:], name) }

// fpValue is a field of a filter's selection and its value.
type fpValue struct{ name, value string }

func fieldOf(fs []fpValue, name string) string {
	for _, f := range fs {
		if f.name == name {
			return f.value
		}
	}
	return ""
}

// SigmaEscape makes s a Sigma value that matches s exactly: * and ? are
// escaped, and a backslash is doubled where it would otherwise escape
// what follows (before *, ?, another backslash, or at the end). A lone
// backslash before any other character stays single, as Sigma rules
// write Windows paths.
func SigmaEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '*', '?':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\\':
			j := i
			for j < len(s) && s[j] == '\\' {
				j++
			}
			run := j - i
			if run == 1 && j < len(s) && s[j] != '*' && s[j] != '?' {
				b.WriteByte('\\')
			} else {
				b.WriteString(strings.Repeat(`\\`, run))
			}
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// yamlString writes s as a YAML scalar that reads back as s: single-quoted
// when it is printable ASCII, otherwise double-quoted with every unsafe
// character escaped (termsafe: no control, bidi or invisible character
// reaches the file raw). A JSON string is a YAML double-quoted scalar but
// for one thing: YAML's \u escapes are code points, not UTF-16, so a
// surrogate pair (a character above U+FFFF) is written \UXXXXXXXX.
func yamlString(s string) string {
	if termsafe.Plain(s) {
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	return yamlSurrogates(string(termsafe.AppendJSONString(nil, s)))
}

// yamlSurrogates rewrites the surrogate pairs of a JSON string literal
// (\uD8xx\uDCxx) as YAML's \U escapes; every other escape is kept.
func yamlSurrogates(q string) string {
	if !strings.Contains(q, `\u`) {
		return q
	}
	hex4 := func(s string) (rune, bool) {
		v, err := strconv.ParseUint(s, 16, 16)
		return rune(v), err == nil && len(s) == 4
	}
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		if q[i] != '\\' || i+1 >= len(q) {
			b.WriteByte(q[i])
			continue
		}
		if q[i+1] == 'u' && i+12 <= len(q) && q[i+6] == '\\' && q[i+7] == 'u' {
			hi, ok1 := hex4(q[i+2 : i+6])
			lo, ok2 := hex4(q[i+8 : i+12])
			if ok1 && ok2 && utf16.IsSurrogate(hi) && hi < 0xdc00 && lo >= 0xdc00 && lo <= 0xdfff {
				fmt.Fprintf(&b, `\U%08X`, utf16.DecodeRune(hi, lo))
				i += 11
				continue
			}
		}
		b.WriteString(q[i : i+2]) // an escape, kept whole
		i++
	}
	return b.String()
}

var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.|-]*$`)

// yamlKey writes a field name (with its modifiers) as a mapping key.
func yamlKey(k string) string {
	if plainKey.MatchString(k) {
		return k
	}
	return yamlString(k)
}

// fpFileName makes the filter's file name as the filters specification
// asks: lower case letters, digits and _, at most 70 characters, .yml,
// the mf_ prefix.
func fpFileName(title, h string) string {
	var b strings.Builder
	last := byte('_')
	for _, r := range strings.ToLower(title) {
		c := byte('_')
		if r < utf8.RuneSelf && ('a' <= r && r <= 'z' || '0' <= r && r <= '9') {
			c = byte(r)
		}
		if c == '_' && last == '_' {
			continue
		}
		b.WriteByte(c)
		last = c
	}
	slug := strings.Trim(b.String(), "_")
	const prefix = "mf_evtriage_fp_"
	room := 70 - len(prefix) - len(h) - 1 - len(".yml")
	if len(slug) > room {
		slug = strings.TrimRight(slug[:room], "_")
	}
	if slug == "" {
		return prefix + h + ".yml"
	}
	return prefix + slug + "_" + h + ".yml"
}

// uuidOf makes a version 4 style UUID from hash bytes, so that the same
// finding's filter keeps its id.
func uuidOf(b []byte) string {
	var u [16]byte
	copy(u[:], b)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
