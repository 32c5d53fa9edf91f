package tui

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/evtriage/evtriage/internal/golden"
	"github.com/evtriage/evtriage/internal/winpath"
	"github.com/evtriage/evtriage/triage"
)

// hostExports writes one export per host of r (its findings as written,
// each with what the processes table needs), as a fleet hunt leaves them:
// the first host's as JSON Lines, the others' as JSON documents.
func hostExports(t *testing.T, r *triage.Result) []string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "results")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for i, host := range r.Hosts {
		format := triage.FormatJSON
		if i == 0 {
			format = triage.FormatJSONL
		}
		var b bytes.Buffer
		if err := triage.WriteExport(&b, r, r.Filter(triage.Filter{Host: host}), format); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "evtriage-"+host+format.Ext())
		if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// openExports runs the screen's loader on exports, as `evtriage results/`
// does, and returns the screen once everything is read.
func openExports(t *testing.T, paths []string, w, h int) Model {
	t.Helper()
	cfg := Config{Title: "results/", Exports: true, ExportDir: t.TempDir(), Now: func() time.Time { return t0 },
		After: func(time.Duration) <-chan time.Time { return nil }}
	for _, p := range paths {
		cfg.Inputs = append(cfg.Inputs, Input{Name: p, Path: p})
	}
	m := New(cfg)
	m, _ = drive(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	m, _ = drive(t, m, startLoad(context.Background(), m.loadClock(), cfg.Hunt, cfg.Inputs, true)())
	if m.load.running {
		t.Fatal("the loader did not finish")
	}
	return m
}

// TestOpenExports: the screen opens the exports of several hosts: every
// finding as hunted (rule, host, process, lineage), the tree of each host,
// and says it shows exports.
func TestOpenExports(t *testing.T) {
	r := fixture()
	if len(r.Hosts) < 2 {
		t.Fatalf("the fixture has %d hosts", len(r.Hosts))
	}
	paths := hostExports(t, r)
	m := openExports(t, paths, 120, 40)
	if len(m.load.errs) > 0 {
		t.Fatalf("load errors: %v", m.load.errs)
	}
	view := func(f *triage.Finding) string {
		s := f.Rule.ID + " " + f.Event.Event.Computer + " " + f.Event.File
		for _, p := range triage.Lineage(f.Process) {
			s += " > " + winpath.Base(p.Image)
		}
		return s
	}
	var want, got []string
	for _, f := range r.Written() {
		want = append(want, view(f))
	}
	for _, f := range m.res.Findings {
		got = append(got, view(f))
	}
	sort.Strings(want)
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if strings.Join(m.res.Hosts, ",") != strings.Join(r.Hosts, ",") {
		t.Errorf("hosts %v, want %v", m.res.Hosts, r.Hosts)
	}
	scr := screen(m)
	if !strings.Contains(scr, "2 exports · 2 hosts") {
		t.Errorf("the header does not say it shows exports of 2 hosts:\n%s", scr)
	}
	for _, host := range r.Hosts {
		if !strings.Contains(scr, host) {
			t.Errorf("host %s not on the findings screen", host)
		}
	}
	golden.Assert(t, "screen_exports_findings.txt", []byte(scr))
	m, _ = drive(t, m, press("2")...)
	golden.Assert(t, "screen_exports_tree.txt", []byte(screen(m)))
	// A finding opens its process in the tree, whichever export it came
	// from; the hosts filter steps through the exports' hosts.
	m, _ = drive(t, m, press("1", "G", "enter")...)
	if m.view != viewTree || m.tree.Selected() == nil {
		t.Errorf("enter on a finding did not open its process (view %v)", m.view)
	}
	m, _ = drive(t, m, press("1", "h")...)
	if m.filter.Host != r.Hosts[0] || m.table.Len() == 0 {
		t.Errorf("host filter %q shows %d findings", m.filter.Host, m.table.Len())
	}
	// The host timeline needs the logs, which exports do not hold.
	m, _ = drive(t, m, press("1", "T")...)
	if m.view == viewTimeline || !strings.Contains(m.message, "exports hold findings, not the logs") {
		t.Errorf("T on exports: view %v, message %q", m.view, m.message)
	}
	// The screen exports what it shows of the exports: as CSV, say.
	m, _ = drive(t, m, press("e", "j", "j", "enter")...)
	if !strings.Contains(m.message, "wrote ") || !strings.Contains(m.message, ".csv") {
		t.Errorf("export from the exports: %q", m.message)
	}
}

// TestOpenExportsHostile: an export cut short and a file that is not one
// are said on the problems page; the rest is shown.
func TestOpenExportsHostile(t *testing.T) {
	r := fixture()
	paths := hostExports(t, r)
	data, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(paths[0], data[:len(data)-30], 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(filepath.Dir(paths[0]), "other.json")
	if err := os.WriteFile(other, []byte(`{"EventTime":"x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	m := openExports(t, append(paths, other), 120, 40)
	if len(m.load.errs) != 2 || m.res == nil || len(m.res.Findings) == 0 {
		t.Fatalf("load errors %v; %v findings", m.load.errs, m.res)
	}
	m, _ = drive(t, m, press("p")...)
	scr := screen(m)
	for _, want := range []string{"truncated", "not an evtriage export"} {
		if !strings.Contains(scr, want) {
			t.Errorf("the problems page does not say %q:\n%s", want, scr)
		}
	}
}
