package parser

import (
	"encoding/binary"
	"hash/crc32"
	"unicode/utf16"
)

// Test helpers that build EVTX bytes by hand, including hostile ones. They
// follow the layout in libyal's format notes, independently of the writer.

// bx builds binary XML at a known chunk offset (names and template
// definitions are addressed by chunk offset).
type bx struct {
	base  int // chunk offset of b[0]
	b     []byte
	stack []openEl
}

func (x *bx) pos() int              { return x.base + len(x.b) }
func (x *bx) u8(v byte)             { x.b = append(x.b, v) }
func (x *bx) u16(v uint16)          { x.b = binary.LittleEndian.AppendUint16(x.b, v) }
func (x *bx) u32(v uint32)          { x.b = binary.LittleEndian.AppendUint32(x.b, v) }
func (x *bx) raw(b ...byte)         { x.b = append(x.b, b...) }
func (x *bx) fragment()             { x.raw(0x0f, 0x01, 0x01, 0x00) }
func (x *bx) eof()                  { x.u8(0x00) }
func (x *bx) closeStart()           { x.patchAttrs(); x.u8(0x02) }
func (x *bx) closeEmpty()           { x.patchAttrs(); x.u8(0x03); x.popElement() }
func (x *bx) endElement()           { x.u8(0x04); x.popElement() }
func (x *bx) utf16(s string)        { x.b = appendUTF16LE(x.b, s) }
func (x *bx) subst(i int, typ byte) { x.u8(0x0d); x.u16(uint16(i)); x.u8(typ) }
func (x *bx) optSubst(i int, typ byte) {
	x.u8(0x0e)
	x.u16(uint16(i))
	x.u8(typ)
}

func appendUTF16LE(b []byte, s string) []byte {
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

// name writes a name offset pointing right after itself and the name there.
func (x *bx) name(s string) {
	x.u32(uint32(x.pos() + 4))
	x.u32(0) // next
	x.u16(nameHash(appendUTF16LE(nil, s)))
	x.u16(uint16(len(utf16.Encode([]rune(s)))))
	x.utf16(s)
	x.u16(0)
}

// open writes an element start; inTmpl adds the dependency id. The data
// size and attribute list size are patched when the element and its start
// tag are closed (libyal checks them).
func (x *bx) open(name string, attrs, inTmpl bool) {
	tok := byte(0x01)
	if attrs {
		tok = 0x41
	}
	x.u8(tok)
	if inTmpl {
		x.u16(0xffff)
	}
	el := openEl{sizeAt: len(x.b), attrAt: -1}
	x.u32(0) // data size
	x.name(name)
	if attrs {
		el.attrAt = len(x.b)
		x.u32(0) // attribute list size
	}
	x.stack = append(x.stack, el)
}

// openEl is an element whose sizes are still to be patched.
type openEl struct{ sizeAt, attrAt int }

func (x *bx) patchAttrs() {
	if n := len(x.stack); n > 0 {
		el := &x.stack[n-1]
		if el.attrAt >= 0 {
			binary.LittleEndian.PutUint32(x.b[el.attrAt:], uint32(len(x.b)-el.attrAt-4))
			el.attrAt = -1
		}
	}
}

func (x *bx) popElement() {
	if n := len(x.stack); n > 0 {
		el := x.stack[n-1]
		x.stack = x.stack[:n-1]
		binary.LittleEndian.PutUint32(x.b[el.sizeAt:], uint32(len(x.b)-el.sizeAt-4))
	}
}

func (x *bx) attr(name string, last bool) {
	if last {
		x.u8(0x06)
	} else {
		x.u8(0x46)
	}
	x.name(name)
}

func (x *bx) text(s string) {
	x.u8(0x05)
	x.u8(0x01)
	x.u16(uint16(len(utf16.Encode([]rune(s)))))
	x.utf16(s)
}

// leaf writes <name>text</name>.
func (x *bx) leaf(name, text string, inTmpl bool) {
	x.open(name, false, inTmpl)
	x.closeStart()
	x.text(text)
	x.endElement()
}

// tval is one template instance value.
type tval struct {
	typ  byte
	data []byte
}

// instance writes a template instance. When body is non-nil the template is
// defined inline (body writes the template's root content, inside a
// fragment); otherwise defOff references an earlier definition.
func (x *bx) instance(id uint32, defOff int, body func(*bx), vals []tval) (def int) {
	x.u8(0x0c)
	x.u8(0x01)
	x.u32(id)
	if body != nil {
		defOff = x.pos() + 4
	}
	x.u32(uint32(defOff))
	if body != nil {
		x.u32(0)                   // next definition
		x.u32(id)                  // GUID: Windows starts it with the template id
		x.raw(make([]byte, 12)...) // rest of the GUID
		sizeAt := len(x.b)
		x.u32(0)
		start := len(x.b)
		x.fragment()
		body(x)
		x.eof()
		binary.LittleEndian.PutUint32(x.b[sizeAt:], uint32(len(x.b)-start))
	}
	x.u32(uint32(len(vals)))
	for _, v := range vals {
		x.u16(uint16(len(v.data)))
		x.u8(v.typ)
		x.u8(0)
	}
	for _, v := range vals {
		x.raw(v.data...)
	}
	return defOff
}

// rec is one record to place in a chunk: its number and a function writing
// its binary XML.
type rec struct {
	num  uint64
	body func(x *bx)
	// size, if non-zero, overrides the size fields (hostile records).
	size uint32
}

// chunkOpts are knobs for mkChunk.
type chunkOpts struct {
	badHeaderCRC bool
	badDataCRC   bool
	badMagic     bool
	slack        []rec // records placed after the free-space offset
}

// mkChunk lays records out in a 64 KiB chunk with correct header fields
// and CRCs (unless opts say otherwise).
func mkChunk(recs []rec, opts chunkOpts) []byte {
	c := make([]byte, chunkSize)
	copy(c, chunkMagic)
	le := binary.LittleEndian
	pos := chunkHeaderSize
	place := func(r rec) {
		x := &bx{base: pos + recordHeaderLen}
		r.body(x)
		for len(x.b)%8 != 4 {
			x.u8(0)
		}
		size := uint32(recordHeaderLen + len(x.b) + 4)
		if r.size != 0 {
			size = r.size
		}
		if pos+recordHeaderLen+len(x.b)+4 > chunkSize {
			panic("test record does not fit")
		}
		copy(c[pos:], recordMagic)
		le.PutUint32(c[pos+4:], size)
		le.PutUint64(c[pos+8:], r.num)
		le.PutUint64(c[pos+16:], 132021597057809493)
		copy(c[pos+recordHeaderLen:], x.b)
		le.PutUint32(c[pos+recordHeaderLen+len(x.b):], size)
		pos += recordHeaderLen + len(x.b) + 4
	}
	last := chunkHeaderSize
	for _, r := range recs {
		last = pos
		place(r)
	}
	free := pos
	for _, r := range opts.slack {
		place(r)
	}
	if len(recs) > 0 {
		le.PutUint64(c[0x08:], recs[0].num)
		le.PutUint64(c[0x10:], recs[len(recs)-1].num)
		le.PutUint64(c[0x18:], recs[0].num)
		le.PutUint64(c[0x20:], recs[len(recs)-1].num)
	}
	le.PutUint32(c[0x28:], 0x80)
	le.PutUint32(c[0x2c:], uint32(last))
	le.PutUint32(c[0x30:], uint32(free))
	dcrc := crc32.ChecksumIEEE(c[chunkHeaderSize:free])
	if opts.badDataCRC {
		dcrc++
	}
	le.PutUint32(c[0x34:], dcrc)
	h := crc32.NewIEEE()
	h.Write(c[:0x78])
	h.Write(c[0x80:chunkHeaderSize])
	hcrc := h.Sum32()
	if opts.badHeaderCRC {
		hcrc++
	}
	le.PutUint32(c[0x7c:], hcrc)
	if opts.badMagic {
		copy(c, "XXXXXXXX")
	}
	return c
}

// mkFile prepends a valid file header to chunks.
func mkFile(chunks ...[]byte) []byte {
	f := make([]byte, fileHeaderSize, fileHeaderSize+len(chunks)*chunkSize)
	le := binary.LittleEndian
	copy(f, fileMagic)
	le.PutUint64(f[0x10:], uint64(max(len(chunks)-1, 0)))
	le.PutUint32(f[0x20:], 0x80)
	le.PutUint16(f[0x24:], 1)
	le.PutUint16(f[0x26:], 3)
	le.PutUint16(f[0x28:], fileHeaderSize)
	le.PutUint16(f[0x2a:], uint16(len(chunks)))
	le.PutUint32(f[0x7c:], crc32.ChecksumIEEE(f[:0x78]))
	for _, c := range chunks {
		f = append(f, c...)
	}
	return f
}

// sysmonBody writes a template-based record like Sysmon's: a System
// template and an EventData template with the given fields as strings.
func sysmonBody(recordID uint64, eventID uint16, fields []Field) func(x *bx) {
	return func(x *bx) {
		x.fragment()
		vals := []tval{
			{0x06, binary.LittleEndian.AppendUint16(nil, eventID)},
			{0x0a, binary.LittleEndian.AppendUint64(nil, recordID)},
			{0x11, binary.LittleEndian.AppendUint64(nil, 132021597057809493)},
			{0x13, []byte{1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0}},
			{0x15, binary.LittleEndian.AppendUint64(nil, 0x8000000000000000)},
		}
		var ed []tval
		for _, f := range fields {
			ed = append(ed, tval{0x01, appendUTF16LE(nil, f.Value+"\x00")})
		}
		// EventData travels as a nested binary XML value (type 0x21),
		// built at its final offset below.
		x.instance(1, 0, func(t *bx) {
			t.open("Event", false, true)
			t.closeStart()
			t.open("System", false, true)
			t.closeStart()
			t.open("Provider", true, true)
			t.attr("Name", true)
			t.text("Microsoft-Windows-Sysmon")
			t.closeEmpty()
			t.open("EventID", false, true)
			t.closeStart()
			t.subst(0, 0x06)
			t.endElement()
			t.open("Keywords", false, true)
			t.closeStart()
			t.subst(4, 0x15)
			t.endElement()
			t.open("TimeCreated", true, true)
			t.attr("SystemTime", true)
			t.subst(2, 0x11)
			t.closeEmpty()
			t.open("EventRecordID", false, true)
			t.closeStart()
			t.subst(1, 0x0a)
			t.endElement()
			t.leaf("Channel", "Microsoft-Windows-Sysmon/Operational", true)
			t.leaf("Computer", "WS1", true)
			t.open("Security", true, true)
			t.attr("UserID", true)
			t.optSubst(3, 0x13)
			t.closeEmpty()
			t.endElement() // System
			t.subst(5, 0x21)
			t.endElement() // Event
		}, append(vals, tval{0x21, nil}))
		// The nested EventData value comes last, so it is built at the end
		// and the size of its descriptor patched afterwards.
		nested := &bx{base: x.pos()}
		nested.fragment()
		nested.instance(2, 0, func(t *bx) {
			t.open("EventData", false, true)
			t.closeStart()
			for i, f := range fields {
				t.open("Data", true, true)
				t.attr("Name", true)
				t.text(f.Name)
				t.closeStart()
				t.subst(i, 0x01)
				t.endElement()
			}
			t.endElement()
		}, ed)
		x.raw(nested.b...)
		setLastValueSize(x, len(nested.b))
		x.eof()
	}
}

// setLastValueSize patches the size of the last value descriptor of the
// first template instance in x (used when the last value is appended
// after the instance was written).
func setLastValueSize(x *bx, size int) {
	le := binary.LittleEndian
	// instance token at offset 4 (after the fragment header)
	p := 4 + 10
	defOff := int(le.Uint32(x.b[4+6:]))
	if defOff == x.base+p {
		p += 24 + int(le.Uint32(x.b[p+20:]))
	}
	n := int(le.Uint32(x.b[p:]))
	le.PutUint16(x.b[p+4+4*(n-1):], uint16(size))
}
