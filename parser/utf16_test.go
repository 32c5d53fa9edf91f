package parser

import (
	"strings"
	"testing"
	"unicode/utf16"
)

// refUTF16 is the plain decoding appendUTF16z must agree with: code units
// up to the first NUL (when stopNUL), unpaired surrogates as U+FFFD, a
// trailing odd byte ignored.
func refUTF16(b []byte, stopNUL bool) string {
	var units []uint16
	for i := 0; i+1 < len(b); i += 2 {
		u := uint16(b[i]) | uint16(b[i+1])<<8
		if u == 0 && stopNUL {
			break
		}
		units = append(units, u)
	}
	return string(utf16.Decode(units))
}

func TestAppendUTF16FastPath(t *testing.T) {
	long := strings.Repeat("abcdefgh", 5)
	cases := []struct {
		name string
		b    []byte
	}{
		{"Empty", nil},
		{"OddByte", []byte{'a', 0, 'b'}},
		{"ASCII", appendUTF16LE(nil, long)},
		{"ASCIIThenNonASCII", appendUTF16LE(nil, long+"é☃"+long)},
		{"NonASCIIFirst", appendUTF16LE(nil, "é"+long)},
		{"Surrogates", appendUTF16LE(nil, long[:7]+"😀"+long)},
		{"UnpairedHigh", append(appendUTF16LE(nil, long[:8]), 0x3d, 0xd8, 'x', 0, 'y', 0, 'z', 0, 'w', 0)},
		{"UnpairedLow", append(appendUTF16LE(nil, long[:4]), 0x00, 0xdc, 'x', 0)},
		{"HighByteSet", []byte{'a', 0, 'b', 0, 'c', 0x01, 'd', 0, 'e', 0}},
		{"Byte80", []byte{0x80, 0, 'b', 0, 'c', 0, 'd', 0, 'e', 0}},
	}
	// A NUL at every position of a long ASCII string, and a 0x0100 unit
	// (whose low byte is zero but which is not a NUL) at every position.
	for i := 0; i < 20; i++ {
		b := appendUTF16LE(nil, long[:20])
		b[2*i] = 0
		cases = append(cases, struct {
			name string
			b    []byte
		}{"NULAt" + string(rune('A'+i)), b})
		c := appendUTF16LE(nil, long[:20])
		c[2*i], c[2*i+1] = 0, 1
		cases = append(cases, struct {
			name string
			b    []byte
		}{"U0100At" + string(rune('A'+i)), c})
	}
	for _, tc := range cases {
		for _, stop := range []bool{false, true} {
			got := string(appendUTF16z([]byte("pre:"), tc.b, stop))
			if want := "pre:" + refUTF16(tc.b, stop); got != want {
				t.Errorf("%s stopNUL=%v: got %q, want %q", tc.name, stop, got, want)
			}
		}
	}
}

func FuzzAppendUTF16(f *testing.F) {
	f.Add(appendUTF16LE(nil, "hello world, this is ascii\x00tail"), true)
	f.Add(appendUTF16LE(nil, "héllo 😀 wörld"), false)
	f.Fuzz(func(t *testing.T, b []byte, stop bool) {
		if got, want := string(appendUTF16z(nil, b, stop)), refUTF16(b, stop); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
}
