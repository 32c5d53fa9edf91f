package triage

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/evtriage/evtriage/internal/winpath"
	"github.com/evtriage/evtriage/rules"
)

// TestExportSelection: an export taken from the screen records its
// filters and, for a subtree, the process at the root (in the processes
// table, and in JSON Lines before any finding); CSV and Timesketch rows
// say the same on one line.
func TestExportSelection(t *testing.T) {
	schema, err := decodeSchema()
	if err != nil {
		t.Fatal(err)
	}
	res := handResult(t)
	var reg *Process
	for _, p := range res.Processes {
		if winpath.Base(p.Image) == "regsvr32.exe" {
			reg = p
		}
	}
	if reg == nil {
		t.Fatal("no regsvr32 in the hand-made result")
	}
	from := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	res.Selection = &Selection{Screen: true, Subtree: reg, Filter: Filter{
		MinLevel: rules.LevelLow, Host: "WS1", From: from, Sources: FromSysmon, NewOnly: true,
		DisabledRules:  map[string]bool{"b": true, "a": true, "on": false},
		DisabledIdents: map[string]map[string]bool{"seed": {"filter_main_other_flags": true, "filter_on": false}, "x": {"f": false}},
	}}
	var findings []*Finding
	for _, f := range res.Findings {
		if f.Process == reg {
			findings = append(findings, f)
		}
	}
	wantFilter := map[string]any{
		"min_level": "low", "host": "WS1", "from": "2024-03-01T10:00:00Z", "to": nil, "sources": []any{"sysmon"},
		"new_only": true, "unsigned_only": false, "rules_off": []any{"a", "b"},
		"filters_off": []any{map[string]any{"rule": "seed", "identifiers": []any{"filter_main_other_flags"}}},
	}
	checkSelection := func(t *testing.T, sel any) {
		t.Helper()
		m, ok := sel.(map[string]any)
		if !ok {
			t.Fatalf("selection %v", sel)
		}
		if m["screen"] != true || m["subtree"] != float64(reg.ID) {
			t.Errorf("selection %v, want screen and subtree %d", m, reg.ID)
		}
		got, _ := json.Marshal(m["filter"])
		want, _ := json.Marshal(wantFilter)
		if string(got) != string(want) {
			t.Errorf("filter %s\nwant   %s", got, want)
		}
	}

	t.Run("json", func(t *testing.T) {
		var b bytes.Buffer
		if err := WriteExport(&b, res, findings, FormatJSON); err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		for _, e := range validate(schema, doc) {
			t.Error(e)
		}
		checkSelection(t, doc["selection"])
		in := false
		for _, p := range doc["processes"].([]any) {
			in = in || p.(map[string]any)["id"] == float64(reg.ID)
		}
		if !in {
			t.Error("the subtree's root is not in the processes table")
		}
	})

	t.Run("jsonl", func(t *testing.T) {
		var b bytes.Buffer
		// No finding at all: the root is still listed.
		if err := WriteExport(&b, res, nil, FormatJSONL); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(&b)
		n, rootLine := 0, 0
		for sc.Scan() {
			n++
			var v map[string]any
			if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
				t.Fatal(err)
			}
			vd := &validator{root: schema}
			vd.check(map[string]any{"$ref": "#/$defs/line"}, v, "$")
			for _, e := range vd.errs {
				t.Errorf("line %d: %s", n, e)
			}
			if h, ok := v["export"].(map[string]any); ok {
				checkSelection(t, h["selection"])
			}
			if p, ok := v["process"].(map[string]any); ok && p["id"] == float64(reg.ID) {
				rootLine = n
			}
		}
		if rootLine == 0 {
			t.Error("the subtree's root has no process line")
		}
	})

	t.Run("flat", func(t *testing.T) {
		var b bytes.Buffer
		if err := WriteExport(&b, res, findings, FormatCSV); err != nil {
			t.Fatal(err)
		}
		rows := readCSV(t, b.Bytes())
		want := "screen: min-level low; host WS1; from 2024-03-01T10:00:00Z; sources sysmon; new only; rules off: a, b; " +
			"filters off in seed: filter_main_other_flags; subtree of regsvr32.exe (pid 300 on WS1)"
		col := -1
		for i, n := range rows[0] {
			if n == "export_filters" {
				col = i
			}
		}
		if len(rows) != len(findings)+1 || len(findings) == 0 {
			t.Fatalf("%d rows for %d findings", len(rows), len(findings))
		}
		for _, r := range rows[1:] {
			if r[col] != want {
				t.Errorf("export_filters %q\nwant           %q", r[col], want)
			}
		}
		b.Reset()
		if err := WriteExport(&b, res, findings, FormatTimesketch); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), `"export_filters":"`+want+`"`) {
			t.Errorf("timesketch lacks the filters: %.300s", b.String())
		}
	})
}
