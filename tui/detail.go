package tui

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/evtriage/evtriage/internal/psenc"
	"github.com/evtriage/evtriage/internal/termsafe"
	"github.com/evtriage/evtriage/internal/winpath"
	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/rules"
	"github.com/evtriage/evtriage/triage"
)

// maxListed bounds each list (loads, connections, children…) in the
// detail pane; the rest is counted, not drawn.
const maxListed = 200

// detailKeyMap is the detail pane's key bindings.
type detailKeyMap struct {
	Down, Up key.Binding
	// Top and Bottom go to either end (pagers only: in the main screen
	// they move the list).
	Top, Bottom key.Binding
	// NextField and PrevField move the field selection (what y copies);
	// a pager has none.
	NextField, PrevField key.Binding
}

// defaultDetailKeyMap returns the detail pane's default bindings.
func defaultDetailKeyMap() detailKeyMap {
	return detailKeyMap{
		Down:      key.NewBinding(key.WithKeys("J", "ctrl+d"), key.WithHelp("J", "scroll detail down")),
		Up:        key.NewBinding(key.WithKeys("K", "ctrl+u"), key.WithHelp("K", "scroll detail up")),
		Top:       key.NewBinding(key.WithDisabled()),
		Bottom:    key.NewBinding(key.WithDisabled()),
		NextField: key.NewBinding(key.WithKeys("}"), key.WithHelp("}", "next field (y copies it)")),
		PrevField: key.NewBinding(key.WithKeys("{"), key.WithHelp("{", "previous field")),
	}
}

// pagerKeyMap is the bindings of a pane that has the body to itself (help,
// problems): the list movement keys scroll it too.
func pagerKeyMap() detailKeyMap {
	d, nav := defaultDetailKeyMap(), defaultNavKeyMap()
	return detailKeyMap{
		Down:      key.NewBinding(key.WithKeys(slices.Concat(nav.Down.Keys(), nav.PageDown.Keys(), d.Down.Keys())...), key.WithHelp("j", "scroll down")),
		Up:        key.NewBinding(key.WithKeys(slices.Concat(nav.Up.Keys(), nav.PageUp.Keys(), d.Up.Keys())...), key.WithHelp("k", "scroll up")),
		Top:       nav.Top,
		Bottom:    nav.Bottom,
		NextField: key.NewBinding(key.WithDisabled()),
		PrevField: key.NewBinding(key.WithDisabled()),
	}
}

// ShortHelp is the pane's keys for the one-line help.
func (km detailKeyMap) ShortHelp() []key.Binding { return []key.Binding{km.Down, km.Up} }

// FullHelp lists the pane's keys in one column (those it has: a pager
// has no fields, the detail pane no ends of its own).
func (km detailKeyMap) FullHelp() [][]key.Binding {
	var col []key.Binding
	for _, b := range []key.Binding{km.Down, km.Up, km.Top, km.Bottom, km.NextField, km.PrevField} {
		if b.Enabled() {
			col = append(col, b)
		}
	}
	return [][]key.Binding{col}
}

// detailPane shows everything about the selected process or finding: fields,
// lineage, children, image loads, network and DNS activity, and why each
// rule matched. It holds pre-rendered lines and scrolls over them.
type detailPane struct {
	KeyMap detailKeyMap
	styles *detailStyles // set by SetStyles, never written through (copies may share it)

	detailContent
	top           int
	width, height int
	key           any // what the lines describe (Show)
	keyWidth      int // the width they were built for; -1 after Refresh
	// sel is the selected field (-1: none) and selLabel its label, which
	// the next content selects again when it has a field of that name.
	sel      int
	selLabel string
	// find is the pager's search: the lines that match its query.
	find pagerFind
}

// detailField is one labelled value of the detail pane: the lines it takes
// and the value that { } select and y copies.
type detailField struct {
	label string
	// value is as the evidence (or the screen) has it; it is made
	// terminal-safe when copied, as when drawn.
	value       string
	first, last int // its lines
}

// detailContent is what the pane shows: its lines, and the fields among
// them.
type detailContent struct {
	lines  []string
	fields []detailField
}

// newDetailPane returns an empty pane; its styles are set with SetStyles.
func newDetailPane() detailPane {
	return detailPane{KeyMap: defaultDetailKeyMap(), styles: new(detailStyles), sel: -1}
}

// SetStyles sets the styles the pane's content is drawn with.
func (d *detailPane) SetStyles(s detailStyles) { d.styles = &s }

// SetSize sets the pane's size in cells.
func (d *detailPane) SetSize(w, h int) { d.width, d.height = w, h; d.clampTop() }

// Show shows the lines render builds for sel, the selection they
// describe. They are built again only when the selection or the pane's width
// changed, or after Refresh, so that a keypress costs one rendering of one
// process or finding at most. A nil selection clears the pane.
func (d *detailPane) Show(sel any, render func() detailContent) {
	if sel != nil && sel == d.key && d.keyWidth == d.width {
		return
	}
	d.key, d.keyWidth = sel, d.width
	if sel == nil {
		d.SetContent(detailContent{})
		return
	}
	d.SetContent(render())
}

// Refresh makes the next Show build its lines again (what they show, or
// their styles, changed).
func (d *detailPane) Refresh() { d.keyWidth = -1 }

// Key is what the pane describes: the selection of the last Show.
func (d detailPane) Key() any { return d.key }

// SetLines replaces the content with lines that hold no fields.
func (d *detailPane) SetLines(lines []string) { d.SetContent(detailContent{lines: lines}) }

// SetContent replaces the content and scrolls to its top; the field of
// the same name as the one selected is selected (and shown), and the
// pager's search is run on the new lines.
func (d *detailPane) SetContent(c detailContent) {
	d.detailContent, d.top, d.sel = c, 0, -1
	if d.selLabel != "" {
		for i, f := range c.fields {
			if f.label == d.selLabel {
				d.selectField(i)
				break
			}
		}
	}
	d.find.run(d.lines)
}

func (d *detailPane) clampTop() {
	d.top = min(d.top, max(len(d.lines)-d.height, 0))
	d.top = max(d.top, 0)
}

// ScrollDown and ScrollUp move the content by half a page.
func (d *detailPane) ScrollDown() { d.top += max(d.height/2, 1); d.clampTop() }

// ScrollUp: see ScrollDown.
func (d *detailPane) ScrollUp() { d.top -= max(d.height/2, 1); d.clampTop() }

// update is Update for the screen's panes.
func (d *detailPane) update(k tea.KeyPressMsg) tea.Cmd {
	var cmd tea.Cmd
	*d, cmd = d.Update(k)
	return cmd
}

// Update scrolls and moves the field selection.
func (d detailPane) Update(msg tea.Msg) (detailPane, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, d.KeyMap.Down):
			d.ScrollDown()
		case key.Matches(k, d.KeyMap.Up):
			d.ScrollUp()
		case key.Matches(k, d.KeyMap.Top):
			d.top = 0
		case key.Matches(k, d.KeyMap.Bottom):
			d.top = len(d.lines)
			d.clampTop()
		case key.Matches(k, d.KeyMap.NextField):
			d.stepField(true)
		case key.Matches(k, d.KeyMap.PrevField):
			d.stepField(false)
		}
	}
	return d, nil
}

// View renders the visible lines, exactly width × height: the selected
// field marked with › and the pager's search matches painted.
func (d detailPane) View() string {
	end := min(d.top+d.height, len(d.lines))
	if d.top >= end {
		return padLines(nil, d.width, d.height)
	}
	vis := make([]string, 0, end-d.top)
	var f detailField
	if d.sel >= 0 && d.sel < len(d.fields) {
		f = d.fields[d.sel]
	} else {
		f.first, f.last = -1, -2
	}
	for i := d.top; i < end; i++ {
		l := d.lines[i]
		switch {
		case d.find.matches(i):
			l = paint(ansi.Strip(l), ansi.StringWidth(ansi.Strip(l)), d.find.query, lipgloss.NewStyle(), d.styles.Match)
		case i >= f.first && i <= f.last && strings.HasPrefix(l, " "):
			l = d.styles.Mark.Render("›") + l[1:]
		}
		vis = append(vis, l)
	}
	return padLines(vis, d.width, d.height)
}

// scroll describes the scroll position for the pane title.
func (d detailPane) scroll() string {
	if len(d.lines) <= d.height {
		return ""
	}
	return fmt.Sprintf("%d-%d/%d  %s/%s scroll", d.top+1, min(d.top+d.height, len(d.lines)), len(d.lines),
		d.KeyMap.Down.Help().Key, d.KeyMap.Up.Help().Key)
}

// detailWriter builds the detail pane's lines and fields at a given
// width, with times in a zone.
type detailWriter struct {
	st    detailStyles
	width int
	zone  zone
	detailContent
}

const labelWidth = 18

func (w *detailWriter) heading(s string) {
	w.lines = append(w.lines, w.st.Title.Render(ansi.Truncate(s, w.width, "…")))
}

func (w *detailWriter) text(s string) {
	w.lines = append(w.lines, ansi.Truncate(s, w.width, "…"))
}

// field writes a label and an evidence value, cleaned and wrapped (y
// copies the value); a command line's encoded PowerShell follows it,
// decoded.
func (w *detailWriter) field(label, value string) {
	first := len(w.lines)
	w.wrapped(label, termsafe.CleanLimit(value, maxDetailValue))
	w.fields = append(w.fields, detailField{label: label, value: value, first: first, last: len(w.lines) - 1})
	if strings.HasSuffix(label, "CommandLine") {
		w.encodedPowerShell(value)
	}
}

// maxDecodedLines bounds the lines of a decoded command shown.
const maxDecodedLines = 200

// encodedPowerShell writes, under a command line, the PowerShell
// -EncodedCommand it carries decoded (psenc), marked as decoded and
// escaped like all evidence, or why it does not decode.
func (w *detailWriter) encodedPowerShell(cmdline string) {
	e, ok := psenc.Find(cmdline)
	if !ok {
		return
	}
	label := "↳ decoded " + e.Switch
	if e.Err != nil {
		w.fieldStyled(termsafe.Clean(label), w.st.Warn.Render("does not decode: "+termsafe.Clean(strings.TrimPrefix(e.Err.Error(), "psenc: "))))
		return
	}
	if e.Note != "" {
		w.fieldStyled("", w.st.Warn.Render(termsafe.Clean(e.Note)))
	}
	// The decoded script is one field: y copies it whole.
	first := len(w.lines)
	lines := strings.Split(strings.ReplaceAll(e.Script, "\r\n", "\n"), "\n")
	for i, line := range lines {
		if i == maxDecodedLines {
			w.wrapped("", w.st.Faint.Render(fmt.Sprintf("… %d more lines", len(lines)-i)))
			break
		}
		if i > 0 {
			label = ""
		}
		w.wrapped(termsafe.Clean(label), termsafe.CleanLimit(line, maxDetailValue))
	}
	w.fields = append(w.fields, detailField{label: "decoded " + e.Switch, value: e.Script, first: first, last: len(w.lines) - 1})
}

// fieldStyled writes a label and already-clean (maybe styled) text,
// wrapped; y copies the text.
func (w *detailWriter) fieldStyled(label, text string) {
	first := len(w.lines)
	w.wrapped(label, text)
	w.fields = append(w.fields, detailField{label: label, value: ansi.Strip(text), first: first, last: len(w.lines) - 1})
}

// wrapped writes a label and its text, wrapped on spaces into the value
// column (a word longer than the column is broken at its edge, never at a
// hyphen: indicators stay whole where they can).
func (w *detailWriter) wrapped(label, text string) {
	if text == "" {
		text = "–"
	}
	for i, l := range wrapWords(text, max(w.width-labelWidth-3, 10)) {
		lab := ""
		if i == 0 {
			lab = label
		}
		w.lines = append(w.lines, "  "+w.st.Label.Render(fit(termsafe.Clean(lab), labelWidth))+" "+l)
	}
}

// item writes one line of a list (an image load, a connection…), cut at
// the pane's edge; it is a field whose value, the item's indicator (the
// path loaded, the address…), y copies whole.
func (w *detailWriter) item(line, label, value string) {
	w.fields = append(w.fields, detailField{label: label, value: value, first: len(w.lines), last: len(w.lines)})
	w.text(line)
}

func (w *detailWriter) blank() { w.lines = append(w.lines, "") }

// para writes already-clean text wrapped to the width, its lines after
// the first indented further.
func (w *detailWriter) para(indent int, text string) {
	pad := strings.Repeat(" ", indent)
	for i, l := range strings.Split(ansi.Wrap(text, max(w.width-indent-2, 10), ""), "\n") {
		if i > 0 {
			l = "  " + l
		}
		w.lines = append(w.lines, pad+l)
	}
}

// sourceNames names the logs of k as the screen does ("–" for none).
func sourceNames(k triage.SourceKind) string {
	if t := k.Title(); t != "" {
		return t
	}
	return "–"
}

// lineageText is p's lineage (triage.Lineage: from its root down to p,
// each process once), the nearest maxDepth of it when it is longer.
func lineageText(p *triage.Process) string {
	lin := triage.Lineage(p)
	var parts []string
	if n := len(lin) - maxDepth; n > 0 {
		parts = append(parts, fmt.Sprintf("… %d earlier", n))
		lin = lin[n:]
	}
	for _, a := range lin {
		parts = append(parts, procLabel(a))
	}
	return strings.Join(parts, " › ")
}

func procLabel(p *triage.Process) string {
	name := winpath.Base(p.Image)
	if name == "" {
		name = "?"
	}
	return termsafe.Clean(name) + " " + strconv.FormatUint(uint64(p.PID), 10)
}

// processLines renders a process: identity, lineage, children, fields,
// its findings and its activity.
func processLines(st detailStyles, width int, z zone, p *triage.Process, visible []bool, look markLookup) detailContent {
	w := &detailWriter{st: st, width: width, zone: z}
	title := "Process " + procLabel(p)
	if p.Renamed {
		title += "  [renamed regsvr32]"
	} else if p.Regsvr32 {
		title += "  [regsvr32]"
	}
	w.heading(title)
	if mk, ok := look.process(p); ok {
		w.fieldStyled("Verdict", st.Verdicts.of(mk.Verdict).Render(markText(w.zone, mk)))
	}
	w.fieldStyled("Lineage", lineageText(p))
	if len(p.Children) == 0 {
		w.fieldStyled("Children", "none")
	} else {
		var ch []string
		for i, c := range p.Children {
			if i == maxListed {
				ch = append(ch, fmt.Sprintf("… %d more", len(p.Children)-maxListed))
				break
			}
			ch = append(ch, procLabel(c))
		}
		w.fieldStyled(fmt.Sprintf("Children (%d)", len(p.Children)), strings.Join(ch, ", "))
	}
	w.field("Host", p.Host)
	w.field("Image", p.Image)
	w.field("CommandLine", p.CommandLine)
	w.field("User", p.User)
	if !p.GUID.IsZero() {
		w.field("ProcessGuid", p.GUID.String())
	}
	w.fieldStyled("Created", w.zone.full(p.Created))
	w.fieldStyled("Terminated", w.zone.full(p.Terminated))
	w.fieldStyled("Seen in", sourceNames(p.Sources))
	if p.Stub {
		w.fieldStyled("Note", stubOrigin(p))
	}
	if p.Link != triage.LinkNone && p.Parent != nil {
		w.fieldStyled("Parent link", termsafe.Clean(p.Link.String()))
	}
	if n := len(p.Merged()); n > 0 {
		w.fieldStyled("Merged", fmt.Sprintf("%d more create event(s) of this process (Sysmon and 4688, or repeats)", n))
	}
	if a := p.Seen; a.Total() > 0 {
		k := p.Kept()
		var kept []string
		for _, kind := range triage.ActivityKinds() {
			kept = append(kept, strconv.Itoa(k.Count(kind)))
		}
		w.fieldStyled("Activity seen", a.Summary()+" (kept: "+strings.Join(kept, ", ")+")")
	}
	if len(p.Findings) > 0 {
		shown := 0
		for _, f := range p.Findings {
			if f.ID >= 0 && f.ID < len(visible) && visible[f.ID] {
				shown++
			}
		}
		w.blank()
		head := fmt.Sprintf("Findings (%d", len(p.Findings))
		if shown < len(p.Findings) {
			head += fmt.Sprintf(", %d shown; · marks those the current filters hide", shown)
		}
		w.heading(head + ")")
		for i, f := range p.Findings {
			if f == nil || f.Rule == nil {
				continue
			}
			if i == maxListed {
				w.text(fmt.Sprintf("  … %d more", len(p.Findings)-maxListed))
				break
			}
			mark := "  "
			if f.ID < 0 || f.ID >= len(visible) || !visible[f.ID] {
				mark = "· "
			}
			line := mark + st.Levels.of(f.Rule.Level).Render(fit(levelShort(f.Rule.Level), 5)) + " " + termsafe.Clean(f.Rule.Title)
			if len(f.Suppressed) > 0 {
				line += st.Faint.Render("  (suppressed by " + termsafe.Clean(strings.Join(f.Suppressed, ", ")) + ")")
			}
			w.text(line)
			for _, m := range f.Match {
				w.text("        " + matchText(m))
			}
			if c := f.Correlation; c != nil {
				w.text("        correlation: " + termsafe.CleanLimit(c.Summary(), maxDetailValue))
			}
		}
	}
	activityLines(w, p)
	if c := p.Create(); c != nil && c.Event != nil {
		w.blank()
		eventLines(w, triage.KindCreate.Title(), c)
	}
	return w.detailContent
}

// stubOrigin says how a process not created in the logs is known: the
// parent fields of its children (ParentProcessGuid, or the creator's
// process id as 4688 gives it), its own activity, its end.
func stubOrigin(p *triage.Process) string {
	guid, pid := 0, 0
	for _, c := range p.Children {
		switch c.Link {
		case triage.LinkGUID:
			guid++
		case triage.LinkPID:
			pid++
		}
	}
	var from []string
	if guid > 0 {
		from = append(from, "the parent fields of "+countNoun(guid, "child", "children")+" (ParentProcessGuid)")
	}
	if pid > 0 {
		from = append(from, "the parent process id of "+countNoun(pid, "child", "children"))
	}
	if n := max(p.Seen.Total(), p.Kept().Total()); n > 0 {
		from = append(from, "its own activity ("+countNoun(n, "event", "events")+")")
	}
	if p.Exit() != nil || !p.Terminated.IsZero() {
		from = append(from, "its termination event")
	}
	if len(from) == 0 {
		return "not created in these logs"
	}
	return "not created in these logs; known from " + strings.Join(from, " and ")
}

// groupLines renders a tree row standing for many processes of a host:
// what they are, why they are grouped, how to list them.
func groupLines(st detailStyles, width int, g *treeGroup) detailContent {
	w := &detailWriter{st: st, width: width}
	w.heading(g.title())
	w.field("Host", g.host)
	if g.kind == groupStubs {
		w.fieldStyled("Why", "other events name these processes (a child's parent fields, their own activity) without "+
			"giving their image or their process id; each would be a row saying little, so they are grouped")
		children := 0
		for _, p := range g.stubs {
			children += len(p.Children)
		}
		w.fieldStyled("Children", countNoun(children, "process", "processes")+" started by them (their subtrees are under them)")
	} else {
		w.fieldStyled("Why", "no creation event of these processes (Sysmon 1, Security 4688) is in the logs read: the log "+
			"rolled over after they started, or the Sysmon configuration does not log process creation; their activity "+
			"(image loads, network, DNS, files, registry) names them by ProcessGuid")
		w.fieldStyled("Kept", "counted, not tree nodes: each is made when its row is shown; no child, finding or kept event")
	}
	w.fieldStyled("Keys", "→ or space lists them, ← or space folds them again")
	return w.detailContent
}

// matchText explains one matched part of a rule: selection, field,
// modifier chain and the rule value.
func matchText(m rules.MatchDetail) string {
	field := m.Field
	if field == "" {
		field = "(keyword)"
	}
	if m.Modifier != "" {
		field += "|" + m.Modifier
	}
	return termsafe.Clean(m.Selection) + ": " + termsafe.Clean(field) + " = '" + termsafe.CleanLimit(m.Value, maxDetailValue) + "'"
}

// activityLines lists p's kept activity, one list per activity kind of
// triage's kinds table, in its order: image loads, network, DNS, files,
// registry, other events. A kind's list says how many of its events were
// seen when fewer were kept; each line is a field whose indicator y copies.
func activityLines(w *detailWriter, p *triage.Process) {
	for _, k := range triage.ActivityKinds() {
		refs := p.Events(k)
		if len(refs) == 0 {
			continue
		}
		title := fmt.Sprintf("%s (%d", k.Title(), len(refs))
		if seen := p.Seen.Count(k); seen > len(refs) {
			title += fmt.Sprintf(" kept of %d seen; --all-activity keeps all", seen)
		}
		if k == triage.KindImageLoad {
			unsigned := 0
			for _, l := range refs {
				if isUnsigned(l) {
					unsigned++
				}
			}
			title += fmt.Sprintf(", %d unsigned", unsigned)
		}
		w.blank()
		w.heading(title + ")")
		for i, r := range refs {
			if i == maxListed {
				w.text(fmt.Sprintf("  … %d more", len(refs)-maxListed))
				break
			}
			if r == nil || r.Event == nil {
				continue
			}
			line, value := activityLine(w.st, w.zone, k, r.Event)
			w.item(line, k.Title(), value)
		}
	}
}

// isUnsigned reports a Sysmon 7 load whose Signed field is "false".
func isUnsigned(l *triage.EventRef) bool {
	if l == nil || l.Event == nil {
		return false
	}
	v, ok := l.Event.Field("Signed")
	return ok && strings.EqualFold(strings.TrimSpace(v), "false")
}

// activityLine is one event of activity kind k as the detail lists it
// (times in the screen's zone), and its indicator (the first of the kind's fields, or for other events
// the first field it has).
func activityLine(st detailStyles, z zone, k triage.EventKind, e *parser.Event) (line, value string) {
	get := func(n string) string { v, _ := e.Field(n); return v }
	names := k.Fields()
	if len(names) > 0 {
		value = get(names[0])
	} else if len(e.Fields) > 0 {
		value = e.Fields[0].Value
	}
	switch k {
	case triage.KindImageLoad:
		mark := "  signed   "
		if strings.EqualFold(strings.TrimSpace(get("Signed")), "false") {
			mark = st.Warn.Render("! unsigned ")
		}
		line = mark + termsafe.Clean(value)
		if sig := get("Signature"); sig != "" {
			line += st.Faint.Render("  (" + termsafe.Clean(sig) + ")")
		}
		return line, value
	case triage.KindNetwork:
		s := fmt.Sprintf("  %s %s %s:%s → %s:%s", z.clock(e.Time), get("Protocol"), get("SourceIp"), get("SourcePort"),
			get("DestinationIp"), get("DestinationPort"))
		if h := get("DestinationHostname"); h != "" {
			s += " (" + h + ")"
		}
		return termsafe.Clean(s), value
	case triage.KindDNS:
		return termsafe.Clean(fmt.Sprintf("  %s %s → %s", z.clock(e.Time), get("QueryName"), get("QueryResults"))), value
	}
	// The kinds table's fields, in its order: the indicator, then what
	// qualifies it (a registry event's type and value…); other events:
	// their event ID and first fields.
	parts := []string{"  " + z.clock(e.Time)}
	if len(names) == 0 {
		parts = append(parts, fmt.Sprintf("EID %d", e.EventID))
		for i, f := range e.Fields {
			if i == 3 {
				break
			}
			names = append(names, f.Name)
		}
	}
	for _, n := range names {
		if v := get(n); v != "" {
			parts = append(parts, v)
		}
	}
	return termsafe.Clean(strings.Join(parts, " ")), value
}

// eventLines renders one event: where it came from and all its fields.
func eventLines(w *detailWriter, title string, ref *triage.EventRef) {
	e := ref.Event
	w.heading(title)
	w.field("File", ref.File)
	w.fieldStyled("Record", fmt.Sprintf("EventRecordID %d, record %d at offset %d", e.RecordID, e.RecordNum, e.Offset))
	if e.Recovered {
		w.fieldStyled("Recovered", "yes: carved from a damaged chunk or slack space")
	}
	w.fieldStyled("Time", w.zone.full(e.Time))
	w.field("Channel", e.Channel)
	w.field("Provider", e.Provider)
	w.fieldStyled("EventID", strconv.Itoa(int(e.EventID)))
	w.field("Computer", e.Computer)
	if e.UserID != "" {
		w.field("UserID", e.UserID)
	}
	for i, f := range e.Fields {
		if i == 4*maxListed {
			w.text(fmt.Sprintf("  … %d more fields", len(e.Fields)-i))
			break
		}
		w.field(f.Name, f.Value)
	}
}

// findingLines renders a finding: the rule, why it matched, the process
// and the event.
// verdict explains its baseline verdict ("" without a baseline); look
// finds its mark, and tamper is its file's tamper signs (nil: none known).
func findingLines(st detailStyles, width int, z zone, f *triage.Finding, verdict string, look markLookup, tamper *triage.Tamper) detailContent {
	w := &detailWriter{st: st, width: width, zone: z}
	r := f.Rule
	if r == nil {
		r = &rules.Rule{Title: "(no rule)"}
	}
	w.heading(st.Levels.of(r.Level).Render(levelShort(r.Level)) + " " + termsafe.Clean(r.Title))
	if mk, own, ok := look.finding(f); ok {
		text := markText(w.zone, mk)
		if !own {
			text = "its process's: " + text
		}
		w.fieldStyled("Verdict", st.Verdicts.of(mk.Verdict).Render(text))
	}
	if tamper.SignCount() > 0 {
		w.fieldStyled("Tamper signs", st.Warn.Render("its file shows "+termsafe.Clean(tamper.Summary()))+" — 5 lists where")
	}
	w.field("Rule ID", r.ID)
	w.fieldStyled("Level", r.Level.String())
	if r.Status != "" {
		w.field("Status", r.Status)
	}
	if len(r.Tags) > 0 {
		w.field("Tags", strings.Join(r.Tags, ", "))
	}
	src := r.Path
	if r.Line > 0 {
		src += ":" + strconv.Itoa(r.Line)
	}
	w.field("Source", src)
	if d := strings.TrimSpace(r.Description); d != "" {
		for i, para := range paragraphs(d) {
			label := ""
			if i == 0 {
				label = "Description"
			}
			w.field(label, para)
		}
	}
	if verdict != "" {
		w.fieldStyled("Baseline", verdict)
	}
	w.blank()
	if f.Correlation != nil {
		correlationLines(w, f.Correlation)
	} else {
		w.heading("Why it matched")
		if len(f.Match) == 0 {
			w.text("  (the rule reported no match details)")
		}
		for _, m := range f.Match {
			w.text("  " + matchText(m))
		}
	}
	if len(f.Suppressed) > 0 {
		w.text("  " + st.Warn.Render("hidden by the rule's own filter: "+termsafe.Clean(strings.Join(f.Suppressed, ", "))) +
			" — shown because that filter is switched off")
	}
	if p := f.Process; p != nil {
		w.blank()
		w.heading("Process " + procLabel(p))
		w.fieldStyled("Lineage", lineageText(p))
		w.field("CommandLine", p.CommandLine)
		if p.Parent != nil {
			w.field("Parent", p.Parent.CommandLine)
		}
		w.fieldStyled("Seen in", sourceNames(p.Sources))
	}
	if f.Event != nil && f.Event.Event != nil {
		w.blank()
		title := "Event"
		if f.Correlation != nil {
			title = "Completing event"
		}
		eventLines(w, title, f.Event)
	}
	return w.detailContent
}

// counted says what a correlation type's count counts.
func counted(typ string) string {
	switch typ {
	case "event_count":
		return "events"
	case "value_count":
		return "distinct values"
	case "temporal", "temporal_ordered":
		return "referenced rules"
	}
	return "?"
}

// correlationLines renders a correlation firing: its type, group, count,
// window, and the contributing events (the latest maxListed), one a line.
func correlationLines(w *detailWriter, c *triage.CorrelationHit) {
	w.heading("Correlation")
	w.field("Type", c.Type)
	if len(c.GroupBy) > 0 {
		var g []string
		for i, name := range c.GroupBy {
			if i < len(c.Group) {
				g = append(g, name+" = "+c.Group[i])
			}
		}
		w.field("Group", strings.Join(g, ", "))
	}
	w.fieldStyled("Count", fmt.Sprintf("%d %s", c.Count, counted(c.Type)))
	w.fieldStyled("Window", fmt.Sprintf("%s – %s (%s; the rule's timespan is %s)", w.zone.full(c.Start), w.zone.full(c.End),
		c.End.Sub(c.Start).Round(time.Millisecond), c.Timespan))
	head := fmt.Sprintf("%d contributing, in time order; the last completed the correlation", c.Total)
	if len(c.Events) < c.Total {
		head += fmt.Sprintf(" (the latest %d kept)", len(c.Events))
	}
	w.fieldStyled("Events", head)
	evs := c.Events
	if len(evs) > maxListed {
		w.text(fmt.Sprintf("  … %d earlier", len(evs)-maxListed))
		evs = evs[len(evs)-maxListed:]
	}
	for _, ce := range evs {
		if ce.Ref == nil || ce.Ref.Event == nil {
			continue
		}
		e := ce.Ref.Event
		title := ""
		if ce.Rule != nil {
			title = ce.Rule.Title
		}
		w.text(termsafe.Clean(fmt.Sprintf("  %s  %s #%d  EID %d  %s  %s", w.zone.full(e.Time), winpath.Base(ce.Ref.File), e.RecordID, e.EventID,
			e.Computer, title)))
	}
}
