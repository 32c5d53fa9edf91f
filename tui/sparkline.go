package tui

import (
	"strings"

	"charm.land/lipgloss/v2"
)

// sparkBlocks are the heights of a sparkline cell, lowest first.
var sparkBlocks = [...]rune{'▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'}

// sparkMark is drawn under a cell holding a mark (sparkMarks).
const sparkMark = '▲'

// sparkStyles are a sparkline's styles: its bars, and the bars of cells
// holding a mark.
type sparkStyles struct{ Bar, Mark lipgloss.Style }

func newSparkStyles(th theme) sparkStyles {
	return sparkStyles{Bar: lipgloss.NewStyle(), Mark: th.Warn}
}

// sparkCells maps n bins onto width cells: cell j covers bins
// [from(j), to(j)), at least one. With more bins than cells each cell sums
// several; with fewer, a bin spans several cells.
func sparkCells(n, width int) func(j int) (from, to int) {
	return func(j int) (int, int) {
		from := j * n / width
		return from, max((j+1)*n/width, from+1)
	}
}

// sparkline draws counts (events per equal time bin) as one line of
// width cells, re-binned to the width (sparkCells). A cell's height is
// its count against the highest cell's, linearly, so bursts stand out;
// a cell with any event is at least ▁ and a cell with none is blank, so
// gaps show. Cells covering a bin whose mark is set (marks[i] for
// counts[i]; marks may be nil or shorter) are drawn with st.Mark, the
// others with st.Bar. It is the strip of the hosts view and of any view
// that shows events over time.
func sparkline[T ~int | ~int32 | ~uint32 | ~int64](counts []T, marks []bool, width int, st sparkStyles) string {
	n := len(counts)
	if width <= 0 {
		return ""
	}
	if n == 0 {
		return strings.Repeat(" ", width)
	}
	cells := make([]int64, width)
	marked := make([]bool, width)
	span := sparkCells(n, width)
	var top int64
	for j := range cells {
		from, to := span(j)
		for i := from; i < to && i < n; i++ {
			cells[j] += int64(counts[i])
			marked[j] = marked[j] || i < len(marks) && marks[i]
		}
		top = max(top, cells[j])
	}
	var b strings.Builder
	run, runMarked := []rune{}, false
	flush := func() {
		if len(run) == 0 {
			return
		}
		s := st.Bar
		if runMarked {
			s = st.Mark
		}
		b.WriteString(s.Render(string(run)))
		run = run[:0]
	}
	for j, c := range cells {
		r := ' '
		if c > 0 {
			h := int((c*int64(len(sparkBlocks)) - 1) / top) // 0 … 7
			r = sparkBlocks[max(min(h, len(sparkBlocks)-1), 0)]
		}
		if marked[j] != runMarked {
			flush()
			runMarked = marked[j]
		}
		run = append(run, r)
	}
	flush()
	return b.String()
}

// sparkMarks draws the line that goes under a sparkline of n bins at
// width: ▲ under each cell covering a marked bin, blank elsewhere. It
// shows the marks without colour (a plain terminal, a golden file).
func sparkMarks(marks []bool, n, width int) string {
	if width <= 0 {
		return ""
	}
	out := []rune(strings.Repeat(" ", width))
	if n == 0 {
		return string(out)
	}
	span := sparkCells(n, width)
	for j := range out {
		from, to := span(j)
		for i := from; i < to && i < n && i < len(marks); i++ {
			if marks[i] {
				out[j] = sparkMark
				break
			}
		}
	}
	return string(out)
}
