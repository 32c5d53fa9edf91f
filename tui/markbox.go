package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/evtriage/evtriage/internal/termsafe"
	"github.com/evtriage/evtriage/triage"
)

// markKeyMap is the mark overlay's keys besides typing: the verdict
// moves with the arrows (letters go to the note), enter saves, esc
// cancels (the screen handles those two).
type markKeyMap struct {
	Up, Down, Save, Cancel key.Binding
}

func defaultMarkKeyMap() markKeyMap {
	return markKeyMap{
		Up:     key.NewBinding(key.WithKeys("up", "shift+tab"), key.WithHelp("↑", "previous verdict")),
		Down:   key.NewBinding(key.WithKeys("down", "tab"), key.WithHelp("↓", "next verdict")),
		Save:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "save")),
		Cancel: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
	}
}

// markTarget is what a mark is given to: a finding or a process.
type markTarget struct {
	finding *triage.Finding
	process *triage.Process
}

// markBox is the overlay that marks a finding or a process: a verdict
// (malicious, suspicious, benign, false positive, or none to clear the
// mark) and a one-line note.
type markBox struct {
	KeyMap markKeyMap
	styles *detailStyles // set by SetStyles, never written through

	width, height int
	target        markTarget
	what          []string // what is marked, clean
	current       string   // its mark now, clean ("" none)
	dest          string   // where marks are saved, clean
	choice        int      // index in markChoices
	note          prompt
}

// markChoices are the overlay's choices: the verdicts, then clearing.
func markChoices() []triage.Verdict { return append(triage.Verdicts(), triage.VerdictNone) }

func newMarkBox() markBox {
	return markBox{KeyMap: defaultMarkKeyMap(), styles: new(detailStyles), note: prompt{Prefix: "Note: "}}
}

// SetStyles sets the overlay's styles.
func (b *markBox) SetStyles(s detailStyles) { b.styles = &s }

// SetSize sets the overlay's size.
func (b *markBox) SetSize(w, h int) { b.width, b.height = w, h }

// open prepares the overlay for t, starting from its mark (if any).
func (b *markBox) open(z zone, t markTarget, what []string, cur triage.Mark, has bool, dest string) {
	b.target, b.what, b.dest = t, what, dest
	b.choice, b.current = 1, "" // suspicious, until the analyst says more
	b.note.SetValue("")
	if has {
		for i, v := range markChoices() {
			if v == cur.Verdict {
				b.choice = i
			}
		}
		b.note.SetValue(cur.Note)
		b.current = markText(z, cur)
	}
}

// value is the verdict and note chosen.
func (b *markBox) value() (triage.Verdict, string) {
	return markChoices()[b.choice], strings.TrimSpace(b.note.Value())
}

// update moves the choice or edits the note.
func (b *markBox) update(k tea.KeyPressMsg) tea.Cmd {
	n := len(markChoices())
	switch {
	case key.Matches(k, b.KeyMap.Up):
		b.choice = (b.choice + n - 1) % n
	case key.Matches(k, b.KeyMap.Down):
		b.choice = (b.choice + 1) % n
	default:
		b.note = b.note.Update(k)
	}
	return nil
}

// paste adds pasted text to the note.
func (b *markBox) paste(msg tea.PasteMsg) { b.note = b.note.Update(msg) }

// View draws the overlay.
func (b markBox) View() string {
	st := b.styles
	w := &detailWriter{st: *st, width: b.width}
	title := "Mark the process"
	if b.target.finding != nil {
		title = "Mark the finding"
	}
	w.heading(title)
	for _, l := range b.what {
		w.text("  " + l)
	}
	if b.current != "" {
		w.text(st.Faint.Render("  now: " + b.current))
	}
	w.blank()
	w.text("  Verdict " + st.Faint.Render("(↑/↓)"))
	for i, v := range markChoices() {
		label := v.Title()
		if v == triage.VerdictNone {
			label = "no verdict (clear the mark)"
		}
		line := "    " + label
		if i == b.choice {
			line = "  › " + st.Label.Render(label)
		}
		w.text(line)
	}
	w.blank()
	w.text("  " + b.note.View())
	w.blank()
	w.text(st.Faint.Render("  enter saves " + b.dest + " · esc cancels"))
	return padLines(w.lines, b.width, b.height)
}

// markText is a mark in words, its time in z: "false positive — note
// (marked 2026-03-02 09:00 UTC)".
func markText(z zone, m triage.Mark) string {
	s := m.Verdict.Title()
	if m.Note != "" {
		s += " — " + termsafe.Clean(m.Note)
	}
	if !m.Marked.IsZero() {
		s += " (marked " + z.format(m.Marked, "2006-01-02 15:04") + " " + z.name() + ")"
	}
	return s
}
