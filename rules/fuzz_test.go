package rules

import (
	"io/fs"
	"testing"
)

// loadBytes loads one rule file's content without touching the disk,
// with a copy of the parsed logsource table.
func loadBytes(data []byte, table []logsourceEntry) *Set {
	s := &Set{fieldIdx: make(map[string]int)}
	s.table = append([]logsourceEntry(nil), table...)
	docs := s.readDocs(nil, "fuzz.yml", data, false)
	s.compileAll(docs, map[string][]string{"Servers": {"srv*"}})
	s.buildIndex()
	s.pool.New = func() any { return newEvalCtx(s) }
	return s
}

// FuzzRule feeds arbitrary bytes to the loader, then matches what loaded
// against a few events: nothing may panic or hang, and every document is
// either loaded or rejected.
func FuzzRule(f *testing.F) {
	ents, _ := fs.ReadDir(builtinFS, "builtin")
	for _, e := range ents {
		data, _ := builtinFS.ReadFile("builtin/" + e.Name())
		f.Add(data)
	}
	f.Add([]byte(procRule("    s:\n        CommandLine|windash|contains: ' -foo'\n    k:\n        - 'a*b?c'\n    condition: 1 of them and not (s or k)\n")))
	f.Add([]byte(procRule("    s:\n        C|wide|base64offset|contains: 'ping'\n        D|re|i: '(a|b)+$'\n        E|cidr: 'fe80::/10'\n        F|gte: 3\n        G|expand: '%Servers%'\n        H|fieldref: C\n        I: null\n    condition: s\n")))
	f.Add([]byte("title: c\nid: x\ncorrelation:\n    type: event_count\n    rules: [11111111-1111-1111-1111-111111111111]\n    group-by: [User]\n    timespan: 5m\n    condition: {gte: 2}\n---\n" + procRule("    s:\n        A: b\n    condition: s\n")))
	f.Add([]byte("a: &x [*x]\n"))
	events := []*mapEvent{
		sysmon(1, "Image", `C:\Windows\System32\regsvr32.exe`, "CommandLine", "regsvr32 /s /i:http://x scrobj.dll", "C", "cABpAG4AZwA=", "F", "4", "G", "srv1"),
		sysmon(7, "Image", `C:\Windows\System32\regsvr32.exe`, "Signed", "false", "ImageLoaded", `C:\x.dll`),
		newEvent("Security", 4688, "NewProcessName", `C:\a.exe`),
		sysmon(1),
	}
	_, table, err := loadConfig("", nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		s := loadBytes(data, table)
		for _, r := range s.Rules() {
			if r.Title == "" {
				t.Fatalf("loaded a rule without title")
			}
		}
		for _, ev := range events {
			for _, m := range s.Candidates(ev, nil) {
				ok, _ := m.Rule.Eval(ev, isFilterIdent)
				if !ok {
					t.Fatalf("candidate %q does not hold with filters off", m.Rule.Title)
				}
			}
			s.Match(ev, nil)
		}
	})
}
