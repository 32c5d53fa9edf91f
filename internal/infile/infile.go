// Package infile opens the files evtriage reads (logs, rules, their
// configuration, baselines): read-only, regular files only. A named pipe,
// socket or device is refused at once with a clear reason instead of
// blocking (opening a pipe waits for a writer) or reading forever
// (/dev/zero).
package infile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// ErrNotRegular is returned for a path that is not a regular file.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is returned by ReadAll for a file larger than its bound.
var ErrTooLarge = errors.New("file too large")

// Check returns an error wrapping ErrNotRegular, naming path and what it
// is, unless fi describes a regular file.
func Check(path string, fi fs.FileInfo) error {
	m := fi.Mode()
	if m.IsRegular() {
		return nil
	}
	what := "special file"
	switch {
	case m.IsDir():
		what = "folder"
	case m&fs.ModeNamedPipe != 0:
		what = "named pipe"
	case m&fs.ModeSocket != 0:
		what = "socket"
	case m&fs.ModeCharDevice != 0:
		what = "character device"
	case m&fs.ModeDevice != 0:
		what = "block device"
	case m&fs.ModeSymlink != 0:
		what = "symbolic link"
	}
	return fmt.Errorf("%s: %w (%s)", path, ErrNotRegular, what)
}

// Open opens path read-only after checking that it is a regular file: the
// path is checked before it is opened and the open file again (it may have
// been swapped in between); the open never blocks. On Windows the file is
// shared for reading, writing and deleting, so that a live log stays
// usable by the event log service (see openRead).
func Open(path string) (*os.File, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := Check(path, fi); err != nil {
		return nil, err
	}
	f, err := openRead(path)
	if err != nil {
		return nil, err
	}
	if fi, err = f.Stat(); err == nil {
		err = Check(path, fi)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// ReadAll reads a whole regular file of at most max bytes; a larger one is
// refused with ErrTooLarge without reading more than max+1 bytes.
func ReadAll(path string, max int64) ([]byte, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: %w (more than %d bytes)", path, ErrTooLarge, max)
	}
	return data, nil
}
