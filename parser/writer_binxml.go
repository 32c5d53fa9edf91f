package parser

import (
	"encoding/binary"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// Binary XML tokens the writer emits.
const (
	wTokEOF              = 0x00
	wTokOpenStart        = 0x01 // element without attributes (0x41 with)
	wTokCloseStart       = 0x02
	wTokCloseEmpty       = 0x03
	wTokEndElement       = 0x04
	wTokValueText        = 0x05
	wTokAttribute        = 0x06 // last attribute (0x46: more follow)
	wTokTemplateInstance = 0x0C
	wTokNormalSubst      = 0x0D
	wTokOptionalSubst    = 0x0E
	wTokMoreBit          = 0x40
)

// Binary XML value types the writer emits.
const (
	wTypeNull     = 0x00
	wTypeString   = 0x01
	wTypeUint8    = 0x04
	wTypeUint16   = 0x06
	wTypeUint32   = 0x08
	wTypeUint64   = 0x0A
	wTypeBool     = 0x0D
	wTypeGUID     = 0x0F
	wTypeFiletime = 0x11
	wTypeSID      = 0x13
	wTypeHexInt32 = 0x14
	wTypeHexInt64 = 0x15
	wTypeBinXML   = 0x21
)

// wEnc appends Binary XML to b; base is the chunk offset of b[0], which the
// format needs for inline names and template definitions.
type wEnc struct {
	b    []byte
	base int
}

// wElem is an element being written: where it starts and where its
// attribute-list size goes (-1 without attributes).
type wElem struct {
	start, attrAt int
}

func (e *wEnc) off() int          { return e.base + len(e.b) }
func (e *wEnc) u8(v byte)         { e.b = append(e.b, v) }
func (e *wEnc) raw(s string)      { e.b = append(e.b, s...) }
func (e *wEnc) u16(v uint16)      { e.b = binary.LittleEndian.AppendUint16(e.b, v) }
func (e *wEnc) u32(v uint32)      { e.b = binary.LittleEndian.AppendUint32(e.b, v) }
func (e *wEnc) u64(v uint64)      { e.b = binary.LittleEndian.AppendUint64(e.b, v) }
func (e *wEnc) patch32(at, v int) { binary.LittleEndian.PutUint32(e.b[at:], uint32(v)) }

// name writes a name reference followed by the name itself, inline.
func (e *wEnc) name(s string) {
	e.u32(uint32(e.off() + 4))
	e.u32(0) // next name in the hash chain
	u := utf16.Encode([]rune(s))
	var h uint32
	for _, c := range u {
		h = h*65599 + uint32(c)
	}
	e.u16(uint16(h))
	e.u16(uint16(len(u)))
	for _, c := range u {
		e.u16(c)
	}
	e.u16(0)
}

// open writes an element start; attributes follow when hasAttrs.
func (e *wEnc) open(name string, hasAttrs bool) wElem {
	el := wElem{start: len(e.b), attrAt: -1}
	if hasAttrs {
		e.u8(wTokOpenStart | wTokMoreBit)
	} else {
		e.u8(wTokOpenStart)
	}
	e.u16(0xFFFF) // dependency id: none
	e.u32(0)      // data size, patched on close
	e.name(name)
	if hasAttrs {
		el.attrAt = len(e.b)
		e.u32(0)
	}
	return el
}

func (e *wEnc) attrStart(name string, last bool) {
	if last {
		e.u8(wTokAttribute)
	} else {
		e.u8(wTokAttribute | wTokMoreBit)
	}
	e.name(name)
}

// attrText writes an attribute with a literal value.
func (e *wEnc) attrText(name, value string, last bool) {
	e.attrStart(name, last)
	e.text(value)
}

// attrSubst writes an attribute whose value is optional substitution idx
// (dropped when the value is NULL).
func (e *wEnc) attrSubst(name string, idx int, typ byte, last bool) {
	e.attrStart(name, last)
	e.subst(idx, typ, true)
}

func (e *wEnc) endAttrs(el wElem) {
	if el.attrAt >= 0 {
		e.patch32(el.attrAt, len(e.b)-el.attrAt-4)
	}
}

// closeAttrs ends the start tag; content follows, then close.
func (e *wEnc) closeAttrs(el wElem) {
	e.endAttrs(el)
	e.u8(wTokCloseStart)
}

// closeEmpty ends an element without content.
func (e *wEnc) closeEmpty(el wElem) {
	e.endAttrs(el)
	e.u8(wTokCloseEmpty)
	e.patch32(el.start+3, len(e.b)-el.start-7)
}

// close ends an element with content.
func (e *wEnc) close(el wElem) {
	e.u8(wTokEndElement)
	e.patch32(el.start+3, len(e.b)-el.start-7)
}

// leaf writes <name>%idx</name>.
func (e *wEnc) leaf(name string, idx int, typ byte) {
	el := e.open(name, false)
	e.closeAttrs(el)
	e.subst(idx, typ, true)
	e.close(el)
}

// text writes literal character data.
func (e *wEnc) text(s string) {
	u := utf16.Encode([]rune(s))
	e.u8(wTokValueText)
	e.u8(wTypeString)
	e.u16(uint16(len(u)))
	for _, c := range u {
		e.u16(c)
	}
}

// subst writes a substitution of value idx with type typ.
func (e *wEnc) subst(idx int, typ byte, optional bool) {
	if optional {
		e.u8(wTokOptionalSubst)
	} else {
		e.u8(wTokNormalSubst)
	}
	e.u16(uint16(idx))
	e.u8(typ)
}

// values writes a template instance's value count, descriptors and data.
func (e *wEnc) values(vals []wValue) error {
	e.u32(uint32(len(vals)))
	for _, v := range vals {
		if len(v.data) > 0xFFFF {
			return fmt.Errorf("%w: value of %d bytes", ErrRecordTooLarge, len(v.data))
		}
		e.u16(uint16(len(v.data)))
		e.u8(v.typ)
		e.u8(0)
	}
	for _, v := range vals {
		e.b = append(e.b, v.data...)
	}
	return nil
}

// wUtf16Len returns the byte length of s as NUL-terminated UTF-16LE. A
// string value ends at its first NUL character (readers stop there).
func wUtf16Len(s string) int {
	n := 1
	for _, r := range s {
		if r == 0 {
			break
		}
		if r >= 0x10000 && r <= utf8.MaxRune {
			n += 2
		} else {
			n++
		}
	}
	return 2 * n
}

// wPutUTF16z writes s, up to its first NUL, as NUL-terminated UTF-16LE into
// b, which must be wUtf16Len(s) bytes long. Invalid UTF-8 becomes U+FFFD.
func wPutUTF16z(b []byte, s string) {
	i := 0
	for _, r := range s {
		if r == 0 {
			break
		}
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			binary.LittleEndian.PutUint16(b[i:], uint16(r1))
			binary.LittleEndian.PutUint16(b[i+2:], uint16(r2))
			i += 4
			continue
		}
		binary.LittleEndian.PutUint16(b[i:], uint16(r))
		i += 2
	}
	binary.LittleEndian.PutUint16(b[i:], 0)
}
