package parser

import (
	"strings"
	"time"
)

// Sections of an Event element.
const (
	secNone   uint8 = iota
	secSystem       // System: typed Event fields
	secFields       // EventData, UserData and other payloads: flattened to Fields
	secSkip         // RenderingInfo: not event data (its names would shadow System ones)
)

// System elements and attributes the builder keeps.
const (
	tgtNone uint8 = iota
	tgtEventID
	tgtQualifiers
	tgtVersion
	tgtLevel
	tgtTask
	tgtOpcode
	tgtKeywords
	tgtTime
	tgtRecordID
	tgtProcessID
	tgtThreadID
	tgtChannel
	tgtComputer
	tgtUserID
	tgtProvider
	tgtProviderGUID
	tgtDataName  // EventData <Data Name=…>
	tgtFieldAttr // another attribute of a payload element: a field
)

// fieldSpan is a field whose value is vals[start:end] of the builder.
type fieldSpan struct {
	name       string
	start, end int
}

// builder receives the decoded XML of one record and fills an Event,
// rendering only the values it keeps.
type builder struct {
	d  *decoder
	ev *Event

	depth   int
	names   [maxDepth + 1]string
	leaf    [maxDepth + 1]bool
	section uint8

	// element text capture
	elemTgt  uint8 // System target of the current element
	capture  bool  // collecting text for the current element
	tbuf     []byte
	dataName string
	hasName  bool
	named    Namer // the names the event's fields get (see Namer)

	// attribute capture
	inAttr    bool
	attrTgt   uint8
	abuf      []byte
	alit      string // the attribute's value when it is one literal piece
	attrField string // field name for tgtFieldAttr
	apieces   int    // pieces (literals and values) in the attribute value
	ft        uint64 // TimeCreated SystemTime given as a FILETIME value
	ftSet     bool

	arr    value // an array value met in the current field element
	arrSet bool
	// dropElem/dropAttr: an optional substitution had no value, so the
	// element or attribute does not exist.
	dropElem, dropAttr bool

	vals  []byte
	spans []fieldSpan
	err   error // a limit hit where no error could be returned
}

func (b *builder) begin(ev *Event) {
	b.ev = ev
	b.depth = 0
	b.section = secNone
	b.capture, b.inAttr = false, false
	b.tbuf, b.abuf, b.vals = b.tbuf[:0], b.abuf[:0], b.vals[:0]
	b.spans = b.spans[:0]
	b.err = nil
	b.arrSet = false
}

// finish returns the decoded Event with its fields: one string holds all
// values, and the Event and its fields share one allocation.
func (b *builder) finish() (*Event, error) {
	if b.inAttr {
		b.endAttr()
	}
	if b.err != nil {
		return nil, b.err
	}
	// Charge what the Event keeps to the chunk's output budget.
	if b.d.outLeft -= 256 + len(b.vals) + 32*len(b.spans); b.d.outLeft < 0 {
		return nil, errChunkOut
	}
	b.nameFields()
	ev, fields := newEvent(len(b.spans))
	*ev = *b.ev
	if len(b.spans) > 0 {
		all := string(b.vals)
		for i, s := range b.spans {
			fields[i] = Field{Name: s.name, Value: all[s.start:s.end]}
		}
		ev.Fields = fields
	}
	return ev, nil
}

// nameFields gives the fields the names a Namer gives them. Most records'
// names are already distinct and not empty, which a quick check tells
// without the Namer's bookkeeping; the others go through b.named.
func (b *builder) nameFields() {
	if len(b.spans) <= 64 {
		var bloom [2]uint64
		plain := true
		for i := 0; i < len(b.spans) && plain; i++ {
			name := b.spans[i].name
			k := bit(name)
			switch {
			case name == "":
				plain = false
			case bloom[k>>6]&(1<<(k&63)) != 0:
				for _, p := range b.spans[:i] {
					if p.name == name {
						plain = false
						break
					}
				}
			}
			bloom[k>>6] |= 1 << (k & 63)
		}
		if plain {
			return
		}
	}
	b.named.Reset()
	for i := range b.spans {
		b.spans[i].name = b.named.Name(b.spans[i].name)
	}
}

// eventWith is an Event allocated together with room for its fields.
type eventWith[A any] struct {
	ev     Event
	fields A
}

// newEvent allocates an Event and a slice of n fields in one allocation
// for the usual field counts (a few size steps, so at most a third of the
// field room is unused). Retention is unchanged in practice: the fields
// were only reachable through the Event before, and now the Event stays
// alive while any caller keeps its Fields slice (not its values: those
// live in a separate string per event).
func newEvent(n int) (*Event, []Field) {
	switch {
	case n == 0:
		return &Event{}, nil
	case n <= 4:
		x := new(eventWith[[4]Field])
		return &x.ev, x.fields[:n:n]
	case n <= 8:
		x := new(eventWith[[8]Field])
		return &x.ev, x.fields[:n:n]
	case n <= 12:
		x := new(eventWith[[12]Field])
		return &x.ev, x.fields[:n:n]
	case n <= 16:
		x := new(eventWith[[16]Field])
		return &x.ev, x.fields[:n:n]
	case n <= 24:
		x := new(eventWith[[24]Field])
		return &x.ev, x.fields[:n:n]
	case n <= 32:
		x := new(eventWith[[32]Field])
		return &x.ev, x.fields[:n:n]
	case n <= 48:
		x := new(eventWith[[48]Field])
		return &x.ev, x.fields[:n:n]
	}
	return &Event{}, make([]Field, n)
}

func (b *builder) start(name string) error {
	if b.inAttr {
		b.endAttr()
	}
	if b.depth >= maxDepth {
		return errTooDeep
	}
	b.leaf[b.depth] = false
	b.depth++
	b.names[b.depth] = name
	b.leaf[b.depth] = true
	b.capture = false
	b.arrSet = false
	b.dropElem = false
	b.elemTgt = tgtNone
	switch b.depth {
	case 2:
		switch name {
		case "System":
			b.section = secSystem
		case "RenderingInfo":
			b.section = secSkip
		default:
			b.section = secFields
		}
	case 3:
		if b.section == secSystem {
			b.elemTgt = systemElement(name)
			b.capture = b.elemTgt != tgtNone
		}
		b.hasName = false
	}
	if b.depth >= 3 && b.section == secFields {
		b.capture = true
	}
	b.tbuf = b.tbuf[:0]
	return nil
}

func systemElement(name string) uint8 {
	switch name {
	case "EventID":
		return tgtEventID
	case "Version":
		return tgtVersion
	case "Level":
		return tgtLevel
	case "Task":
		return tgtTask
	case "Opcode":
		return tgtOpcode
	case "Keywords":
		return tgtKeywords
	case "EventRecordID":
		return tgtRecordID
	case "Channel":
		return tgtChannel
	case "Computer":
		return tgtComputer
	}
	return tgtNone
}

func (b *builder) attr(name string) {
	if b.inAttr {
		b.endAttr()
	}
	b.inAttr = true
	b.abuf = b.abuf[:0]
	b.ftSet = false
	b.dropAttr = false
	b.alit, b.apieces = "", 0
	b.attrTgt = tgtNone
	switch {
	case b.section == secSystem && b.depth == 3:
		b.attrTgt = systemAttr(b.names[3], name)
	case b.section != secFields || b.depth < 3:
	case b.depth == 3 && name == "Name" && b.names[2] == "EventData" && b.names[3] == "Data":
		b.attrTgt = tgtDataName
	case name == "xmlns" || strings.HasPrefix(name, "xmlns:"):
	default:
		// Other attributes of payload elements (CAPI2 and other UserData
		// keep their values there) become fields named Element_Attribute.
		b.attrTgt = tgtFieldAttr
		b.attrField = b.d.attrFieldName(b.names[b.depth], name)
	}
}

// systemAttr maps a System element's attribute to the Event field it sets.
func systemAttr(elem, name string) uint8 {
	switch elem {
	case "Provider":
		switch name {
		case "Name":
			return tgtProvider
		case "Guid":
			return tgtProviderGUID
		}
	case "EventID":
		if name == "Qualifiers" {
			return tgtQualifiers
		}
	case "TimeCreated":
		if name == "SystemTime" {
			return tgtTime
		}
	case "Execution":
		switch name {
		case "ProcessID":
			return tgtProcessID
		case "ThreadID":
			return tgtThreadID
		}
	case "Security":
		if name == "UserID" {
			return tgtUserID
		}
	}
	return tgtNone
}

func (b *builder) endAttr() {
	b.inAttr = false
	if b.dropAttr {
		return
	}
	ev := b.ev
	v := b.abuf
	switch b.attrTgt {
	case tgtProvider:
		ev.Provider = b.d.internAt(tgtProvider, v)
	case tgtProviderGUID:
		ev.ProviderGUID = b.d.internAt(tgtProviderGUID, v)
	case tgtQualifiers:
		ev.Qualifiers = uint16(parseNum(v))
	case tgtTime:
		if b.ftSet {
			ev.Time = eventTime(b.ft)
		} else if t, err := time.Parse(time.RFC3339Nano, string(v)); err == nil {
			ev.Time = t.UTC()
		}
	case tgtProcessID:
		ev.ProcessID = uint32(parseNum(v))
	case tgtThreadID:
		ev.ThreadID = uint32(parseNum(v))
	case tgtUserID:
		ev.UserID = b.d.internAt(tgtUserID, v)
	case tgtFieldAttr:
		if len(b.spans) >= maxFields {
			b.err = errOutput
			return
		}
		start := len(b.vals)
		b.vals = append(b.vals, v...)
		b.spans = append(b.spans, fieldSpan{name: b.attrField, start: start, end: len(b.vals)})
	case tgtDataName:
		if b.apieces == 1 && b.alit != "" {
			b.dataName = b.alit // the usual case: a literal in the template
		} else {
			b.dataName = b.d.intern(v)
		}
		b.hasName = true
	}
}

func (b *builder) closeStart() {
	if b.inAttr {
		b.endAttr()
	}
}

func (b *builder) end() {
	if b.inAttr {
		b.endAttr()
	}
	if b.depth == 0 {
		return
	}
	if b.capture && !b.dropElem {
		switch {
		case b.section == secSystem && b.depth == 3:
			b.system(b.elemTgt, b.tbuf)
		case b.section == secFields && b.leaf[b.depth]:
			if err := b.field(); err != nil {
				b.err = err
			}
		}
	}
	b.depth--
	b.capture = false
	b.tbuf = b.tbuf[:0]
}

func (b *builder) system(tgt uint8, v []byte) {
	ev := b.ev
	switch tgt {
	case tgtEventID:
		ev.EventID = uint16(parseNum(v))
	case tgtVersion:
		ev.Version = uint8(parseNum(v))
	case tgtLevel:
		ev.Level = uint8(parseNum(v))
	case tgtTask:
		ev.Task = uint16(parseNum(v))
	case tgtOpcode:
		ev.Opcode = uint8(parseNum(v))
	case tgtKeywords:
		ev.Keywords = parseNum(v)
	case tgtRecordID:
		ev.RecordID = parseNum(v)
	case tgtChannel:
		ev.Channel = b.d.internAt(tgtChannel, v)
	case tgtComputer:
		ev.Computer = b.d.internAt(tgtComputer, v)
	}
}

// field appends the current leaf element as a Field (one per item when
// its value is an array), under its name in the document (Data for an
// unnamed <Data>); finish makes the names distinct (see nameFields).
func (b *builder) field() error {
	name := b.names[b.depth]
	if b.depth == 3 && b.names[2] == "EventData" && name == "Data" && b.hasName {
		name = b.dataName // "" (an empty Name) counts as unnamed
	}
	if len(b.spans) >= maxFields {
		return errOutput
	}
	if !b.arrSet {
		start := len(b.vals)
		b.vals = append(b.vals, b.tbuf...)
		b.spans = append(b.spans, fieldSpan{name: name, start: start, end: len(b.vals)})
		return nil
	}
	b.arrSet = false
	elem := b.arr.typ &^ typArray
	for _, item := range splitArray(elem, b.d.buf[b.arr.off:b.arr.off+b.arr.len]) {
		start := len(b.vals)
		b.vals = append(b.vals, b.tbuf...)
		b.vals = appendValue(b.vals, elem, item)
		b.spans = append(b.spans, fieldSpan{name: name, start: start, end: len(b.vals)})
		if len(b.vals) > maxRecordOutput || len(b.spans) > maxFields {
			return errOutput
		}
	}
	return nil
}

func (b *builder) text(s string) error {
	switch {
	case b.inAttr:
		if b.attrTgt != tgtNone {
			b.abuf = append(b.abuf, s...)
			b.alit = s
			b.apieces++
		}
	case b.capture:
		b.tbuf = append(b.tbuf, s...)
		if len(b.tbuf)+len(b.vals) > maxRecordOutput {
			return errOutput
		}
	}
	return nil
}

func (b *builder) value(v value) error {
	data := b.d.buf[v.off : v.off+v.len]
	switch {
	case b.inAttr:
		if b.attrTgt == tgtNone {
			return nil
		}
		if b.attrTgt == tgtTime && v.typ == 0x11 && len(data) == 8 && len(b.abuf) == 0 {
			b.ft, b.ftSet = leUint64(data), true
			return nil
		}
		b.abuf = appendValue(b.abuf, v.typ, data)
		b.apieces++
		b.alit = ""
		if len(b.abuf) > maxRecordOutput {
			return errOutput
		}
	case b.capture:
		if v.typ&typArray != 0 && b.section == secFields && v.typ != typArray|typBinXML {
			// Windows renders an array as the element repeated once per
			// item; the items are expanded when the element ends.
			b.arr, b.arrSet = v, true
			return nil
		}
		b.tbuf = appendValue(b.tbuf, v.typ, data)
		if len(b.tbuf)+len(b.vals) > maxRecordOutput {
			return errOutput
		}
	}
	return nil
}

// dropOptional handles an optional substitution without a value.
func (b *builder) dropOptional() {
	if b.inAttr {
		b.dropAttr = true
	} else {
		b.dropElem = true
	}
}

// Direct-mode emitter methods (records and nested binary XML outside
// templates).

func (b *builder) subst(index uint16, typ uint8, optional bool) {
	// A substitution outside a template has no value to take.
}

func (b *builder) instance(t *template, vals []value, nest int) error {
	return b.d.exec(t, vals, nest+1)
}

// parseNum parses a decimal or 0x-prefixed hexadecimal number; bad input
// gives 0.
func parseNum(b []byte) uint64 {
	var n uint64
	if len(b) > 2 && b[0] == '0' && (b[1] == 'x' || b[1] == 'X') {
		for _, c := range b[2:] {
			switch {
			case c >= '0' && c <= '9':
				n = n<<4 | uint64(c-'0')
			case c >= 'a' && c <= 'f':
				n = n<<4 | uint64(c-'a'+10)
			case c >= 'A' && c <= 'F':
				n = n<<4 | uint64(c-'A'+10)
			default:
				return 0
			}
		}
		return n
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + uint64(c-'0')
	}
	return n
}
