package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/evtriage/evtriage/internal/termsafe"
	"github.com/evtriage/evtriage/internal/winpath"
	"github.com/evtriage/evtriage/triage"
)

// The baseline line, under the tabs when findings are judged new or seen:
// what the baseline is (source, time range, key, number of keys) and what
// is wrong with it, so that a verdict explains itself.

// baselineSource says where the baseline comes from: the first part of
// the evidence (--baseline-window) or the inputs given (--baseline).
func (m *Model) baselineSource() string {
	if w := m.cfg.Hunt.BaselineWindow; w > 0 && len(m.cfg.Hunt.Baseline) == 0 {
		return "first " + fmtSpan(w) + " of the evidence"
	}
	names := make([]string, 0, 2)
	for i, p := range m.cfg.Hunt.Baseline {
		if i == 2 {
			names = append(names, fmt.Sprintf("+%d more", len(m.cfg.Hunt.Baseline)-2))
			break
		}
		names = append(names, termsafe.Clean(winpath.Base(p)))
	}
	return strings.Join(names, ", ")
}

// baselineWarning is one thing that makes the verdicts doubtful, said in
// full and in a few words (for a narrow window).
type baselineWarning struct{ long, short string }

// baselineWarnings says what makes the verdicts doubtful: a baseline that
// could not be read, that holds no keys, that leaves nothing to judge or
// that does not overlap the evidence (no host in common, or later than
// it).
func baselineWarnings(r *triage.Result) []baselineWarning {
	var w []baselineWarning
	switch {
	case r.NotJudged:
		return []baselineWarning{{"could not be read: no finding is judged (p shows why)", "unreadable (p)"}}
	case r.BaselineKeys == 0:
		w = append(w, baselineWarning{"holds no keys: every finding judged is new", "no keys"})
	}
	if !r.BaselineEnd.IsZero() {
		if !r.Last.IsZero() && !r.Last.After(r.BaselineEnd) {
			w = append(w, baselineWarning{"covers all the evidence: nothing after it is judged", "covers all"})
		}
		return w
	}
	if len(r.BaselineHosts) > 0 && len(r.Hosts) > 0 && !shareHost(r.BaselineHosts, r.Hosts) {
		hosts := termsafe.Clean(strings.Join(r.BaselineHosts, ", "))
		w = append(w, baselineWarning{"names none of the evidence's hosts (" + hosts + ")", "other hosts (" + hosts + ")"})
	}
	if !r.BaselineFrom.IsZero() && !r.Last.IsZero() && r.BaselineFrom.After(r.Last) {
		w = append(w, baselineWarning{"is later than the evidence", "after the evidence"})
	}
	return w
}

// shareHost reports whether two host lists have a host in common.
func shareHost(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if strings.EqualFold(x, y) {
				return true
			}
		}
	}
	return false
}

// baselineLine is the line under the tabs; "" without a baseline. When
// the whole line is wider than the window it leads with what judges the
// verdicts (the number of keys, the key, the warnings in a few words) and
// cuts the rest (time range, source) with "…", so that a warning is never
// cut away by a long source name.
func (m *Model) baselineLine() string {
	if !m.hasBaseline() {
		return ""
	}
	st := m.styles
	src := m.baselineSource()
	if m.res == nil || m.res.NewKey == "" {
		return st.Faint.Render("baseline: " + src + " · reading…")
	}
	r := m.res
	rng := ""
	if !r.BaselineFrom.IsZero() {
		rng = " · " + fmtRange(m.zone, r.BaselineFrom, r.BaselineTo)
	}
	keys := countNoun(r.BaselineKeys, "key", "keys")
	warns := baselineWarnings(r)
	warned := func(short bool) string {
		out := ""
		for _, w := range warns {
			if short {
				out += st.Warn.Render(" · ⚠ " + w.short)
			} else {
				out += st.Warn.Render(" · ⚠ " + w.long)
			}
		}
		return out
	}
	fits := func(s string) bool { return m.width <= 0 || ansi.StringWidth(s) <= m.width }
	out := st.Faint.Render("baseline: "+src+rng+" · key "+r.NewKey+" · "+keys) + warned(false)
	if fits(out) {
		return out
	}
	head := st.Faint.Render("baseline: " + keys + " (" + r.NewKey + ")")
	out = head + warned(false)
	if !fits(out) {
		out = head + warned(true)
	}
	return ansi.Truncate(out+st.Faint.Render(rng+" · "+src), m.width, "…")
}

// fmtRange is a time range to the minute in the screen's zone:
// "2019-05-12 18:25–20:25 UTC" within a day, both dates otherwise, one
// minute when the range falls within it.
func fmtRange(z zone, from, to time.Time) string {
	name := " " + z.name()
	if to.IsZero() || z.format(from, "2006-01-02 15:04") == z.format(to, "2006-01-02 15:04") {
		return z.format(from, "2006-01-02 15:04") + name
	}
	if z.format(from, "2006-01-02") == z.format(to, "2006-01-02") {
		return z.format(from, "2006-01-02 15:04") + "–" + z.format(to, "15:04") + name
	}
	return z.format(from, "2006-01-02 15:04") + " – " + z.format(to, "2006-01-02 15:04") + name
}

// fmtSpan writes a window as --baseline-window takes it: 30d, 2h, 90m.
func fmtSpan(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// verdictText explains a finding's baseline verdict in the detail.
func (m *Model) verdictText(f *triage.Finding) string {
	r := m.res
	if r == nil || r.NewKey == "" {
		return "not judged: no event with a time to start the baseline window at"
	}
	window := !r.BaselineEnd.IsZero()
	until := m.zone.format(r.BaselineEnd, "2006-01-02 15:04:05") + " " + m.zone.name()
	switch {
	case f.New != nil && *f.New && window:
		return "new: its key (" + r.NewKey + ") is not among the " + countNoun(r.BaselineKeys, "key", "keys") +
			" of the baseline window (the evidence until " + until + ")"
	case f.New != nil && *f.New:
		return "new: its key (" + r.NewKey + ") is not among the " + countNoun(r.BaselineKeys, "key", "keys") + " of the baseline (" + m.baselineSource() + ")"
	case f.New != nil && window:
		return "seen: its key (" + r.NewKey + ") is in the baseline window (the evidence until " + until + ")"
	case f.New != nil:
		return "seen: its key (" + r.NewKey + ") is in the baseline (" + m.baselineSource() + ")"
	case r.NotJudged:
		return "not judged: the baseline could not be read"
	case window && !findingTime(f).IsZero() && findingTime(f).Before(r.BaselineEnd):
		return "not judged: it is in the baseline window itself"
	case window && findingTime(f).IsZero():
		return "not judged: its event has no time"
	}
	return "not judged: it has no " + r.NewKey + " to judge it by"
}
