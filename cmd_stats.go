package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/evtriage/evtriage/internal/termsafe"
	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/triage"
)

// statsCommand is `evtriage stats`: what each file holds and what could not
// be read.
func statsCommand() command {
	return command{name: "stats", summary: "count records, chunks, problems and events per channel/ID", run: runStats}
}

// eidCount is how many events of one channel and event ID were read.
type eidCount struct {
	Channel string `json:"channel"`
	EventID uint16 `json:"event_id"`
	Count   int    `json:"count"`
}

// fileStats is the per-file part of `stats --format json`.
type fileStats struct {
	File        string           `json:"file"`
	Error       string           `json:"error,omitempty"` // the file could not be opened as EVTX
	Version     string           `json:"version,omitempty"`
	HeaderChunk int              `json:"header_chunks"` // chunk count the file header states (not trusted)
	Dirty       bool             `json:"dirty"`
	Full        bool             `json:"full"`
	Chunks      int              `json:"chunks"`
	EmptyChunks int              `json:"empty_chunks"`
	BadChunks   int              `json:"bad_chunks"`
	Records     int              `json:"records"`
	Recovered   int              `json:"recovered"`
	Duplicates  int              `json:"duplicates"`
	Skipped     int              `json:"skipped"`
	CarveFailed int              `json:"carve_failed"`
	Problems    []parser.Problem `json:"problems"`       // the first 10,000
	ProblemsAll int              `json:"problems_total"` // all problems found
	EventIDs    []eidCount       `json:"event_ids"`
	// Tamper is what the file shows of tampering (triage.TamperScan, as
	// hunts and the screen find it); nil when it could not be read.
	Tamper *triage.Tamper `json:"tamper"`
}

// statsTotals sums all files.
type statsTotals struct {
	Files      int        `json:"files"`
	Unreadable int        `json:"unreadable"`
	Chunks     int        `json:"chunks"`
	Records    int        `json:"records"`
	Recovered  int        `json:"recovered"`
	Skipped    int        `json:"skipped"`
	Problems   int        `json:"problems"`
	EventIDs   []eidCount `json:"event_ids"`
}

type statsReport struct {
	Files  []fileStats `json:"files"`
	Totals statsTotals `json:"totals"`
}

func runStats(e *env, args []string) int {
	fs := newFlagSet(e, "stats", "stats [--format table|json] [--carve=false] [--workers N] PATH...")
	format := fs.String("format", "table", "output format: table or json")
	var rf readFlags
	rf.register(fs, "recover records from slack space and damaged chunks")
	if code, stop := parseFlags(e, fs, args); stop {
		return code
	}
	if *format != "table" && *format != "json" {
		return usageError(e, "stats", fmt.Errorf("unknown --format %q (want table or json)", *format))
	}
	files, code, stop := rf.inputs(e, "stats", fs)
	if stop {
		return code
	}
	rep := statsReport{Files: []fileStats{}}
	total := map[eidKey]int{}
	for _, path := range files {
		fst := statsFile(path, rf.carve, rf.workers, total)
		if fst.Error != "" {
			fmt.Fprintf(e.stderr, "evtriage stats: %s\n", termsafe.Clean(fst.Error))
			rep.Totals.Unreadable++
		}
		if fst.Error != "" || fst.ProblemsAll > 0 {
			code = exitPartial
		}
		rep.Files = append(rep.Files, fst)
		t := &rep.Totals
		t.Files++
		t.Chunks += fst.Chunks
		t.Records += fst.Records
		t.Recovered += fst.Recovered
		t.Skipped += fst.Skipped
		t.Problems += fst.ProblemsAll
	}
	rep.Totals.EventIDs = sortedCounts(total)
	var err error
	if *format == "json" {
		err = writeJSON(e.stdout, rep)
	} else {
		err = writeStatsTable(e.stdout, &rep)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "evtriage stats: %s\n", termsafe.Clean(err.Error()))
		return exitPartial
	}
	return code
}

type eidKey struct {
	channel string
	id      uint16
}

// statsFile reads one file and counts what it holds; total accumulates
// counts per channel and event ID across files.
func statsFile(path string, carve bool, workers int, total map[eidKey]int) fileStats {
	fst := fileStats{File: path, Problems: []parser.Problem{}, EventIDs: []eidCount{}}
	f, err := parser.Open(path, parser.Options{Carve: carve, Workers: workers})
	if err != nil {
		fst.Error = err.Error()
		return fst
	}
	defer f.Close()
	counts := map[eidKey]int{}
	scan := triage.NewTamperScan()
	err = f.Events(context.Background(), func(ev *parser.Event) error {
		counts[eidKey{ev.Channel, ev.EventID}]++
		scan.Add(ev)
		return nil
	})
	if err != nil {
		fst.Error = path + ": " + err.Error()
	}
	st := f.Stats()
	fst.Version, fst.Dirty, fst.Full, fst.HeaderChunk = st.Version, st.Dirty, st.Full, st.HeaderChunks
	fst.Chunks, fst.EmptyChunks, fst.BadChunks = st.Chunks, st.EmptyChunks, st.BadChunks
	fst.Records, fst.Recovered, fst.Duplicates = st.Records, st.Recovered, st.Duplicates
	fst.Skipped, fst.CarveFailed, fst.ProblemsAll = st.Skipped, st.CarveFailed, st.Problems
	fst.Problems = append(fst.Problems, f.Problems()...)
	fst.Tamper = scan.Result(st)
	for k, n := range counts {
		total[k] += n
	}
	fst.EventIDs = sortedCounts(counts)
	return fst
}

// sortedCounts orders counts by count (descending), channel, event ID.
func sortedCounts(m map[eidKey]int) []eidCount {
	out := make([]eidCount, 0, len(m))
	for k, n := range m {
		out = append(out, eidCount{Channel: k.channel, EventID: k.id, Count: n})
	}
	slices.SortFunc(out, func(a, b eidCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Channel, b.Channel), cmp.Compare(a.EventID, b.EventID))
	})
	return out
}

// writeStatsTable prints the report for a terminal; evidence text is
// cleaned of control characters.
func writeStatsTable(w io.Writer, rep *statsReport) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE\tVERSION\tCHUNKS\tRECORDS\tRECOVERED\tSKIPPED\tPROBLEMS\tTAMPER SIGNS")
	for _, f := range rep.Files {
		if f.Error != "" {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\tunreadable\n", termsafe.Clean(f.File))
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", termsafe.Clean(f.File), termsafe.Clean(f.Version),
			f.Chunks, f.Records, f.Recovered, f.Skipped, f.ProblemsAll, f.Tamper.Summary())
	}
	t := rep.Totals
	fmt.Fprintf(tw, "TOTAL (%d files)\t\t%d\t%d\t%d\t%d\t%d\t\n", t.Files, t.Chunks, t.Records, t.Recovered, t.Skipped, t.Problems)
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, f := range rep.Files {
		writeTamper(w, termsafe.Clean(f.File), f.Tamper)
	}
	for _, f := range rep.Files {
		if len(f.Problems) == 0 {
			continue
		}
		fmt.Fprintf(w, "\nProblems in %s:\n", termsafe.Clean(f.File))
		for _, p := range f.Problems {
			fmt.Fprintf(w, "  0x%08x  %s\n", p.Offset, termsafe.Clean(p.Reason()))
		}
		if n := f.ProblemsAll - len(f.Problems); n > 0 {
			fmt.Fprintf(w, "  … and %d more\n", n)
		}
	}
	fmt.Fprintln(w, "\nEvents per channel and ID:")
	tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  COUNT\tEVENT ID\tCHANNEL")
	for _, c := range t.EventIDs {
		fmt.Fprintf(tw, "  %d\t%d\t%s\n", c.Count, c.EventID, termsafe.Clean(c.Channel))
	}
	return tw.Flush()
}

// writeTamper lists where a file shows tamper signs: each log event, gap,
// reversal and time jump (the first triage.MaxTamperListed of each, and
// how many more); nothing when it shows none.
func writeTamper(w io.Writer, file string, t *triage.Tamper) {
	if t.SignCount() == 0 {
		return
	}
	fmt.Fprintf(w, "\nTamper signs in %s:\n", file)
	for _, l := range triage.TamperLines(t) {
		fmt.Fprintf(w, "  %s\n", termsafe.Clean(l))
	}
}
