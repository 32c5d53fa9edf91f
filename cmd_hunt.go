package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/evtriage/evtriage/internal/outfile"
	"github.com/evtriage/evtriage/internal/termsafe"
	"github.com/evtriage/evtriage/internal/winpath"
	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/triage"
)

const huntSynopsis = "hunt [--rules PATH]... [--no-builtin] [--baseline PATH... | --baseline-window 30d] [--new-key K] [--min-level L] [--tz ZONE] [--case FILE] [--format table|json|jsonl|csv|timesketch] [-o FILE] [--follow [--poll 2s]] PATH..."

// huntCommand is the `evtriage hunt` entry of commands().
func huntCommand() command {
	return command{name: "hunt", summary: "hunt logs headless: findings as a table, JSON, JSON Lines, CSV or Timesketch", run: runHunt}
}

// huntCmdFlags are hunt's parsed flags: the shared ones and its output.
type huntCmdFlags struct {
	huntFlags
	format   string
	out      string
	caseFile string
	paths    []string
}

func parseHuntFlags(e *env, args []string) (*huntCmdFlags, int, bool) {
	hf := &huntCmdFlags{}
	fs := newFlagSet(e, "hunt", huntSynopsis)
	hf.register(fs, "lowest rule level reported: informational, low, medium, high, critical")
	fs.StringVar(&hf.format, "format", "", "output format: table, json, jsonl, csv or timesketch (default: from -o's extension .json, .jsonl or .csv; else table on a terminal, json otherwise; jsonl with --follow)")
	fs.StringVar(&hf.out, "o", "", "write the output to FILE (atomically; a device or pipe is written through; - is standard output; with --follow a new file, written as findings come)")
	fs.StringVar(&hf.caseFile, "case", "", "apply the marks of this case file (a VERDICT column, marks in exports) and load its filter rules")
	if code, stop := parseFlags(e, fs, args); stop {
		return nil, code, true
	}
	hf.paths = fs.Args()
	hf.command = append([]string{"hunt"}, args...)
	var err error
	if len(hf.paths) == 0 {
		err = fmt.Errorf("%w: no PATH given", errUsage)
	}
	if err == nil {
		err = hf.check()
	}
	if err == nil && hf.follow {
		err = followable(hf.paths)
	}
	if err == nil && hf.follow {
		switch hf.format {
		case "", "jsonl":
			hf.format = "jsonl"
		default:
			err = fmt.Errorf("%w: --follow streams JSON Lines (--format jsonl); --format %s cannot be followed", errUsage, hf.format)
		}
	}
	if err == nil && hf.format == "" {
		f, byExt := triage.FormatOfExt(hf.out)
		switch {
		case hf.out != "" && hf.out != "-" && byExt:
			hf.format = f.String()
		case (hf.out == "" || hf.out == "-") && isTerminal(e.stdout):
			hf.format = "table"
		default:
			hf.format = "json"
		}
	}
	if err == nil && hf.format != "table" {
		if _, ok := triage.ParseFormat(hf.format); !ok {
			err = fmt.Errorf("%w: unknown --format %q (table, json, jsonl, csv, timesketch)", errUsage, hf.format)
		}
	}
	if err == nil && strings.EqualFold(hf.format, "timesketch") {
		err = timesketchName(hf.out)
	}
	if err != nil {
		return nil, usageError(e, "hunt", err), true
	}
	return hf, exitOK, false
}

func runHunt(e *env, args []string) int {
	hf, code, stop := parseHuntFlags(e, args)
	if stop {
		return code
	}
	status := exitOK
	warn := func(format string, a ...any) {
		fmt.Fprintf(e.stderr, "evtriage hunt: %s\n", termsafe.Clean(fmt.Sprintf(format, a...)))
		status = exitPartial
	}
	in, err := sortPaths(hf.paths)
	if err == nil && len(in.exports) > 0 && hf.follow {
		err = fmt.Errorf("%w: --follow reads growing .evtx logs; %s is an export", errUsage, in.exports[0])
	}
	if err == nil && len(in.exports) > 0 {
		err = hf.forExports()
	}
	if err != nil {
		return usageError(e, "hunt", err)
	}
	files := append(in.logs, in.exports...)
	var cs *triage.Case
	if hf.caseFile != "" {
		if cs, err = triage.LoadCase(hf.caseFile); err != nil {
			return usageError(e, "hunt", fmt.Errorf("%w: --case: %w", errUsage, err))
		}
		if len(in.exports) == 0 {
			hf.addRules(cs.RulesFolder())
		}
	}
	// Signals are caught before the output's temporary file exists.
	outs := &outputs{}
	ctx, stopSignals := onInterrupt(outs.abort)
	defer stopSignals()
	// The output is checked, and its temporary file made, before anything
	// is read: a wrong -o fails now, not after the hunt.
	out, err := hf.output(e, files)
	if err != nil {
		return usageError(e, "hunt", err)
	}
	if hf.follow {
		// A signal is how following ends: the stream is kept.
		return followHunt(ctx, stopSignals, e, hf, out, cs)
	}
	outs.add(out)
	var h huntReader
	if len(in.exports) > 0 {
		h = triage.NewExportSet(hf.provenance())
	} else {
		opts := hf.options()
		opts.WrittenOnly, opts.NoActivity = true, true
		hunter := triage.NewHunter(opts)
		// Baseline problems are reported below with the other sources'.
		_ = hunter.LoadBaseline(ctx)
		h = hunter
	}
	for _, err := range in.errs {
		// An input that gave nothing is a source with a problem, reported
		// with the others below (once).
		var ie *parser.InputError
		if errors.As(err, &ie) {
			h.AddProblem(ie.Path, err)
			continue
		}
		warn("%v", err)
	}
	for _, n := range in.notes {
		fmt.Fprintf(e.stderr, "evtriage hunt: note: %s\n", termsafe.Clean(n))
	}
	progress := progressLine(e.stderr)
	for _, f := range files {
		if ctx.Err() != nil {
			break
		}
		err := h.AddFile(ctx, f, progress)
		switch {
		case err == nil || ctx.Err() != nil:
		case errors.Is(err, triage.ErrOpen), errors.Is(err, triage.ErrRead):
			// Recorded in the file's source: reported below, once.
			status = exitPartial
		default:
			warn("%v", err)
		}
	}
	if ctx.Err() == nil {
		res := h.Finish()
		status = max(status, reportProblems(warn, res))
		if cs != nil {
			res.Case, res.CasePath = cs, hf.caseFile
			if cs.Len() > 0 && cs.Matched(res) == 0 {
				fmt.Fprintf(e.stderr, "evtriage hunt: note: %s\n", termsafe.Clean(fmt.Sprintf(
					"case file %s holds %d marks, none of them of these logs (another case's file?): nothing was applied", hf.caseFile, cs.Len())))
			}
		}
		filter := triage.Filter{MinLevel: hf.minLevel}
		findings := res.Filter(filter)
		res.Selection = &triage.Selection{Filter: filter}
		if hf.format == "timesketch" {
			status = max(status, reportUndated(warn, findings))
		}
		err = writeHunt(out, hf.format, res, findings, hf.loc)
	}
	if sig := stopSignals(); sig != nil {
		out.Abort()
		if progress != nil {
			progress(triage.Progress{Done: true})
		}
		fmt.Fprintf(e.stderr, "evtriage hunt: interrupted (%v): no output written\n", sig)
		return exitSignal(sig)
	}
	if err != nil {
		out.Abort()
		fmt.Fprintf(e.stderr, "evtriage hunt: %s\n", termsafe.Clean(err.Error()))
		return exitPartial
	}
	return status
}

// timesketchName refuses an -o that Timesketch would not import: it
// takes JSON Lines only from a file named *.jsonl. Standard output, a
// device or a pipe has no name to check.
func timesketchName(out string) error {
	if out == "" || out == "-" || strings.EqualFold(filepath.Ext(out), ".jsonl") {
		return nil
	}
	if fi, err := os.Stat(out); err == nil && !fi.Mode().IsRegular() && !fi.IsDir() {
		return nil
	}
	return fmt.Errorf("%w: --format timesketch writes JSON Lines, which Timesketch imports only from a file named *.jsonl; -o %s does not end in .jsonl", errUsage, out)
}

// huntReader is what hunt reads its inputs with: a triage.Hunter over
// logs, or a triage.ExportSet over exports read back.
type huntReader interface {
	AddProblem(path string, err error)
	AddFile(ctx context.Context, path string, progress func(triage.Progress)) error
	Finish() *triage.Result
}

// output checks -o (not one of the inputs, in a folder that exists, not a
// folder itself) and prepares it; without -o, or with "-o -", the output
// is standard output. Its errors wrap errUsage.
func (hf *huntCmdFlags) output(e *env, files []string) (*outfile.File, error) {
	path := hf.out
	if path == "" {
		path = "-"
	}
	if path != "-" {
		inputs := append(append([]string(nil), files...), hf.rules...)
		if hf.config != "" {
			inputs = append(inputs, hf.config)
		}
		if hf.caseFile != "" {
			inputs = append(inputs, hf.caseFile)
		}
		base, _ := parser.FindFiles(hf.baseline)
		if err := notAnInput(path, append(append(inputs, hf.baseline...), base...)); err != nil {
			return nil, err
		}
	}
	create := outfile.Create
	if hf.follow {
		create = outfile.CreateStream
	}
	out, err := create(path, 0o600, e.stdout)
	if err != nil {
		return nil, fmt.Errorf("%w: -o: %w", errUsage, err)
	}
	return out, nil
}

// notAnInput returns a usage error when out names the same file as one of
// inputs (by device and inode, whatever the path).
func notAnInput(out string, inputs []string) error {
	ofi, err := os.Stat(out)
	if err != nil {
		return nil // does not exist (yet): cannot be an input
	}
	for _, in := range inputs {
		if ifi, err := os.Stat(in); err == nil && os.SameFile(ofi, ifi) {
			return fmt.Errorf("%w: -o %s is one of the inputs (%s); it would be overwritten", errUsage, out, in)
		}
	}
	return nil
}

// reportProblems warns about rejected rules and the sources' problems and
// returns exitPartial when there were any.
func reportProblems(warn func(string, ...any), res *triage.Result) int {
	status := exitOK
	for _, rj := range res.Rejected {
		warn("rule rejected: %s:%d: %s", rj.Path, rj.Line, rj.Reason)
		status = exitPartial
	}
	if res.NotJudged {
		warn("the baseline could not be read: no finding is judged new or seen")
		status = exitPartial
	}
	for _, s := range append(res.Sources, res.BaselineSources...) {
		for i, p := range s.Problems {
			status = exitPartial
			if i == 3 {
				warn("%s: … %d more problems (all are in the JSON export)", s.Path, len(s.Problems)-3)
				break
			}
			warn("%s: %s", s.Path, p.String())
		}
	}
	return status
}

// maxUndatedListed bounds the findings reportUndated names one by one.
const maxUndatedListed = 10

// reportUndated warns about the findings a Timesketch export leaves out
// (triage.Undated: Timesketch cannot date them), and counts them; it
// returns exitPartial when there are any.
func reportUndated(warn func(string, ...any), findings []*triage.Finding) int {
	undated := triage.Undated(findings)
	for i, f := range undated {
		if i == maxUndatedListed {
			warn("… %d more findings without a time", len(undated)-i)
			break
		}
		title := ""
		if f.Rule != nil {
			title = f.Rule.Title
		}
		if f.Event == nil || f.Event.Event == nil {
			warn("finding %q has no event, so no time Timesketch can place; left out of the Timesketch export", title)
			continue
		}
		ev := f.Event.Event
		warn("%s: record %d (offset %d): finding %q has no time Timesketch can place; left out of the Timesketch export",
			f.Event.File, ev.RecordID, ev.Offset, title)
	}
	if len(undated) == 0 {
		return exitOK
	}
	warn("%d of %d findings left out of the Timesketch export: their events have no time (the JSON export holds them)", len(undated), len(findings))
	return exitPartial
}

// writeHunt writes the findings in the chosen format to out and commits
// it; the table shows times in loc, the exports in UTC.
func writeHunt(out *outfile.File, format string, res *triage.Result, findings []*triage.Finding, loc *time.Location) error {
	var err error
	if format == "table" {
		err = writeTable(out, res, findings, loc)
	} else {
		f, _ := triage.ParseFormat(format)
		err = triage.WriteExport(out, res, findings, f)
	}
	if err != nil {
		return err
	}
	return out.Commit()
}

// maxCell bounds a table cell; longer evidence text is cut with "…".
const maxCell = 100

// cell sanitises evidence text for the terminal and bounds its width.
func cell(s string) string {
	s = termsafe.Clean(s)
	if r := []rune(s); len(r) > maxCell {
		s = string(r[:maxCell-1]) + "…"
	}
	if s == "" {
		return "-"
	}
	return s
}

// writeTable prints one line per finding, its time in loc (UTC when nil),
// and a summary line; with a case (hunt --case), a VERDICT column says the
// verdict that applies to each (its own mark, or its process's).
func writeTable(w io.Writer, res *triage.Result, findings []*triage.Finding, loc *time.Location) error {
	if loc == nil {
		loc = time.UTC
	}
	zoneName := loc.String()
	if loc == time.Local {
		zoneName = "local"
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	verdicts := res.Case != nil
	head := "TIME (" + zoneName + ")\tHOST\tLEVEL\tRULE\tNEW\tPID\tPROCESS\tCOMMAND LINE / DETAIL"
	if verdicts {
		head = "TIME (" + zoneName + ")\tHOST\tLEVEL\tRULE\tNEW\tVERDICT\tPID\tPROCESS\tCOMMAND LINE / DETAIL"
	}
	fmt.Fprintln(tw, head)
	for _, f := range findings {
		ev := f.Event.Event
		newCol := "-"
		if f.New != nil {
			newCol = map[bool]string{true: "new", false: "seen"}[*f.New]
		}
		pid, image, detail := "-", "-", ""
		if p := f.Process; p != nil {
			pid = strconv.FormatUint(uint64(p.PID), 10)
			image = winpath.Base(p.Image)
			if p.Renamed {
				image += " (regsvr32)"
			}
			detail = p.CommandLine
		}
		if v, ok := ev.Field("ImageLoaded"); ok {
			detail = "loaded " + v
		}
		if c := f.Correlation; c != nil {
			detail = c.Summary()
		}
		row := []string{ev.Time.In(loc).Format("2006-01-02 15:04:05"), cell(ev.Computer), f.Rule.Level.String(),
			cell(f.Rule.Title), newCol}
		if verdicts {
			verdict := "-"
			if v := res.Case.Verdict(res, f); v != triage.VerdictNone {
				verdict = v.Title()
			}
			row = append(row, verdict)
		}
		fmt.Fprintln(tw, strings.Join(append(row, pid, cell(image), cell(detail)), "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	hidden := len(res.Findings) - len(res.Written()) + res.Unkept
	corr := ""
	if res.CorrelationOnly > 0 {
		corr = fmt.Sprintf("; %d matches of correlation-only rules", res.CorrelationOnly)
	}
	_, err := fmt.Fprintf(w, "\n%d findings; %d suppressed candidates not shown%s; %d events from %d files (%d duplicates); %d processes\n",
		len(findings), hidden, corr, res.Events, len(res.Sources), res.Duplicates, res.ProcessCount())
	return err
}

// progressLine returns a progress callback that redraws one line on a
// terminal stderr, or nil when stderr is not a terminal.
func progressLine(w io.Writer) func(triage.Progress) {
	if !isTerminal(w) {
		return nil
	}
	var last time.Time
	return func(p triage.Progress) {
		if p.Done {
			fmt.Fprint(w, "\r\x1b[K")
			return
		}
		if time.Since(last) < 200*time.Millisecond {
			return
		}
		last = time.Now()
		pct := 0
		if p.Total > 0 {
			pct = int(p.Bytes * 100 / p.Total)
		}
		fmt.Fprintf(w, "\r\x1b[K%s: %d%% %d events", termsafe.Clean(winpath.Base(p.File)), pct, p.Events)
	}
}
