// Package samples writes synthetic but realistic Windows event logs for
// testing and demonstrating evtriage: hosts with background activity
// (services, explorer, browsers, updaters, installers that legitimately run
// regsvr32 from Program Files, Office loading signed DLLs) and regsvr32
// attack chains after Atomic Red Team T1218.010, in Sysmon form (events 1,
// 3, 5, 7, 22) and Security form (4688/4689, versions 1 and 2, with and
// without command-line auditing).
//
// Every generated log comes with its ground truth (see Truth): which events
// each built-in rule must flag, the near misses it must not flag, and the
// process tree. Generation is deterministic for a given Options value.
//
// The package also embeds the demo log the TUI opens by default (Demo).
package samples

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/evtriage/evtriage/parser"
)

// Errors.
var (
	// ErrUnknownScenario is returned for a scenario name Scenarios does not
	// list.
	ErrUnknownScenario = errors.New("samples: unknown scenario")
	// ErrOptions is returned for inconsistent options.
	ErrOptions = errors.New("samples: invalid options")
)

// Scenario is one named log to generate: background activity on every host,
// plus the attack chains (or decoys) that give the scenario its name.
type Scenario struct {
	Name        string
	Description string
	// Attack is true when the scenario plants regsvr32 abuse; false for
	// background-only and decoy-only scenarios.
	Attack bool

	// chains are planted once on every host, in order, at evenly spread
	// points of the log.
	chains []chain
}

// chain plants one attack chain (or decoy) on a host at time t.
type chain func(g *gen, h *host, t time.Time)

// Options controls Generate. Zero values take the defaults noted.
type Options struct {
	// Scenario is a name from Scenarios, or "all" for every chain of every
	// scenario on every host (default "all").
	Scenario string
	// Hosts is the number of hosts (default: one per log form, 5). Host i
	// keeps log form i modulo 5: Sysmon plus Security 4688 v2 with command
	// lines; Security v2; Security v1 (Windows 7); Security v2 without
	// command-line auditing; Security v1 without command-line auditing.
	Hosts int
	// Form, when set, gives every host this log form (see FormNames; it
	// includes "sysmon", Sysmon only, for dense Sysmon logs).
	Form string
	// Profile shapes the background activity (see Profiles; default
	// "default"). The Sysmon profiles default to one host of form
	// "sysmon".
	Profile string
	// Events stops the log after this many records; Size stops it once the
	// file reaches this many bytes (whole 64 KiB chunks). With neither,
	// Events is 5,000 per host. Attack chains are planted at fractions of
	// the way through, so a log cut short still holds them.
	Events int
	Size   int64
	// Seed selects the random stream; the same Options give the same bytes.
	Seed int64
	// Start is the time of the first event (default 2026-03-02 07:30 UTC).
	Start time.Time
	// Duration is the span of background activity the log is planned for
	// (default 24h); the log may end earlier when Events or Size is reached.
	Duration time.Duration
}

// defaultStart is the time of the first event when Options.Start is zero.
func defaultStart() time.Time { return time.Date(2026, 3, 2, 7, 30, 0, 0, time.UTC) }

// Scenarios returns the scenarios Generate knows, in a fixed order.
func Scenarios() []Scenario {
	return []Scenario{
		{Name: "background", Description: "background activity only: services, explorer, browsers, Office, updaters, installers running regsvr32 /s from Program Files", chains: nil},
		{Name: "squiblydoo", Attack: true, Description: "regsvr32 /s /n /u /i:URL scrobj.dll (Squiblydoo) from Word and from a script, with a local .sct too; DNS, network and child processes", chains: []chain{chainSquiblydooOffice, chainSquiblydooScript, chainLocalSct}},
		{Name: "dll-register", Attack: true, Description: "regsvr32 /s of a DLL in %TEMP%, AppData and ProgramData (the seed rule's target) with the unsigned load; near misses: the full System32 path in the command line, a System32 working directory (hidden in Sysmon, flagged in 4688)", chains: []chain{chainDLLTemp, chainDLLAppData, chainDLLProgramData, chainDLLSystem32Cwd}},
		{Name: "wow64", Attack: true, Description: "System32 regsvr32 starting SysWOW64 regsvr32 on a user-writable DLL", chains: []chain{chainWow64}},
		{Name: "children", Attack: true, Description: "regsvr32 spawning cmd, powershell, rundll32 and calc", chains: []chain{chainChildren}},
		{Name: "unsigned-load", Attack: true, Description: "regsvr32 loading unsigned DLLs from user paths (flagged) beside unsigned Program Files and signed user-path loads (not flagged)", chains: []chain{chainUnsignedLoads}},
		{Name: "network", Attack: true, Description: "regsvr32 resolving and connecting to a remote host (Sysmon 22 and 3) after a Squiblydoo download", chains: []chain{chainNetwork}},
		{Name: "renamed", Attack: true, Description: "regsvr32 copied to C:\\ProgramData\\jabber.exe and run with /s (OriginalFileName REGSVR32.EXE), with a child", chains: []chain{chainRenamed}},
		{Name: "werfault", Attack: false, Description: "regsvr32 crashing on a broken DLL and spawning WerFault.exe (excluded by the CAR spawning-children analytic)", chains: []chain{chainWerFault}},
		{Name: "pid-reuse", Attack: true, Description: "a regsvr32 exits and its PID is reused by notepad, whose child must not be attributed to regsvr32; regsvr32's own child before exit", chains: []chain{chainPIDReuse}},
		{Name: "installer", Attack: false, Description: "software installers legitimately running regsvr32 /s on DLLs under Program Files (decoys for the seed rule)", chains: []chain{chainInstaller, chainInstallerX86}},
		{Name: "demo", Attack: true, Description: "one workstation (Sysmon and Security) over a day with three intrusions: a Squiblydoo from a Word document, a DLL registered from AppData by a script, a renamed regsvr32", chains: []chain{chainSquiblydooOffice, chainDLLAppData, chainRenamed}},
	}
}

// lookup returns the scenario for a name ("all": the chains of every
// scenario except demo).
func lookup(name string) (Scenario, error) {
	all := Scenarios()
	if name == "" || name == "all" {
		s := Scenario{Name: "all", Description: "every scenario's chains on every host", Attack: true}
		for _, sc := range all {
			if sc.Name != "demo" { // demo repeats chains of other scenarios
				s.chains = append(s.chains, sc.chains...)
			}
		}
		return s, nil
	}
	for _, sc := range all {
		if sc.Name == name {
			return sc, nil
		}
	}
	names := make([]string, 0, len(all))
	for _, sc := range all {
		names = append(names, sc.Name)
	}
	sort.Strings(names)
	return Scenario{}, fmt.Errorf("%w %q (known: all, %s)", ErrUnknownScenario, name, strings.Join(names, ", "))
}

// Generate writes the scenario's log to w as EVTX and returns its ground
// truth. The same Options always give the same bytes and truth.
func Generate(w io.WriteSeeker, opts Options) (Truth, error) {
	return generate(w, opts, nil)
}

// Check validates opts as Generate would, without writing anything: the
// errors wrap ErrUnknownScenario or ErrOptions.
func Check(opts Options) error {
	_, _, _, err := prepare(opts)
	return err
}

// prepare validates opts and fills in their defaults.
func prepare(opts Options) (Scenario, []logForm, Options, error) {
	sc, err := lookup(opts.Scenario)
	if err != nil {
		return sc, nil, opts, err
	}
	prof, err := profileByName(opts.Profile)
	if err != nil {
		return sc, nil, opts, err
	}
	forms := logForms()
	if opts.Form == "" {
		opts.Form = prof.form
	}
	if opts.Form != "" {
		f, ok := formByName(opts.Form)
		if !ok {
			return sc, nil, opts, fmt.Errorf("%w: unknown log form %q (known: %s)", ErrOptions, opts.Form, strings.Join(FormNames(), ", "))
		}
		forms = []logForm{f}
		if prof.form != "" && !f.sysmon {
			return sc, nil, opts, fmt.Errorf("%w: profile %s needs a log form with Sysmon", ErrOptions, prof.Name)
		}
	}
	if opts.Hosts < 0 || opts.Events < 0 || opts.Size < 0 || opts.Duration < 0 {
		return sc, nil, opts, fmt.Errorf("%w: negative hosts, events, size or duration", ErrOptions)
	}
	if opts.Events > 0 && opts.Size > 0 {
		return sc, nil, opts, fmt.Errorf("%w: give events or size, not both", ErrOptions)
	}
	if opts.Hosts == 0 {
		opts.Hosts = len(forms)
		if prof.hosts > 0 {
			opts.Hosts = prof.hosts
		}
		if sc.Name == "demo" {
			opts.Hosts = 1
		}
	}
	if opts.Hosts > 10000 {
		return sc, nil, opts, fmt.Errorf("%w: at most 10000 hosts", ErrOptions)
	}
	if opts.Events == 0 && opts.Size == 0 {
		opts.Events = 5000 * opts.Hosts
	}
	if opts.Start.IsZero() {
		opts.Start = defaultStart()
	}
	if opts.Duration == 0 {
		opts.Duration = 24 * time.Hour
	}
	opts.Scenario = sc.Name
	opts.Profile = prof.Name
	return sc, forms, opts, nil
}

// generate is Generate with a hook that sees every event written.
func generate(w io.WriteSeeker, opts Options, onWrite func(*parser.Event)) (Truth, error) {
	sc, forms, opts, err := prepare(opts)
	if err != nil {
		return Truth{}, err
	}
	prof, _ := profileByName(opts.Profile)
	g := newGen(w, opts, sc, prof, forms)
	g.onWrite = onWrite
	if err := g.run(); err != nil {
		return Truth{}, err
	}
	return g.truth, nil
}

//go:embed demo.evtx
var demoLog []byte

// Demo returns the embedded demo log: Generate with DemoOptions. Callers
// must not modify the returned slice.
func Demo() []byte { return demoLog }

// DemoOptions returns the options the embedded demo log was generated with.
func DemoOptions() Options {
	return Options{Scenario: "demo", Hosts: 1, Events: 3000, Seed: 7, Duration: 24 * time.Hour}
}
