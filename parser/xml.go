package parser

import (
	"encoding/binary"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/evtriage/evtriage/internal/termsafe"
)

// XML rendering of a record: the <Event xmlns="..."> document Windows
// renders (EvtRender, Event Viewer's XML view), indented by two spaces per
// level like Event Viewer shows it.
//
// What is rendered: every element, attribute and text of the record's
// binary XML in document order (System, EventData with its Data Name=
// and unnamed Data elements, UserData at any depth, RenderingInfo,
// template-less records alike). Substitution values are rendered by
// appendValue, the one place that renders values, so the XML shows
// exactly the strings the flattened Event holds. An optional substitution
// without a value (NULL) removes its attribute or element, as Windows does
// (<Correlation/>, <Security/>). An array value in EventData or UserData
// repeats its element once per item, as the Event's Fields do. An element
// without content is written as <Name/>.
//
// Escaping (evidence text never reaches an output raw): & < > are escaped
// everywhere, " in attribute values. Characters that XML allows but a
// terminal could act on or that hide text — DEL, the C1 controls, bidi and
// other format characters, line and paragraph separators, private-use and
// unassigned code points, and CR everywhere (which a parser would
// otherwise fold away) — become character references (&#x202E;, &#xD;).
// Tab and line feed stay as they are in element text (multi-line script
// blocks stay readable; XML keeps them) and become &#x9; &#xA; in attribute
// values (where XML would turn them into spaces). What XML cannot carry at
// all, even as a reference — the other C0 controls, U+FFFE, U+FFFF and
// invalid UTF-8 — is written the way the project's terminal-safe text
// shows it (termsafe.Clean: \x1b, \ufffe, \xff), so it stays visible and
// the document stays well-formed. Which characters are unsafe is
// termsafe.Unsafe's decision, the project's one rule.
//
// Names that are not XML names (hostile input) are encoded the way
// .NET's XmlConvert.EncodeName does it: each offending character as
// _xHHHH_ (_x0020_ for a space, _x0001F600_ above U+FFFF), and the
// underscore of an existing "_xHHHH_" as _x005F_; names keep ASCII only
// (see nameChar) and a colon only in a namespace declaration (xmlns:p). A repeated attribute name in one start tag gets a suffix
// (_2, _3...). So every record renders as well-formed XML that any XML
// parser reads.

// maxRecordXML bounds the XML rendered for one record; chunkXMLOutput
// bounds it for one chunk when events and their XML are delivered together
// (Reader.EventsXML).
const (
	maxRecordXML   = 4 << 20
	chunkXMLOutput = 16 << 20
)

// xmlFrame is an element being written.
type xmlFrame struct {
	name    string // as written (encoded)
	lead    int    // offset in out of the element's leading line break and indentation
	tag     int    // offset in out of its '<'
	tagEnd  int    // offset in out of the '>' closing its start tag, once written
	open    bool   // start tag not yet closed: attributes may follow; no content yet
	kids    bool   // has child elements
	text    bool   // has text content
	prevKid bool   // the parent's kids and open before this element
	prevOpn bool   // (restored when it is dropped)
	drop    bool   // an optional substitution without a value removed the element
	section uint8  // secSystem, secFields or secSkip, from the element under Event
	arr     value  // an array value to repeat the element for
	arrSet  bool
	attrs   int // index in xmlWriter.attrNames of this start tag's first attribute
}

// xmlWriter receives decoded binary XML (it is an emitter) and writes it
// as indented XML to out.
type xmlWriter struct {
	d     *decoder
	out   []byte
	stack []xmlFrame
	// The attribute being written: where it starts in out (its leading
	// space), whether it is discarded (not inside a start tag) or dropped
	// (optional substitution without a value).
	inAttr    bool
	attrAt    int
	attrSkip  bool
	attrDrop  bool
	attrNames [][2]int // where in out the names of the open start tags' attributes are
	scratch   []byte
	first     int   // where this record's XML starts in out
	limit     int   // len(out) may not grow past this
	err       error // a limit hit where no error could be returned
}

// begin starts rendering a record, appending to dst.
func (x *xmlWriter) begin(d *decoder, dst []byte, limit int) {
	x.d = d
	x.out = dst
	x.stack = x.stack[:0]
	x.attrNames = x.attrNames[:0]
	x.inAttr, x.attrSkip, x.attrDrop = false, false, false
	x.first = len(dst)
	x.limit = len(dst) + limit
	x.err = nil
}

// finish closes what the record left open and returns the output.
func (x *xmlWriter) finish() ([]byte, error) {
	for len(x.stack) > 0 {
		x.end()
	}
	if x.err == nil && len(x.out) > x.limit {
		x.err = errOutput
	}
	return x.out, x.err
}

func (x *xmlWriter) check() error {
	if len(x.out) > x.limit {
		x.err = errOutput
		return errOutput
	}
	return nil
}

func (x *xmlWriter) top() *xmlFrame {
	if len(x.stack) == 0 {
		return nil
	}
	return &x.stack[len(x.stack)-1]
}

// indent appends a line break and two spaces per open element.
func (x *xmlWriter) indent(depth int) {
	x.out = append(x.out, '\n')
	for range depth {
		x.out = append(x.out, ' ', ' ')
	}
}

// content closes the start tag of f (if still open) before content.
func (x *xmlWriter) content(f *xmlFrame) {
	if f != nil && f.open {
		f.tagEnd = len(x.out)
		x.out = append(x.out, '>')
		f.open = false
	}
}

func (x *xmlWriter) start(name string) error {
	if x.inAttr {
		x.endAttr()
	}
	if len(x.stack) >= maxDepth {
		return errTooDeep
	}
	f := xmlFrame{open: true, attrs: len(x.attrNames)}
	parent := x.top()
	f.lead = len(x.out)
	if parent != nil {
		f.prevKid, f.prevOpn = parent.kids, parent.open
		x.content(parent)
		parent.kids = true
		f.section = parent.section
		if !parent.text {
			x.indent(len(x.stack))
		}
	} else if len(x.out) > x.first && x.out[len(x.out)-1] != '\n' {
		x.out = append(x.out, '\n')
	}
	if len(x.stack) == 1 {
		switch name {
		case "System":
			f.section = secSystem
		case "RenderingInfo":
			f.section = secSkip
		default:
			f.section = secFields
		}
	}
	f.tag = len(x.out)
	x.out = append(x.out, '<')
	start := len(x.out)
	x.out = appendXMLName(x.out, name, false)
	f.name = string(x.out[start:])
	x.stack = append(x.stack, f)
	return x.check()
}

func (x *xmlWriter) attr(name string) {
	if x.inAttr {
		x.endAttr()
	}
	x.inAttr = true
	x.attrDrop = false
	f := x.top()
	if f == nil || !f.open {
		// An attribute outside a start tag: nothing to attach it to.
		x.attrSkip = true
		return
	}
	x.attrAt = len(x.out)
	x.out = append(x.out, ' ')
	start := len(x.out)
	x.out = appendXMLName(x.out, name, true)
	// A repeated name would make the document ill-formed.
	for n := 2; x.seen(f, x.out[start:]); n++ {
		x.out = appendXMLName(x.out[:start], name, true)
		x.out = append(x.out, '_')
		x.out = strconv.AppendInt(x.out, int64(n), 10)
	}
	x.attrNames = append(x.attrNames, [2]int{start, len(x.out)})
	x.out = append(x.out, '=', '"')
}

// seen reports whether f's start tag already has an attribute named name.
func (x *xmlWriter) seen(f *xmlFrame, name []byte) bool {
	for _, s := range x.attrNames[f.attrs:] {
		if string(x.out[s[0]:s[1]]) == string(name) {
			return true
		}
	}
	return false
}

func (x *xmlWriter) endAttr() {
	x.inAttr = false
	if x.attrSkip {
		x.attrSkip = false
		return
	}
	if x.attrDrop {
		x.out = x.out[:x.attrAt]
		x.attrNames = x.attrNames[:len(x.attrNames)-1]
		return
	}
	x.out = append(x.out, '"')
}

func (x *xmlWriter) closeStart() {
	if x.inAttr {
		x.endAttr()
	}
}

func (x *xmlWriter) end() {
	if x.inAttr {
		x.endAttr()
	}
	if len(x.stack) == 0 {
		return
	}
	f := x.stack[len(x.stack)-1]
	x.stack = x.stack[:len(x.stack)-1]
	x.attrNames = x.attrNames[:f.attrs]
	parent := x.top()
	if f.arrSet && !f.drop {
		x.repeat(&f)
	}
	switch {
	case f.drop || f.arrSet && len(x.out) == f.lead:
		// Gone (or an empty array): as if it had never started.
		x.out = x.out[:f.lead]
		if parent != nil {
			parent.kids, parent.open = f.prevKid, f.prevOpn
		}
	case f.arrSet:
	case f.open:
		x.out = append(x.out, '/', '>')
	default:
		if f.kids && !f.text {
			x.indent(len(x.stack))
		}
		x.out = append(x.out, '<', '/')
		x.out = append(x.out, f.name...)
		x.out = append(x.out, '>')
	}
	if x.err == nil && len(x.out) > x.limit {
		x.err = errOutput
	}
}

// repeat writes the element f once per item of its array value, each with
// the element's start tag and the content that came before the array.
func (x *xmlWriter) repeat(f *xmlFrame) {
	s := x.scratch[:0]
	s = append(s, x.out[f.lead:]...)
	lead := s[:f.tag-f.lead]
	var tag, prefix []byte
	if f.open {
		tag = s[f.tag-f.lead:]
	} else {
		tag = s[f.tag-f.lead : f.tagEnd-f.lead]
		prefix = s[f.tagEnd-f.lead+1:]
	}
	x.out = x.out[:f.lead]
	elem := f.arr.typ &^ typArray
	for _, item := range splitArray(elem, x.d.buf[f.arr.off:f.arr.off+f.arr.len]) {
		if len(x.out) > x.limit {
			x.err = errOutput
			break
		}
		x.out = append(x.out, lead...)
		x.out = append(x.out, tag...)
		x.out = append(x.out, '>')
		x.out = append(x.out, prefix...)
		x.scratch = appendValue(s[len(s):len(s)], elem, item)
		x.out = appendXMLText(x.out, x.scratch, false)
		x.out = append(x.out, '<', '/')
		x.out = append(x.out, f.name...)
		x.out = append(x.out, '>')
	}
	x.scratch = s[:0]
}

func (x *xmlWriter) text(s string) error {
	if x.inAttr {
		if !x.attrSkip {
			x.out = appendXMLText(x.out, s, true)
		}
		return x.check()
	}
	if s == "" {
		return nil
	}
	f := x.top()
	x.content(f)
	if f != nil {
		f.text = true
	}
	x.out = appendXMLText(x.out, s, false)
	return x.check()
}

func (x *xmlWriter) value(v value) error {
	data := x.d.buf[v.off : v.off+v.len]
	if x.inAttr {
		if !x.attrSkip {
			x.scratch = appendValue(x.scratch[:0], v.typ, data)
			x.out = appendXMLText(x.out, x.scratch, true)
		}
		return x.check()
	}
	f := x.top()
	if f != nil && !f.arrSet && v.typ&typArray != 0 && v.typ != typArray|typBinXML &&
		f.section == secFields && len(x.stack) >= 3 {
		// As in the Event's Fields: the element is repeated per item.
		f.arr, f.arrSet = v, true
		return nil
	}
	x.scratch = appendValue(x.scratch[:0], v.typ, data)
	if len(x.scratch) == 0 {
		return nil
	}
	x.content(f)
	if f != nil {
		f.text = true
	}
	x.out = appendXMLText(x.out, x.scratch, false)
	return x.check()
}

func (x *xmlWriter) dropOptional() {
	if x.inAttr {
		x.attrDrop = true
	} else if f := x.top(); f != nil {
		f.drop = true
	}
}

// subst: a substitution outside a template has no value to take.
func (x *xmlWriter) subst(index uint16, typ uint8, optional bool) {}

func (x *xmlWriter) instance(t *template, vals []value, nest int) error {
	return x.d.execXML(x, t, vals, nest+1)
}

// execXML runs a compiled template with its values into x; it is exec
// (which feeds the builder directly, for speed) for the XML writer.
func (d *decoder) execXML(x *xmlWriter, t *template, vals []value, nest int) error {
	if nest > maxNest {
		return errTooDeep
	}
	for i := range t.ops {
		if d.budget--; d.budget < 0 {
			return errBudget
		}
		o := &t.ops[i]
		var err error
		switch o.kind {
		case opStart:
			err = x.start(o.str)
		case opAttr:
			x.attr(o.str)
		case opCloseStart:
			x.closeStart()
		case opEnd:
			x.end()
		case opText:
			err = x.text(o.str)
		case opSubst:
			if int(o.index) >= len(vals) {
				continue // missing value renders as nothing
			}
			switch v := vals[o.index]; {
			case o.optional && v.typ == typNull:
				x.dropOptional()
			case v.typ == typBinXML:
				_, err = d.tokens(int(v.off), int(v.off+v.len), false, x, nest+1)
			default:
				err = x.value(v)
			}
		case opInstance:
			err = d.execXML(x, o.tmpl, o.vals, nest+1)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// recordXML renders the record whose binary XML is [start, end) of the
// chunk, appending it to dst.
func (d *decoder) recordXML(x *xmlWriter, dst []byte, start, end int, carving bool) ([]byte, error) {
	d.carving = carving
	x.begin(d, dst, maxRecordXML)
	_, err := d.tokens(start, end, false, x, 0)
	out, ferr := x.finish()
	if err == nil {
		err = ferr
	}
	return out, err
}

// appendXMLText appends s escaped for element text (attr false) or an
// attribute value in double quotes (attr true); see the package's XML
// notes for what is escaped how.
func appendXMLText[S ~string | ~[]byte](dst []byte, s S, attr bool) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			switch c {
			case '&':
				dst = append(dst, "&amp;"...)
			case '<':
				dst = append(dst, "&lt;"...)
			case '>':
				dst = append(dst, "&gt;"...)
			case '"':
				if attr {
					dst = append(dst, "&quot;"...)
				} else {
					dst = append(dst, c)
				}
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		var r rune
		var size int
		if c < utf8.RuneSelf {
			r, size = rune(c), 1
		} else {
			r, size = utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		}
		switch {
		case (r == '\n' || r == '\t') && !attr:
			dst = append(dst, c)
		case r == '\n' || r == '\t' || r == '\r':
			dst = appendCharRef(dst, r)
		case r == utf8.RuneError && size == 1, r < 0x20, r == 0xfffe, r == 0xffff:
			// Not even a character reference may carry it: shown as the
			// terminal-safe text shows it (\x1b, \ufffe, \xff).
			dst = append(dst, termsafe.Clean(string(s[i:i+size]))...)
		case termsafe.Unsafe(r):
			dst = appendCharRef(dst, r)
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}

// appendCharRef appends r as a hexadecimal character reference.
func appendCharRef(dst []byte, r rune) []byte {
	dst = append(dst, '&', '#', 'x')
	dst = appendHexWidth(dst, uint32(r), 1)
	return append(dst, ';')
}

// appendXMLName appends name as an XML name, encoding what may not appear
// in one (and terminal-unsafe characters) as _xHHHH_.
func appendXMLName(dst []byte, name string, attr bool) []byte {
	if name == "" {
		return append(dst, '_')
	}
	// A colon only stays in a namespace declaration (xmlns:p): a prefix
	// no declaration binds, or a second colon, would make the document
	// ill-formed for namespace-aware parsers.
	colon := -1
	if attr && len(name) > 6 && name[:6] == "xmlns:" && strings.IndexByte(name[6:], ':') < 0 {
		colon = 5
	}
	for i := 0; i < len(name); {
		r, size := utf8.DecodeRuneInString(name[i:])
		ok := !(r == utf8.RuneError && size == 1) && nameChar(r, i == 0) && !termsafe.Unsafe(r) &&
			!(r == '_' && looksEncoded(name[i:])) && (r != ':' || i == colon)
		if ok {
			dst = append(dst, name[i:i+size]...)
		} else {
			if r == utf8.RuneError && size == 1 {
				r = rune(name[i])
			}
			width := 4
			if r > 0xffff {
				width = 8
			}
			dst = append(dst, '_', 'x')
			dst = appendHexWidth(dst, uint32(r), width)
			dst = append(dst, '_')
		}
		i += size
	}
	return dst
}

// appendHexWidth appends v in upper-case hex with at least min digits.
func appendHexWidth(dst []byte, v uint32, min int) []byte {
	n := 1
	for v>>(4*uint(n)) != 0 && n < 8 {
		n++
	}
	n = max(n, min)
	for s := 4 * (n - 1); s >= 0; s -= 4 {
		dst = append(dst, hexUpper[(v>>uint(s))&15])
	}
	return dst
}

// looksEncoded reports whether s starts with _xHHHH_ or _xHHHHHHHH_.
func looksEncoded(s string) bool {
	if len(s) < 7 || s[1] != 'x' {
		return false
	}
	isHex := func(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
	n := 2
	for n < len(s) && isHex(s[n]) {
		n++
	}
	return (n == 6 || n == 10) && n < len(s) && s[n] == '_'
}

// nameChar reports whether r may appear in an XML name (as its first
// character when first is set). Only ASCII is taken as it is: XML 1.0
// editions and parsers disagree on which other characters names may hold
// (Go's encoding/xml follows the fourth edition's tables), and names in
// event XML come from provider manifests, which use ASCII.
func nameChar(r rune, first bool) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_', r == ':':
		return true // (appendXMLName decides on colons)
	case r >= '0' && r <= '9', r == '-', r == '.':
		return !first
	}
	return false
}

// recordXMLAt renders the record whose frame starts at chunk offset pos
// (checked by the caller) and appends it to dst.
func (d *decoder) recordXMLAt(x *xmlWriter, dst []byte, pos int, recovered bool) ([]byte, error) {
	size := int(binary.LittleEndian.Uint32(d.buf[pos+4:]))
	return d.recordXML(x, dst, pos+recordHeaderLen, pos+size-4, recovered)
}

// renderXML renders the XML of every event the chunk gave, after they
// were decoded: the decoder still holds the chunk, and the XML pass gets a
// work budget of its own. A record whose XML cannot be rendered is
// reported (its event is still delivered, without XML).
func (c *chunkDecode) renderXML() {
	res, d, x := c.res, c.w.dec, &c.w.xw
	d.budget = chunkWorkBudget
	for _, ev := range res.events {
		pos := int(ev.Offset - c.base)
		start := len(res.xml)
		out, err := d.recordXMLAt(x, res.xml, pos, ev.Recovered)
		if err == nil && len(out) > chunkXMLOutput {
			err = errChunkOut
		}
		if err != nil {
			res.xml = out[:start]
			res.xmlSpans = append(res.xmlSpans, [2]int32{-1, -1})
			c.problem(pos, "record %d: XML not rendered: %v", ev.RecordNum, err)
			continue
		}
		res.xml = out
		res.xmlSpans = append(res.xmlSpans, [2]int32{int32(start), int32(len(out))})
	}
}
