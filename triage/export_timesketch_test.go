package triage

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/evtriage/evtriage/parser"
)

// TestTimesketchExport reads the export as Timesketch's importer does: one
// JSON object a line, each with message, datetime (RFC 3339 with Z),
// timestamp (integer microseconds since the epoch, the same instant),
// timestamp_desc and data_type, and the finding's fields flattened, each
// key always of one type (a search engine maps a key to one type and
// refuses a line that disagrees).
func TestTimesketchExport(t *testing.T) {
	res := flatResult(t)
	var b bytes.Buffer
	if err := WriteExport(&b, res, res.Findings, FormatTimesketch); err != nil {
		t.Fatal(err)
	}
	for i, c := range b.Bytes() {
		if (c < 0x20 && c != '\n') || c == 0x7f {
			t.Fatalf("raw control byte %#x at %d", c, i)
		}
	}
	if strings.Contains(b.String(), "\u202e") {
		t.Error("a raw bidi override in the export")
	}
	undated := Undated(res.Findings)
	if len(undated) != 1 || undated[0].Event.Event.RecordID != 5 {
		t.Fatalf("undated findings %v, want record 5 alone", undated)
	}
	types := map[string]string{}
	typeOf := func(v any) string {
		switch v := v.(type) {
		case string:
			return "string"
		case bool:
			return "bool"
		case json.Number:
			if strings.ContainsAny(v.String(), ".eE-") {
				return "float"
			}
			return "integer"
		}
		return "other"
	}
	required := map[string]string{"message": "string", "datetime": "string", "timestamp": "integer",
		"timestamp_desc": "string", "data_type": "string"}
	flattened := map[string]string{"rule_id": "string", "rule_title": "string", "level": "string", "host": "string",
		"pid": "integer", "image": "string", "command_line": "string", "parent_image": "string", "event_id": "integer",
		"record_id": "integer", "channel": "string", "file": "string", "lineage": "string", "details": "string",
		"export_tool": "string", "export_rules": "string", "export_complete": "bool"}
	sc := bufio.NewScanner(&b)
	sc.Buffer(nil, 1<<20)
	lines := 0
	records := map[string]map[string]any{}
	for sc.Scan() {
		lines++
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		var v map[string]any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("line %d: %v", lines, err)
		}
		for k, want := range required {
			if got := typeOf(v[k]); v[k] == nil || got != want {
				t.Errorf("line %d: %s is %v (%s), want a %s", lines, k, v[k], got, want)
			}
		}
		for k, want := range flattened {
			if got := typeOf(v[k]); v[k] == nil || got != want {
				t.Errorf("line %d: %s is %v (%s), want a %s", lines, k, v[k], got, want)
			}
		}
		for k, x := range v {
			if prev, ok := types[k]; ok && prev != typeOf(x) {
				t.Errorf("line %d: %s is a %s, earlier a %s", lines, k, typeOf(x), prev)
			}
			types[k] = typeOf(x)
		}
		if _, ok := v["time"]; ok {
			t.Errorf("line %d: a time key besides datetime", lines)
		}
		dt, _ := v["datetime"].(string)
		when, err := time.Parse(time.RFC3339Nano, dt)
		if err != nil || !strings.HasSuffix(dt, "Z") || when.IsZero() {
			t.Errorf("line %d: datetime %q (%v)", lines, dt, err)
		}
		if ts, _ := v["timestamp"].(json.Number).Int64(); ts != when.UnixMicro() || ts <= 0 {
			t.Errorf("line %d: timestamp %d, datetime %s is %d", lines, ts, dt, when.UnixMicro())
		}
		if v["timestamp_desc"] != "Event Recorded" || v["data_type"] != "evtriage:finding" {
			t.Errorf("line %d: timestamp_desc %v, data_type %v", lines, v["timestamp_desc"], v["data_type"])
		}
		records[string(v["record_id"].(json.Number))] = v
	}
	if lines != len(res.Findings)-1 {
		t.Fatalf("%d lines, want %d (every finding but the undated one)", lines, len(res.Findings)-1)
	}
	if _, ok := records["5"]; ok {
		t.Error("the undated finding was written")
	}
	tests := []struct {
		record, key string
		want        any
	}{
		{"2", "message", `Any "process", started — regsvr32.exe (pid 200) — =HYPERLINK("http://evil.example/x","click")`},
		{"2", "datetime", "2024-03-01T10:00:02.123456Z"},
		{"2", "rule_id", "flat-any"},
		{"2", "level", "medium"},
		{"2", "host", "WS1"},
		{"2", "pid", json.Number("200")},
		{"2", "parent_image", `C:\Windows\explorer.exe`},
		{"2", "lineage", "userinit.exe > explorer.exe > regsvr32.exe"},
		{"2", "export_tool", "evtriage v9.9.9 commit abcdef"},
		{"4", "command_line", "a, \"b\"\nc \x1b]0;pwned\x07 \u202eexe.txt"}, // escaped in the file, whole once decoded
		{"4", "user", "@admin"},
	}
	for _, tc := range tests {
		if got := records[tc.record][tc.key]; got != tc.want {
			t.Errorf("record %s %s = %#v, want %#v", tc.record, tc.key, got, tc.want)
		}
	}
}

func TestUndated(t *testing.T) {
	mk := func(tm time.Time) *Finding { return &Finding{Event: &EventRef{Event: &parser.Event{Time: tm}}} }
	tests := []struct {
		name   string
		when   time.Time
		undate bool
	}{
		{"none", time.Time{}, true},
		{"FILETIME 1", time.Date(1601, 1, 1, 0, 0, 0, 100, time.UTC), true},
		{"before 1970", time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC), true},
		{"the epoch", time.Unix(0, 0), false},
		{"an event", time.Date(2019, 5, 12, 18, 35, 5, 155949300, time.UTC), false},
		{"year 10000", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), true},
	}
	for _, tc := range tests {
		if got := len(Undated([]*Finding{mk(tc.when)})) == 1; got != tc.undate {
			t.Errorf("%s: undated %v, want %v", tc.name, got, tc.undate)
		}
	}
	if got := Undated([]*Finding{{}}); len(got) != 1 {
		t.Error("a finding without an event is not undated")
	}
}
