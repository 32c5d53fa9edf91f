package parser

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"io"
	"time"
)

// Writer errors.
var (
	// ErrRecordTooLarge is returned by Writer.Write for an event whose record
	// does not fit in an empty chunk (about 64 KiB). The writer stays usable.
	ErrRecordTooLarge = errors.New("parser: record too large for a chunk")
	// ErrWriterClosed is returned when writing to a closed Writer.
	ErrWriterClosed = errors.New("parser: writer closed")
)

// Layout constants of the EVTX format (see the package notes).
const (
	wFileHeaderSize  = 0x1000  // file header block; the first chunk follows
	wChunkSize       = 0x10000 // every chunk is 64 KiB
	wChunkHeaderSize = 0x200   // chunk header incl. string and template tables
	// wMaxChunkEnd is the largest free-space offset the writer produces:
	// libyal drops a record that ends exactly at 0x10000, so records end
	// strictly before it (8-byte aligned).
	wMaxChunkEnd = wChunkSize - 8
	// wMaxHeaderChunks is the largest chunk count the 16-bit header field
	// holds; beyond it the writer marks the file dirty so readers scan.
	wMaxHeaderChunks = 0xFFFF
)

// Writer writes events as an EVTX 3.1 file, laid out the way Windows writes
// manifest-based events (Sysmon, Security): records are packed into 64 KiB
// chunks; each record is an outer System template instance (one template per
// Computer, which is a literal in it) whose last value is the EventData as
// nested Binary XML holding a second template instance (one template per
// list of field names and value types). A template is defined inline at its
// first use in a chunk and referenced by offset afterwards; template ids are
// unique in the file. CRCs, record ranges and free-space offsets are exact.
//
// The Writer needs an io.WriteSeeker: it writes chunks sequentially from the
// stream's position at the first Write and seeks back once, in Close, to
// write the file header. It is not safe for concurrent use.
//
// What it keeps from an Event: the System values (Provider, ProviderGUID,
// Channel, Computer, EventID, Qualifiers, Version, Level, Task, Opcode,
// Keywords, ProcessID, ThreadID, UserID, Time as TimeCreated, RecordID as
// EventRecordID) and Fields as EventData, in order. Written becomes the
// record header time (Time when zero). RecordNum, Offset and Recovered are
// ignored: record numbers run from 1 in the order of Write; a zero RecordID
// is replaced by the record number; a zero Time is written as FILETIME 0
// (1601-01-01). Empty ProviderGUID or UserID and zero
// Qualifiers are written as absent (NULL) values.
//
// Each field value is encoded with the Binary XML type Windows uses for that
// field (see the type table in writer_types.go), provided the string is that
// type's canonical rendering (so that every reader renders it back to the
// same string); any other value, and any field the table does not know, is
// written as a string.
type Writer struct {
	w   io.WriteSeeker
	err error // sticky I/O error
	// start is the stream position of the file header; -1 until the first
	// Write or Close.
	start  int64
	closed bool

	chunk    []byte // current chunk, wChunkSize bytes
	pos      int    // end of the last record in chunk
	lastRec  int    // offset of the last record in chunk
	first    uint64 // first record number in the current chunk; 0 if empty
	recNum   uint64 // last record number written
	nChunks  uint64 // chunks flushed
	defined  map[uint32]uint32
	tmplIDs  map[string]uint32 // template key -> file-wide id
	nextID   uint32
	scratch  []byte
	inner    []byte
	sysVals  []byte
	values   []wValue
	dataVals []wValue
	keyBuf   []byte
}

// wValue is one substitution value being encoded.
type wValue struct {
	typ  byte
	data []byte
}

// NewWriter returns a Writer that writes an EVTX file to w.
func NewWriter(w io.WriteSeeker) *Writer {
	return &Writer{
		w:       w,
		start:   -1,
		chunk:   make([]byte, wChunkSize),
		pos:     wChunkHeaderSize,
		defined: make(map[uint32]uint32),
		tmplIDs: make(map[string]uint32),
	}
}

// Records returns the number of records written so far.
func (w *Writer) Records() uint64 { return w.recNum }

// Size returns the number of bytes the file will have if closed now.
func (w *Writer) Size() int64 {
	n := int64(w.nChunks)
	if w.first != 0 {
		n++
	}
	return wFileHeaderSize + n*wChunkSize
}

// Write appends one event record. An event whose record cannot fit in a
// chunk is rejected with ErrRecordTooLarge and nothing is written; after an
// I/O error every call fails.
func (w *Writer) Write(ev *Event) error {
	if w.closed {
		return ErrWriterClosed
	}
	if w.err != nil {
		return w.err
	}
	if err := w.begin(); err != nil {
		return err
	}
	num := w.recNum + 1
	rec, added, err := w.encodeRecord(ev, num, w.pos)
	if err != nil {
		return err
	}
	if w.pos+len(rec) > wMaxChunkEnd {
		if w.first == 0 {
			return fmt.Errorf("%w: %d bytes", ErrRecordTooLarge, len(rec))
		}
		if err := w.flush(); err != nil {
			return err
		}
		rec, added, err = w.encodeRecord(ev, num, w.pos)
		if err != nil {
			return err
		}
		if w.pos+len(rec) > wMaxChunkEnd {
			return fmt.Errorf("%w: %d bytes", ErrRecordTooLarge, len(rec))
		}
	}
	for _, a := range added {
		w.defined[a.id] = a.off
	}
	copy(w.chunk[w.pos:], rec)
	w.lastRec = w.pos
	w.pos += len(rec)
	if w.first == 0 {
		w.first = num
	}
	w.recNum = num
	return nil
}

// Close writes the last chunk and the file header. It does not close the
// underlying stream.
func (w *Writer) Close() error {
	if w.closed {
		return ErrWriterClosed
	}
	w.closed = true
	if w.err != nil {
		return w.err
	}
	if err := w.begin(); err != nil {
		return err
	}
	if w.first != 0 {
		if err := w.flush(); err != nil {
			return err
		}
	}
	end, err := w.w.Seek(0, io.SeekCurrent)
	if err != nil {
		return w.fail(err)
	}
	if _, err := w.w.Seek(w.start, io.SeekStart); err != nil {
		return w.fail(err)
	}
	if _, err := w.w.Write(w.fileHeader()); err != nil {
		return w.fail(err)
	}
	if _, err := w.w.Seek(end, io.SeekStart); err != nil {
		return w.fail(err)
	}
	return nil
}

func (w *Writer) fail(err error) error {
	w.err = fmt.Errorf("parser: write evtx: %w", err)
	return w.err
}

// begin reserves the file header on first use.
func (w *Writer) begin() error {
	if w.start >= 0 {
		return nil
	}
	pos, err := w.w.Seek(0, io.SeekCurrent)
	if err != nil {
		return w.fail(err)
	}
	w.start = pos
	if _, err := w.w.Write(make([]byte, wFileHeaderSize)); err != nil {
		return w.fail(err)
	}
	return nil
}

// fileHeader returns the 4096-byte file header for what was written.
func (w *Writer) fileHeader() []byte {
	var last uint64
	if w.nChunks > 0 {
		last = w.nChunks - 1
	}
	return wFileHeader(0, last, w.nChunks, w.recNum+1, 0)
}

// wFileHeader returns a 4096-byte file header: the oldest and newest
// chunk's numbers, the chunk count, the next record number and flags (1
// dirty, 2 full).
func wFileHeader(oldest, newest, nChunks, next uint64, flags uint32) []byte {
	h := make([]byte, wFileHeaderSize)
	le := binary.LittleEndian
	copy(h, "ElfFile\x00")
	le.PutUint64(h[0x08:], oldest)
	le.PutUint64(h[0x10:], newest)
	le.PutUint64(h[0x18:], next)
	le.PutUint32(h[0x20:], 0x80)
	le.PutUint16(h[0x24:], 1)
	le.PutUint16(h[0x26:], 3)
	le.PutUint16(h[0x28:], wFileHeaderSize)
	if nChunks > wMaxHeaderChunks {
		le.PutUint16(h[0x2A:], wMaxHeaderChunks)
		flags |= 1 // dirty: readers must scan for chunks
	} else {
		le.PutUint16(h[0x2A:], uint16(nChunks))
	}
	le.PutUint32(h[0x78:], flags)
	le.PutUint32(h[0x7C:], crc32.ChecksumIEEE(h[:0x78]))
	return h
}

// flush completes the current chunk's header, writes it and starts a new
// chunk.
func (w *Writer) flush() error {
	c := w.chunk
	wChunkHeader(c, w.first, w.recNum, w.first, w.recNum, w.lastRec, w.pos)
	if _, err := w.w.Write(c); err != nil {
		return w.fail(err)
	}
	w.nChunks++
	clear(c)
	w.pos = wChunkHeaderSize
	w.lastRec = 0
	w.first = 0
	clear(w.defined)
	return nil
}

// wChunkHeader fills the header of chunk c, whose records (numbers first
// to last, EventRecordIDs firstID to lastID) end at free, the last one
// starting at lastRec: the fields, the records' CRC and the header's CRC.
func wChunkHeader(c []byte, first, last, firstID, lastID uint64, lastRec, free int) {
	le := binary.LittleEndian
	copy(c, "ElfChnk\x00")
	le.PutUint64(c[0x08:], first)
	le.PutUint64(c[0x10:], last)
	le.PutUint64(c[0x18:], firstID)
	le.PutUint64(c[0x20:], lastID)
	le.PutUint32(c[0x28:], 0x80)
	le.PutUint32(c[0x2C:], uint32(lastRec))
	le.PutUint32(c[0x30:], uint32(free))
	le.PutUint32(c[0x34:], crc32.ChecksumIEEE(c[wChunkHeaderSize:free]))
	clear(c[0x38:0x7C])
	crc := crc32.NewIEEE()
	crc.Write(c[:0x78])
	crc.Write(c[0x80:wChunkHeaderSize])
	le.PutUint32(c[0x7C:], crc.Sum32())
}

// wTmplDef is a template defined inline by the record being encoded.
type wTmplDef struct {
	id  uint32
	off uint32
}

// encodeRecord encodes ev as record number num placed at chunk offset at.
// It returns the record bytes (valid until the next call) and the template
// definitions it inlined.
func (w *Writer) encodeRecord(ev *Event, num uint64, at int) ([]byte, []wTmplDef, error) {
	var added []wTmplDef
	e := &wEnc{b: w.scratch[:0], base: at}
	e.raw("\x2a\x2a\x00\x00")
	e.u32(0) // size, patched below
	e.u64(num)
	written := ev.Written
	if written.IsZero() {
		written = ev.Time
	}
	e.u64(wFiletime(written))

	// Outer template instance: System, then EventData as value 17.
	e.raw("\x0f\x01\x01\x00")
	key := w.sysKey(ev.Computer)
	added = w.instance(e, key, added, func(t *wEnc) { writeSystemTemplate(t, ev.Computer) })

	recID := ev.RecordID
	if recID == 0 {
		recID = num
	}
	vals := w.values[:0]
	sv := w.sysVals[:0]
	add := func(typ byte, n int, put func([]byte)) {
		startLen := len(sv)
		sv = append(sv, make([]byte, n)...)
		put(sv[startLen:])
		vals = append(vals, wValue{typ: typ, data: sv[startLen:len(sv):len(sv)]})
	}
	le := binary.LittleEndian
	add(wTypeUint8, 1, func(b []byte) { b[0] = ev.Level })
	add(wTypeUint8, 1, func(b []byte) { b[0] = ev.Opcode })
	add(wTypeUint16, 2, func(b []byte) { le.PutUint16(b, ev.Task) })
	add(wTypeUint16, 2, func(b []byte) { le.PutUint16(b, ev.EventID) })
	if ev.Qualifiers != 0 {
		add(wTypeUint16, 2, func(b []byte) { le.PutUint16(b, ev.Qualifiers) })
	} else {
		vals = append(vals, wValue{typ: wTypeNull})
	}
	add(wTypeHexInt64, 8, func(b []byte) { le.PutUint64(b, ev.Keywords) })
	add(wTypeFiletime, 8, func(b []byte) { le.PutUint64(b, wFiletime(ev.Time)) })
	vals = append(vals, wValue{typ: wTypeNull}) // ActivityID
	add(wTypeUint32, 4, func(b []byte) { le.PutUint32(b, ev.ProcessID) })
	add(wTypeUint32, 4, func(b []byte) { le.PutUint32(b, ev.ThreadID) })
	add(wTypeUint64, 8, func(b []byte) { le.PutUint64(b, recID) })
	add(wTypeUint8, 1, func(b []byte) { b[0] = ev.Version })
	if sid, ok := wEncodeSID(ev.UserID); ok {
		add(wTypeSID, len(sid), func(b []byte) { copy(b, sid) })
	} else if ev.UserID != "" {
		add(wTypeString, wUtf16Len(ev.UserID), func(b []byte) { wPutUTF16z(b, ev.UserID) })
	} else {
		vals = append(vals, wValue{typ: wTypeNull})
	}
	vals = append(vals, wValue{typ: wTypeNull}) // RelatedActivityID
	add(wTypeString, wUtf16Len(ev.Provider), func(b []byte) { wPutUTF16z(b, ev.Provider) })
	if g, ok := wEncodeGUID(ev.ProviderGUID); ok {
		add(wTypeGUID, 16, func(b []byte) { copy(b, g[:]) })
	} else if ev.ProviderGUID != "" {
		add(wTypeString, wUtf16Len(ev.ProviderGUID), func(b []byte) { wPutUTF16z(b, ev.ProviderGUID) })
	} else {
		vals = append(vals, wValue{typ: wTypeNull})
	}
	add(wTypeString, wUtf16Len(ev.Channel), func(b []byte) { wPutUTF16z(b, ev.Channel) })
	w.sysVals = sv

	// Where value 17 will start: after the count, 18 descriptors and the
	// 17 System values.
	valStart := e.off() + 4 + 4*(len(vals)+1)
	for _, v := range vals {
		valStart += len(v.data)
	}
	inner, added, err := w.encodeEventData(ev, valStart, added)
	if err != nil {
		return nil, nil, err
	}
	vals = append(vals, wValue{typ: wTypeBinXML, data: inner})
	w.values = vals
	if err := e.values(vals); err != nil {
		return nil, nil, err
	}
	e.u8(wTokEOF)
	for (len(e.b)+4)%8 != 0 {
		e.u8(0)
	}
	size := len(e.b) + 4
	e.u32(uint32(size))
	le.PutUint32(e.b[4:], uint32(size))
	w.scratch = e.b
	if size > wMaxChunkEnd-wChunkHeaderSize {
		return nil, nil, fmt.Errorf("%w: %d bytes", ErrRecordTooLarge, size)
	}
	return e.b, added, nil
}

// encodeEventData encodes the EventData BinXML fragment (the value of the
// outer template's last substitution) placed at chunk offset at.
func (w *Writer) encodeEventData(ev *Event, at int, added []wTmplDef) ([]byte, []wTmplDef, error) {
	vals := w.dataVals[:0]
	key := append(w.keyBuf[:0], "D\x00"...)
	for i := range ev.Fields {
		f := &ev.Fields[i]
		typ, data := wEncodeField(ev, f.Name, f.Value)
		vals = append(vals, wValue{typ: typ, data: data})
		key = append(key, typ)
		key = append(key, f.Name...)
		key = append(key, 0)
	}
	w.keyBuf = key
	w.dataVals = vals
	e := &wEnc{b: w.inner[:0], base: at}
	e.raw("\x0f\x01\x01\x00")
	added = w.instance(e, string(key), added, func(t *wEnc) { writeEventDataTemplate(t, ev.Fields, vals) })
	err := e.values(vals)
	w.inner = e.b
	return e.b, added, err
}

// sysKey is the outer template's key: the Computer literal is the only part
// of it that varies.
func (w *Writer) sysKey(computer string) string { return "S\x00" + computer }

// instance writes a template instance token for the template with key,
// defining it inline (with body) when this chunk has not seen it.
func (w *Writer) instance(e *wEnc, key string, added []wTmplDef, body func(*wEnc)) []wTmplDef {
	id, ok := w.tmplIDs[key]
	if !ok {
		w.nextID++
		id = w.nextID
		w.tmplIDs[key] = id
	}
	e.u8(wTokTemplateInstance)
	e.u8(1)
	e.u32(id)
	if off, ok := w.defined[id]; ok {
		e.u32(off)
		return added
	}
	for _, a := range added {
		if a.id == id {
			e.u32(a.off)
			return added
		}
	}
	defOff := uint32(e.off() + 4)
	e.u32(defOff)
	e.u32(0) // next template in the hash chain
	e.u32(id)
	h := fnv.New128a()
	h.Write([]byte(key))
	e.raw(string(h.Sum(nil)[:12]))
	sizeAt := len(e.b)
	e.u32(0)
	bodyStart := len(e.b)
	e.raw("\x0f\x01\x01\x00")
	body(e)
	e.u8(wTokEOF)
	binary.LittleEndian.PutUint32(e.b[sizeAt:], uint32(len(e.b)-bodyStart))
	return append(added, wTmplDef{id: id, off: defOff})
}

// writeSystemTemplate writes the outer template's root element: the System
// element with the Windows substitution layout (18 values) and the EventData
// substitution last.
func writeSystemTemplate(e *wEnc, computer string) {
	ev := e.open("Event", true)
	e.attrText("xmlns", "http://schemas.microsoft.com/win/2004/08/events/event", true)
	e.closeAttrs(ev)
	sys := e.open("System", false)
	e.closeAttrs(sys)
	p := e.open("Provider", true)
	e.attrSubst("Name", 14, wTypeString, false)
	e.attrSubst("Guid", 15, wTypeGUID, true)
	e.closeEmpty(p)
	id := e.open("EventID", true)
	e.attrSubst("Qualifiers", 4, wTypeUint16, true)
	e.closeAttrs(id)
	e.subst(3, wTypeUint16, true)
	e.close(id)
	e.leaf("Version", 11, wTypeUint8)
	e.leaf("Level", 0, wTypeUint8)
	e.leaf("Task", 2, wTypeUint16)
	e.leaf("Opcode", 1, wTypeUint8)
	e.leaf("Keywords", 5, wTypeHexInt64)
	tc := e.open("TimeCreated", true)
	e.attrSubst("SystemTime", 6, wTypeFiletime, true)
	e.closeEmpty(tc)
	e.leaf("EventRecordID", 10, wTypeUint64)
	c := e.open("Correlation", true)
	e.attrSubst("ActivityID", 7, wTypeGUID, false)
	e.attrSubst("RelatedActivityID", 13, wTypeGUID, true)
	e.closeEmpty(c)
	x := e.open("Execution", true)
	e.attrSubst("ProcessID", 8, wTypeUint32, false)
	e.attrSubst("ThreadID", 9, wTypeUint32, true)
	e.closeEmpty(x)
	e.leaf("Channel", 16, wTypeString)
	comp := e.open("Computer", false)
	e.closeAttrs(comp)
	e.text(computer)
	e.close(comp)
	s := e.open("Security", true)
	e.attrSubst("UserID", 12, wTypeSID, true)
	e.closeEmpty(s)
	e.close(sys)
	e.subst(17, wTypeBinXML, true)
	e.close(ev)
}

// writeEventDataTemplate writes the inner template's root element:
// EventData with one Data element per field. A field without a name, or
// named Data, Data#2… (as the reader names unnamed values), is written as
// an unnamed <Data>, so a read event written back reads the same.
func writeEventDataTemplate(e *wEnc, fields []Field, vals []wValue) {
	ed := e.open("EventData", false)
	if len(fields) == 0 {
		e.closeEmpty(ed)
		return
	}
	e.closeAttrs(ed)
	for i, f := range fields {
		hasName := f.Name != "" && !isRepeatOf(f.Name, UnnamedData)
		d := e.open("Data", hasName)
		if hasName {
			e.attrText("Name", f.Name, true)
		}
		e.closeAttrs(d)
		e.subst(i, vals[i].typ, false)
		e.close(d)
	}
	e.close(ed)
}

// wFiletime converts t to a Windows FILETIME (100 ns ticks since 1601); the
// zero time gives 0.
func wFiletime(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	const secondsTo1970 = 11644473600
	sec := t.Unix() + secondsTo1970
	if sec < 0 || sec > (1<<63-1)/10_000_000-1 {
		return 0
	}
	return uint64(sec)*10_000_000 + uint64(t.Nanosecond()/100)
}
