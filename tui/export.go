package tui

import (
	"fmt"

	tea "charm.land/bubbletea/v2"

	"github.com/evtriage/evtriage/internal/outfile"
	"github.com/evtriage/evtriage/internal/termsafe"
	"github.com/evtriage/evtriage/triage"
)

// exportName returns the n-th candidate name of an export:
// evtriage-<what>-<time><ext>, then -2, -3…; Timesketch's JSON Lines end
// in -timesketch.jsonl, apart from evtriage's own.
func exportName(what, stamp string, format triage.Format) func(n int) string {
	base := fmt.Sprintf("evtriage-%s-%s", what, stamp)
	if format == triage.FormatTimesketch {
		base += "-timesketch"
	}
	return func(n int) string {
		if n == 1 {
			return base + format.Ext()
		}
		return fmt.Sprintf("%s-%d%s", base, n, format.Ext())
	}
}

// exportJob is one export the screen writes: the findings, how they were
// chosen, and where and how to write them.
type exportJob struct {
	dir, what, stamp string
	taken            string // when, as the screen shows times (following)
	format           triage.Format
	r                *triage.Result
	findings         []*triage.Finding
	sel              triage.Selection
	loading          bool      // logs are still being read
	following        bool      // logs are being followed (loading too)
	out              *writing  // the screen's files being written
	cs               caseState // the marks as they are when the export is asked for
}

// exportCmd writes an export the way hunt -o does (triage.WriteExport
// through internal/outfile: a temporary file in dir, synced, then given
// the first free name, so that two exports in the same second never
// overwrite each other or any other file), registered with j.out so that
// quitting or a signal never leaves its temporary file behind. The export
// records the screen's filters (and the subtree's root) and the case's
// marks as they are now, and one taken while the logs are still loading
// says so ("complete": false), and so does the message on screen; all are
// set on a copy of the Result, which the screen goes on sharing.
func exportCmd(j exportJob) tea.Cmd {
	return func() tea.Msg {
		snap := *j.r
		snap.Incomplete = j.loading
		sel := j.sel
		snap.Selection = &sel
		if cs := j.cs; cs.c.Len() > 0 || cs.path != "" {
			snap.Case, snap.CasePath = cs.c, cs.path
			if snap.Case == nil {
				snap.Case = triage.NewCase("")
			}
		}
		msg := exportedMsg{n: len(j.findings), format: j.format, partial: j.loading, following: j.following,
			events: j.r.Events, files: len(j.r.Sources), taken: j.taken}
		msg.path, msg.err = writeFile(j.out, j.dir, "an export of "+countNoun(len(j.findings), "finding", "findings"),
			exportName(j.what, j.stamp, j.format),
			func(o *outfile.File) error { return triage.WriteExport(o, &snap, j.findings, j.format) })
		if msg.err != nil {
			msg.err = fmt.Errorf("tui: export: %w", msg.err)
			return msg
		}
		if j.format == triage.FormatTimesketch {
			msg.undated = len(triage.Undated(j.findings))
			msg.n -= msg.undated
		}
		return msg
	}
}

// exportedMsg reports a finished export.
type exportedMsg struct {
	path    string
	n       int // findings written
	undated int // findings left out: Timesketch cannot date them
	format  triage.Format
	partial bool // taken while the logs were still being read
	// following says the logs were being followed: the export covers
	// the events read from files when it was taken.
	following bool
	events    int    // events read when it was taken
	files     int    // sources read when it was taken
	taken     string // when it was taken, as the screen shows times
	err       error
}

// text is what the message line says about the export.
func (e exportedMsg) text() string {
	if e.err != nil {
		return "export failed: " + termsafe.Clean(e.err.Error())
	}
	s := fmt.Sprintf("wrote %s to %s", countNoun(e.n, "finding", "findings"), termsafe.Clean(e.path))
	switch {
	case e.following:
		s += fmt.Sprintf(" — taken while following: the %s events read from %s by %s (the file says \"complete\": false)",
			thousands(e.events), countNoun(e.files, "file", "files"), e.taken)
	case e.partial:
		s += fmt.Sprintf(" — taken while loading (%s events read so far; the file says \"complete\": false)", thousands(e.events))
	}
	if e.undated > 0 {
		s += fmt.Sprintf(" — %d without a time left out (Timesketch cannot date them; the JSON export holds them)", e.undated)
	}
	return s
}

func (m *Model) stamp() string { return m.cfg.Now().UTC().Format("20060102-150405") }

// openExport opens the export menu on the shown findings, or on the
// subtree of the selected process (E).
func (m *Model) openExport(subtree bool) {
	if m.res == nil {
		msg := "nothing loaded yet"
		if m.load.finishing {
			msg = "the process tree is being built: export in a moment"
		}
		m.setMessage(msg, true)
		return
	}
	root := m.exportRoot()
	if subtree && root == nil {
		m.setMessage("select a process first", true)
		return
	}
	m.exportMenu.Open(subtree, m.table.Len(), root, m.cfg.ExportDir, m.stamp())
	m.openOverlay(overlayExport)
}

// exportRoot is the process a subtree export starts at: the tree's
// selection, or the selected finding's process.
func (m *Model) exportRoot() *triage.Process {
	if m.view == viewTree {
		return m.tree.Selected()
	}
	if f := m.table.Selected(); f != nil {
		return f.Process
	}
	return nil
}

// job is an export of findings as the screen shows them now.
func (m *Model) job(what string, format triage.Format, findings []*triage.Finding, root *triage.Process) exportJob {
	return exportJob{dir: m.cfg.ExportDir, what: what, stamp: m.stamp(), format: format, r: m.res, findings: findings,
		sel: triage.Selection{Filter: m.filter.triage(), Screen: true, Subtree: root}, loading: m.load.partial(),
		following: m.follow.on, taken: m.zone.format(m.cfg.Now(), "15:04:05 MST"), out: m.out, cs: m.cs}
}

// exportShown writes the findings as currently filtered and sorted.
func (m *Model) exportShown(format triage.Format) tea.Cmd {
	if m.res == nil {
		m.setMessage("nothing loaded yet", true)
		return nil
	}
	m.setMessage("exporting…", false)
	return exportCmd(m.job(exportWhat(false, nil), format, m.table.Rows(), nil))
}

// exportSubtree writes the subtree of the selected process (in the tree
// view) or of the selected finding's process: all its processes with
// their activity (triage's Selection.Subtree), its root's ancestors, and
// the shown findings on them.
func (m *Model) exportSubtree(format triage.Format) tea.Cmd {
	root := m.exportRoot()
	if root == nil || m.res == nil {
		m.setMessage("select a process first", true)
		return nil
	}
	if root.ID < 0 || root.ID >= len(m.res.Processes) || m.res.Processes[root.ID] != root {
		m.setMessage("this process is known only from its activity: it has no subtree, finding or kept event to export", true)
		return nil
	}
	m.setMessage("exporting…", false)
	j := m.job(exportWhat(true, root), format, nil, root)
	visible, limit := m.shown.visible, len(m.res.Processes)
	return func() tea.Msg {
		var out []*triage.Finding
		seen := make(map[*triage.Process]bool)
		stack := []*triage.Process{root}
		for len(stack) > 0 && len(seen) <= limit {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[p] {
				continue
			}
			seen[p] = true
			for _, f := range p.Findings {
				if f.ID >= 0 && f.ID < len(visible) && visible[f.ID] {
					out = append(out, f)
				}
			}
			for _, c := range p.Children {
				if c != nil {
					stack = append(stack, c)
				}
			}
		}
		sortFindings(out, colTime, false)
		j.findings = out
		return exportCmd(j)()
	}
}
