package tui

import (
	"context"
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/evtriage/evtriage/internal/termsafe"
	"github.com/evtriage/evtriage/triage"
)

// The raw event: x switches the detail pane between the structured view
// and the selected event as Windows renders it (XML, indented), read back
// from the evidence by its offset (parser.Reader.XMLAt) in a tea.Cmd.

// maxRawLines bounds the lines the raw view draws of one event.
const maxRawLines = 20000

// evLoc is where an event's record is: the input the hunt named and the
// record's offset.
type evLoc struct {
	file string
	off  int64
}

// rawState is the raw view: on or off, and the event read for it.
type rawState struct {
	on  bool
	gen int     // of the latest read asked for
	doc *rawDoc // what the pane shows (a new value for each read)
}

// rawDoc is one event's XML, or why it could not be read.
type rawDoc struct {
	loc     evLoc
	loading bool
	xml     []byte
	note    string // said above the XML (the input changed since the hunt)
	err     error
}

// rawMsg carries an event's XML.
type rawMsg struct {
	gen int
	doc *rawDoc
}

// selectedLoc is where the selection's event is: a finding's event, a
// process's creation event, a timeline event; why says why there is none.
func (m *Model) selectedLoc() (loc evLoc, why string) {
	switch s := m.selection().(type) {
	case *triage.Finding:
		if s.Event != nil && s.Event.Event != nil {
			return evLoc{s.Event.File, s.Event.Event.Offset}, ""
		}
		return evLoc{}, "this finding has no event"
	case *triage.Process:
		if c := s.Create(); c != nil && c.Event != nil {
			return evLoc{c.File, c.Event.Offset}, ""
		}
		if m.res != nil {
			if recs := m.res.Records(s); len(recs) > 0 && recs[0].File != "" {
				return evLoc{recs[0].File, recs[0].Offset}, ""
			}
		}
		return evLoc{}, "this process was not created in these logs (known from a child's parent fields or its activity): it has no creation event"
	case *triage.TimelineEvent:
		return evLoc{s.File, s.Event.Offset}, ""
	}
	return evLoc{}, "nothing selected"
}

// syncRaw shows the raw view of the selection, reading its event when it
// is not the one shown; it returns the read.
func (m *Model) syncRaw() tea.Cmd {
	loc, why := m.selectedLoc()
	if why != "" {
		w := m.detail.width
		m.detail.Show(why, func() detailContent {
			return detailContent{lines: strings.Split(ansi.Wrap("  "+why, max(w, 10), ""), "\n")}
		})
		return nil
	}
	var cmd tea.Cmd
	if d := m.raw.doc; d == nil || d.loc != loc {
		m.raw.gen++
		m.raw.doc = &rawDoc{loc: loc, loading: true}
		cmd = readRaw(m.cfg.Context, m.res, m.ev, m.raw.gen, loc)
	}
	st, w, d := *m.detail.styles, m.detail.width, m.raw.doc
	m.detail.Show(d, func() detailContent { return rawLines(st, w, d) })
	return cmd
}

// readRaw returns the command that reads the XML of the event at loc.
func readRaw(ctx context.Context, r *triage.Result, ev *evidence, gen int, loc evLoc) tea.Cmd {
	return func() tea.Msg {
		open, done := ev.begin()
		defer done()
		d := &rawDoc{loc: loc}
		rd, err := open(loc.file)
		if err != nil {
			d.err = err
			return rawMsg{gen, d}
		}
		if n, ok := r.InputSize(loc.file); ok && n != rd.Size() {
			d.note = fmt.Sprintf("the input changed since it was read (%d bytes then, %d now): this may not be the event the hunt read", n, rd.Size())
		}
		d.xml, d.err = rd.XMLAt(ctx, loc.off)
		return rawMsg{gen, d}
	}
}

// applyRaw shows an event's XML when it is the one last asked for.
func (m *Model) applyRaw(msg rawMsg) {
	if msg.gen == m.raw.gen {
		m.raw.doc = msg.doc
	}
}

// rawLines renders an event's XML: where it is, then the document, each
// line escaped (termsafe) and wrapped to the pane; the document is a field
// ({ } select it, y copies it, Y writes it to a file).
func rawLines(st detailStyles, width int, d *rawDoc) detailContent {
	w := &detailWriter{st: st, width: width}
	w.heading("Raw event, as Windows renders it (XML) — x: back to the fields")
	w.text(st.Faint.Render(fmt.Sprintf("  %s at offset %d", termsafe.Clean(d.loc.file), d.loc.off)))
	if d.note != "" {
		w.text("  " + st.Warn.Render(termsafe.Clean(d.note)))
	}
	switch {
	case d.loading:
		w.text(st.Faint.Render("  reading the event…"))
		return w.detailContent
	case d.err != nil:
		w.text("  " + st.Warn.Render("cannot read the event: "+termsafe.Clean(d.err.Error())))
		return w.detailContent
	}
	first := len(w.lines)
	xmlLines(w, d)
	w.fields = append(w.fields, detailField{label: "XML", value: string(d.xml), first: first, last: len(w.lines) - 1})
	return w.detailContent
}

// xmlLines writes the document, each line escaped (termsafe) and wrapped
// to the pane, at most maxRawLines lines in all.
func xmlLines(w *detailWriter, d *rawDoc) {
	for _, line := range strings.Split(strings.TrimRight(string(d.xml), "\n"), "\n") {
		for _, part := range strings.Split(ansi.Hardwrap(termsafe.Clean(line), max(w.width, 10), true), "\n") {
			if len(w.lines) == maxRawLines {
				w.text(w.st.Faint.Render(fmt.Sprintf("  … the rest of the event (%d bytes in all) is not drawn", len(d.xml))))
				return
			}
			w.lines = append(w.lines, part)
		}
	}
}
