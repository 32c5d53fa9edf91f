package parser

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/Velocidex/ordereddict"
	"www.velocidex.com/golang/evtx"
)

// wtBuffer is an in-memory io.WriteSeeker.
type wtBuffer struct {
	b   []byte
	pos int
}

func (m *wtBuffer) Write(p []byte) (int, error) {
	if need := m.pos + len(p); need > len(m.b) {
		m.b = append(m.b, make([]byte, need-len(m.b))...)
	}
	copy(m.b[m.pos:], p)
	m.pos += len(p)
	return len(p), nil
}

func (m *wtBuffer) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		off += int64(m.pos)
	case io.SeekEnd:
		off += int64(len(m.b))
	}
	if off < 0 {
		return 0, errors.New("negative seek")
	}
	m.pos = int(off)
	return off, nil
}

// wtWrite writes events and returns the file bytes.
func wtWrite(t testing.TB, evs []*Event) []byte {
	t.Helper()
	var m wtBuffer
	w := NewWriter(&m)
	for i, ev := range evs {
		if err := w.Write(ev); err != nil {
			t.Fatalf("Write(%d): %v", i, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return m.b
}

// wtRead reads a file with this package's reader and fails on problems.
func wtRead(t testing.TB, data []byte) []*Event {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), int64(len(data)), Options{Workers: 1})
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	var out []*Event
	if err := r.Events(context.Background(), func(ev *Event) error { out = append(out, ev); return nil }); err != nil {
		t.Fatalf("Events: %v", err)
	}
	if p := r.Problems(); len(p) > 0 {
		t.Fatalf("reader problems on a written file: %v", p)
	}
	return out
}

var wtT0 = time.Date(2026, 3, 2, 9, 15, 30, 123456700, time.UTC)

func wtSysmon(fields ...Field) *Event {
	return &Event{Time: wtT0, Written: wtT0.Add(time.Millisecond), Provider: "Microsoft-Windows-Sysmon",
		ProviderGUID: "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}", Channel: "Microsoft-Windows-Sysmon/Operational",
		Computer: "WS-001.corp.example.com", EventID: 1, Version: 5, Level: 4, Task: 1, Keywords: 0x8000000000000000,
		ProcessID: 2044, ThreadID: 3100, UserID: "S-1-5-18", RecordID: 41, Fields: fields}
}

func wtSecurity(version uint8, fields ...Field) *Event {
	return &Event{Time: wtT0, Written: wtT0, Provider: "Microsoft-Windows-Security-Auditing",
		ProviderGUID: "{54849625-5478-4994-A5BA-3E3B0328C30D}", Channel: "Security", Computer: "DC01",
		EventID: 4688, Version: version, Task: 13312, Keywords: 0x8020000000000000, ProcessID: 4, ThreadID: 512,
		RecordID: 7, Fields: fields}
}

// wtSame compares an event read back with the one written.
func wtSame(t *testing.T, i int, got, want *Event, wantNum uint64) {
	t.Helper()
	w := *want
	if w.RecordID == 0 {
		w.RecordID = wantNum
	}
	if w.Written.IsZero() {
		w.Written = w.Time
	}
	if epoch := time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC); w.Time.IsZero() && got.Time.Equal(epoch) {
		w.Time, w.Written = epoch, epoch // FILETIME 0, which a reader may show as 1601
	}
	w.Time = w.Time.Truncate(100 * time.Nanosecond)
	w.Written = w.Written.Truncate(100 * time.Nanosecond)
	if got.RecordNum != wantNum || got.RecordID != w.RecordID || !got.Time.Equal(w.Time) || !got.Written.Equal(w.Written) ||
		got.Provider != w.Provider || got.ProviderGUID != w.ProviderGUID || got.Channel != w.Channel || got.Computer != w.Computer ||
		got.EventID != w.EventID || got.Qualifiers != w.Qualifiers || got.Version != w.Version || got.Level != w.Level ||
		got.Task != w.Task || got.Opcode != w.Opcode || got.Keywords != w.Keywords || got.ProcessID != w.ProcessID ||
		got.ThreadID != w.ThreadID || got.UserID != w.UserID {
		t.Errorf("event %d System differs:\n got %+v\nwant %+v", i, *got, w)
	}
	if len(got.Fields) != len(w.Fields) {
		t.Fatalf("event %d: %d fields, want %d: %v", i, len(got.Fields), len(w.Fields), got.Fields)
	}
	for j := range w.Fields {
		wf := w.Fields[j]
		wf.Value = strings.Split(string([]rune(wf.Value)), "\x00")[0] // U+FFFD for bad UTF-8; NUL ends a value
		if wf.Name == "" {
			wf.Name = got.Fields[j].Name // unnamed <Data>: the reader names it
		}
		if got.Fields[j] != wf {
			t.Errorf("event %d field %d = %+q, want %+q", i, j, got.Fields[j], wf)
		}
	}
}

// TestWriterValuesRoundTrip writes events with every value type, odd strings and
// non-canonical values, and reads them back with this package's reader.
func TestWriterValuesRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		ev   *Event
	}{
		{"sysmon 1 typed", wtSysmon(
			Field{"RuleName", "-"}, Field{"UtcTime", "2026-03-02 09:15:30.123"},
			Field{"ProcessGuid", "{365ABB72-6759-5CD8-0000-0010E2D50F00}"}, Field{"ProcessId", "1420"},
			Field{"Image", `C:\Windows\System32\regsvr32.exe`}, Field{"Product", "Microsoft® Windows® Operating System"},
			Field{"LogonId", "0x13eee"}, Field{"TerminalSessionId", "1"})},
		{"sysmon 3 ports and bools", wtSysmon(Field{"Initiated", "true"}, Field{"SourceIsIpv6", "false"},
			Field{"SourcePort", "65535"}, Field{"DestinationPort", "443"}, Field{"ProcessId", "4294967295"})},
		{"non-canonical typed values are strings", wtSysmon(Field{"ProcessId", "0012"}, Field{"ProcessGuid", "{365abb72-6759-5cd8-0000-0010e2d50f00}"},
			Field{"LogonId", "0x0000000000013eee"}, Field{"GrantedAccess", "0x1FFFFF"}, Field{"Initiated", "True"}, Field{"SourcePort", "70000"}, Field{"TerminalSessionId", "-1"},
			Field{"ParentProcessGuid", "365ABB72-6759-5CD8-0000-0010E2D50F00"})},
		{"security 4688 v1", wtSecurity(1, Field{"SubjectUserSid", "S-1-5-18"}, Field{"SubjectLogonId", "0x3e7"},
			Field{"NewProcessId", "0xea0"}, Field{"NewProcessName", `C:\Windows\duKhLYUX.exe`}, Field{"TokenElevationType", "%%1936"},
			Field{"ProcessId", "0x1e8"}, Field{"CommandLine", ""})},
		{"security 4688 v2", wtSecurity(2, Field{"SubjectUserSid", "S-1-5-21-3623811015-3361044348-30300820-1013"},
			Field{"NewProcessId", "0x21a4"}, Field{"ProcessId", "0x2480"},
			Field{"TargetUserSid", "S-1-0-0"}, Field{"MandatoryLabel", "S-1-16-12288"}, Field{"TargetLogonId", "0x0"})},
		{"v1 id wider than 32 bits is a string", wtSecurity(1, Field{"NewProcessId", "0x1000021a4"}, Field{"SubjectUserSid", "S-1-5-18-x"})},
		{"unicode and escapes", &Event{Time: wtT0, Provider: "Custom-Provider", Channel: "Application", Computer: "Ünïcødé-ホスト",
			EventID: 1000, Qualifiers: 16384, Level: 2, Fields: []Field{{"Text", "emoji 😀 <tag> & \"quotes\" \t tab\r\nnewline"},
				{"Bad", "in\xffvalid"}, {"Nul", "before\x00after"}, {"Empty", ""}}}},
		{"no fields, no guid, no user, zero time", &Event{Provider: "P", Channel: "C", Computer: "H", EventID: 1}},
		{"unnamed data", &Event{Time: wtT0, Provider: "P", Channel: "C", Computer: "H", EventID: 2, Fields: []Field{{"", "a"}, {"", "b"}}}},
		{"unnamed data as read", &Event{Time: wtT0, Provider: "P", Channel: "C", Computer: "H", EventID: 2,
			Fields: []Field{{"Data", "a"}, {"Data#2", "b"}, {"Data#3", "c"}, {"Datum", "d"}}}},
		{"record id zero takes the record number", &Event{Time: wtT0, Provider: "P", Channel: "C", Computer: "H", EventID: 3, Fields: []Field{{"X", "1"}}}},
	}
	var evs []*Event
	for _, c := range cases {
		evs = append(evs, c.ev)
	}
	got := wtRead(t, wtWrite(t, evs))
	if len(got) != len(evs) {
		t.Fatalf("read %d events, wrote %d", len(got), len(evs))
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) { wtSame(t, i, got[i], c.ev, uint64(i+1)) })
	}
}

// TestWriterValueTypes checks with Velocidex (which keeps BinXML types)
// that fields get the types Windows writes for them.
func TestWriterValueTypes(t *testing.T) {
	evs := []*Event{
		wtSysmon(Field{"ProcessGuid", "{365ABB72-6759-5CD8-0000-0010E2D50F00}"}, Field{"ProcessId", "1420"},
			Field{"LogonId", "0x13eee"}, Field{"Initiated", "true"}, Field{"SourcePort", "443"},
			Field{"Image", "x"}, Field{"ParentProcessId", "07"}),
		wtSecurity(1, Field{"SubjectUserSid", "S-1-5-18"}, Field{"NewProcessId", "0xea0"}, Field{"SubjectLogonId", "0x3e7"}),
		wtSecurity(2, Field{"NewProcessId", "0x21a4"}, Field{"MandatoryLabel", "S-1-16-8192"}),
	}
	want := []map[string]string{
		{"ProcessGuid": "string", "ProcessId": "uint32", "LogonId": "uint64", "Initiated": "bool", "SourcePort": "uint16", "Image": "string", "ParentProcessId": "string"},
		{"SubjectUserSid": "string", "NewProcessId": "uint32", "SubjectLogonId": "uint64"},
		{"NewProcessId": "uint64", "MandatoryLabel": "string"},
	}
	data := wtWrite(t, evs)
	chunks, err := evtx.GetChunks(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var i int
	for _, c := range chunks {
		recs, err := c.Parse(0)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			ed, _ := r.Event.(*ordereddict.Dict).Get("Event")
			d, ok := ed.(*ordereddict.Dict).Get("EventData")
			if !ok {
				t.Fatalf("record %d: no EventData", i)
			}
			for k, typ := range want[i] {
				v, _ := d.(*ordereddict.Dict).Get(k)
				if got := fmt.Sprintf("%T", v); got != typ {
					t.Errorf("record %d %s: Velocidex type %s (%v), want %s", i, k, got, v, typ)
				}
			}
			i++
		}
	}
	if i != len(evs) {
		t.Fatalf("Velocidex read %d records, want %d", i, len(evs))
	}
}

// wtVaried returns n events of varying sizes, hosts and schemas.
func wtVaried(n int) []*Event {
	var evs []*Event
	for i := 0; i < n; i++ {
		ev := wtSysmon(Field{"RuleName", "-"}, Field{"ProcessId", fmt.Sprint(i)}, Field{"CommandLine", strings.Repeat("x", (i*37)%900)})
		ev.Computer = fmt.Sprintf("HOST-%d", i%7)
		ev.RecordID = uint64(1000 + i)
		ev.Time = wtT0.Add(time.Duration(i) * time.Second)
		if i%3 == 0 {
			ev.EventID, ev.Fields = 7, append(ev.Fields, Field{"Signed", "false"}, Field{"Extra" + fmt.Sprint(i%5), "y"})
		}
		evs = append(evs, ev)
	}
	return evs
}

// TestWriterLayout walks the bytes of a multi-chunk file: header fields
// and CRCs, chunk record ranges, free-space and last-record offsets, record
// framing, and the libyal rule that no record ends at 0x10000.
func TestWriterLayout(t *testing.T) {
	evs := wtVaried(3000)
	data := wtWrite(t, evs)
	le := binary.LittleEndian
	if string(data[:8]) != "ElfFile\x00" {
		t.Fatal("file magic")
	}
	nChunks := (len(data) - wFileHeaderSize) / wChunkSize
	if (len(data)-wFileHeaderSize)%wChunkSize != 0 || nChunks < 2 {
		t.Fatalf("file size %d is not header + whole chunks (or too few chunks)", len(data))
	}
	if got := int(le.Uint16(data[0x2A:])); got != nChunks {
		t.Errorf("header chunk count %d, want %d", got, nChunks)
	}
	if got := le.Uint64(data[0x10:]); got != uint64(nChunks-1) {
		t.Errorf("header last chunk %d, want %d", got, nChunks-1)
	}
	if got := le.Uint64(data[0x18:]); got != uint64(len(evs)+1) {
		t.Errorf("header next record %d, want %d", got, len(evs)+1)
	}
	if le.Uint32(data[0x78:]) != 0 {
		t.Error("file marked dirty")
	}
	if le.Uint32(data[0x7C:]) != crc32.ChecksumIEEE(data[:0x78]) {
		t.Error("file header CRC")
	}
	next := uint64(1)
	for k := 0; k < nChunks; k++ {
		c := data[wFileHeaderSize+k*wChunkSize:][:wChunkSize]
		if string(c[:8]) != "ElfChnk\x00" {
			t.Fatalf("chunk %d magic", k)
		}
		first, last := le.Uint64(c[0x08:]), le.Uint64(c[0x10:])
		if first != next || last < first || le.Uint64(c[0x18:]) != first || le.Uint64(c[0x20:]) != last {
			t.Errorf("chunk %d: records %d..%d (ids %d..%d), want from %d", k, first, last, le.Uint64(c[0x18:]), le.Uint64(c[0x20:]), next)
		}
		free := int(le.Uint32(c[0x30:]))
		if free >= wChunkSize || free <= wChunkHeaderSize {
			t.Errorf("chunk %d: free-space offset %#x", k, free)
		}
		if le.Uint32(c[0x34:]) != crc32.ChecksumIEEE(c[wChunkHeaderSize:free]) {
			t.Errorf("chunk %d: data CRC", k)
		}
		h := crc32.NewIEEE()
		h.Write(c[:0x78])
		h.Write(c[0x80:wChunkHeaderSize])
		if le.Uint32(c[0x7C:]) != h.Sum32() {
			t.Errorf("chunk %d: header CRC", k)
		}
		pos, lastOff := wChunkHeaderSize, 0
		for num := first; num <= last; num++ {
			size := int(le.Uint32(c[pos+4:]))
			if string(c[pos:pos+4]) != "**\x00\x00" || le.Uint64(c[pos+8:]) != num || size%8 != 0 || pos+size > free ||
				int(le.Uint32(c[pos+size-4:])) != size {
				t.Fatalf("chunk %d: bad record %d at %#x (size %d)", k, num, pos, size)
			}
			lastOff = pos
			pos += size
		}
		if pos != free || int(le.Uint32(c[0x2C:])) != lastOff {
			t.Errorf("chunk %d: records end at %#x, free %#x; last record %#x, header says %#x", k, pos, free, lastOff, le.Uint32(c[0x2C:]))
		}
		if !isZero(c[free:]) {
			t.Errorf("chunk %d: bytes after the free-space offset", k)
		}
		next = last + 1
	}
	if next != uint64(len(evs)+1) {
		t.Errorf("chunks hold %d records, want %d", next-1, len(evs))
	}
	got := wtRead(t, data)
	for i := range evs {
		wtSame(t, i, got[i], evs[i], uint64(i+1))
	}
}

// TestWriterTemplatesPerChunk checks that within each chunk a template id
// is defined inline once, at its first use, and that one id never stands
// for two definitions (libyal/python key templates by offset, Velocidex by
// id).
func TestWriterTemplatesPerChunk(t *testing.T) {
	data := wtWrite(t, wtVaried(2000))
	le := binary.LittleEndian
	for k := 0; (k+1)*wChunkSize+wFileHeaderSize <= len(data); k++ {
		c := data[wFileHeaderSize+k*wChunkSize:][:wChunkSize]
		defs := map[uint32]int{}
		bodies := map[uint32][]byte{}
		// instance checks the template instance at off and returns the
		// offset after its definition (if inline).
		instance := func(off int) int {
			if c[off] != 0x0C {
				t.Fatalf("chunk %d: no template instance at %#x", k, off)
			}
			id, def := le.Uint32(c[off+2:]), int(le.Uint32(c[off+6:]))
			after := off + 10
			if prev, ok := defs[id]; ok {
				if def != prev {
					t.Errorf("chunk %d: template %d refers to %#x, defined at %#x", k, id, def, prev)
				}
				return after
			}
			if def != after {
				t.Errorf("chunk %d: first use of template %d at %#x not inline (points to %#x)", k, id, off, def)
			}
			if le.Uint32(c[def+4:]) != id {
				t.Errorf("chunk %d: template %d GUID does not start with its id", k, id)
			}
			size := int(le.Uint32(c[def+20:]))
			body := c[def+24 : def+24+size]
			for oid, ob := range bodies {
				if oid != id && bytes.Equal(ob, body) {
					t.Errorf("chunk %d: templates %d and %d have the same body", k, id, oid)
				}
			}
			defs[id], bodies[id] = def, body
			return def + 24 + size
		}
		first, last := le.Uint64(c[0x08:]), le.Uint64(c[0x10:])
		pos := wChunkHeaderSize
		for num := first; num <= last; num++ {
			p := instance(pos + recordHeaderLen + 4)
			n := int(le.Uint32(c[p:]))
			if n != 18 {
				t.Fatalf("chunk %d record %d: %d System values, want 18", k, num, n)
			}
			vals := p + 4 + 4*n
			for i := 0; i < 17; i++ {
				vals += int(le.Uint16(c[p+4+4*i:]))
			}
			if c[p+4+4*17+2] != wTypeBinXML {
				t.Fatalf("chunk %d record %d: value 17 is not BinXML", k, num)
			}
			instance(vals + 4)
			pos += int(le.Uint32(c[pos+4:]))
		}
	}
}

// TestWriterRecordTooLarge: an event that cannot fit a chunk is refused
// with ErrRecordTooLarge and the writer goes on.
func TestWriterRecordTooLarge(t *testing.T) {
	var m wtBuffer
	w := NewWriter(&m)
	small := wtSysmon(Field{"CommandLine", "ok"})
	huge := wtSysmon(Field{"CommandLine", strings.Repeat("A", 40000)})
	hugeName := wtSysmon(Field{strings.Repeat("N", 70000), "v"})
	if err := w.Write(small); err != nil {
		t.Fatal(err)
	}
	for _, ev := range []*Event{huge, hugeName} {
		if err := w.Write(ev); !errors.Is(err, ErrRecordTooLarge) {
			t.Fatalf("Write(huge) = %v, want ErrRecordTooLarge", err)
		}
	}
	// Fits an empty chunk but not the rest of this one: starts a chunk.
	big := wtSysmon(Field{"CommandLine", strings.Repeat("B", 31000)})
	for i := 0; i < 3; i++ {
		if err := w.Write(big); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Write(small); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := wtRead(t, m.b)
	if len(got) != 5 || w.Records() != 5 {
		t.Fatalf("read %d events (writer counts %d), want 5", len(got), w.Records())
	}
	wtSame(t, 2, got[2], big, 3)
	if w.Write(small) != ErrWriterClosed || w.Close() != ErrWriterClosed {
		t.Error("closed writer accepted a call")
	}
}

// TestWriterHeaderManyChunks: beyond 65,535 chunks the 16-bit count cannot
// hold the truth, so the file is marked dirty and readers scan.
func TestWriterHeaderManyChunks(t *testing.T) {
	for _, c := range []struct {
		chunks    uint64
		count     uint16
		dirtyFlag uint32
	}{{0, 0, 0}, {1, 1, 0}, {65535, 65535, 0}, {65536, 65535, 1}, {70000, 65535, 1}} {
		w := NewWriter(&wtBuffer{})
		w.nChunks, w.recNum = c.chunks, 12345
		h := w.fileHeader()
		le := binary.LittleEndian
		if le.Uint16(h[0x2A:]) != c.count || le.Uint32(h[0x78:]) != c.dirtyFlag || le.Uint64(h[0x18:]) != 12346 ||
			le.Uint32(h[0x7C:]) != crc32.ChecksumIEEE(h[:0x78]) {
			t.Errorf("%d chunks: count %d flags %d next %d", c.chunks, le.Uint16(h[0x2A:]), le.Uint32(h[0x78:]), le.Uint64(h[0x18:]))
		}
		if c.chunks > 0 && le.Uint64(h[0x10:]) != c.chunks-1 {
			t.Errorf("%d chunks: last chunk %d", c.chunks, le.Uint64(h[0x10:]))
		}
	}
}

// wtFailing fails every write after limit bytes.
type wtFailing struct {
	wtBuffer
	limit int
}

var errWtDisk = errors.New("disk full")

func (f *wtFailing) Write(p []byte) (int, error) {
	if f.pos+len(p) > f.limit {
		return 0, errWtDisk
	}
	return f.wtBuffer.Write(p)
}

// TestWriterIOError: a failed write is reported (wrapped) and sticks.
func TestWriterIOError(t *testing.T) {
	f := &wtFailing{limit: wFileHeaderSize + wChunkSize}
	w := NewWriter(f)
	var err error
	for i := 0; i < 5000 && err == nil; i++ {
		err = w.Write(wtSysmon(Field{"CommandLine", strings.Repeat("z", 500)}))
	}
	if !errors.Is(err, errWtDisk) || !strings.HasPrefix(err.Error(), "parser: ") {
		t.Fatalf("err = %v, want a parser: error wrapping the disk error", err)
	}
	if err := w.Write(wtSysmon()); !errors.Is(err, errWtDisk) {
		t.Errorf("after failure Write = %v", err)
	}
	if err := w.Close(); !errors.Is(err, errWtDisk) {
		t.Errorf("after failure Close = %v", err)
	}
}

// TestWriterEmptyFile: closing without events gives a valid empty log.
func TestWriterEmptyFile(t *testing.T) {
	data := wtWrite(t, nil)
	if len(data) != wFileHeaderSize {
		t.Fatalf("empty log is %d bytes", len(data))
	}
	if got := wtRead(t, data); len(got) != 0 {
		t.Fatalf("read %d events", len(got))
	}
}

// TestWriterPeers runs libyal's evtxexport and python-evtx (checksum
// verification) on the round-trip file when installed.
func TestWriterPeers(t *testing.T) {
	data := wtWrite(t, append(wtVaried(400), wtSysmon(Field{"Product", "Microsoft® Windows®"}, Field{"Emoji", "😀"})))
	path := filepath.Join(t.TempDir(), "w.evtx")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	ran := false
	if _, err := os.Stat("/usr/bin/evtxexport"); err == nil {
		ran = true
		out, err := wtRunTool("evtxexport", "-f", "xml", path)
		if err != nil {
			t.Fatalf("evtxexport: %v", err)
		}
		if n := strings.Count(out, "<Event "); n != 401 {
			t.Errorf("evtxexport printed %d events, want 401", n)
		}
		// (evtxexport 20181227 mis-decodes surrogate pairs: 😀 comes out
		// as U+1F201, so only BMP text is checked here.)
		if !strings.Contains(out, "<Data Name=\"Product\">Microsoft® Windows®</Data>") {
			t.Error("evtxexport lost non-ASCII text")
		}
	}
	if _, err := os.Stat("/usr/bin/evtx_dump.py"); err == nil {
		ran = true
		out, err := wtRunTool("/usr/bin/python3", "-c", `
import sys
from Evtx.Evtx import Evtx
with Evtx(sys.argv[1]) as log:
    fh = log.get_file_header()
    print(fh.verify(), all(c.verify() for c in fh.chunks()), sum(1 for _ in log.records()))
`, path)
		if err != nil {
			t.Fatalf("python-evtx: %v", err)
		}
		if strings.TrimSpace(out) != "True True 401" {
			t.Errorf("python-evtx: header ok, chunks ok, records = %q, want True True 401", out)
		}
	}
	if !ran {
		t.Skip("neither evtxexport nor python-evtx installed")
	}
}

func wtRunTool(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%w: %s", err, errb.String())
	}
	return out.String(), nil
}

// FuzzWriterRoundTrip: whatever the strings, what the writer writes reads
// back as written (bad UTF-8 as U+FFFD, a value up to its first NUL), or
// the event is refused as too large.
func FuzzWriterRoundTrip(f *testing.F) {
	f.Add("WS-1", "ProcessId", "1420", "CommandLine", "regsvr32 /s x.dll", uint16(1), "Microsoft-Windows-Sysmon")
	f.Add("DC", "NewProcessId", "0xea0", "SubjectUserSid", "S-1-5-18", uint16(4688), "Microsoft-Windows-Security-Auditing")
	f.Add("h\xff", "LogonId", "0x13eee", "ProcessGuid", "{365abb72-6759-5cd8-0000-0010e2d50f00}", uint16(7), "Microsoft-Windows-Sysmon")
	f.Fuzz(func(t *testing.T, computer, n1, v1, n2, v2 string, id uint16, provider string) {
		for _, s := range []string{n1, n2, computer, provider} {
			if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
				return // names and System strings: valid text without NUL
			}
		}
		if n1 == "" || n2 == "" {
			return
		}
		ev := &Event{Time: wtT0, Provider: provider, Channel: "C", Computer: computer, EventID: id, Version: 2,
			Fields: []Field{{n1, v1}, {n2, v2}}}
		var m wtBuffer
		w := NewWriter(&m)
		err := w.Write(ev)
		if errors.Is(err, ErrRecordTooLarge) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		got := wtRead(t, m.b)
		if len(got) != 1 {
			t.Fatalf("read %d events", len(got))
		}
		wtSame(t, 0, got[0], ev, 1)
	})
}
