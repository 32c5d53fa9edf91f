package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/evtriage/evtriage/internal/termsafe"
	"github.com/evtriage/evtriage/internal/winpath"
	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/triage"
)

const huntSynopsis = "hunt [--rules PATH]... [--no-builtin] [--baseline PATH... | --baseline-window 30d] [--new-key K] [--min-level L] [--format table|json|jsonl] [-o FILE] PATH..."

// huntCommand is the `evtriage hunt` entry of commands().
func huntCommand() command {
	return command{name: "hunt", summary: "hunt logs headless: findings as a table, JSON or JSON Lines", run: runHunt}
}

// huntCmdFlags are hunt's parsed flags: the shared ones and its output.
type huntCmdFlags struct {
	huntFlags
	format string
	out    string
	paths  []string
}

func parseHuntFlags(e *env, args []string) (*huntCmdFlags, int, bool) {
	hf := &huntCmdFlags{}
	fs := newFlagSet(e, "hunt", huntSynopsis)
	hf.register(fs, "lowest rule level reported: informational, low, medium, high, critical")
	fs.StringVar(&hf.format, "format", "", "output format: table, json or jsonl (default: table on a terminal, json otherwise; from -o's extension)")
	fs.StringVar(&hf.out, "o", "", "write the output to FILE (atomically) instead of standard output")
	if code, stop := parseFlags(e, fs, args); stop {
		return nil, code, true
	}
	hf.paths = fs.Args()
	var err error
	if len(hf.paths) == 0 {
		err = fmt.Errorf("%w: no PATH given", errUsage)
	}
	if err == nil {
		err = hf.check()
	}
	if err == nil && hf.format == "" {
		switch {
		case hf.out != "" && strings.EqualFold(filepath.Ext(hf.out), ".jsonl"):
			hf.format = "jsonl"
		case hf.out == "" && isTerminal(e.stdout):
			hf.format = "table"
		default:
			hf.format = "json"
		}
	}
	if err == nil {
		switch hf.format {
		case "table", "json", "jsonl":
		default:
			err = fmt.Errorf("%w: unknown --format %q", errUsage, hf.format)
		}
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
	opts := hf.options()
	opts.WrittenOnly, opts.NoActivity = true, true
	files, errs := parser.FindFiles(hf.paths)
	for _, err := range errs {
		warn("%v", err)
	}
	h := triage.NewHunter(opts)
	ctx := context.Background()
	// Baseline problems are reported below with the other sources'.
	_ = h.LoadBaseline(ctx)
	setMemoryLimit(files)
	progress := progressLine(e.stderr)
	for _, f := range files {
		if err := h.AddFile(ctx, f, progress); err != nil {
			warn("%v", err)
		}
	}
	res := h.Finish()
	for _, rj := range res.Rejected {
		warn("rule rejected: %s:%d: %s", rj.Path, rj.Line, rj.Reason)
	}
	for _, s := range append(res.Sources, res.BaselineSources...) {
		for i, p := range s.Problems {
			if i == 3 {
				warn("%s: … %d more problems (all are in the JSON export)", s.Path, len(s.Problems)-3)
				break
			}
			warn("%s: offset 0x%x: %s", s.Path, p.Offset, p.Reason)
		}
	}
	findings := res.Filter(triage.Filter{MinLevel: hf.minLevel})
	if err := writeHunt(e, hf, res, findings); err != nil {
		fmt.Fprintf(e.stderr, "evtriage hunt: %s\n", termsafe.Clean(err.Error()))
		return exitPartial
	}
	return status
}

// minMemoryLimit is the smallest soft memory limit hunt sets.
const minMemoryLimit = 64 << 20

// setMemoryLimit asks the Go runtime to keep its memory under 45% of the
// size of the inputs (at least 64 MiB), so that the process, binary and
// stacks included, stays under half, unless GOMEMLIMIT says otherwise. The
// limit is soft: the collector runs more often as memory nears it, and it
// is exceeded rather than failing when the live data needs more.
func setMemoryLimit(files []string) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	var total int64
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			total += fi.Size()
		}
	}
	debug.SetMemoryLimit(max(total/20*9, minMemoryLimit))
}

// writeHunt writes the findings in the chosen format to -o or stdout.
func writeHunt(e *env, hf *huntCmdFlags, res *triage.Result, findings []*triage.Finding) error {
	if hf.format == "table" {
		if hf.out == "" {
			return writeTable(e.stdout, res, findings)
		}
		return atomicWrite(hf.out, func(w io.Writer) error { return writeTable(w, res, findings) })
	}
	format := triage.FormatJSON
	if hf.format == "jsonl" {
		format = triage.FormatJSONL
	}
	if hf.out != "" {
		return triage.Export(hf.out, res, findings, format)
	}
	return triage.WriteExport(e.stdout, res, findings, format)
}

// atomicWrite writes a file through a temporary file and a rename.
func atomicWrite(path string, fn func(io.Writer) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = fn(tmp); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
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

// writeTable prints one line per finding and a summary line.
func writeTable(w io.Writer, res *triage.Result, findings []*triage.Finding) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME (UTC)\tHOST\tLEVEL\tRULE\tNEW\tPID\tPROCESS\tCOMMAND LINE / DETAIL")
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ev.Time.UTC().Format("2006-01-02 15:04:05"),
			cell(ev.Computer), f.Rule.Level, cell(f.Rule.Title), newCol, pid, cell(image), cell(detail))
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
		len(findings), hidden, corr, res.Events, len(res.Sources), res.Duplicates, len(res.Processes))
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
