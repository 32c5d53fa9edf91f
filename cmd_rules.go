package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/evtriage/evtriage/internal/termsafe"
	"github.com/evtriage/evtriage/rules"
)

// rulesCommand is `evtriage rules`: which rules load and which are refused.
func rulesCommand() command {
	return command{name: "rules", summary: "list the loaded Sigma rules and the rejected ones (with reasons)", run: runRules}
}

const rulesSynopsis = "rules [--rules PATH]... [--no-builtin] [--rules-config FILE] [--format table|json]"

// ruleEntry is one loaded rule in `rules --format json`.
type ruleEntry struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	Level   string `json:"level"`
	Path    string `json:"path"`
	Line    int    `json:"line"`
	Builtin bool   `json:"builtin"`
	// Kind is "detection" or "correlation".
	Kind string `json:"kind"`
	// Applies is false for rules whose logsource no Windows log carries
	// (Linux, cloud…): they load but never match an .evtx event.
	Applies bool `json:"applies"`
}

// rulesReport is `rules --format json`.
type rulesReport struct {
	Loaded   []ruleEntry       `json:"loaded"`
	Rejected []rules.Rejection `json:"rejected"`
	// Skipped lists copies of built-in rules (same id) found in --rules
	// paths; the built-in copy is used.
	Skipped []rules.Rejection `json:"skipped"`
}

func runRules(e *env, args []string) int {
	fs := newFlagSet(e, "rules", rulesSynopsis)
	var paths multiFlag
	fs.Var(&paths, "rules", "Sigma rule file or folder to load (repeatable)")
	noBuiltin := fs.Bool("no-builtin", false, "do not load the built-in regsvr32 rule pack")
	config := fs.String("rules-config", "", "rules configuration file (placeholders for |expand, logsource table overrides)")
	format := fs.String("format", "table", "output format: table or json")
	if code, stop := parseFlags(e, fs, args); stop {
		return code
	}
	if *format != "table" && *format != "json" {
		return usageError(e, "rules", fmt.Errorf("unknown --format %q (want table or json)", *format))
	}
	if fs.NArg() > 0 {
		return usageError(e, "rules", fmt.Errorf("unexpected argument %q (rule paths go after --rules)", fs.Arg(0)))
	}
	set := rules.Load(rules.LoadOptions{NoBuiltin: *noBuiltin, Paths: paths, Config: *config})
	rep := rulesReport{Loaded: []ruleEntry{}, Rejected: []rules.Rejection{}, Skipped: []rules.Rejection{}}
	for _, r := range set.Rules() {
		kind := "detection"
		if r.Correlation != nil {
			kind = "correlation"
		}
		rep.Loaded = append(rep.Loaded, ruleEntry{ID: r.ID, Title: r.Title, Level: r.Level.String(), Path: r.Path,
			Line: r.Line, Builtin: r.Builtin, Kind: kind, Applies: r.Correlation != nil || !r.Unmapped})
	}
	rep.Rejected = append(rep.Rejected, set.Rejected()...)
	rep.Skipped = append(rep.Skipped, set.Skipped()...)
	var err error
	if *format == "json" {
		err = writeJSON(e.stdout, rep)
	} else {
		err = writeRulesTable(e.stdout, &rep)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "evtriage rules: %s\n", termsafe.Clean(err.Error()))
		return exitPartial
	}
	if len(rep.Rejected) > 0 {
		return exitPartial
	}
	return exitOK
}

// writeRulesTable prints the loaded rules, then the refused and skipped
// ones, then a summary. Text from rule files is sanitised.
func writeRulesTable(w io.Writer, rep *rulesReport) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LEVEL\tID\tTITLE\tSOURCE")
	notWin := 0
	for _, r := range rep.Loaded {
		src := fmt.Sprintf("%s:%d", r.Path, r.Line)
		title := r.Title
		if r.Kind == "correlation" {
			title = "[correlation] " + title
		}
		if !r.Applies {
			notWin++
			title += " [no Windows log]"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Level, termsafe.Clean(r.ID), termsafe.Clean(title), termsafe.Clean(src))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(rep.Rejected) > 0 {
		fmt.Fprintf(w, "\nRejected (%d):\n", len(rep.Rejected))
		for _, r := range rep.Rejected {
			fmt.Fprintf(w, "  %s:%d: %s\n", termsafe.Clean(r.Path), r.Line, termsafe.Clean(r.Reason))
		}
	}
	if len(rep.Skipped) > 0 {
		fmt.Fprintf(w, "\nSkipped (%d):\n", len(rep.Skipped))
		for _, r := range rep.Skipped {
			fmt.Fprintf(w, "  %s:%d: %s\n", termsafe.Clean(r.Path), r.Line, termsafe.Clean(r.Reason))
		}
	}
	_, err := fmt.Fprintf(w, "\n%d rules loaded (%d never apply to Windows logs), %d rejected, %d skipped\n",
		len(rep.Loaded), notWin, len(rep.Rejected), len(rep.Skipped))
	return err
}
