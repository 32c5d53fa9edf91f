package tui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/evtriage/evtriage/internal/termsafe"
	"github.com/evtriage/evtriage/rules"
	"github.com/evtriage/evtriage/triage"
)

// hostRow is one computer as the hosts view shows it: what was read of
// it, its processes and findings, the files holding its events and their
// tamper signs, and the bins of its activity that hold a finding.
// hostRows builds them in a tea.Cmd.
type hostRow struct {
	host         string
	stats        triage.HostStats
	procs        int // tree nodes
	activityOnly int // processes known only from their activity, not nodes
	levels       [rules.LevelCritical + 1]int
	files        []*triage.Source
	signs        []triage.SignCount // of its files, summed
	findBins     []bool             // by bin of stats.Axis: a finding of this host
}

// hostRows summarises r by host: every computer the events name (events
// naming none under ""), in host order. Findings are those the rules
// report as written, whatever the filters.
func hostRows(r *triage.Result) []hostRow {
	var rows []hostRow
	index := map[string]int{}
	add := func(host string) *hostRow {
		if i, ok := index[host]; ok {
			return &rows[i]
		}
		index[host] = len(rows)
		rows = append(rows, hostRow{host: host})
		return &rows[len(rows)-1]
	}
	for _, hs := range r.HostStats {
		add(hs.Host).stats = hs
	}
	for _, h := range r.Hosts {
		add(h)
	}
	for _, p := range r.Processes {
		if i, ok := index[p.Host]; ok {
			rows[i].procs++
		}
	}
	for _, a := range r.ActivityOnlyHosts() {
		if i, ok := index[a.Host]; ok {
			rows[i].activityOnly += a.Processes
		}
	}
	for _, f := range r.Written() {
		i, ok := index[findingHost(f)]
		if !ok || f.Rule == nil {
			continue
		}
		row := &rows[i]
		if l := f.Rule.Level; l >= 0 && int(l) < len(row.levels) {
			row.levels[l]++
		}
		if b := row.stats.Axis.Bin(findingTime(f)); b >= 0 && row.stats.Activity != nil {
			if row.findBins == nil {
				row.findBins = make([]bool, row.stats.Axis.N)
			}
			row.findBins[b] = true
		}
	}
	for si := range r.Sources {
		s := &r.Sources[si]
		for _, h := range s.Hosts {
			if i, ok := index[h]; ok {
				rows[i].files = append(rows[i].files, s)
			}
		}
	}
	for i := range rows {
		rows[i].signs = sumSigns(rows[i].files)
	}
	return rows
}

// sumSigns adds up the signs of files, strongest first; a flag counts
// the files that show it.
func sumSigns(files []*triage.Source) []triage.SignCount {
	var by []triage.SignCount
	for _, f := range files {
		for _, s := range f.Tamper.Signs() {
			found := false
			for i := range by {
				if by[i].Sign == s.Sign {
					by[i].Count += s.Count
					found = true
				}
			}
			if !found {
				by = append(by, s)
			}
		}
	}
	for i := 1; i < len(by); i++ { // few: insertion sort by strength
		for j := i; j > 0 && by[j].Sign < by[j-1].Sign; j-- {
			by[j], by[j-1] = by[j-1], by[j]
		}
	}
	return by
}

// signCell is a tamper summary as a column shows it: the strongest sign
// and how many other kinds ("cleared +2"), "–" for none.
func signCell(signs []triage.SignCount) string {
	if len(signs) == 0 {
		return "–"
	}
	s := signs[0].Sign.Short()
	if n := len(signs) - 1; n > 0 {
		s += " +" + strconv.Itoa(n)
	}
	return s
}

// levelsCell is findings by level as a column shows them: "1c 2h 3m",
// most severe first; "–" for none.
func levelsCell(levels [rules.LevelCritical + 1]int) string {
	var parts []string
	for l := rules.LevelCritical; l >= rules.LevelInformational; l-- {
		if n := levels[l]; n > 0 {
			parts = append(parts, strconv.Itoa(n)+levelShort(l)[:1])
		}
	}
	if len(parts) == 0 {
		return "–"
	}
	return strings.Join(parts, " ")
}

// hostsView is view 4: one row per host, with a sparkline of its events
// from its first to its last (findings marked), so that gaps and bursts
// show before anything is read. Enter restricts every view to the host
// (the host toggle's filter).
type hostsView struct {
	gridList
	spark  sparkStyles
	rows   []hostRow
	chosen string         // the host the filter restricts to ("" all)
	marks  map[string]int // case marks by computer
	zone   zone           // times are shown in it
	labels labels         // host names as the findings table shows them
}

// SetLabels sets the short forms of host names (per snapshot): the row
// shows a name without its domain where that is unambiguous, the detail
// the whole name.
func (v *hostsView) SetLabels(l labels) { v.labels = l }

// SetZone sets the zone the rows' times are shown in.
func (v *hostsView) SetZone(z zone) { v.zone = z }

func newHostsView() hostsView { return hostsView{gridList: newGridList()} }

// SetData installs the rows, keeping the selected host once the user
// has moved (until then the first row).
func (v *hostsView) SetData(rows []hostRow) {
	sel := ""
	if r := v.Selected(); r != nil && v.moved {
		sel = r.host
	}
	v.rows = rows
	v.setRows(len(rows))
	for i := range rows {
		if rows[i].host == sel {
			v.cursor = i
			v.clamp()
		}
	}
}

// SetChosen marks the host the filter restricts to.
func (v *hostsView) SetChosen(host string) { v.chosen = host }

// SetMarks sets the case's marks by computer.
func (v *hostsView) SetMarks(m map[string]int) { v.marks = m }

// Selected returns the row under the cursor, or nil.
func (v *hostsView) Selected() *hostRow {
	if v.cursor < 0 || v.cursor >= len(v.rows) {
		return nil
	}
	return &v.rows[v.cursor]
}

// update moves the cursor.
func (v *hostsView) update(k tea.KeyPressMsg) tea.Cmd {
	v.move(k)
	return nil
}

// hostCols are the hosts view's columns at width w.
func hostCols(w int) []gridCol {
	if w >= 100 {
		return layoutGrid([]gridCol{{"HOST", 16, false}, {"EVENTS", 8, true}, {"FIRST", 11, false}, {"LAST", 11, false},
			{"PROCS", 6, true}, {"FINDINGS", 11, false}, {"MARKS", 5, true}, {"TAMPER", 12, false}, {"ACTIVITY", 0, false}}, 8, w, 8)
	}
	return layoutGrid([]gridCol{{"HOST", 10, false}, {"EVENTS", 7, true}, {"SPAN", 6, false}, {"PROCS", 5, true},
		{"FINDINGS", 8, false}, {"MARKS", 5, true}, {"TAMPER", 10, false}, {"ACTIVITY", 0, false}}, 7, w, 8)
}

// hostName is a host as the screen shows it.
func hostName(h string) string {
	if h == "" {
		return "(no computer)"
	}
	return h
}

// View draws the header and the visible rows.
func (v hostsView) View() string {
	cols := hostCols(v.width)
	wide := v.width >= 100
	sparkW := cols[len(cols)-1].width
	return v.render(cols, "no hosts yet", func(i int) []string {
		r := &v.rows[i]
		spark := "(not binned)"
		if r.stats.Activity != nil {
			spark = sparkline(r.stats.Activity, r.findBins, sparkW, v.spark)
		}
		cells := []string{cell(hostName(v.labels.host(r.host)), 40), thousands(r.stats.Events)}
		if wide {
			cells = append(cells, shortTime(v.zone, r.stats.First), shortTime(v.zone, r.stats.Last))
		} else {
			cells = append(cells, spanText(r.stats.First, r.stats.Last))
		}
		return append(cells, strconv.Itoa(r.procs+r.activityOnly), levelsCell(r.levels), count(v.marks[r.host]),
			signCell(r.signs), spark)
	}, func(i int) rune {
		if v.rows[i].host == v.chosen && v.chosen != "" {
			return '●'
		}
		return ' '
	})
}

// shortTime is a time in a column, in z: "05-12 18:35", "–" for none.
func shortTime(z zone, t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return z.format(t, "01-02 15:04")
}

// spanText is the time from first to last, in two units at most: "45s",
// "12m", "3h05m", "4d02h", "2y031d".
func spanText(first, last time.Time) string {
	if first.IsZero() || last.Before(first) {
		return "–"
	}
	d := last.Sub(first)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	case d < 365*24*time.Hour:
		return fmt.Sprintf("%dd%02dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
	}
	return fmt.Sprintf("%dy%03dd", int(d/(365*24*time.Hour)), int(d%(365*24*time.Hour)/(24*time.Hour)))
}

// hostLines renders a host in the detail pane: counts, findings, marks,
// files, its activity over time with findings marked, and where its
// files show tamper signs.
func hostLines(st detailStyles, spark sparkStyles, width int, z zone, r *hostRow, chosen bool, marks map[triage.Verdict]int) detailContent {
	w := &detailWriter{st: st, width: width, zone: z}
	title := "Host " + termsafe.Clean(hostName(r.host))
	if chosen {
		title += "  ● every view shows only this host (enter: every host again; h: next host)"
	}
	w.heading(title)
	ev := thousands(r.stats.Events)
	if r.stats.Untimed > 0 {
		ev += fmt.Sprintf(" (%d without a plausible time)", r.stats.Untimed)
	}
	w.fieldStyled("Events", ev)
	w.fieldStyled("First", w.zone.full(r.stats.First))
	w.fieldStyled("Last", w.zone.full(r.stats.Last))
	w.fieldStyled("Span", spanText(r.stats.First, r.stats.Last))
	procs := strconv.Itoa(r.procs)
	if r.activityOnly > 0 {
		procs += fmt.Sprintf(" in the tree, %d more known only from their activity", r.activityOnly)
	}
	w.fieldStyled("Processes", procs)
	var lv []string
	for l := rules.LevelCritical; l >= rules.LevelInformational; l-- {
		if n := r.levels[l]; n > 0 {
			lv = append(lv, st.Levels.of(l).Render(levelShort(l))+" "+strconv.Itoa(n))
		}
	}
	if len(lv) == 0 {
		lv = []string{"none"}
	}
	w.fieldStyled("Findings", strings.Join(lv, " · ")+st.Faint.Render(" (as the rules report them)"))
	var mk []string
	for _, v := range triage.Verdicts() {
		if n := marks[v]; n > 0 {
			mk = append(mk, fmt.Sprintf("%s %d", v.Title(), n))
		}
	}
	if len(mk) == 0 {
		mk = []string{"none"}
	}
	w.fieldStyled("Marks", strings.Join(mk, " · "))
	w.fieldStyled("Tamper signs", termsafe.Clean(triageSummary(r.signs))+st.Faint.Render(" (of the files holding its events; 5 lists them)"))
	var files []string
	for i, f := range r.files {
		if i == maxListed {
			files = append(files, fmt.Sprintf("… %d more", len(r.files)-i))
			break
		}
		files = append(files, termsafe.Clean(f.Path))
	}
	w.fieldStyled(fmt.Sprintf("Files (%d)", len(r.files)), strings.Join(files, ", "))
	if a := r.stats.Axis; a.N > 0 && r.stats.Activity != nil {
		sw := max(width-4, 10)
		w.blank()
		w.heading(fmt.Sprintf("Activity %s – %s", w.zone.full(a.Start), w.zone.full(a.End())))
		w.text(st.Faint.Render(fmt.Sprintf("  a cell is %s; blank: no event; ▲ a finding", cellSpan(a, sw))))
		w.text("  " + sparkline(r.stats.Activity, r.findBins, sw, spark))
		if r.findBins != nil {
			w.text("  " + sparkMarks(r.findBins, a.N, sw))
		}
	}
	for _, f := range r.files {
		lines := triage.TamperLines(f.Tamper)
		if f.Tamper.SignCount() == 0 {
			continue
		}
		w.blank()
		w.heading("Tamper signs in " + termsafe.Clean(f.Path))
		for i, l := range lines {
			if i == 2*maxListed {
				w.text(fmt.Sprintf("  … %d more (5 lists them)", len(lines)-i))
				break
			}
			w.para(2, termsafe.Clean(l))
		}
	}
	return w.detailContent
}

// triageSummary is summed signs on one line: "cleared 1, gaps 3, dirty".
func triageSummary(signs []triage.SignCount) string {
	if len(signs) == 0 {
		return "none"
	}
	var parts []string
	for _, s := range signs {
		if s.Sign.IsFlag() {
			parts = append(parts, fmt.Sprintf("%s (%d file%s)", s.Sign.Short(), s.Count, plural(s.Count)))
		} else {
			parts = append(parts, fmt.Sprintf("%s %d", s.Sign.Short(), s.Count))
		}
	}
	return strings.Join(parts, ", ")
}

// cellSpan is the time one cell of a sparkline of width cells covers.
func cellSpan(a triage.ActivityBins, width int) string {
	d := time.Duration(a.N) * a.Width / time.Duration(max(width, 1))
	if a.N < width {
		d = a.Width
	}
	return d.Round(time.Second).String()
}
