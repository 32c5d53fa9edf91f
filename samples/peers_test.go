package samples

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Velocidex/ordereddict"
	"www.velocidex.com/golang/evtx"

	"github.com/evtriage/evtriage/parser"
)

// flat is one event as a peer parser rendered it: System values under
// fixed names, then EventData as "Data.<Name>" in order.
type flat struct {
	keys []string
	vals map[string]string
}

func (f *flat) set(k, v string) {
	if f.vals == nil {
		f.vals = make(map[string]string)
	}
	if _, ok := f.vals[k]; !ok {
		f.keys = append(f.keys, k)
	}
	f.vals[k] = v
}

// systemKeys are the System values every peer is compared on.
var systemKeys = []string{"Provider", "ProviderGUID", "EventID", "Version", "Level", "Task", "Opcode", "Keywords",
	"TimeCreated", "EventRecordID", "ProcessID", "ThreadID", "Channel", "Computer", "UserID"}

// flatOf flattens an event as written (or as our reader returns it).
func flatOf(ev *parser.Event) flat {
	var f flat
	f.set("Provider", ev.Provider)
	f.set("ProviderGUID", ev.ProviderGUID)
	f.set("EventID", strconv.Itoa(int(ev.EventID)))
	f.set("Version", strconv.Itoa(int(ev.Version)))
	f.set("Level", strconv.Itoa(int(ev.Level)))
	f.set("Task", strconv.Itoa(int(ev.Task)))
	f.set("Opcode", strconv.Itoa(int(ev.Opcode)))
	f.set("Keywords", fmt.Sprintf("0x%016x", ev.Keywords))
	f.set("TimeCreated", ev.Time.UTC().Format(time.RFC3339Nano))
	f.set("EventRecordID", strconv.FormatUint(ev.RecordID, 10))
	f.set("ProcessID", strconv.FormatUint(uint64(ev.ProcessID), 10))
	f.set("ThreadID", strconv.FormatUint(uint64(ev.ThreadID), 10))
	f.set("Channel", ev.Channel)
	f.set("Computer", ev.Computer)
	f.set("UserID", ev.UserID)
	for _, d := range ev.Fields {
		f.set("Data."+d.Name, d.Value)
	}
	return f
}

// sameValue compares a reference value with a peer's rendering of it: hex
// numbers by value (peers pad differently or print decimal), GUIDs without
// regard to case or braces, booleans without regard to case, times within
// 10 µs (python-evtx and Velocidex go through floats), everything else
// exactly.
func sameValue(key, ref, got string) bool {
	if ref == got {
		return true
	}
	if key == "TimeCreated" {
		// python-evtx converts FILETIME through a float and can be a few
		// microseconds off.
		a, err1 := parsePeerTime(ref)
		b, err2 := parsePeerTime(got)
		return err1 == nil && err2 == nil && math.Abs(float64(a.Sub(b))) <= float64(10*time.Microsecond)
	}
	if (ref == "true" || ref == "false") && strings.EqualFold(ref, got) {
		return true // python-evtx prints True/False
	}
	if h, ok := strings.CutPrefix(ref, "0x"); ok {
		v, err := strconv.ParseUint(h, 16, 64)
		if err != nil {
			return false
		}
		if g, ok := strings.CutPrefix(got, "0x"); ok {
			w, err := strconv.ParseUint(g, 16, 64)
			return err == nil && v == w
		}
		w, err := strconv.ParseUint(got, 10, 64)
		return err == nil && v == w
	}
	trim := func(s string) string { return strings.ToUpper(strings.Trim(s, "{}")) }
	if len(ref) == 38 && ref[0] == '{' {
		return trim(ref) == trim(got)
	}
	return false
}

func parsePeerTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("unparsed time %q", s)
}

// compareFlat reports the differences between want and got (at most a few).
func compareFlat(t *testing.T, peer string, i int, want, got flat) bool {
	t.Helper()
	bad := 0
	for _, k := range want.keys {
		w := want.vals[k]
		g, ok := got.vals[k]
		if !ok && w == "" && (k == "UserID" || k == "ProviderGUID") {
			continue // absent optional System value
		}
		if !ok || !sameValue(k, w, g) {
			if bad < 3 {
				t.Errorf("%s: event %d: %s = %q, want %q", peer, i, k, g, w)
			}
			bad++
		}
	}
	var gotData, wantData []string
	for _, k := range got.keys {
		if strings.HasPrefix(k, "Data.") {
			gotData = append(gotData, k)
		}
	}
	for _, k := range want.keys {
		if strings.HasPrefix(k, "Data.") {
			wantData = append(wantData, k)
		}
	}
	if strings.Join(gotData, ",") != strings.Join(wantData, ",") {
		t.Errorf("%s: event %d: EventData names %v, want %v", peer, i, gotData, wantData)
		bad++
	}
	return bad == 0
}

// readOurs reads a log with this project's reader.
func readOurs(t testing.TB, data []byte) []*parser.Event {
	t.Helper()
	r, err := parser.NewReader(bytes.NewReader(data), int64(len(data)), parser.Options{Workers: 1})
	if err != nil {
		t.Fatalf("parser.NewReader: %v", err)
	}
	var out []*parser.Event
	if err := r.Events(context.Background(), func(ev *parser.Event) error { out = append(out, ev); return nil }); err != nil {
		t.Fatalf("parser: %v", err)
	}
	if p := r.Problems(); len(p) > 0 {
		t.Fatalf("parser reports problems on a generated log: %v", p)
	}
	return out
}

// readVelocidex reads a log with Velocidex/evtx.
func readVelocidex(t testing.TB, data []byte) []flat {
	t.Helper()
	chunks, err := evtx.GetChunks(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("velocidex: %v", err)
	}
	var out []flat
	for _, c := range chunks {
		c.Fd = bytes.NewReader(data)
		recs, err := c.Parse(0)
		if err != nil {
			t.Fatalf("velocidex: %v", err)
		}
		for _, r := range recs {
			out = append(out, flatVelocidex(r.Event))
		}
	}
	return out
}

func velGet(d any, path ...string) (any, bool) {
	for _, p := range path {
		od, ok := d.(*ordereddict.Dict)
		if !ok {
			return nil, false
		}
		if d, ok = od.Get(p); !ok {
			return nil, false
		}
	}
	return d, true
}

func velString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

func flatVelocidex(ev any) flat {
	var f flat
	sys, _ := velGet(ev, "Event", "System")
	get := func(path ...string) string {
		v, ok := velGet(sys, path...)
		if !ok {
			return ""
		}
		return velString(v)
	}
	f.set("Provider", get("Provider", "Name"))
	f.set("ProviderGUID", get("Provider", "Guid"))
	if id := get("EventID", "Value"); id != "" {
		f.set("EventID", id)
	} else {
		f.set("EventID", get("EventID"))
	}
	for _, k := range []string{"Version", "Level", "Task", "Opcode", "EventRecordID", "Channel", "Computer"} {
		f.set(k, get(k))
	}
	kw, _ := velGet(sys, "Keywords")
	if u, ok := kw.(uint64); ok {
		f.set("Keywords", fmt.Sprintf("0x%016x", u))
	}
	f.set("TimeCreated", get("TimeCreated", "SystemTime"))
	f.set("ProcessID", get("Execution", "ProcessID"))
	f.set("ThreadID", get("Execution", "ThreadID"))
	f.set("UserID", get("Security", "UserID"))
	if data, ok := velGet(ev, "Event", "EventData"); ok {
		if od, ok := data.(*ordereddict.Dict); ok {
			for _, k := range od.Keys() {
				v, _ := od.Get(k)
				f.set("Data."+k, velString(v))
			}
		}
	}
	return f
}

// xmlEvent is an <Event> as evtxexport and python-evtx print it.
type xmlEvent struct {
	System struct {
		Provider struct {
			Name string `xml:"Name,attr"`
			GUID string `xml:"Guid,attr"`
		}
		EventID     string
		Version     string
		Level       string
		Task        string
		Opcode      string
		Keywords    string
		TimeCreated struct {
			SystemTime string `xml:"SystemTime,attr"`
		}
		EventRecordID string
		Execution     struct {
			ProcessID string `xml:"ProcessID,attr"`
			ThreadID  string `xml:"ThreadID,attr"`
		}
		Channel  string
		Computer string
		Security struct {
			UserID string `xml:"UserID,attr"`
		}
	}
	EventData struct {
		Data []struct {
			Name  string `xml:"Name,attr"`
			Value string `xml:",chardata"`
		}
	}
}

func (x *xmlEvent) flat() flat {
	var f flat
	s := &x.System
	f.set("Provider", s.Provider.Name)
	f.set("ProviderGUID", s.Provider.GUID)
	for _, kv := range [][2]string{{"EventID", s.EventID}, {"Version", s.Version}, {"Level", s.Level}, {"Task", s.Task},
		{"Opcode", s.Opcode}, {"Keywords", s.Keywords}, {"TimeCreated", s.TimeCreated.SystemTime}, {"EventRecordID", s.EventRecordID},
		{"ProcessID", s.Execution.ProcessID}, {"ThreadID", s.Execution.ThreadID}, {"Channel", s.Channel}, {"Computer", s.Computer},
		{"UserID", s.Security.UserID}} {
		f.set(kv[0], strings.TrimSpace(kv[1]))
	}
	for _, d := range x.EventData.Data {
		f.set("Data."+d.Name, d.Value)
	}
	return f
}

// decodeXMLEvents decodes every <Event> element in r.
func decodeXMLEvents(r io.Reader) ([]flat, error) {
	dec := xml.NewDecoder(r)
	dec.Strict = false
	var out []flat
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "Event" {
			var x xmlEvent
			if err := dec.DecodeElement(&x, &se); err != nil {
				return out, err
			}
			out = append(out, x.flat())
		}
	}
}

// pythonScript verifies checksums and prints every record's XML.
const pythonScript = `
import sys
from Evtx.Evtx import Evtx
with Evtx(sys.argv[1]) as log:
    fh = log.get_file_header()
    bad = [i for i, c in enumerate(fh.chunks()) if not c.verify()]
    sys.stderr.write("header_ok=%s bad_chunks=%d\n" % (fh.verify(), len(bad)))
    sys.stdout.write("<Events>\n")
    for rec in log.records():
        sys.stdout.write(rec.xml())
    sys.stdout.write("</Events>\n")
    if not fh.verify() or bad:
        sys.exit(3)
`

// havePython reports whether python-evtx is installed.
func havePython() bool {
	_, err := os.Stat("/usr/bin/evtx_dump.py")
	if err != nil {
		return false
	}
	return exec.Command("/usr/bin/python3", "-c", "import Evtx.Evtx").Run() == nil
}

// TestFourParsersAgree generates every scenario and reads it with this
// project's reader (which must return exactly the events written), with
// Velocidex/evtx, with libyal's evtxexport and with python-evtx (whose
// checksum verification must pass). A peer that is not installed is
// skipped with a message.
func TestFourParsersAgree(t *testing.T) {
	_, errLibyal := exec.LookPath("evtxexport")
	hasPython := havePython()
	if errLibyal != nil {
		t.Log("evtxexport not installed: libyal not compared")
	}
	if !hasPython {
		t.Log("python-evtx not installed: python-evtx not compared")
	}
	for _, sc := range append(Scenarios(), Scenario{Name: "all"}) {
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			var written []flat
			path := filepath.Join(t.TempDir(), sc.Name+".evtx")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			// Small logs: python-evtx needs several milliseconds per record.
			opts := Options{Scenario: sc.Name, Events: 250, Seed: 11}
			if sc.Name == "all" {
				opts.Events = 1200
			}
			truth, err := generate(f, opts, func(ev *parser.Event) { written = append(written, flatOf(ev)) })
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			if truth.Events != len(written) || len(written) != opts.Events {
				t.Fatalf("truth counts %d events, %d written, want %d", truth.Events, len(written), opts.Events)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			check := func(peer string, got []flat) {
				t.Helper()
				if len(got) != len(written) {
					t.Errorf("%s: %d events, want %d", peer, len(got), len(written))
					return
				}
				bad := 0
				for i := range written {
					if !compareFlat(t, peer, i, written[i], got[i]) {
						if bad++; bad > 3 {
							t.Errorf("%s: giving up after %d differing events", peer, bad)
							return
						}
					}
				}
			}
			ours := readOurs(t, data)
			oursFlat := make([]flat, len(ours))
			for i, ev := range ours {
				oursFlat[i] = flatOf(ev)
				// Our reader must give back exactly what was written.
				if got, want := oursFlat[i].vals, written[min(i, len(written)-1)].vals; fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("parser: event %d differs:\n got %v\nwant %v", i, got, want)
					break
				}
			}
			check("parser", oursFlat)
			check("velocidex", readVelocidex(t, data))
			if errLibyal == nil {
				out, err := exec.Command("evtxexport", "-f", "xml", path).Output()
				if err != nil {
					t.Fatalf("evtxexport: %v", err)
				}
				got, err := decodeXMLEvents(bytes.NewReader(out))
				if err != nil {
					t.Fatalf("evtxexport output: %v", err)
				}
				check("evtxexport", got)
			}
			if hasPython {
				var stderr bytes.Buffer
				cmd := exec.Command("/usr/bin/python3", "-c", pythonScript, path)
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("python-evtx: %v (%s)", err, stderr.String())
				}
				got, err := decodeXMLEvents(bytes.NewReader(out))
				if err != nil {
					t.Fatalf("python-evtx output: %v", err)
				}
				check("python-evtx", got)
			}
		})
	}
}
