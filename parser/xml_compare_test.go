package parser

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The XML rendering is compared with libyal's evtxexport (-f xml) and
// python-evtx (the rendering evtx_dump.py prints) on the project's samples
// and the real logs in ../shared/evtx. Both tools differ from Windows in
// known ways, which are normalised here and only here:
//   - whitespace between elements (indentation) is ignored;
//   - hexadecimal numbers are compared by value (both tools pad HexInt
//     values to 8 or 16 digits; Windows does not);
//   - python-evtx keeps the attributes and elements of optional
//     substitutions without a value (Qualifiers="", <ActivityID/>), which
//     Windows and evtxexport drop: empty attributes and empty elements
//     without attributes are ignored on both sides;
//   - python-evtx prints GUID values in lower case, booleans as True and
//     False, and times as "2006-01-02 15:04:05.999999" converted through a
//     float: GUIDs and booleans are compared without case, times within
//     10 µs.
// Both tools refuse the template-less records of EVTX 3.2 files; those
// files are compared with whichever tool reads them (TestCompareReferences
// checks their values against Velocidex/evtx).

// xnode is one parsed XML element, reduced to what is compared.
type xnode struct {
	name  string
	attrs []xml.Attr
	text  string
	kids  []*xnode
}

// parseXMLEvents parses the <Event> elements in data (a whole document or
// a sequence of events), with the normalisation described above. Comments
// "record N" (our own marker for python-evtx's output) set the record
// number of the next event; otherwise events are numbered from 1.
func parseXMLEvents(data []byte) ([]*xnode, []uint64, error) {
	// Keep carriage returns: a parser would fold CR LF into LF, but the
	// tools print the value's bytes as they are.
	data = bytes.ReplaceAll(data, []byte("\r"), []byte("&#13;"))
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = false
	var events []*xnode
	var nums []uint64
	var stack []*xnode
	var next uint64
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return events, nums, nil
		}
		if err != nil {
			return events, nums, err
		}
		switch x := tok.(type) {
		case xml.Comment:
			if s, ok := strings.CutPrefix(strings.TrimSpace(string(x)), "record "); ok {
				next, _ = strconv.ParseUint(s, 10, 64)
			}
		case xml.StartElement:
			n := &xnode{name: x.Name.Local}
			for _, a := range x.Attr {
				if a.Value == "" {
					continue
				}
				a.Name.Space = ""
				a.Value = normValue(a.Value)
				n.attrs = append(n.attrs, a)
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			} else if n.name == "Event" {
				events = append(events, n)
				if next == 0 {
					next = uint64(len(events))
				}
				nums = append(nums, next)
				next = 0
			}
			if len(stack) > 0 || n.name == "Event" {
				stack = append(stack, n)
			}
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(x)
			}
		case xml.EndElement:
			if len(stack) == 0 {
				continue
			}
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if strings.TrimSpace(n.text) == "" && len(n.kids) > 0 {
				n.text = ""
			}
			n.text = normValue(n.text)
			if len(stack) > 0 && n.text == "" && len(n.kids) == 0 && len(n.attrs) == 0 {
				p := stack[len(stack)-1]
				p.kids = p.kids[:len(p.kids)-1] // an empty element: python-evtx's NULL
			}
		}
	}
}

var (
	reHex  = regexp.MustCompile(`^0x[0-9a-fA-F]+$`)
	reGUID = regexp.MustCompile(`^\{[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}$`)
	reTime = regexp.MustCompile(`^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?Z?$`)
)

// normValue applies the value normalisations.
func normValue(v string) string {
	switch {
	case reHex.MatchString(v):
		if n, err := strconv.ParseUint(v[2:], 16, 64); err == nil {
			return "0x" + strconv.FormatUint(n, 16)
		}
	case reGUID.MatchString(v):
		return strings.ToLower(v)
	case reTime.MatchString(v):
		s := strings.Replace(strings.TrimSuffix(v, "Z"), " ", "T", 1)
		if t, err := time.Parse("2006-01-02T15:04:05.999999999", s); err == nil {
			return t.Format(normTime)
		}
	case v == "True", v == "False":
		return strings.ToLower(v)
	}
	return v
}

const normTime = "2006-01-02T15:04:05.000000000"

// sameValue compares normalised values; times agree within 10 µs
// (python-evtx converts FILETIMEs through a float: up to 3 µs off in these
// logs).
func sameValue(a, b string) bool {
	if a == b {
		return true
	}
	ta, errA := time.Parse(normTime, a)
	tb, errB := time.Parse(normTime, b)
	if errA != nil || errB != nil {
		return false
	}
	d := ta.Sub(tb)
	return d <= 10*time.Microsecond && d >= -10*time.Microsecond
}

// same compares two normalised elements.
func (n *xnode) same(m *xnode) bool {
	if n.name != m.name || !sameValue(n.text, m.text) || len(n.attrs) != len(m.attrs) || len(n.kids) != len(m.kids) {
		return false
	}
	for i, a := range n.attrs {
		if a.Name.Local != m.attrs[i].Name.Local || !sameValue(a.Value, m.attrs[i].Value) {
			return false
		}
	}
	for i, k := range n.kids {
		if !k.same(m.kids[i]) {
			return false
		}
	}
	return true
}

// String renders a node canonically (for comparing and for messages).
func (n *xnode) String() string {
	var b strings.Builder
	n.write(&b, 0)
	return b.String()
}

func (n *xnode) write(b *strings.Builder, depth int) {
	b.WriteString(strings.Repeat("  ", depth))
	b.WriteString(n.name)
	for _, a := range n.attrs {
		fmt.Fprintf(b, " %s=%q", a.Name.Local, a.Value)
	}
	if n.text != "" {
		fmt.Fprintf(b, " text=%q", n.text)
	}
	b.WriteByte('\n')
	for _, k := range n.kids {
		k.write(b, depth+1)
	}
}

// ourXML renders every record of a file with EventsXML, by record number.
func ourXML(t *testing.T, path string) (map[uint64][]byte, []uint64) {
	t.Helper()
	f, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	byNum := make(map[uint64][]byte)
	var order []uint64
	err = f.EventsXML(context.Background(), func(ev *Event, x []byte) error {
		if x == nil {
			return fmt.Errorf("record %d: no XML", ev.RecordNum)
		}
		byNum[ev.RecordNum] = bytes.Clone(x)
		order = append(order, ev.RecordNum)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if p := f.Problems(); len(p) > 0 {
		t.Fatalf("problems: %v", p)
	}
	return byNum, order
}

// xmlFiles lists the logs the XML is compared on: the project's samples
// and ../shared/evtx when present.
func xmlFiles(t *testing.T) []string {
	files, _ := filepath.Glob(filepath.Join("..", "samples", "logs", "*.evtx"))
	files = append(files, filepath.Join("..", "samples", "demo.evtx"))
	if s := sharedDir(t); s != "" {
		shared, _ := filepath.Glob(filepath.Join(s, "evtx", "*.evtx"))
		files = append(files, shared...)
	}
	var have []string
	for _, f := range files {
		if _, err := os.Stat(f); err == nil {
			have = append(have, f)
		}
	}
	return have
}

// pythonEvtx returns a Python interpreter that has python-evtx, or "".
func pythonEvtx() string {
	for _, p := range []string{"/usr/bin/python3.11", "/usr/bin/python3", "python3.11", "python3"} {
		if exec.Command(p, "-c", "import Evtx.Evtx").Run() == nil {
			return p
		}
	}
	return ""
}

// pySample renders records with python-evtx as evtx_dump.py does
// (Record.xml()), each after a "record N" comment. python-evtx is slow
// (about 10 ms a record), so only each file's first chunk is rendered
// (evtxexport covers the rest): a chunk's records must be rendered in
// order, as python-evtx learns templates while rendering.
const pySample = `
import sys
import Evtx.Evtx as evtx
with evtx.Evtx(sys.argv[1]) as log:
    for chunk in log.chunks():
        for rec in chunk.records():
            print("<!-- record %d -->" % rec.record_num())
            print(rec.xml())
        break
`

func TestXMLMatchesReferences(t *testing.T) {
	files := xmlFiles(t)
	_, errExport := exec.LookPath("evtxexport")
	py := pythonEvtx()
	if errExport != nil && py == "" {
		t.Skip("neither evtxexport nor python-evtx is installed")
	}
	var mu sync.Mutex
	total := map[string]int{}
	t.Cleanup(func() { t.Logf("records compared: %v", total) })
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel() // the tools run as processes: use every core
			ours, order := ourXML(t, path)
			compare := func(tool string, out []byte, inOrder bool) {
				evs, nums, err := parseXMLEvents(out)
				if err != nil {
					t.Errorf("%s output: %v", tool, err)
				}
				if inOrder && len(evs) != len(order) {
					t.Errorf("%s: %d events, ours %d", tool, len(evs), len(order))
				}
				bad := 0
				for i, ref := range evs {
					num := nums[i]
					if inOrder && i < len(order) {
						num = order[i]
					}
					x, ok := ours[num]
					if !ok {
						t.Errorf("%s: record %d not rendered by us", tool, num)
						continue
					}
					got, _, err := parseXMLEvents(x)
					if err != nil || len(got) != 1 {
						t.Fatalf("record %d: our XML does not parse (%v):\n%s", num, err, x)
					}
					if !got[0].same(ref) {
						if bad++; bad <= 3 {
							t.Errorf("record %d differs from %s:\n--- ours\n%s--- %s\n%s--- our XML\n%s", num, tool, got[0], tool, ref, x)
						}
					}
					mu.Lock()
					total[tool]++
					mu.Unlock()
				}
			}
			if errExport == nil {
				out, err := exec.Command("evtxexport", "-f", "xml", path).Output()
				if err != nil {
					t.Logf("evtxexport cannot read this file (%v)", err)
				} else {
					compare("evtxexport", out, true)
				}
			}
			if py != "" {
				out, err := exec.Command(py, "-c", pySample, path).Output()
				if err != nil {
					t.Logf("python-evtx cannot read this file (%v)", err)
				} else {
					compare("python-evtx", out, false)
				}
			}
		})
	}
}
