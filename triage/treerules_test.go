package triage

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/evtriage/evtriage/internal/winpath"
	"github.com/evtriage/evtriage/parser"
)

// ruleRenamedChild is the built-in "Child Process of a Renamed Regsvr32",
// a tree rule (it reads ParentRegsvr32).
const ruleRenamedChild = "00eb5cf4-f58c-4d55-9463-758f6a5085e0"

// TestTreeRuleRenamedChild: the child of a regsvr32 running under another
// name is found because the tree knows its parent is regsvr32, not from
// the ParentImage string; near misses stay quiet.
func TestTreeRuleRenamedChild(t *testing.T) {
	const (
		jabber = `C:\ProgramData\jabber.exe`
		regsvr = "Microsoft(C) Register Server"
	)
	jab := func(rec uint64, desc string) *parser.Event {
		return s1("WS1", rec, at(0), 20, 0x1a2c, jabber, 1, 500, sys32Cmd, "Description", desc)
	}
	tests := []struct {
		name  string
		files [][]*parser.Event
		want  []string // "rule image" of the findings of ruleRenamedChild and the CAR child rules
	}{
		{"Sysmon: renamed regsvr32 by its PE description, cmd child", [][]*parser.Event{{
			jab(1, regsvr), s1("WS1", 2, at(5), 21, 900, sys32Cmd, 20, 0x1a2c, jabber)}},
			[]string{"Child Process of a Renamed Regsvr32 cmd.exe"}},
		{"Sysmon: renamed by OriginalFileName", [][]*parser.Event{{
			s1("WS1", 1, at(0), 20, 0x1a2c, jabber, 1, 500, sys32Cmd, "OriginalFileName", "REGSVR32.EXE"),
			s1("WS1", 2, at(5), 21, 900, `C:\Windows\System32\calc.exe`, 20, 0x1a2c, jabber)}},
			[]string{"Child Process of a Renamed Regsvr32 calc.exe"}},
		{"Security 4688 child under a renamed regsvr32 Sysmon saw", [][]*parser.Event{{
			jab(1, regsvr), n4688("WS1", 2, at(5), 0x77, sys32Cmd, 0x1a2c, "")}},
			[]string{"Child Process of a Renamed Regsvr32 cmd.exe"}},
		{"parent and child in two files", [][]*parser.Event{{jab(1, regsvr)},
			{s1("WS1", 2, at(5), 21, 900, sys32Cmd, 20, 0x1a2c, jabber)}},
			[]string{"Child Process of a Renamed Regsvr32 cmd.exe"}},
		{"a jabber.exe that is not regsvr32", [][]*parser.Event{{
			jab(1, "Cisco Jabber"), s1("WS1", 2, at(5), 21, 900, sys32Cmd, 20, 0x1a2c, jabber)}},
			nil},
		{"regsvr32 by its own name: the CAR rules, not this one", [][]*parser.Event{{
			s1("WS1", 1, at(0), 20, 0x1a2c, sys32Reg, 1, 500, sys32Cmd, "Description", regsvr),
			s1("WS1", 2, at(5), 21, 900, `C:\Windows\System32\calc.exe`, 20, 0x1a2c, sys32Reg)}},
			[]string{"CAR-2019-04-002 Generic Regsvr32 - Child of Regsvr32 calc.exe", "CAR-2019-04-002 Generic Regsvr32 - Spawned Child Processes calc.exe"}},
		{"the 32-bit handoff", [][]*parser.Event{{
			jab(1, regsvr), s1("WS1", 2, at(5), 21, 900, `C:\Windows\SysWOW64\regsvr32.exe`, 20, 0x1a2c, jabber)}},
			nil},
		{"an event's own ParentRegsvr32 is not read", [][]*parser.Event{{
			s1("WS1", 2, at(5), 21, 900, sys32Cmd, 30, 0x99, `C:\x\y.exe`, "ParentRegsvr32", "renamed")}},
			nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, lean := range []bool{false, true} {
				h := NewHunter(Options{Rules: builtin(t), WrittenOnly: lean, NoActivity: lean})
				for i, evs := range tc.files {
					path := filepath.Join(dir, fmt.Sprintf("%c.evtx", 'a'+i))
					writeLog(t, path, evs)
					if err := h.AddFile(context.Background(), path, nil); err != nil {
						t.Fatal(err)
					}
				}
				var got []string
				for _, f := range h.Finish().Written() {
					if f.Rule.ID == ruleRenamedChild || strings.Contains(f.Rule.Title, "Child") {
						img := field(f.Event.Event, "Image")
						if img == "" {
							img = field(f.Event.Event, "NewProcessName")
						}
						got = append(got, f.Rule.Title+" "+winpath.Base(img))
						if f.Rule.ID == ruleRenamedChild && (f.Process == nil || f.Process.Parent == nil || !f.Process.Parent.Renamed ||
							len(f.Match) == 0 || f.Match[0].Field != FieldParentRegsvr32) {
							t.Errorf("finding %+v: process %+v", f, f.Process)
						}
					}
				}
				sort.Strings(got)
				if strings.Join(got, "|") != strings.Join(tc.want, "|") {
					t.Errorf("lean=%v: %q, want %q", lean, got, tc.want)
				}
			}
		})
	}
}

// TestTreeRuleOnSharedLog: in the public log of regsvr32 copied to
// C:\ProgramData\jabber.exe (old Sysmon: its PE description, no
// OriginalFileName), the cmd.exe it starts is found.
func TestTreeRuleOnSharedLog(t *testing.T) {
	h := NewHunter(Options{Rules: builtin(t)})
	if err := h.AddFile(context.Background(), filepath.Join(sharedDir(t), "evtx", "sysmon_renamed_regsvr32_scrobj.evtx"), nil); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range h.Finish().Written() {
		if f.Rule.ID == ruleRenamedChild {
			got = append(got, fmt.Sprintf("%d %s", f.Event.Event.RecordID, f.Process.Image))
		}
	}
	if strings.Join(got, "|") != `16840 C:\Windows\System32\cmd.exe` {
		t.Errorf("findings %q", got)
	}
}

// TestFileAndRegistryActivity: Sysmon 11 (file created) and 12/13/14
// (registry key created or deleted, value set, key renamed) stay on their
// process, among its kept events of KindFile and KindRegistry, with every
// field the event has; a process the hunt does not follow has them counted
// in Seen.
func TestFileAndRegistryActivity(t *testing.T) {
	act := func(id uint16, rec uint64, s, g int, kv ...string) *parser.Event {
		return ev(sysmonCh, id, "WS1", rec, at(s), append([]string{"ProcessGuid", guid(g), "ProcessId", fmt.Sprint(1000 + g)}, kv...)...)
	}
	const key = `HKU\S-1-5-21-1-2-3-1001\Software\Classes\CLSID\{0A29FF9E-7F9C-4437-8B11-F424491E3931}`
	evs := []*parser.Event{
		s1("WS1", 1, at(0), 10, 1010, sys32Reg, 9, 1009, sys32Cmd),
		act(11, 2, 1, 10, "Image", sys32Reg, "TargetFilename", `C:\Users\bob\AppData\Local\Temp\x.sct`, "CreationUtcTime", "2024-03-01 10:00:01.000"),
		act(12, 3, 2, 10, "EventType", "CreateKey", "Image", sys32Reg, "TargetObject", key),
		act(13, 4, 3, 10, "EventType", "SetValue", "Image", sys32Reg, "TargetObject", key+`\InprocServer32\(Default)`, "Details", `C:\Users\bob\x.dll`),
		act(14, 5, 4, 10, "EventType", "RenameKey", "Image", sys32Reg, "TargetObject", key, "NewName", key+"-old"),
		s1("WS1", 6, at(5), 20, 1020, `C:\Windows\System32\notepad.exe`, 9, 1009, sys32Cmd),
		act(13, 7, 6, 20, "EventType", "SetValue", "Image", `C:\Windows\System32\notepad.exe`, "TargetObject", `HKCU\x`, "Details", "1"),
	}
	path := filepath.Join(t.TempDir(), "activity.evtx")
	writeLog(t, path, evs)
	h := NewHunter(Options{Rules: builtin(t)})
	if err := h.AddFile(context.Background(), path, nil); err != nil {
		t.Fatal(err)
	}
	res := h.Finish()
	byImage := map[string]*Process{}
	for _, p := range res.Processes {
		byImage[winpath.Base(p.Image)] = p
	}
	reg := byImage["regsvr32.exe"]
	if reg == nil || len(reg.Events(KindFile)) != 1 || len(reg.Events(KindRegistry)) != 3 || reg.Seen.Count(KindFile) != 1 || reg.Seen.Count(KindRegistry) != 3 {
		t.Fatalf("regsvr32: %+v", reg)
	}
	if v := field(reg.Events(KindFile)[0].Event, "TargetFilename"); v != `C:\Users\bob\AppData\Local\Temp\x.sct` {
		t.Errorf("file event TargetFilename %q", v)
	}
	var got []string
	for _, r := range reg.Events(KindRegistry) {
		got = append(got, fmt.Sprintf("%d %s %s %s%s", r.Event.EventID, field(r.Event, "EventType"), field(r.Event, "TargetObject")[len(key):],
			field(r.Event, "Details"), field(r.Event, "NewName")))
	}
	want := []string{"12 CreateKey  ", `13 SetValue \InprocServer32\(Default) C:\Users\bob\x.dll`, "14 RenameKey  " + key + "-old"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("registry events %q, want %q", got, want)
	}
	if n := byImage["notepad.exe"]; n == nil || len(n.Events(KindRegistry)) != 0 || n.Seen.Count(KindRegistry) != 1 {
		t.Errorf("notepad: kept %d registry events, counted %+v", len(n.Events(KindRegistry)), n.Seen)
	}
}
