package main

import (
	"strings"
	"testing"
	"time"
)

// TestTimeZoneFlag: --tz shows hunt's table in the zone named (the
// hunting screen reads the same flag), names it in the header, and leaves
// the JSON in UTC; an unknown zone is a usage error.
func TestTimeZoneFlag(t *testing.T) {
	hostile := hostileLog(t) // one event at 2024-01-01 00:00:00 UTC
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		{"UTC by default", []string{"--format", "table"}, exitOK, []string{"TIME (UTC)", "2024-01-01 00:00:00"}, ""},
		{"Berlin", []string{"--format", "table", "--tz", "Europe/Berlin"}, exitOK, []string{"TIME (Europe/Berlin)", "2024-01-01 01:00:00"}, ""},
		{"Tokyo", []string{"--format", "table", "--tz", "Asia/Tokyo"}, exitOK, []string{"TIME (Asia/Tokyo)", "2024-01-01 09:00:00"}, ""},
		{"utc in any case", []string{"--format", "table", "--tz", "utc"}, exitOK, []string{"TIME (UTC)", "2024-01-01 00:00:00"}, ""},
		{"local", []string{"--format", "table", "--tz", "local"}, exitOK, []string{"TIME (local)", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Local().Format("2006-01-02 15:04:05")}, ""},
		{"JSON stays UTC", []string{"--format", "json", "--tz", "Europe/Berlin"}, exitOK, []string{`"time": "2024-01-01T00:00:00Z"`}, ""},
		{"unknown zone", []string{"--tz", "Mars/Olympus_Mons"}, exitUsage, nil, `unknown --tz "Mars/Olympus_Mons"`},
		{"not a zone name", []string{"--tz", "../../etc/passwd"}, exitUsage, nil, "unknown --tz"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCapture(t, append(append([]string{"hunt"}, tc.args...), hostile)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstderr: %s", code, tc.code, stderr)
			}
			for _, s := range tc.stdout {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout)
				}
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, stderr)
			}
		})
	}
	// The screen reads the same flag into its configuration.
	e := &env{stdout: &strings.Builder{}, stderr: &strings.Builder{}}
	df, code, stop := parseDefaultFlags(e, []string{"--tz", "Europe/Berlin", "x.evtx"})
	if stop {
		t.Fatalf("screen flags stopped with %d: %s", code, e.stderr)
	}
	if cfg, _ := screenConfig(df, func(string) string { return "" }); cfg.Location == nil || cfg.Location.String() != "Europe/Berlin" {
		t.Errorf("screen location %v", cfg.Location)
	}
}
