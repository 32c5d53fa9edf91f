//go:build !windows

package infile

import (
	"os"
	"syscall"
)

// openRead opens path read-only without blocking (a pipe swapped in after
// the check would otherwise wait for a writer). An open file never keeps
// others from writing, renaming or removing it here.
func openRead(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
