package tui

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// gridList is what the hosts and files views share: a cursor over rows
// under a header line, the window of rows on screen, the movement keys,
// and columns laid out from a spec. The views keep their rows and draw
// their cells; gridList keeps the rest.
type gridList struct {
	KeyMap navKeyMap
	styles *listStyles // set by SetStyles, never written through

	n             int // rows
	cursor, top   int
	width, height int // height includes the header line
	// moved is set once the user moves the cursor: until then it stays on
	// the first row whatever the rows become (snapshots while loading add
	// hosts and files in any order); afterwards it follows the user's row.
	moved bool
}

func newGridList() gridList { return gridList{KeyMap: defaultNavKeyMap(), styles: new(listStyles)} }

// SetStyles sets the list's styles.
func (g *gridList) SetStyles(s listStyles) { g.styles = &s }

// SetSize sets the list's size, header included.
func (g *gridList) SetSize(w, h int) { g.width, g.height = w, h; g.clamp() }

// setRows sets the number of rows, keeping the cursor in range.
func (g *gridList) setRows(n int) { g.n = n; g.clamp() }

// Len is the number of rows.
func (g gridList) Len() int { return g.n }

// lines is the lines the rows take with the header.
func (g gridList) lines() int { return g.n + 1 }

func (g *gridList) body() int { return max(g.height-1, 0) }

func (g *gridList) clamp() { g.cursor, g.top = scrollClamp(g.cursor, g.top, g.n, g.body()) }

// move handles a movement key.
func (g *gridList) move(k tea.KeyPressMsg) bool {
	c, ok := g.KeyMap.move(k, g.cursor, g.n, g.body())
	if ok {
		g.cursor, g.moved = c, true
		g.clamp()
	}
	return ok
}

// position says where the cursor is, for the tab.
func (g gridList) position() string {
	if g.n == 0 {
		return "0/0"
	}
	return fmt.Sprintf("%d/%d", g.cursor+1, g.n)
}

// gridCol is one column: its header and width in cells.
type gridCol struct {
	title string
	width int
	right bool // numbers: aligned right
}

// layoutGrid gives the column flex (index) the width left over by the
// others in w cells (two for the marker, one space between columns), at
// least min.
func layoutGrid(cols []gridCol, flex, w, minFlex int) []gridCol {
	out := append([]gridCol(nil), cols...)
	used := 2 + len(out) - 1
	for i, c := range out {
		if i != flex {
			used += c.width
		}
	}
	out[flex].width = max(w-used, minFlex)
	return out
}

// cellText fits already clean text to a column.
func (c gridCol) cellText(s string) string {
	if c.right {
		if sw := lipgloss.Width(s); sw < c.width {
			return strings.Repeat(" ", c.width-sw) + s
		}
	}
	return fit(s, c.width)
}

// render draws the header and the visible rows: row(i) returns the cells
// of row i (clean text, or text the view styled and fitted itself), and
// mark(i) the character before it ("●" for the chosen row). The selected
// row is drawn in reverse video, plain.
// The line is exactly the list's width × height.
func (g gridList) render(cols []gridCol, empty string, row func(i int) []string, mark func(i int) rune) string {
	if g.width <= 0 || g.height <= 0 {
		return ""
	}
	st := g.styles
	head := make([]string, len(cols))
	for i, c := range cols {
		head[i] = st.Header.Render(c.cellText(c.title))
	}
	lines := []string{"  " + strings.Join(head, " ")}
	if g.n == 0 {
		lines = append(lines, st.Faint.Render("  "+empty))
	}
	end := min(g.top+max(g.body(), 0), g.n)
	for i := g.top; i < end; i++ {
		cells := row(i)
		parts := make([]string, len(cols))
		for j, c := range cols {
			s := ""
			if j < len(cells) {
				s = cells[j]
			}
			if strings.ContainsRune(s, '\x1b') {
				parts[j] = s // styled by the view (a sparkline), already of the column's width
			} else {
				parts[j] = c.cellText(s)
			}
		}
		m := []rune("  ")
		if i == g.cursor {
			m[0] = '›'
		}
		if mark != nil {
			m[1] = mark(i)
		}
		line := string(m) + strings.Join(parts, " ")
		if i == g.cursor {
			line = st.Selected.Render(padRight(ansi.Strip(line), g.width))
		}
		lines = append(lines, line)
	}
	return padLines(lines, g.width, g.height)
}
