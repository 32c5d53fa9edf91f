package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// version and commit identify a release build; set them with
//
//	go build -trimpath -ldflags "-X main.version=v1.2.3 -X main.commit=$(git rev-parse HEAD)"
//
// Without -ldflags, versionInfo falls back to what the Go toolchain stamped
// into the binary: the module version (go install …@vX) and the VCS revision
// of the checkout it was built in.
var (
	version = "0.1.0-dev"
	commit  = ""
)

// buildInfo is what --version prints, gathered once from the link-time
// values and the binary's build information.
type buildInfo struct {
	Version  string
	Commit   string // full revision, "" when unknown
	Modified bool   // built from a checkout with uncommitted changes
	Go       string // toolchain version
	Platform string // GOOS/GOARCH
}

// readBuildInfo fills a buildInfo from the link-time values, falling back to
// debug.ReadBuildInfo for what they leave empty. read is debug.ReadBuildInfo
// outside tests.
func readBuildInfo(read func() (*debug.BuildInfo, bool)) buildInfo {
	b := buildInfo{Version: version, Commit: commit, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	bi, ok := read()
	if !ok {
		return b
	}
	// A module version stamped by `go install …@vX.Y.Z` wins over the
	// default; "(devel)" is what a plain checkout build says.
	if v := bi.Main.Version; version == "0.1.0-dev" && v != "" && v != "(devel)" && !strings.HasPrefix(v, "v0.0.0-") {
		b.Version = v
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if b.Commit == "" {
				b.Commit = s.Value
			}
		case "vcs.modified":
			if commit == "" {
				b.Modified = s.Value == "true"
			}
		}
	}
	return b
}

// String is the --version line: "evtriage VERSION (commit C[, modified], GO OS/ARCH)".
func (b buildInfo) String() string {
	c := b.Commit
	if c == "" {
		c = "unknown"
	} else if len(c) > 12 {
		c = c[:12]
	}
	if b.Modified {
		c += ", modified"
	}
	return fmt.Sprintf("evtriage %s (commit %s, %s %s)", b.Version, c, b.Go, b.Platform)
}
