package tui

import (
	"sort"
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// The detail pane's fields: { and } select one, y copies its value, Y
// writes it to a file (copy.go). A field's lines are marked with › while
// it is selected, and the pane scrolls to show it.

// selected returns the selected field, if any.
func (d *detailPane) selected() (detailField, bool) {
	if d.sel < 0 || d.sel >= len(d.fields) {
		return detailField{}, false
	}
	return d.fields[d.sel], true
}

// selectField selects field i and scrolls so that its lines show.
func (d *detailPane) selectField(i int) {
	if i < 0 || i >= len(d.fields) {
		return
	}
	d.sel, d.selLabel = i, d.fields[i].label
	f := d.fields[i]
	if f.first < d.top {
		d.top = f.first
	}
	if f.last >= d.top+d.height {
		d.top = max(f.last-d.height+1, f.first)
	}
	d.clampTop()
}

// stepField selects the next (or previous) field; with none selected, the
// first field in view (or the last one, going back).
func (d *detailPane) stepField(forward bool) {
	if len(d.fields) == 0 {
		return
	}
	i := d.sel
	switch {
	case i < 0 && forward:
		i = sort.Search(len(d.fields), func(j int) bool { return d.fields[j].first >= d.top })
		i = min(i, len(d.fields)-1)
	case i < 0:
		i = sort.Search(len(d.fields), func(j int) bool { return d.fields[j].first >= d.top+d.height }) - 1
		i = max(i, 0)
	case forward:
		i = min(i+1, len(d.fields)-1)
	default:
		i = max(i-1, 0)
	}
	d.selectField(i)
}

// pagerFind is a pager's search (help, problems): the query and the lines
// that hold it, case-insensitive.
type pagerFind struct {
	query string
	lines []int32 // ascending
	cur   int     // the match shown last, in lines
}

// run finds the query in lines.
func (p *pagerFind) run(lines []string) {
	p.lines, p.cur = p.lines[:0], 0
	if p.query == "" {
		return
	}
	q := strings.ToLower(p.query)
	for i, l := range lines {
		if containsFold(ansi.Strip(l), q) {
			p.lines = append(p.lines, int32(i))
		}
	}
}

// matches reports whether line i holds the query.
func (p *pagerFind) matches(i int) bool {
	k := sort.Search(len(p.lines), func(j int) bool { return p.lines[j] >= int32(i) })
	return k < len(p.lines) && int(p.lines[k]) == i
}

// Find searches the pane for q ("" ends the search) and shows the first
// match from the top of the view on; it returns the number of lines that
// match.
func (d *detailPane) Find(q string) int {
	d.find.query = q
	d.find.run(d.lines)
	if len(d.find.lines) > 0 {
		d.showMatch(nextMark(d.find.lines, int32(d.top-1), true, false))
	}
	return len(d.find.lines)
}

// StepFind shows the next (or previous) match, wrapping around; it
// returns which match that is (from 1) and how many there are, 0 when
// none.
func (d *detailPane) StepFind(forward bool) (int, int) {
	n := len(d.find.lines)
	if n == 0 {
		return 0, 0
	}
	k := (d.find.cur + 1) % n
	if !forward {
		k = (d.find.cur - 1 + n) % n
	}
	d.showMatch(k)
	return k + 1, n
}

// showMatch makes match k the current one and scrolls it into view.
func (d *detailPane) showMatch(k int) {
	d.find.cur = k
	if l := int(d.find.lines[k]); l < d.top || l >= d.top+d.height {
		d.top = l - d.height/3
		d.clampTop()
	}
}
