package parser

import (
	"encoding/binary"
	"errors"
	"slices"
)

// Limits that keep hostile input bounded.
const (
	maxDepth        = 64      // element nesting, counted across nested templates
	maxNest         = 16      // template instances / nested binary XML within each other
	maxArgs         = 4096    // substitution values in one template instance
	chunkWorkBudget = 1 << 20 // tokens parsed + template ops executed per chunk
	chunkOutput     = 2 << 20 // bytes of events (values, fields) kept per chunk
	maxFields       = 1 << 14 // fields per record
	maxRecordOutput = 1 << 20 // bytes of rendered text kept per record
	maxInterned     = 4096    // distinct System strings cached per worker
	maxChunkOps     = 1 << 17 // compiled template steps per chunk (~7 MiB)
	maxCachedBytes  = 1 << 20 // template definition bytes kept across chunks per worker
	maxCachedOps    = 1 << 16 // compiled steps kept across chunks per worker
)

// Binary XML tokens (the 0x40 bit means "more data" / "has attributes").
const (
	tokEOF           = 0x00
	tokOpenStart     = 0x01
	tokCloseStart    = 0x02
	tokCloseEmpty    = 0x03
	tokEndElement    = 0x04
	tokValue         = 0x05
	tokAttribute     = 0x06
	tokCDATA         = 0x07
	tokCharRef       = 0x08
	tokEntityRef     = 0x09
	tokPITarget      = 0x0a
	tokPIData        = 0x0b
	tokTemplate      = 0x0c
	tokSubstitution  = 0x0d
	tokOptionalSubst = 0x0e
	tokFragment      = 0x0f
)

var (
	errBudget   = errors.New("decoding work limit exceeded")
	errTooDeep  = errors.New("nesting too deep")
	errOutput   = errors.New("rendered values exceed the per-record limit")
	errOps      = errors.New("template definitions exceed the per-chunk limit")
	errChunkOut = errors.New("events exceed the per-chunk output limit")
)

// value is one substitution value: its type and where its bytes are in the
// chunk.
type value struct {
	typ      uint8
	off, len int32
}

type opKind uint8

const (
	opStart opKind = iota
	opAttr
	opCloseStart
	opEnd
	opText
	opSubst
	opInstance
)

// op is one step of a compiled template.
type op struct {
	kind     opKind
	typ      uint8  // opSubst: declared value type
	optional bool   // opSubst: optional substitution
	index    uint16 // opSubst: value index
	str      string // opStart/opAttr: name; opText: text
	tmpl     *template
	vals     []value // opInstance: values stored in the template body
}

// template is a compiled template definition, cached per chunk by offset.
type template struct {
	ops  []op
	busy bool  // being compiled (guards against self-reference)
	err  error // compiling failed
}

// emitter receives decoded binary XML.
type emitter interface {
	start(name string) error
	attr(name string)
	closeStart()
	end()
	text(s string) error
	subst(index uint16, typ uint8, optional bool)
	instance(t *template, vals []value, nest int) error
}

// decoder decodes the records of one chunk at a time. Templates and names
// are cached per chunk (their offsets are chunk-relative).
type decoder struct {
	buf    []byte
	base   int64 // file offset of the chunk
	names  map[uint32]string
	tmpls  map[uint32]*template
	strs   map[string]string
	vals   []value
	budget int
	b      builder
	ev     Event // the record being decoded (copied out when it is done)
	// carving is set while decoding recovered records: template
	// references are checked against the definition's id.
	carving bool
	// Compiled templates are recycled from chunk to chunk (their steps
	// keep their capacity); opsLeft bounds the steps compiled per chunk.
	scratch   []byte
	attrNames map[[2]string]string
	last      [tgtFieldAttr + 1]string // internAt's cache
	tpool     []*template
	tused     int
	opsLeft   int
	outLeft   int // bytes of event data still allowed in this chunk

	// Templates compiled in earlier chunks, by definition bytes: Windows
	// starts every chunk afresh, so the same definitions recur at the
	// same offsets chunk after chunk. Only self-contained definitions
	// (every name inside them, no nested template) are kept, so a
	// definition's bytes and offset determine its compiled steps.
	tcache      map[string]cachedTemplate
	tcacheBytes int
	tcacheOps   int
	// While compiling a definition: its extent, and whether it referred
	// to a name outside it.
	defLo, defHi int
	defOutside   bool
}

// cachedTemplate is a compiled template kept across chunks.
type cachedTemplate struct {
	off uint32
	t   *template
}

func newDecoder() *decoder {
	d := &decoder{
		names: make(map[uint32]string),
		tmpls: make(map[uint32]*template),
		strs:  make(map[string]string),

		attrNames: make(map[[2]string]string),
		tcache:    make(map[string]cachedTemplate),
	}
	d.b.d = d
	return d
}

// reset starts a new chunk, which begins at file offset base.
func (d *decoder) reset(buf []byte, base int64) {
	d.buf = buf
	d.base = base
	clear(d.names)
	clear(d.tmpls)
	d.tused = 0
	d.opsLeft = maxChunkOps
	d.outLeft = chunkOutput
	if len(d.strs) >= maxInterned {
		clear(d.strs)
	}
	d.budget = chunkWorkBudget
	d.defLo, d.defHi, d.defOutside = 0, 0, false
}

// intern returns a shared string for b (System values repeat a lot).
func (d *decoder) intern(b []byte) string {
	if s, ok := d.strs[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(d.strs) < maxInterned {
		d.strs[s] = s
	}
	return s
}

// text16 decodes UTF-16LE text from a template or record; names and
// literals repeat from chunk to chunk, so short ones are interned.
func (d *decoder) text16(b []byte) string {
	d.scratch = appendUTF16(d.scratch[:0], b)
	if len(d.scratch) > 256 {
		return string(d.scratch)
	}
	return d.intern(d.scratch)
}

// attrFieldName returns elem + "_" + attr, cached per worker.
func (d *decoder) attrFieldName(elem, attr string) string {
	k := [2]string{elem, attr}
	if s, ok := d.attrNames[k]; ok {
		return s
	}
	s := elem + "_" + attr
	if len(d.attrNames) >= maxInterned {
		clear(d.attrNames)
	}
	d.attrNames[k] = s
	return s
}

// internAt is intern with a one-entry cache per System target: the same
// Provider, Channel or Computer usually repeats record after record.
func (d *decoder) internAt(tgt uint8, b []byte) string {
	if s := d.last[tgt]; s == string(b) && s != "" {
		return s
	}
	s := d.intern(b)
	d.last[tgt] = s
	return s
}

// formatErr reports malformed data at a chunk offset (as a file offset).
func (d *decoder) formatErr(off int, format string, args ...any) error {
	return formatErrorf(d.base+int64(off), format, args...)
}

// record decodes the binary XML in [start, end) of the chunk into a new
// Event that starts as a copy of head (the record header's values).
func (d *decoder) record(head *Event, start, end int, carving bool) (*Event, error) {
	d.carving = carving
	d.ev = *head
	d.b.begin(&d.ev)
	if _, err := d.tokens(start, end, false, &d.b, 0); err != nil {
		return nil, err
	}
	return d.b.finish()
}

// name returns the name at chunk offset off. If the name is stored inline
// (off == pos), pos is advanced past it.
func (d *decoder) name(off uint32, pos, end int) (string, int, error) {
	inline := int(off) == pos
	if d.defHi > 0 {
		o := int(off)
		if o < d.defLo || o+8 > d.defHi || o+8+2*len16(d.buf, o)+2 > d.defHi {
			d.defOutside = true
		}
	}
	if s, ok := d.names[off]; ok {
		if inline {
			if pos += 8 + 2*len16(d.buf, int(off)) + 2; pos > end {
				return "", pos, d.formatErr(int(off), "inline name runs past its container")
			}
		}
		return s, pos, nil
	}
	o := int(off)
	if o+8 > len(d.buf) {
		return "", pos, d.formatErr(pos, "name offset 0x%x out of range", off)
	}
	n := len16(d.buf, o)
	nameEnd := o + 8 + 2*n
	if nameEnd > len(d.buf) {
		return "", pos, d.formatErr(o, "name of %d characters runs past the chunk", n)
	}
	if inline {
		pos = nameEnd + 2
		if pos > end {
			return "", pos, d.formatErr(o, "inline name runs past its container")
		}
	}
	if d.carving && nameHash(d.buf[o+8:nameEnd]) != binary.LittleEndian.Uint16(d.buf[o+4:]) {
		// Carved records may point at overwritten names: Windows stores
		// a hash with each name, which stale bytes almost never match.
		return "", pos, d.formatErr(o, "name hash mismatch (stale data)")
	}
	s := d.text16(d.buf[o+8 : nameEnd])
	d.names[off] = s
	return s, pos, nil
}

// nameHash is the hash Windows stores with a name: h = h*65599 + c over
// the UTF-16 code units, low 16 bits.
func nameHash(b []byte) uint16 {
	var h uint32
	for i := 0; i+1 < len(b); i += 2 {
		h = h*65599 + uint32(binary.LittleEndian.Uint16(b[i:]))
	}
	return uint16(h)
}

func len16(b []byte, off int) int { return int(binary.LittleEndian.Uint16(b[off+6:])) }

// tokens decodes tokens from pos until an end-of-fragment token or end.
// inTmpl selects the template-body element layout (with dependency id).
func (d *decoder) tokens(pos, end int, inTmpl bool, e emitter, nest int) (int, error) {
	if nest > maxNest {
		return pos, errTooDeep
	}
	buf, le := d.buf, binary.LittleEndian
	if end > len(buf) {
		return pos, d.formatErr(pos, "data runs past the chunk")
	}
	for pos < end {
		if d.budget--; d.budget < 0 {
			return pos, errBudget
		}
		tok := buf[pos]
		switch tok &^ 0x40 {
		case tokEOF:
			return pos + 1, nil
		case tokFragment:
			pos += 4
		case tokOpenStart:
			p := pos + 1
			if inTmpl {
				p += 2 // dependency id
			}
			if p+8 > end {
				return pos, d.formatErr(pos, "element header truncated")
			}
			nameOff := le.Uint32(buf[p+4:])
			name, np, err := d.name(nameOff, p+8, end)
			if err != nil {
				return pos, err
			}
			if tok&0x40 != 0 {
				np += 4 // attribute list size
			}
			if err := e.start(name); err != nil {
				return pos, err
			}
			pos = np
		case tokCloseStart:
			e.closeStart()
			pos++
		case tokCloseEmpty, tokEndElement:
			e.end()
			pos++
		case tokValue:
			if pos+4 > end {
				return pos, d.formatErr(pos, "value text truncated")
			}
			n := int(le.Uint16(buf[pos+2:]))
			if pos+4+2*n > end {
				return pos, d.formatErr(pos, "value text of %d characters truncated", n)
			}
			if buf[pos+1] == 0x02 { // ANSI text
				return pos, d.formatErr(pos, "unsupported value text type 0x02")
			}
			if err := e.text(d.text16(buf[pos+4 : pos+4+2*n])); err != nil {
				return pos, err
			}
			pos += 4 + 2*n
		case tokAttribute:
			if pos+5 > end {
				return pos, d.formatErr(pos, "attribute truncated")
			}
			name, np, err := d.name(le.Uint32(buf[pos+1:]), pos+5, end)
			if err != nil {
				return pos, err
			}
			e.attr(name)
			pos = np
		case tokCDATA, tokPIData:
			if pos+3 > end {
				return pos, d.formatErr(pos, "text truncated")
			}
			n := int(le.Uint16(buf[pos+1:]))
			if pos+3+2*n > end {
				return pos, d.formatErr(pos, "text of %d characters truncated", n)
			}
			if tok&^0x40 == tokCDATA {
				if err := e.text(d.text16(buf[pos+3 : pos+3+2*n])); err != nil {
					return pos, err
				}
			}
			pos += 3 + 2*n
		case tokCharRef:
			if pos+3 > end {
				return pos, d.formatErr(pos, "character reference truncated")
			}
			r := rune(le.Uint16(buf[pos+1:]))
			if err := e.text(string(appendRune(nil, r))); err != nil {
				return pos, err
			}
			pos += 3
		case tokEntityRef, tokPITarget:
			if pos+5 > end {
				return pos, d.formatErr(pos, "reference truncated")
			}
			name, np, err := d.name(le.Uint32(buf[pos+1:]), pos+5, end)
			if err != nil {
				return pos, err
			}
			if tok&^0x40 == tokEntityRef {
				if err := e.text(entity(name)); err != nil {
					return pos, err
				}
			}
			pos = np
		case tokTemplate:
			np, err := d.instance(pos, end, e, nest)
			if err != nil {
				return pos, err
			}
			pos = np
		case tokSubstitution, tokOptionalSubst:
			if pos+4 > end {
				return pos, d.formatErr(pos, "substitution truncated")
			}
			e.subst(le.Uint16(buf[pos+1:]), buf[pos+3], tok == tokOptionalSubst)
			pos += 4
		default:
			return pos, d.formatErr(pos, "unknown token 0x%02x", tok)
		}
	}
	return pos, nil
}

// entity resolves a predefined XML entity; others stay as references.
func entity(name string) string {
	switch name {
	case "amp":
		return "&"
	case "lt":
		return "<"
	case "gt":
		return ">"
	case "quot":
		return `"`
	case "apos":
		return "'"
	}
	return "&" + name + ";"
}

// instance decodes a template instance token at pos: the template (inline
// definition or reference) and its substitution values.
func (d *decoder) instance(pos, end int, e emitter, nest int) (int, error) {
	buf, le := d.buf, binary.LittleEndian
	if pos+10 > end {
		return pos, d.formatErr(pos, "template instance truncated")
	}
	defOff := le.Uint32(buf[pos+6:])
	p := pos + 10
	if d.carving && int(defOff)+8 <= len(buf) && le.Uint32(buf[pos+2:]) != le.Uint32(buf[defOff+4:]) {
		// A carved record may refer to a template that was overwritten:
		// Windows starts a definition's GUID with the template id, so a
		// mismatch means the definition is not this record's.
		return pos, d.formatErr(pos, "template id does not match the definition (stale reference)")
	}
	if int(defOff) == p {
		if p+24 > end {
			return pos, d.formatErr(p, "inline template definition truncated")
		}
		size := int(le.Uint32(buf[p+20:]))
		if size > end-p-24 {
			return pos, d.formatErr(p, "inline template definition of %d bytes runs past its record", size)
		}
		p += 24 + size
	}
	t, err := d.template(defOff, nest)
	if err != nil {
		return pos, err
	}
	if p+4 > end {
		return pos, d.formatErr(p, "template values truncated")
	}
	n := int(le.Uint32(buf[p:]))
	p += 4
	if n > maxArgs || n > (end-p)/4 {
		return pos, d.formatErr(p-4, "template instance with %d values", n)
	}
	mark := len(d.vals)
	dp := p + 4*n
	for i := 0; i < n; i++ {
		size := int(le.Uint16(buf[p+4*i:]))
		if size > end-dp {
			d.vals = d.vals[:mark]
			return pos, d.formatErr(p+4*i, "value %d of %d bytes runs past its record", i, size)
		}
		d.vals = append(d.vals, value{typ: buf[p+4*i+2], off: int32(dp), len: int32(size)})
		dp += size
	}
	err = e.instance(t, d.vals[mark:], nest)
	d.vals = d.vals[:mark]
	if err != nil {
		return pos, err
	}
	return dp, nil
}

// template returns the compiled template defined at chunk offset off.
func (d *decoder) template(off uint32, nest int) (*template, error) {
	if t, ok := d.tmpls[off]; ok {
		if t.busy {
			return nil, d.formatErr(int(off), "template refers to itself")
		}
		return t, t.err
	}
	o := int(off)
	if o < chunkHeaderSize || o+24 > len(d.buf) {
		return nil, d.formatErr(o, "template definition offset out of range")
	}
	size := int(binary.LittleEndian.Uint32(d.buf[o+20:]))
	if size > len(d.buf)-o-24 {
		return nil, d.formatErr(o, "template definition of %d bytes runs past the chunk", size)
	}
	def := d.buf[o : o+24+size]
	if !d.carving {
		// Carved records check name hashes while compiling: no reuse.
		if c, ok := d.tcache[string(def)]; ok && c.off == off {
			d.tmpls[off] = c.t
			return c.t, nil
		}
	}
	t := d.newTemplate()
	t.busy = true
	d.tmpls[off] = t
	c := compiler{t: t, d: d}
	lo, hi, outside := d.defLo, d.defHi, d.defOutside
	d.defLo, d.defHi, d.defOutside = o, o+24+size, false
	_, err := d.tokens(o+24, o+24+size, true, &c, nest+1)
	selfContained := !d.defOutside && !c.nested
	d.defLo, d.defHi, d.defOutside = lo, hi, outside
	if err == nil {
		err = c.err
	}
	t.busy = false
	if err != nil {
		// Where the definition is broken is the error's offset; the message
		// says it is in a template (no second offset).
		var fe *FormatError
		if errors.As(err, &fe) {
			t.err = &FormatError{Offset: fe.Offset, Msg: "in a template definition: " + fe.Msg, Err: fe.Err}
		} else {
			t.err = &FormatError{Offset: d.base + int64(off), Msg: "in the template definition here: " + err.Error(), Err: err}
		}
		t.ops = nil
		return t, t.err
	}
	if selfContained && !d.carving {
		d.keep(off, def, t)
	}
	return t, nil
}

// keep caches a compiled self-contained template for later chunks, within
// the per-worker bounds (the cache starts over when they are reached).
func (d *decoder) keep(off uint32, def []byte, t *template) {
	if len(def) > maxCachedBytes/4 || len(t.ops) > maxCachedOps/4 {
		return
	}
	if d.tcacheBytes+len(def) > maxCachedBytes || d.tcacheOps+len(t.ops) > maxCachedOps {
		clear(d.tcache)
		d.tcacheBytes, d.tcacheOps = 0, 0
	}
	key := string(def)
	if old, ok := d.tcache[key]; ok {
		d.tcacheBytes -= len(key)
		d.tcacheOps -= len(old.t.ops)
	}
	d.tcache[key] = cachedTemplate{off: off, t: &template{ops: slices.Clone(t.ops)}}
	d.tcacheBytes += len(key)
	d.tcacheOps += len(t.ops)
}

// newTemplate returns an empty template, reusing one from an earlier chunk
// when possible.
func (d *decoder) newTemplate() *template {
	if d.tused < len(d.tpool) {
		t := d.tpool[d.tused]
		*t = template{ops: t.ops[:0]}
		d.tused++
		return t
	}
	t := &template{}
	d.tpool = append(d.tpool, t)
	d.tused++
	return t
}

// compiler turns a template body into ops.
type compiler struct {
	t      *template
	d      *decoder
	depth  int
	err    error
	nested bool // the body holds a template instance
}

// add appends a step, within the per-chunk limit.
func (c *compiler) add(o op) {
	if c.d.opsLeft--; c.d.opsLeft < 0 {
		c.err = errOps
		return
	}
	c.t.ops = append(c.t.ops, o)
}

func (c *compiler) start(name string) error {
	if c.depth++; c.depth > maxDepth {
		return errTooDeep
	}
	c.add(op{kind: opStart, str: name})
	return c.err
}
func (c *compiler) attr(name string) { c.add(op{kind: opAttr, str: name}) }
func (c *compiler) closeStart()      { c.add(op{kind: opCloseStart}) }
func (c *compiler) end() {
	c.depth--
	c.add(op{kind: opEnd})
}
func (c *compiler) text(s string) error {
	c.add(op{kind: opText, str: s})
	return c.err
}
func (c *compiler) subst(index uint16, typ uint8, optional bool) {
	c.add(op{kind: opSubst, index: index, typ: typ, optional: optional})
}
func (c *compiler) instance(t *template, vals []value, nest int) error {
	c.d.opsLeft -= len(vals) // the copied values count against the limit too
	c.nested = true
	c.add(op{kind: opInstance, tmpl: t, vals: append([]value(nil), vals...)})
	return c.err
}

// exec runs a compiled template with its values into the builder.
func (d *decoder) exec(t *template, vals []value, nest int) error {
	if nest > maxNest {
		return errTooDeep
	}
	b := &d.b
	for i := range t.ops {
		if d.budget--; d.budget < 0 {
			return errBudget
		}
		o := &t.ops[i]
		switch o.kind {
		case opStart:
			if err := b.start(o.str); err != nil {
				return err
			}
		case opAttr:
			b.attr(o.str)
		case opCloseStart:
			b.closeStart()
		case opEnd:
			b.end()
		case opText:
			if err := b.text(o.str); err != nil {
				return err
			}
		case opSubst:
			if int(o.index) >= len(vals) {
				continue // missing value renders as nothing
			}
			v := vals[o.index]
			if o.optional && v.typ == typNull {
				// An optional substitution without a value removes its
				// attribute or element (as Windows and evtxexport do).
				b.dropOptional()
				continue
			}
			if v.typ == 0x21 {
				if _, err := d.tokens(int(v.off), int(v.off+v.len), false, b, nest+1); err != nil {
					return err
				}
				continue
			}
			if err := b.value(v); err != nil {
				return err
			}
		case opInstance:
			if err := d.exec(o.tmpl, o.vals, nest+1); err != nil {
				return err
			}
		}
	}
	return nil
}
