package tui

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/evtriage/evtriage/rules"
	"github.com/evtriage/evtriage/triage"
)

// Input is one log to hunt in: a file on disk, or bytes in memory (the
// built-in demo log).
type Input struct {
	Name string // shown on screen and recorded as the source's path
	Path string // file to read; empty when Data is set
	Data []byte
}

// loadState is the background loading as the screen follows it.
type loadState struct {
	running  bool        // inputs are still being read
	progress progressMsg // the latest progress report
	files    int         // inputs finished, as of the snapshot shown
	errs     []error     // inputs that could not be read completely
	received int         // snapshots received
	applied  int         // sequence number of the snapshot shown
}

// indexing reports whether a snapshot received is still being indexed.
func (l *loadState) indexing() bool { return l.received > l.applied }

// text says what is being read.
func (l *loadState) text() string {
	if !l.running {
		return "nothing was read"
	}
	p := l.progress.p
	s := "reading"
	if l.progress.files > 0 {
		s += fmt.Sprintf(" %d/%d", l.progress.file+1, l.progress.files)
	}
	if p.File != "" {
		s += " " + clean(baseName(p.File))
	}
	if p.Total > 0 {
		s += fmt.Sprintf(" %d%%", p.Bytes*100/p.Total)
	}
	if p.Events > 0 {
		s += fmt.Sprintf(" · %d events", p.Events)
	}
	return s + "…"
}

// clock is the time source of the loading: Config.Now and Config.After.
type clock struct {
	now   func() time.Time
	after func(time.Duration) <-chan time.Time
}

func (m *Model) loadClock() clock { return clock{now: m.cfg.Now, after: m.cfg.After} }

// handleLoader follows the loader's reports: progress, snapshots (indexed
// in the background), the end.
func (m *Model) handleLoader(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case progressMsg:
		m.load.progress = msg
	case snapshotMsg:
		m.load.received++
		keep := make(map[string]bool)
		for id, e := range m.tree.Expanded() {
			if e && m.res != nil && id < len(m.res.Processes) {
				keep[procKey(m.res.Processes[id])] = true
			}
		}
		return prepare(m.load.received, msg.files, msg.r, keep)
	case loadDoneMsg:
		m.load.running = false
		m.load.errs = msg.errs
		if len(msg.errs) > 0 {
			m.setMessage(fmt.Sprintf("%d input(s) could not be read completely — p shows the problems", len(msg.errs)), true)
		}
		m.refreshProblems()
	}
	return nil
}

// preparedMsg is a snapshot indexed for display, built in a tea.Cmd.
type preparedMsg struct {
	seq      int
	r        *triage.Result
	ix       treeIndex
	expanded []bool
	perRule  map[*rules.Rule]int
	files    int
}

// procKey identifies a process across snapshots.
func procKey(p *triage.Process) string {
	if !p.GUID.IsZero() {
		return p.Host + "\x00" + p.GUID.String()
	}
	return p.Host + "\x00" + strconv.FormatUint(uint64(p.PID), 10) + "\x00" + strconv.FormatInt(p.Created.UnixNano(), 10)
}

// prepare indexes a snapshot: tree order, expansion (what was expanded
// before, plus the ancestors of every finding), per-rule totals.
func prepare(seq, files int, r *triage.Result, keep map[string]bool) tea.Cmd {
	return func() tea.Msg {
		ix := buildTreeIndex(r)
		exp := make([]bool, len(r.Processes))
		if len(keep) > 0 {
			for _, p := range r.Processes {
				if p.ID >= 0 && p.ID < len(exp) && keep[procKey(p)] {
					exp[p.ID] = true
				}
			}
		}
		per := make(map[*rules.Rule]int)
		for _, f := range r.Findings {
			per[f.Rule]++
			if f.Process == nil {
				continue
			}
			for a, n := f.Process.Parent, 0; a != nil && n < maxDepth; a, n = a.Parent, n+1 {
				if a.ID < 0 || a.ID >= len(exp) || exp[a.ID] {
					break // the rest of the chain is already open
				}
				exp[a.ID] = true
			}
		}
		return preparedMsg{seq: seq, r: r, ix: ix, expanded: exp, perRule: per, files: files}
	}
}

// applySnapshot shows an indexed snapshot, keeping the tree's selection,
// and filters and searches it again.
func (m *Model) applySnapshot(msg preparedMsg) tea.Cmd {
	if msg.seq <= m.load.applied {
		return nil // an older snapshot finished indexing late
	}
	m.load.applied = msg.seq
	var selKey string
	if p := m.tree.Selected(); p != nil {
		selKey = procKey(p)
	}
	m.res, m.index, m.totalPerRule, m.load.files = msg.r, msg.ix, msg.perRule, msg.files
	m.tree.SetData(m.roots(), msg.ix, msg.expanded, len(msg.r.Hosts) > 1)
	if selKey != "" {
		for _, p := range msg.r.Processes {
			if procKey(p) == selKey {
				m.tree.Select(p)
				break
			}
		}
	}
	m.rules.SetRules(msg.r.Loaded)
	m.refreshProblems()
	m.detail.Refresh()
	cmds := []tea.Cmd{m.refilter()}
	if s := m.search.result; s != nil {
		cmds = append(cmds, m.startSearch(s.query))
	}
	// The timeline's window may hold more now, and its findings are the
	// snapshot's.
	cmds = append(cmds, m.timeline.load(m.cfg.Context, m.res, m.ev))
	return tea.Batch(cmds...)
}

// loaderMsg wraps what the background loader reports.
type loaderMsg struct {
	ch  <-chan tea.Msg
	msg tea.Msg
}

// progressMsg reports reading progress of one input.
type progressMsg struct {
	file, files int
	p           triage.Progress
}

// snapshotMsg carries the Result after another input was read.
type snapshotMsg struct {
	r       *triage.Result
	files   int  // inputs finished so far
	partial bool // taken while an input is still being read
}

// loadDoneMsg says every input has been read; errs are the inputs that
// could not be (the rest was still read).
type loadDoneMsg struct {
	errs []error
}

// progressEvery throttles progress reports to the screen.
const progressEvery = 50 * time.Millisecond

// Snapshots while a file is being read: the first after streamFirst, then
// never more often than streamEvery nor than streamCost times the time the
// last one took to build, so that building them costs loading at most
// about a fifth of its time.
const (
	streamFirst = 500 * time.Millisecond
	streamEvery = time.Second
	streamCost  = 4
)

// stream sends Result snapshots of what has been read so far until stop
// is closed, so that the screen fills in while a big file loads. It waits
// on clk, which tests drive.
func stream(ctx context.Context, clk clock, h reader, done int, stop <-chan struct{}, send func(tea.Msg) bool) {
	wait := streamFirst
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-clk.after(wait):
		}
		start := clk.now()
		r := h.Result()
		wait = max(streamEvery, streamCost*clk.now().Sub(start))
		if !send(snapshotMsg{r: r, files: done, partial: true}) {
			return
		}
	}
}

// reader is what the loader reads inputs with: a triage.Hunter over
// logs, a triage.ExportSet over exports.
type reader interface {
	AddFile(ctx context.Context, path string, progress func(triage.Progress)) error
	Result() *triage.Result
}

// startLoad returns the command that starts reading inputs in the
// background (exports: evtriage exports read back). The loader reports
// progress, a Result snapshot after each input, and the end; it stops
// when ctx is cancelled.
func startLoad(ctx context.Context, clk clock, opts triage.Options, inputs []Input, exports bool) tea.Cmd {
	return func() tea.Msg {
		ch := make(chan tea.Msg, 16)
		go load(ctx, clk, opts, inputs, exports, ch)
		return waitLoader(ch)()
	}
}

// waitLoader waits for the loader's next report.
func waitLoader(ch <-chan tea.Msg) tea.Cmd {
	return func() tea.Msg {
		m, ok := <-ch
		if !ok {
			return nil
		}
		return loaderMsg{ch: ch, msg: m}
	}
}

func load(ctx context.Context, clk clock, opts triage.Options, inputs []Input, exports bool, ch chan<- tea.Msg) {
	defer close(ch)
	send := func(m tea.Msg) bool {
		select {
		case ch <- m:
			return true
		case <-ctx.Done():
			return false
		}
	}
	var h reader
	var hunter *triage.Hunter
	var xs *triage.ExportSet
	// snapshot is the Result after each input: for exports, rebuilt only
	// once enough is new (ExportSet.Snapshot: a fleet is many small
	// files), and final after the last.
	snapshot := func(last bool) *triage.Result { return h.Result() }
	if exports {
		xs = triage.NewExportSet(opts.Provenance)
		h = xs
		snapshot = func(last bool) *triage.Result {
			if last {
				return xs.Finish()
			}
			return xs.Snapshot()
		}
	} else {
		hunter = triage.NewHunter(opts)
		h = hunter
	}
	var errs []error
	for i, in := range inputs {
		if ctx.Err() != nil {
			return
		}
		last := time.Time{}
		progress := func(p triage.Progress) {
			if now := clk.now(); p.Done || now.Sub(last) >= progressEvery {
				last = now
				send(progressMsg{file: i, files: len(inputs), p: p})
			}
		}
		stop := make(chan struct{})
		streamed := make(chan struct{})
		go func() {
			defer close(streamed)
			stream(ctx, clk, h, i, stop, send)
		}()
		var err error
		switch {
		case in.Path != "":
			err = h.AddFile(ctx, in.Path, progress)
		case hunter != nil:
			err = hunter.AddReader(ctx, in.Name, bytes.NewReader(in.Data), int64(len(in.Data)), progress)
		default:
			err = fmt.Errorf("an export is read from a file")
		}
		close(stop)
		<-streamed
		if err != nil {
			name := in.Name
			if name == "" {
				name = in.Path
			}
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		if !send(snapshotMsg{r: snapshot(i == len(inputs)-1), files: i + 1}) {
			return
		}
	}
	send(loadDoneMsg{errs: errs})
}
