// Package outfile writes the files evtriage produces (exports, generated
// logs, ground truth) without ever destroying anything:
//
//   - a new or existing regular file is written atomically: into a
//     temporary file in the same folder (".NAME.tmp-*"), synced, renamed
//     over NAME, and the folder synced; until Commit the old file is
//     untouched, and Abort (or a failed write) leaves no temporary file;
//   - a target that exists and is not a regular file (a character or block
//     device such as /dev/null, a named pipe, a /dev/stdout-style link into
//     /proc) is written through, never replaced;
//   - a symbolic link to a regular file is replaced by the new file: the
//     file it pointed to is never written;
//   - "-" is standard output.
//
// CreateUnique is for names the program picks: Commit never replaces a
// file there, it takes the next free name. CreateStream is for an output
// that must be readable while it grows and kept whatever ends it (a hunt
// that follows growing logs): a new file written through, never one that
// exists.
package outfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// Errors Create and Commit return (wrapped with the path and cause).
var (
	ErrIsDir    = errors.New("outfile: is a folder")
	ErrAborted  = errors.New("outfile: aborted")
	ErrNoName   = errors.New("outfile: no free file name")
	ErrNotSeek  = errors.New("outfile: output cannot seek (written through)")
	ErrExists   = errors.New("outfile: file exists")
	errNoOutput = errors.New("outfile: no output path")
)

// maxUnique bounds the names CreateUnique tries.
const maxUnique = 1000

// File is an output being written. Write to it, then Commit; Abort (also
// from another goroutine, e.g. on a signal) discards it. A File is safe for
// one writer plus concurrent Abort.
type File struct {
	path    string             // the name given (or the committed one, for CreateUnique)
	through bool               // written through: no temporary file
	std     io.Writer          // "-": standard output
	name    func(n int) string // CreateUnique's names
	perm    fs.FileMode
	mu      sync.Mutex
	f       *os.File // the temporary file, or the target once opened (written through)
	tmp     string   // temporary file's path ("" when written through)
	closed  bool     // committed or aborted
	aborted bool
}

// Create prepares path for writing. A regular file is prepared atomically
// (its temporary file is created now, so that a missing or read-only
// folder is reported before any work), with mode perm, or the mode of the
// file it replaces. A target that exists and is not a regular file is
// opened for writing at the first Write (opening a pipe waits for its
// reader). A folder is refused (ErrIsDir). "-" writes to std.
func Create(path string, perm fs.FileMode, std io.Writer) (*File, error) {
	switch path {
	case "":
		return nil, errNoOutput
	case "-":
		return &File{path: path, through: true, std: std}, nil
	}
	through, mode, err := kind(path)
	if err != nil {
		return nil, err
	}
	o := &File{path: path, through: through, perm: perm}
	if through {
		return o, nil
	}
	if mode != 0 {
		o.perm = mode.Perm()
	}
	if err := o.createTemp(filepath.Dir(path), filepath.Base(path)); err != nil {
		return nil, err
	}
	return o, nil
}

// CreateUnique prepares a new file in dir whose name Commit picks: name(1),
// name(2)… up to name(1000), the first that does not exist when it is
// committed. No existing file is ever replaced.
func CreateUnique(dir string, name func(n int) string, perm fs.FileMode) (*File, error) {
	o := &File{name: name, perm: perm}
	if err := o.createTemp(dir, name(1)); err != nil {
		return nil, err
	}
	return o, nil
}

// CreateStream prepares path for an output written as it is produced:
// "-" writes to std, and a target that exists and is not a regular file
// (a device, a pipe) is written through, as Create does; otherwise path
// must not exist (a regular file, or a link to one, is refused with
// ErrExists: a stream never replaces a file) and is created now, with
// mode perm, and written through. What was written stays written: Abort
// and Commit both close the file.
func CreateStream(path string, perm fs.FileMode, std io.Writer) (*File, error) {
	switch path {
	case "":
		return nil, errNoOutput
	case "-":
		return &File{path: path, through: true, std: std}, nil
	}
	through, _, err := kind(path)
	if err != nil {
		return nil, err
	}
	if through {
		return &File{path: path, through: true}, nil
	}
	if _, err := os.Lstat(path); err == nil {
		return nil, fmt.Errorf("%w: %s (a stream is written to a new file)", ErrExists, path)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return nil, fmt.Errorf("outfile: %w", err)
	}
	return &File{path: path, through: true, f: f, perm: perm}, nil
}

// kind says whether path is written through (it exists and is not a
// regular file) and the mode of an existing regular file it replaces.
func kind(path string) (through bool, mode fs.FileMode, err error) {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, 0, nil
	case err != nil:
		return false, 0, fmt.Errorf("outfile: %w", err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		if intoProc(path) {
			return true, 0, nil
		}
		target, err := os.Stat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return false, 0, nil // a dangling link: replaced
		case err != nil:
			return false, 0, fmt.Errorf("outfile: %w", err)
		case target.Mode().IsRegular():
			return false, 0, nil // the link is replaced, its target left alone
		}
		fi = target
	}
	switch {
	case fi.IsDir():
		return false, 0, fmt.Errorf("%w: %s", ErrIsDir, path)
	case fi.Mode().IsRegular():
		return false, fi.Mode(), nil
	}
	return true, 0, nil
}

// intoProc reports whether the symbolic link at path leads, in one or more
// steps, into /proc (/dev/stdout → /proc/self/fd/1): such a link names an
// open file of the process, which is written, not replaced.
func intoProc(path string) bool {
	p := path
	for range 40 {
		dir, err := filepath.EvalSymlinks(filepath.Dir(p))
		if err != nil {
			return false
		}
		if dir == "/proc" || strings.HasPrefix(dir, "/proc/") {
			return true
		}
		target, err := os.Readlink(p)
		if err != nil {
			return false
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(dir, target)
		}
		if target == "/proc" || strings.HasPrefix(target, "/proc/") {
			return true
		}
		p = target
	}
	return false
}

func (o *File) createTemp(dir, base string) error {
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("outfile: %w", err)
	}
	if o.perm != 0 && o.perm != 0o600 {
		if err := f.Chmod(o.perm); err != nil {
			f.Close()
			os.Remove(f.Name())
			return fmt.Errorf("outfile: %w", err)
		}
	}
	o.f, o.tmp = f, f.Name()
	return nil
}

// Name is the file's name: the path given, or for CreateUnique the name
// Commit picked ("" before).
func (o *File) Name() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.path
}

// Through reports whether the output is written through (standard output,
// a device, a pipe): it is not atomic and cannot Seek.
func (o *File) Through() bool { return o.through }

// target returns the writer, opening a written-through target on first
// use.
func (o *File) target() (io.Writer, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil, fmt.Errorf("%w: %s", ErrAborted, o.path)
	}
	if o.std != nil {
		return o.std, nil
	}
	if o.f == nil {
		f, err := os.OpenFile(o.path, os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			return nil, fmt.Errorf("outfile: %w", err)
		}
		o.f = f
	}
	return o.f, nil
}

// Write writes to the temporary file or the target.
func (o *File) Write(p []byte) (int, error) {
	w, err := o.target()
	if err != nil {
		return 0, err
	}
	return w.Write(p)
}

// Seek moves in the temporary file; written-through outputs cannot seek
// (ErrNotSeek).
func (o *File) Seek(offset int64, whence int) (int64, error) {
	if o.through {
		return 0, ErrNotSeek
	}
	o.mu.Lock()
	f := o.f
	o.mu.Unlock()
	if f == nil {
		return 0, ErrAborted
	}
	return f.Seek(offset, whence)
}

// Commit makes the output final: the temporary file is synced, closed,
// renamed over the target (CreateUnique: linked under the first free name)
// and the folder synced. A written-through target is synced where it can
// be and closed. After an Abort, Commit returns ErrAborted and changes
// nothing.
func (o *File) Commit() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return fmt.Errorf("%w: %s", ErrAborted, o.path)
	}
	o.closed = true
	if o.through {
		if o.f == nil {
			return nil
		}
		err := o.f.Sync()
		if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) {
			err = nil // devices and pipes cannot sync
		}
		if cerr := o.f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("outfile: %w", err)
		}
		return nil
	}
	err := o.f.Sync()
	if cerr := o.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if o.name != nil {
			err = o.linkUnique()
		} else {
			err = os.Rename(o.tmp, o.path)
		}
	}
	if err != nil {
		os.Remove(o.tmp)
		return fmt.Errorf("outfile: %w", err)
	}
	return syncDir(filepath.Dir(o.path))
}

// linkUnique gives the temporary file the first free name and removes its
// temporary name. Called with o.mu held.
func (o *File) linkUnique() error {
	dir := filepath.Dir(o.tmp)
	for n := 1; n <= maxUnique; n++ {
		p := filepath.Join(dir, o.name(n))
		err := os.Link(o.tmp, p)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			// A file system without hard links: check, then rename (a
			// file created in between would be replaced).
			if _, serr := os.Lstat(p); serr == nil {
				continue
			}
			if err := os.Rename(o.tmp, p); err != nil {
				return err
			}
		}
		o.path = p
		os.Remove(o.tmp)
		return nil
	}
	return fmt.Errorf("%w in %s", ErrNoName, dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("outfile: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return fmt.Errorf("outfile: sync %s: %w", dir, err)
	}
	return nil
}

// Abort discards the output: the temporary file is closed and removed and
// the target stays as it was. A written-through target is closed (what was
// written to it stays written). Abort after Commit does nothing; it is
// safe to call from another goroutine while the output is being written.
func (o *File) Abort() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return
	}
	o.closed, o.aborted = true, true
	if o.f != nil {
		o.f.Close()
	}
	if o.tmp != "" {
		os.Remove(o.tmp)
	}
}

// Aborted reports whether Abort discarded the output.
func (o *File) Aborted() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.aborted
}

// Write is Create, fn writing the content, then Commit; when fn fails the
// output is aborted and its error returned.
func Write(path string, perm fs.FileMode, std io.Writer, fn func(io.Writer) error) error {
	o, err := Create(path, perm, std)
	if err != nil {
		return err
	}
	if err := fn(o); err != nil {
		o.Abort()
		return err
	}
	return o.Commit()
}
