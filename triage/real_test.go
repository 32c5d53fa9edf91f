package triage

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evtriage/evtriage/internal/winpath"
	"github.com/evtriage/evtriage/parser"
)

// sharedDir returns ../shared beside the module root, skipping the test
// when it is absent.
func sharedDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Skip("module root not found")
		}
		dir = up
	}
	shared := filepath.Join(filepath.Dir(dir), "shared")
	if _, err := os.Stat(filepath.Join(shared, "evtx")); err != nil {
		t.Skip("../shared/evtx not present")
	}
	return shared
}

// readEvents reads a whole log with the project's parser.
func readEvents(t testing.TB, path string) []*parser.Event {
	t.Helper()
	f, err := parser.Open(path, parser.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var evs []*parser.Event
	if err := f.Events(context.Background(), func(e *parser.Event) error {
		evs = append(evs, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestTreeOnSharedLogs checks every parent link on the real logs against
// what the child's own event says of its parent: Sysmon's ParentProcessGuid
// and ParentImage, 4688 v2's ParentProcessName. Links are made from GUIDs
// and process ids only, so the images are an independent check.
func TestTreeOnSharedLogs(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(sharedDir(t), "evtx", "*.evtx"))
	if len(files) == 0 {
		t.Skip("no logs")
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			evs := readEvents(t, path)
			h := huntEvents(evs, Options{AllActivity: true}, nil)
			if h.res.Duplicates > 0 {
				t.Fatalf("%d duplicates in a clean read", h.res.Duplicates)
			}
			creates, linked := 0, 0
			for _, ev := range evs {
				src, kind := classify(ev)
				if kind != KindCreate {
					continue
				}
				creates++
				p := h.proc[ev]
				if p == nil {
					t.Fatalf("record %d made no process", ev.RecordID)
				}
				if p.Parent == nil {
					continue
				}
				linked++
				switch src {
				case FromSysmon:
					if g := ParseGUID(field(ev, "ParentProcessGuid")); !g.IsZero() && p.Parent.GUID != g && p.Create() != nil && p.Create().Event == ev {
						t.Errorf("record %d: parent guid %s, event says %s", ev.RecordID, p.Parent.GUID, g)
					}
					if pi := field(ev, "ParentImage"); pi != "" && pi != "-" && !strings.EqualFold(winpath.Base(p.Parent.Image), winpath.Base(pi)) {
						t.Errorf("record %d: parent %s, event says %s", ev.RecordID, p.Parent.Image, pi)
					}
				case FromSecurity:
					if pn := field(ev, "ParentProcessName"); pn != "" && !strings.EqualFold(winpath.Base(p.Parent.Image), winpath.Base(pn)) {
						t.Errorf("record %d: parent %s(%d), event says %s", ev.RecordID, p.Parent.Image, p.Parent.PID, pn)
					}
					ppid, _ := parsePID(field(ev, "ProcessId"))
					if p.Parent.PID != ppid {
						t.Errorf("record %d: parent pid %d, event says %d", ev.RecordID, p.Parent.PID, ppid)
					}
				}
			}
			if creates > 0 && linked == 0 {
				t.Errorf("%d creates, none linked", creates)
			}
			t.Logf("%d events, %d creates, %d nodes, %d roots", len(evs), creates, len(h.res.Processes), len(h.res.Roots))
		})
	}
}

// TestLineageOnSharedLogs checks lineages read off the logs by hand with
// evtxexport -f xml.
func TestLineageOnSharedLogs(t *testing.T) {
	shared := sharedDir(t)
	tests := []struct {
		file     string
		recordID uint64 // create event of the process
		lineage  string // image(pid) from the root, "*" marks stubs
		children string
		sources  SourceKind
		regsvr32 bool
		renamed  bool
	}{
		{"sysmon_regsvr32_sct.evtx", 16793, `*cmd.exe(3528)>regsvr32.exe(1420)>cmd.exe(1912)`, "", FromSysmon, false, false},
		{"sysmon_regsvr32_sct.evtx", 16792, `*cmd.exe(3528)>regsvr32.exe(1420)`, "cmd.exe(1912)", FromSysmon, true, false},
		{"sysmon_renamed_regsvr32_scrobj.evtx", 0, `*cmd.exe(?)>jabber.exe(?)`, "cmd.exe(?)", FromSysmon, true, true},
		{"security_4688_v1_psexec.evtx", 13679, `*(488)>duKhLYUX.exe(3744)>rundll32.exe(2020)`, "", FromSecurity, false, false},
		{"security_4688_v2_malseclogon.evtx", 329914, `*cmd.exe(9344)>MalSeclogon.exe(8612)`, "", FromSysmon | FromSecurity, false, false},
		{"security_4688_v2_malseclogon.evtx", 329919, `*lsass.exe(636)>MalSeclogon.exe(6072)`, "conhost.exe(4580)", FromSysmon | FromSecurity, false, false},
		{"security_4688_v2_malseclogon.evtx", 329920, `*lsass.exe(636)>MalSeclogon.exe(6072)>conhost.exe(4580)`, "", FromSecurity, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			evs := readEvents(t, filepath.Join(shared, "evtx", tc.file))
			h := huntEvents(evs, Options{AllActivity: true}, nil)
			var p *Process
			for _, ev := range evs {
				src, kind := classify(ev)
				if (kind == KindCreate && ev.RecordID == tc.recordID) || (tc.recordID == 0 && src == FromSysmon && kind == KindCreate && p == nil) {
					p = h.proc[ev]
				}
			}
			if p == nil {
				t.Fatalf("record %d not found", tc.recordID)
			}
			show := func(q *Process) string {
				s := winpath.Base(q.Image) + "(" + itoa(q.PID) + ")"
				if tc.recordID == 0 {
					s = winpath.Base(q.Image) + "(?)"
				}
				return s
			}
			var parts []string
			for _, q := range Lineage(p) {
				s := show(q)
				if q.Stub {
					s = "*" + s
				}
				parts = append(parts, s)
			}
			if got := strings.Join(parts, ">"); got != tc.lineage {
				t.Errorf("lineage %s, want %s", got, tc.lineage)
			}
			var kids []string
			for _, c := range p.Children {
				kids = append(kids, show(c))
			}
			if got := strings.Join(kids, ","); got != tc.children {
				t.Errorf("children %s, want %s", got, tc.children)
			}
			if p.Sources != tc.sources || p.Regsvr32 != tc.regsvr32 || p.Renamed != tc.renamed {
				t.Errorf("sources %b regsvr32 %v renamed %v, want %b %v %v", p.Sources, p.Regsvr32, p.Renamed, tc.sources, tc.regsvr32, tc.renamed)
			}
		})
	}
}

func itoa(n uint32) string {
	var b [10]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
