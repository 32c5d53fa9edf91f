package main

import (
	"bytes"
	"strings"
	"testing"
)

// runCapture runs the program with args and returns its exit code and output.
func runCapture(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestRunTopLevel(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   []string
		stderr   []string
		noStdout bool
	}{
		{name: "help", args: []string{"--help"}, code: exitOK, stdout: []string{"Usage:", "Exit status:"}},
		{name: "short help", args: []string{"-h"}, code: exitOK, stdout: []string{"Commands:"}},
		{name: "version", args: []string{"--version"}, code: exitOK, stdout: []string{"evtriage " + version}},
		{name: "unknown flag", args: []string{"--no-such-flag"}, code: exitUsage, stderr: []string{"--help"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCapture(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			for _, s := range tc.stdout {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout)
				}
			}
			for _, s := range tc.stderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
		})
	}
}

// TestHelpListsEveryCommand checks that --help names each subcommand and
// that each subcommand answers --help with status 0.
func TestHelpListsEveryCommand(t *testing.T) {
	_, top, _ := runCapture(t, "--help")
	for _, c := range commands() {
		if !strings.Contains(top, "  "+c.name+" ") {
			t.Errorf("--help does not list %q", c.name)
		}
		code, out, errs := runCapture(t, c.name, "--help")
		if code != exitOK {
			t.Errorf("%s --help: exit %d (stderr %q)", c.name, code, errs)
		}
		if !strings.Contains(out, "Usage: evtriage "+c.name) {
			t.Errorf("%s --help: no usage line:\n%s", c.name, out)
		}
	}
}
