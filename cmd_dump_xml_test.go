package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/evtriage/evtriage/internal/golden"
)

// xmlEvents checks that doc is one well-formed XML document (encoding/xml,
// strict) and returns the comments and the EventRecordIDs of its events.
func xmlEvents(t *testing.T, doc string) (comments, ids []string) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(doc))
	var path []string
	var text bytes.Buffer
	roots := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, doc)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			if len(path) == 0 {
				roots++
			}
			path = append(path, x.Name.Local)
			text.Reset()
		case xml.CharData:
			text.Write(x)
		case xml.EndElement:
			if strings.Join(path, "/") == "Events/Event/System/EventRecordID" {
				ids = append(ids, text.String())
			}
			path = path[:len(path)-1]
		case xml.Comment:
			comments = append(comments, strings.TrimSpace(string(x)))
		}
	}
	if roots != 1 {
		t.Fatalf("%d root elements, want 1", roots)
	}
	return comments, ids
}

func TestDumpXML(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, "good.evtx", sampleEvents())
	// A log whose first chunk lost its magic: its records come back carved.
	damaged := writeLog(t, dir, "damaged.evtx", sampleEvents()[:2])
	data, err := os.ReadFile(damaged)
	if err != nil {
		t.Fatal(err)
	}
	copy(data[0x1000:], "XXXXXXXX")
	if err := os.WriteFile(damaged, data, 0o644); err != nil {
		t.Fatal(err)
	}
	odd := "odd--name\x1b[31m.evtx"
	writeLog(t, dir, odd, sampleEvents()[:1])

	tests := []struct {
		name     string
		args     []string
		code     int
		golden   string
		comments []string
		ids      []string
		stderr   string
	}{
		{name: "file", args: []string{"dump", "--format", "xml", "good.evtx"}, code: exitOK, golden: "dump_good.xml",
			comments: []string{"file: good.evtx"}, ids: []string{"16792", "16793", "13678", "16794"}},
		{name: "two files", args: []string{"dump", "--format", "xml", "--workers", "2", "good.evtx", odd}, code: exitOK,
			comments: []string{"file: good.evtx", `file: odd- -name\x1b[31m.evtx`}, ids: []string{"16792", "16793", "13678", "16794", "16792"}},
		{name: "carved", args: []string{"dump", "--format", "xml", "damaged.evtx"}, code: exitPartial,
			comments: []string{"file: damaged.evtx", "recovered record 1 at offset 0x1200", "recovered record 2 at offset 0x1a28"},
			ids:      []string{"16792", "16793"}, stderr: "chunk header magic missing; carving records"},
		{name: "no carving", args: []string{"dump", "--format", "xml", "--carve=false", "damaged.evtx"}, code: exitPartial,
			comments: []string{"file: damaged.evtx"}, stderr: "chunk header magic missing; chunk skipped"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runIn(t, dir, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d, want %d; stderr (want %q):\n%s", code, tc.code, tc.stderr, stderr)
			}
			if tc.golden != "" {
				golden.Assert(t, tc.golden, []byte(stdout))
			}
			if strings.ContainsAny(stdout, "\x1b\x07\r") {
				t.Errorf("control character reached the output: %q", stdout)
			}
			comments, ids := xmlEvents(t, stdout)
			if strings.Join(comments, "|") != strings.Join(tc.comments, "|") {
				t.Errorf("comments %q, want %q", comments, tc.comments)
			}
			if strings.Join(ids, ",") != strings.Join(tc.ids, ",") {
				t.Errorf("EventRecordIDs %q, want %q", ids, tc.ids)
			}
		})
	}
}

// failWriter fails every write (a closed pipe).
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

// TestDumpXMLWriteError stops at the first failed write and says so.
func TestDumpXMLWriteError(t *testing.T) {
	dir := t.TempDir()
	path := writeLog(t, dir, "good.evtx", sampleEvents())
	var errb bytes.Buffer
	if code := run([]string{"dump", "--format", "xml", path}, strings.NewReader(""), failWriter{}, &errb); code != exitPartial {
		t.Errorf("exit %d, want %d", code, exitPartial)
	}
	if !strings.Contains(errb.String(), "broken pipe") {
		t.Errorf("stderr %q lacks the write error", errb.String())
	}
}
