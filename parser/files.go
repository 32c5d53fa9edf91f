package parser

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// FindFiles expands paths into the .evtx files to read: a file is taken as
// given (whatever its name), a folder is searched recursively for files whose
// name ends in .evtx (case-insensitive). The result is sorted within each
// folder and free of duplicates. Errors name the path; the files that could
// be found are still returned.
func FindFiles(paths []string) ([]string, []error) {
	var out []string
	var errs []error
	seen := make(map[string]bool)
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("parser: %w", err))
			continue
		}
		if !fi.IsDir() {
			add(p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				errs = append(errs, fmt.Errorf("parser: %w", err))
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() && strings.HasSuffix(strings.ToLower(d.Name()), ".evtx") {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("parser: walk %s: %w", p, err))
		}
		sort.Strings(found)
		for _, f := range found {
			add(f)
		}
	}
	return out, errs
}
