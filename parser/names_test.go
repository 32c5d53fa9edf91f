package parser

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestNamer(t *testing.T) {
	many := make([]string, 40)
	wantMany := make([]string, 40)
	for i := range many {
		many[i] = "X"
		wantMany[i] = "X"
		if i > 0 {
			wantMany[i] = fmt.Sprintf("X#%d", i+1)
		}
	}
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"distinct names stay", []string{"Image", "CommandLine", "User"}, []string{"Image", "CommandLine", "User"}},
		{"unnamed data", []string{"", "", ""}, []string{"Data", "Data#2", "Data#3"}},
		{"unnamed after a named Data", []string{"Data", ""}, []string{"Data", "Data#2"}},
		{"array items", []string{"Item", "Item", "Other", "Item"}, []string{"Item", "Item#2", "Other", "Item#3"}},
		{"a literal X#2 is not shadowed", []string{"X", "X#2", "X", "X"}, []string{"X", "X#2", "X#3", "X#4"}},
		{"a literal X#2 after the repeat", []string{"X", "X", "X#2"}, []string{"X", "X#2", "X#2#2"}},
		{"past the linear limit", many, wantMany},
		{"many distinct then a repeat", append(append([]string(nil), wantMany...), "X"), append(append([]string(nil), wantMany...), "X#41")},
	}
	var n Namer
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for round := 0; round < 2; round++ { // a reused Namer after Reset gives the same
				n.Reset()
				var got []string
				for _, s := range tc.in {
					got = append(got, n.Name(s))
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("round %d: %q, want %q", round, got, tc.want)
				}
			}
		})
	}
}

func TestEventValues(t *testing.T) {
	ev := &Event{Channel: "Windows PowerShell", EventID: 800, Fields: []Field{
		{"Data", "first"}, {"Data#2", "second"}, {"Data#3", `C:\Windows\NTDS\ntds.dit`},
		{"Datum", "not a repeat"}, {"Data#x", "not a repeat"}, {"Data#", "not a repeat"},
	}}
	tests := []struct {
		name string
		want []string
	}{
		{"Data", []string{"first", "second", `C:\Windows\NTDS\ntds.dit`}},
		{"Data#2", []string{"second"}},
		{"Data#3", []string{`C:\Windows\NTDS\ntds.dit`}},
		{"Datum", []string{"not a repeat"}},
		{"EventID", []string{"800"}},
		{"Channel", []string{"Windows PowerShell"}},
		{"Missing", nil},
	}
	for _, tc := range tests {
		got := ev.Values(tc.name, nil)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Values(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
	// Values appends to what dst holds.
	if got := ev.Values("Data#2", []string{"x"}); strings.Join(got, ",") != "x,second" {
		t.Errorf("append: %q", got)
	}
}

func BenchmarkNamer(b *testing.B) {
	fields := []string{"RuleName", "UtcTime", "ProcessGuid", "ProcessId", "Image", "FileVersion", "Description",
		"Product", "Company", "OriginalFileName", "CommandLine", "CurrentDirectory", "User", "LogonGuid", "LogonId",
		"TerminalSessionId", "IntegrityLevel", "Hashes", "ParentProcessGuid", "ParentProcessId", "ParentImage",
		"ParentCommandLine", "ParentUser"}
	var n Namer
	b.ReportAllocs()
	for b.Loop() {
		n.Reset()
		for _, f := range fields {
			n.Name(f)
		}
	}
}

// TestReaderNamesFields: the reader gives every field of a record a name of
// its own, for few fields and for many (past the quick check's 64).
func TestReaderNamesFields(t *testing.T) {
	many := func(n int) ([]Field, []string) {
		var fs []Field
		var want []string
		for i := 0; i < n; i++ {
			fs = append(fs, Field{fmt.Sprintf("F%d", i), "v"})
			want = append(want, fmt.Sprintf("F%d", i))
		}
		return append(fs, Field{"F0", "again"}), append(want, "F0#2")
	}
	f10, w10 := many(10)
	f70, w70 := many(70)
	tests := []struct {
		name   string
		fields []Field
		want   []string
	}{
		{"distinct", []Field{{"A", "1"}, {"B", "2"}}, []string{"A", "B"}},
		{"unnamed", []Field{{"", "1"}, {"", "2"}, {"X", "3"}, {"", "4"}}, []string{"Data", "Data#2", "X", "Data#3"}},
		{"a literal X#2 and repeats of X", []Field{{"X#2", "1"}, {"X", "2"}, {"X", "3"}}, []string{"X#2", "X", "X#3"}},
		{"a repeat among few", f10, w10},
		{"a repeat among many", f70, w70},
	}
	var evs []*Event
	for i, tc := range tests {
		evs = append(evs, &Event{Time: wtT0, Provider: "P", Channel: "C", Computer: "H", EventID: uint16(i + 1), Fields: tc.fields})
	}
	got := wtRead(t, wtWrite(t, evs))
	for i, tc := range tests {
		var names []string
		for _, f := range got[i].Fields {
			names = append(names, f.Name)
		}
		if !reflect.DeepEqual(names, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, names, tc.want)
		}
	}
}
