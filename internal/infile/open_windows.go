//go:build windows

package infile

import (
	"os"
	"syscall"
)

// openRead opens path read-only with every share mode. os.Open (go1.26
// syscall.Open) passes FILE_SHARE_READ|FILE_SHARE_WRITE: enough to read a
// live log that the event log service holds open for writing, but without
// FILE_SHARE_DELETE an open handle keeps the service from renaming the log
// (archiving it when full) or deleting it while evtriage reads or follows
// it. The other arguments are os.Open's: GENERIC_READ, OPEN_EXISTING,
// FILE_FLAG_BACKUP_SEMANTICS, a handle not inherited by child processes.
func openRead(path string) (*os.File, error) {
	name, err := syscall.UTF16PtrFromString(path)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	h, err := syscall.CreateFile(name, syscall.GENERIC_READ,
		syscall.FILE_SHARE_READ|syscall.FILE_SHARE_WRITE|syscall.FILE_SHARE_DELETE,
		nil, syscall.OPEN_EXISTING, syscall.FILE_ATTRIBUTE_NORMAL|syscall.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}
