package tui

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	tea "charm.land/bubbletea/v2"

	"github.com/evtriage/evtriage/internal/outfile"
	"github.com/evtriage/evtriage/internal/termsafe"
	"github.com/evtriage/evtriage/rules"
	"github.com/evtriage/evtriage/triage"
)

// CaseConfig is the case the screen keeps the analyst's marks in.
type CaseConfig struct {
	// Path is the case file; "" keeps marks for this session only (the
	// screen says so when a mark is made).
	Path string
	// Fallback is where the case goes when Path's folder cannot be written
	// (evidence on a read-only mount); "" when Path is the only place
	// (--case).
	Fallback string
	// Case is the case as read (nil: a new, empty one).
	Case *triage.Case
	// Err says why the case file could not be read: marks are then off,
	// and the file is never written over.
	Err error
}

// caseState is the case as the screen keeps it: the marks (an immutable
// triage.Case, replaced on each change), where it is written, and the
// writes in flight.
type caseState struct {
	c        *triage.Case
	path     string // where it is written; "" not saved
	fallback string
	err      error // unreadable case file: marks are off
	saving   bool  // a write is in flight
	again    bool  // a change came while it was: write once more
	unsaved  error // the last write failed: the marks on screen are not all in the file
	warned   bool  // q was pressed once with marks unsaved
	matched  int   // marks that name something of these logs (-1: not counted yet)
}

func newCaseState(cfg CaseConfig) caseState {
	return caseState{c: cfg.Case, path: cfg.Path, fallback: cfg.Fallback, err: cfg.Err, matched: -1}
}

// dest says where marks go, for the overlays.
func (c *caseState) dest() string {
	if c.path == "" {
		return "(not saved: no case file)"
	}
	return "to " + termsafe.Clean(c.path)
}

// markLookup finds the marks of what the screen shows: the case, and the
// Result the processes belong to (their keys need it).
type markLookup struct {
	c *triage.Case
	r *triage.Result
}

// finding returns f's own mark, else its process's (own false).
func (l markLookup) finding(f *triage.Finding) (m triage.Mark, own, ok bool) {
	if l.c.Len() == 0 || f == nil {
		return triage.Mark{}, false, false
	}
	if m, ok := l.c.FindingMark(f); ok {
		return m, true, true
	}
	if l.r != nil && f.Process != nil {
		if m, ok := l.c.ProcessMark(l.r, f.Process); ok {
			return m, false, true
		}
	}
	return triage.Mark{}, false, false
}

// process returns p's mark.
func (l markLookup) process(p *triage.Process) (triage.Mark, bool) {
	if l.c.Len() == 0 || l.r == nil || p == nil || p.ID >= len(l.r.Processes) || l.r.Processes[p.ID] != p {
		return triage.Mark{}, false // an activity-only process made on demand has no key
	}
	return l.c.ProcessMark(l.r, p)
}

// syncMarks gives every component the case as it is now, and filters
// again when marks hide findings.
func (m *Model) syncMarks() tea.Cmd {
	look := markLookup{c: m.cs.c, r: m.res}
	m.table.SetMarks(look)
	m.tree.SetMarks(look)
	m.hosts.SetMarks(m.cs.c.ByComputer())
	m.detail.Refresh()
	changed := m.filter.Case != m.cs.c
	m.filter.Case = m.cs.c
	if changed && m.filter.HideDismissed {
		return m.refilter()
	}
	return nil
}

// startMark opens the mark overlay on the selection.
func (m *Model) startMark() {
	if m.cs.err != nil {
		m.setMessage("marks are off: "+termsafe.Clean(m.cs.err.Error())+" (fix or move that file, or start with --case NEWFILE)", true)
		return
	}
	look := markLookup{c: m.cs.c, r: m.res}
	switch s := m.selection().(type) {
	case *triage.Finding:
		cur, own, has := look.finding(s)
		what := []string{termsafe.Clean(s.Rule.Title), findingWhat(m.zone, s)}
		if has && !own {
			what = append(what, "its process is marked "+markText(m.zone, cur)+"; this marks the finding itself")
			has = false
		}
		m.markBox.open(m.zone, markTarget{finding: s}, what, cur, has, m.cs.dest())
	case *triage.Process:
		cur, has := look.process(s)
		m.markBox.open(m.zone, markTarget{process: s}, []string{procLabel(s) + " on " + termsafe.Clean(s.Host) + ", created " +
			m.zone.full(s.Created), termsafe.CleanLimit(s.CommandLine, 300)}, cur, has, m.cs.dest())
	default:
		m.setMessage("select a finding (1) or a process (2) to mark", true)
		return
	}
	m.openOverlay(overlayMark)
}

// findingWhat says which process and event a finding is about, on one
// line, its time in z.
func findingWhat(z zone, f *triage.Finding) string {
	s := ""
	if p := f.Process; p != nil {
		s = procLabel(p) + " on " + termsafe.Clean(p.Host)
	} else if f.Event != nil && f.Event.Event != nil {
		s = termsafe.Clean(f.Event.Event.Computer)
	}
	return s + ", " + z.full(findingTime(f))
}

// applyMark records the overlay's verdict and note, and writes the case.
func (m *Model) applyMark() tea.Cmd {
	v, note := m.markBox.value()
	mk := triage.Mark{Verdict: v, Note: note, Marked: m.cfg.Now().UTC()}
	t := m.markBox.target
	var e triage.CaseEntry
	switch {
	case t.finding != nil:
		e = triage.FindingEntry(t.finding, mk)
	case t.process != nil && m.res != nil:
		e = m.res.ProcessEntry(t.process, mk)
	default:
		return nil
	}
	return m.changeCase(m.cs.c.With(e), "marked "+v.Title())
}

// changeCase installs c and writes it; what says what changed.
func (m *Model) changeCase(c *triage.Case, what string) tea.Cmd {
	if v := strings.TrimPrefix(what, "marked "); v == triage.VerdictNone.Title() {
		what = "mark cleared"
	}
	m.cs.c = c
	cmd := m.syncMarks()
	if m.cs.path == "" {
		m.setMessage(what+" — not saved: the built-in demo log has no case file (--case FILE keeps marks)", false)
		return cmd
	}
	m.setMessage(what+" — saving…", false)
	return tea.Batch(cmd, m.saveCase())
}

// saveCase writes the case now, or once the write in flight is done.
func (m *Model) saveCase() tea.Cmd {
	if m.cs.saving {
		m.cs.again = true
		return nil
	}
	m.cs.saving, m.cs.again = true, false
	c, path, fallback := m.cs.c, m.cs.path, m.cs.fallback
	return func() tea.Msg { return saveCase(c, path, fallback) }
}

// caseSavedMsg reports a write of the case file: where it went (the
// fallback when the first place could not be written: moved says why).
type caseSavedMsg struct {
	path  string
	moved error
	err   error
}

// saveCase writes c to path, or to fallback when path's folder cannot be
// written.
func saveCase(c *triage.Case, path, fallback string) caseSavedMsg {
	err := c.Save(path)
	if err != nil && fallback != "" && notWritable(err) {
		if ferr := os.MkdirAll(filepath.Dir(fallback), 0o700); ferr == nil {
			if ferr = c.Save(fallback); ferr == nil {
				return caseSavedMsg{path: fallback, moved: err}
			}
		}
	}
	return caseSavedMsg{path: path, err: err}
}

// notWritable reports an error that says a folder cannot be written to.
func notWritable(err error) bool {
	return errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) || errors.Is(err, fs.ErrNotExist)
}

// whyNotWritable says in words why a folder could not be written to.
func whyNotWritable(err error) string {
	switch {
	case errors.Is(err, syscall.EROFS):
		return "its folder is on a read-only file system"
	case errors.Is(err, fs.ErrPermission):
		return "its folder is not writable"
	case errors.Is(err, fs.ErrNotExist):
		return "its folder does not exist"
	}
	return err.Error()
}

// caseSaved follows a write of the case file.
func (m *Model) caseSaved(msg caseSavedMsg) tea.Cmd {
	m.cs.saving = false
	if msg.err != nil {
		m.cs.unsaved = msg.err
		m.setMessage("marks NOT saved: "+termsafe.Clean(msg.err.Error())+" (the next change tries again)", true)
	} else {
		m.cs.unsaved, m.cs.warned = nil, false
		if msg.moved != nil {
			m.cfg.Notes = append(m.cfg.Notes, fmt.Sprintf("case file: %s cannot be written (%s): the case is kept in %s",
				m.cs.path, whyNotWritable(msg.moved), msg.path))
			m.cs.path, m.cs.fallback = msg.path, ""
			m.setMessage("the evidence folder is not writable: marks saved to "+termsafe.Clean(msg.path), false)
			m.refreshProblems()
		} else if strings.HasSuffix(m.message, "saving…") {
			m.setMessage(strings.TrimSuffix(m.message, "saving…")+"saved to "+termsafe.Clean(msg.path), false)
		}
	}
	if m.cs.again {
		return m.saveCase()
	}
	return nil
}

// caseMatchedMsg says how many of the case's marks name something of the
// loaded logs.
type caseMatchedMsg struct {
	res *triage.Result
	n   int
}

// countMatched counts, in the background, the marks that apply to r.
func (m *Model) countMatched() tea.Cmd {
	c, r := m.cs.c, m.res
	if c.Len() == 0 || r == nil {
		return nil
	}
	return func() tea.Msg { return caseMatchedMsg{res: r, n: c.Matched(r)} }
}

// caseMatched notes a case file whose marks name nothing in these logs.
func (m *Model) caseMatched(msg caseMatchedMsg) {
	if msg.res != m.res {
		return
	}
	m.cs.matched = msg.n
	if msg.n == 0 && m.cs.c.Len() > 0 {
		note := fmt.Sprintf("case file %s holds %d marks, none of them of these logs (another case's file?): nothing was applied; new marks are added to it",
			m.cs.path, m.cs.c.Len())
		m.cfg.Notes = append(m.cfg.Notes, note)
		m.setMessage(termsafe.Clean(note), true)
		m.refreshProblems()
	}
}

// startFalsePositive starts W on the selected finding: the rules folder
// first when the case has none, then the filter for confirmation.
func (m *Model) startFalsePositive() {
	f, ok := m.selection().(*triage.Finding)
	switch {
	case m.cs.err != nil:
		m.setMessage("marks are off: "+termsafe.Clean(m.cs.err.Error()), true)
		return
	case !ok:
		m.setMessage("select a finding (1) to write its false-positive filter", true)
		return
	case m.load.running:
		m.setMessage("wait until every input is read: the rules are reloaded with the filter", true)
		return
	}
	fp, err := triage.FalsePositiveFilter(f, m.noteOf(f), m.cfg.Now())
	if err != nil {
		m.setMessage(termsafe.Clean(err.Error()), true)
		return
	}
	if slices.Contains(f.Suppressed, "filter:"+fp.Name) {
		m.setMessage("this finding's filter is loaded already (filter:"+fp.Name+"); r switches it", true)
		return
	}
	if dir := m.cs.c.RulesFolder(); dir != "" {
		m.fpBox.confirm(f, fp, dir)
	} else {
		suggest := "evtriage-filters"
		if m.cs.path != "" {
			suggest = filepath.Join(filepath.Dir(m.cs.path), "evtriage-filters")
		}
		m.fpBox.askFolder(f, suggest)
	}
	m.openOverlay(overlayFilter)
}

// noteOf is f's mark's note ("" when none).
func (m *Model) noteOf(f *triage.Finding) string {
	if mk, _, ok := (markLookup{c: m.cs.c, r: m.res}).finding(f); ok {
		return mk.Note
	}
	return ""
}

// fpEnter goes on from the filter overlay: the folder named, or the
// filter confirmed.
func (m *Model) fpEnter() tea.Cmd {
	b := &m.fpBox
	if b.stage == fpFolder {
		dir := strings.TrimSpace(b.folder.Value())
		if dir == "" {
			m.setMessage("name a folder for the filter rules", true)
			return nil
		}
		return func() tea.Msg { return prepareFolder(dir) }
	}
	m.overlay = overlayNone
	f, fp, dir := b.finding, b.fp, b.dir
	var cmds []tea.Cmd
	if mk, own, ok := (markLookup{c: m.cs.c, r: m.res}).finding(f); !ok || !own || mk.Verdict != triage.VerdictFalsePositive {
		cmds = append(cmds, m.changeCase(m.cs.c.With(triage.FindingEntry(f, triage.Mark{Verdict: triage.VerdictFalsePositive,
			Note: mk.Note, Marked: m.cfg.Now().UTC()})), "marked false positive"))
	}
	m.setMessage("writing the filter…", false)
	load, r := m.cfg.RuleLoad, m.res
	cmds = append(cmds, func() tea.Msg { return writeFilter(load, r, f, fp, dir) })
	return tea.Batch(cmds...)
}

// folderMsg reports the rules folder prepared: made if missing.
type folderMsg struct {
	dir string
	err error
}

// prepareFolder makes dir (absolute) exist as a folder.
func prepareFolder(dir string) folderMsg {
	abs, err := filepath.Abs(dir)
	if err == nil {
		err = os.MkdirAll(abs, 0o755)
	}
	if err == nil {
		var fi os.FileInfo
		if fi, err = os.Stat(abs); err == nil && !fi.IsDir() {
			err = fmt.Errorf("%s is not a folder", abs)
		}
	}
	return folderMsg{dir: abs, err: err}
}

// folderReady remembers the rules folder in the case and shows the filter.
func (m *Model) folderReady(msg folderMsg) tea.Cmd {
	if msg.err != nil {
		m.setMessage("rules folder: "+termsafe.Clean(msg.err.Error()), true)
		return nil
	}
	b := &m.fpBox
	fp, err := triage.FalsePositiveFilter(b.finding, m.noteOf(b.finding), m.cfg.Now())
	if err != nil {
		m.setMessage(termsafe.Clean(err.Error()), true)
		return nil
	}
	cmd := m.changeCase(m.cs.c.WithRulesFolder(msg.dir), "filter rules go to "+termsafe.Clean(msg.dir))
	b.confirm(b.finding, fp, msg.dir)
	m.overlay = overlayFilter
	return cmd
}

// filterWrittenMsg reports a filter written and the rules reloaded with
// it: the Result judged by them, or why not.
type filterWrittenMsg struct {
	path  string
	ident string
	load  rules.LoadOptions
	set   *rules.Set
	res   *triage.Result
	err   error
}

// writeFilter writes fp into dir under a name no file has (never over
// one), reloads the rules with dir, and judges r by them; a filter our
// engine refuses, or that does not take f out, is removed again.
func writeFilter(load rules.LoadOptions, r *triage.Result, f *triage.Finding, fp *triage.FalsePositive, dir string) filterWrittenMsg {
	base := strings.TrimSuffix(fp.File, ".yml")
	out, err := outfile.CreateUnique(dir, func(n int) string {
		if n == 1 {
			return fp.File
		}
		return fmt.Sprintf("%s_%d.yml", base, n)
	}, 0o644)
	if err == nil {
		if _, err = out.Write(fp.YAML); err == nil {
			err = out.Commit()
		} else {
			out.Abort()
		}
	}
	if err != nil {
		return filterWrittenMsg{err: fmt.Errorf("write the filter: %w", err)}
	}
	path := out.Name()
	if !slices.ContainsFunc(load.Paths, func(p string) bool { return samePath(p, dir) }) {
		load.Paths = append(slices.Clone(load.Paths), dir)
	}
	set := rules.Load(load)
	for _, rj := range slices.Concat(set.Rejected(), set.Skipped()) {
		if samePath(rj.Path, path) {
			os.Remove(path)
			return filterWrittenMsg{err: fmt.Errorf("the filter was refused (%s); it was removed", rj.Reason)}
		}
	}
	res := r.WithRules(set)
	ident := "filter:" + fp.Name
	key := triage.FindingKey(f)
	for _, g := range res.Findings {
		if triage.FindingKey(g) == key && g.Rule != nil && g.Rule.ID == f.Rule.ID && !slices.Contains(g.Suppressed, ident) {
			os.Remove(path)
			return filterWrittenMsg{err: errors.New("the filter does not take the finding out (a value the file cannot hold?); it was removed")}
		}
	}
	return filterWrittenMsg{path: path, ident: ident, load: load, set: set, res: res}
}

// samePath reports whether two paths name the same file or folder.
func samePath(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// filterWritten installs the rules reloaded with a new filter and the
// Result they judge, as a new snapshot: the finding is gone.
func (m *Model) filterWritten(msg filterWrittenMsg) tea.Cmd {
	if msg.err != nil {
		m.setMessage(termsafe.Clean(msg.err.Error()), true)
		return nil
	}
	m.cfg.RuleLoad = msg.load
	m.cfg.Hunt.Rules = msg.set
	hidden := 0
	for _, f := range msg.res.Findings {
		if slices.Contains(f.Suppressed, msg.ident) {
			hidden++
		}
	}
	m.setMessage(fmt.Sprintf("wrote %s — %s hides %d finding%s (r lists it under its rule)",
		termsafe.Clean(filepath.Base(msg.path)), msg.ident, hidden, plural(hidden)), false)
	m.load.received++
	return prepare(m.load.received, m.load.files, m.load.complete, msg.res, m.expandedKeys())
}

// hostMarks counts the case's marks naming host, by verdict.
func (m *Model) hostMarks(host string) map[triage.Verdict]int {
	out := map[triage.Verdict]int{}
	for _, e := range m.cs.c.Entries() {
		if e.Key.Computer == host {
			out[e.Mark.Verdict]++
		}
	}
	return out
}
