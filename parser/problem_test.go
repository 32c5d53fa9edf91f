package parser

import (
	"encoding/json"
	"errors"
	"testing"
)

// TestProblemJSON: a problem written to JSON reads back with the same
// offset, reason and text (an export's problems read back).
func TestProblemJSON(t *testing.T) {
	tests := []Problem{
		{Offset: 0x11000, Err: &FormatError{Offset: 0x11000, Msg: "chunk 1: bad CRC"}},
		{Offset: 0x200, Err: errors.New("open x: no such file")},
		{Offset: 0},
	}
	for _, p := range tests {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var q Problem
		if err := json.Unmarshal(b, &q); err != nil {
			t.Fatal(err)
		}
		if q.Offset != p.Offset || q.Reason() != p.Reason() || q.String() != p.String() {
			t.Errorf("%s read back as %s (%q, %q)", p, q, p.Reason(), q.Reason())
		}
	}
	var q Problem
	if err := json.Unmarshal([]byte(`{"offset":"x"}`), &q); err == nil {
		t.Error("a bad offset is no error")
	}
}
