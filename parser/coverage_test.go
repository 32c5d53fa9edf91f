package parser

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestCoverage: covers, a binary search over the sealed ranges, answers
// as a walk over the chunks' ranges as read would, whatever their order,
// overlaps and gaps (a wrapped log's chunks, a crafted file's).
func TestCoverage(t *testing.T) {
	walk := func(ranges [][2]uint64, num uint64) bool {
		for _, rg := range ranges {
			if num >= rg[0] && num <= rg[1] {
				return true
			}
		}
		return false
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	random := make([][2]uint64, 300)
	for i := range random {
		a := rnd.Uint64N(5000)
		random[i] = [2]uint64{a, a + rnd.Uint64N(40)}
	}
	tests := []struct {
		name   string
		ranges [][2]uint64
	}{
		{"none", nil},
		{"one", [][2]uint64{{10, 20}}},
		{"in order with gaps", [][2]uint64{{1, 100}, {102, 200}, {300, 300}}},
		{"touching", [][2]uint64{{1, 100}, {101, 200}, {201, 201}}},
		{"wrapped log", [][2]uint64{{5001, 5100}, {5101, 5200}, {1, 100}, {101, 200}}},
		{"overlapping and nested", [][2]uint64{{50, 60}, {1, 100}, {90, 150}, {95, 96}, {150, 150}}},
		{"duplicates", [][2]uint64{{7, 9}, {7, 9}, {7, 9}}},
		{"at the edges of uint64", [][2]uint64{{0, 0}, {math.MaxUint64 - 1, math.MaxUint64}, {2, 3}}},
		{"random", random},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &coverage{ranges: append([][2]uint64(nil), tt.ranges...)}
			c.seal()
			for i := 1; i < len(c.ranges); i++ {
				if c.ranges[i][0] <= c.ranges[i-1][1]+1 {
					t.Fatalf("sealed ranges %v and %v overlap or touch", c.ranges[i-1], c.ranges[i])
				}
			}
			probes := []uint64{0, 1, math.MaxUint64, math.MaxUint64 - 1, math.MaxUint64 - 2}
			for _, rg := range tt.ranges {
				probes = append(probes, rg[0]-1, rg[0], rg[0]+1, rg[1]-1, rg[1], rg[1]+1)
			}
			for n := uint64(0); n < 5100; n += 7 {
				probes = append(probes, n)
			}
			for _, n := range probes {
				if got, want := c.covers(n), walk(tt.ranges, n); got != want {
					t.Errorf("covers(%d) = %v, want %v (ranges %v)", n, got, want, tt.ranges)
				}
			}
		})
	}
	var nilCov *coverage
	if nilCov.covers(1) {
		t.Error("no coverage covers a record")
	}
}
