package parser

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func u16b(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func u32b(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func u64b(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

var minus5e12 int64 = -5000000000000

// sidBytes encodes a revision-1 SID.
func sidBytes(auth uint64, subs ...uint32) []byte {
	b := []byte{1, byte(len(subs)), byte(auth >> 40), byte(auth >> 32), byte(auth >> 24), byte(auth >> 16), byte(auth >> 8), byte(auth)}
	for _, s := range subs {
		b = binary.LittleEndian.AppendUint32(b, s)
	}
	return b
}

var guidBytes = []byte{0x72, 0xbb, 0x5a, 0x36, 0x59, 0x67, 0xd8, 0x5c, 0, 0, 0, 0x10, 0xe2, 0xd5, 0x0f, 0}

// valueCases are values of every type with how they must render: what
// libyal's evtxexport prints for them, except HexInt32/HexInt64, which
// render as Windows writes them in event XML (evtxexport pads them).
var valueCases = []struct {
	name string
	typ  byte
	data []byte
	want string
}{
	// Known evtxexport 20181227 bugs we do not copy (Windows renders these
	// correctly): signed integers printed as sign and magnitude of the
	// low bits (int8 0xfb prints -123), UTF-16 surrogate pairs decoded
	// wrongly (U+1F600 prints U+1F201), and a NULL value in a normal
	// substitution makes it give up on the record.
	{"Null", 0x00, nil, ""},
	{"String", 0x01, appendUTF16LE(nil, "héllo wörld ☃\x00"), "héllo wörld ☃"},
	{"StringNoNUL", 0x01, appendUTF16LE(nil, "abc"), "abc"},
	{"StringSurrogates", 0x01, appendUTF16LE(nil, "a😀b\x00"), "a😀b"},
	{"ANSI", 0x02, []byte("ansi text\x00"), "ansi text"},
	{"Int8", 0x03, []byte{0xfb}, "-5"},
	{"UInt8", 0x04, []byte{200}, "200"},
	{"Int16", 0x05, u16b(0xfed4), "-300"},
	{"UInt16", 0x06, u16b(60000), "60000"},
	{"Int32", 0x07, u32b(0xfffeee90), "-70000"},
	{"UInt32", 0x08, u32b(4000000000), "4000000000"},
	{"Int64", 0x09, u64b(uint64(minus5e12)), "-5000000000000"},
	{"UInt64", 0x0a, u64b(18000000000000000000), "18000000000000000000"},
	{"Real32", 0x0b, u32b(math.Float32bits(1.5)), "1.500000e+000"},
	{"Real64", 0x0c, u64b(math.Float64bits(-3.25e-120)), "-3.250000e-120"},
	{"BoolTrue", 0x0d, u32b(1), "true"},
	{"BoolFalse", 0x0d, u32b(0), "false"},
	{"Binary", 0x0e, []byte{0x01, 0xab, 0xff}, "01ABFF"},
	{"GUID", 0x0f, guidBytes, "{365ABB72-6759-5CD8-0000-0010E2D50F00}"},
	{"SizeT64", 0x10, u64b(0x1234), "4660"},
	{"SizeT32", 0x10, u32b(0x1234), "4660"},
	{"FILETIME", 0x11, u64b(132021597057809493), "2019-05-12T18:35:05.780949300Z"},
	{"SYSTEMTIME", 0x12, append(append(append(append(append(append(append(u16b(2021), u16b(6)...), u16b(4)...), u16b(3)...), u16b(13)...), u16b(5)...), u16b(20)...), u16b(242)...), "2021-06-03T13:05:20.242Z"},
	{"SID", 0x13, sidBytes(5, 21, 2555720767, 1205513275, 3893744289, 1001), "S-1-5-21-2555720767-1205513275-3893744289-1001"},
	// HexInt as Windows renders it in event XML: no zero padding.
	{"HexInt32", 0x14, u32b(0x3e7), "0x3e7"},
	{"HexInt32Zero", 0x14, u32b(0), "0x0"},
	{"HexInt32Max", 0x14, u32b(0xffffffff), "0xffffffff"},
	{"HexInt64", 0x15, u64b(0x13eee), "0x13eee"},
	{"HexInt64High", 0x15, u64b(0x8020000000000000), "0x8020000000000000"},
	{"StringArray", 0x81, appendUTF16LE(nil, "a\x00bb\x00"), "a,bb"},
	{"UInt16Array", 0x86, append(u16b(1), u16b(2)...), "1,2"},
	{"UInt32Array", 0x88, append(u32b(7), u32b(8)...), "7,8"},
	{"HexInt64Array", 0x95, append(u64b(1), u64b(255)...), "0x1,0xff"},
	{"GUIDArray", 0x8f, append(append([]byte(nil), guidBytes...), guidBytes...), "{365ABB72-6759-5CD8-0000-0010E2D50F00},{365ABB72-6759-5CD8-0000-0010E2D50F00}"},
}

func TestAppendValue(t *testing.T) {
	for _, c := range valueCases {
		if got := string(appendValue(nil, c.typ, c.data)); got != c.want {
			t.Errorf("%s (type 0x%02x): %q, want %q", c.name, c.typ, got, c.want)
		}
	}
}

func valuesFileOf(cases []int) []byte {
	return mkFile(mkChunk([]rec{{num: 1, body: func(x *bx) {
		x.fragment()
		var vals []tval
		for _, i := range cases {
			vals = append(vals, tval{valueCases[i].typ, valueCases[i].data})
		}
		x.instance(1, 0, func(t *bx) {
			t.open("Event", false, true)
			t.closeStart()
			t.open("EventData", false, true)
			t.closeStart()
			for k, i := range cases {
				t.open("Data", true, true)
				t.attr("Name", true)
				t.text(valueCases[i].name)
				t.closeStart()
				t.subst(k, valueCases[i].typ)
				t.endElement()
			}
			t.endElement()
			t.endElement()
		}, vals)
		x.eof()
	}}}, chunkOpts{}))
}

// valuesFile is a log with one record whose EventData holds every value of
// valueCases, each in <Data Name="…">.
func valuesFile() []byte {
	all := make([]int, len(valueCases))
	for i := range all {
		all[i] = i
	}
	return valuesFileOf(all)
}

// evtxexportDiffers lists the cases where evtxexport is wrong (see above).
var evtxexportDiffers = map[string]bool{
	"Null": true, "Int8": true, "Int16": true, "Int32": true, "Int64": true, "StringSurrogates": true,
}

// wantFields is how the reader flattens valueCases: arrays become one
// field per item (the element repeated, as Windows renders it), the
// repeats named #2, #3….
func wantFields(skip map[string]bool) []Field {
	var out []Field
	for _, c := range valueCases {
		if skip[c.name] {
			continue
		}
		if c.typ&0x80 != 0 {
			for i, item := range splitArray(c.typ&^0x80, c.data) {
				name := c.name
				if i > 0 {
					name += "#" + strconv.Itoa(i+1)
				}
				out = append(out, Field{name, string(appendValue(nil, c.typ&^0x80, item))})
			}
			continue
		}
		out = append(out, Field{c.name, c.want})
	}
	return out
}

// TestValuesThroughReader decodes every value type from a record.
func TestValuesThroughReader(t *testing.T) {
	evs, r := read(t, valuesFile(), Options{})
	if len(evs) != 1 || len(r.Problems()) != 0 {
		t.Fatalf("%d events, problems %v", len(evs), r.Problems())
	}
	want := wantFields(nil)
	if !equalFields(evs[0].Fields, want) {
		t.Errorf("fields\n got  %q\n want %q", evs[0].Fields, want)
	}
	if v, _ := evs[0].Field("StringArray"); v != "a" {
		t.Errorf("first StringArray item %q", v)
	}
}

// TestValuesMatchEvtxexport checks the renderings against libyal's
// evtxexport itself (skips when it is not installed).
func TestValuesMatchEvtxexport(t *testing.T) {
	if _, err := lookEvtxexport(); err != nil {
		t.Skip("evtxexport not installed")
	}
	var idx []int
	for i, c := range valueCases {
		if !evtxexportDiffers[c.name] {
			idx = append(idx, i)
		}
	}
	path := filepath.Join(t.TempDir(), "values.evtx")
	if err := os.WriteFile(path, valuesFileOf(idx), 0o644); err != nil {
		t.Fatal(err)
	}
	xevs, ok := evtxexportEvents(t, path)
	if !ok || len(xevs) != 1 {
		t.Fatalf("evtxexport read %d events", len(xevs))
	}
	evs, _ := read(t, valuesFileOf(idx), Options{})
	want := wantFields(evtxexportDiffers)
	if !sameAsEvtxexport(want, xevs[0].fields) {
		t.Errorf("evtxexport prints\n %q\nthe test expects\n %q", xevs[0].fields, want)
	}
	if !sameAsEvtxexport(evs[0].Fields, xevs[0].fields) {
		t.Errorf("reader gives\n %q\nevtxexport prints\n %q", evs[0].Fields, xevs[0].fields)
	}
}

// optionalFile has optional substitutions: a NULL one (the attribute or
// element disappears), an empty string (the element stays) and a value.
func optionalFile() []byte {
	return mkFile(mkChunk([]rec{{num: 1, body: func(x *bx) {
		x.fragment()
		x.instance(1, 0, func(t *bx) {
			t.open("Event", false, true)
			t.closeStart()
			t.open("System", false, true)
			t.closeStart()
			t.open("Security", true, true)
			t.attr("UserID", true)
			t.optSubst(0, 0x13)
			t.closeEmpty()
			t.endElement()
			t.open("EventData", false, true)
			t.closeStart()
			for i, name := range []string{"OptNull", "OptEmpty", "After"} {
				t.open("Data", true, true)
				t.attr("Name", true)
				t.text(name)
				t.closeStart()
				t.optSubst(i, 0x01)
				t.endElement()
			}
			t.endElement()
			t.endElement()
		}, []tval{{0x00, nil}, {0x01, nil}, {0x01, appendUTF16LE(nil, "x\x00")}})
		x.eof()
	}}}, chunkOpts{}))
}

func TestOptionalSubstitutions(t *testing.T) {
	want := []Field{{"OptEmpty", ""}, {"After", "x"}}
	evs, _ := read(t, optionalFile(), Options{})
	if len(evs) != 1 || !equalFields(evs[0].Fields, want) || evs[0].UserID != "" {
		t.Fatalf("got %+v, want fields %q", evs, want)
	}
	if _, err := lookEvtxexport(); err != nil {
		t.Skip("evtxexport not installed")
	}
	path := filepath.Join(t.TempDir(), "optional.evtx")
	if err := os.WriteFile(path, optionalFile(), 0o644); err != nil {
		t.Fatal(err)
	}
	xevs, ok := evtxexportEvents(t, path)
	if !ok || len(xevs) != 1 || !equalFields(xevs[0].fields, want) {
		t.Errorf("evtxexport gives %+v, want %q", xevs, want)
	}
}
