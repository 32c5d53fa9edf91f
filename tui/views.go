package tui

import (
	"fmt"
	"strconv"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/evtriage/evtriage/internal/termsafe"
	"github.com/evtriage/evtriage/triage"
)

// viewKind names a main view of the screen, each shown in its tab.
type viewKind int

// The main views, in tab order.
const (
	viewFindings viewKind = iota
	viewTree
	viewTimeline
	viewHosts
	viewFiles
	numViews
)

// viewTitles are the views' tab titles, and viewShort the compact ones the
// tab line uses when the full ones do not fit.
var (
	viewTitles = [numViews]string{viewFindings: "1 Findings", viewTree: "2 Process tree", viewTimeline: "3 Timeline",
		viewHosts: "4 Hosts", viewFiles: "5 Files"}
	viewShort = [numViews]string{viewFindings: "1 Findings", viewTree: "2 Tree", viewTimeline: "3 Time", viewHosts: "4 Hosts",
		viewFiles: "5 Files"}
)

// pane is what the screen asks of a component that fills the body (a main
// view or an overlay): its size, its keys and its drawing.
type pane interface {
	SetSize(w, h int)
	View() string
	update(k tea.KeyPressMsg) tea.Cmd
}

// view is a main view: a list whose cursor its tab shows, and which the
// layout gives the lines its rows need (within bounds).
type view interface {
	pane
	Len() int         // rows
	lines() int       // lines the rows take with any header
	position() string // where the cursor is: "3/7"
}

// viewPane is the component that draws view v.
func (m *Model) viewPane(v viewKind) view {
	switch v {
	case viewTree:
		return &m.tree
	case viewTimeline:
		return &m.timeline
	case viewHosts:
		return &m.hosts
	case viewFiles:
		return &m.files
	}
	return &m.table
}

// activeView is the component of the view that is shown.
func (m *Model) activeView() view { return m.viewPane(m.view) }

// selection is what the shown view has selected: a *triage.Finding, a
// *triage.Process, a *treeGroup (a tree row standing for many processes),
// a *triage.TimelineEvent, a *hostRow, a *triage.Source, or nil.
func (m *Model) selection() any {
	switch m.view {
	case viewTree:
		if p := m.tree.Selected(); p != nil {
			return p
		}
		if g := m.tree.SelectedGroup(); g != nil {
			return g
		}
	case viewTimeline:
		if e := m.timeline.Selected(); e != nil {
			return e
		}
	case viewHosts:
		if h := m.hosts.Selected(); h != nil {
			return h
		}
	case viewFiles:
		if f := m.files.Selected(); f != nil {
			return f
		}
	default:
		if f := m.table.Selected(); f != nil {
			return f
		}
	}
	return nil
}

// selectedTime is the time of what is selected, for the time range keys.
func (m *Model) selectedTime() time.Time {
	switch s := m.selection().(type) {
	case *triage.Process:
		return s.Created
	case *triage.Finding:
		return findingTime(s)
	case *triage.TimelineEvent:
		return s.Event.Time
	}
	return time.Time{}
}

// sections returns the hosts the tree shows under the host filter.
func (m *Model) sections() []treeSection {
	if m.filter.Host == "" {
		return m.index.sections
	}
	for _, s := range m.index.sections {
		if s.host == m.filter.Host {
			return []treeSection{s}
		}
	}
	return nil
}

// open goes from a finding to its process in the tree, from a process to
// its first shown finding, from a timeline event to its first shown
// finding or to the process it created, and from a host (or a file of one
// host) to every view restricted to that host, or back to every host when
// the views already show only that one.
func (m *Model) open() tea.Cmd {
	switch s := m.selection().(type) {
	case *triage.TimelineEvent:
		m.openEvent(s)
	case *hostRow:
		return m.restrictTo(s.host)
	case *triage.Source:
		if s.HostsTotal != 1 || len(s.Hosts) != 1 {
			m.setMessage(fmt.Sprintf("this file holds events of %d hosts: restrict to one in 4", s.HostsTotal), true)
			return nil
		}
		return m.restrictTo(s.Hosts[0])
	case *triage.Finding:
		if s.Process == nil || !m.tree.Select(s.Process) {
			m.setMessage("this finding's event belongs to no process in the tree", true)
			return nil
		}
		m.view = viewTree
	case *triage.Process:
		for i, f := range m.table.Rows() {
			if f.Process == s {
				m.table.SetCursor(i)
				m.view = viewFindings
				return nil
			}
		}
		m.setMessage("no finding of this process passes the current filters", true)
	}
	return nil
}

// restrictTo restricts every view to host (the host toggle's filter) and
// shows the findings; when they already show only host, it shows every
// host again (and stays where it is).
func (m *Model) restrictTo(host string) tea.Cmd {
	if host == "" {
		m.setMessage("these events name no computer: the views cannot be restricted to them", true)
		return nil
	}
	f := m.filter.clone()
	if f.Host == host {
		f.Host = ""
		m.setMessage("every view shows every host again", false)
		return m.setFilter(f)
	}
	f.Host = host
	m.view = viewFindings
	m.setMessage("every view shows only "+termsafe.Clean(host)+" — enter on it in 4 undoes it", false)
	return m.setFilter(f)
}

// step moves to the next or previous search match, wrapping around. With
// here set (the jump that follows a search) the selected row counts as
// the next match when it is one, and the message line is left alone, so
// that it still says what the search found.
func (m *Model) step(forward, here bool) {
	s := m.search.result
	if s == nil {
		m.setMessage("no search: press / first", true)
		return
	}
	if m.view == viewTree {
		if !m.tree.jump(s.procMarks, forward, here) && !here {
			m.setMessage("no process matches "+strconv.Quote(termsafe.Clean(s.query)), true)
		}
		return
	}
	if m.view == viewTimeline {
		if !m.timeline.jump(forward, here) && !here {
			m.setMessage("no event of the timeline matches "+strconv.Quote(termsafe.Clean(s.query)), true)
		}
		return
	}
	rows := m.shown.matchRows
	if len(rows) == 0 {
		if !here {
			m.setMessage("no shown finding matches "+strconv.Quote(termsafe.Clean(s.query)), true)
		}
		return
	}
	k := nextMark(rows, int32(m.table.Cursor()), forward, here)
	m.table.SetCursor(int(rows[k]))
	if !here {
		m.setMessage(fmt.Sprintf("match %d/%d", k+1, len(rows)), false)
	}
}
