package tui

import (
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/evtriage/evtriage/triage"
)

// hostileTree builds what crafted evidence could make of a process tree:
// a chain deeper than anything real, a parent cycle hanging off a root, a
// process with a huge number of children and a giant command line.
func hostileTree() *triage.Result {
	b := &fixtureBuilder{r: &triage.Result{Hosts: []string{"H"}}}
	b.r.Loaded = append(b.r.Loaded, ruleSeed)
	root := b.proc(nil, "H", 1, `C:\Windows\explorer.exe`, "explorer", t0, triage.FromSysmon)
	p := root
	for i := 0; i < 3000; i++ { // a chain 3,000 deep
		p = b.proc(p, "H", uint32(10+i), `C:\x\regsvr32.exe`, fmt.Sprintf("regsvr32 /s %d.dll", i), t0, triage.FromSysmon)
	}
	b.finding(ruleSeed, p, p.Create())
	mid := root.Children[0].Children[0]
	b.finding(ruleSeed, mid, mid.Create())

	// a ↔ c: each the other's parent and child, a also a child of root
	a := b.proc(root, "H", 9001, `C:\a.exe`, "a", t0, triage.FromSysmon)
	c := b.proc(a, "H", 9002, `C:\c.exe`, "c", t0, triage.FromSysmon)
	a.Parent = c
	c.Children = append(c.Children, a)
	b.finding(ruleSeed, c, c.Create())

	wide := b.proc(nil, "H", 2, `C:\Windows\services.exe`, strings.Repeat("A", 1<<20)+"\x1b[2J", t0, triage.FromSysmon)
	for i := 0; i < 20000; i++ {
		b.proc(wide, "H", uint32(20000+i), `C:\svc.exe`, "svc", t0, triage.FromSysmon)
	}
	b.finding(ruleSeed, wide, wide.Create())
	return b.r
}

// TestHostileTree drives every tree operation over crafted structures: it
// must end, stay within the window and never print the evidence's escapes.
func TestHostileTree(t *testing.T) {
	r := hostileTree()
	for _, keys := range [][]string{
		{"2", "f", "f", "f", "f", "F", "enter", "2", "left", "left"},
		{"2", "*", "G", "f", "z", "E", "enter", "E", "j", "j", "enter"},
		{"2", "j", "*", "j", "space", "space", "/", "svc", "enter", "n", "N"},
		{"jjj", "enter", "E", "e"},
	} {
		m := loaded(t, r, 100, 30)
		m, _ = drive(t, m, press(keys...)...)
		raw := m.View().Content
		if strings.Contains(raw, "\x1b[2J") {
			t.Errorf("keys %v: the evidence's clear-screen reached the output", keys)
		}
		lines := strings.Split(ansi.Strip(raw), "\n")
		if len(lines) != 30 {
			t.Errorf("keys %v: %d lines", keys, len(lines))
		}
		for i, l := range lines {
			if w := ansi.StringWidth(l); w > 100 {
				t.Errorf("keys %v: line %d is %d wide", keys, i, w)
			}
		}
	}
}

// FuzzKeys drives the fixture screen with arbitrary key sequences and
// window sizes: no panic, and the view always fits the window exactly.
func FuzzKeys(f *testing.F) {
	f.Add([]byte{80, 24, 'j', 'j', '\r', '2', 'f', '*', 'z'})
	f.Add([]byte{120, 40, '/', 's', 'c', '\r', 'n', 'N', 0x1b, 'r', ' ', 'x', 'a', 0x1b, 'c', 'l', 'h', 's', '[', ']', 't'})
	f.Add([]byte{41, 11, '?', 'j', 0x1b, 'p', 'k', 0x1b, 'o', 'O', 'u', 'b', 'J', 'K', '\t'})
	r := fixture()
	f.Fuzz(func(t *testing.T, data []byte) { fuzzOne(t, r, data) })
}

// fuzzOne runs one FuzzKeys input: two bytes of window size, then keys.
func fuzzOne(t *testing.T, r *triage.Result, data []byte) {
	{
		if len(data) < 2 {
			return
		}
		w, h := minWidth+int(data[0])%160, minHeight+int(data[1])%60
		m := loaded(t, r, w, h)
		keys := data[2:]
		if len(keys) > 300 {
			keys = keys[:300] // long inputs test nothing more, only slowly
		}
		var msgs []tea.Msg
		for _, c := range keys {
			switch c {
			case '\r':
				msgs = append(msgs, press("enter")...)
			case 0x1b:
				msgs = append(msgs, press("esc")...)
			case '\t':
				msgs = append(msgs, press("tab")...)
			case ' ':
				msgs = append(msgs, press("space")...)
			case 0x7f:
				msgs = append(msgs, press("backspace")...)
			case 'q', 'e', 'E':
				// quitting ends nothing here; exports write files: left to TestExport
			default:
				if c >= 0x20 && c < 0x7f {
					msgs = append(msgs, press(string(rune(c)))...)
				}
			}
		}
		m, _ = drive(t, m, msgs...)
		lines := strings.Split(screen(m), "\n")
		if len(lines) != h {
			t.Fatalf("%dx%d: %d lines", w, h, len(lines))
		}
		for i, l := range lines {
			if lw := ansi.StringWidth(l); lw != w {
				t.Fatalf("%dx%d: line %d is %d wide: %q", w, h, i, lw, l)
			}
		}
	}
}

// TestLineage checks the detail's lineage on crafted trees: a parent cycle
// shows each process once, a chain deeper than maxDepth shows its nearest
// maxDepth processes and counts the rest.
func TestLineage(t *testing.T) {
	r := hostileTree()
	byPID := make(map[uint32]*triage.Process)
	for _, p := range r.Processes {
		byPID[p.PID] = p
	}
	tests := []struct {
		name        string
		pid         uint32
		prefix      string
		suffix      string
		labels      int // processes named
		wantCounted bool
	}{
		{"root", 1, "explorer.exe 1", "explorer.exe 1", 1, false},
		{"short chain", 11, "explorer.exe 1 › regsvr32.exe 10 › regsvr32.exe 11", "regsvr32.exe 11", 3, false},
		{"cycle", 9002, "a.exe 9001 › c.exe 9002", "c.exe 9002", 2, false},
		{"deep chain", 10 + 2999, fmt.Sprintf("… %d earlier › regsvr32.exe %d", 3001-maxDepth, 10+3000-maxDepth), "regsvr32.exe 3009", maxDepth, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := lineageText(byPID[tt.pid])
			if !strings.HasPrefix(got, tt.prefix) || !strings.HasSuffix(got, tt.suffix) {
				t.Errorf("lineage %.120q…, want %q … %q", got, tt.prefix, tt.suffix)
			}
			parts := strings.Split(got, " › ")
			if tt.wantCounted {
				parts = parts[1:]
			}
			if len(parts) != tt.labels {
				t.Errorf("%d processes named, want %d", len(parts), tt.labels)
			}
		})
	}
}
