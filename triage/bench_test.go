package triage

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/evtriage/evtriage/rules"
	"github.com/evtriage/evtriage/samples"
)

// benchLog returns the log to benchmark: $EVTRIAGE_BENCH_EVTX when set
// (e.g. a 268 MB dense Sysmon log), else a 16 MB one generated into a
// temporary folder (one host: Sysmon plus Security 4688 v2).
func benchLog(b *testing.B) string {
	b.Helper()
	if p := os.Getenv("EVTRIAGE_BENCH_EVTX"); p != "" {
		return p
	}
	path := filepath.Join(b.TempDir(), "dense.evtx")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := samples.Generate(f, samples.Options{Hosts: 1, Size: 16 << 20, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkHunt is what `evtriage hunt --format jsonl` does: parse, match
// the built-in pack, build the tree and findings, write JSON Lines.
func BenchmarkHunt(b *testing.B) {
	path := benchLog(b)
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	set := rules.Load(rules.LoadOptions{})
	b.SetBytes(fi.Size())
	b.ReportAllocs()
	for b.Loop() {
		h := NewHunter(Options{Rules: set})
		if err := h.AddFile(context.Background(), path, nil); err != nil {
			b.Fatal(err)
		}
		res := h.Finish()
		if err := WriteExport(io.Discard, res, res.Written(), FormatJSONL); err != nil {
			b.Fatal(err)
		}
	}
}
