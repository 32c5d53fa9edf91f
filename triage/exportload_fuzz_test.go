package triage

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// FuzzExportSet reads arbitrary bytes as an export into a Result: it must
// never panic or hang, and the tree it gives must hold every process
// once, reachable from a root, without a loop; every finding's process
// must be one of them.
func FuzzExportSet(f *testing.F) {
	res := handResult(f)
	for _, format := range []Format{FormatJSON, FormatJSONL} {
		var b bytes.Buffer
		if err := WriteExport(&b, res, res.Findings, format); err == nil {
			f.Add(b.Bytes())
		}
	}
	f.Add([]byte(`{"export":{"tool":{"name":"evtriage"}}}
{"process":{"id":1,"host":"H","parent":2}}
{"process":{"id":2,"host":"H","parent":1}}
{"process":{"id":3,"host":"H","parent":3}}
{"finding":{"rule":{"id":"r"},"event":{"computer":"H"},"process":1,"lineage":[2,1]}}`))
	f.Add([]byte(`{"tool":{"name":"evtriage"},"processes":[{"id":0,"parent":0}],"findings":[{"rule":{"id":"r"},"process":9}]}`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "x.jsonl")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		xs := NewExportSet(Provenance{})
		_ = xs.AddFile(context.Background(), path, nil)
		_ = xs.AddFile(context.Background(), path, nil) // again: copies kept once
		r := xs.Finish()
		in := make(map[*Process]bool, len(r.Processes))
		for i, p := range r.Processes {
			if p.ID != i || in[p] {
				t.Fatalf("process %d has id %d or is listed twice", i, p.ID)
			}
			in[p] = true
		}
		reach := 0
		var walk func(p *Process, depth int)
		walk = func(p *Process, depth int) {
			if depth > len(r.Processes) {
				t.Fatal("a loop in the tree")
			}
			reach++
			for _, c := range p.Children {
				if c.Parent != p {
					t.Fatal("a child whose parent is another")
				}
				walk(c, depth+1)
			}
		}
		for _, root := range r.Roots {
			walk(root, 0)
		}
		if reach != len(r.Processes) {
			t.Fatalf("%d processes reachable, %d in all", reach, len(r.Processes))
		}
		for _, fd := range r.Findings {
			if fd.Process != nil && !in[fd.Process] {
				t.Fatal("a finding's process is not in the result")
			}
		}
		var b bytes.Buffer
		for _, format := range Formats() {
			b.Reset()
			if err := WriteExport(&b, r, r.Findings, format); err != nil {
				t.Fatalf("%s: %v", format, err)
			}
		}
	})
}
