package tui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/triage"
)

// activityLog is a regsvr32 (its activity is kept) that loads a DLL,
// connects, resolves a name, writes a file, touches the registry
// (Sysmon 12, 13, 14) and opens a pipe (Sysmon 17: another kind).
func activityLog() []*parser.Event {
	g := testGUID(5)
	ev := func(rec uint64, id uint16, kv ...string) *parser.Event {
		return sysmonEvent("WS1", rec, int(rec), id, append([]string{"ProcessGuid", g, "ProcessId", "4242",
			"Image", `C:\Windows\System32\regsvr32.exe`}, kv...)...)
	}
	return []*parser.Event{
		sysmonEvent("WS1", 1, 0, 1, "ProcessGuid", g, "ProcessId", "4242", "Image", `C:\Windows\System32\regsvr32.exe`,
			"CommandLine", `regsvr32 /s C:\Users\Public\x.dll`, "ParentProcessGuid", testGUID(4), "ParentProcessId", "400",
			"ParentImage", `C:\Windows\explorer.exe`, "ParentCommandLine", "explorer"),
		ev(2, 7, "ImageLoaded", `C:\Users\Public\x.dll`, "Signed", "false", "Signature", ""),
		ev(3, 3, "Protocol", "tcp", "SourceIp", "10.0.0.5", "SourcePort", "49700", "DestinationIp", "203.0.113.7", "DestinationPort", "443",
			"DestinationHostname", "cdn-update.example-cdn.net"),
		ev(4, 22, "QueryName", "cdn-update.example-cdn.net", "QueryResults", "203.0.113.7;"),
		ev(5, 11, "TargetFilename", `C:\Users\Public\Downloads\stage-2.sct`, "CreationUtcTime", "2019-05-12 18:35:10.000"),
		ev(6, 12, "EventType", "CreateKey", "TargetObject", `HKU\S-1-5-21-1\Software\Classes\CLSID\{AAAA}`),
		ev(7, 13, "EventType", "SetValue", "TargetObject", `HKU\S-1-5-21-1\Software\Classes\CLSID\{AAAA}\InprocServer32\(Default)`,
			"Details", `C:\Users\Public\x.dll`),
		ev(8, 14, "EventType", "RenameKey", "TargetObject", `HKU\S-1-5-21-1\Software\Classes\CLSID\{AAAA}`, "NewName", `HKU\S-1-5-21-1\Software\Classes\CLSID\{BBBB}`),
		ev(9, 17, "EventType", "CreatePipe", "PipeName", `\evil-pipe`),
	}
}

// TestActivityInDetail: every activity kind of triage's kinds table that a
// process has kept shows in its detail, its events one line each with the
// kind's fields (registry and file events like image loads, network and
// DNS), and y copies a line's indicator.
func TestActivityInDetail(t *testing.T) {
	r := huntLog(t, activityLog())
	var reg *triage.Process
	for _, p := range r.Processes {
		if p.PID == 4242 {
			reg = p
		}
	}
	if reg == nil {
		t.Fatal("no regsvr32")
	}
	for _, k := range triage.ActivityKinds() {
		if len(reg.Events(k)) == 0 {
			t.Fatalf("the hunt kept no %s event", k)
		}
	}
	m := loaded(t, r, 160, 60)
	m.cfg.Clipboard = true
	m, _ = drive(t, m, press("2")...)
	for range 5 {
		if p := m.tree.Selected(); p != nil && p.PID == 4242 {
			break
		}
		m, _ = drive(t, m, press("j")...)
	}
	if p := m.tree.Selected(); p == nil || p.PID != 4242 {
		t.Fatalf("regsvr32 is not in the tree:\n%s", screen(m))
	}
	d := detailText(m)
	for _, want := range []string{
		"Image loads (1, 1 unsigned) ! unsigned C:\\Users\\Public\\x.dll",
		"Network connections (1) 18:35:08 tcp 10.0.0.5:49700 → 203.0.113.7:443 (cdn-update.example-cdn.net)",
		"DNS queries (1) 18:35:09 cdn-update.example-cdn.net → 203.0.113.7;",
		"File events (1) 18:35:10 C:\\Users\\Public\\Downloads\\stage-2.sct",
		"Registry events (3) 18:35:11 HKU\\S-1-5-21-1\\Software\\Classes\\CLSID\\{AAAA} CreateKey",
		"18:35:12 HKU\\S-1-5-21-1\\Software\\Classes\\CLSID\\{AAAA}\\InprocServer32\\(Default) SetValue C:\\Users\\Public\\x.dll",
		"RenameKey HKU\\S-1-5-21-1\\Software\\Classes\\CLSID\\{BBBB}",
		"Other events (1) 18:35:14 EID 17",
	} {
		if !strings.Contains(d, want) {
			t.Errorf("detail lacks %q:\n%s", want, d)
		}
	}
	// Select the file event's line and copy its indicator.
	for range 60 {
		if f, _ := m.detail.selected(); f.label == triage.KindFile.Title() {
			break
		}
		m, _ = drive(t, m, press("}")...)
	}
	_, cmd := m.Update(press("y")[0])
	if cmd == nil {
		t.Fatal("y copied nothing")
	}
	if got := fmt.Sprint(cmd()); got != `C:\Users\Public\Downloads\stage-2.sct` {
		t.Errorf("y copied %q", got)
	}
}
