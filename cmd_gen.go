package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/evtriage/evtriage/internal/outfile"
	"github.com/evtriage/evtriage/internal/termsafe"
	"github.com/evtriage/evtriage/samples"
)

func cmdGen() command {
	return command{name: "gen", summary: "write a synthetic .evtx log (scenarios with ground truth)", run: runGen}
}

// runGen implements `evtriage gen`.
func runGen(e *env, args []string) int {
	fs := newFlagSet(e, "gen", "gen [--scenario NAME|all] [--profile P] [--hosts N] [--form F] [--events N | --size 256MB] [--seed N] [--truth FILE] -o FILE\n       evtriage gen --list")
	scenario := fs.String("scenario", "all", "scenario `name` (see --list), or all")
	profile := fs.String("profile", samples.ProfileDefault, "background `profile` (see --list): "+strings.Join(profileNames(), ", "))
	hosts := fs.Int("hosts", 0, "number of hosts (default: one per log form, 5; demo and the Sysmon profiles: 1)")
	form := fs.String("form", "", "give every host this log `form`: "+strings.Join(samples.FormNames(), ", ")+" (default: host i keeps form i mod 5)")
	events := fs.Int("events", 0, "stop after this many events (default 5000 per host)")
	size := fs.String("size", "", "stop once the file reaches this `size` (e.g. 256MB, 1GiB; K/M/G are powers of 1024)")
	seed := fs.Int64("seed", 1, "random seed; the same flags give the same file")
	start := fs.String("start", "", "time of the first event, RFC 3339 (default 2026-03-02T07:30:00Z)")
	duration := fs.Duration("duration", 0, "time span the background activity is planned over (default 24h)")
	out := fs.String("o", "", "output `file` (required; written atomically; a device or pipe is written through; - is standard output)")
	truthPath := fs.String("truth", "", "also write the ground truth as JSON to this `file`")
	list := fs.Bool("list", false, "list the scenarios and exit")
	if code, stop := parseFlags(e, fs, args); stop {
		return code
	}
	if *list {
		for _, s := range samples.Scenarios() {
			fmt.Fprintf(e.stdout, "%-14s %s\n", s.Name, s.Description)
		}
		fmt.Fprintf(e.stdout, "%-14s %s\n", "all", "every scenario's chains (except demo) on every host")
		fmt.Fprintf(e.stdout, "\nprofiles (--profile; the background every scenario is planted in):\n")
		for _, p := range samples.Profiles() {
			fmt.Fprintf(e.stdout, "%-16s %s\n", p.Name, p.Description)
		}
		return exitOK
	}
	if fs.NArg() > 0 {
		return usageError(e, "gen", fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0)))
	}
	if *out == "" {
		return usageError(e, "gen", fmt.Errorf("%w: -o FILE is required", errUsage))
	}
	opts := samples.Options{Scenario: *scenario, Profile: *profile, Form: *form, Hosts: *hosts, Events: *events, Seed: *seed, Duration: *duration}
	if *size != "" {
		n, err := parseSize(*size)
		if err != nil {
			return usageError(e, "gen", fmt.Errorf("%w: --size: %v", errUsage, err))
		}
		opts.Size = n
	}
	if *start != "" {
		t, err := time.Parse(time.RFC3339, *start)
		if err != nil {
			return usageError(e, "gen", fmt.Errorf("%w: --start: %v", errUsage, err))
		}
		opts.Start = t
	}
	// Every option is checked before -o is touched.
	if err := samples.Check(opts); err != nil {
		return usageError(e, "gen", fmt.Errorf("%w: %w", errUsage, err))
	}
	if *out == "-" && isTerminal(e.stdout) {
		return usageError(e, "gen", fmt.Errorf("%w: -o -: will not write a binary log to a terminal", errUsage))
	}
	if *truthPath != "" && *truthPath == *out {
		return usageError(e, "gen", fmt.Errorf("%w: --truth and -o name the same file", errUsage))
	}
	// Signals are caught before the outputs' temporary files exist.
	outs := &outputs{}
	_, stopSignals := onInterrupt(outs.abort)
	defer stopSignals()
	f, err := outfile.Create(*out, 0o644, e.stdout)
	if err != nil {
		return usageError(e, "gen", fmt.Errorf("%w: -o: %w", errUsage, err))
	}
	outs.add(f)
	var tf *outfile.File
	if *truthPath != "" {
		if tf, err = outfile.Create(*truthPath, 0o644, e.stdout); err != nil {
			f.Abort()
			return usageError(e, "gen", fmt.Errorf("%w: --truth: %w", errUsage, err))
		}
		outs.add(tf)
	}
	nbytes, truth, err := generate(f, opts)
	if err == nil && tf != nil {
		err = writeTruth(tf, &truth)
	}
	if sig := stopSignals(); sig != nil {
		outs.abort()
		fmt.Fprintf(e.stderr, "evtriage gen: interrupted (%v): no output written\n", sig)
		return exitSignal(sig)
	}
	if err == nil {
		err = f.Commit()
	}
	if err == nil && tf != nil {
		err = tf.Commit()
	}
	if err != nil {
		outs.abort()
		fmt.Fprintf(e.stderr, "evtriage gen: %s\n", termsafe.Clean(err.Error()))
		return exitPartial
	}
	report := e.stdout
	if *out == "-" {
		report = e.stderr // stdout holds the log
	}
	fmt.Fprintf(report, "wrote %s (%d bytes)\n%s", termsafe.Clean(*out), nbytes, truth.Summary())
	return exitOK
}

// generate writes the log to out and returns its size. An output written
// through (standard output, a pipe, a device) cannot seek, which the EVTX
// writer needs: the log is then made in an unnamed temporary file (removed
// at once, so nothing is left even if the program is killed) and copied.
func generate(out *outfile.File, opts samples.Options) (int64, samples.Truth, error) {
	if !out.Through() {
		truth, err := samples.Generate(out, opts)
		if err != nil {
			return 0, truth, err
		}
		n, err := out.Seek(0, io.SeekEnd)
		return n, truth, err
	}
	spool, err := os.CreateTemp("", "evtriage-gen-*")
	if err != nil {
		return 0, samples.Truth{}, err
	}
	defer spool.Close()
	os.Remove(spool.Name())
	truth, err := samples.Generate(spool, opts)
	if err != nil {
		return 0, truth, err
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return 0, truth, err
	}
	n, err := io.Copy(out, spool)
	return n, truth, err
}

// profileNames lists the profiles gen knows.
func profileNames() []string {
	var out []string
	for _, p := range samples.Profiles() {
		out = append(out, p.Name)
	}
	return out
}

// parseSize parses a byte count with an optional K, M or G suffix (KB,
// KiB… alike: powers of 1024).
func parseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, suf := range []struct {
		s string
		m int64
	}{{"GIB", 1 << 30}, {"GB", 1 << 30}, {"G", 1 << 30}, {"MIB", 1 << 20}, {"MB", 1 << 20}, {"M", 1 << 20}, {"KIB", 1 << 10}, {"KB", 1 << 10}, {"K", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(t, suf.s) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, suf.s)), suf.m
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || n > (1<<50)/mult {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return n * mult, nil
}

// writeTruth writes t as indented JSON (see samples.Truth.MarshalJSON).
func writeTruth(w io.Writer, t *samples.Truth) error {
	if err := writeJSON(w, t); err != nil {
		return fmt.Errorf("truth: %w", err)
	}
	return nil
}
