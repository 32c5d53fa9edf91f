package tui

import (
	"context"
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/evtriage/evtriage/internal/termsafe"
	"github.com/evtriage/evtriage/triage"
)

// Following growing logs (Config.Follow): instead of reading the inputs
// once, a triage.Follower polls them and feeds the same Hunter a normal
// load reads into; every Result it builds reaches the screen as a snapshot
// does while loading (snapshotMsg: indexed in a tea.Cmd, then shown with
// the selection kept under the cursor and the filters applied again), so
// following adds no second way of showing a Result. What following adds is
// its status in the header, the findings that just arrived marked for
// freshFor, and P to pause and resume.

// Follow is what the screen follows (--follow).
type Follow struct {
	// Paths are the logs and folders as given: folders are listed again
	// for new logs.
	Paths []string
	// Poll is how often the logs are read again (0: triage.DefaultPoll).
	Poll time.Duration
}

// freshFor is how long a finding that arrived while following stays
// marked.
const freshFor = 5 * time.Second

// followTick is how often the header's "last event Xs ago" is redrawn
// and the marks of fresh findings expire.
const followTick = time.Second

// followState is following as the screen shows it.
type followState struct {
	on     bool
	f      *triage.Follower // once following started (followStartedMsg)
	status triage.FollowStatus
	paused bool // as the user asked (P); the status catches up at its next poll
	// fresh are the findings that arrived while following, by key, with
	// when they arrived; they are marked until freshFor has passed.
	fresh map[findingKey]time.Time
}

// expire forgets the marks older than freshFor.
func (s *followState) expire(now time.Time) {
	for k, at := range s.fresh {
		if now.Sub(at) >= freshFor {
			delete(s.fresh, k)
		}
	}
}

// text is what the header says: following N files · last event Xs ago,
// and paused once the Follower says it is (a poll under way when P was
// pressed ends first: "pausing…" until then).
func (s *followState) text(now time.Time) string {
	files := fmt.Sprintf("%d file%s", s.status.Files, plural(s.status.Files))
	var t string
	switch {
	case s.paused && s.status.Paused:
		t = "paused (P resumes)"
	case s.paused:
		t = "pausing… · " + files
	case s.status.Paused:
		t = "resuming… · " + files
	default:
		t = "following " + files
	}
	if s.status.Last.IsZero() {
		return t + " · no event yet"
	}
	return t + " · last event " + ago(now.Sub(s.status.Last))
}

// ago says how long ago d was: 2s, 3m, 1h.
func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", max(int(d/time.Second), 0))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d/time.Minute))
	}
	return fmt.Sprintf("%dh ago", int(d/time.Hour))
}

// loadText says what the screen waits for before anything is shown.
func (m *Model) loadText() string {
	if m.follow.on {
		return "following: waiting for the first events… (" + m.follow.text(m.cfg.Now()) + ")"
	}
	return m.load.text()
}

// followStartedMsg hands the screen its Follower, which P pauses.
type followStartedMsg struct{ f *triage.Follower }

// followStatusMsg reports how following goes, and the findings that
// arrived with the Result that the snapshotMsg after it carries.
type followStatusMsg struct {
	status triage.FollowStatus
	fresh  []*triage.Finding
}

// followNoteMsg is what an operator should be told as it happens (a log
// picked up, replaced or gone, records lost); plain text, cleaned when
// shown.
type followNoteMsg struct{ note string }

// followTickMsg redraws the header and expires the marks.
type followTickMsg struct{}

// tickFollow waits followTick on the screen's clock.
func tickFollow(clk clock) tea.Cmd {
	return func() tea.Msg {
		<-clk.after(followTick)
		return followTickMsg{}
	}
}

// startFollow returns the command that starts following in the
// background: its reports come as the loader's do (loaderMsg).
func startFollow(ctx context.Context, clk clock, opts triage.Options, fc Follow) tea.Cmd {
	return func() tea.Msg {
		ch := make(chan tea.Msg, 16)
		go follow(ctx, clk, opts, fc, ch)
		return waitLoader(ch)()
	}
}

// follow follows fc's paths into a Hunter until ctx ends: each Result the
// Follower builds (at least every streamEvery while events arrive, sooner
// when findings may have changed) goes to the screen as a snapshot, after
// the status and the findings it brings; a status that changed without a
// Result goes alone.
func follow(ctx context.Context, clk clock, opts triage.Options, fc Follow, ch chan<- tea.Msg) {
	defer close(ch)
	send := func(m tea.Msg) bool {
		select {
		case ch <- m:
			return true
		case <-ctx.Done():
			return false
		}
	}
	h := triage.NewHunter(opts)
	var last triage.FollowStatus
	f := triage.NewFollower(h, fc.Paths, triage.FollowOptions{
		Poll: fc.Poll, Refresh: streamEvery, Now: clk.now, After: clk.after,
		OnNote: func(s string) { send(followNoteMsg{note: s}) },
		OnUpdate: func(u triage.FollowUpdate) {
			st := u.Status
			st.Polls = last.Polls // a poll that changed nothing is not news
			if u.Result == nil && st == last {
				return
			}
			last = st
			if !send(followStatusMsg{status: u.Status, fresh: u.New}) || u.Result == nil {
				return
			}
			send(snapshotMsg{r: u.Result, files: u.Status.Files, partial: true})
		},
	})
	defer f.Close()
	if !send(followStartedMsg{f: f}) {
		return
	}
	_ = f.Run(ctx) // returns when ctx ends
}

// handleFollow follows the Follower's reports.
func (m *Model) handleFollow(msg tea.Msg) {
	switch msg := msg.(type) {
	case followStartedMsg:
		m.follow.f = msg.f
		msg.f.SetPaused(m.follow.paused)
	case followStatusMsg:
		paused := m.follow.paused
		m.follow.status = msg.status
		m.follow.paused = paused
		now := m.cfg.Now()
		for _, f := range msg.fresh {
			m.follow.fresh[keyOf(f)] = now
		}
	case followNoteMsg:
		m.setMessage(termsafe.Clean(msg.note), false)
	}
}

// togglePause pauses or resumes following (P).
func (m *Model) togglePause() {
	if !m.follow.on {
		m.setMessage("P pauses following: open the logs with --follow", true)
		return
	}
	m.follow.paused = !m.follow.paused
	if m.follow.f != nil {
		m.follow.f.SetPaused(m.follow.paused)
	}
	if m.follow.paused {
		m.setMessage("following paused: nothing is read until P (a log that wraps meanwhile loses records, which are counted)", false)
	} else {
		m.setMessage("following resumed", false)
	}
}
