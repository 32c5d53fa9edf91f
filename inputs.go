package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/triage"
)

// pathInputs are what PATH arguments give: logs to hunt, or evtriage
// exports to read back (never both).
type pathInputs struct {
	logs    []string
	exports []string
	// errs are the PATHs, or entries under them, that gave nothing: each
	// a *parser.InputError.
	errs []error
	// notes say what was passed over that is not a problem: JSON files
	// under a folder that are not evtriage exports.
	notes []string
}

// sortPaths expands PATHs into logs or exports. A file named *.json,
// *.jsonl or *.ndjson is an export if it is one (triage.IsExport; else an
// error: CSV and Timesketch exports cannot be read back); any other file
// is a log. A folder holding .evtx files gives its logs, searched
// recursively as ever; a folder holding none gives the evtriage exports
// under it (other JSON files there, such as a Velociraptor collection's
// own, are passed over and counted in a note). PATHs that give both logs
// and exports are a usage error: a hunt's findings and an export's are
// not made the same way, so one screen shows one or the other.
func sortPaths(paths []string) (pathInputs, error) {
	var in pathInputs
	for _, p := range paths {
		fi, err := os.Stat(p)
		switch {
		case err == nil && fi.IsDir():
			in.folder(p)
		case err == nil && triage.IsExportName(p):
			in.exportFile(p)
		default:
			files, errs := parser.FindFiles([]string{p})
			in.logs = append(in.logs, files...)
			in.errs = append(in.errs, errs...)
		}
	}
	if len(in.logs) > 0 && len(in.exports) > 0 {
		return in, fmt.Errorf("%w: the PATHs give both logs (%s…) and evtriage exports (%s…): open one kind at a time; to see logs beside exports, hunt the logs to an export first (evtriage hunt -o HOST.jsonl LOGS)",
			errUsage, in.logs[0], in.exports[0])
	}
	return in, nil
}

// exportFile takes a file named as an export.
func (in *pathInputs) exportFile(p string) {
	ok, err := triage.IsExport(p)
	switch {
	case err != nil:
		in.errs = append(in.errs, &parser.InputError{Path: p, Err: err})
	case !ok:
		in.errs = append(in.errs, &parser.InputError{Path: p, Err: fmt.Errorf("%s: %w (a JSON document or JSON Lines that hunt or the screen wrote; CSV and Timesketch exports are not read back)", p, triage.ErrNotExport)})
	default:
		in.exports = append(in.exports, p)
	}
}

// folder takes a folder's logs, or if it has none its exports.
func (in *pathInputs) folder(p string) {
	files, errs := parser.FindFiles([]string{p})
	if len(files) > 0 || !onlyNoEvtx(errs, p) {
		in.logs = append(in.logs, files...)
		in.errs = append(in.errs, errs...)
		return
	}
	// A folder with neither logs nor exports says so as ever (ErrNoEvtx).
	cands, errs := parser.FindFilesMatching([]string{p}, triage.IsExportName, parser.ErrNoEvtx)
	in.errs = append(in.errs, errs...)
	skipped := 0
	for _, c := range cands {
		ok, err := triage.IsExport(c)
		switch {
		case err != nil:
			in.errs = append(in.errs, &parser.InputError{Path: c, Err: err})
		case ok:
			in.exports = append(in.exports, c)
		default:
			skipped++
		}
	}
	if skipped > 0 {
		in.notes = append(in.notes, fmt.Sprintf("%s: %d .json/.jsonl files are not evtriage exports (passed over)", p, skipped))
	}
	if len(cands) > 0 && skipped == len(cands) {
		in.errs = append(in.errs, &parser.InputError{Path: p, Err: parser.ErrNoEvtx})
	}
}

// onlyNoEvtx reports whether errs is the one error of folder p holding no
// .evtx file.
func onlyNoEvtx(errs []error, p string) bool {
	var ie *parser.InputError
	return len(errs) == 1 && errors.As(errs[0], &ie) && ie.Path == p && errors.Is(ie.Err, parser.ErrNoEvtx)
}
