package tui

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/evtriage/evtriage/internal/golden"
	"github.com/evtriage/evtriage/rules"
	"github.com/evtriage/evtriage/triage"
)

// TestScreens drives the screen with keys and compares what it shows
// (ANSI stripped) with golden files.
func TestScreens(t *testing.T) {
	tests := []struct {
		name string
		w, h int
		keys []string
	}{
		{"findings_120x40", 120, 40, nil},
		{"findings_80x24", 80, 24, nil},
		{"finding_detail_hostile", 120, 40, []string{"jjjj"}},
		{"open_in_tree", 120, 40, []string{"enter"}},
		{"tree_80x24", 80, 24, []string{"2"}},
		{"tree_next_finding", 120, 40, []string{"2", "f", "f", "f"}},
		{"tree_collapse", 120, 40, []string{"2", "left", "left"}},
		{"sort_by_level_desc", 120, 40, []string{"o", "O"}},
		{"level_high", 120, 40, []string{"l", "l", "l"}},
		{"car_exclusions_off", 120, 40, []string{"c"}},
		{"unsigned_only", 120, 40, []string{"u"}},
		{"host_ws02", 120, 40, []string{"h", "h"}},
		{"sources_4688", 120, 40, []string{"s", "s"}},
		{"time_range", 120, 40, []string{"jj", "[", "jj", "]"}},
		{"rules_panel", 120, 40, []string{"r", "j", "space", "jjj", "space"}},
		{"rules_panel_closed", 120, 40, []string{"r", "j", "space", "esc"}},
		{"search", 120, 40, []string{"/", "scrobj", "enter", "n"}},
		{"search_tree", 120, 40, []string{"2", "/", "cmd.exe", "enter", "n", "n"}},
		{"search_prompt", 80, 24, []string{"/", "pastebin", "backspace"}},
		{"help", 120, 40, []string{"?"}},
		{"help_80x24", 80, 24, []string{"?"}},
		{"help_scrolled_80x24", 80, 24, []string{"?", "j", "down", "K"}},
		{"problems", 120, 40, []string{"p"}},
		{"detail_scroll", 80, 24, []string{"2", "f", "J"}},
		{"too_small", 30, 8, nil},
		// The status bar with filters on: every toggle at 120 columns,
		// those on (and a count of the rest) at 80.
		{"status_filters_120x40", 120, 40, []string{"l", "l", "c", "h"}},
		{"status_filters_80x24", 80, 24, []string{"l", "l", "c", "h", "s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := loaded(t, fixture(), tt.w, tt.h)
			m, quit := drive(t, m, press(tt.keys...)...)
			if quit {
				t.Fatal("the screen quit")
			}
			got := screen(m)
			lines := strings.Split(got, "\n")
			if tt.w >= minWidth && len(lines) != tt.h {
				t.Errorf("view has %d lines, want %d", len(lines), tt.h)
			}
			golden.Assert(t, "screen_"+tt.name+".txt", []byte(got))
		})
	}
}

// TestResize checks that every line fits the window after a resize.
func TestResize(t *testing.T) {
	m := loaded(t, caseFixture(), 120, 40)
	for _, size := range [][2]int{{80, 24}, {200, 60}, {41, 11}, {120, 40}} {
		m, _ = drive(t, m, tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		for _, view := range []string{"1", "2", "4", "5"} {
			m, _ = drive(t, m, press(view)...)
			lines := strings.Split(screen(m), "\n")
			if len(lines) != size[1] {
				t.Errorf("%dx%d view %s: %d lines", size[0], size[1], view, len(lines))
			}
			for i, l := range lines {
				if w := len([]rune(l)); w > size[0] {
					t.Errorf("%dx%d view %s line %d is %d wide: %q", size[0], size[1], view, i, w, l)
				}
			}
		}
	}
}

// TestEscapesNeverReachTheTerminal renders every screen that shows the
// hostile command line and checks the raw output (with the screen's own
// styling) carries no OSC or clear-screen from the evidence.
func TestEscapesNeverReachTheTerminal(t *testing.T) {
	for _, keys := range [][]string{nil, {"jjjj"}, {"2", "G"}, {"2", "f", "f", "f"}, {"p"}, {"/", "pwned", "enter"}} {
		m := loaded(t, fixture(), 120, 40)
		m, _ = drive(t, m, press(keys...)...)
		raw := m.View().Content
		for _, bad := range []string{"\x1b]0;", "\x07", "\x1b[2J", "\x1b[31m"} {
			if strings.Contains(raw, bad) {
				t.Errorf("keys %v: output contains %q", keys, bad)
			}
		}
		if strings.Contains(strings.Join(keys, ""), "jjjj") && !strings.Contains(screen(m), `\x1b]0;pwned\x07\x1b[2J`) {
			t.Errorf("the hostile command line is not shown as harmless text:\n%s", screen(m))
		}
	}
}

// TestEscBacksOut checks esc closes what is open, one layer at a time.
func TestEscBacksOut(t *testing.T) {
	m := loaded(t, fixture(), 120, 40)
	m, _ = drive(t, m, press("2", "/", "cmd", "enter", "?")...)
	steps := []func(Model) bool{
		func(m Model) bool { return m.overlay == overlayNone && m.search.result != nil && m.view == viewTree },
		func(m Model) bool { return m.search.result == nil && m.view == viewTree },
		func(m Model) bool { return m.view == viewFindings },
	}
	for i, ok := range steps {
		m, _ = drive(t, m, press("esc")...)
		if !ok(m) {
			t.Fatalf("after esc #%d: overlay %d search %v view %d", i+1, m.overlay, m.search.result != nil, m.view)
		}
	}
}

// TestModeKeys checks the keys that leave a mode: q quits, except while a
// search is typed; every overlay opens and closes with its own key and
// esc; ? opens the help from any of them, as the help line under each
// offers.
func TestModeKeys(t *testing.T) {
	tests := []struct {
		keys    []string
		overlay overlayKind
		quit    bool
	}{
		{[]string{"q"}, overlayNone, true},
		{[]string{"?", "q"}, overlayHelp, true},
		{[]string{"r", "q"}, overlayRules, true},
		{[]string{"/", "q"}, overlayNone, false}, // typed into the search prompt
		{[]string{"/", "q", "esc", "q"}, overlayNone, true},
		{[]string{"esc", "esc"}, overlayNone, false},
		{[]string{"?"}, overlayHelp, false},
		{[]string{"?", "?"}, overlayNone, false},
		{[]string{"?", "esc"}, overlayNone, false},
		{[]string{"r"}, overlayRules, false},
		{[]string{"r", "r"}, overlayNone, false},
		{[]string{"r", "esc"}, overlayNone, false},
		{[]string{"r", "?"}, overlayHelp, false},
		{[]string{"p"}, overlayProblems, false},
		{[]string{"p", "p"}, overlayNone, false},
		{[]string{"p", "esc"}, overlayNone, false},
		{[]string{"p", "?"}, overlayHelp, false}, // ? did nothing here, though the help line offered it
		{[]string{"p", "j", "l"}, overlayProblems, false},
		{[]string{"e"}, overlayExport, false},
		{[]string{"e", "e"}, overlayNone, false},
		{[]string{"e", "esc"}, overlayNone, false},
		{[]string{"e", "j", "tab", "?"}, overlayHelp, false},
		{[]string{"e", "q"}, overlayExport, true},
		{[]string{"E"}, overlayExport, false}, // the selected finding's process
		{[]string{"e", "enter"}, overlayNone, false},
	}
	for _, tt := range tests {
		m := loaded(t, fixture(), 80, 24)
		m, quit := drive(t, m, press(tt.keys...)...)
		if quit != tt.quit || m.overlay != tt.overlay {
			t.Errorf("keys %v: quit %v, overlay %d; want %v, %d", tt.keys, quit, m.overlay, tt.quit, tt.overlay)
		}
	}
}

// TestExport checks e and E open the export menu on the shown findings and
// the subtree, and enter writes the format chosen (JSON, JSON Lines, CSV,
// Timesketch) in the export folder and says where.
func TestExport(t *testing.T) {
	tests := []struct {
		name    string
		keys    []string
		file    string
		want    int
		wantMsg string
		again   []string // the keys of a second export
		procs   string   // the processes exported (pids), for a subtree all of it
	}{
		{"shown", []string{"e", "enter"}, "evtriage-findings-20190512-183505.json", 7, "wrote 7 findings", []string{"e", "enter"}, ""},
		{"shown high+", []string{"l", "l", "l", "e", "enter"}, "evtriage-findings-20190512-183505.json", 2, "wrote 2 findings", []string{"e", "enter"}, ""},
		{"subtree of regsvr32", []string{"2", "f", "E", "enter"}, "evtriage-subtree-1420-20190512-183505.json", 4, "wrote 4 findings", []string{"E", "enter"},
			"1420 2340 2344 2992 3528"},
		{"subtree of a root", []string{"2", "E", "enter"}, "evtriage-subtree-3528-20190512-183505.json", 5, "wrote 5 findings", []string{"E", "enter"},
			"1420 2340 2344 2992 3528 4000"},
		{"subtree without findings", []string{"2", "f", "j", "right", "j", "E", "enter"}, "evtriage-subtree-2344-20190512-183505.json", 0, "wrote 0 findings",
			[]string{"E", "enter"}, "1420 2340 2344 2992 3528"},
		{"subtree by tab", []string{"2", "f", "e", "tab", "enter"}, "evtriage-subtree-1420-20190512-183505.json", 4, "wrote 4 findings", []string{"e", "tab", "enter"}, ""},
		{"json lines", []string{"e", "j", "enter"}, "evtriage-findings-20190512-183505.jsonl", 7, "wrote 7 findings", []string{"e", "enter"}, ""},
		{"csv", []string{"e", "j", "j", "enter"}, "evtriage-findings-20190512-183505.csv", 7, "wrote 7 findings", []string{"e", "enter"}, ""},
		{"timesketch", []string{"e", "G", "enter"}, "evtriage-findings-20190512-183505-timesketch.jsonl", 7, "wrote 7 findings", []string{"e", "enter"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := loaded(t, fixture(), 120, 40)
			dir := m.cfg.ExportDir
			m, _ = drive(t, m, press(tt.keys...)...)
			if !strings.Contains(m.message, tt.wantMsg) || !strings.Contains(m.message, tt.file) {
				t.Fatalf("message %q, want %q and %q", m.message, tt.wantMsg, tt.file)
			}
			if m.overlay != overlayNone {
				t.Error("the export menu stays open after writing")
			}
			data, err := os.ReadFile(filepath.Join(dir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if got := countExported(t, tt.file, data); got != tt.want {
				t.Errorf("%d findings exported, want %d", got, tt.want)
			}
			var doc struct {
				Processes []struct {
					PID      uint32 `json:"pid"`
					Activity struct {
						Events []json.RawMessage `json:"events"`
					} `json:"activity"`
				} `json:"processes"`
			}
			if tt.procs != "" {
				if err := json.Unmarshal(data, &doc); err != nil {
					t.Fatal(err)
				}
				var pids []string
				for _, p := range doc.Processes {
					pids = append(pids, fmt.Sprint(p.PID))
					if p.PID == 1420 && len(p.Activity.Events) != 4 {
						t.Errorf("regsvr32 exported with %d activity events, want its 4 loads, connection and query", len(p.Activity.Events))
					}
				}
				sort.Strings(pids)
				if got := strings.Join(pids, " "); got != tt.procs {
					t.Errorf("processes %s, want %s", got, tt.procs)
				}
			}
			if !strings.Contains(screen(m), tt.file) {
				t.Errorf("the file name is not on screen")
			}
			// A second export in the same second gets a new name; the
			// menu remembers the format.
			m, _ = drive(t, m, press(tt.again...)...)
			ext := filepath.Ext(tt.file)
			if !strings.Contains(m.message, strings.TrimSuffix(tt.file, ext)+"-2"+ext) {
				t.Errorf("second export: %q", m.message)
			}
		})
	}
}

// TestExportMenuScreens draws the export menu (the export folder, a
// temporary one, shown as DIR).
func TestExportMenuScreens(t *testing.T) {
	tests := []struct {
		name string
		w, h int
		keys []string
	}{
		{"export_menu", 120, 40, []string{"e"}},
		{"export_menu_subtree_80x24", 80, 24, []string{"2", "f", "E", "j", "j"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := loaded(t, fixture(), tt.w, tt.h)
			m, _ = drive(t, m, press(tt.keys...)...)
			got := screen(m)
			dir := filepath.Clean(m.cfg.ExportDir) + string(filepath.Separator)
			got = strings.Replace(got, dir+strings.Repeat(" ", max(tt.w-len(dir)-len("  into   "), 0)), "DIR/", 1)
			if lines := strings.Split(got, "\n"); len(lines) != tt.h {
				t.Errorf("view has %d lines, want %d", len(lines), tt.h)
			}
			golden.Assert(t, "screen_"+tt.name+".txt", []byte(got))
		})
	}
}

// countExported counts the findings an export holds, in its format.
func countExported(t *testing.T, name string, data []byte) int {
	t.Helper()
	switch {
	case strings.HasSuffix(name, ".csv"):
		rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return len(rows) - 1
	case strings.HasSuffix(name, "-timesketch.jsonl"):
		n := 0
		for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			var v struct {
				DataType string `json:"data_type"`
			}
			if err := json.Unmarshal([]byte(l), &v); err != nil || v.DataType != "evtriage:finding" {
				t.Fatalf("line %q (%v)", l, err)
			}
			n++
		}
		return n
	case strings.HasSuffix(name, ".jsonl"):
		return strings.Count(string(data), `{"finding":`)
	}
	var doc struct {
		Findings []json.RawMessage `json:"findings"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return len(doc.Findings)
}

// TestCounts checks the shown/total counts and per-process marks follow
// the filters.
func TestCounts(t *testing.T) {
	tests := []struct {
		keys       []string
		shown      int
		regsvr32   int32 // findings shown on pid 1420
		wevtutilOn bool
	}{
		{nil, 7, 3, false},
		{[]string{"c"}, 8, 3, true},
		{[]string{"l"}, 6, 2, false},
		{[]string{"u"}, 3, 3, false},
		{[]string{"s", "s"}, 1, 0, false},
		{[]string{"s", "s", "c"}, 2, 0, true},
	}
	for _, tt := range tests {
		m := loaded(t, fixture(), 120, 40)
		m, _ = drive(t, m, press(tt.keys...)...)
		if m.table.Len() != tt.shown {
			t.Errorf("keys %v: %d shown, want %d", tt.keys, m.table.Len(), tt.shown)
		}
		reg := m.res.Processes[2]
		if got := m.tree.findingCount(reg); got != tt.regsvr32 {
			t.Errorf("keys %v: regsvr32 shows %d findings, want %d", tt.keys, got, tt.regsvr32)
		}
		wev := m.res.Processes[len(m.res.Processes)-1]
		if got := m.tree.findingCount(wev) > 0; got != tt.wevtutilOn {
			t.Errorf("keys %v: wevtutil marked %v, want %v", tt.keys, got, tt.wevtutilOn)
		}
	}
}

// TestExportWaitsForFilters types a filter change and e before the filter
// run finishes: the export must hold what the new filters select.
func TestExportWaitsForFilters(t *testing.T) {
	m := loaded(t, fixture(), 120, 40)
	// The menu's enter sends an exportRequest; here it comes before any
	// filter run is in.
	m, _ = burst(t, m, append(press("l", "l", "l"), exportRequest{format: triage.FormatCSV})...)
	if !strings.Contains(m.message, "wrote 2 findings") {
		t.Fatalf("message %q, want 2 findings written", m.message)
	}
}

// TestSnapshotKeepsSelection checks that a new Result (as streamed while a
// file loads: new objects, renumbered IDs) keeps the selected finding and
// process.
func TestSnapshotKeepsSelection(t *testing.T) {
	m := loaded(t, fixture(), 120, 40)
	m, _ = drive(t, m, press("jjj")...)
	wantF := keyOf(m.table.Selected())
	m, _ = drive(t, m, press("2", "f", "f")...)
	wantP := procKey(m.tree.Selected())

	r2 := fixture()
	for i, j := 0, len(r2.Findings)-1; i < j; i, j = i+1, j-1 {
		r2.Findings[i], r2.Findings[j] = r2.Findings[j], r2.Findings[i]
	}
	for i, f := range r2.Findings {
		f.ID = i
	}
	extra := &triage.Process{ID: len(r2.Processes), Host: "IEWIN7", PID: 4, Image: `C:\Windows\System32\smss.exe`}
	r2.Processes = append(r2.Processes, extra)
	r2.Roots = append([]*triage.Process{extra}, r2.Roots...) // shifts every tree row
	m, _ = drive(t, m, loaderMsg{msg: snapshotMsg{r: r2, files: 2}})
	if got := procKey(m.tree.Selected()); got != wantP {
		t.Errorf("tree selection moved: %+v, want %+v", got, wantP)
	}
	m, _ = drive(t, m, press("1")...)
	if got := keyOf(m.table.Selected()); got != wantF {
		t.Errorf("table selection moved: %+v, want %+v", got, wantF)
	}
	if m.res != r2 {
		t.Error("the new snapshot was not applied")
	}
}

// TestJumpShowsContext checks that jumping to a finding in a long tree
// leaves room below the node for its children.
func TestJumpShowsContext(t *testing.T) {
	m := loaded(t, bigResult(2000), 80, 24)
	m, _ = drive(t, m, press("2")...)
	for i := 0; i < 12; i++ {
		m, _ = drive(t, m, press("f")...)
		if row := m.tree.cursor - m.tree.top; row < 0 || row >= max(m.tree.height*2/3, 1) {
			t.Fatalf("jump %d: selected row %d of a %d-row pane", i+1, row, m.tree.height)
		}
	}
}

// TestLightBackground checks the screen switches every component to
// colours that read on a light terminal when the terminal reports its
// background.
func TestLightBackground(t *testing.T) {
	medium := map[string]func(Model) color.Color{
		"table":    func(m Model) color.Color { return m.table.styles.Levels.of(rules.LevelMedium).GetForeground() },
		"tree":     func(m Model) color.Color { return m.tree.styles.Levels.of(rules.LevelMedium).GetForeground() },
		"detail":   func(m Model) color.Color { return m.detail.styles.Levels.of(rules.LevelMedium).GetForeground() },
		"rules":    func(m Model) color.Color { return m.rules.styles.Levels.of(rules.LevelMedium).GetForeground() },
		"problems": func(m Model) color.Color { return m.problems.styles.Levels.of(rules.LevelMedium).GetForeground() },
	}
	m := loaded(t, fixture(), 80, 24)
	dark := m
	m, _ = drive(t, m, tea.BackgroundColorMsg{Color: color.White})
	for name, get := range medium {
		if d, l := get(dark), get(m); d != lipgloss.Yellow || l != lipgloss.Magenta {
			t.Errorf("%s, medium level: dark %v, light %v; want yellow on dark, magenta on light", name, d, l)
		}
	}
	if got := screen(m); !strings.Contains(got, "Findings") {
		t.Errorf("screen after the switch:\n%s", got)
	}
}
