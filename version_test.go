package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestReadBuildInfo(t *testing.T) {
	settings := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i+1 < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	tests := []struct {
		name         string
		ldVersion    string
		ldCommit     string
		info         *debug.BuildInfo
		wantVersion  string
		wantCommit   string
		wantModified bool
		wantInLine   []string
		notInLine    []string
	}{
		{
			name:        "checkout build: revision from the toolchain",
			ldVersion:   "0.1.0-dev",
			info:        &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: settings("vcs.revision", "0123456789abcdef0123", "vcs.modified", "true")},
			wantVersion: "0.1.0-dev", wantCommit: "0123456789abcdef0123", wantModified: true,
			wantInLine: []string{"evtriage 0.1.0-dev", "commit 0123456789ab, modified"},
		},
		{
			name:      "release build: ldflags win over the toolchain",
			ldVersion: "v1.2.3", ldCommit: "feedfacefeedfacefeed",
			info:        &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: settings("vcs.revision", "0123456789abcdef", "vcs.modified", "true")},
			wantVersion: "v1.2.3", wantCommit: "feedfacefeedfacefeed",
			wantInLine: []string{"evtriage v1.2.3", "commit feedfacefeed,"}, notInLine: []string{"modified"},
		},
		{
			name:        "go install module@version",
			ldVersion:   "0.1.0-dev",
			info:        &debug.BuildInfo{Main: debug.Module{Version: "v0.3.0"}},
			wantVersion: "v0.3.0",
			wantInLine:  []string{"evtriage v0.3.0", "commit unknown"},
		},
		{
			name:        "pseudo-version is not a release",
			ldVersion:   "0.1.0-dev",
			info:        &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20260101000000-abcdef123456"}},
			wantVersion: "0.1.0-dev",
		},
		{
			name:        "no build info",
			ldVersion:   "0.1.0-dev",
			wantVersion: "0.1.0-dev",
			wantInLine:  []string{"commit unknown"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			oldV, oldC := version, commit
			t.Cleanup(func() { version, commit = oldV, oldC })
			version, commit = tc.ldVersion, tc.ldCommit
			b := readBuildInfo(func() (*debug.BuildInfo, bool) { return tc.info, tc.info != nil })
			if b.Version != tc.wantVersion || b.Commit != tc.wantCommit || b.Modified != tc.wantModified {
				t.Errorf("got %+v, want version %q commit %q modified %v", b, tc.wantVersion, tc.wantCommit, tc.wantModified)
			}
			line := b.String()
			for _, s := range tc.wantInLine {
				if !strings.Contains(line, s) {
					t.Errorf("%q lacks %q", line, s)
				}
			}
			for _, s := range tc.notInLine {
				if strings.Contains(line, s) {
					t.Errorf("%q has %q", line, s)
				}
			}
		})
	}
}
