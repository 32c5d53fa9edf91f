package tui

import (
	"fmt"

	tea "charm.land/bubbletea/v2"

	"github.com/evtriage/evtriage/internal/outfile"
	"github.com/evtriage/evtriage/triage"
)

// exportName returns the n-th candidate name of an export:
// evtriage-<what>-<time>.json, then -2, -3….
func exportName(what, stamp string) func(n int) string {
	return func(n int) string {
		if n == 1 {
			return fmt.Sprintf("evtriage-%s-%s.json", what, stamp)
		}
		return fmt.Sprintf("evtriage-%s-%s-%d.json", what, stamp, n)
	}
}

// exportCmd writes an export the way hunt -o does (triage.WriteExport
// through internal/outfile: a temporary file in dir, synced, then given
// the first free name, so that two exports in the same second never
// overwrite each other or any other file). An export taken while the logs
// are still loading says so ("complete": false).
func exportCmd(dir, what, stamp string, r *triage.Result, findings []*triage.Finding, loading bool) tea.Cmd {
	return func() tea.Msg {
		if loading {
			snap := *r
			snap.Incomplete = true
			r = &snap
		}
		out, err := outfile.CreateUnique(dir, exportName(what, stamp), 0o600)
		if err == nil {
			if err = triage.WriteExport(out, r, findings, triage.FormatJSON); err == nil {
				err = out.Commit()
			} else {
				out.Abort()
			}
		}
		if err != nil {
			return exportedMsg{n: len(findings), err: fmt.Errorf("tui: export: %w", err)}
		}
		return exportedMsg{path: out.Name(), n: len(findings)}
	}
}

func (m *Model) stamp() string { return m.cfg.Now().UTC().Format("20060102-150405") }

// exportShown writes the findings as currently filtered and sorted.
func (m *Model) exportShown() tea.Cmd {
	if m.res == nil {
		m.setMessage("nothing loaded yet", true)
		return nil
	}
	m.setMessage("exporting…", false)
	return exportCmd(m.cfg.ExportDir, "findings", m.stamp(), m.res, m.table.Rows(), m.load.running)
}

// exportSubtree writes the shown findings of the selected process and its
// descendants (in the tree view) or of the selected finding's process.
func (m *Model) exportSubtree() tea.Cmd {
	var root *triage.Process
	if m.view == viewTree {
		root = m.tree.Selected()
	} else if f := m.table.Selected(); f != nil {
		root = f.Process
	}
	if root == nil || m.res == nil {
		m.setMessage("select a process first", true)
		return nil
	}
	m.setMessage("exporting…", false)
	r, visible, limit := m.res, m.shown.visible, len(m.res.Processes)
	dir, stamp, loading := m.cfg.ExportDir, m.stamp(), m.load.running
	what := fmt.Sprintf("subtree-%d", root.PID)
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
		return exportCmd(dir, what, stamp, r, out, loading)()
	}
}
