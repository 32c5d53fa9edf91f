package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/evtriage/evtriage/samples"
)

func cmdGen() command {
	return command{name: "gen", summary: "write a synthetic .evtx log (scenarios with ground truth)", run: runGen}
}

// runGen implements `evtriage gen`.
func runGen(e *env, args []string) int {
	fs := newFlagSet(e, "gen", "gen [--scenario NAME|all] [--hosts N] [--form F] [--events N | --size 256MB] [--seed N] [--truth FILE] -o FILE\n       evtriage gen --list")
	scenario := fs.String("scenario", "all", "scenario `name` (see --list), or all")
	hosts := fs.Int("hosts", 0, "number of hosts (default: one per log form, 5; demo: 1)")
	form := fs.String("form", "", "give every host this log `form`: "+strings.Join(samples.FormNames(), ", ")+" (default: host i keeps form i mod 5)")
	events := fs.Int("events", 0, "stop after this many events (default 5000 per host)")
	size := fs.String("size", "", "stop once the file reaches this `size` (e.g. 256MB, 1GiB; K/M/G are powers of 1024)")
	seed := fs.Int64("seed", 1, "random seed; the same flags give the same file")
	start := fs.String("start", "", "time of the first event, RFC 3339 (default 2026-03-02T07:30:00Z)")
	duration := fs.Duration("duration", 0, "time span the background activity is planned over (default 24h)")
	out := fs.String("o", "", "output `file` (required)")
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
		return exitOK
	}
	if fs.NArg() > 0 {
		return usageError(e, "gen", fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0)))
	}
	if *out == "" {
		return usageError(e, "gen", fmt.Errorf("%w: -o FILE is required", errUsage))
	}
	opts := samples.Options{Scenario: *scenario, Form: *form, Hosts: *hosts, Events: *events, Seed: *seed, Duration: *duration}
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
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintf(e.stderr, "evtriage gen: %v\n", err)
		return exitPartial
	}
	truth, err := samples.Generate(f, opts)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(*out)
		if errors.Is(err, samples.ErrUnknownScenario) || errors.Is(err, samples.ErrOptions) {
			return usageError(e, "gen", fmt.Errorf("%w: %v", errUsage, err))
		}
		fmt.Fprintf(e.stderr, "evtriage gen: %v\n", err)
		return exitPartial
	}
	if *truthPath != "" {
		if err := writeTruth(*truthPath, &truth); err != nil {
			fmt.Fprintf(e.stderr, "evtriage gen: %v\n", err)
			return exitPartial
		}
	}
	fi, err := os.Stat(*out)
	if err != nil {
		fmt.Fprintf(e.stderr, "evtriage gen: %v\n", err)
		return exitPartial
	}
	fmt.Fprintf(e.stdout, "wrote %s (%d bytes)\n%s", *out, fi.Size(), truth.Summary())
	return exitOK
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
func writeTruth(path string, t *samples.Truth) error {
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return fmt.Errorf("truth: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("truth: %w", err)
	}
	return nil
}
