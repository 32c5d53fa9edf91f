package tui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/triage"
)

// manyInputs is fixture() read from 870 inputs under deep folders, four
// of them with problems (one with a long reason, one of a single record),
// one that does not exist.
func manyInputs() *triage.Result {
	r := fixture()
	r.Sources = nil
	for i := range 870 {
		s := triage.Source{Path: fmt.Sprintf("/cases/2026-0042/collection/host%03d/Windows/System32/winevt/Logs/Microsoft-Windows-Sysmon%%4Operational.evtx", i),
			Records: 10}
		switch i {
		case 17:
			s.Problems = []triage.Problem{{Offset: 0x31000, Err: &parser.FormatError{Offset: 0x31000,
				Msg: "chunk 3: record at 0x31200 claims 0x7fff0000 bytes, past the chunk's end at 0x40000; the chunk's remaining 212 records were carved"}}}
		case 500:
			s.Problems = []triage.Problem{{Offset: 0x1000, Err: &parser.FormatError{Offset: 0x1000, Msg: "chunk 0: header checksum mismatch"}},
				{Offset: 0x11000, Err: &parser.FormatError{Offset: 0x11000, Msg: "chunk 1: header checksum mismatch"}}}
		case 600:
			s.Records = 1
			s.Problems = []triage.Problem{{Offset: 0xeee0, Err: &parser.FormatError{Offset: 0xeee0, Msg: "carved record 32480 (event 2) has no event data: not a record, not kept"}}}
		case 869:
			s.Records = 0
			s.Problems = []triage.Problem{{Err: fmt.Errorf("open %s: no such file or directory", s.Path)}}
		}
		r.Sources = append(r.Sources, s)
	}
	return r
}

// TestProblemsView: p lists only the inputs with problems (the rest is
// counted), every line whole at 80 columns (wrapped, offsets and counts
// visible), G/End reach the end and / n search it.
func TestProblemsView(t *testing.T) {
	m := loaded(t, manyInputs(), 80, 24)
	m, _ = drive(t, m, press("p")...)
	all := strings.Join(m.problems.lines, "\n")
	if n := strings.Count(all, " recovered, "); n != 4 {
		t.Errorf("%d inputs listed, want the 4 with problems:\n%s", n, all)
	}
	if !strings.Contains(all, "Inputs (870): 866 read without problems (8,660 records), 4 with problems") {
		t.Errorf("the inputs are not counted:\n%s", all)
	}
	if strings.Contains(all, "…") {
		t.Errorf("a line is cut:\n%s", all)
	}
	for _, l := range m.problems.lines {
		if w := ansi.StringWidth(l); w > 80 {
			t.Errorf("a line of %d cells is wider than the screen: %q", w, ansi.Strip(l))
		}
	}
	words := strings.Join(strings.Fields(ansi.Strip(all)), " ")
	for _, want := range []string{"offset 0x31000", "212 records were carved", "offset 0x11000", "no such file or directory",
		"Operational.evtx — 1 record, 0 recovered, 1 problem", "1 duplicate record (same computer, channel, record ID, time and event ID) was counted once"} {
		if !strings.Contains(words, want) {
			t.Errorf("%q is not shown:\n%s", want, all)
		}
	}
	if got := m.problemCount(); got != 6 {
		t.Errorf("header counts %d problems, want 6 (5 of the inputs, 1 rejected rule)", got)
	}
	m, _ = drive(t, m, press("G")...)
	if !strings.Contains(screen(m), "counted once") {
		t.Errorf("G does not show the end:\n%s", screen(m))
	}
	m, _ = drive(t, m, press("g", "/", "checksum", "enter")...)
	if !strings.Contains(m.message, "2 lines") {
		t.Fatalf("search message %q", m.message)
	}
	if !strings.Contains(screen(m), "chunk 0: header checksum") {
		t.Errorf("the first match is not shown:\n%s", screen(m))
	}
	m, _ = drive(t, m, press("n")...)
	if !strings.Contains(m.message, "2/2") {
		t.Errorf("n: %q", m.message)
	}
	if m.overlay != overlayProblems {
		t.Error("the search left the problems view")
	}
}
