package parser

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/evtriage/evtriage/internal/golden"
	"github.com/evtriage/evtriage/internal/termsafe"
)

// checkXMLEvents checks what XML the parser renders must be: one
// well-formed document when wrapped in a root (encoding/xml in strict
// mode), no attribute repeated in a start tag, and nothing a terminal could
// act on (only printable text, line feeds and tabs).
func checkXMLEvents(doc []byte) error {
	for i := 0; i < len(doc); {
		r, size := utf8.DecodeRune(doc[i:])
		if r == utf8.RuneError && size == 1 {
			return errors.New("invalid UTF-8 at " + strconv.Itoa(i))
		}
		if r != '\n' && r != '\t' && termsafe.Unsafe(r) {
			return errors.New("terminal-unsafe character " + strconv.QuoteRune(r) + " at " + strconv.Itoa(i))
		}
		i += size
	}
	dec := xml.NewDecoder(bytes.NewReader(append(append([]byte("<Events>"), doc...), "</Events>"...)))
	dec.Strict = true
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if se, ok := tok.(xml.StartElement); ok {
			seen := map[string]bool{}
			for _, a := range se.Attr {
				k := a.Name.Space + ":" + a.Name.Local
				if seen[k] {
					return errors.New("attribute " + k + " repeated in <" + se.Name.Local + ">")
				}
				seen[k] = true
			}
		}
	}
}

// hostileBody writes a template-less record whose names and text hold
// what must be escaped: markup characters, terminal controls, bidi
// overrides, characters XML cannot carry, names that are not XML names,
// and a repeated attribute.
func hostileBody(x *bx) {
	x.fragment()
	x.open("Event", false, false)
	x.closeStart()
	x.open("System", false, false)
	x.closeStart()
	x.open("Provider", true, false)
	x.attr("Name", false)
	x.text("Evil\"<&>\u202e")
	x.attr("Name", true) // repeated
	x.text("tab\there\nnewline\rcr")
	x.closeEmpty()
	x.leaf("EventID", "1", false)
	x.endElement()
	x.open("EventData", false, false)
	x.closeStart()
	x.open("Data", true, false)
	x.attr("Name", true)
	x.text("Controls")
	x.closeStart()
	x.text("esc\x1b[31mred\x07 nul\x00 del\x7f c1\u0085 \ufffe \u200b line1\r\nline2\tcol")
	x.endElement()
	x.leaf("Bad Name", "space in name", false)
	x.leaf("1st", "digit first", false)
	x.leaf("_x0041_", "looks encoded", false)
	x.leaf("a\u202eb", "bidi in name", false)
	x.leaf("", "empty name", false)
	x.leaf("Ünïcødé", "non-ASCII name", false)
	x.endElement()
	x.endElement()
	x.eof()
}

// xmlGoldenFiles are the records of the XML golden file: a Sysmon-like
// template record (nested EventData), a template-less one with entity and
// character references, CDATA and UserData, optional substitutions
// without a value, every value type (arrays repeat their element), hostile
// text and names, and the first record of a generated sample log.
func xmlGoldenFiles(t *testing.T) []struct {
	name string
	data []byte
} {
	sample, err := os.ReadFile(filepath.Join("..", "samples", "logs", "squiblydoo.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	return []struct {
		name string
		data []byte
	}{
		{"template", mkFile(mkChunk([]rec{{num: 1, body: sysmonBody(16792, 1, sampleFields)}}, chunkOpts{}))},
		{"template-less", mkFile(mkChunk([]rec{{num: 7, body: plainBody}}, chunkOpts{}))},
		{"optional", optionalFile()},
		{"values", valuesFile()},
		{"hostile", mkFile(mkChunk([]rec{{num: 9, body: hostileBody}}, chunkOpts{}))},
		{"sample", firstChunkOnly(sample)},
	}
}

func TestXMLGolden(t *testing.T) {
	var out bytes.Buffer
	for _, f := range xmlGoldenFiles(t) {
		r, err := NewReader(bytes.NewReader(f.data), int64(len(f.data)), Options{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		err = r.EventsXML(context.Background(), func(ev *Event, x []byte) error {
			if n++; n > 1 {
				return ErrStop
			}
			if err := checkXMLEvents(x); err != nil {
				t.Errorf("%s: %v\n%s", f.name, err, x)
			}
			out.WriteString("<!-- " + f.name + " -->\n")
			out.Write(x)
			out.WriteByte('\n')
			return nil
		})
		if err != nil || n == 0 {
			t.Fatalf("%s: %d events, %v, problems %v", f.name, n, err, r.Problems())
		}
	}
	golden.Assert(t, "records.xml", out.Bytes())
}

func TestXMLText(t *testing.T) {
	tests := []struct {
		in         string
		text, attr string
	}{
		{"plain C:\\x.exe", "plain C:\\x.exe", "plain C:\\x.exe"},
		{`<a href="x">&amp;</a>`, `&lt;a href="x"&gt;&amp;amp;&lt;/a&gt;`, `&lt;a href=&quot;x&quot;&gt;&amp;amp;&lt;/a&gt;`},
		{"l1\nl2\tc", "l1\nl2\tc", "l1&#xA;l2&#x9;c"},
		{"cr\r\n", "cr&#xD;\n", "cr&#xD;&#xA;"},
		{"\x1b]0;t\x07", `\x1b]0;t\x07`, `\x1b]0;t\x07`},
		{"nul\x00", `nul\x00`, `nul\x00`},
		{"del\x7f c1\u0085\u009b", "del&#x7F; c1&#x85;&#x9B;", "del&#x7F; c1&#x85;&#x9B;"},
		{"\u202eevil\u202c \u2066x\u2069", "&#x202E;evil&#x202C; &#x2066;x&#x2069;", "&#x202E;evil&#x202C; &#x2066;x&#x2069;"},
		{"zw\u200b\ufeff ls\u2028", "zw&#x200B;&#xFEFF; ls&#x2028;", "zw&#x200B;&#xFEFF; ls&#x2028;"},
		{"pua\ue000 \U000f0000", "pua&#xE000; &#xF0000;", "pua&#xE000; &#xF0000;"},
		{"nonchar\ufffe\uffff", `nonchar\ufffe\uffff`, `nonchar\ufffe\uffff`},
		{"bad\xff\xc3", `bad\xff\xc3`, `bad\xff\xc3`},
		{"ok é ☃ 😀 漢字 \u00a0", "ok é ☃ 😀 漢字 \u00a0", "ok é ☃ 😀 漢字 \u00a0"},
	}
	for _, tt := range tests {
		if got := string(appendXMLText(nil, tt.in, false)); got != tt.text {
			t.Errorf("text %q: %q, want %q", tt.in, got, tt.text)
		}
		if got := string(appendXMLText(nil, []byte(tt.in), true)); got != tt.attr {
			t.Errorf("attribute %q: %q, want %q", tt.in, got, tt.attr)
		}
	}
}

func TestXMLName(t *testing.T) {
	tests := []struct {
		in   string
		attr bool
		want string
	}{
		{"Data", false, "Data"},
		{"auto-ns2:Event", false, "auto-ns2_x003A_Event"},
		{"xmlns:auto-ns2", true, "xmlns:auto-ns2"},
		{"xmlns:auto-ns2", false, "xmlns_x003A_auto-ns2"},
		{"xmlns:a:b", true, "xmlns_x003A_a_x003A_b"},
		{"xmlns:", true, "xmlns_x003A_"},
		{"Ünïcødé", false, "_x00DC_n_x00EF_c_x00F8_d_x00E9_"},
		{"", false, "_"},
		{"Bad Name", false, "Bad_x0020_Name"},
		{"1st", false, "_x0031_st"},
		{"-x", false, "_x002D_x"},
		{"a<b>", false, "a_x003C_b_x003E_"},
		{"_x0041_", false, "_x005F_x0041_"},
		{"_x41_", false, "_x41_"},
		{"a\u202eb", false, "a_x202E_b"},
		{"z\u200bw", false, "z_x200B_w"},
		{"bad\xff", false, "bad_x00FF_"},
		{"emoji😀", false, "emoji_x0001F600_"},
		{"pua\U000f0000", false, "pua_x000F0000_"},
	}
	for _, tt := range tests {
		if got := string(appendXMLName(nil, tt.in, tt.attr)); got != tt.want {
			t.Errorf("%q: %q, want %q", tt.in, got, tt.want)
		}
	}
}

// xmlTestFiles are the logs XML is checked on: the project's samples, the
// real logs under ../shared and the hand-built records of the golden file.
func xmlTestFiles(t *testing.T) map[string][]byte {
	files := make(map[string][]byte)
	paths, _ := filepath.Glob(filepath.Join("..", "samples", "logs", "*.evtx"))
	paths = append(paths, filepath.Join("..", "samples", "demo.evtx"))
	if s := sharedDir(t); s != "" {
		found, _ := FindFiles([]string{filepath.Join(s, "evtx"), filepath.Join(s, "sigma", "regression_data")})
		paths = append(paths, found...)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[p] = data
	}
	for _, f := range xmlGoldenFiles(t) {
		files[f.name] = f.data
	}
	return files
}

// TestXMLFlattensToEvent checks that the XML and the Event say the same:
// the XML flattened with the rules Fields follow gives the Event's Fields,
// and its System the Event's System values. So the one value renderer
// serves both, and nothing is lost or added by either.
func TestXMLFlattensToEvent(t *testing.T) {
	n := 0
	for name, data := range xmlTestFiles(t) {
		r, err := NewReader(bytes.NewReader(data), int64(len(data)), Options{Carve: true})
		if err != nil {
			t.Fatal(err)
		}
		err = r.EventsXML(context.Background(), func(ev *Event, x []byte) error {
			n++
			if err := checkXMLEvents(x); err != nil {
				t.Fatalf("%s record %d: %v\n%s", name, ev.RecordNum, err, x)
			}
			xevs, err := flattenXML(x)
			if err != nil || len(xevs) != 1 {
				t.Fatalf("%s record %d: %d events, %v", name, ev.RecordNum, len(xevs), err)
			}
			xe := xevs[0]
			if name != "hostile" && !equalFields(ev.Fields, xe.fields) {
				t.Errorf("%s record %d: fields\n event %q\n xml   %q", name, ev.RecordNum, ev.Fields, xe.fields)
			}
			for _, c := range []struct {
				key  string
				want string
			}{
				{"EventID", strconv.Itoa(int(ev.EventID))},
				{"EventRecordID", strconv.FormatUint(ev.RecordID, 10)},
				{"Channel", ev.Channel},
				{"Computer", ev.Computer},
				{"Provider_Name", ev.Provider},
				{"Execution_ProcessID", strconv.FormatUint(uint64(ev.ProcessID), 10)},
				{"Security_UserID", ev.UserID},
				{"TimeCreated_SystemTime", ev.Time.Format(timeLayout)},
			} {
				got, ok := xe.system[c.key]
				if !ok || name == "hostile" {
					continue
				}
				if c.key == "TimeCreated_SystemTime" {
					if tm, err := time.Parse(time.RFC3339Nano, got); err == nil {
						got = tm.Format(timeLayout)
					}
				}
				if c.key == "Provider_Name" && strings.ContainsRune(got, '&') {
					continue
				}
				if got != c.want {
					t.Errorf("%s record %d: System %s %q in XML, %q in the event", name, ev.RecordNum, c.key, got, c.want)
				}
			}
			if kw, ok := xe.system["Keywords"]; ok && parseNum([]byte(kw)) != ev.Keywords {
				t.Errorf("%s record %d: Keywords %s, event 0x%x", name, ev.RecordNum, kw, ev.Keywords)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d records", n)
}

// TestXMLAtMatchesEventsXML reads every event back by its offset: XMLAt
// gives what EventsXML gave and EventAt the same Event, recovered records
// included.
func TestXMLAtMatchesEventsXML(t *testing.T) {
	files := xmlTestFiles(t)
	// A damaged chunk: its records are carved (recovered).
	sample := writerSample(t, 600)
	damaged := bytes.Clone(sample)
	copy(damaged[fileHeaderSize+chunkSize:], "XXXXXXXX")
	files["damaged"] = damaged
	ctx := context.Background()
	recovered := 0
	for name, data := range files {
		for _, carve := range []bool{true, false} {
			r, err := NewReader(bytes.NewReader(data), int64(len(data)), Options{Carve: carve})
			if err != nil {
				t.Fatal(err)
			}
			err = r.EventsXML(ctx, func(ev *Event, x []byte) error {
				got, err := r.XMLAt(ctx, ev.Offset)
				if err != nil || !bytes.Equal(got, x) {
					t.Fatalf("%s (carve %v) 0x%x: XMLAt %v\n%s\nEventsXML\n%s", name, carve, ev.Offset, err, got, x)
				}
				e, err := r.EventAt(ctx, ev.Offset)
				if err != nil || !sameEvent(e, ev) {
					t.Fatalf("%s (carve %v) 0x%x: EventAt %+v, %v; want %+v", name, carve, ev.Offset, e, err, ev)
				}
				if ev.Recovered {
					recovered++
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if recovered == 0 {
		t.Error("no recovered record was read back")
	}
}

func sameEvent(a, b *Event) bool {
	return reflect.DeepEqual(a, b)
}

// FuzzXML renders hostile input as XML, through EventsXML and XMLAt: no
// panic, and the XML of every event is well-formed, terminal-safe and the
// same both ways.
func FuzzXML(f *testing.F) {
	f.Add(recordArea(mkFile(mkChunk([]rec{{num: 1, body: hostileBody}, {num: 2, body: plainBody}}, chunkOpts{}))))
	f.Add(recordArea(optionalFile()))
	f.Add(recordArea(valuesFile()))
	f.Add(recordArea(mkFile(mkChunk([]rec{{num: 1, body: sysmonBody(1, 1, sampleFields)}}, chunkOpts{}))))
	f.Add(firstChunkOnly(writerSample(f, 2)))
	f.Fuzz(func(t *testing.T, data []byte) {
		file := data
		if !bytes.HasPrefix(data, fileMagic) {
			file = wrapRecords(data)
		}
		ctx := context.Background()
		r, err := NewReader(bytes.NewReader(file), int64(len(file)), Options{Workers: 1, Carve: true})
		if err != nil {
			return
		}
		err = r.EventsXML(ctx, func(ev *Event, x []byte) error {
			if x == nil {
				return nil
			}
			if err := checkXMLEvents(x); err != nil {
				t.Fatalf("record at 0x%x: %v\n%q", ev.Offset, err, x)
			}
			got, err := r.XMLAt(ctx, ev.Offset)
			if err != nil || !bytes.Equal(got, x) {
				t.Fatalf("record at 0x%x: XMLAt %v\n%q\nEventsXML\n%q", ev.Offset, err, got, x)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
