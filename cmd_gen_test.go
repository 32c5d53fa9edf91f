package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evtriage/evtriage/internal/golden"
	"github.com/evtriage/evtriage/samples"
)

// TestGenList pins the scenario list (golden file).
func TestGenList(t *testing.T) {
	code, out, errs := runCapture(t, "gen", "--list")
	if code != exitOK || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	golden.Assert(t, "gen-list.txt", []byte(out))
	for _, s := range samples.Scenarios() {
		if !strings.Contains(out, s.Name+" ") {
			t.Errorf("--list lacks %s", s.Name)
		}
	}
	for _, p := range samples.Profiles() {
		if !strings.Contains(out, p.Name+" ") {
			t.Errorf("--list lacks profile %s", p.Name)
		}
	}
}

func TestGenUsageErrors(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "x.evtx")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no output", []string{"gen"}, "-o FILE is required"},
		{"unknown scenario", []string{"gen", "--scenario", "nope", "-o", out}, "unknown scenario"},
		{"unknown form", []string{"gen", "--form", "nope", "-o", out}, "unknown log form"},
		{"unknown profile", []string{"gen", "--profile", "nope", "-o", out}, "unknown profile"},
		{"sysmon profile without sysmon", []string{"gen", "--profile", "sysmon-dense", "--form", "security-v1", "-o", out}, "needs a log form with Sysmon"},
		{"bad size", []string{"gen", "--size", "12XB", "-o", out}, "invalid size"},
		{"events and size", []string{"gen", "--events", "10", "--size", "1MB", "-o", out}, "not both"},
		{"bad start", []string{"gen", "--start", "yesterday", "-o", out}, "--start"},
		{"extra argument", []string{"gen", "-o", out, "more"}, "unexpected argument"},
		{"unknown flag", []string{"gen", "--nope"}, "--help"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errs := runCapture(t, c.args...)
			if code != exitUsage || !strings.Contains(errs, c.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errs, exitUsage, c.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("a failed gen left its output file")
			}
		})
	}
}

// TestGenWritesLogAndTruth: gen writes what samples.Generate writes for the
// same options, deterministically, and the --truth JSON decodes to its
// truth.
func TestGenWritesLogAndTruth(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.evtx"), filepath.Join(dir, "b.evtx")
	tj := filepath.Join(dir, "truth.json")
	args := []string{"gen", "--scenario", "children", "--hosts", "2", "--events", "400", "--seed", "9", "--start", "2026-05-01T10:00:00Z"}
	code, out, errs := runCapture(t, append(args, "-o", a, "--truth", tj)...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, s := range []string{"wrote " + a, "scenario children, seed 9: 400 events on 2 hosts", "rule " + samples.RuleCARRegsvr32Child} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	if code, _, errs := runCapture(t, append(args, "-o", b)...); code != exitOK {
		t.Fatalf("second run: exit %d: %s", code, errs)
	}
	da, _ := os.ReadFile(a)
	db, _ := os.ReadFile(b)
	if len(da) == 0 || !bytes.Equal(da, db) {
		t.Fatal("two runs with the same flags differ")
	}
	var truth samples.Truth
	raw, err := os.ReadFile(tj)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &truth); err != nil {
		t.Fatal(err)
	}
	if truth.Events != 400 || len(truth.Hosts) != 2 || len(truth.Flag[samples.RuleCARSpawningChildren]) == 0 || len(truth.Parent) == 0 {
		t.Errorf("truth: %d events, %d hosts, %d flagged, %d parents", truth.Events, len(truth.Hosts),
			len(truth.Flag[samples.RuleCARSpawningChildren]), len(truth.Parent))
	}
}

func TestParseSize(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"256MB", 256 << 20, true}, {"256mb", 256 << 20, true}, {"1GiB", 1 << 30, true}, {"64K", 64 << 10, true},
		{"1000", 1000, true}, {"10 MB", 10 << 20, true}, {"0", 0, false}, {"-5MB", 0, false}, {"MB", 0, false},
		{"1.5GB", 0, false}, {"99999999999G", 0, false},
	}
	for _, c := range cases {
		got, err := parseSize(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}
