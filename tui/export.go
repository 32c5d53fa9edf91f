package tui

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	tea "charm.land/bubbletea/v2"

	"github.com/evtriage/evtriage/triage"
)

// exportPath returns a file name in dir that does not exist yet:
// evtriage-<what>-<time>.json, with -2, -3… when needed.
func exportPath(dir, what, stamp string) (string, error) {
	for i := 1; i < 1000; i++ {
		name := fmt.Sprintf("evtriage-%s-%s.json", what, stamp)
		if i > 1 {
			name = fmt.Sprintf("evtriage-%s-%s-%d.json", what, stamp, i)
		}
		p := filepath.Join(dir, name)
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			return p, nil
		} else if err != nil {
			return "", fmt.Errorf("tui: export: %w", err)
		}
	}
	return "", fmt.Errorf("tui: export: no free file name in %s", dir)
}

func exportCmd(dir, what, stamp string, r *triage.Result, findings []*triage.Finding) tea.Cmd {
	return func() tea.Msg {
		p, err := exportPath(dir, what, stamp)
		if err == nil {
			err = triage.Export(p, r, findings, triage.FormatJSON)
		}
		return exportedMsg{path: p, n: len(findings), err: err}
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
	return exportCmd(m.cfg.ExportDir, "findings", m.stamp(), m.res, m.table.Rows())
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
	r, visible, limit := m.res, m.visible, len(m.res.Processes)
	dir, stamp := m.cfg.ExportDir, m.stamp()
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
		sortFindings(out, ColTime, false)
		return exportCmd(dir, what, stamp, r, out)()
	}
}
