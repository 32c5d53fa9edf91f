package tui

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode"

	tea "charm.land/bubbletea/v2"

	"github.com/evtriage/evtriage/internal/outfile"
	"github.com/evtriage/evtriage/internal/termsafe"
)

// maxClipboard bounds what y sends through the terminal (OSC 52 carries
// it base64-encoded in one escape sequence, which terminals cap); Y writes
// longer values to a file.
const maxClipboard = 64 << 10

// ErrAbandoned is what Run returns when the screen ended while files were
// still being written (q pressed twice, ctrl+c, a signal): they were
// discarded, their temporary files removed.
var ErrAbandoned = errors.New("tui: abandoned")

// writing is the files the screen is writing (exports, saved values),
// shared by the Model's copies and the commands that write them: q waits
// for them, and when the screen ends with some still open, abandon
// discards them so that no temporary file is left behind.
type writing struct {
	mu      sync.Mutex
	files   map[*outfile.File]string // what each one is
	wg      sync.WaitGroup           // commands writing
	stopped bool                     // abandon ran: later files are discarded at once
}

func newWriting() *writing { return &writing{files: make(map[*outfile.File]string)} }

// start is called by a command before it creates its file.
func (w *writing) start() { w.wg.Add(1) }

// add registers f, being written as what; after abandon it discards f at
// once (its writes and Commit then fail).
func (w *writing) add(f *outfile.File, what string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		f.Abort()
		return
	}
	w.files[f] = what
}

// done is called by a command when it has finished (f nil when it could
// not create its file).
func (w *writing) done(f *outfile.File) {
	w.mu.Lock()
	delete(w.files, f)
	w.mu.Unlock()
	w.wg.Done()
}

// busy is the number of files being written.
func (w *writing) busy() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.files)
}

// abandon discards every file still being written, waits for their
// commands to end and says what was abandoned.
func (w *writing) abandon() []string {
	w.mu.Lock()
	w.stopped = true
	var what []string
	for f, s := range w.files {
		f.Abort()
		what = append(what, s)
	}
	w.mu.Unlock()
	w.wg.Wait()
	return what
}

// writeFile writes a file of the screen's through internal/outfile, as
// hunt -o does: a temporary file in dir, synced, then given the first
// free name of names, registered with w meanwhile. It returns the name.
func writeFile(w *writing, dir, what string, names func(int) string, fill func(*outfile.File) error) (string, error) {
	w.start()
	out, err := outfile.CreateUnique(dir, names, 0o600)
	if err != nil {
		w.done(nil)
		return "", err
	}
	w.add(out, what)
	defer w.done(out)
	if err := fill(out); err != nil {
		out.Abort()
		return "", err
	}
	if err := out.Commit(); err != nil {
		return "", err
	}
	return out.Name(), nil
}

// quit ends the screen, or waits for the files being written: the first q
// says so (and the screen ends once they are written), a second q
// abandons them.
func (m *Model) quit() tea.Cmd {
	n := m.out.busy()
	if n == 0 || m.quitting {
		return tea.Quit
	}
	m.quitting = true
	m.setMessage(fmt.Sprintf("waiting for %s to be written — q again abandons it (nothing is left behind)",
		countNoun(n, "file", "files")), false)
	return nil
}

// valueSavedMsg reports the selected field's value written to a file (Y).
type valueSavedMsg struct {
	label, path string
	err         error
}

// copyField sends the selected field's value to the terminal's clipboard
// (OSC 52), as the screen shows it: evidence text made safe, so that
// pasting it never runs what a crafted log hid in it.
func (m *Model) copyField() tea.Cmd {
	f, ok := m.detail.selected()
	if !ok {
		m.setMessage("select a field of the detail with { or } first", true)
		return nil
	}
	if !m.cfg.Clipboard {
		m.setMessage("y copies through the terminal (OSC 52), off over SSH: --clipboard osc52 turns it on; Y writes the value to a file", true)
		return nil
	}
	v := termsafe.Clean(f.value)
	if len(v) > maxClipboard {
		m.setMessage(fmt.Sprintf("%s is %d bytes, too long for the terminal's clipboard: Y writes it to a file", fieldName(f), len(v)), true)
		return nil
	}
	m.setMessage(fmt.Sprintf("copied %s (%d characters) to the clipboard through the terminal (OSC 52)", fieldName(f), len([]rune(v))), false)
	return tea.SetClipboard(v)
}

// saveField writes the selected field's value, as the screen shows it, to
// evtriage-value-<label>-<time>.txt in the export folder.
func (m *Model) saveField() tea.Cmd {
	f, ok := m.detail.selected()
	if !ok {
		m.setMessage("select a field of the detail with { or } first", true)
		return nil
	}
	v, label := termsafe.Clean(f.value)+"\n", fileLabel(f.label)
	dir, stamp, out := m.cfg.ExportDir, m.stamp(), m.out
	m.setMessage("writing "+fieldName(f)+"…", false)
	return func() tea.Msg {
		path, err := writeFile(out, dir, "the value of "+fieldName(f), func(n int) string {
			if n == 1 {
				return fmt.Sprintf("evtriage-value-%s-%s.txt", label, stamp)
			}
			return fmt.Sprintf("evtriage-value-%s-%s-%d.txt", label, stamp, n)
		}, func(o *outfile.File) error {
			_, err := o.Write([]byte(v))
			return err
		})
		return valueSavedMsg{label: fieldName(f), path: path, err: err}
	}
}

// fieldName names a field in messages.
func fieldName(f detailField) string {
	if f.label == "" {
		return "the value"
	}
	return termsafe.Clean(f.label)
}

// fileLabel makes a field's label part of a file name: letters and digits,
// lower case, "value" for none.
func fileLabel(label string) string {
	var b strings.Builder
	for _, r := range label {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) && b.Len() < 32 {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	if b.Len() == 0 {
		return "value"
	}
	return b.String()
}
