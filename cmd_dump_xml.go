package main

import (
	"bufio"
	"context"
	"strconv"
	"strings"

	"github.com/evtriage/evtriage/internal/termsafe"
	"github.com/evtriage/evtriage/parser"
)

// xmlDump writes one well-formed XML document: an <Events> root holding
// every event as Windows renders it (parser.Reader.EventsXML: indented,
// evidence text escaped), a comment naming each file before its events,
// and a comment before each recovered record. Comments are ignored by
// tools that read the events, as they are in python-evtx's output, which
// uses the same root.
type xmlDump struct{ buf []byte }

const xmlDumpHeader = `<?xml version="1.0" encoding="UTF-8"?>` + "\n<Events>\n"

func (d *xmlDump) begin(out *bufio.Writer) error {
	_, err := out.WriteString(xmlDumpHeader)
	return err
}

func (d *xmlDump) end(out *bufio.Writer) error {
	_, err := out.WriteString("</Events>\n")
	return err
}

func (d *xmlDump) file(f *parser.File, path string, out *bufio.Writer) error {
	d.buf = appendXMLComment(d.buf[:0], "file: "+path)
	if _, err := out.Write(d.buf); err != nil {
		return err
	}
	return f.EventsXML(context.Background(), func(ev *parser.Event, xml []byte) error {
		if xml == nil {
			return nil // reported as a problem on stderr
		}
		b := d.buf[:0]
		if ev.Recovered {
			b = appendXMLComment(b, "recovered record "+strconv.FormatUint(ev.RecordNum, 10)+
				" at offset 0x"+strconv.FormatInt(ev.Offset, 16))
		}
		b = append(b, xml...)
		b = append(b, '\n')
		d.buf = b
		_, err := out.Write(b)
		return err
	})
}

// appendXMLComment appends text as an XML comment line, made safe for a
// terminal and for a comment (which may not hold "--" or end in "-").
func appendXMLComment(b []byte, text string) []byte {
	text = termsafe.Clean(text)
	for strings.Contains(text, "--") {
		text = strings.ReplaceAll(text, "--", "- -")
	}
	b = append(b, "<!-- "...)
	b = append(b, text...)
	return append(b, " -->\n"...)
}
