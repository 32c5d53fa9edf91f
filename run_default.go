package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/evtriage/evtriage/internal/termsafe"
	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/samples"
	"github.com/evtriage/evtriage/triage"
	"github.com/evtriage/evtriage/tui"
)

const defaultSynopsis = "[--rules PATH]... [--no-builtin] [--baseline PATH... | --baseline-window 30d] [--new-key K] [--min-level L] [--tz ZONE] [--case FILE] [--clipboard auto|osc52|off] [--follow [--poll D]] [PATH...]"

// demoTitle is what the screen says when it opens the built-in demo log.
const demoTitle = "built-in demo log (no PATH given)"

// defaultFlags are the hunting screen's parsed flags: the shared ones,
// --all-activity, --clipboard and the paths.
type defaultFlags struct {
	huntFlags
	all       bool
	clipboard string
	caseFile  string
	paths     []string
}

// clipboardEnv is the setting --clipboard overrides: EVTRIAGE_CLIPBOARD.
const clipboardEnv = "EVTRIAGE_CLIPBOARD"

// osc52 says whether y may copy through the terminal (OSC 52): asked for
// by --clipboard (else EVTRIAGE_CLIPBOARD) osc52 or off; by default
// (auto) yes, except over SSH (SSH_CONNECTION or SSH_TTY set), where the
// escape would set the clipboard of the machine the terminal runs on.
func osc52(mode string, getenv func(string) string) bool {
	if mode == "" || mode == "auto" {
		mode = getenv(clipboardEnv)
	}
	switch mode {
	case "osc52":
		return true
	case "off":
		return false
	}
	return getenv("SSH_CONNECTION") == "" && getenv("SSH_TTY") == ""
}

func parseDefaultFlags(e *env, args []string) (*defaultFlags, int, bool) {
	df := &defaultFlags{}
	fs := newFlagSet(e, "", defaultSynopsis)
	df.register(fs, "lowest rule level shown at start (l changes it on screen)")
	fs.BoolVar(&df.all, "all-activity", false, "keep every process's image loads, network and DNS events (default: those of regsvr32 and its descendants, and of matched events)")
	fs.StringVar(&df.clipboard, "clipboard", "auto", "how y copies a field: osc52 (through the terminal, also over SSH), off, or auto (osc52 unless over SSH; the "+clipboardEnv+" setting, else); Y always writes it to a file")
	fs.StringVar(&df.caseFile, "case", "", "the case file marks and notes are kept in (default: "+caseFileName+" beside the first PATH)")
	if code, stop := parseFlags(e, fs, args); stop {
		return nil, code, true
	}
	df.paths = fs.Args()
	df.command = append([]string{}, args...)
	err := df.check()
	if err == nil && df.clipboard != "auto" && df.clipboard != "osc52" && df.clipboard != "off" {
		err = fmt.Errorf("%w: --clipboard %q: want auto, osc52 or off", errUsage, df.clipboard)
	}
	if err == nil && df.follow {
		if len(df.paths) == 0 {
			err = fmt.Errorf("%w: --follow needs a PATH (a log or a folder of logs)", errUsage)
		} else {
			err = followable(df.paths)
		}
	}
	if err == nil && len(df.paths) > 0 && looksLikeCommand(df.paths[0]) {
		err = fmt.Errorf("%w: unknown command %q", errUsage, df.paths[0])
	}
	if err != nil {
		return nil, usageError(e, "", err), true
	}
	return df, exitOK, false
}

// looksLikeCommand reports whether a first argument is more likely a
// mistyped subcommand than a path: it does not exist and has no path or
// extension characters.
func looksLikeCommand(arg string) bool {
	if strings.ContainsAny(arg, `/\.`) {
		return false
	}
	_, err := os.Stat(arg)
	return err != nil
}

// screenConfig builds what the hunting screen opens on: the rules (with
// the case's filter rules), the case, and the files under the PATHs, or
// the built-in demo log when there are none; getenv reads the environment
// (the clipboard setting, SSH). Its errors wrap errUsage.
func screenConfig(df *defaultFlags, getenv func(string) string) (tui.Config, error) {
	cfg := tui.Config{MinLevel: df.minLevel, Location: df.loc, Clipboard: osc52(df.clipboard, getenv)}
	if wd, err := os.Getwd(); err == nil {
		cfg.ExportDir = wd
	}
	in, err := sortPaths(df.paths)
	if err == nil && len(in.exports) > 0 {
		err = df.forExports()
	}
	if err == nil && len(in.exports) > 0 && df.follow {
		err = fmt.Errorf("%w: --follow follows logs (.evtx), not exports", errUsage)
	}
	if err != nil {
		return cfg, err
	}
	cc, err := screenCase(df.caseFile, df.paths, slices.Concat(in.logs, in.exports, df.rules, df.baseline))
	if err != nil {
		return cfg, err
	}
	cfg.Case = cc
	if len(in.exports) > 0 {
		// Exports are read back as they are: no rules, no baseline.
		cfg.Exports = true
		cfg.Hunt = triage.Options{Provenance: df.provenance()}
	} else {
		df.addRules(cc.Case.RulesFolder())
		cfg.Hunt = df.options()
		cfg.Hunt.AllActivity = df.all
		cfg.RuleLoad = df.loadOptions()
	}
	if len(df.paths) == 0 {
		cfg.Title = demoTitle
		cfg.Inputs = []tui.Input{{Name: "demo.evtx (built-in)", Data: samples.Demo()}}
		return cfg, nil
	}
	cfg.Title = strings.Join(df.paths, " ")
	if df.follow {
		// The Follower lists the paths itself, again and again: a folder
		// without logs yet is watched, not a problem.
		cfg.Follow = &tui.Follow{Paths: df.paths, Poll: df.poll}
		for _, f := range in.logs {
			cfg.Inputs = append(cfg.Inputs, tui.Input{Name: f, Path: f})
		}
		return cfg, nil
	}
	// The paths that give nothing to read are inputs too: the screen's
	// hunt records each as a source with its problem (as hunt does), so
	// that the problems view and the exports list them.
	for _, err := range in.errs {
		var ie *parser.InputError
		if errors.As(err, &ie) {
			cfg.Inputs = append(cfg.Inputs, tui.Input{Name: ie.Path, Path: ie.Path, Err: err})
		} else {
			cfg.Notes = append(cfg.Notes, err.Error())
		}
	}
	cfg.Notes = append(cfg.Notes, in.notes...)
	for _, f := range append(in.logs, in.exports...) {
		cfg.Inputs = append(cfg.Inputs, tui.Input{Name: f, Path: f})
	}
	return cfg, nil
}

// runDefault handles a command line with no subcommand: the hunting screen.
func runDefault(e *env, args []string) int {
	df, code, stop := parseDefaultFlags(e, args)
	if stop {
		return code
	}
	cfg, err := screenConfig(df, os.Getenv)
	if err != nil {
		return usageError(e, "", err)
	}
	if !isTerminal(e.stdout) {
		fmt.Fprintln(e.stderr, "evtriage: the hunting screen needs a terminal on standard output; 'evtriage hunt PATH...' works without one")
		return exitUsage
	}
	// SIGINT, SIGTERM and SIGHUP end the screen (the context); Run then
	// discards the exports still being written, as hunt does.
	ctx, stopSignals := onInterrupt(func() {})
	defer stopSignals()
	err = tui.Run(ctx, cfg, e.stdin, e.stdout)
	if sig := stopSignals(); sig != nil {
		msg := ""
		if errors.Is(err, tui.ErrAbandoned) {
			msg = ": the file being written was discarded"
		}
		fmt.Fprintf(e.stderr, "evtriage: interrupted (%v)%s\n", sig, msg)
		return exitSignal(sig)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "evtriage: %s\n", termsafe.Clean(err.Error()))
		return exitPartial
	}
	return exitOK
}
