package tui

import (
	"fmt"
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/evtriage/evtriage/internal/termsafe"
	"github.com/evtriage/evtriage/internal/winpath"
	"github.com/evtriage/evtriage/triage"
)

// filesView is view 5: one row per input file with what it shows of
// tampering or loss (triage.Tamper): header flags, records and chunks,
// recovered records, record-id gaps, time going back, log-cleared events,
// first and last event time. The detail pane says where each sign is.
// With the views restricted to a host, it lists that host's files.
type filesView struct {
	gridList
	all    []*triage.Source
	rows   []*triage.Source
	host   string
	zone   zone   // times are shown in it
	labels labels // host names as the findings table shows them
}

// SetLabels sets the short forms of host names (per snapshot).
func (v *filesView) SetLabels(l labels) { v.labels = l }

// SetZone sets the zone the rows' times are shown in.
func (v *filesView) SetZone(z zone) { v.zone = z }

func newFilesView() filesView { return filesView{gridList: newGridList()} }

// SetData installs the sources, keeping the selected one.
func (v *filesView) SetData(srcs []triage.Source) {
	v.all = v.all[:0]
	for i := range srcs {
		v.all = append(v.all, &srcs[i])
	}
	v.refresh()
}

// SetHost restricts the rows to the files holding host's events ("" all).
func (v *filesView) SetHost(host string) { v.host = host; v.refresh() }

func (v *filesView) refresh() {
	sel := ""
	if s := v.Selected(); s != nil && v.moved {
		sel = s.Path
	}
	v.rows = v.rows[:0]
	for _, s := range v.all {
		if v.host == "" || containsString(s.Hosts, v.host) {
			v.rows = append(v.rows, s)
		}
	}
	v.setRows(len(v.rows))
	for i, s := range v.rows {
		if s.Path == sel {
			v.cursor = i
			v.clamp()
		}
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// Selected returns the file under the cursor, or nil.
func (v *filesView) Selected() *triage.Source {
	if v.cursor < 0 || v.cursor >= len(v.rows) {
		return nil
	}
	return v.rows[v.cursor]
}

// update moves the cursor.
func (v *filesView) update(k tea.KeyPressMsg) tea.Cmd {
	v.move(k)
	return nil
}

// fileCols are the files view's columns at width w.
func fileCols(w int) []gridCol {
	if w >= 100 {
		return layoutGrid([]gridCol{{"FILE", 0, false}, {"HOST", 12, false}, {"RECORDS", 8, true}, {"CHUNKS", 6, true},
			{"RECOV", 5, true}, {"GAPS", 5, true}, {"TIME↓", 5, true}, {"CLEARED", 7, true}, {"FLAGS", 5, false},
			{"FIRST", 11, false}, {"LAST", 11, false}}, 0, w, 12)
	}
	return layoutGrid([]gridCol{{"FILE", 0, false}, {"RECORDS", 7, true}, {"CHUNKS", 6, true}, {"RECOV", 5, true},
		{"GAPS", 5, true}, {"TIME↓", 5, true}, {"CLR", 3, true}, {"FLAGS", 5, false}, {"LAST", 11, false}}, 0, w, 10)
}

// flagsCell is a file's header flags and wrap as letters: D dirty, F
// full, W wrapped ("-" where not set).
func flagsCell(t *triage.Tamper) string {
	if t == nil {
		return ""
	}
	b := []byte("---")
	if t.Dirty {
		b[0] = 'D'
	}
	if t.Full {
		b[1] = 'F'
	}
	if t.Wrapped {
		b[2] = 'W'
	}
	return string(b)
}

// hostsCell is the hosts a file's events name in w cells, their names
// shortened as l shortens them (the domain dropped where unambiguous):
// "WS1", "WS-003 +4" (the count always shows).
func hostsCell(s *triage.Source, l labels, w int) string {
	switch {
	case s.HostsTotal == 0 || len(s.Hosts) == 0:
		return "–"
	case s.HostsTotal == 1:
		return cell(hostName(l.host(s.Hosts[0])), w)
	}
	more := fmt.Sprintf(" +%d", s.HostsTotal-1)
	return strings.TrimRight(fit(cell(hostName(l.host(s.Hosts[0])), w), max(w-len(more), 1)), " ") + more
}

// count is n as a cell, "·" for none, so that the signs stand out.
func count(n int) string {
	if n == 0 {
		return "·"
	}
	return strconv.Itoa(n)
}

// View draws the header and the visible rows.
func (v filesView) View() string {
	cols := fileCols(v.width)
	wide := v.width >= 100
	return v.render(cols, "no files read yet", func(i int) []string {
		s := v.rows[i]
		t := s.Tamper
		name := cell(winpath.Base(s.Path), cols[0].width)
		if t == nil {
			cells := []string{name}
			if wide {
				cells = append(cells, hostsCell(s, v.labels, cols[1].width))
			}
			return append(cells, "unreadable")
		}
		cells := []string{name}
		if wide {
			cells = append(cells, hostsCell(s, v.labels, cols[1].width))
		}
		cells = append(cells, thousands(t.Records), strconv.Itoa(t.Chunks), count(t.Recovered), count(t.GapsTotal+t.ReversedTotal),
			count(t.BackwardsTotal), count(t.Cleared), flagsCell(t))
		if wide {
			cells = append(cells, shortTime(v.zone, t.First))
		}
		return append(cells, shortTime(v.zone, t.Last))
	}, func(i int) rune {
		if v.rows[i].Tamper.SignCount() > 0 {
			return '!'
		}
		return ' '
	})
}

// fileLines renders a file in the detail pane: what it holds, its header
// and what reading it gave, then every tamper sign with where it is.
func fileLines(st detailStyles, width int, z zone, s *triage.Source) detailContent {
	w := &detailWriter{st: st, width: width, zone: z}
	w.heading("File " + termsafe.Clean(s.Path))
	var hosts []string
	for _, h := range s.Hosts {
		hosts = append(hosts, termsafe.Clean(hostName(h)))
	}
	if n := s.HostsTotal - len(s.Hosts); n > 0 {
		hosts = append(hosts, fmt.Sprintf("… %d more", n))
	}
	w.fieldStyled("Hosts", strings.Join(hosts, ", "))
	w.field("SHA-256", s.SHA256)
	if len(s.Problems) > 0 {
		w.fieldStyled("Problems", w.st.Warn.Render(fmt.Sprintf("%d part%s could not be read (p lists them)", len(s.Problems), plural(len(s.Problems)))))
	}
	t := s.Tamper
	if t == nil {
		w.fieldStyled("Tamper signs", "unknown: the file could not be read as a log")
		return w.detailContent
	}
	rec := thousands(t.Records)
	if t.Recovered > 0 {
		rec += fmt.Sprintf(" (%d recovered from slack space or damaged chunks)", t.Recovered)
	}
	w.fieldStyled("Records", rec)
	w.fieldStyled("Chunks", strconv.Itoa(t.Chunks))
	var flags []string
	if t.Dirty {
		flags = append(flags, "dirty: not closed cleanly (as every copy of a live log)")
	}
	if t.Full {
		flags = append(flags, "full")
	}
	if t.Wrapped {
		flags = append(flags, "wrapped: its oldest records were overwritten")
	}
	if len(flags) == 0 {
		flags = []string{"none"}
	}
	w.fieldStyled("Header flags", strings.Join(flags, "; "))
	w.fieldStyled("First event", w.zone.full(t.First))
	w.fieldStyled("Last event", w.zone.full(t.Last))
	gaps := strconv.Itoa(t.GapsTotal)
	if t.GapsTotal > 0 {
		gaps += fmt.Sprintf(" (%d record ids missing)", t.Missing)
	}
	w.fieldStyled("Record-id gaps", gaps)
	if t.ReversedTotal > 0 {
		w.fieldStyled("Ids going back", strconv.Itoa(t.ReversedTotal))
	}
	w.fieldStyled("Time going back", strconv.Itoa(t.BackwardsTotal)+st.Faint.Render(fmt.Sprintf(" (by more than %s)", triage.TimeSlack)))
	w.fieldStyled("Log events", fmt.Sprintf("%d log cleared, %d Sysmon stopped, %d Sysmon configuration changes, %d Sysmon errors",
		t.Cleared, t.SysmonStops, t.SysmonConfigs, t.SysmonErrors))
	lines := triage.TamperLines(t)
	if len(lines) == 0 {
		w.blank()
		w.text(st.Faint.Render("  No tamper signs: no gap, no time going back, no cleared log, no Sysmon change."))
		return w.detailContent
	}
	w.blank()
	w.heading(fmt.Sprintf("Where (%s)", termsafe.Clean(t.Summary())))
	for _, l := range lines {
		w.para(2, termsafe.Clean(l))
	}
	return w.detailContent
}
