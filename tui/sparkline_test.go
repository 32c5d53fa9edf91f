package tui

import (
	"strings"
	"testing"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

func TestSparkline(t *testing.T) {
	plain := sparkStyles{Bar: lipgloss.NewStyle(), Mark: lipgloss.NewStyle()}
	tests := []struct {
		name   string
		counts []int
		marks  []bool
		width  int
		want   string
		under  string
	}{
		{"empty", nil, nil, 5, "     ", "     "},
		{"one per cell", []int{0, 1, 2, 4, 8}, nil, 5, " ▁▂▄█", "     "},
		{"a gap stays blank", []int{5, 0, 0, 5}, []bool{false, false, false, true}, 4, "█  █", "   ▲"},
		{"a burst over a trickle", []int{1, 1, 1, 100, 1}, nil, 5, "▁▁▁█▁", "     "},
		{"cells sum their bins", []int{1, 1, 2, 0, 0, 4}, []bool{false, true}, 3, "▄▄█", "▲  "},
		{"fewer bins than cells", []int{1, 2}, []bool{true}, 4, "▄▄██", "▲▲  "},
		{"no width", []int{1}, nil, 0, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sparkline(tt.counts, tt.marks, tt.width, plain); got != tt.want {
				t.Errorf("sparkline = %q, want %q", got, tt.want)
			}
			if got := sparkMarks(tt.marks, len(tt.counts), tt.width); got != tt.under {
				t.Errorf("marks = %q, want %q", got, tt.under)
			}
		})
	}
	// Marked cells take the mark style, and only they.
	st := sparkStyles{Bar: lipgloss.NewStyle(), Mark: lipgloss.NewStyle().Bold(true)}
	out := sparkline([]uint32{3, 3, 3}, []bool{false, true, false}, 3, st)
	if ansi.Strip(out) != "███" || strings.Count(out, "\x1b[1m") != 1 {
		t.Errorf("styled sparkline %q", out)
	}
}
