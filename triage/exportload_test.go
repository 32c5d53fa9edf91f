package triage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/evtriage/evtriage/internal/winpath"
	"github.com/evtriage/evtriage/samples"
)

// fleet hunts a generated log of several hosts with the built-in pack and
// writes one export per host, as a fleet hunt (the Velociraptor artifact)
// does: JSON Lines for some hosts, a JSON document for others. It returns
// the hunt's Result and the exports.
func fleet(t testing.TB, hosts int) (*Result, []string) {
	t.Helper()
	dir := t.TempDir()
	logPath := filepath.Join(dir, "fleet.evtx")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := samples.Generate(f, samples.Options{Scenario: "all", Hosts: hosts, Events: 1500 * hosts, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	h := NewHunter(Options{Rules: builtin(t), WrittenOnly: true, NoActivity: true})
	if err := h.AddFile(context.Background(), logPath, nil); err != nil {
		t.Fatal(err)
	}
	res := h.Finish()
	if len(res.Hosts) != hosts {
		t.Fatalf("%d hosts in the log, want %d", len(res.Hosts), hosts)
	}
	var paths []string
	for i, host := range res.Hosts {
		format := FormatJSONL
		if i%2 == 1 {
			format = FormatJSON
		}
		p := filepath.Join(dir, "results", fmt.Sprintf("evtriage-%s%s", host, format.Ext()))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := WriteExport(&b, res, res.Filter(Filter{Host: host}), format); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return res, paths
}

// fleetView renders what the screen shows of a finding and its
// process: rule, host, record; the process, its lineage and its children.
func fleetView(f *Finding) string {
	s := fmt.Sprintf("%s %s #%d new=%v", f.Rule.ID, f.Event.Event.Computer, f.Event.Event.RecordID, f.New != nil && *f.New)
	if p := f.Process; p != nil {
		var lineage, children []string
		for _, q := range Lineage(p) {
			lineage = append(lineage, fmt.Sprintf("%s:%d", winpath.Base(q.Image), q.PID))
		}
		for _, c := range p.Children {
			children = append(children, fmt.Sprintf("%s:%d", winpath.Base(c.Image), c.PID))
		}
		sort.Strings(children)
		s += " lineage " + strings.Join(lineage, ">") + " children " + strings.Join(children, ",")
	}
	return s
}

// TestExportSetFleet: the exports of several hosts, read into one Result,
// give the hunt's findings with the same processes, lineage and children.
func TestExportSetFleet(t *testing.T) {
	res, paths := fleet(t, 3)
	xs := NewExportSet(Provenance{Version: "v1"})
	for _, p := range paths {
		if err := xs.AddFile(context.Background(), p, nil); err != nil {
			t.Fatal(err)
		}
	}
	got := xs.Finish()
	var want, have []string
	for _, f := range res.Written() {
		want = append(want, fleetView(f))
	}
	for _, f := range got.Findings {
		have = append(have, fleetView(f))
	}
	sort.Strings(want)
	sort.Strings(have)
	if len(want) == 0 {
		t.Fatal("the hunt found nothing")
	}
	if strings.Join(want, "\n") != strings.Join(have, "\n") {
		t.Errorf("findings differ:\nwant\n%s\ngot\n%s", strings.Join(want, "\n"), strings.Join(have, "\n"))
	}
	if got.RulesDigest != res.RulesDigest || got.RulesDigest == "" {
		t.Errorf("rules digest %q, want the hunt's %q", got.RulesDigest, res.RulesDigest)
	}
	if strings.Join(got.Hosts, ",") != strings.Join(res.Hosts, ",") {
		t.Errorf("hosts %v, want %v", got.Hosts, res.Hosts)
	}
	// Each export's head counts the events of the hunt it came from: here
	// one hunt of the whole log, exported host by host.
	if got.Events != len(paths)*res.Events || len(got.Sources) != len(paths) || got.Provenance.Version != "v1" {
		t.Errorf("%d events (want %d), %d sources (want %d), provenance %+v", got.Events, len(paths)*res.Events, len(got.Sources), len(paths), got.Provenance)
	}
	for _, s := range got.Sources {
		if len(s.Problems) > 0 || s.SHA256 == "" || s.Records == 0 {
			t.Errorf("source %+v", s)
		}
	}
	// Every process is a root or its parent's child; the tree is whole.
	reach := 0
	var walk func(p *Process, depth int)
	walk = func(p *Process, depth int) {
		reach++
		if depth > len(got.Processes) {
			t.Fatal("a loop in the tree")
		}
		for _, c := range p.Children {
			if c.Parent != p {
				t.Errorf("%s is a child of %s but its parent is %v", c.Image, p.Image, c.Parent)
			}
			walk(c, depth+1)
		}
	}
	for _, r := range got.Roots {
		walk(r, 0)
	}
	if reach != len(got.Processes) {
		t.Errorf("%d processes reachable from the roots, %d in all", reach, len(got.Processes))
	}
	// Reading the same exports twice keeps one copy of each.
	again := NewExportSet(Provenance{})
	for _, p := range append(paths, paths...) {
		if err := again.AddFile(context.Background(), p, nil); err != nil {
			t.Fatal(err)
		}
	}
	twice := again.Finish()
	if len(twice.Findings) != len(got.Findings) || len(twice.Processes) != len(got.Processes) || twice.Duplicates != got.Duplicates+len(got.Findings) {
		t.Errorf("twice: %d findings, %d processes, %d duplicates; once: %d, %d, %d", len(twice.Findings), len(twice.Processes), twice.Duplicates,
			len(got.Findings), len(got.Processes), got.Duplicates)
	}
	// The export of exports holds the same findings again.
	var b bytes.Buffer
	if err := WriteExport(&b, got, got.Findings, FormatJSONL); err != nil {
		t.Fatal(err)
	}
	round := filepath.Join(t.TempDir(), "all.jsonl")
	if err := os.WriteFile(round, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	rs := NewExportSet(Provenance{})
	if err := rs.AddFile(context.Background(), round, nil); err != nil {
		t.Fatal(err)
	}
	var back []string
	for _, f := range rs.Finish().Findings {
		back = append(back, fleetView(f))
	}
	sort.Strings(back)
	if strings.Join(back, "\n") != strings.Join(want, "\n") {
		t.Errorf("the export of the exports differs:\n%s", strings.Join(back, "\n"))
	}
}

// TestExportSetHostile: exports whose tables lie (parents missing or in a
// loop, a process its own parent, ids repeated or far out of range,
// findings naming no process) still give a tree every process is in,
// with the problems said; what is not an export adds nothing.
func TestExportSetHostile(t *testing.T) {
	dir := t.TempDir()
	const head = `{"export":{"tool":{"name":"evtriage","version":"x"},"complete":true,"summary":{"events":9,"hosts":["H"]}}}` + "\n"
	proc := func(id int, parent string, image string) string {
		return fmt.Sprintf(`{"process":{"id":%d,"host":"H","pid":%d,"image":%q,"parent":%s,"created":"2024-01-01T00:00:%02dZ","sources":["sysmon"],"activity":{"image_loads":1,"events":[{"kind":"image_load","file":"f","event_id":7,"channel":"Microsoft-Windows-Sysmon/Operational","computer":"H","fields":{"ImageLoaded":"x.dll"}}],"events_kept":1}}}`+"\n", id, id%1000, image, parent, id%60)
	}
	finding := func(rule string, process string, rec int) string {
		return fmt.Sprintf(`{"finding":{"rule":{"id":%q,"title":"T","level":"high"},"event":{"file":"f","record_id":%d,"event_id":1,"channel":"Microsoft-Windows-Sysmon/Operational","computer":"H","time":"2024-01-01T00:00:00Z","fields":{"CommandLine":"x"}},"process":%s,"lineage":[],"match":[],"suppressed":[],"new":true}}`+"\n", rule, rec, process)
	}
	data := head +
		proc(1, "2", "a.exe") + proc(2, "3", "b.exe") + proc(3, "1", "c.exe") + // a loop
		proc(4, "4", "self.exe") + // its own parent
		proc(5, "99", "orphan.exe") + // a parent not in the table
		proc(5, "null", "again.exe") + // an id repeated
		proc(1<<62, "null", "far.exe") +
		finding("r1", "1", 1) + finding("r2", "77", 2) + finding("r3", "null", 3) + finding("r1", "1", 1) // the last a copy
	path := filepath.Join(dir, "hostile.jsonl")
	if err := os.WriteFile(path, []byte(data+`{"finding":{`), 0o600); err != nil { // and a truncated last line
		t.Fatal(err)
	}
	xs := NewExportSet(Provenance{})
	err := xs.AddFile(context.Background(), path, nil)
	if err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("error %v, want the truncated record named", err)
	}
	other := filepath.Join(dir, "other.json")
	if err := os.WriteFile(other, []byte(`{"EventTime":"x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := xs.AddFile(context.Background(), other, nil); !errors.Is(err, ErrNotExport) {
		t.Errorf("another JSON file: %v, want ErrNotExport", err)
	}
	if err := xs.AddFile(context.Background(), filepath.Join(dir, "missing.jsonl"), nil); err == nil {
		t.Error("a missing file is no error")
	}
	res := xs.Finish()
	if len(res.Processes) != 6 || len(res.Findings) != 3 || res.Duplicates != 1 {
		t.Fatalf("%d processes, %d findings, %d duplicates; want 6, 3, 1", len(res.Processes), len(res.Findings), res.Duplicates)
	}
	reach := 0
	var walk func(p *Process, depth int)
	walk = func(p *Process, depth int) {
		if depth > len(res.Processes) {
			t.Fatal("a loop in the tree")
		}
		reach++
		for _, c := range p.Children {
			walk(c, depth+1)
		}
	}
	for _, r := range res.Roots {
		walk(r, 0)
	}
	if reach != len(res.Processes) {
		t.Errorf("%d processes reachable from the roots, %d in all", reach, len(res.Processes))
	}
	var problems []string
	for _, s := range res.Sources {
		for _, p := range s.Problems {
			problems = append(problems, p.Reason())
		}
	}
	all := strings.Join(problems, "\n")
	for _, want := range []string{"truncated", "listed twice", "parent the table does not hold", "name a process the table does not hold"} {
		if !strings.Contains(all, want) {
			t.Errorf("problems lack %q:\n%s", want, all)
		}
	}
	for _, f := range res.Findings {
		if f.New == nil || !*f.New || f.Rule.Title != "T" {
			t.Errorf("finding %s: new %v, rule %+v", f.Rule.ID, f.New, f.Rule)
		}
	}
	for _, p := range res.Processes {
		if p.Seen.Count(KindImageLoad) != 1 || len(p.Events(KindImageLoad)) != 1 {
			t.Errorf("%s: activity %v, %d kept", p.Image, p.Seen, len(p.Events(KindImageLoad)))
		}
	}
}

// TestExportSetSnapshot: snapshots are rebuilt only once enough new
// records came; Finish is final.
func TestExportSetSnapshot(t *testing.T) {
	_, paths := fleet(t, 2)
	xs := NewExportSet(Provenance{})
	if err := xs.AddFile(context.Background(), paths[0], nil); err != nil {
		t.Fatal(err)
	}
	first := xs.Snapshot()
	if first == nil || len(first.Findings) == 0 {
		t.Fatal("no first snapshot")
	}
	if xs.Snapshot() != first {
		t.Error("a snapshot rebuilt with nothing new")
	}
	if err := xs.AddFile(context.Background(), paths[1], nil); err != nil {
		t.Fatal(err)
	}
	fin := xs.Finish()
	if len(fin.Findings) <= len(first.Findings) || xs.Snapshot() != fin || xs.Result() != fin {
		t.Error("Finish does not hold both exports, or is not final")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := NewExportSet(Provenance{}).AddFile(ctx, paths[0], nil); err == nil && len(paths) > 0 {
		// A small export may be read before the context is looked at;
		// that is no failure.
		t.Log("the export was read before the cancellation was seen")
	}
}
