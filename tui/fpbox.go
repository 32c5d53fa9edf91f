package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/evtriage/evtriage/internal/termsafe"
	"github.com/evtriage/evtriage/triage"
)

// fpStage is where the false-positive filter overlay is: asking for the
// rules folder (once per case), or showing the filter for confirmation.
type fpStage int

const (
	fpFolder fpStage = iota
	fpConfirm
)

// fpBox is the overlay of W: it asks once for the folder filter rules go
// to, then shows the Sigma filter that would take the selected finding
// out of its rule, to be written with enter.
type fpBox struct {
	styles        *detailStyles // set by SetStyles, never written through
	keys          detailKeyMap
	width, height int

	stage   fpStage
	folder  prompt
	finding *triage.Finding
	fp      *triage.FalsePositive
	dir     string // the folder it goes to
	lines   []string
	top     int
}

func newFPBox() fpBox {
	return fpBox{styles: new(detailStyles), keys: pagerKeyMap(), folder: prompt{Prefix: "Rules folder: "}}
}

// SetStyles sets the overlay's styles.
func (b *fpBox) SetStyles(s detailStyles) { b.styles = &s }

// SetSize sets the overlay's size.
func (b *fpBox) SetSize(w, h int) { b.width, b.height = w, h; b.layout() }

// askFolder starts the folder stage with a suggestion.
func (b *fpBox) askFolder(f *triage.Finding, suggest string) {
	b.stage, b.finding, b.fp = fpFolder, f, nil
	b.folder.SetValue(suggest)
	b.layout()
}

// confirm starts the confirmation stage for fp, to go to dir.
func (b *fpBox) confirm(f *triage.Finding, fp *triage.FalsePositive, dir string) {
	b.stage, b.finding, b.fp, b.dir, b.top = fpConfirm, f, fp, dir, 0
	b.layout()
}

// layout builds the lines the overlay shows.
func (b *fpBox) layout() {
	st := b.styles
	w := &detailWriter{st: *st, width: b.width}
	title := ""
	if f := b.finding; f != nil && f.Rule != nil {
		title = termsafe.Clean(f.Rule.Title)
		if p := f.Process; p != nil {
			title += " — " + procLabel(p)
		}
	}
	switch b.stage {
	case fpFolder:
		w.heading("A filter rule for this false positive")
		w.text("  " + title)
		w.blank()
		w.text("  Filter rules of this case go to one folder, remembered in the case file and loaded with the rules")
		w.text("  whenever the case is opened. Name it once (it is created if missing):")
		w.blank()
		w.text("  " + b.folder.View())
		w.blank()
		w.text(st.Faint.Render("  enter goes on · esc cancels"))
	case fpConfirm:
		w.heading("Write this filter? It takes the finding out of its rule")
		w.text("  " + title)
		w.fieldStyled("File", termsafe.Clean(strings.TrimSuffix(b.dir, "/")+"/"+b.fp.File))
		w.fieldStyled("Matches on", termsafe.Clean(strings.Join(b.fp.Fields, ", "))+st.Faint.Render(" (exact values, Sigma-escaped)"))
		w.text(st.Faint.Render("  enter writes it, loads it, and marks the finding false positive · esc cancels · J/K scroll"))
		w.blank()
		for _, l := range strings.Split(strings.TrimRight(string(b.fp.YAML), "\n"), "\n") {
			w.text("  " + termsafe.Clean(l))
		}
	}
	b.lines = w.lines
}

// update scrolls the preview, or edits the folder.
func (b *fpBox) update(k tea.KeyPressMsg) tea.Cmd {
	if b.stage == fpFolder {
		b.folder = b.folder.Update(k)
		b.layout()
		return nil
	}
	switch {
	case key.Matches(k, b.keys.Down):
		b.top = min(b.top+max(b.height/2, 1), max(len(b.lines)-b.height, 0))
	case key.Matches(k, b.keys.Up):
		b.top = max(b.top-max(b.height/2, 1), 0)
	}
	return nil
}

// paste adds pasted text to the folder.
func (b *fpBox) paste(msg tea.PasteMsg) {
	if b.stage == fpFolder {
		b.folder = b.folder.Update(msg)
		b.layout()
	}
}

// View draws the overlay.
func (b fpBox) View() string {
	end := min(b.top+b.height, len(b.lines))
	var vis []string
	if b.top < end {
		vis = b.lines[b.top:end]
	}
	return padLines(vis, b.width, b.height)
}
