package parser

import (
	"testing"
	"unicode/utf16"
)

// nameStruct is a name as stored in a chunk (next offset, hash, length,
// UTF-16 text, NUL).
func nameStruct(s string) []byte {
	x := &bx{}
	x.u32(0)
	x.u16(nameHash(appendUTF16LE(nil, s)))
	x.u16(uint16(len(utf16.Encode([]rune(s)))))
	x.utf16(s)
	x.u16(0)
	return x.b
}

// outsideNameBody writes a record whose template definition names its
// Data element by reference to a name stored after the definition (in the
// record's last substitution value): the same definition bytes at the same
// offset then mean different things in different chunks.
func outsideNameBody(field string) func(x *bx) {
	build := func(x *bx, nameOff int) {
		x.fragment()
		x.instance(1, 0, func(t *bx) {
			t.open("Event", false, true)
			t.closeStart()
			t.open("EventData", false, true)
			t.closeStart()
			t.u8(0x01) // open element, name by reference
			t.u16(0xffff)
			t.u32(0)
			t.u32(uint32(nameOff))
			t.u8(0x02)
			t.subst(0, 0x01)
			t.u8(0x04)
			t.endElement()
			t.endElement()
		}, []tval{{0x01, appendUTF16LE(nil, "value\x00")}, {0x0e, nameStruct(field)}})
	}
	return func(x *bx) {
		probe := &bx{base: x.base}
		build(probe, 0)
		build(x, probe.pos()-len(nameStruct(field)))
	}
}

func TestTemplateCacheAcrossChunks(t *testing.T) {
	// Same definition bytes and offsets in both chunks; only the name
	// outside the definition differs. A self-contained definition (as
	// sysmonBody writes) is reused and must give the same result as a
	// fresh compile.
	data := mkFile(
		mkChunk([]rec{{num: 1, body: outsideNameBody("Alpha")}, {num: 2, body: sysmonBody(2, 1, sampleFields)}}, chunkOpts{}),
		mkChunk([]rec{{num: 3, body: outsideNameBody("Gamma")}, {num: 4, body: sysmonBody(4, 1, sampleFields)}}, chunkOpts{}),
		mkChunk([]rec{{num: 5, body: outsideNameBody("Omega")}, {num: 6, body: sysmonBody(6, 1, sampleFields)}}, chunkOpts{}),
	)
	for _, workers := range []int{1, 2} {
		evs, r := read(t, data, Options{Workers: workers})
		if p := r.Problems(); len(p) != 0 {
			t.Fatalf("workers=%d: problems %v", workers, p)
		}
		if len(evs) != 6 {
			t.Fatalf("workers=%d: %d events, want 6", workers, len(evs))
		}
		for i, want := range []string{"Alpha", "Gamma", "Omega"} {
			ev := evs[2*i]
			if len(ev.Fields) != 1 || ev.Fields[0].Name != want || ev.Fields[0].Value != "value" {
				t.Errorf("workers=%d: chunk %d: fields %v, want [{%s value}]", workers, i, ev.Fields, want)
			}
			sys := evs[2*i+1]
			if sys.RecordID != uint64(2*i+2) || sys.Provider != "Microsoft-Windows-Sysmon" || len(sys.Fields) != len(sampleFields) {
				t.Errorf("workers=%d: chunk %d: template record %+v", workers, i, sys)
			}
		}
	}
}
