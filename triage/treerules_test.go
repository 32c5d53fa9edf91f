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
