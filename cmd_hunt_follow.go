package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/evtriage/evtriage/internal/outfile"
	"github.com/evtriage/evtriage/internal/termsafe"
	"github.com/evtriage/evtriage/triage"
)

// lastRead bounds the last read after a signal: a log being read from its
// start when the signal came is not read to its end.
const lastRead = 5 * time.Second

// followHunt is `hunt --follow`: it follows the PATHs (their folders
// listed again for new logs) and streams each finding as JSON Lines as it
// is found, flushed, until a signal (caught by onInterrupt: ctx ends) or a
// write error; then it writes the findings still pending, reports a
// summary and the problems on stderr, and returns exitOK, or exitPartial
// when some input could not be read (lost records included), some rule
// was rejected or the output failed.
func followHunt(ctx context.Context, stopSignals func() os.Signal, e *env, hf *huntCmdFlags, out *outfile.File, cs *triage.Case) int {
	start := time.Now()
	say := func(format string, a ...any) {
		fmt.Fprintf(e.stderr, "evtriage hunt: %s\n", termsafe.Clean(fmt.Sprintf(format, a...)))
	}
	opts := hf.options()
	opts.WrittenOnly, opts.NoActivity = true, true
	h := triage.NewHunter(opts)
	// Baseline problems are reported at the end with the other sources'.
	_ = h.LoadBaseline(ctx)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream := triage.NewStream(out)
	filter := triage.Filter{MinLevel: hf.minLevel}
	var werr error
	written := 0
	f := triage.NewFollower(h, hf.paths, triage.FollowOptions{
		Poll:   hf.poll,
		OnNote: func(s string) { say("%s", s) },
		OnUpdate: func(u triage.FollowUpdate) {
			if u.Result == nil || werr != nil {
				return
			}
			if cs != nil { // the case's marks go with each finding, as in a hunt's export
				u.Result.Case, u.Result.CasePath = cs, hf.caseFile
			}
			fs := filter.Select(u.Result, u.New)
			if werr = stream.Write(u.Result, fs); werr != nil {
				cancel()
				return
			}
			written += len(fs)
		},
	})
	defer f.Close()
	f.Scan()
	head := *h.Result()
	if cs != nil {
		head.Case, head.CasePath = cs, hf.caseFile
	}
	head.Selection = &triage.Selection{Filter: filter}
	werr = stream.Head(&head)
	if werr == nil {
		say("following %s under %s (read again every %s); interrupt (Ctrl-C) or terminate to stop",
			count(f.Status().Files, "log"), strings.Join(hf.paths, " "), hf.poll)
		_ = f.Run(ctx) // ends with ctx: a signal, or a write error
		if werr == nil {
			// What was written until the signal, and the findings still
			// waiting for a build (a second signal ends the program).
			last, stop := context.WithTimeout(context.Background(), lastRead)
			if err := f.Update(last); err != nil {
				say("stopped before the logs were read to their end (the last read is cut after %s)", lastRead)
			}
			stop()
		}
	}
	sig := stopSignals()
	if err := out.Commit(); werr == nil && err != nil {
		werr = err
	}
	res := h.Result()
	st := f.Status()
	how := "stopped"
	if sig != nil {
		how = fmt.Sprintf("stopped (%v)", sig)
	}
	lost := ""
	if st.Lost > 0 {
		lost = fmt.Sprintf(", %s lost (overwritten before they were read)", count(int(st.Lost), "record"))
	}
	replaced := ""
	if st.Replaced > 0 {
		replaced = fmt.Sprintf(", %s replaced and read anew", count(st.Replaced, "log"))
	}
	say("%s after %s: %s written; %s from %s (%d duplicates)%s%s; %s",
		how, time.Since(start).Round(time.Second), count(written, "finding"), count(res.Events, "event"),
		count(len(res.Sources), "log"), res.Duplicates, lost, replaced, count(res.ProcessCount(), "process"))
	status := reportProblems(func(format string, a ...any) { say(format, a...) }, res)
	if werr != nil {
		say("%v: following stopped", werr)
		status = exitPartial
	}
	return status
}

// count says how many of a thing: "1 log", "3 logs", "2 processes".
func count(n int, thing string) string {
	switch {
	case n == 1:
		return "1 " + thing
	case strings.HasSuffix(thing, "s"):
		return fmt.Sprintf("%d %ses", n, thing)
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
