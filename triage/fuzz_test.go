package triage

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/rules"
)

// eventsFromBytes turns fuzz input into process events: 8 bytes each, with
// small ranges for hosts, GUIDs and PIDs so that collisions (PID reuse,
// shared parents, self-parents, loops, duplicate creates) are frequent.
func eventsFromBytes(data []byte) []*parser.Event {
	var evs []*parser.Event
	images := []string{`C:\Windows\System32\regsvr32.exe`, `C:\Windows\System32\cmd.exe`, `C:\x\jabber.exe`, "", "-"}
	for i := 0; i+8 <= len(data) && len(evs) < 512; i += 8 {
		b := data[i : i+8]
		host := fmt.Sprintf("H%d", b[1]&1)
		when := t0.Add(time.Duration(int8(b[2])) * time.Second)
		g, pg := int(b[3]&15), int(b[4]&15)
		pid, ppid := int(b[5]&7)*4, int(b[6]&7)*4
		img := images[int(b[7])%len(images)]
		rec := uint64(i / 8)
		switch b[0] % 7 {
		case 0:
			evs = append(evs, s1(host, rec, when, g, pid, img, pg, ppid, images[int(b[7]>>4)%len(images)]))
		case 1:
			evs = append(evs, s5(host, rec, when, g, pid))
		case 2:
			evs = append(evs, n4688(host, rec, when, pid, img, ppid, images[int(b[7]>>4)%len(images)]))
		case 3:
			evs = append(evs, n4689(host, rec, when, pid, img))
		case 4:
			evs = append(evs, s7(host, rec, when, g, pid, img, `C:\u\a.dll`, "false"))
		case 5:
			// Malformed values: zero GUID, non-numeric PIDs.
			evs = append(evs, ev(sysmonCh, 1, host, rec, when, "ProcessGuid", "{00000000-0000-0000-0000-000000000000}",
				"ProcessId", "x", "ParentProcessGuid", "{", "ParentProcessId", "0xZZ", "Image", img))
		default:
			evs = append(evs, ev("Security", 4688, host, rec, when, "NewProcessId", "0x"+fmt.Sprint(pid), "ProcessId", "-1"))
		}
	}
	return evs
}

// FuzzBuildTree checks the tree's invariants on arbitrary process events:
// no panic, no loop, consistent IDs, parents and children.
func FuzzBuildTree(f *testing.F) {
	f.Add([]byte{0, 0, 1, 1, 2, 4, 8, 0, 0, 0, 2, 2, 1, 8, 4, 1, 0, 0, 3, 1, 2, 4, 8, 0})
	f.Add([]byte{2, 0, 1, 0, 0, 4, 0, 1, 3, 0, 2, 0, 0, 4, 0, 1, 2, 0, 3, 0, 0, 4, 0, 0, 2, 0, 4, 0, 0, 8, 4, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		evs := eventsFromBytes(data)
		for _, opts := range []Options{{AllActivity: true}, {NoActivity: true}, {}} {
			checkTree(t, evs, opts)
		}
		checkTamper(t, evs, data)
	})
}

// checkTamper scans evs (their record numbers, ids and times taken from
// data) and checks the Tamper's bounds and counts.
func checkTamper(t *testing.T, evs []*parser.Event, data []byte) {
	s := NewTamperScan()
	for i, e := range evs {
		c := *e
		if i < len(data) {
			c.RecordNum = uint64(data[i] % 16)
			c.RecordID = uint64(data[len(data)-1-i] % 32)
			c.Time = t0.Add(time.Duration(int8(data[i])) * time.Minute)
			c.Recovered = data[i]%7 == 0
		}
		s.Add(&c)
	}
	tp := s.Result(parser.Stats{})
	for name, n := range map[string][2]int{"gaps": {len(tp.Gaps), tp.GapsTotal}, "reversed": {len(tp.Reversed), tp.ReversedTotal},
		"time": {len(tp.Backwards), tp.BackwardsTotal}, "events": {len(tp.Events), tp.EventsTotal}} {
		if n[0] > MaxTamperListed || n[0] > n[1] || n[1] > len(evs)+maxSequences {
			t.Fatalf("%s: %d listed of %d, %d events", name, n[0], n[1], len(evs))
		}
	}
	if !tp.First.IsZero() && tp.Last.Before(tp.First) {
		t.Fatalf("last %v before first %v", tp.Last, tp.First)
	}
	_ = TamperLines(tp)
}

// checkTree checks the tree's invariants on what a hunter with opts made
// of evs.
func checkTree(t *testing.T, evs []*parser.Event, opts Options) {
	h := huntEvents(evs, opts, nil)
	procs := h.res.Processes
	for i, p := range procs {
		if p.ID != i {
			t.Fatalf("process %d has ID %d", i, p.ID)
		}
		steps := 0
		for q := p; q != nil; q = q.Parent {
			if steps++; steps > len(procs) {
				t.Fatalf("loop above process %d", i)
			}
		}
		for _, c := range p.Children {
			if c.Parent != p {
				t.Fatalf("child %d of %d has parent %v", c.ID, p.ID, c.Parent)
			}
		}
		if p.Parent != nil {
			found := false
			for _, c := range p.Parent.Children {
				found = found || c == p
			}
			if !found {
				t.Fatalf("process %d missing from its parent's children", i)
			}
		}
	}
	if opts.AllActivity {
		for _, e := range evs {
			if kindOf(e) == KindCreate && h.proc[e] == nil {
				t.Fatalf("create record %d made no process", e.RecordID)
			}
		}
	}
	reach := 0
	var walk func(p *Process)
	walk = func(p *Process) {
		reach++
		for _, c := range p.Children {
			walk(c)
		}
	}
	for _, r := range h.res.Roots {
		walk(r)
	}
	if reach != len(procs) {
		t.Fatalf("%d processes reachable from roots, %d in all", reach, len(procs))
	}
	// Every process known only from its activity is listed once, by host.
	listed := 0
	ids := make(map[int]bool)
	for _, ha := range h.res.ActivityOnlyHosts() {
		ps := h.res.ActivityOnlyProcesses(ha.Host)
		if len(ps) != ha.Processes || ha.Processes == 0 {
			t.Fatalf("host %s: %d activity-only processes listed, %d counted", ha.Host, len(ps), ha.Processes)
		}
		for _, p := range ps {
			if p.Host != ha.Host || ids[p.ID] || p.ID < len(procs) || p.Seen.Total() == 0 || !p.Stub {
				t.Fatalf("activity-only process %+v", p)
			}
			ids[p.ID] = true
		}
		listed += len(ps)
	}
	if listed != h.res.ActivityOnly {
		t.Fatalf("%d activity-only processes listed, %d counted", listed, h.res.ActivityOnly)
	}
}

// FuzzReadExport feeds arbitrary bytes to the baseline export reader: it
// must return (keys or an error), never panic.
func FuzzReadExport(f *testing.F) {
	f.Add([]byte(`{"rule":{"id":"r"},"event":{"event_id":1,"channel":"Microsoft-Windows-Sysmon/Operational","fields":{"CommandLine":"x"}},"process":null,"lineage":[]}`))
	f.Add([]byte(`{"tool":{},"findings":[{"rule":{"id":"r"},"event":{"fields":{"ImageLoaded":"a.dll"}},"lineage":[{"image":"p"},{"image":"c"}]}]}`))
	f.Add([]byte("{\"rule\":1}\n{"))
	f.Add([]byte(`{"export":{"tool":{}}}
{"process":{"id":1,"image":"p","command_line":"x"}}
{"process":{"id":2,"image":"c","command_line":"y"}}
{"finding":{"rule":{"id":"r"},"event":{"event_id":1,"channel":"Security"},"process":2,"lineage":[1,2]}}`))
	f.Add([]byte(`{"tool":{},"processes":[{"id":0,"image":"p"},{"id":7,"image":"c"}],"findings":[{"rule":{"id":"r"},"event":{"fields":{"ImageLoaded":"a.dll"}},"process":7,"lineage":[0,7]}]}`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "x.jsonl")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, kind := range []string{KeyCommandLine, KeyParentChild, KeyImageLoaded} {
			b := &baseline{keys: map[string]bool{}}
			n, err := b.readExport(path, kind)
			if err == nil && len(b.keys) > n {
				t.Fatalf("%d keys from %d findings", len(b.keys), n)
			}
		}
	})
}

// FuzzParseCase reads hostile case files: never a panic; what is read
// writes back to a file that reads the same.
func FuzzParseCase(f *testing.F) {
	f.Add([]byte(`{"evtriage_case":1,"rules_folder":"/x","marks":[{"kind":"finding","rule_id":"r","computer":"H","channel":"C","record_id":1,"hash":"` +
		strings.Repeat("ab", 32) + `","verdict":"benign","note":"n","marked":"2026-01-02T03:04:05Z"}]}`))
	f.Add([]byte(`{"evtriage_case":1,"marks":[{"kind":"process","computer":"\u001b","hash":"` + strings.Repeat("0", 64) + `","verdict":"fp"}]}`))
	f.Add([]byte(`{"evtriage_case":2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCase(data)
		if err != nil {
			if !errors.Is(err, ErrCase) {
				t.Fatalf("error %v does not wrap ErrCase", err)
			}
			return
		}
		b, err := c.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseCase(b)
		if err != nil {
			t.Fatalf("a case written does not read back: %v\n%s", err, b)
		}
		again, _ := back.MarshalJSON()
		if !bytes.Equal(b, again) {
			t.Fatalf("not stable:\n%s\n%s", b, again)
		}
	})
}

// FuzzSigmaEscape checks with the engine that a filter value made by
// SigmaEscape and yamlString matches its text exactly, whatever it holds.
func FuzzSigmaEscape(f *testing.F) {
	for _, s := range []string{`C:\Temp\*?x`, `\\srv\*`, `a'b"c`, "tab\tESC\x1b", `trailing\`, `\*\?\\`, "é\u202e"} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) || len(s) > 2000 || strings.ContainsRune(s, 0) {
			return // event values are valid text
		}
		rule := "title: T\nid: 11111111-2222-4333-8444-555555555555\nlogsource:\n    category: process_creation\n    product: windows\n" +
			"detection:\n    selection:\n        Image: " + yamlString(SigmaEscape(s)) + "\n    condition: selection\n"
		p := filepath.Join(dir, "r.yml")
		if err := os.WriteFile(p, []byte(rule), 0o600); err != nil {
			t.Fatal(err)
		}
		set := rules.Load(rules.LoadOptions{NoBuiltin: true, Paths: []string{p}})
		if len(set.Rules()) != 1 {
			t.Fatalf("rule refused: %v\n%s", set.Rejected(), rule)
		}
		r := set.Rules()[0]
		match := func(v string) bool {
			ok, _ := r.Eval(ev("Microsoft-Windows-Sysmon/Operational", 1, "H", 1, t0, "Image", v), nil)
			return ok
		}
		if !match(s) {
			t.Fatalf("%q does not match itself\n%s", s, rule)
		}
		if match(s+"x") || (s != "" && match(s[:len(s)-1])) {
			t.Fatalf("%q matches another value\n%s", s, rule)
		}
	})
}
