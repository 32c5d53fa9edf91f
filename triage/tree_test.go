package triage

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/evtriage/evtriage/internal/winpath"
	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/rules"
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

// hunted is what a Hunter made of hand-made events.
type hunted struct {
	res *Result
	// proc maps every event kept in memory to the process it created,
	// ended, was folded into or acted for.
	proc map[*parser.Event]*Process
}

// huntEvents feeds evs, as if read from one file t.evtx, to a Hunter with
// opts; before, when set, runs just before Finish with the refs of the
// kept events.
func huntEvents(evs []*parser.Event, opts Options, before func(h *Hunter, refs map[*parser.Event]*EventRef)) hunted {
	h := NewHunter(opts)
	var buf []rules.Match
	for _, e := range evs {
		buf = h.consume(buf, "t.evtx", e)
	}
	if before != nil {
		refs := make(map[*parser.Event]*EventRef)
		for _, b := range h.procEvents.recs.blocks {
			for _, r := range b {
				if r.ref != nil {
					refs[r.ref.Event] = r.ref
				}
			}
		}
		for _, r := range h.activity {
			refs[r.ref.Event] = r.ref
		}
		before(h, refs)
	}
	res := h.Finish()
	out := hunted{res: res, proc: make(map[*parser.Event]*Process)}
	add := func(p *Process, refs ...*EventRef) {
		for _, r := range refs {
			if r != nil {
				out.proc[r.Event] = p
			}
		}
	}
	for _, p := range res.Processes {
		add(p, p.Create(), p.Exit())
		add(p, p.Merged()...)
		for _, k := range ActivityKinds() {
			add(p, p.Events(k)...)
		}
	}
	return out
}

// render draws the forest: one line per process, children indented.
func render(res *Result) string {
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
		if p.Link != LinkNone {
			flags = append(flags, "by-"+p.Link.String())
		}
		if n := len(p.Events(KindImageLoad)); n > 0 {
			flags = append(flags, fmt.Sprintf("loads=%d/%d", n, p.Seen.Count(KindImageLoad)))
		}
		fmt.Fprintf(&b, " [%s]\n", strings.Join(flags, ","))
		for _, c := range p.Children {
			walk(c, depth+1)
		}
	}
	for _, r := range res.Roots {
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
			res := huntEvents(tc.events, Options{AllActivity: true}, nil).res
			if got := render(res); got != tc.want {
				t.Errorf("tree:\n%s\nwant:\n%s", got, tc.want)
			}
			if res.Orphans != tc.orphans {
				t.Errorf("orphans %d, want %d", res.Orphans, tc.orphans)
			}
			for i, p := range res.Processes {
				if p.ID != i {
					t.Errorf("process %d has ID %d", i, p.ID)
				}
			}
			// Order of the records in the file must not matter.
			rng := rand.New(rand.NewSource(1))
			for round := 0; round < 5; round++ {
				evs := append([]*parser.Event(nil), tc.events...)
				rng.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
				if got := render(huntEvents(evs, Options{AllActivity: true}, nil).res); got != tc.want {
					t.Fatalf("shuffled input gives:\n%s\nwant:\n%s", got, tc.want)
				}
			}
		})
	}
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

// TestActivityOnly: processes known only from their activity are counted
// apart, by host, unless something needs them as nodes (a child, a
// finding, kept events); made
// Process values on demand, they carry their first event's PID and image
// and every count.
func TestActivityOnly(t *testing.T) {
	const (
		cmd = `C:\Windows\System32\cmd.exe`
		reg = `C:\Windows\System32\regsvr32.exe`
		svc = `C:\Windows\System32\svchost.exe`
	)
	// Headless, regsvr32's load is only counted too.
	evs := []*parser.Event{
		s7("B", 1, at(1), 9, 900, svc, `C:\x\a.dll`, "true"),
		s7("A", 2, at(2), 7, 700, svc, `C:\x\a.dll`, "true"),
		ev(sysmonCh, 22, "A", 3, at(3), "ProcessGuid", guid(7), "ProcessId", "700", "Image", svc, "QueryName", "x"),
		ev(sysmonCh, 3, "A", 4, at(4), "ProcessGuid", guid(8), "ProcessId", "800", "Image", cmd),
		s1("A", 5, at(5), 2, 200, cmd, 6, 600, `C:\u\parent.exe`), // 6 acts below and has a child
		s7("A", 6, at(6), 6, 600, `C:\u\parent.exe`, `C:\x\b.dll`, "true"),
		s7("A", 7, at(7), 3, 300, reg, `C:\u\evil.dll`, "false"), // regsvr32's activity is kept
	}
	tests := []struct {
		name  string
		opts  Options
		tree  string
		hosts string // host:count of activity-only processes
		procs string // the activity-only processes made on demand
	}{
		{"headless", Options{NoActivity: true}, `A parent.exe(600) [stub,sysmon]
  A cmd.exe(200) [sysmon,by-guid]
`, "A:3 B:1", "A svchost.exe(700) loads=1 seen=2; A cmd.exe(800) loads=0 seen=1; A regsvr32.exe(300) loads=1 seen=1; B svchost.exe(900) loads=1 seen=1"},
		{"screen", Options{}, `A parent.exe(600) [stub,sysmon]
  A cmd.exe(200) [sysmon,by-guid]
A regsvr32.exe(300) [stub,sysmon,regsvr32,loads=1/1]
`, "A:2 B:1", "A svchost.exe(700) loads=1 seen=2; A cmd.exe(800) loads=0 seen=1; B svchost.exe(900) loads=1 seen=1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := huntEvents(evs, tc.opts, nil).res
			if got := render(res); got != tc.tree {
				t.Errorf("tree:\n%s\nwant:\n%s", got, tc.tree)
			}
			var hosts, procs []string
			ids := map[int]bool{}
			for _, h := range res.ActivityOnlyHosts() {
				hosts = append(hosts, fmt.Sprintf("%s:%d", h.Host, h.Processes))
				for i, p := range res.ActivityOnlyProcesses(h.Host) {
					procs = append(procs, fmt.Sprintf("%s %s(%d) loads=%d seen=%d", p.Host, winpath.Base(p.Image), p.PID, p.Seen.Count(KindImageLoad), p.Seen.Total()))
					if q := res.ActivityOnlyProcesses(h.Host)[i]; q.ID != p.ID || q == p {
						t.Errorf("IDs %d and %d for one process, or the same value twice", p.ID, q.ID)
					}
					if q := res.ActivityOnlyProcess(h.Host, i); q == nil || q == p || q.ID != p.ID || q.PID != p.PID || q.Image != p.Image || q.Seen != p.Seen {
						t.Errorf("ActivityOnlyProcess(%s, %d) = %+v, want %+v", h.Host, i, q, p)
					}
					if ids[p.ID] || p.ID < len(res.Processes) {
						t.Errorf("ID %d reused", p.ID)
					}
					ids[p.ID] = true
				}
			}
			if got := strings.Join(hosts, " "); got != tc.hosts {
				t.Errorf("hosts %q, want %q", got, tc.hosts)
			}
			if got := strings.Join(procs, "; "); got != tc.procs {
				t.Errorf("processes %q, want %q", got, tc.procs)
			}
			for _, h := range res.ActivityOnlyHosts() {
				if res.ActivityOnlyProcess(h.Host, h.Processes) != nil || res.ActivityOnlyProcess(h.Host, -1) != nil {
					t.Errorf("%s: a process out of range", h.Host)
				}
			}
			if res.ProcessCount() != len(res.Processes)+res.ActivityOnly || res.ActivityOnlyProcesses("nope") != nil || res.ActivityOnlyProcess("nope", 0) != nil {
				t.Errorf("%d processes, %d nodes, %d activity-only", res.ProcessCount(), len(res.Processes), res.ActivityOnly)
			}
		})
	}
}
