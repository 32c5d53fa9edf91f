package triage

import (
	"context"
	"io"
	"os"
	"testing"
)

// BenchmarkWriteExport writes a generated fleet's findings (12 hosts, every
// scenario) in each format, reporting MB/s of output.
func BenchmarkWriteExport(b *testing.B) {
	res, _ := fleet(b, 12)
	findings := res.Written()
	for _, format := range Formats() {
		b.Run(format.String(), func(b *testing.B) {
			var n countWriter
			if err := WriteExport(&n, res, findings, format); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(n))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := WriteExport(io.Discard, res, findings, format); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(findings)), "findings")
		})
	}
}

// BenchmarkExportSet reads a fleet's exports (12 hosts, one export each,
// JSON Lines and documents) back into one Result, reporting MB/s of
// exports read.
func BenchmarkExportSet(b *testing.B) {
	_, paths := fleet(b, 12)
	var size int64
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			b.Fatal(err)
		}
		size += fi.Size()
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for range b.N {
		xs := NewExportSet(Provenance{})
		for _, p := range paths {
			if err := xs.AddFile(context.Background(), p, nil); err != nil {
				b.Fatal(err)
			}
		}
		if len(xs.Finish().Findings) == 0 {
			b.Fatal("no findings")
		}
	}
}

// countWriter counts the bytes written to it.
type countWriter int

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }
