package tui

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/evtriage/evtriage/internal/heappeak"
	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/rules"
	"github.com/evtriage/evtriage/samples"
	"github.com/evtriage/evtriage/triage"
)

// The load benchmarks run the screen's load path to the end, the way the
// program does (the background loader, its snapshots, indexing, filtering,
// Finish), against hunt's work on the same inputs in the same run:
//
//	EVTRIAGE_BENCH_MB=1024 go test ./tui -run '^$' -bench Load -benchtime 1x
//
// Inputs: a dense Sysmon log of EVTRIAGE_BENCH_MB megabytes (default 64;
// EVTRIAGE_BENCH_EVTX=FILE reads that file instead), and a folder of
// EVTRIAGE_BENCH_FILES small generated logs of 40 events and 1–5 hosts
// (default 500; EVTRIAGE_BENCH_DIR=FOLDER reads the .evtx files under that
// folder instead). EVTRIAGE_BENCH_RULES=PATH adds those rules to the
// built-in pack, as --rules does (SigmaHQ's give the screen thousands of
// findings to index and filter). "ready" is the time until the screen has
// applied the final Result and filtered it (what its header calls ready).

// benchEnvInt reads a positive integer from the environment.
func benchEnvInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// benchWrite generates a log of opts into path.
func benchWrite(b *testing.B, path string, opts samples.Options) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := samples.Generate(f, opts); err != nil {
		f.Close()
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// benchInputs lists the inputs of one load benchmark.
func benchInputs(b *testing.B, dir, kind string) []string {
	b.Helper()
	switch kind {
	case "dense":
		if p := os.Getenv("EVTRIAGE_BENCH_EVTX"); p != "" {
			return []string{p}
		}
		path := filepath.Join(dir, "dense.evtx")
		benchWrite(b, path, samples.Options{Profile: samples.ProfileSysmonDense, Size: int64(benchEnvInt("EVTRIAGE_BENCH_MB", 64)) << 20, Seed: 1})
		return []string{path}
	default:
		if d := os.Getenv("EVTRIAGE_BENCH_DIR"); d != "" {
			files, errs := parser.FindFiles([]string{d})
			if len(errs) > 0 {
				b.Fatal(errs[0])
			}
			return files
		}
		sub := filepath.Join(dir, "small")
		if err := os.Mkdir(sub, 0o755); err != nil {
			b.Fatal(err)
		}
		var out []string
		for i := range benchEnvInt("EVTRIAGE_BENCH_FILES", 500) {
			path := filepath.Join(sub, fmt.Sprintf("host%04d.evtx", i))
			benchWrite(b, path, samples.Options{Hosts: 1 + i%5, Events: 40, Seed: int64(i + 1)})
			out = append(out, path)
		}
		return out
	}
}

// loadToReady runs the screen's load of cfg to the end, as the program
// does but without a terminal: every message through Update, every
// command run, the loader's in order.
func loadToReady(tb testing.TB, cfg Config) Model {
	tb.Helper()
	var tm tea.Model = New(cfg)
	queue := []tea.Msg{tea.WindowSizeMsg{Width: 120, Height: 40}}
	queue = append(queue, run(startLoad(cfg.Context, clock{now: time.Now, after: time.After}, cfg.Hunt, cfg.Inputs, cfg.Exports))...)
	for len(queue) > 0 {
		msg := queue[0]
		queue = queue[1:]
		var cmd tea.Cmd
		tm, cmd = tm.Update(msg)
		queue = append(queue, run(cmd)...)
	}
	m := tm.(Model)
	if m.load.running || m.load.indexing() || m.shown.running || m.res == nil {
		tb.Fatalf("load ended but the screen is not ready: %+v", m.load)
	}
	return m
}

// BenchmarkLoad measures the screen's load to ready ("screen") and hunt's
// work ("hunt": read, Finish, the written findings as JSON Lines) on the
// same inputs, reporting the peak heap of each.
func BenchmarkLoad(b *testing.B) {
	opts := rules.LoadOptions{}
	if p := os.Getenv("EVTRIAGE_BENCH_RULES"); p != "" {
		opts.Paths = []string{p}
	}
	set := rules.Load(opts)
	dir := b.TempDir()
	for _, kind := range []string{"dense", "small-files"} {
		files := benchInputs(b, dir, kind)
		var size int64
		var inputs []Input
		for _, f := range files {
			if fi, err := os.Stat(f); err == nil {
				size += fi.Size()
			}
			inputs = append(inputs, Input{Name: f, Path: f})
		}
		b.Run(kind+"/screen", func(b *testing.B) {
			b.SetBytes(size)
			benchPeak(b, func() int {
				m := loadToReady(b, Config{Context: context.Background(), Inputs: inputs, Hunt: triage.Options{Rules: set}, ExportDir: dir})
				return m.res.Events
			})
		})
		b.Run(kind+"/hunt", func(b *testing.B) {
			b.SetBytes(size)
			benchPeak(b, func() int {
				h := triage.NewHunter(triage.Options{Rules: set, WrittenOnly: true, NoActivity: true})
				for _, f := range files {
					_ = h.AddFile(context.Background(), f, nil)
				}
				res := h.Finish()
				if err := triage.WriteExport(io.Discard, res, res.Written(), triage.FormatJSONL); err != nil {
					b.Fatal(err)
				}
				return res.Events
			})
		})
	}
}

// benchPeak runs one load per iteration from a collected heap and reports
// the peak live heap and heap in use, and the events read.
func benchPeak(b *testing.B, load func() int) {
	var live, inUse uint64
	events := 0
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		peak := heappeak.Start()
		b.StartTimer()
		events = load()
		b.StopTimer()
		l, u := peak.End()
		live, inUse = max(live, l), max(inUse, u)
		b.StartTimer()
	}
	b.ReportMetric(float64(live)/(1<<20), "peak-live-MB")
	b.ReportMetric(float64(inUse)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(events), "events")
}
