package tui

import (
	"fmt"
	"path/filepath"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/evtriage/evtriage/internal/termsafe"
	"github.com/evtriage/evtriage/internal/winpath"
	"github.com/evtriage/evtriage/triage"
)

// exportMenuKeyMap is the export menu's bindings.
type exportMenuKeyMap struct {
	navKeyMap
	Write, Scope key.Binding
}

// defaultExportMenuKeyMap returns the export menu's default bindings.
func defaultExportMenuKeyMap() exportMenuKeyMap {
	return exportMenuKeyMap{
		navKeyMap: defaultNavKeyMap(),
		Write:     bind([]string{"enter"}, "enter", "write the export"),
		Scope:     bind([]string{"tab", "s"}, "tab", "shown findings ⇄ subtree"),
	}
}

// ShortHelp is the menu's keys for the one-line help.
func (km exportMenuKeyMap) ShortHelp() []key.Binding {
	return []key.Binding{km.Write, km.Up, km.Down, km.Scope}
}

// FullHelp lists the menu's keys.
func (km exportMenuKeyMap) FullHelp() [][]key.Binding { return [][]key.Binding{km.ShortHelp()} }

// exportStyles are the export menu's styles: a list's, and titles.
type exportStyles struct {
	listStyles
	Title lipgloss.Style
}

func newExportStyles(th theme) exportStyles { return exportStyles{newListStyles(th), th.Title} }

// exportUses says what each format is for, in the menu.
var exportUses = map[triage.Format]string{
	triage.FormatJSON:       "all: processes, lineage, sources; jq, evtriage, --baseline",
	triage.FormatJSONL:      "the same, a record a line; Velociraptor, jq, evtriage",
	triage.FormatCSV:        "a row per finding; Timeline Explorer, LibreOffice, Excel",
	triage.FormatTimesketch: "an event per finding; timesketch_importer, web upload",
}

// exportMenu is the export overlay: which findings (those shown, or the
// selected process's subtree) in which format (triage.Formats), written
// under which name. Enter asks the screen to write it (exportRequest).
type exportMenu struct {
	KeyMap exportMenuKeyMap
	styles *exportStyles // set by SetStyles, never written through

	width, height int
	cursor        int // index in triage.Formats(); kept between openings

	subtree bool
	shown   int             // findings the views show
	root    *triage.Process // the subtree's root; nil when nothing is selected
	dir     string          // the export folder
	stamp   string          // the time in the names, as of the opening
}

// newExportMenu returns the menu; its styles are set with SetStyles.
func newExportMenu() exportMenu {
	return exportMenu{KeyMap: defaultExportMenuKeyMap(), styles: new(exportStyles)}
}

// SetStyles sets the menu's styles.
func (e *exportMenu) SetStyles(s exportStyles) { e.styles = &s }

// SetSize sets the menu's size.
func (e *exportMenu) SetSize(w, h int) { e.width, e.height = w, h }

// Open prepares the menu for what the screen shows: the shown findings,
// the process a subtree export starts at, the folder and time of names.
func (e *exportMenu) Open(subtree bool, shown int, root *triage.Process, dir, stamp string) {
	e.subtree = subtree && root != nil
	e.shown, e.root, e.dir, e.stamp = shown, root, dir, stamp
}

// format is the format under the cursor.
func (e *exportMenu) format() triage.Format {
	fs := triage.Formats()
	return fs[max(min(e.cursor, len(fs)-1), 0)]
}

// what names the export in its file name: "findings" or "subtree-PID".
func exportWhat(subtree bool, root *triage.Process) string {
	if subtree && root != nil {
		return fmt.Sprintf("subtree-%d", root.PID)
	}
	return "findings"
}

// update moves the cursor, switches the scope, and on enter asks for the
// export.
func (e *exportMenu) update(k tea.KeyPressMsg) tea.Cmd {
	n := len(triage.Formats())
	if c, ok := e.KeyMap.move(k, e.cursor, n, n); ok {
		e.cursor = max(min(c, n-1), 0)
		return nil
	}
	switch {
	case key.Matches(k, e.KeyMap.Scope):
		e.subtree = !e.subtree && e.root != nil
	case key.Matches(k, e.KeyMap.Write):
		req := exportRequest{subtree: e.subtree, format: e.format()}
		return func() tea.Msg { return req }
	}
	return nil
}

// View draws the menu.
func (e *exportMenu) View() string {
	st := e.styles
	var scope, other string
	switch {
	case e.subtree:
		scope = fmt.Sprintf("Export the shown findings of %s (pid %d) and its descendants", termsafe.Clean(winpath.Base(e.root.Image)), e.root.PID)
		other = fmt.Sprintf("tab: the %d shown findings instead", e.shown)
	default:
		scope = fmt.Sprintf("Export the %d shown findings", e.shown)
		if e.root != nil {
			other = fmt.Sprintf("tab: only the subtree of %s (pid %d)", termsafe.Clean(winpath.Base(e.root.Image)), e.root.PID)
		}
	}
	lines := []string{"  " + st.Title.Render(scope), "  " + st.Faint.Render(other), ""}
	for i, f := range triage.Formats() {
		s := fmt.Sprintf("  %-14s %s", f.Title(), exportUses[f])
		if i == e.cursor {
			s = st.Selected.Render(fit("›"+s[1:], e.width))
		}
		lines = append(lines, s)
	}
	name := exportName(exportWhat(e.subtree, e.root), e.stamp, e.format())(1)
	lines = append(lines, "",
		"  writes "+name,
		"  into   "+termsafe.Clean(filepath.Clean(e.dir))+string(filepath.Separator),
		st.Faint.Render("  A name already taken gets -2, -3…: nothing is overwritten."),
		st.Faint.Render("  Every format records the filters, the rules and the command line."),
		st.Faint.Render("  Timesketch leaves out findings without a time (it cannot date them)."))
	return padLines(lines, e.width, e.height)
}
