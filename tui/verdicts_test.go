package tui

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/evtriage/evtriage/internal/golden"
	"github.com/evtriage/evtriage/rules"
	"github.com/evtriage/evtriage/triage"
)

// caseFixture is fixture() with what a hunt measures of its hosts and
// files: per-host counts and activity, and WS02's file showing tamper
// signs (a cleared log, a gap, a dirty header).
func caseFixture() *triage.Result {
	r := fixture()
	times := map[string][]time.Time{}
	for _, p := range r.Processes {
		if c := p.Create(); c != nil {
			times[p.Host] = append(times[p.Host], c.Event.Time)
		}
	}
	for _, f := range r.Findings {
		times[findingHost(f)] = append(times[findingHost(f)], findingTime(f))
	}
	for _, host := range r.Hosts {
		ts := times[host]
		slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
		axis := triage.ActivityBins{Start: ts[0].Truncate(10 * time.Second), Width: 10 * time.Second}
		axis.N = int(ts[len(ts)-1].Sub(axis.Start)/axis.Width) + 1
		bins := make([]uint32, axis.N)
		for _, tm := range ts {
			bins[axis.Bin(tm)]++
		}
		r.HostStats = append(r.HostStats, triage.HostStats{Host: host, Events: len(ts) + 3, First: ts[0], Last: ts[len(ts)-1],
			Activity: bins, Axis: axis})
	}
	r.Sources[0].Hosts, r.Sources[0].HostsTotal = []string{"IEWIN7"}, 1
	r.Sources[0].Tamper = &triage.Tamper{Chunks: 1, Records: 11, First: t0.Add(-900 * time.Second), Last: t0.Add(60 * time.Second)}
	r.Sources[1].Hosts, r.Sources[1].HostsTotal = []string{"WS02"}, 1
	r.Sources[1].Tamper = &triage.Tamper{Dirty: true, Chunks: 4, Records: 4, Recovered: 1,
		First: t0.Add(-300 * time.Second), Last: t0.Add(101 * time.Second), GapsTotal: 1, Missing: 38,
		Gaps: []triage.RecordGap{{Computer: "WS02", Channel: "Security", After: 101, Next: 140, Offset: 0x1600}},
		Events: []triage.LogEvent{{Sign: triage.SignLogCleared, Computer: "WS02", Channel: "Security", EventID: 1102,
			RecordID: 100, Offset: 0x1200, Time: t0.Add(-310 * time.Second), Detail: `Security log cleared by CORP\alice`}},
		EventsTotal: 1, Cleared: 1}
	return r
}

// loadedCfg is loaded with cfg's case and rules.
func loadedCfg(t testing.TB, r *triage.Result, w, h int, cfg Config) Model {
	t.Helper()
	cfg.Title, cfg.ExportDir, cfg.Now = "fixture (2 hosts)", t.TempDir(), func() time.Time { return t0 }
	m := New(cfg)
	m, _ = drive(t, m, tea.WindowSizeMsg{Width: w, Height: h}, loaderMsg{msg: snapshotMsg{r: r, files: len(r.Sources), final: true}},
		loaderMsg{msg: loadDoneMsg{}})
	return m
}

// markedCase marks the fixture's first finding malicious, its
// informational one false positive, and the wevtutil process on WS02
// benign.
func markedCase(r *triage.Result) *triage.Case {
	at := t0.Add(24 * time.Hour)
	return triage.NewCase("",
		triage.FindingEntry(r.Findings[0], triage.Mark{Verdict: triage.VerdictMalicious, Note: "pastebin scriptlet", Marked: at}),
		triage.FindingEntry(r.Findings[3], triage.Mark{Verdict: triage.VerdictFalsePositive, Note: "every scrobj mention", Marked: at}),
		r.ProcessEntry(r.Processes[10], triage.Mark{Verdict: triage.VerdictBenign, Note: "admin clears logs weekly", Marked: at}))
}

// TestVerdictScreens drives the hosts and files views, the mark overlay
// and the screens with marks, at 120×40 and 80×24, against golden files.
func TestVerdictScreens(t *testing.T) {
	tests := []struct {
		name   string
		marked bool
		folder string
		keys   []string
	}{
		{"hosts", false, "", []string{"4"}},
		{"hosts_ws02", false, "", []string{"4", "j"}},
		{"hosts_enter", false, "", []string{"4", "j", "enter"}},
		{"files", false, "", []string{"5", "j"}},
		{"files_host_ws02", false, "", []string{"4", "j", "enter", "5"}},
		{"finding_tamper", false, "", []string{"G"}},
		{"mark_overlay", false, "", []string{"m", "up", "pastebin"}},
		{"marked", true, "", nil},
		{"marked_tree", true, "", []string{"2", "G"}},
		{"marked_hidden", true, "", []string{"v"}},
		{"marked_hosts", true, "", []string{"4", "j"}},
		// W on the CAR child finding: the folder asked once, then the filter.
		{"fp_folder", false, "", []string{"jjj", "W"}},
		{"fp_confirm", false, "/nonexistent-case-folder/filters", []string{"jjj", "W"}},
	}
	for _, tt := range tests {
		for _, size := range [][2]int{{120, 40}, {80, 24}} {
			name := tt.name + "_" + map[int]string{120: "120x40", 80: "80x24"}[size[0]]
			t.Run(name, func(t *testing.T) {
				r := caseFixture()
				// A case file in a folder that is not there: these keys
				// save nothing, and the path is the same in every run.
				const path = "/nonexistent-case-folder/evtriage-case.json"
				cfg := Config{Case: CaseConfig{Path: path}}
				if tt.marked {
					cfg.Case.Case = markedCase(r)
				}
				if tt.folder != "" {
					cfg.Case.Case = cfg.Case.Case.WithRulesFolder(tt.folder)
				}
				m := loadedCfg(t, r, size[0], size[1], cfg)
				m, quit := drive(t, m, press(tt.keys...)...)
				if quit {
					t.Fatal("the screen quit")
				}
				got := screen(m)
				if n := len(strings.Split(got, "\n")); n != size[1] {
					t.Errorf("%d lines, want %d", n, size[1])
				}
				for i, l := range strings.Split(got, "\n") {
					if w := len([]rune(l)); w > size[0] {
						t.Errorf("line %d is %d wide", i, w)
					}
				}
				golden.Assert(t, "screen_"+name+".txt", []byte(got))
				if _, err := os.Stat(filepath.Dir(path)); err == nil {
					t.Fatal("a test wrote outside its folder")
				}
			})
		}
	}
}

// TestMarkSavedAndReopened marks a finding and a process of a real hunt,
// checks the case file, opens the same evidence again from another path
// and finds the marks there; the export carries them.
func TestMarkSavedAndReopened(t *testing.T) {
	dir := t.TempDir()
	res := huntCopy(t, dir, "a.evtx")
	path := filepath.Join(dir, "evtriage-case.json")
	m := loadedCfg(t, res, 120, 40, Config{Case: CaseConfig{Path: path}})
	m, _ = drive(t, m, press("m", "up", "pastebin dropper", "enter")...)
	if !strings.Contains(screen(m), "marked malicious — saved to "+path) {
		t.Fatalf("no saved message:\n%s", screen(m))
	}
	m, _ = drive(t, m, press("2", "f", "m", "down", "down", "enter")...) // the tree's first process with findings: false positive
	c, err := triage.LoadCase(path)
	if err != nil || c.Len() != 2 {
		t.Fatalf("case file: %v, %d marks", err, c.Len())
	}
	first := m.table.Rows()[0]
	if mk, ok := c.FindingMark(first); !ok || mk.Verdict != triage.VerdictMalicious || mk.Note != "pastebin dropper" || !mk.Marked.Equal(t0) {
		t.Errorf("finding mark %+v %v", mk, ok)
	}
	if mk, ok := c.ProcessMark(res, m.tree.Selected()); !ok || mk.Verdict != triage.VerdictFalsePositive {
		t.Errorf("process mark %+v %v", mk, ok)
	}
	// Reopen: the same evidence, copied elsewhere, read again.
	res2 := huntCopy(t, t.TempDir(), "copy.evtx")
	m2 := loadedCfg(t, res2, 120, 40, Config{Case: CaseConfig{Path: path, Case: c}})
	s := screen(m2)
	if !strings.Contains(s, " MARK ") || !strings.Contains(strings.Split(s, "\n")[3], "MAL") {
		t.Errorf("the mark is not shown after reopening:\n%s", s)
	}
	m2, _ = drive(t, m2, press("2")...)
	if !strings.Contains(screen(m2), "[FP]") {
		t.Errorf("the process's mark is not shown after reopening:\n%s", screen(m2))
	}
	// Exports carry the marks.
	m2, _ = drive(t, m2, press("1", "e", "enter")...) // the export menu, JSON
	data := readExport(t, m2)
	if !strings.Contains(data, `"verdict": "malicious"`) || !strings.Contains(data, `"note": "pastebin dropper"`) ||
		!strings.Contains(data, `"verdict": "false_positive"`) || !strings.Contains(data, `"matched": 2`) {
		t.Errorf("the export lacks the marks:\n%.2000s", data)
	}
}

// readExport returns the export the screen's message names.
func readExport(t *testing.T, m Model) string {
	t.Helper()
	_, p, ok := strings.Cut(m.message, " to ")
	if !ok {
		t.Fatalf("no export: %q", m.message)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// huntCopy hunts a copy of the squiblydoo scenario, written to dir/name,
// with the built-in rules.
func huntCopy(t *testing.T, dir, name string) *triage.Result {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "samples", "logs", "squiblydoo.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	h := triage.NewHunter(triage.Options{Rules: rules.Load(rules.LoadOptions{})})
	if err := h.AddFile(context.Background(), p, nil); err != nil {
		t.Fatal(err)
	}
	return h.Finish()
}

// TestCaseFileRefused: a case file that cannot be read turns marks off,
// says why, and is never written.
func TestCaseFileRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "evtriage-case.json")
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := triage.LoadCase(path)
	m := loadedCfg(t, fixture(), 120, 40, Config{Case: CaseConfig{Path: path, Err: err}})
	m, _ = drive(t, m, press("m")...)
	if m.overlay != overlayNone || !strings.Contains(screen(m), "marks are off: ") {
		t.Errorf("m with a refused case file:\n%s", screen(m))
	}
	m, _ = drive(t, m, press("W", "p")...)
	if !strings.Contains(screen(m), "not valid JSON") {
		t.Errorf("the problems panel does not say why:\n%s", screen(m))
	}
	if data, _ := os.ReadFile(path); string(data) != "{not json" {
		t.Errorf("the case file was written: %q", data)
	}
}

// TestCaseFallback: when the case file's folder cannot be written, the
// case goes to the fallback, and the screen says where.
func TestCaseFallback(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gone", "evtriage-case.json") // a folder that is not there cannot be written
	fallback := filepath.Join(dir, "config", "evtriage", "cases", "x.json")
	m := loadedCfg(t, fixture(), 120, 40, Config{Case: CaseConfig{Path: path, Fallback: fallback}})
	m, _ = drive(t, m, press("m", "enter")...)
	if _, err := os.Stat(fallback); err != nil {
		t.Fatalf("no case at the fallback: %v", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatal("the case was written where it could not be")
	}
	if !strings.Contains(screen(m), "marks saved to "+fallback) || m.cs.path != fallback {
		t.Errorf("the screen does not say where the case went:\n%s", screen(m))
	}
	want := "case file: " + path + " cannot be written (its folder does not exist): the case is kept in " + fallback
	if !slices.Contains(m.cfg.Notes, want) {
		t.Errorf("the problems panel does not say where the case went: %q", m.cfg.Notes)
	}
}

// TestCaseFallbackReadOnly is TestCaseFallback with a folder that exists
// but cannot be written (not as root, who may write anywhere).
func TestCaseFallbackReadOnly(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes into read-only folders")
	}
	dir := t.TempDir()
	ro := filepath.Join(dir, "evidence")
	if err := os.Mkdir(ro, 0o500); err != nil {
		t.Fatal(err)
	}
	fallback := filepath.Join(dir, "fallback.json")
	m := loadedCfg(t, fixture(), 120, 40, Config{Case: CaseConfig{Path: filepath.Join(ro, "evtriage-case.json"), Fallback: fallback}})
	m, _ = drive(t, m, press("m", "enter")...)
	if _, err := os.Stat(fallback); err != nil || m.cs.path != fallback {
		t.Fatalf("no case at the fallback (%v): %s", err, m.message)
	}
}

// TestCaseOfOtherEvidence: a case file whose marks name nothing of these
// logs applies nothing, says so, and keeps its marks when a new one is
// added.
func TestCaseOfOtherEvidence(t *testing.T) {
	other := huntCopy(t, t.TempDir(), "a.evtx")
	c := triage.NewCase("", triage.FindingEntry(other.Findings[0], triage.Mark{Verdict: triage.VerdictMalicious}))
	path := filepath.Join(t.TempDir(), "evtriage-case.json")
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	m := loadedCfg(t, fixture(), 120, 40, Config{Case: CaseConfig{Path: path, Case: c}})
	if !strings.Contains(m.message, "none of them of these logs") || m.cs.matched != 0 {
		t.Errorf("no note: %q", m.message)
	}
	if strings.Contains(screen(m), " MARK ") && strings.Contains(screen(m), "MAL ") {
		t.Error("a mark of other evidence is shown")
	}
	m, _ = drive(t, m, press("m", "enter")...)
	back, err := triage.LoadCase(path)
	if err != nil || back.Len() != 2 {
		t.Errorf("case after a new mark: %v, %d marks", err, back.Len())
	}
}

// TestWriteFalsePositiveFilter: W on a finding asks for the rules folder
// once, shows the filter, writes it, reloads the rules and the finding is
// gone (its filter switchable in the rules panel); the case remembers the
// folder and marks the finding false positive.
func TestWriteFalsePositiveFilter(t *testing.T) {
	dir := t.TempDir()
	res := huntCopy(t, dir, "a.evtx")
	path := filepath.Join(dir, "evtriage-case.json")
	m := loadedCfg(t, res, 120, 40, Config{Case: CaseConfig{Path: path}, Hunt: triage.Options{Rules: rules.Load(rules.LoadOptions{})}})
	target := m.table.Selected()
	before := m.table.Len()
	m, _ = drive(t, m, press("W")...)
	if m.overlay != overlayFilter || !strings.Contains(screen(m), "Rules folder: "+filepath.Join(dir, "evtriage-filters")) {
		t.Fatalf("no folder prompt:\n%s", screen(m))
	}
	m, _ = drive(t, m, press("enter")...)
	if !strings.Contains(screen(m), "condition: not selection") {
		t.Fatalf("no filter shown:\n%s", screen(m))
	}
	m, _ = drive(t, m, press("enter")...)
	files, _ := filepath.Glob(filepath.Join(dir, "evtriage-filters", "mf_evtriage_fp_*.yml"))
	if len(files) != 1 || !strings.Contains(m.message, "wrote "+filepath.Base(files[0])+" — filter:evtriage_fp_") {
		t.Fatalf("filter files %v; message %q", files, m.message)
	}
	for _, f := range m.table.Rows() {
		if triage.FindingKey(f) == triage.FindingKey(target) && f.Rule.ID == target.Rule.ID {
			t.Fatal("the finding is still shown")
		}
	}
	if m.table.Len() >= before {
		t.Errorf("%d findings shown, %d before", m.table.Len(), before)
	}
	c, err := triage.LoadCase(path)
	if err != nil || c.RulesFolder() != filepath.Join(dir, "evtriage-filters") {
		t.Fatalf("case: %v, folder %q", err, c.RulesFolder())
	}
	if mk, ok := c.FindingMark(target); !ok || mk.Verdict != triage.VerdictFalsePositive {
		t.Errorf("the finding is not marked false positive: %+v", mk)
	}
	m, _ = drive(t, m, press("r")...)
	if !strings.Contains(screen(m), "filter:evtriage_fp_") {
		t.Errorf("the rules panel does not list the filter:\n%s", screen(m))
	}
	// A second W on another finding goes straight to the filter: the
	// folder is known.
	m, _ = drive(t, m, press("esc", "j", "W")...)
	if m.fpBox.stage != fpConfirm {
		t.Errorf("the folder is asked again")
	}
}

// TestHostsOnRealLogs opens the scenario and the shared psexec log (a
// Security 1102): one row per host (its name without the domain where that
// is unambiguous, as the findings table shows it), the cleared log shown
// on its host and in the files view with where it is.
func TestHostsOnRealLogs(t *testing.T) {
	shared := filepath.Join("..", "..", "shared", "evtx", "security_4688_v1_psexec.evtx")
	if _, err := os.Stat(shared); err != nil {
		t.Skip("../shared not present")
	}
	h := triage.NewHunter(triage.Options{Rules: rules.Load(rules.LoadOptions{})})
	for _, p := range []string{filepath.Join("..", "samples", "logs", "all.evtx"), shared} {
		if err := h.AddFile(context.Background(), p, nil); err != nil {
			t.Fatal(err)
		}
	}
	res := h.Finish()
	m := loadedCfg(t, res, 120, 40, Config{})
	m, _ = drive(t, m, press("4")...)
	s := screen(m)
	for _, want := range []string{"IE10Win7", "  WS-001 ", "  WS-005 ", "cleared"} {
		if !strings.Contains(s, want) {
			t.Errorf("hosts view lacks %q:\n%s", want, s)
		}
	}
	if m.hosts.Len() != 6 {
		t.Errorf("%d host rows, want 6", m.hosts.Len())
	}
	m, _ = drive(t, m, press("5", "j")...)
	if s := screen(m); !strings.Contains(s, `log cleared: Security 1102, record 13677 at offset 0x1200, 2016-09-21 03:40:37 UTC`) ||
		!strings.Contains(s, `Security log cleared by`) || !strings.Contains(s, `IE10WIN7\IEUser`) {
		t.Errorf("files view does not say where the log was cleared:\n%s", screen(m))
	}
	m, _ = drive(t, m, press("enter")...)
	if m.filter.Host != "IE10Win7" || m.view != viewFindings {
		t.Errorf("enter on the file: host %q, view %d", m.filter.Host, m.view)
	}
}

// TestHostileHostsAndFiles: host names, file paths and tamper details
// carrying terminal escapes reach the hosts and files views, their
// details and the mark overlay only as visible escapes.
func TestHostileHostsAndFiles(t *testing.T) {
	r := caseFixture()
	evil := "WS\x1b]0;owned\x07\x1b[2J"
	r.HostStats = append(r.HostStats, triage.HostStats{Host: evil, Events: 1})
	r.Hosts = append(r.Hosts, evil)
	r.Sources[1].Path = "evidence/\x1b[31mred\u202e.evtx"
	r.Sources[1].Hosts = []string{evil}
	r.Sources[1].Tamper.Events[0].Detail = "cleared by \x1b]0;x\x07"
	for _, keys := range [][]string{{"4", "G"}, {"5", "G"}, {"4", "G", "enter", "5"}, {"m", "\x1b"}} {
		m := loadedCfg(t, r, 120, 40, Config{})
		m, _ = drive(t, m, press(keys...)...)
		raw := m.View().Content
		for _, bad := range []string{"\x1b]0;", "\x07", "\x1b[2J", "\x1b[31mred", "\u202e"} {
			if strings.Contains(raw, bad) {
				t.Errorf("keys %v: output contains %q", keys, bad)
			}
		}
	}
}

// TestHostRestriction: enter on a host row restricts every view to that
// host (findings, tree, files, the status bar says so); enter on the same
// row again shows every host; a file of one host restricts the same way.
func TestHostRestriction(t *testing.T) {
	r := caseFixture()
	m := loadedCfg(t, r, 120, 40, Config{})
	all, allFiles := len(m.table.Rows()), m.files.Len()
	m, _ = drive(t, m, press("4", "j", "enter")...) // WS02
	if m.filter.Host != "WS02" || m.view != viewFindings {
		t.Fatalf("host %q view %d after enter on WS02", m.filter.Host, m.view)
	}
	rows := m.table.Rows()
	if len(rows) == 0 || len(rows) >= all {
		t.Errorf("%d findings shown of %d", len(rows), all)
	}
	for _, f := range rows {
		if findingHost(f) != "WS02" {
			t.Errorf("a finding of %s shown", findingHost(f))
		}
	}
	for _, row := range m.tree.rows {
		if row.p != nil && row.p.Host != "WS02" {
			t.Errorf("the tree shows a process of %s", row.p.Host)
		}
	}
	if m.files.Len() != 1 || m.files.Len() >= allFiles {
		t.Errorf("%d files listed for WS02 of %d", m.files.Len(), allFiles)
	}
	s := screen(m)
	if !strings.Contains(s, "host WS02") || !strings.Contains(s, "enter on it in 4 undoes it") {
		t.Errorf("the screen does not say the views are restricted, nor how to undo it:\n%s", s)
	}
	m, _ = drive(t, m, press("4")...)
	if s := screen(m); !strings.Contains(s, "enter every host again") || !strings.Contains(s, "(enter: every host again") {
		t.Errorf("the hosts view does not say enter undoes it:\n%s", s)
	}
	m, _ = drive(t, m, press("enter")...)
	if m.filter.Host != "" || m.view != viewHosts || len(m.table.Rows()) != all || m.files.Len() != allFiles {
		t.Errorf("enter again: host %q view %d, %d findings, %d files", m.filter.Host, m.view, len(m.table.Rows()), m.files.Len())
	}
	m, _ = drive(t, m, press("5", "j", "enter")...) // WS02's file
	if m.filter.Host != "WS02" {
		t.Errorf("enter on WS02's file: host %q", m.filter.Host)
	}
}

// TestGridCursorDuringLoading: snapshots that add hosts and files before
// the selected row leave the hosts and files views on their first row
// until the user moves, then on the user's row.
func TestGridCursorDuringLoading(t *testing.T) {
	full := caseFixture()
	late := *full // only WS02, which sorts after IEWIN7, has been read
	late.HostStats = full.HostStats[1:]
	late.Hosts = []string{"WS02"}
	late.Sources = full.Sources[1:]
	for _, moved := range []bool{false, true} {
		m := New(Config{Title: "loading", ExportDir: t.TempDir(), Inputs: []Input{{Name: "x"}}, Now: func() time.Time { return t0 }})
		m, _ = drive(t, m, tea.WindowSizeMsg{Width: 120, Height: 40}, loaderMsg{msg: snapshotMsg{r: &late, files: 1, partial: true}})
		m, _ = drive(t, m, press("4")...)
		if moved {
			m, _ = drive(t, m, press("j", "k")...)
		}
		m, _ = drive(t, m, loaderMsg{msg: snapshotMsg{r: full, files: 2, final: true}}, loaderMsg{msg: loadDoneMsg{}})
		want := "IEWIN7"
		if moved {
			want = "WS02"
		}
		if r := m.hosts.Selected(); r == nil || r.host != want {
			t.Errorf("moved %v: the hosts view is on %v, want %s", moved, r, want)
		}
	}
}
