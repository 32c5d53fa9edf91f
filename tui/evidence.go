package tui

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/triage"
)

// maxOpenLogs bounds the inputs the screen keeps open between reads back
// (each keeps a few decoded chunks cached, see parser.Reader.EventAt).
const maxOpenLogs = 8

// errNotAnInput is returned for a file the hunt did not read.
var errNotAnInput = errors.New("not one of the inputs")

// evidence opens the inputs again to read events back that the hunt did
// not keep (the host timeline, the raw event): files read-only through
// parser.Open (internal/infile: a path that became a pipe or device is
// refused), the built-in log from memory. It keeps the last few readers
// open with their caches of decoded chunks; readers are closed only while
// no read is under way, so a tea.Cmd never sees its reader closed. It is
// shared by the Model's copies and safe for concurrent use.
type evidence struct {
	inputs map[string]Input // by the name the hunt gave them (Input.Path, or Name for data)
	opts   parser.Options
	// live says the logs are being followed: they grow, and new ones
	// appear under the folders, so any log the hunt named is opened (the
	// hunt names the paths it read), and a reader is kept only while
	// reads are under way, so that the next read sees what was written
	// since.
	live bool

	mu    sync.Mutex
	users int          // reads under way
	open  []*openInput // most recently used last
}

type openInput struct {
	name string
	rd   *parser.Reader
	f    *parser.File // nil for data in memory
}

func newEvidence(inputs []Input, carve bool) *evidence {
	e := &evidence{inputs: make(map[string]Input, len(inputs)), opts: parser.Options{Carve: carve}}
	for _, in := range inputs {
		name := in.Path
		if name == "" {
			name = in.Name
		}
		e.inputs[name] = in
	}
	return e
}

// begin starts a read: it returns the opener to read inputs through and
// the function that ends the read.
func (e *evidence) begin() (triage.Opener, func()) {
	e.mu.Lock()
	e.users++
	e.mu.Unlock()
	return e.reader, e.end
}

func (e *evidence) end() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.users--
	if e.users == 0 && e.live {
		for _, o := range e.open {
			o.close()
		}
		e.open = nil
	}
	if e.users == 0 && len(e.open) > maxOpenLogs {
		for _, o := range e.open[:len(e.open)-maxOpenLogs] {
			o.close()
		}
		e.open = slices.Delete(e.open, 0, len(e.open)-maxOpenLogs)
	}
}

// reader returns a reader of the input the hunt named name.
func (e *evidence) reader(name string) (*parser.Reader, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, o := range e.open {
		if o.name == name {
			e.open = append(slices.Delete(e.open, i, i+1), o)
			return o.rd, nil
		}
	}
	in, ok := e.inputs[name]
	if !ok && e.live {
		in, ok = Input{Name: name, Path: name}, name != ""
	}
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, errNotAnInput)
	}
	o := &openInput{name: name}
	if in.Path == "" {
		rd, err := parser.NewReader(bytes.NewReader(in.Data), int64(len(in.Data)), e.opts)
		if err != nil {
			return nil, err
		}
		o.rd = rd
	} else {
		f, err := parser.Open(in.Path, e.opts)
		if err != nil {
			return nil, err
		}
		o.rd, o.f = f.Reader, f
	}
	e.open = append(e.open, o)
	return o.rd, nil
}

// Close closes every input kept open.
func (e *evidence) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var errs []error
	for _, o := range e.open {
		errs = append(errs, o.close())
	}
	e.open = nil
	return errors.Join(errs...)
}

func (o *openInput) close() error {
	if o.f != nil {
		return o.f.Close()
	}
	return nil
}
