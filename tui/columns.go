package tui

import (
	"sort"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/evtriage/evtriage/rules"
	"github.com/evtriage/evtriage/triage"
)

// The findings table's columns follow their content: each is as wide as
// its widest cell (within a cap), the command line takes the rest, and
// when the window is too narrow the least useful columns go first (the
// event ID, then the command line, which the detail shows whole, then a
// host column that says nothing because every row has the same host)
// rather than every column being cut.

// Caps and floors of the content-driven columns, in cells.
const (
	ruleCap, ruleMin       = 44, 16
	hostCap, hostMin       = 24, 8
	processCap, processMin = 32, 12
	commandMin             = 24 // below this the command line is dropped
	timeLong, timeShort    = 19, 14
)

// labels are the short forms the table shows, computed once per snapshot:
// rule titles that tell rules apart, host names without their domain
// where that is unambiguous.
type labels struct {
	titles map[*rules.Rule]string
	hosts  map[string]string
}

// newLabels computes the short forms of r's rules and hosts.
func newLabels(r *triage.Result) labels {
	return labels{titles: shortTitles(r.Loaded), hosts: shortHosts(r.Hosts)}
}

// title is the rule's short title.
func (l labels) title(r *rules.Rule) string {
	if s, ok := l.titles[r]; ok {
		return s
	}
	return r.Title
}

// host is the host as the table shows it.
func (l labels) host(h string) string {
	if s, ok := l.hosts[h]; ok {
		return s
	}
	return h
}

// shortTitles gives each rule a title that tells it apart in a narrow
// column: its own name (Sigma's name:) when it has one; else, when it
// shares a long beginning with another rule's title (the CAR analytics:
// "CAR-2019-04-002 Generic Regsvr32 - …"), its first word and the part
// that differs ("CAR-2019-04-002 … Spawned Child Processes"); else its
// title. The detail shows the full title.
func shortTitles(loaded []*rules.Rule) map[*rules.Rule]string {
	out := make(map[*rules.Rule]string, len(loaded))
	sorted := make([]*rules.Rule, 0, len(loaded))
	for _, r := range loaded {
		if r != nil {
			sorted = append(sorted, r)
		}
	}
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Title < sorted[j].Title })
	for i, r := range sorted {
		if r.Name != "" {
			out[r] = r.Name
			continue
		}
		// The longest shared beginning is with a neighbour in sorted order.
		common := 0
		for _, j := range []int{i - 1, i + 1} {
			if j >= 0 && j < len(sorted) && sorted[j].Title != r.Title {
				common = max(common, commonWords(r.Title, sorted[j].Title))
			}
		}
		out[r] = r.Title
		first := strings.IndexByte(r.Title, ' ')
		if common < 24 || first < 0 || first >= common || strings.Count(r.Title[:common], " ") < 3 {
			continue
		}
		tail := strings.TrimLeft(r.Title[common:], " -–:")
		if tail != "" {
			out[r] = r.Title[:first] + " … " + tail
		}
	}
	return out
}

// commonWords is the length of the longest beginning of a and b that ends
// at a word boundary in both.
func commonWords(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	if (n == len(a) || a[n] == ' ') && (n == len(b) || b[n] == ' ') {
		return n
	}
	return max(strings.LastIndexByte(a[:n], ' '), 0)
}

// shortHosts drops the domain of host names whose first label no other
// host shares ("WS-001.corp.example.com" → "WS-001").
func shortHosts(hosts []string) map[string]string {
	first := func(h string) string {
		if i := strings.IndexByte(h, '.'); i > 0 {
			return h[:i]
		}
		return h
	}
	seen := make(map[string]int, len(hosts))
	for _, h := range hosts {
		seen[strings.ToLower(first(h))]++
	}
	out := make(map[string]string, len(hosts))
	for _, h := range hosts {
		if f := first(h); f != h && seen[strings.ToLower(f)] == 1 {
			out[h] = f
		}
	}
	return out
}

// contentWidths measures the widest cell of each content-driven column
// over rows (and how many hosts they name); it runs with the filter, in a
// tea.Cmd.
type contentWidths struct {
	w     [numColumns]int
	hosts int
}

func measure(rows []*triage.Finding, l labels) contentWidths {
	var c contentWidths
	seen := make(map[string]bool)
	for _, f := range rows {
		c.w[colRule] = max(c.w[colRule], min(ansi.StringWidth(l.title(f.Rule)), ruleCap))
		h := findingHost(f)
		if !seen[h] {
			seen[h] = true
			c.w[colHost] = max(c.w[colHost], min(ansi.StringWidth(l.host(h)), hostCap))
		}
		c.w[colProcess] = max(c.w[colProcess], min(ansi.StringWidth(findingProcess(f)), processCap))
		c.w[colEventID] = max(c.w[colEventID], len(findingEventID(f)))
	}
	c.hosts = len(seen)
	return c
}

// layout gives each column its width in a table width cells wide (a
// two-cell mark first, one space after each column but the last); 0 drops
// a column. newCol says whether findings are judged against a baseline,
// markCol whether the case holds marks.
func layout(width int, c contentWidths, newCol, markCol bool) [numColumns]int {
	want := func(col column) int { return max(c.w[col], ansi.StringWidth(col.String())+1) } // room for the sort mark
	var cw [numColumns]int
	cw[colTime], cw[colLevel] = timeLong, 4
	if newCol {
		cw[colNew] = 4
	}
	if markCol {
		cw[colMark] = 4
	}
	cw[colEventID] = want(colEventID)
	cw[colRule] = min(want(colRule), ruleCap)
	cw[colHost] = min(want(colHost), hostCap)
	cw[colProcess] = min(want(colProcess), processCap)
	room := func() int {
		used := 2
		for col, w := range cw {
			if w > 0 && column(col) != colCommandLine {
				used += w + 1
			}
		}
		return width - used
	}
	// With the command line: a narrower rule, then without the event ID
	// and narrower still.
	narrow := func(floor int) {
		if r := room(); r < commandMin && cw[colRule] > floor {
			cw[colRule] = max(floor, cw[colRule]-(commandMin-r))
		}
	}
	narrow(32)
	if room() < commandMin {
		cw[colEventID] = 0
	}
	narrow(24)
	if r := room(); r >= commandMin {
		cw[colCommandLine] = r
		return cw
	}
	// Without it: a host column is dropped when every row has the same
	// host, the others narrowed, the time without its year last.
	cw[colRule] = min(want(colRule), ruleCap)
	if room() < 0 && c.hosts <= 1 {
		cw[colHost] = 0
	}
	for _, col := range []column{colRule, colProcess, colHost} {
		floor := map[column]int{colRule: ruleMin, colProcess: processMin, colHost: hostMin}[col]
		if r := room(); r < 0 && cw[col] > floor {
			cw[col] = max(floor, cw[col]+r)
		}
	}
	if room() < 0 {
		cw[colTime] = timeShort
	}
	return cw
}
