package rules

import (
	"os"
	"path/filepath"
	"testing"
)

// TestDataContainer: a rule's Data is every unnamed <Data> value of an
// event (Data, Data#2, Data#3… as the parser names them): a condition on
// Data holds when it holds for one of them; Data#N is the N-th alone.
// Each case runs with and without the prefilter.
func TestDataContainer(t *testing.T) {
	// A classic PowerShell 400 and an MSSQL-like Application event.
	ps := []string{"Data", "Available", "Data#2", "None",
		"Data#3", "NewEngineState=Available\n\tHostName=ConsoleHost\n\tHostVersion=2.0\n\tEngineVersion=2.0"}
	ntds := []string{"Data", "ntdsutil", "Data#2", "1970", "Data#3", "x", "Data#4", "y",
		"Data#5", `C:\Windows\NTDS\ntds.dit`}
	mssql := []string{"Data", "sa", "Data#2", "Reason: Password did not match.", "Data#3", "[CLIENT: 10.1.2.3]"}
	cases := []struct {
		name    string
		channel string
		id      uint32
		det     string
		fields  []string
		want    bool
	}{
		{"contains sees the third value", "Windows PowerShell", 400,
			"    s:\n        Data|contains: 'HostVersion=2.'\n    condition: s", ps, true},
		{"exact value in the second", "Windows PowerShell", 400,
			"    s:\n        Data: 'none'\n    condition: s", ps, true},
		{"nothing holds", "Windows PowerShell", 400,
			"    s:\n        Data|contains: 'HostVersion=5.'\n    condition: s", ps, false},
		{"all: each value in some value", "Windows PowerShell", 400,
			"    s:\n        Data|contains|all:\n            - 'ConsoleHost'\n            - 'Available'\n            - 'None'\n    condition: s", ps, true},
		{"all: one missing", "Windows PowerShell", 400,
			"    s:\n        Data|contains|all:\n            - 'ConsoleHost'\n            - 'Stopped'\n    condition: s", ps, false},
		{"Data#2 is the second alone", "Windows PowerShell", 400,
			"    s:\n        Data#2: 'None'\n    condition: s", ps, true},
		{"Data#2 is not the first", "Windows PowerShell", 400,
			"    s:\n        Data#2: 'Available'\n    condition: s", ps, false},
		{"keywords see every value", "Windows PowerShell", 400,
			"    keywords:\n        - 'EngineVersion=2.0'\n    condition: keywords", ps, true},
		{"ntdsutil: the fifth value", "Application", 325,
			"    s:\n        Data|contains: '\\ntds.dit'\n    condition: s", ntds, true},
		{"a filter on Data excludes when any value matches", "Application", 18456,
			"    s:\n        Data|contains: 'Reason: Password did not match'\n    filter_main_local_ips:\n        Data|contains: '[CLIENT: 10.'\n    condition: s and not filter_main_local_ips", mssql, false},
		{"the filter lets other clients through", "Application", 18456,
			"    s:\n        Data|contains: 'Reason: Password did not match'\n    filter_main_local_ips:\n        Data|contains: '[CLIENT: 10.'\n    condition: s and not filter_main_local_ips",
			[]string{"Data", "sa", "Data#2", "Reason: Password did not match.", "Data#3", "[CLIENT: 203.0.113.9]"}, true},
		{"neq holds when no value is equal", "Windows PowerShell", 400,
			"    s:\n        Data|neq: 'Stopped'\n    condition: s", ps, true},
		{"neq fails when one value is equal", "Windows PowerShell", 400,
			"    s:\n        Data|neq: 'None'\n    condition: s", ps, false},
		{"null: an empty value", "Windows PowerShell", 400,
			"    s:\n        Data: null\n    condition: s", []string{"Data", "x", "Data#2", ""}, true},
		{"exists", "Windows PowerShell", 400,
			"    s:\n        Data|exists: true\n    condition: s", ps, true},
		{"a named field is one value", "Windows PowerShell", 400,
			"    s:\n        Other: 'b'\n    condition: s", []string{"Other", "a", "Data", "b"}, false},
	}
	for _, tc := range cases {
		for _, noPrefilter := range []bool{false, true} {
			dir := t.TempDir()
			rule := "title: t\nid: 22222222-2222-2222-2222-222222222222\nlogsource:\n    product: windows\n    service: " +
				map[string]string{"Windows PowerShell": "powershell-classic", "Application": "application"}[tc.channel] +
				"\ndetection:\n" + tc.det + "\n"
			if err := os.WriteFile(filepath.Join(dir, "r.yml"), []byte(rule), 0o644); err != nil {
				t.Fatal(err)
			}
			s := Load(LoadOptions{NoBuiltin: true, Paths: []string{dir}, NoPrefilter: noPrefilter})
			if len(s.Rejected()) > 0 {
				t.Fatalf("%s: rejected %+v", tc.name, s.Rejected())
			}
			ev := newEvent(tc.channel, tc.id, tc.fields...)
			if got := matches(s, ev); got != tc.want {
				t.Errorf("%s (prefilter off: %v): match %v, want %v", tc.name, noPrefilter, got, tc.want)
			}
		}
	}
}
