package parser

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/evtriage/evtriage/internal/infile"
)

// ErrNoEvtx is reported for a folder that holds no .evtx file.
var ErrNoEvtx = errors.New("no .evtx file found")

// An InputError is a PATH, or an entry under a folder PATH, that gives no
// log to read: it does not exist, it is not a regular file (a pipe, socket
// or device, refused at once), it is a link that cannot be followed, or it
// is a folder without .evtx files (ErrNoEvtx).
type InputError struct {
	Path string // the path given, or the entry under it
	Err  error
}

func (e *InputError) Error() string {
	if errors.Is(e.Err, ErrNoEvtx) {
		return "parser: no .evtx file found in " + e.Path
	}
	return "parser: " + e.Err.Error()
}

func (e *InputError) Unwrap() error { return e.Err }

// FindFiles expands paths into the .evtx files to read: a regular file is
// taken as given (whatever its name); a folder is searched recursively for
// entries whose name ends in .evtx (case-insensitive). Under a folder,
// symbolic links named *.evtx are followed to regular files; a link that
// cannot be followed (a loop, a missing target) or leads to something else
// (a pipe, a folder) is reported, and so is every link to a folder (not
// followed), so that nothing is skipped silently. Pipes, sockets and
// devices are refused, given or found. The result is sorted within each
// folder and free of duplicates. Every error is an *InputError; the files
// that could be found are still returned.
func FindFiles(paths []string) ([]string, []error) {
	return FindFilesMatching(paths, func(name string) bool { return strings.HasSuffix(strings.ToLower(name), ".evtx") }, ErrNoEvtx)
}

// FindFilesMatching is FindFiles for the files whose names match (the
// base name of an entry under a folder; a file PATH is taken whatever its
// name): a folder holding none is reported with none (ErrNoEvtx for
// FindFiles).
func FindFilesMatching(paths []string, match func(name string) bool, none error) ([]string, []error) {
	var out []string
	var errs []error
	seen := make(map[string]bool)
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	fail := func(p string, err error) { errs = append(errs, &InputError{Path: p, Err: err}) }
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			fail(p, err)
			continue
		}
		if !fi.IsDir() {
			if err := infile.Check(p, fi); err != nil {
				fail(p, err)
				continue
			}
			add(p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				fail(path, err)
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				return nil
			}
			matched := match(d.Name())
			switch t := d.Type(); {
			case t.IsRegular():
				if matched {
					found = append(found, path)
				}
			case t&fs.ModeSymlink != 0:
				target, err := os.Stat(path)
				switch {
				case err != nil:
					if matched {
						fail(path, fmt.Errorf("symbolic link not followed: %w", err))
					}
				case target.IsDir():
					fail(path, fmt.Errorf("%s: symbolic link to a folder, not followed (give the folder as PATH)", path))
				case !matched:
				case target.Mode().IsRegular():
					found = append(found, path)
				default:
					fail(path, infile.Check(path, target))
				}
			case matched:
				fi, err := d.Info()
				if err == nil {
					err = infile.Check(path, fi)
				}
				fail(path, err)
			}
			return nil
		})
		if err != nil {
			fail(p, fmt.Errorf("walk %s: %w", p, err))
		}
		if len(found) == 0 {
			fail(p, none)
		}
		sort.Strings(found)
		for _, f := range found {
			add(f)
		}
	}
	return out, errs
}
