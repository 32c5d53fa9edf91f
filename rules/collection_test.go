package rules

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestRuleCollections: Sigma 1.0 rule collections (action: global, reset,
// repeat) load as the specification describes; what cannot load is
// refused with a reason that names the action or the duplicate key, at its
// line.
func TestRuleCollections(t *testing.T) {
	const global = `action: global
title: Whoami Execution
level: high
detection:
    selection:
        CommandLine|contains: 'whoami'
    condition: selection
`
	tests := []struct {
		name string
		file string
		// rules as "title/level/logsource category or service"; rejected as
		// "line: reason part".
		rules    []string
		rejected []string
		// matches: event description -> titles matched
		sysmon1, sec4688 int // number of rules matching each event
	}{
		{
			name: "global merged into each rule",
			file: global + `---
id: 44444444-0000-4000-8000-000000000001
logsource:
    product: windows
    category: process_creation
---
id: 44444444-0000-4000-8000-000000000002
logsource:
    product: windows
    service: sysmon
detection:
    selection:
        EventID: 1
`,
			rules:   []string{"Whoami Execution/high/process_creation", "Whoami Execution/high/sysmon"},
			sysmon1: 2, sec4688: 1,
		},
		{
			name: "the global wins where both set a value; globals accumulate",
			file: global + `---
action: global
level: low
---
title: Own Title
id: 44444444-0000-4000-8000-000000000003
level: critical
logsource:
    product: windows
    category: process_creation
`,
			rules:   []string{"Whoami Execution/low/process_creation"},
			sysmon1: 1, sec4688: 1,
		},
		{
			name: "reset forgets the global",
			file: global + `---
id: 44444444-0000-4000-8000-000000000004
logsource:
    product: windows
    category: process_creation
---
action: reset
---
title: Alone
id: 44444444-0000-4000-8000-000000000005
logsource:
    product: windows
    category: process_creation
detection:
    s:
        CommandLine|contains: 'net user'
    condition: s
`,
			rules:   []string{"Whoami Execution/high/process_creation", "Alone/informational/process_creation"},
			sysmon1: 1, sec4688: 1,
		},
		{
			name: "repeat makes a rule from the previous one",
			file: `title: Whoami by Sysmon
id: 44444444-0000-4000-8000-000000000006
logsource:
    product: windows
    service: sysmon
detection:
    selection:
        EventID: 1
        CommandLine|contains: 'whoami'
    condition: selection
---
action: repeat
title: Whoami by Security
id: 44444444-0000-4000-8000-000000000007
logsource:
    service: security
detection:
    selection:
        EventID: 4688
`,
			rules:   []string{"Whoami by Sysmon/informational/sysmon", "Whoami by Security/informational/security"},
			sysmon1: 1, sec4688: 1,
		},
		{
			name: "repeat with nothing before it",
			file: `action: repeat
title: x
`,
			rejected: []string{"1: action: repeat with no rule document before it"},
		},
		{
			name: "unknown action",
			file: `action: merge
title: x
`,
			rejected: []string{`1: unknown action "merge"`},
		},
		{
			name: "duplicate key in a selection",
			file: `title: Twice
id: 44444444-0000-4000-8000-000000000008
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        CommandLine|contains: 'whoami'
        CommandLine|contains: 'net user'
    condition: selection
`,
			rejected: []string{`9: duplicate key "CommandLine|contains" (first at line 8)`},
		},
		{
			name: "a refused global refuses what builds on it, until reset",
			file: `action: global
detection:
    selection:
        CommandLine|contains: 'whoami'
        CommandLine|contains: 'net'
    condition: selection
---
title: Built On It
id: 44444444-0000-4000-8000-000000000009
logsource:
    product: windows
    category: process_creation
---
action: repeat
title: Repeat Of It
id: 44444444-0000-4000-8000-00000000000a
---
action: reset
---
title: After Reset
id: 44444444-0000-4000-8000-00000000000b
logsource:
    product: windows
    category: process_creation
detection:
    s:
        CommandLine|contains: 'whoami'
    condition: s
`,
			rules: []string{"After Reset/informational/process_creation"},
			rejected: []string{`5: duplicate key "CommandLine|contains"`, "8: the action: global document this rule takes content from (line 1) was refused",
				"14: action: repeat of a refused document (line 8)"},
			sysmon1: 1, sec4688: 1,
		},
	}
	sysmonEv := sysmon(1, "Image", `C:\Windows\System32\whoami.exe`, "CommandLine", "whoami /all")
	secEv := newEvent("Security", 4688, "NewProcessName", `C:\Windows\System32\whoami.exe`, "CommandLine", "whoami /all")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := loadRules(t, map[string]string{"c.yml": tc.file}, "")
			var got []string
			for _, r := range s.Rules() {
				where := r.Logsource.Category
				if where == "" {
					where = r.Logsource.Service
				}
				got = append(got, fmt.Sprintf("%s/%s/%s", r.Title, r.Level, where))
			}
			if strings.Join(got, "|") != strings.Join(tc.rules, "|") {
				t.Errorf("rules %q, want %q", got, tc.rules)
			}
			rj := s.Rejected()
			if len(rj) != len(tc.rejected) {
				t.Fatalf("rejected %+v, want %q", rj, tc.rejected)
			}
			for i, want := range tc.rejected {
				line, reason, _ := strings.Cut(want, ": ")
				if fmt.Sprint(rj[i].Line) != line || !strings.Contains(rj[i].Reason, reason) {
					t.Errorf("rejection %d: %d: %s, want %s", i, rj[i].Line, rj[i].Reason, want)
				}
			}
			if n := len(s.Match(sysmonEv, nil)); n != tc.sysmon1 {
				t.Errorf("Sysmon 1 matched %d rules, want %d", n, tc.sysmon1)
			}
			if n := len(s.Match(secEv, nil)); n != tc.sec4688 {
				t.Errorf("Security 4688 matched %d rules, want %d", n, tc.sec4688)
			}
		})
	}
}

// TestCorrelationCycles: a correlation that refers to itself, or that is
// part of a cycle of correlations, says so; one that leads into such a
// cycle names the correlation it refers to.
func TestCorrelationCycles(t *testing.T) {
	corr := func(name, ref string) string {
		return fmt.Sprintf("title: %s\nname: %s\ncorrelation:\n    type: event_count\n    rules: [%s]\n    timespan: 1m\n    condition: {gte: 2}\n", name, name, ref)
	}
	tests := []struct {
		name string
		docs []string
		want map[string]string // correlation name -> part of its rejection
	}{
		{"itself", []string{corr("selfish", "selfish")}, map[string]string{"selfish": `refers to itself ("selfish")`}},
		{"a cycle of two", []string{corr("a", "b"), corr("b", "a")}, map[string]string{
			"a": "cycle: a -> b -> a", "b": "cycle: b -> a -> b"}},
		{"into a cycle", []string{corr("a", "b"), corr("b", "c"), corr("c", "b")}, map[string]string{
			"a": `refers to correlation "b", which cannot be loaded`, "b": "cycle: b -> c -> b", "c": "cycle: c -> b -> c"}},
		{"missing rule", []string{corr("a", "nothing")}, map[string]string{"a": `refers to rule "nothing", which is not loaded`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{}
			for i, d := range tc.docs {
				files[fmt.Sprintf("c%d.yml", i)] = d
			}
			s := loadRules(t, files, "")
			if len(s.Rejected()) != len(tc.want) || len(s.Rules()) != 0 {
				t.Fatalf("rules %d, rejected %+v", len(s.Rules()), s.Rejected())
			}
			for _, rj := range s.Rejected() {
				var i int
				fmt.Sscanf(filepath.Base(rj.Path), "c%d.yml", &i)
				cname := strings.TrimPrefix(strings.SplitN(tc.docs[i], "\n", 3)[1], "name: ")
				if !strings.Contains(rj.Reason, tc.want[cname]) {
					t.Errorf("%s: %q, want it to say %q", cname, rj.Reason, tc.want[cname])
				}
			}
		})
	}
}

// TestCollectionMergeBounded: a global and a rule whose maps reach each
// other through YAML aliases (each level twice the one below) would make
// merging exponential; the document is refused instead.
func TestCollectionMergeBounded(t *testing.T) {
	chain := func(p string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "%s0: &%s0 {k: v}\n", p, p)
		for i := 1; i <= 24; i++ {
			fmt.Fprintf(&b, "%s%d: &%s%d {x: *%s%d, y: *%s%d}\n", p, i, p, i, p, i-1, p, i-1)
		}
		fmt.Fprintf(&b, "z: *%s24\n", p)
		return b.String()
	}
	file := "action: global\n" + chain("a") + "---\ntitle: t\nid: 44444444-0000-4000-8000-0000000000ff\n" +
		"logsource: {product: windows, category: process_creation}\ndetection: {s: {Image: x}, condition: s}\n" + chain("b")
	s := loadRules(t, map[string]string{"c.yml": file}, "")
	if len(s.Rules()) != 0 || len(s.Rejected()) != 1 || !strings.Contains(s.Rejected()[0].Reason, "alias amplification") {
		t.Fatalf("rules %d, rejected %+v", len(s.Rules()), s.Rejected())
	}
}
