package triage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/evtriage/evtriage/internal/infile"
	"github.com/evtriage/evtriage/parser"
)

// ErrBaseline marks a baseline input that could not be used.
var ErrBaseline = errors.New("triage: baseline")

// baseline is the set of keys seen in the baseline, per rule.
type baseline struct {
	keys    map[string]bool
	sources []Source
	// from and to bound the times of the baseline's events, hosts are the
	// computers they name.
	from, to time.Time
	hosts    map[string]bool
	// unusable is set when an input could not be read at all or is not
	// a valid export: findings are then not judged.
	unusable bool
}

// keyFacts is what a new-item key is computed from; it is filled from a
// finding or from an exported finding, so both give the same key.
type keyFacts struct {
	rule        string
	commandLine string
	image       string
	parentImage string
	loaded      string
}

// key returns the finding's key under kind, "" when the finding has nothing
// to be judged by (no command line, no parent, no loaded image). Keys are
// per rule, as CAR's "new since last month" compares a search with its own
// earlier results; values compare case-insensitively.
func (k keyFacts) key(kind string) string {
	var v string
	switch kind {
	case KeyParentChild:
		if k.parentImage == "" || k.image == "" {
			return ""
		}
		v = k.parentImage + "\x00" + k.image
	case KeyImageLoaded:
		v = k.loaded
	default:
		v = k.commandLine
	}
	if v == "" {
		return ""
	}
	return k.rule + "\x00" + strings.ToLower(v)
}

// firstField returns the first of the named event fields that has a value.
func firstField(get func(string) string, names ...string) string {
	for _, n := range names {
		if v := get(n); v != "" {
			return v
		}
	}
	return ""
}

// collectFacts gathers key facts: the event's own fields first (get; the
// process fields only for process creations), then the process's values.
func collectFacts(rule string, creates bool, get func(string) string, cmdline, image, parentImage string) keyFacts {
	k := keyFacts{rule: rule, loaded: get("ImageLoaded")}
	if creates {
		k.commandLine = get("CommandLine")
		k.image = firstField(get, "Image", "NewProcessName")
		k.parentImage = firstField(get, "ParentImage", "ParentProcessName")
	}
	if k.commandLine == "" {
		k.commandLine = cmdline
	}
	if k.image == "" {
		k.image = image
	}
	if k.parentImage == "" {
		k.parentImage = parentImage
	}
	return k
}

// factsOf collects a finding's key facts.
func factsOf(f *Finding) keyFacts {
	var rule, cmdline, image, parentImage string
	if f.Rule != nil {
		rule = f.Rule.ID
	}
	if p := f.Process; p != nil {
		cmdline, image = p.CommandLine, p.Image
		if p.Parent != nil {
			parentImage = p.Parent.Image
		}
	}
	get := func(n string) string { return field(f.Event.Event, n) }
	return collectFacts(rule, kindOf(f.Event.Event) == KindCreate, get, cmdline, image, parentImage)
}

// factsOfExport collects the key facts of an exported finding, the same
// way as factsOf does for the finding it was written from; procs is the
// export's processes table.
func factsOfExport(f *readFinding, procs map[int]*exportProcess) keyFacts {
	var p exportProcess
	var lineage []exportProcess
	if id, ids, ok := f.ids(); ok {
		for _, id := range ids {
			if q := procs[id]; q != nil {
				lineage = append(lineage, *q)
			} else {
				lineage = append(lineage, exportProcess{})
			}
		}
		if id != nil && procs[*id] != nil {
			p = *procs[*id]
		}
	} else { // evtriage 0.1: the objects themselves
		_ = json.Unmarshal(f.Process, &p)
		_ = json.Unmarshal(f.Lineage, &lineage)
	}
	var parentImage string
	if len(lineage) >= 2 {
		parentImage = lineage[len(lineage)-2].Image
	}
	ev := &parser.Event{Channel: f.Event.Channel, Provider: f.Event.Provider, EventID: f.Event.EventID}
	get := func(n string) string { return f.Event.Fields[n] }
	return collectFacts(f.Rule.ID, kindOf(ev) == KindCreate, get, p.CommandLine, p.Image, parentImage)
}

// loadBaseline reads Options.Baseline once.
func (h *Hunter) loadBaseline(ctx context.Context) {
	h.baseOnce.Do(func() {
		if len(h.opts.Baseline) == 0 {
			return
		}
		h.base = readBaseline(ctx, h.opts)
	})
}

// LoadBaseline reads the baseline inputs now (Result does it on first use
// otherwise) and returns an error wrapping ErrBaseline when some could not
// be read.
func (h *Hunter) LoadBaseline(ctx context.Context) error {
	h.loadBaseline(ctx)
	if h.base == nil {
		return nil
	}
	for _, s := range h.base.sources {
		if len(s.Problems) > 0 {
			return fmt.Errorf("%w: %s: %w", ErrBaseline, s.Path, s.Problems[0].Err)
		}
	}
	return nil
}

// readBaseline collects the keys of the findings in the baseline inputs:
// exports (.json/.jsonl) are read as they are, logs are hunted with the
// same rules.
func readBaseline(ctx context.Context, opts Options) *baseline {
	b := &baseline{keys: make(map[string]bool), hosts: make(map[string]bool)}
	var logs []string
	for _, p := range opts.Baseline {
		switch strings.ToLower(filepath.Ext(p)) {
		case ".json", ".jsonl", ".ndjson":
			src := Source{Path: p, Problems: []Problem{}}
			n, err := b.readExport(p, opts.NewKey)
			src.Records = n
			if err != nil {
				src.Problems = append(src.Problems, Problem{Err: err})
				b.unusable = true
			}
			b.sources = append(b.sources, src)
		default:
			logs = append(logs, p)
		}
	}
	if len(logs) > 0 {
		files, errs := parser.FindFiles(logs)
		for _, err := range errs {
			path := ""
			var ie *parser.InputError
			if errors.As(err, &ie) {
				path = ie.Path
			}
			b.sources = append(b.sources, Source{Path: path, Problems: []Problem{{Err: err}}})
			b.unusable = true
		}
		sub := NewHunter(Options{Rules: opts.Rules, Workers: opts.Workers, NewKey: opts.NewKey, NoCarve: opts.NoCarve,
			NoActivity: true})
		for _, f := range files {
			// Problems are in the sources; a file that is not a log at all
			// makes the baseline unusable.
			if err := sub.AddFile(ctx, f, nil); errors.Is(err, ErrOpen) || ctx.Err() != nil {
				b.unusable = true
			}
		}
		res := sub.Finish()
		b.sources = append(b.sources, res.Sources...)
		b.saw(res.First, "")
		b.saw(res.Last, "")
		for _, h := range res.Hosts {
			b.hosts[h] = true
		}
		for _, f := range res.Findings {
			if k := factsOf(f).key(opts.NewKey); k != "" {
				b.keys[k] = true
			}
		}
	}
	return b
}

// known reports whether the processes an exported finding names are in
// procs (always for the earlier shape, which carries them).
func known(rf *readFinding, procs map[int]*exportProcess) bool {
	id, ids, ok := rf.ids()
	if !ok {
		return true
	}
	if id != nil && procs[*id] == nil {
		return false
	}
	for _, i := range ids {
		if procs[i] == nil {
			return false
		}
	}
	return true
}

// sawFinding widens the baseline's time range and hosts to an exported
// finding's event.
func (b *baseline) sawFinding(rf *readFinding) {
	var at time.Time
	if rf.Event.Time != nil {
		at, _ = time.Parse(time.RFC3339Nano, *rf.Event.Time)
	}
	b.saw(at, rf.Event.Computer)
}

// saw widens the baseline's time range to t (unless zero) and adds host
// (unless empty).
func (b *baseline) saw(t time.Time, host string) {
	if !t.IsZero() {
		if b.from.IsZero() || t.Before(b.from) {
			b.from = t
		}
		if t.After(b.to) {
			b.to = t
		}
	}
	if host != "" {
		b.hosts[host] = true
	}
}

// readExport adds the keys of an earlier export (one JSON document or
// JSON Lines, of this version or of the earlier shape without a processes
// table; read by readExportRecords) and returns how many findings it
// held. A finding's key is taken when it is read if the processes it
// names have been (evtriage writes them first), else once the export is
// read, so that it finds them wherever the table lists them; exports
// concatenated into one file keep their own processes.
func (b *baseline) readExport(path, kind string) (int, error) {
	f, err := infile.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	type part struct {
		procs    map[int]*exportProcess
		findings []*readFinding
	}
	parts := []*part{{procs: map[int]*exportProcess{}}}
	n := 0
	err = readExportRecords(f, exportVisitor{
		head: func(*exportHeader) error {
			if last := parts[len(parts)-1]; len(last.procs) > 0 || len(last.findings) > 0 {
				parts = append(parts, &part{procs: map[int]*exportProcess{}})
			}
			return nil
		},
		process: func(p *exportProcess) error {
			parts[len(parts)-1].procs[p.ID] = p
			return nil
		},
		finding: func(rf *readFinding) error {
			b.sawFinding(rf)
			last := parts[len(parts)-1]
			if known(rf, last.procs) {
				n++
				if k := factsOfExport(rf, last.procs).key(kind); k != "" {
					b.keys[k] = true
				}
				return nil
			}
			last.findings = append(last.findings, rf)
			return nil
		},
	})
	for _, pt := range parts {
		for _, rf := range pt.findings {
			n++
			if k := factsOfExport(rf, pt.procs).key(kind); k != "" {
				b.keys[k] = true
			}
		}
	}
	if err != nil {
		return n, fmt.Errorf("%w: %s: %w", ErrBaseline, path, err)
	}
	return n, nil
}

// judge sets Finding.New from the baseline inputs or the baseline window.
func (h *Hunter) judge(res *Result) {
	kind := h.opts.NewKey
	switch {
	case h.base != nil:
		res.BaselineSources = h.base.sources
		res.BaselineKeys = len(h.base.keys)
		res.NewKey = kind
		res.BaselineFrom, res.BaselineTo = h.base.from, h.base.to
		for host := range h.base.hosts {
			res.BaselineHosts = append(res.BaselineHosts, host)
		}
		sort.Strings(res.BaselineHosts)
		if h.base.unusable {
			res.NotJudged = true
			return
		}
		for _, f := range res.Findings {
			if k := factsOf(f).key(kind); k != "" {
				v := !h.base.keys[k]
				f.New = &v
			}
		}
	case h.opts.BaselineWindow > 0 && !h.first.IsZero():
		end := h.first.Add(h.opts.BaselineWindow)
		res.BaselineEnd = end
		res.BaselineFrom, res.BaselineTo = h.first, end
		res.NewKey = kind
		keys := make(map[string]bool)
		// An event without a time is in neither period: not part of the
		// baseline, not judged.
		for _, f := range res.Findings {
			if t := f.Event.Event.Time; !t.IsZero() && t.Before(end) {
				if k := factsOf(f).key(kind); k != "" {
					keys[k] = true
				}
			}
		}
		res.BaselineKeys = len(keys)
		for _, f := range res.Findings {
			if t := f.Event.Event.Time; t.IsZero() || t.Before(end) {
				continue
			}
			if k := factsOf(f).key(kind); k != "" {
				v := !keys[k]
				f.New = &v
			}
		}
	}
}
