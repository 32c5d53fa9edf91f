package triage

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/evtriage/evtriage/internal/winpath"
	"github.com/evtriage/evtriage/parser"
)

var t0 = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)

// at returns t0 plus s seconds.
func at(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

// ev builds an event; kv lists field names and values.
func ev(channel string, id uint16, host string, rec uint64, when time.Time, kv ...string) *parser.Event {
	e := &parser.Event{Channel: channel, EventID: id, Computer: host, RecordID: rec, Time: when}
	switch channel {
	case "Security":
		e.Provider = "Microsoft-Windows-Security-Auditing"
	default:
		e.Provider = "Microsoft-Windows-Sysmon"
	}
	for i := 0; i+1 < len(kv); i += 2 {
		e.Fields = append(e.Fields, parser.Field{Name: kv[i], Value: kv[i+1]})
	}
	return e
}

const sysmonCh = "Microsoft-Windows-Sysmon/Operational"

func guid(n int) string { return fmt.Sprintf("{365ABB72-0000-0000-0000-%012X}", n) }

// s1 is a Sysmon 1 event.
func s1(host string, rec uint64, when time.Time, g, pid int, image string, pg, ppid int, pimage string, extra ...string) *parser.Event {
	kv := []string{"ProcessGuid", guid(g), "ProcessId", fmt.Sprint(pid), "Image", image,
		"CommandLine", winpath.Base(image) + " args", "User", `HOST\user`,
		"ParentProcessGuid", guid(pg), "ParentProcessId", fmt.Sprint(ppid), "ParentImage", pimage,
		"ParentCommandLine", winpath.Base(pimage)}
	return ev(sysmonCh, 1, host, rec, when, append(kv, extra...)...)
}

// s5 is a Sysmon 5 event.
func s5(host string, rec uint64, when time.Time, g, pid int) *parser.Event {
	return ev(sysmonCh, 5, host, rec, when, "ProcessGuid", guid(g), "ProcessId", fmt.Sprint(pid))
}

// s7 is a Sysmon 7 event.
func s7(host string, rec uint64, when time.Time, g, pid int, image, loaded, signed string) *parser.Event {
	return ev(sysmonCh, 7, host, rec, when, "ProcessGuid", guid(g), "ProcessId", fmt.Sprint(pid),
		"Image", image, "ImageLoaded", loaded, "Signed", signed)
}

// n4688 is a Security 4688 (v2 when pname is not empty).
func n4688(host string, rec uint64, when time.Time, pid int, image string, ppid int, pname string) *parser.Event {
	kv := []string{"SubjectUserName", "user", "SubjectDomainName", "HOST",
		"NewProcessId", fmt.Sprintf("0x%x", pid), "NewProcessName", image,
		"ProcessId", fmt.Sprintf("0x%x", ppid), "CommandLine", winpath.Base(image) + " args"}
	if pname != "" {
		kv = append(kv, "ParentProcessName", pname)
	}
	return ev("Security", 4688, host, rec, when, kv...)
}

// n4689 is a Security 4689.
func n4689(host string, rec uint64, when time.Time, pid int, image string) *parser.Event {
	return ev("Security", 4689, host, rec, when, "ProcessId", fmt.Sprintf("0x%x", pid), "ProcessName", image)
}

// split sorts events into process events and activity as the hunter does,
// keeping every event in full.
func split(evs []*parser.Event) (procs []*procRec, act []record) {
	for i, e := range evs {
		r := record{ref: &EventRef{File: "t.evtx", Event: e}, kind: kindOf(e), seq: i}
		switch r.kind {
		case kindSysmonCreate, kindSysmonExit, kindSecCreate, kindSecExit:
			pr := compact(r.kind, r.ref.File, e, i, nil)
			pr.ref = r.ref
			procs = append(procs, &pr)
		case kindOther:
		default:
			act = append(act, r)
		}
	}
	return procs, act
}

// render draws the forest: one line per process, children indented.
func render(t *tree) string {
	var b strings.Builder
	var walk func(p *Process, depth int)
	walk = func(p *Process, depth int) {
		fmt.Fprintf(&b, "%s%s %s(%d)", strings.Repeat("  ", depth), p.Host, winpath.Base(p.Image), p.PID)
		var flags []string
		if p.Stub {
			flags = append(flags, "stub")
		}
		if p.Sources&FromSysmon != 0 {
			flags = append(flags, "sysmon")
		}
		if p.Sources&FromSecurity != 0 {
			flags = append(flags, "security")
		}
		if p.Regsvr32 {
			flags = append(flags, "regsvr32")
		}
		if p.Renamed {
			flags = append(flags, "renamed")
		}
		if !p.Terminated.IsZero() {
			flags = append(flags, "exited")
		}
		if p.Link != "" {
			flags = append(flags, "by-"+p.Link)
		}
		if n := len(p.Loads); n > 0 {
			flags = append(flags, fmt.Sprintf("loads=%d/%d", n, p.Seen.Loads))
		}
		fmt.Fprintf(&b, " [%s]\n", strings.Join(flags, ","))
		for _, c := range p.Children {
			walk(c, depth+1)
		}
	}
	for _, r := range t.roots() {
		walk(r, 0)
	}
	return b.String()
}

func TestBuildTree(t *testing.T) {
	const (
		cmd = `C:\Windows\System32\cmd.exe`
		reg = `C:\Windows\System32\regsvr32.exe`
		exp = `C:\Windows\explorer.exe`
		ps  = `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`
	)
	tests := []struct {
		name    string
		events  []*parser.Event
		want    string
		orphans int
	}{
		{
			name: "sysmon guid chain with stub root",
			events: []*parser.Event{
				s1("H", 1, at(1), 2, 200, cmd, 1, 100, exp),
				s1("H", 2, at(2), 3, 300, reg, 2, 200, cmd),
				s1("H", 3, at(3), 4, 400, cmd, 3, 300, reg),
			},
			want: `H explorer.exe(100) [stub,sysmon]
  H cmd.exe(200) [sysmon,by-guid]
    H regsvr32.exe(300) [sysmon,regsvr32,by-guid]
      H cmd.exe(400) [sysmon,by-guid]
`,
		},
		{
			name: "two children share one stub parent",
			events: []*parser.Event{
				s1("H", 1, at(1), 2, 200, cmd, 1, 100, exp),
				s1("H", 2, at(2), 3, 300, ps, 1, 100, exp),
			},
			want: `H explorer.exe(100) [stub,sysmon]
  H cmd.exe(200) [sysmon,by-guid]
  H powershell.exe(300) [sysmon,by-guid]
`,
		},
		{
			name: "4688 pid reuse picks the live process",
			events: []*parser.Event{
				n4688("H", 1, at(1), 0x100, cmd, 0x4, `C:\Windows\System32\services.exe`),
				n4688("H", 2, at(2), 0x200, reg, 0x100, cmd),
				n4689("H", 3, at(3), 0x100, cmd),
				n4688("H", 4, at(4), 0x100, ps, 0x4, `C:\Windows\System32\services.exe`),
				n4688("H", 5, at(5), 0x300, cmd, 0x100, ps),
			},
			want: `H services.exe(4) [stub,security]
  H cmd.exe(256) [security,exited,by-pid]
    H regsvr32.exe(512) [security,regsvr32,by-pid]
  H powershell.exe(256) [security,by-pid]
    H cmd.exe(768) [security,by-pid]
`,
		},
		{
			name: "4688 child after its parent exited gets a stub",
			events: []*parser.Event{
				n4688("H", 1, at(1), 0x100, cmd, 0x4, ""),
				n4689("H", 2, at(2), 0x100, cmd),
				n4688("H", 3, at(3), 0x200, reg, 0x100, ""),
			},
			want: `H (4) [stub,security]
  H cmd.exe(256) [security,exited,by-pid]
H (256) [stub,security]
  H regsvr32.exe(512) [security,regsvr32,by-pid]
`,
		},
		{
			name: "hosts keep their pids apart",
			events: []*parser.Event{
				n4688("A", 1, at(1), 0x100, cmd, 0x4, ""),
				n4688("B", 1, at(2), 0x100, ps, 0x4, ""),
				n4688("A", 2, at(3), 0x200, reg, 0x100, ""),
				n4688("B", 2, at(4), 0x200, reg, 0x100, ""),
			},
			want: `A (4) [stub,security]
  A cmd.exe(256) [security,by-pid]
    A regsvr32.exe(512) [security,regsvr32,by-pid]
B (4) [stub,security]
  B powershell.exe(256) [security,by-pid]
    B regsvr32.exe(512) [security,regsvr32,by-pid]
`,
		},
		{
			name: "sysmon and 4688 of one process make one node",
			events: []*parser.Event{
				s1("H", 10, at(1), 2, 0x200, cmd, 1, 0x100, exp),
				n4688("H", 20, at(1), 0x200, `\Device\HarddiskVolume2\Windows\System32\cmd.exe`, 0x100, exp),
				n4688("H", 21, at(2), 0x300, reg, 0x200, cmd),
				s1("H", 11, at(2), 3, 0x300, reg, 2, 0x200, cmd),
			},
			want: `H explorer.exe(256) [stub,sysmon]
  H cmd.exe(512) [sysmon,security,by-guid]
    H regsvr32.exe(768) [sysmon,security,regsvr32,by-guid]
`,
		},
		{
			name: "renamed regsvr32 by description and original name",
			events: []*parser.Event{
				s1("H", 1, at(1), 2, 200, `C:\ProgramData\jabber.exe`, 1, 100, cmd, "Description", "Microsoft(C) Register Server"),
				s1("H", 2, at(2), 3, 300, `C:\Users\x\a.exe`, 1, 100, cmd, "OriginalFileName", "REGSVR32.EXE"),
				s1("H", 3, at(3), 4, 400, `C:\Users\x\b.exe`, 1, 100, cmd, "OriginalFileName", "cmd.exe"),
			},
			want: `H cmd.exe(100) [stub,sysmon]
  H jabber.exe(200) [sysmon,regsvr32,renamed,by-guid]
  H a.exe(300) [sysmon,regsvr32,renamed,by-guid]
  H b.exe(400) [sysmon,by-guid]
`,
		},
		{
			name: "loop between two processes is cut",
			events: []*parser.Event{
				s1("H", 1, at(1), 2, 200, cmd, 3, 300, reg),
				s1("H", 2, at(2), 3, 300, reg, 2, 200, cmd),
				s1("H", 3, at(3), 5, 500, reg, 5, 500, reg),
			},
			want: `H cmd.exe(200) [sysmon]
  H regsvr32.exe(300) [sysmon,regsvr32,by-guid]
H regsvr32.exe(500) [sysmon,regsvr32]
`,
		},
		{
			name: "exits, orphan exits and activity",
			events: []*parser.Event{
				s5("H", 1, at(0), 9, 900),
				s1("H", 2, at(1), 2, 200, reg, 1, 100, cmd),
				s7("H", 3, at(2), 2, 200, reg, `C:\Users\x\evil.dll`, "false"),
				s7("H", 4, at(2), 7, 700, reg, `C:\Users\x\evil.dll`, "false"),
				s5("H", 5, at(3), 2, 200),
				n4689("H", 6, at(4), 0x999, cmd),
			},
			want: `H cmd.exe(100) [stub,sysmon]
  H regsvr32.exe(200) [sysmon,regsvr32,exited,by-guid,loads=1/1]
H regsvr32.exe(700) [stub,sysmon,regsvr32,loads=1/1]
`,
			orphans: 2,
		},
		{
			name: "sysmon parent found by pid when its guid never appears",
			events: []*parser.Event{
				n4688("H", 1, at(1), 0x100, cmd, 0x4, ""),
				s1("H", 2, at(2), 3, 0x300, reg, 9, 0x100, cmd),
			},
			want: `H (4) [stub,security]
  H cmd.exe(256) [security,by-pid]
    H regsvr32.exe(768) [sysmon,regsvr32,by-pid]
`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			procs, act := split(tc.events)
			counts := countActivity(act)
			tr := buildTree(procs, act, counts)
			if got := render(tr); got != tc.want {
				t.Errorf("tree:\n%s\nwant:\n%s", got, tc.want)
			}
			if tr.orphans != tc.orphans {
				t.Errorf("orphans %d, want %d", tr.orphans, tc.orphans)
			}
			for i, p := range tr.procs {
				if p.ID != i {
					t.Errorf("process %d has ID %d", i, p.ID)
				}
			}
			// Order of the records in the file must not matter.
			rng := rand.New(rand.NewSource(1))
			for round := 0; round < 5; round++ {
				evs := append([]*parser.Event(nil), tc.events...)
				rng.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
				procs, act := split(evs)
				if got := render(buildTree(procs, act, countActivity(act))); got != tc.want {
					t.Fatalf("shuffled input gives:\n%s\nwant:\n%s", got, tc.want)
				}
			}
		})
	}
}

// countActivity counts activity per process as the hunter does while reading.
func countActivity(act []record) map[procKey]*Activity {
	m := make(map[procKey]*Activity)
	for _, r := range act {
		k := procKey{r.ref.Event.Computer, eventGUID(r.ref.Event)}
		a := m[k]
		if a == nil {
			a = new(Activity)
			m[k] = a
		}
		a.add(r.kind)
	}
	return m
}

func TestLineage(t *testing.T) {
	a := &Process{Image: "a"}
	b := &Process{Image: "b", Parent: a}
	c := &Process{Image: "c", Parent: b}
	loopX := &Process{Image: "x"}
	loopY := &Process{Image: "y", Parent: loopX}
	loopX.Parent = loopY
	tests := []struct {
		name string
		p    *Process
		want string
	}{
		{"nil", nil, ""},
		{"root", a, "a"},
		{"chain", c, "a>b>c"},
		{"hand-built loop stops", loopY, "x>y"},
	}
	for _, tc := range tests {
		var names []string
		for _, p := range Lineage(tc.p) {
			names = append(names, p.Image)
		}
		if got := strings.Join(names, ">"); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestParsePID(t *testing.T) {
	tests := []struct {
		in   string
		want uint32
		ok   bool
	}{
		{"1420", 1420, true},
		{"0x1a2c", 0x1a2c, true}, // as Windows renders NewProcessId
		{"0x0", 0, true},
		{"0xffffffff", 0xffffffff, true},
		{"0x00000ea0", 0xea0, true}, // padded, as evtxexport prints it
		{"0X1A2C", 0x1a2c, true},
		{"0x00000000000021A4", 0x21a4, true},
		{"", 0, false},
		{"0x", 0, false},
		{"0x1ffffffff", 0, false},
		{"-1", 0, false},
		{"12ab", 0, false},
	}
	for _, tc := range tests {
		got, ok := parsePID(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parsePID(%q) = %d,%v want %d,%v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
