package triage

import (
	"github.com/evtriage/evtriage/parser"
	"strings"
	"testing"
)

func TestChannelShort(t *testing.T) {
	for in, want := range map[string]string{
		"Microsoft-Windows-Sysmon/Operational":           "Sysmon",
		"security":                                       "Security",
		"Microsoft-Windows-Windows Defender/Operational": "Defender",
		"Windows PowerShell":                             "WinPS",
		"Microsoft-Windows-CAPI2/Operational":            "CAPI2",
		"Microsoft-Windows-Kernel-PnP/Configuration":     "Kernel-PnP/Configuration",
		"Microsoft-Windows-Foo/Operational":              "Foo",
		"Custom":                                         "Custom",
		"":                                               "",
		"Microsoft-Windows-":                             "Microsoft-Windows-",
	} {
		if got := ChannelShort(in); got != want {
			t.Errorf("ChannelShort(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSummary(t *testing.T) {
	ps := "Microsoft-Windows-PowerShell/Operational"
	tests := []struct {
		name string
		ev   *parser.Event
		want string
	}{
		{"sysmon create", s1("H", 1, t0, 2, 20, sys32Reg, 1, 10, sys32Cmd), "regsvr32.exe args"},
		{"command line of another program", ev(sysmonCh, 1, "H", 1, t0, "Image", `C:\x\jabber.exe`, "CommandLine", "regsvr32 /s a.dll"), "jabber.exe regsvr32 /s a.dll"},
		{"quoted program without .exe", ev(sysmonCh, 1, "H", 1, t0, "Image", sys32Cmd, "CommandLine", `"C:\Windows\system32\cmd" /c dir`), `"C:\Windows\system32\cmd" /c dir`},
		{"sysmon network", ev(sysmonCh, 3, "H", 1, t0, "Image", `C:\x\chrome.exe`, "Protocol", "tcp", "DestinationIp", "1.2.3.4", "DestinationPort", "443", "DestinationHostname", "example.com"),
			"chrome.exe tcp → 1.2.3.4:443 example.com"},
		{"sysmon load", s7("H", 1, t0, 2, 20, sys32Reg, `C:\Users\Public\x.dll`, "false"), `regsvr32.exe loads C:\Users\Public\x.dll signed false`},
		{"logon", ev("Security", 4624, "H", 1, t0, "TargetUserName", "alice", "TargetDomainName", "CORP", "LogonType", "10", "IpAddress", "-"),
			`logon CORP\alice type 10`},
		{"4688", n4688("H", 1, t0, 20, sys32Reg, 10, sys32Cmd), "regsvr32.exe args parent cmd.exe"},
		{"service", ev("System", 7045, "H", 1, t0, "ServiceName", "evil", "ImagePath", "C:\\x.exe"), `service installed evil C:\x.exe`},
		{"script block lines folded", ev(ps, 4104, "H", 1, t0, "ScriptBlockText", "Get-Process\r\n\tIEX  $x"), "script block Get-Process IEX $x"},
		{"log cleared", ev("Security", 1102, "H", 1, t0, "SubjectUserName", "bob"), "audit log cleared by bob"},
		{"no entry", ev("Microsoft-Windows-CAPI2/Operational", 70, "H", 1, t0, "A", "1", "B", "2", "C", "3", "D", "4", "E", "5"), "A=1 B=2 C=3 D=4 …"},
		{"no fields", ev("Application", 1000, "H", 1, t0), "Microsoft-Windows-Sysmon"},
		{"entry without its fields", ev("System", 7045, "H", 1, t0, "Other", "x"), "Other=x"},
		{"classic PowerShell", ev("Windows PowerShell", 400, "H", 1, t0, "Data", "Available", "Data#2", "None", "Data#3", "\tNewEngineState=Available\n\tHostApplication=powershell -enc SQBFAFgA\n"),
			"engine 400: powershell -enc SQBFAFgA"},
	}
	for _, tt := range tests {
		if got := Summary(tt.ev, 0); got != tt.want {
			t.Errorf("%s: Summary = %q, want %q", tt.name, got, tt.want)
		}
	}
	long := ev(ps, 4104, "H", 1, t0, "ScriptBlockText", strings.Repeat("x", 100000))
	if got := Summary(long, 200); len(got) > 210 || !strings.HasSuffix(got, "…") {
		t.Errorf("a long summary is %d bytes: %.40q", len(got), got)
	}
	if Summary(nil, 0) != "" {
		t.Error("nil event")
	}
}
