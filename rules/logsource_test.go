package rules

import (
	"strings"
	"testing"
)

// TestProductOnlyLogsource: a rule whose logsource is only product:
// windows applies to every Windows channel, listed in the logsource table
// or not; a service rule stays on its channel.
func TestProductOnlyLogsource(t *testing.T) {
	productOnly := "title: mimikatz keywords\nid: 33333333-3333-3333-3333-333333333331\nlogsource:\n    product: windows\n" +
		"detection:\n    keywords:\n        - 'sekurlsa::logonpasswords'\n    condition: keywords\n"
	service := "title: security only\nid: 33333333-3333-3333-3333-333333333332\nlogsource:\n    product: windows\n    service: security\n" +
		"detection:\n    keywords:\n        - 'sekurlsa::logonpasswords'\n    condition: keywords\n"
	s := loadRules(t, map[string]string{"a.yml": productOnly, "b.yml": service}, "")
	if len(s.Rejected()) > 0 {
		t.Fatal(s.Rejected())
	}
	for _, r := range s.Rules() {
		if r.Unmapped {
			t.Errorf("%s: unmapped", r.Title)
		}
	}
	tests := []struct {
		channel string
		id      uint32
		want    []string
	}{
		{"Microsoft-Windows-WinRM/Operational", 91, []string{"mimikatz keywords"}},
		{"Security", 4688, []string{"mimikatz keywords", "security only"}},
		{"Security", 4624, []string{"mimikatz keywords", "security only"}},
		{"Microsoft-Windows-Sysmon/Operational", 1, []string{"mimikatz keywords"}},
		{"Some-Vendor/Admin", 7, []string{"mimikatz keywords"}},
	}
	for _, tc := range tests {
		ev := newEvent(tc.channel, tc.id, "Payload", "x sekurlsa::logonpasswords y")
		var got []string
		for _, m := range s.Match(ev, nil) {
			got = append(got, m.Rule.Title)
		}
		if len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) || (len(got) > 1 && got[1] != tc.want[1]) {
			t.Errorf("%s %d: %q, want %q", tc.channel, tc.id, got, tc.want)
		}
		for _, r := range s.Rules() {
			ok, _ := r.Eval(ev, nil)
			want := false
			for _, w := range tc.want {
				want = want || w == r.Title
			}
			if ok != want {
				t.Errorf("%s %d: Eval(%s) = %v, want %v", tc.channel, tc.id, r.Title, ok, want)
			}
		}
		if matches(s, newEvent(tc.channel, tc.id, "Payload", "harmless")) {
			t.Errorf("%s %d: matched a harmless event", tc.channel, tc.id)
		}
	}
}

// TestIntegrityLevelAliases: Sysmon's IntegrityLevel names and Security
// 4688's MandatoryLabel SIDs read as each other, whichever form a rule
// names.
func TestIntegrityLevelAliases(t *testing.T) {
	sysmon1 := func(level string) Event {
		return sysmon(1, "Image", `C:\x.exe`, "IntegrityLevel", level)
	}
	sec4688 := func(label string) Event {
		return newEvent("Security", 4688, "NewProcessName", `C:\x.exe`, "MandatoryLabel", label)
	}
	tests := []struct {
		name string
		det  string
		ev   Event
		want bool
	}{
		{"name on 4688", "IntegrityLevel: 'High'", sec4688("S-1-16-12288"), true},
		{"name on 4688, other level", "IntegrityLevel: 'System'", sec4688("S-1-16-12288"), false},
		{"SID on 4688", "IntegrityLevel: 'S-1-16-16384'", sec4688("S-1-16-16384"), true},
		{"SID on Sysmon", "IntegrityLevel: 'S-1-16-12288'", sysmon1("High"), true},
		{"SID on Sysmon, any case", "IntegrityLevel: 'S-1-16-4096'", sysmon1("LOW"), true},
		{"SID on Sysmon, other level", "IntegrityLevel: 'S-1-16-16384'", sysmon1("Medium"), false},
		{"name on Sysmon", "IntegrityLevel: 'medium'", sysmon1("Medium"), true},
		{"SigmaHQ's list of both forms on 4688", "IntegrityLevel:\n            - 'High'\n            - 'System'\n            - 'S-1-16-16384'\n            - 'S-1-16-12288'",
			sec4688("S-1-16-12288"), true},
		{"SigmaHQ's list of both forms on Sysmon", "IntegrityLevel:\n            - 'High'\n            - 'System'\n            - 'S-1-16-16384'\n            - 'S-1-16-12288'",
			sysmon1("System"), true},
		{"filter by SID on Sysmon", "Image|endswith: 'x.exe'\n    filter:\n        IntegrityLevel: 'S-1-16-8192'\n    condition: s and not filter",
			sysmon1("Medium"), false},
		{"filter by SID on Sysmon, other level", "Image|endswith: 'x.exe'\n    filter:\n        IntegrityLevel: 'S-1-16-8192'\n    condition: s and not filter",
			sysmon1("High"), true},
		{"no label on 4688 version 1", "IntegrityLevel: 'High'", newEvent("Security", 4688, "NewProcessName", `C:\x.exe`), false},
	}
	for _, tc := range tests {
		body := "    s:\n        " + tc.det + "\n"
		if !strings.Contains(body, "condition:") {
			body += "    condition: s\n"
		}
		s, _ := oneRule(t, procRule(body))
		if got := matches(s, tc.ev); got != tc.want {
			t.Errorf("%s: match %v, want %v", tc.name, got, tc.want)
		}
		if ok, _ := s.Rules()[0].Eval(tc.ev, nil); ok != tc.want {
			t.Errorf("%s: Eval %v, want %v", tc.name, ok, tc.want)
		}
	}
}
