package tui

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/evtriage/evtriage/internal/termsafe"
	"github.com/evtriage/evtriage/internal/winpath"
	"github.com/evtriage/evtriage/rules"
	"github.com/evtriage/evtriage/triage"
)

// Input is one log to hunt in: a file on disk, or bytes in memory (the
// built-in demo log).
type Input struct {
	Name string // shown on screen and recorded as the source's path
	Path string // file to read; empty when Data is set
	Data []byte
	// Err, when set, says why Path gives nothing to read (it does not
	// exist, it is a pipe, a folder holds no .evtx file…): the hunt
	// records it as a source with that problem, as hunt does, so that
	// the problems view and the exports list it.
	Err error
}

// name is how the input is named in messages.
func (in Input) name() string {
	if in.Name != "" {
		return in.Name
	}
	return in.Path
}

// loadState is the background loading as the screen follows it.
type loadState struct {
	running   bool        // inputs are still being read
	finishing bool        // every input is read; the final Result is being built
	progress  progressMsg // the latest progress report
	files     int         // inputs finished, as of the snapshot shown
	errs      []error     // inputs that could not be read completely
	received  int         // snapshots received
	applied   int         // sequence number of the snapshot shown
	complete  bool        // the final Result is shown
	// resume is the selection while the final Result is built (release).
	resume *resumePoint
}

// partial reports whether what is shown is a snapshot taken while inputs
// were still being read (an export of it says so).
func (l *loadState) partial() bool { return !l.complete }

// resumePoint is the selection the screen had when it let go of its last
// snapshot (release), restored on the final Result.
type resumePoint struct {
	finding findingKey
	proc    processKey
	hasProc bool
}

// indexing reports whether a snapshot received is still being indexed.
func (l *loadState) indexing() bool { return l.received > l.applied }

// text says what is being read.
func (l *loadState) text() string {
	if !l.running {
		return "nothing was read"
	}
	if l.finishing {
		return "building the process tree…"
	}
	p := l.progress.p
	s := "reading"
	if l.progress.files > 0 {
		s += fmt.Sprintf(" %d/%d", l.progress.file+1, l.progress.files)
	}
	if p.File != "" {
		s += " " + termsafe.Clean(winpath.Base(p.File))
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
	case finishingMsg:
		m.load.finishing = true
		m.release()
	case snapshotMsg:
		m.load.received++
		return prepare(m.load.received, msg.files, msg.final, msg.r, m.expandedKeys())
	case loadDoneMsg:
		m.load.running = false
		m.load.errs = msg.errs
		if len(msg.errs) > 0 {
			m.setMessage(fmt.Sprintf("%d input(s) could not be read completely — p shows the problems", len(msg.errs)), true)
		}
		m.refreshProblems()
		return m.countMatched()
	default:
		m.handleFollow(msg)
	}
	return nil
}

// expandedKeys names the expanded processes of the tree, to expand them
// again in the next snapshot.
func (m *Model) expandedKeys() map[processKey]bool {
	keep := make(map[processKey]bool)
	for id, e := range m.tree.Expanded() {
		if e && m.res != nil && id < len(m.res.Processes) {
			keep[procKey(m.res.Processes[id])] = true
		}
	}
	return keep
}

// preparedMsg is a snapshot indexed for display, built in a tea.Cmd.
type preparedMsg struct {
	seq      int
	r        *triage.Result
	ix       treeIndex
	expanded []bool
	perRule  map[*rules.Rule]int
	labels   labels
	files    int
	final    bool
	hosts    []hostRow
}

// processKey identifies a process across snapshots (whose Process values
// and IDs are new each time).
type processKey struct {
	host    string
	guid    triage.GUID
	pid     uint32
	created int64
}

// procKey is p's processKey: host and GUID for Sysmon processes, host, pid
// and creation time for the others.
func procKey(p *triage.Process) processKey {
	if !p.GUID.IsZero() {
		return processKey{host: p.Host, guid: p.GUID}
	}
	return processKey{host: p.Host, pid: p.PID, created: p.Created.UnixNano()}
}

// prepare indexes a snapshot: tree order, expansion (what was expanded
// before, plus the ancestors of every finding), per-rule totals.
func prepare(seq, files int, final bool, r *triage.Result, keep map[processKey]bool) tea.Cmd {
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
		return preparedMsg{seq: seq, r: r, ix: ix, expanded: exp, perRule: per, labels: newLabels(r), files: files, final: final,
			hosts: hostRows(r)}
	}
}

// applySnapshot shows an indexed snapshot and filters and searches it
// again. Until the user moves in the tree its cursor stays on the first
// row; once they have, it stays on their process, at the same line of the
// pane, however many rows the snapshot adds above it.
func (m *Model) applySnapshot(msg preparedMsg) tea.Cmd {
	if msg.seq <= m.load.applied {
		return nil // an older snapshot finished indexing late
	}
	m.load.applied = msg.seq
	m.load.complete = m.load.complete || msg.final
	var key processKey
	sel, line := m.tree.Selected(), m.tree.cursor-m.tree.top
	if sel != nil {
		key = procKey(sel)
	} else if r := m.load.resume; r != nil && r.hasProc {
		sel, key = &triage.Process{}, r.proc
	}
	m.res, m.index, m.totalPerRule, m.load.files = msg.r, msg.ix, msg.perRule, msg.files
	m.table.SetLabels(msg.labels)
	m.hosts.SetLabels(msg.labels)
	m.files.SetLabels(msg.labels)
	m.tree.SetData(m.sections(), msg.ix, msg.expanded, len(msg.r.Hosts) > 1)
	if sel != nil && m.tree.moved {
		for _, p := range msg.r.Processes {
			if procKey(p) == key {
				m.tree.selectAt(p, line)
				break
			}
		}
	}
	m.rules.SetRules(msg.r.Loaded)
	m.hosts.SetData(msg.hosts)
	m.files.SetData(msg.r.Sources)
	m.syncMarks()
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

// release lets go of the snapshot shown while Finish builds the final
// Result, so that the two are never in memory together (the screen shows
// the loading line meanwhile). The selection is remembered by key and
// restored on the final Result; work still under way on the snapshot
// (indexing, filtering) is discarded when it arrives.
func (m *Model) release() {
	if m.res == nil {
		return
	}
	r := &resumePoint{}
	if f := m.table.Selected(); f != nil {
		r.finding = keyOf(f)
	}
	if p := m.tree.Selected(); p != nil {
		r.proc, r.hasProc = procKey(p), true
	}
	m.load.resume = r
	m.load.applied = m.load.received
	m.res, m.index = nil, treeIndex{}
	m.table.release()
	m.tree.release()
	m.shown.gen++
	m.shown.running = false
	m.shown.filtered = filtered{gen: m.shown.gen}
	m.detail.Show(nil, nil)
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

// snapshotMsg carries a Result of what has been read so far, or the final
// one.
type snapshotMsg struct {
	r       *triage.Result
	files   int  // inputs finished so far
	partial bool // taken while an input is still being read
	final   bool // Finish's: every input is read
}

// finishingMsg says every input is read and the final Result is being
// built.
type finishingMsg struct{}

// loadDoneMsg says every input has been read; errs are the inputs that
// could not be (the rest was still read).
type loadDoneMsg struct {
	errs []error
}

// progressEvery throttles progress reports to the screen, across files:
// a folder of thousands of small logs sends one report per period, not
// one per file.
const progressEvery = 50 * time.Millisecond

// Snapshots while inputs are read: the first after streamFirst, then never
// more often than streamEvery nor than streamCost times the time the last
// one took to build, so that building them costs loading at most about a
// fifth of its time. Besides the clock, the loader asks for a snapshot
// after each input; triage.Hunter.Snapshot builds one only when enough was
// read since the last (work done, not files), so that many small files
// cost a few snapshots, not one each.
const (
	streamFirst = 500 * time.Millisecond
	streamEvery = time.Second
	streamCost  = 4
)

// reader is what the loader reads inputs with: a triage.Hunter over
// logs, a triage.ExportSet over exports. Both build snapshots as the work
// done grows (Snapshot) and a final Result that releases what was kept
// for reading (Finish).
type reader interface {
	AddFile(ctx context.Context, path string, progress func(triage.Progress)) error
	AddProblem(path string, err error)
	Snapshot() *triage.Result
	Finish() *triage.Result
}

// snapshotter sends the reader's snapshots to the screen, each one once,
// in the order they were built, from the loader and its clock alike.
type snapshotter struct {
	h    reader
	send func(tea.Msg) bool
	mu   sync.Mutex
	last *triage.Result
	done int // inputs finished
}

// offer sends the reader's snapshot when it is a new one; it reports
// false when the screen no longer listens.
func (s *snapshotter) offer(partial bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.h.Snapshot()
	if r == nil || r == s.last {
		return true
	}
	s.last = r
	return s.send(snapshotMsg{r: r, files: s.done, partial: partial})
}

// finished records that one more input was read.
func (s *snapshotter) finished() {
	s.mu.Lock()
	s.done++
	s.mu.Unlock()
}

// stream offers snapshots on the clock until stop is closed, so that the
// screen fills in while a big file loads. It waits on clk, which tests
// drive.
func stream(ctx context.Context, clk clock, s *snapshotter, stop <-chan struct{}) {
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
		if !s.offer(true) {
			return
		}
		wait = max(streamEvery, streamCost*clk.now().Sub(start))
	}
}

// startLoad returns the command that starts reading inputs in the
// background (exports: evtriage exports read back). The loader reports
// progress, snapshots, the final Result and the end; it stops when ctx is
// cancelled.
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

// load reads the inputs into one reader (a Hunter, or an ExportSet for
// exports): snapshots while it reads (the clock's and, when enough was
// read, after an input), then Finish, which releases the reader's
// bookkeeping as it builds the final Result.
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
	if exports {
		h = triage.NewExportSet(opts.Provenance)
	} else {
		hunter = triage.NewHunter(opts)
		h = hunter
	}
	snaps := &snapshotter{h: h, send: send}
	stop := make(chan struct{})
	streamed := make(chan struct{})
	go func() {
		defer close(streamed)
		stream(ctx, clk, snaps, stop)
	}()
	var once sync.Once
	stopStream := func() { once.Do(func() { close(stop); <-streamed }) }
	defer stopStream()
	var errs []error
	last := time.Time{}
	for i, in := range inputs {
		if ctx.Err() != nil {
			return
		}
		progress := func(p triage.Progress) {
			if now := clk.now(); now.Sub(last) >= progressEvery {
				last = now
				send(progressMsg{file: i, files: len(inputs), p: p})
			}
		}
		var err error
		switch {
		case in.Err != nil:
			h.AddProblem(in.Path, in.Err)
			err = in.Err
		case in.Path != "":
			err = h.AddFile(ctx, in.Path, progress)
		case hunter != nil:
			err = hunter.AddReader(ctx, in.Name, bytes.NewReader(in.Data), int64(len(in.Data)), progress)
		default:
			err = fmt.Errorf("an export is read from a file")
		}
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", in.name(), err))
		}
		snaps.finished()
		// After the last input comes Finish, not one more snapshot.
		if i+1 < len(inputs) && !snaps.offer(false) {
			return
		}
	}
	stopStream()
	if !send(finishingMsg{}) {
		return
	}
	r := h.Finish()
	if send(snapshotMsg{r: r, files: len(inputs), final: true}) {
		send(loadDoneMsg{errs: errs})
	}
}
