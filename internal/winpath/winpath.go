// Package winpath handles the paths evidence carries: Windows paths
// (C:\Windows\System32\regsvr32.exe), which logs and tools also write with
// forward slashes, and the POSIX paths of the files read.
package winpath

import "strings"

// Base returns the last element of a Windows or POSIX path: what follows
// the last `\` or `/`. Unlike path/filepath.Base it never cleans the path,
// so a trailing separator gives "" and the result is always a suffix of p.
func Base(p string) string {
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		return p[i+1:]
	}
	return p
}
