package tui

import (
	"bytes"
	"context"
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/evtriage/evtriage/triage"
)

// Input is one log to hunt in: a file on disk, or bytes in memory (the
// built-in demo log).
type Input struct {
	Name string // shown on screen and recorded as the source's path
	Path string // file to read; empty when Data is set
	Data []byte
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
// is closed, so that the screen fills in while a big file loads.
func stream(ctx context.Context, h *triage.Hunter, done int, stop <-chan struct{}, send func(tea.Msg) bool) {
	wait := streamFirst
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		start := time.Now()
		r := h.Result()
		wait = max(streamEvery, streamCost*time.Since(start))
		if !send(snapshotMsg{r: r, files: done, partial: true}) {
			return
		}
	}
}

// startLoad returns the command that starts reading inputs in the
// background. The loader reports progress, a Result snapshot after each
// input, and the end; it stops when ctx is cancelled.
func startLoad(ctx context.Context, opts triage.Options, inputs []Input) tea.Cmd {
	return func() tea.Msg {
		ch := make(chan tea.Msg, 16)
		go load(ctx, opts, inputs, ch)
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

func load(ctx context.Context, opts triage.Options, inputs []Input, ch chan<- tea.Msg) {
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
	var errs []error
	for i, in := range inputs {
		if ctx.Err() != nil {
			return
		}
		last := time.Time{}
		progress := func(p triage.Progress) {
			if now := time.Now(); p.Done || now.Sub(last) >= progressEvery {
				last = now
				send(progressMsg{file: i, files: len(inputs), p: p})
			}
		}
		stop := make(chan struct{})
		streamed := make(chan struct{})
		go func() {
			defer close(streamed)
			stream(ctx, h, i, stop, send)
		}()
		var err error
		if in.Path != "" {
			err = h.AddFile(ctx, in.Path, progress)
		} else {
			err = h.AddReader(ctx, in.Name, bytes.NewReader(in.Data), int64(len(in.Data)), progress)
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
		if !send(snapshotMsg{r: h.Result(), files: i + 1}) {
			return
		}
	}
	send(loadDoneMsg{errs: errs})
}
