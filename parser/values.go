package parser

import (
	"encoding/binary"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Binary XML value types (the 0x80 bit marks an array of the base type).
const (
	typNull      = 0x00
	typString    = 0x01
	typANSI      = 0x02
	typInt8      = 0x03
	typUint8     = 0x04
	typInt16     = 0x05
	typUint16    = 0x06
	typInt32     = 0x07
	typUint32    = 0x08
	typInt64     = 0x09
	typUint64    = 0x0a
	typReal32    = 0x0b
	typReal64    = 0x0c
	typBool      = 0x0d
	typBinary    = 0x0e
	typGUID      = 0x0f
	typSizeT     = 0x10
	typFiletime  = 0x11
	typSystime   = 0x12
	typSID       = 0x13
	typHexInt32  = 0x14
	typHexInt64  = 0x15
	typEvtHandle = 0x20
	typBinXML    = 0x21
	typEvtXML    = 0x23
	typArray     = 0x80
)

const hexUpper = "0123456789ABCDEF"
const hexLower = "0123456789abcdef"

func leUint64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

// fixedSize is the size of one element of a fixed-size type, or 0.
func fixedSize(typ uint8) int {
	switch typ {
	case typInt8, typUint8:
		return 1
	case typInt16, typUint16:
		return 2
	case typInt32, typUint32, typReal32, typBool, typHexInt32:
		return 4
	case typInt64, typUint64, typReal64, typFiletime, typHexInt64:
		return 8
	case typGUID, typSystime:
		return 16
	}
	return 0
}

// appendValue renders a value as text (before XML escaping): HexInt32 and
// HexInt64 as Windows renders them in event XML, which Sigma rules are
// written against (0x3e7: lower case, no zero padding; libyal's evtxexport
// pads them to 0x000003e7), every other type as evtxexport prints it.
func appendValue(dst []byte, typ uint8, data []byte) []byte {
	if typ&typArray != 0 {
		return appendArray(dst, typ&^typArray, data)
	}
	le := binary.LittleEndian
	if n := fixedSize(typ); n != 0 && len(data) != n {
		if typ == typBool && len(data) > 0 && len(data) < 4 {
			// tolerate short booleans
		} else {
			return appendHex(dst, data)
		}
	}
	switch typ {
	case typNull:
		return dst
	case typString:
		return appendUTF16z(dst, data, true)
	case typANSI:
		return appendANSI(dst, data)
	case typInt8:
		return strconv.AppendInt(dst, int64(int8(data[0])), 10)
	case typUint8:
		return strconv.AppendUint(dst, uint64(data[0]), 10)
	case typInt16:
		return strconv.AppendInt(dst, int64(int16(le.Uint16(data))), 10)
	case typUint16:
		return strconv.AppendUint(dst, uint64(le.Uint16(data)), 10)
	case typInt32:
		return strconv.AppendInt(dst, int64(int32(le.Uint32(data))), 10)
	case typUint32:
		return strconv.AppendUint(dst, uint64(le.Uint32(data)), 10)
	case typInt64:
		return strconv.AppendInt(dst, int64(le.Uint64(data)), 10)
	case typUint64:
		return strconv.AppendUint(dst, le.Uint64(data), 10)
	case typReal32:
		return appendFloat(dst, float64(math.Float32frombits(le.Uint32(data))))
	case typReal64:
		return appendFloat(dst, math.Float64frombits(le.Uint64(data)))
	case typBool:
		if isZero(data) {
			return append(dst, "false"...)
		}
		return append(dst, "true"...)
	case typGUID:
		return appendGUID(dst, data)
	case typSizeT:
		switch len(data) {
		case 4:
			return strconv.AppendUint(dst, uint64(le.Uint32(data)), 10)
		case 8:
			return strconv.AppendUint(dst, le.Uint64(data), 10)
		}
		return appendHex(dst, data)
	case typFiletime:
		return appendTime(dst, filetimeToTime(le.Uint64(data)))
	case typSystime:
		return systemtimeToTime(data).AppendFormat(dst, systimeLayout)
	case typSID:
		return appendSID(dst, data)
	case typHexInt32:
		return appendHexInt(dst, uint64(le.Uint32(data)))
	case typHexInt64:
		return appendHexInt(dst, le.Uint64(data))
	}
	// binary, handles, EvtXml and unknown types: hexadecimal bytes
	return appendHex(dst, data)
}

// appendArray renders an array value as one string, its elements separated
// by commas. (In EventData an array becomes one field per element, as
// Windows and evtxexport render it; see builder.value.)
func appendArray(dst []byte, typ uint8, data []byte) []byte {
	for i, item := range splitArray(typ, data) {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendValue(dst, typ, item)
	}
	return dst
}

// splitArray cuts the data of an array of base type typ into its elements:
// NUL-terminated strings, or fixed-size items (a partial last item is
// dropped). Unknown element types give the whole data as one binary item.
func splitArray(typ uint8, data []byte) [][]byte {
	var items [][]byte
	switch typ {
	case typString:
		for len(data) >= 2 {
			end := 0
			for end+1 < len(data) && (data[end] != 0 || data[end+1] != 0) {
				end += 2
			}
			if end+1 >= len(data) {
				end = len(data) &^ 1
			}
			items = append(items, data[:end])
			data = data[min(end+2, len(data)):]
		}
		return items
	case typANSI:
		for len(data) > 0 {
			end := 0
			for end < len(data) && data[end] != 0 {
				end++
			}
			items = append(items, data[:end])
			data = data[min(end+1, len(data)):]
		}
		return items
	}
	n := fixedSize(typ)
	if typ == typSizeT {
		n = 8
	}
	if n == 0 {
		return [][]byte{data}
	}
	for i := 0; i+n <= len(data); i += n {
		items = append(items, data[i:i+n])
	}
	return items
}

// appendUTF16 appends UTF-16LE text as UTF-8; unpaired surrogates become
// U+FFFD.
func appendUTF16(dst []byte, b []byte) []byte { return appendUTF16z(dst, b, false) }

// appendUTF16z is appendUTF16 that stops at a NUL code unit when stopNUL
// is set (string values end with one).
func appendUTF16z(dst []byte, b []byte, stopNUL bool) []byte {
	dst = slices.Grow(dst, len(b)/2)
	i := 0
	// ASCII fast path, four code units at a time: most text in event logs
	// is ASCII. A block with a non-ASCII unit (or, with stopNUL, possibly
	// a NUL) goes to the unit-by-unit loop below.
	for ; i+8 <= len(b); i += 8 {
		v := binary.LittleEndian.Uint64(b[i:])
		if v&0xff80ff80ff80ff80 != 0 {
			break
		}
		// With every unit below 0x80, subtracting one from each unit sets
		// a unit's top bit only when a unit (this or a lower one) is zero.
		if stopNUL && (v-0x0001000100010001)&0x8000800080008000 != 0 {
			break
		}
		dst = append(dst, byte(v), byte(v>>16), byte(v>>32), byte(v>>48))
	}
	for ; i+1 < len(b); i += 2 {
		c0, c1 := b[i], b[i+1]
		if c1 == 0 && c0 < 0x80 {
			if c0 == 0 && stopNUL {
				return dst
			}
			dst = append(dst, c0)
			continue
		}
		r := rune(c0) | rune(c1)<<8
		if utf16.IsSurrogate(r) {
			if r < 0xdc00 && i+3 < len(b) {
				r2 := rune(b[i+2]) | rune(b[i+3])<<8
				if c := utf16.DecodeRune(r, r2); c != utf8.RuneError {
					dst = utf8.AppendRune(dst, c)
					i += 2
					continue
				}
			}
			r = utf8.RuneError
		}
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}

func appendRune(dst []byte, r rune) []byte {
	if utf16.IsSurrogate(r) {
		r = utf8.RuneError
	}
	return utf8.AppendRune(dst, r)
}

// appendANSI appends single-byte text (up to a NUL) as UTF-8, reading bytes
// above 0x7f as Latin-1.
func appendANSI(dst []byte, b []byte) []byte {
	for _, c := range b {
		if c == 0 {
			break
		}
		if c < 0x80 {
			dst = append(dst, c)
		} else {
			dst = utf8.AppendRune(dst, rune(c))
		}
	}
	return dst
}

func appendHex(dst []byte, b []byte) []byte {
	for _, c := range b {
		dst = append(dst, hexUpper[c>>4], hexUpper[c&15])
	}
	return dst
}

// appendHexInt appends a HexInt32/HexInt64 value the way Windows renders
// it: 0x and lower-case hex digits without zero padding (0x3e7, 0x0).
func appendHexInt(dst []byte, v uint64) []byte {
	return strconv.AppendUint(append(dst, '0', 'x'), v, 16)
}

// appendHexNum appends 0x and v in lower-case hex, zero-padded to width
// (a SID's 48-bit identifier authority, as ConvertSidToStringSid writes it).
func appendHexNum(dst []byte, v uint64, width int) []byte {
	dst = append(dst, '0', 'x')
	for i := width - 1; i >= 0; i-- {
		dst = append(dst, hexLower[(v>>(4*uint(i)))&15])
	}
	return dst
}

func appendGUID(dst []byte, b []byte) []byte {
	le := binary.LittleEndian
	dst = append(dst, '{')
	d1 := le.Uint32(b)
	for i := 7; i >= 0; i-- {
		dst = append(dst, hexUpper[(d1>>(4*uint(i)))&15])
	}
	dst = append(dst, '-')
	for _, v := range []uint16{le.Uint16(b[4:]), le.Uint16(b[6:])} {
		for i := 3; i >= 0; i-- {
			dst = append(dst, hexUpper[(v>>(4*uint(i)))&15])
		}
		dst = append(dst, '-')
	}
	dst = appendHex(dst, b[8:10])
	dst = append(dst, '-')
	dst = appendHex(dst, b[10:16])
	return append(dst, '}')
}

// appendSID renders a SID as S-R-A-S1-S2…; a malformed one as hex.
func appendSID(dst []byte, b []byte) []byte {
	if len(b) < 8 || len(b) < 8+4*int(b[1]) {
		return appendHex(dst, b)
	}
	dst = append(dst, 'S', '-')
	dst = strconv.AppendUint(dst, uint64(b[0]), 10)
	var auth uint64
	for _, c := range b[2:8] {
		auth = auth<<8 | uint64(c)
	}
	dst = append(dst, '-')
	if auth >= 1<<32 {
		dst = appendHexNum(dst, auth, 12)
	} else {
		dst = strconv.AppendUint(dst, auth, 10)
	}
	for i := 0; i < int(b[1]); i++ {
		dst = append(dst, '-')
		dst = strconv.AppendUint(dst, uint64(binary.LittleEndian.Uint32(b[8+4*i:])), 10)
	}
	return dst
}

// filetimeEpochDelta is 1601-01-01 to 1970-01-01 in 100 ns ticks.
const filetimeEpochDelta = 116444736000000000

// filetimeToTime converts a FILETIME (100 ns ticks since 1601) to UTC time.
func filetimeToTime(ft uint64) time.Time {
	sec := int64(ft/10_000_000) - filetimeEpochDelta/10_000_000
	nsec := int64(ft%10_000_000) * 100
	return time.Unix(sec, nsec).UTC()
}

// eventTime converts a FILETIME for Event.Time and Event.Written: 0 means
// no time and gives the zero time.Time.
func eventTime(ft uint64) time.Time {
	if ft == 0 {
		return time.Time{}
	}
	return filetimeToTime(ft)
}

// systemtimeToTime converts a 16-byte SYSTEMTIME.
func systemtimeToTime(b []byte) time.Time {
	le := binary.LittleEndian
	return time.Date(int(le.Uint16(b)), time.Month(le.Uint16(b[2:])), int(le.Uint16(b[6:])),
		int(le.Uint16(b[8:])), int(le.Uint16(b[10:])), int(le.Uint16(b[12:])),
		int(le.Uint16(b[14:]))*int(time.Millisecond), time.UTC)
}

// timeLayout is how evtxexport prints FILETIME values (100 ns precision,
// nine digits); systimeLayout is for SYSTEMTIME (milliseconds).
const (
	timeLayout    = "2006-01-02T15:04:05.000000000Z"
	systimeLayout = "2006-01-02T15:04:05.000Z"
)

// appendFloat renders a float as evtxexport does: C's %e with six decimals
// and a three-digit exponent (1.500000e+000).
func appendFloat(dst []byte, v float64) []byte {
	start := len(dst)
	dst = strconv.AppendFloat(dst, v, 'e', 6, 64)
	e := -1
	for i := len(dst) - 1; i > start; i-- {
		if dst[i] == 'e' {
			e = i
			break
		}
	}
	if e < 0 || len(dst)-e-2 >= 3 {
		return dst
	}
	// e+00 -> e+000
	digits := string(dst[e+2:])
	dst = append(dst[:e+2], '0')
	return append(dst, digits...)
}

func appendTime(dst []byte, t time.Time) []byte { return t.AppendFormat(dst, timeLayout) }
