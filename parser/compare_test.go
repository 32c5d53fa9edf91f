package parser

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/Velocidex/ordereddict"
	"www.velocidex.com/golang/evtx"
)

// sharedDir returns ../shared beside the repository root, or "" when absent.
func sharedDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
	s := filepath.Join(dir, "..", "shared")
	if fi, err := os.Stat(s); err != nil || !fi.IsDir() {
		return ""
	}
	return s
}

// corpus lists the real logs: ../shared/evtx and SigmaHQ regression data.
func corpus(t testing.TB) []string {
	t.Helper()
	s := sharedDir(t)
	if s == "" {
		t.Skip("../shared not present")
	}
	files, errs := FindFiles([]string{filepath.Join(s, "evtx"), filepath.Join(s, "sigma", "regression_data")})
	if len(errs) > 0 {
		t.Fatalf("find files: %v", errs)
	}
	if len(files) == 0 {
		t.Skip("no .evtx files under ../shared")
	}
	return files
}

// readAll reads every event of a file with opts.
func readAll(t testing.TB, path string, opts Options) ([]*Event, *File) {
	t.Helper()
	f, err := Open(path, opts)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { f.Close() })
	var evs []*Event
	if err := f.Events(context.Background(), func(e *Event) error { evs = append(evs, e); return nil }); err != nil {
		t.Fatalf("events %s: %v", path, err)
	}
	return evs, f
}

// veloRecordIDs returns the System EventRecordIDs Velocidex/evtx reads, in
// file order (each chunk parsed with a private reader, see the notes).
func veloRecordIDs(t testing.TB, path string) []uint64 {
	ids, _ := veloRecords(t, path)
	return ids
}

// veloRecords returns Velocidex's EventRecordIDs and, per record, the
// EventData it left as a raw Data list (template-less records, where every
// value is a string) flattened like the parser does; nil when not a list.
func veloRecords(t testing.TB, path string) ([]uint64, [][]Field) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	chunks, err := evtx.GetChunks(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("velocidex %s: %v", path, err)
	}
	var ids []uint64
	var fields [][]Field
	for _, c := range chunks {
		c.Fd = bytes.NewReader(data)
		recs, _ := c.Parse(0)
		for _, r := range recs {
			ids = append(ids, veloRecordID(r))
			fields = append(fields, veloDataList(r))
		}
	}
	return ids, fields
}

// veloDataList flattens Event.EventData.Data when Velocidex left it as a
// list of {Name, Value} dicts or bare strings.
func veloDataList(r *evtx.EventRecord) []Field {
	get := func(v any, key string) any {
		if d, ok := v.(*ordereddict.Dict); ok {
			x, _ := d.Get(key)
			return x
		}
		return nil
	}
	list, ok := get(get(get(r.Event, "Event"), "EventData"), "Data").([]any)
	if !ok {
		return nil
	}
	var out []Field
	for _, item := range list {
		var name, value string
		switch x := item.(type) {
		case string:
			value = x
		case *ordereddict.Dict:
			n, _ := x.Get("Name")
			name, _ = n.(string)
			v, has := x.Get("Value")
			if s, ok := v.(string); ok {
				value = s
			} else if has {
				return nil // typed value: not comparable as text
			}
		default:
			return nil
		}
		out = append(out, Field{name, value})
	}
	return distinctNames(out)
}

func veloRecordID(r *evtx.EventRecord) uint64 {
	d, ok := r.Event.(*ordereddict.Dict)
	if !ok {
		return 0
	}
	ev, _ := d.Get("Event")
	ed, ok := ev.(*ordereddict.Dict)
	if !ok {
		return 0
	}
	sys, _ := ed.Get("System")
	sd, ok := sys.(*ordereddict.Dict)
	if !ok {
		return 0
	}
	v, _ := sd.Get("EventRecordID")
	switch x := v.(type) {
	case uint64:
		return x
	case string:
		n, _ := strconv.ParseUint(x, 10, 64)
		return n
	}
	return 0
}

// xEvent is one record as evtxexport prints it: its EventRecordID and the
// flattened EventData/UserData values (leaf element text, and attributes
// other than Data/@Name and xmlns as Element_Attribute).
type xEvent struct {
	recordID uint64
	fields   []Field
	// system holds System's element text and attributes (as
	// Element_Attribute), when flattened by flattenXML.
	system map[string]string
}

// evtxexportEvents runs `evtxexport -f xml` and flattens its output with the
// same rules the parser documents, independently of the parser.
func evtxexportEvents(t testing.TB, path string) ([]xEvent, bool) {
	t.Helper()
	out, err := exec.Command("evtxexport", "-f", "xml", path).Output()
	if err != nil {
		return nil, false
	}
	// The first line is the program banner.
	if i := bytes.IndexByte(out, '\n'); i >= 0 && bytes.HasPrefix(out, []byte("evtxexport")) {
		out = out[i+1:]
	}
	evs, err := flattenXML(out)
	if err != nil {
		t.Logf("evtxexport %s: xml: %v", path, err)
		return evs, false
	}
	return evs, true
}

// flattenXML flattens a sequence of <Event> elements with the rules the
// parser documents for Fields.
func flattenXML(out []byte) ([]xEvent, error) {
	// Keep carriage returns: an XML decoder would normalise CR LF to LF, but
	// evtxexport prints the value's bytes as they are.
	out = bytes.ReplaceAll(out, []byte("\r"), []byte("&#13;"))
	dec := xml.NewDecoder(bytes.NewReader(out))
	dec.Strict = false
	var evs []xEvent
	var stack []string
	var cur *xEvent
	var text strings.Builder
	var dataName string
	var hasName bool
	var leaf []bool
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return evs, err
		}
		switch x := tok.(type) {
		case xml.StartElement:
			if len(leaf) > 0 {
				leaf[len(leaf)-1] = false
			}
			stack = append(stack, x.Name.Local)
			leaf = append(leaf, true)
			text.Reset()
			if len(stack) == 1 {
				evs = append(evs, xEvent{system: make(map[string]string)})
				cur = &evs[len(evs)-1]
			}
			if len(stack) == 3 {
				hasName = false
			}
			if len(stack) == 3 && stack[1] == "System" {
				for _, a := range x.Attr {
					cur.system[x.Name.Local+"_"+a.Name.Local] = a.Value
				}
			}
			if len(stack) >= 3 && stack[1] != "System" && stack[1] != "RenderingInfo" {
				for _, a := range x.Attr {
					switch {
					case len(stack) == 3 && stack[1] == "EventData" && x.Name.Local == "Data" && a.Name.Local == "Name":
						dataName, hasName = a.Value, true
					case a.Name.Space == "xmlns" || a.Name.Local == "xmlns":
					default:
						cur.fields = append(cur.fields, Field{Name: x.Name.Local + "_" + a.Name.Local, Value: a.Value})
					}
				}
			}
		case xml.CharData:
			text.Write(x)
		case xml.EndElement:
			n := len(stack)
			isLeaf := leaf[n-1]
			if n >= 3 && stack[1] != "System" && stack[1] != "RenderingInfo" && isLeaf {
				name := stack[n-1]
				if n == 3 && stack[1] == "EventData" && name == "Data" && hasName {
					name = dataName
				}
				cur.fields = append(cur.fields, Field{Name: name, Value: text.String()})
			}
			if n == 3 && stack[1] == "System" {
				cur.system[stack[2]] = text.String()
			}
			if n == 3 && stack[1] == "System" && stack[2] == "EventRecordID" {
				cur.recordID, _ = strconv.ParseUint(strings.TrimSpace(text.String()), 10, 64)
			}
			stack = stack[:n-1]
			leaf = leaf[:n-1]
			text.Reset()
		}
	}
	for i := range evs {
		evs[i].fields = distinctNames(evs[i].fields)
	}
	return evs, nil
}

// distinctNames names flattened fields as the parser documents, written
// here independently of Namer: an unnamed <Data> (empty name) is Data; a
// name an earlier field has gets #2, #3…, the first suffix no earlier
// field has.
func distinctNames(fs []Field) []Field {
	taken := func(n string, upto int) bool {
		for _, f := range fs[:upto] {
			if f.Name == n {
				return true
			}
		}
		return false
	}
	for i := range fs {
		if fs[i].Name == "" {
			fs[i].Name = "Data"
		}
		base := fs[i].Name
		for k := 2; taken(fs[i].Name, i); k++ {
			fs[i].Name = base + "#" + strconv.Itoa(k)
		}
	}
	return fs
}

func lookEvtxexport() (string, error) { return exec.LookPath("evtxexport") }

// TestCompareReferences reads every real log and compares with Velocidex/evtx
// (record count and EventRecordIDs) and with evtxexport (field values).
func TestCompareReferences(t *testing.T) {
	files := corpus(t)
	haveExport := true
	if _, err := exec.LookPath("evtxexport"); err != nil {
		haveExport = false
		t.Log("evtxexport not installed: comparing with Velocidex/evtx only")
	}
	var nRecords, nCompared, nVelo, nFiles int
	for _, path := range files {
		name, _ := filepath.Rel(sharedDir(t), path)
		t.Run(name, func(t *testing.T) {
			evs, f := readAll(t, path, Options{})
			if p := f.Problems(); len(p) > 0 {
				t.Errorf("problems on a real log: %v", p)
			}
			want, veloFields := veloRecords(t, path)
			if len(evs) != len(want) {
				t.Errorf("records: got %d, Velocidex %d", len(evs), len(want))
			}
			for i := 0; i < min(len(evs), len(want)); i++ {
				if evs[i].RecordID != want[i] {
					t.Errorf("record %d: EventRecordID %d, Velocidex %d", i, evs[i].RecordID, want[i])
					break
				}
			}
			nRecords += len(evs)
			nFiles++
			if !haveExport {
				return
			}
			xevs, ok := evtxexportEvents(t, path)
			if !ok {
				// evtxexport refuses template-less records; Velocidex
				// leaves their EventData as a list of strings: compare.
				n := 0
				for i := 0; i < min(len(evs), len(veloFields)); i++ {
					if veloFields[i] == nil {
						continue
					}
					n++
					if !matchVelo(evs[i].Fields, veloFields[i]) {
						t.Errorf("record %d fields differ from Velocidex:\n got  %q\n want %q", evs[i].RecordID, evs[i].Fields, veloFields[i])
					}
				}
				nVelo += n
				t.Logf("evtxexport cannot read this file; %d records compared with Velocidex's Data lists", n)
				return
			}
			byID := make(map[uint64]*Event, len(evs))
			for _, e := range evs {
				byID[e.RecordID] = e
			}
			for _, x := range xevs {
				e := byID[x.recordID]
				if e == nil {
					t.Errorf("evtxexport record %d not read", x.recordID)
					continue
				}
				nCompared++
				if !sameAsEvtxexport(e.Fields, x.fields) {
					t.Errorf("record %d fields differ:\n got  %q\n want %q", x.recordID, e.Fields, x.fields)
				}
			}
		})
	}
	t.Logf("%d files, %d records; field by field: %d records with evtxexport, %d with Velocidex", nFiles, nRecords, nCompared, nVelo)
}

// matchVelo compares with Velocidex, which stops decoding a template-less
// record at the first entity reference inside a value (&gt; in
// "[>] Waiting"): its last value may then be a prefix of ours that stops
// at such a character, with the fields after it missing.
func matchVelo(got, velo []Field) bool {
	if len(velo) > len(got) {
		return false
	}
	for i, v := range velo {
		g := got[i]
		if g.Name != v.Name {
			return false
		}
		if g.Value == v.Value {
			continue
		}
		cut := i == len(velo)-1 && strings.HasPrefix(g.Value, v.Value) &&
			strings.ContainsRune(`<>&"'`, rune(g.Value[len(v.Value)]))
		if !cut {
			return false
		}
	}
	return len(velo) == len(got) || velo[len(velo)-1].Value != got[len(velo)-1].Value
}

// sameAsEvtxexport compares the parser's fields with evtxexport's. They
// must be equal, except that evtxexport zero-pads HexInt32/HexInt64 values
// (0x000003e7) where Windows, and so the parser, writes 0x3e7: a padded
// value of evtxexport's equals the parser's unpadded one.
func sameAsEvtxexport(ours, theirs []Field) bool {
	if len(ours) != len(theirs) {
		return false
	}
	for i := range ours {
		o, x := ours[i], theirs[i]
		if o.Name != x.Name || (o.Value != x.Value && o.Value != unpadHex(x.Value)) {
			return false
		}
	}
	return true
}

// unpadHex turns evtxexport's rendering of a HexInt32/HexInt64 (0x and 8
// or 16 lower-case digits) into Windows' (no zero padding); other values
// are returned as they are.
func unpadHex(s string) string {
	h, ok := strings.CutPrefix(s, "0x")
	if !ok || (len(h) != 8 && len(h) != 16) || strings.ToLower(h) != h {
		return s
	}
	v, err := strconv.ParseUint(h, 16, 64)
	if err != nil {
		return s
	}
	return "0x" + strconv.FormatUint(v, 16)
}

func equalFields(a, b []Field) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestCarveDamagedRealChunk wipes the magic of the second chunk of a real
// log: with carving every record comes back, marked recovered, with the
// same values; without, the chunk is reported and skipped.
func TestCarveDamagedRealChunk(t *testing.T) {
	s := sharedDir(t)
	if s == "" {
		t.Skip("../shared not present")
	}
	data, err := os.ReadFile(filepath.Join(s, "evtx", "sysmon_uacme_64.evtx"))
	if err != nil {
		t.Skip(err)
	}
	intact, _ := read(t, data, Options{})
	bad := append([]byte(nil), data...)
	copy(bad[fileHeaderSize+chunkSize:], "XXXXXXXX")
	for _, carve := range []bool{true, false} {
		evs, r := read(t, bad, Options{Carve: carve})
		probs := r.Problems()
		if len(probs) != 1 || probs[0].Offset != fileHeaderSize+chunkSize {
			t.Errorf("carve=%v: problems %v", carve, probs)
		}
		inChunk := 0
		for _, e := range intact {
			if e.Offset >= fileHeaderSize+chunkSize && e.Offset < fileHeaderSize+2*chunkSize {
				inChunk++
			}
		}
		want := len(intact)
		if !carve {
			want -= inChunk
		}
		if len(evs) != want || inChunk == 0 {
			t.Fatalf("carve=%v: %d events, want %d (%d in the damaged chunk)", carve, len(evs), want, inChunk)
		}
		if !carve {
			continue
		}
		for i, e := range evs {
			w := intact[i]
			damaged := e.Offset >= fileHeaderSize+chunkSize && e.Offset < fileHeaderSize+2*chunkSize
			if e.Recovered != damaged || e.RecordID != w.RecordID || !equalFields(e.Fields, w.Fields) || e.Time != w.Time {
				t.Fatalf("event %d: recovered=%v id %d, intact id %d", i, e.Recovered, e.RecordID, w.RecordID)
			}
		}
		if st := r.Stats(); st.Recovered != inChunk || st.BadChunks != 1 {
			t.Errorf("stats %+v", st)
		}
	}
}
