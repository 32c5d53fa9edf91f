package main

import (
	"errors"
	"flag"
	"fmt"

	"github.com/evtriage/evtriage/internal/termsafe"
	"github.com/evtriage/evtriage/parser"
)

// readFlags are the reading flags that dump and stats share.
type readFlags struct {
	carve   bool
	workers int
}

// register adds --carve and --workers to fs.
func (r *readFlags) register(fs *flag.FlagSet, carveUsage string) {
	fs.BoolVar(&r.carve, "carve", true, carveUsage)
	fs.IntVar(&r.workers, "workers", 0, "chunks decoded in parallel (0: one per CPU)")
}

// inputs checks the flags and PATH arguments of cmd and expands them into
// files. Paths that cannot be listed are reported on stderr and make the
// exit code exitPartial; the files that were found are still returned. When
// stop is true the command ends with code (a usage error).
func (r *readFlags) inputs(e *env, cmd string, fs *flag.FlagSet) (files []string, code int, stop bool) {
	if fs.NArg() == 0 {
		return nil, usageError(e, cmd, errors.New("no PATH given")), true
	}
	if r.workers < 0 {
		return nil, usageError(e, cmd, errors.New("--workers must be >= 0")), true
	}
	files, errs := parser.FindFiles(fs.Args())
	code = exitOK
	for _, err := range errs {
		fmt.Fprintf(e.stderr, "evtriage %s: %s\n", cmd, termsafe.Clean(err.Error()))
		code = exitPartial
	}
	return files, code, false
}
