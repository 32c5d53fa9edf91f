package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/evtriage/evtriage/rules"
	"github.com/evtriage/evtriage/triage"
)

// huntFlags are the flags `evtriage hunt` and the hunting screen share:
// the rules, the baseline, what makes a finding new, the lowest level, the
// decoding workers, and following growing logs. register declares them,
// check validates them, and options loads the rules and returns the
// hunter's options.
type huntFlags struct {
	rules     multiFlag
	noBuiltin bool
	config    string
	baseline  multiFlag
	newKey    string
	workers   int
	follow    bool

	windowArg, levelArg, pollArg string // as given; check parses them
	tz                           string

	// command is the command line's arguments (program name left out),
	// which exports record.
	command []string

	window   time.Duration
	minLevel rules.Level
	loc      *time.Location // --tz; check sets it (UTC by default)
	poll     time.Duration  // with follow
}

// register declares the shared flags on fs; levelUsage is --min-level's
// help, which differs between the commands.
func (hf *huntFlags) register(fs *flag.FlagSet, levelUsage string) {
	fs.Var(&hf.rules, "rules", "Sigma rule file or folder to load (repeatable)")
	fs.BoolVar(&hf.noBuiltin, "no-builtin", false, "do not load the built-in regsvr32 rule pack")
	fs.StringVar(&hf.config, "rules-config", "", "rules configuration file (placeholders for |expand)")
	fs.Var(&hf.baseline, "baseline", "earlier logs (.evtx file or folder) or an earlier export (.json/.jsonl) to judge findings new against (repeatable)")
	fs.StringVar(&hf.windowArg, "baseline-window", "", "judge against the first window of the evidence itself, e.g. 30d")
	fs.StringVar(&hf.newKey, "new-key", triage.KeyCommandLine, "what makes a finding new: commandline, parent-child or image-loaded")
	fs.StringVar(&hf.levelArg, "min-level", "informational", levelUsage)
	fs.IntVar(&hf.workers, "workers", 0, "chunks decoded in parallel (0: one per CPU)")
	fs.StringVar(&hf.tz, "tz", "UTC", "time zone times are shown in: UTC, local, or an IANA name such as Europe/Berlin (exports stay UTC)")
	fs.BoolVar(&hf.follow, "follow", false, "go on reading the logs as they grow, and new logs in the folders, until interrupted")
	fs.StringVar(&hf.pollArg, "poll", "", "with --follow: how often the logs are read again, e.g. 2s (default 500ms)")
}

// check validates the shared flags once parsed and sets window and
// minLevel. Its errors wrap errUsage.
func (hf *huntFlags) check() error {
	if len(hf.baseline) > 0 && hf.windowArg != "" {
		return fmt.Errorf("%w: --baseline and --baseline-window exclude each other", errUsage)
	}
	var err error
	if hf.window, err = parseDays(hf.windowArg); err != nil {
		return err
	}
	if hf.workers < 0 {
		return fmt.Errorf("%w: --workers must be >= 0", errUsage)
	}
	if hf.loc, err = parseZone(hf.tz); err != nil {
		return err
	}
	hf.poll = triage.DefaultPoll
	if hf.pollArg != "" {
		if !hf.follow {
			return fmt.Errorf("%w: --poll needs --follow", errUsage)
		}
		if hf.poll, err = time.ParseDuration(hf.pollArg); err != nil || hf.poll < minPoll || hf.poll > maxPoll {
			return fmt.Errorf("%w: bad --poll %q (want a duration from %s to %s, e.g. 2s)", errUsage, hf.pollArg, minPoll, maxPoll)
		}
	}
	var ok bool
	if hf.minLevel, ok = rules.ParseLevel(hf.levelArg); !ok {
		return fmt.Errorf("%w: unknown level %q", errUsage, hf.levelArg)
	}
	switch hf.newKey {
	case triage.KeyCommandLine, triage.KeyParentChild, triage.KeyImageLoaded:
	default:
		return fmt.Errorf("%w: unknown --new-key %q", errUsage, hf.newKey)
	}
	return nil
}

// loadOptions is how the flags load the rules.
func (hf *huntFlags) loadOptions() rules.LoadOptions {
	return rules.LoadOptions{NoBuiltin: hf.noBuiltin, Paths: slices.Clone(hf.rules), Config: hf.config}
}

// followable checks that every PATH to follow exists (a file or a
// folder, which may have no log yet): a mistyped PATH would otherwise be
// waited for in vain. Its error wraps errUsage.
func followable(paths []string) error {
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%w: --follow: %w", errUsage, err)
		}
	}
	return nil
}

// Bounds of --poll.
const (
	minPoll = 10 * time.Millisecond
	maxPoll = time.Hour
)

// options loads the rules the flags name and returns the hunter's options
// they set; each command adds its own (what to keep in memory).
func (hf *huntFlags) options() triage.Options {
	set := rules.Load(hf.loadOptions())
	return triage.Options{Rules: set, Baseline: hf.baseline, BaselineWindow: hf.window, NewKey: hf.newKey,
		Workers: hf.workers, Provenance: hf.provenance()}
}

// provenance is what exports say produced them: this build and the
// command line.
func (hf *huntFlags) provenance() triage.Provenance {
	bi := readBuildInfo(debug.ReadBuildInfo)
	return triage.Provenance{Version: bi.Version, Commit: bi.Commit, Modified: bi.Modified, Command: hf.command}
}

// forExports checks the flags for reading exports back: those that say
// how to hunt logs (rules, baseline, new key) would have no effect, for
// an export's findings are read as they were exported. Its error wraps
// errUsage.
func (hf *huntFlags) forExports() error {
	var set []string
	for _, f := range []struct {
		name string
		on   bool
	}{
		{"--rules", len(hf.rules) > 0}, {"--no-builtin", hf.noBuiltin}, {"--rules-config", hf.config != ""},
		{"--baseline", len(hf.baseline) > 0}, {"--baseline-window", hf.windowArg != ""},
		{"--new-key", hf.newKey != triage.KeyCommandLine},
	} {
		if f.on {
			set = append(set, f.name)
		}
	}
	if len(set) > 0 {
		return fmt.Errorf("%w: %s: evtriage exports are read as they were exported (their findings and verdicts); rules and baselines apply to logs", errUsage, strings.Join(set, ", "))
	}
	return nil
}

// parseZone parses --tz: UTC (or empty), local (the system's zone), or an
// IANA name such as Europe/Berlin, from the system's time zone database
// or, where it lacks one (Windows without Go, minimal containers), the
// copy built into the binary (tz.go).
func parseZone(name string) (*time.Location, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "", "utc", "z":
		return time.UTC, nil
	case "local":
		return time.Local, nil
	}
	loc, err := time.LoadLocation(strings.TrimSpace(name))
	if err != nil {
		return nil, fmt.Errorf("%w: unknown --tz %q (want UTC, local or a name such as Europe/Berlin)", errUsage, name)
	}
	return loc, nil
}

// parseDays parses a window such as 30d, 2w, 12h or 90m.
func parseDays(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	unit := map[byte]time.Duration{'d': 24 * time.Hour, 'w': 7 * 24 * time.Hour}
	if u, ok := unit[s[len(s)-1]]; ok {
		n, err := strconv.ParseFloat(s[:len(s)-1], 64)
		if err != nil || n <= 0 || n > 100000 {
			return 0, fmt.Errorf("%w: bad window %q (want e.g. 30d, 2w, 12h)", errUsage, s)
		}
		return time.Duration(n * float64(u)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%w: bad window %q (want e.g. 30d, 2w, 12h)", errUsage, s)
	}
	return d, nil
}
