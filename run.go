package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/evtriage/evtriage/internal/termsafe"
)

// Exit codes, documented in the README.
const (
	exitOK      = 0 // success
	exitPartial = 1 // some input could not be read or some rule was rejected; the rest was processed
	exitUsage   = 2 // usage error
)

// errUsage marks an error in how the command was called; it maps to exit 2.
var errUsage = errors.New("usage")

// env is what a command needs from the process: its streams.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(e *env, args []string) int
}

// commands lists the subcommands in the order --help shows them.
func commands() []command {
	return []command{
		huntCommand(),
		dumpCommand(),
		statsCommand(),
		rulesCommand(),
		cmdGen(),
	}
}

// run is the whole program: it parses args, runs a subcommand and returns the
// exit code. main calls it; tests call it directly.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) > 0 {
		switch args[0] {
		case "-h", "-help", "--help", "help":
			usage(stdout)
			return exitOK
		case "-version", "--version", "version":
			fmt.Fprintln(stdout, readBuildInfo(debug.ReadBuildInfo))
			return exitOK
		}
		for _, c := range commands() {
			if c.name == args[0] {
				return c.run(e, args[1:])
			}
		}
	}
	return runDefault(e, args)
}

// usage prints the top-level help.
func usage(w io.Writer) {
	fmt.Fprintf(w, `evtriage %s — triage Windows event logs for regsvr32 abuse (T1218.010)

Usage:
  evtriage [flags] [PATH...]     open the hunting screen (no PATH: the built-in demo log)
  evtriage COMMAND [flags] ...   run a headless command

Commands:
`, version)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
PATH is an .evtx file or a folder (searched recursively for *.evtx), or
evtriage exports (.json/.jsonl files, or a folder of them, as a fleet's
hunt leaves them) to read back: logs or exports, not both.
Run 'evtriage COMMAND --help' for a command's flags.

Exit status: 0 success; 1 some input could not be read or some rule was
rejected (the rest was processed and reported); 2 usage error.
`)
}

// usageError reports a usage error on stderr and returns exit code 2.
func usageError(e *env, cmd string, err error) int {
	prefix := "evtriage"
	if cmd != "" {
		prefix += " " + cmd
	}
	msg := termsafe.Clean(strings.TrimPrefix(err.Error(), errUsage.Error()+": "))
	fmt.Fprintf(e.stderr, "%s: %s\nRun '%s --help' for usage.\n", prefix, msg, prefix)
	return exitUsage
}

// newFlagSet returns a flag set for a subcommand that reports errors instead
// of exiting, with a usage text printed on -h/--help.
func newFlagSet(e *env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(e.stdout, "Usage: evtriage %s\n\nFlags:\n", synopsis)
		fs.SetOutput(e.stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// parseFlags parses args with fs. Flags may follow arguments (hunt
// ev.evtx -o out.json); after "--" everything is an argument. The
// arguments are left in fs.Args(). It returns (exit code, true) when the
// command should stop: after --help (0) or on a usage error (2).
func parseFlags(e *env, fs *flag.FlagSet, args []string) (int, bool) {
	// The flag package calls Usage itself on -h and on errors; print the
	// usage once, on -h only, and a one-line reason on errors.
	printUsage := fs.Usage
	fs.Usage = func() {}
	defer func() { fs.Usage = printUsage }()
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printUsage()
				return exitOK, true
			}
			return usageError(e, fs.Name(), err), true
		}
		left := fs.Args()
		if len(left) == 0 {
			break
		}
		if i := len(args) - len(left); i > 0 && args[i-1] == "--" {
			rest = append(rest, left...) // after "--": all arguments
			break
		}
		rest = append(rest, left[0])
		args = left[1:]
	}
	// Leave the arguments in fs.Args().
	if err := fs.Parse(append([]string{"--"}, rest...)); err != nil {
		return usageError(e, fs.Name(), err), true
	}
	return exitOK, false
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// writeJSON writes v as indented JSON, made terminal-safe (evidence and
// rule text in it is escaped by termsafe.EscapeJSON).
func writeJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(termsafe.EscapeJSON(buf.Bytes()))
	return err
}

// multiFlag is a repeatable string flag (--rules A --rules B).
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }
