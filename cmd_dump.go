package main

import (
	"bufio"
	"context"
	"fmt"
	"strconv"

	"github.com/evtriage/evtriage/internal/termsafe"
	"github.com/evtriage/evtriage/parser"
)

// dumpCommand is `evtriage dump`: every event as one JSON object per line,
// or as Windows renders it in XML.
func dumpCommand() command {
	return command{name: "dump", summary: "print every event as JSON lines or XML", run: runDump}
}

// dumpFormat writes the events of dump's files in one output format.
type dumpFormat interface {
	begin(out *bufio.Writer) error
	// file writes the events of one file (path as given).
	file(f *parser.File, path string, out *bufio.Writer) error
	end(out *bufio.Writer) error
}

func runDump(e *env, args []string) int {
	fs := newFlagSet(e, "dump", "dump [--format jsonl|xml] [--carve=false] [--workers N] PATH...")
	format := fs.String("format", "jsonl", "output format: jsonl (one JSON object per event) or xml (one <Events> document, each event as Windows renders it)")
	var rf readFlags
	rf.register(fs, "recover records from slack space and damaged chunks (marked \"recovered\": true, or by an XML comment)")
	if code, stop := parseFlags(e, fs, args); stop {
		return code
	}
	var df dumpFormat
	switch *format {
	case "jsonl":
		df = &jsonlDump{}
	case "xml":
		df = &xmlDump{}
	default:
		return usageError(e, "dump", fmt.Errorf("unknown --format %q (want jsonl or xml)", *format))
	}
	files, code, stop := rf.inputs(e, "dump", fs)
	if stop {
		return code
	}
	out := bufio.NewWriterSize(e.stdout, 1<<16)
	defer out.Flush()
	if err := df.begin(out); err != nil {
		fmt.Fprintf(e.stderr, "evtriage dump: %s\n", termsafe.Clean(err.Error()))
		return exitPartial
	}
	for _, path := range files {
		bad := false
		opts := parser.Options{Workers: rf.workers, Carve: rf.carve, OnProblem: func(p parser.Problem) {
			bad = true
			out.Flush() // keep stdout and stderr roughly in step
			fmt.Fprintf(e.stderr, "evtriage dump: %s: %s\n", termsafe.Clean(path), termsafe.Clean(p.String()))
		}}
		f, err := parser.Open(path, opts)
		if err != nil {
			fmt.Fprintf(e.stderr, "evtriage dump: %s\n", termsafe.Clean(err.Error()))
			code = exitPartial
			continue
		}
		err = df.file(f, path, out)
		f.Close()
		if err != nil {
			// Reading fails only when writing the output does (a closed
			// pipe, a full disk; what is wrong in the file goes to
			// OnProblem): there is no point going on.
			fmt.Fprintf(e.stderr, "evtriage dump: %s: %s\n", termsafe.Clean(path), termsafe.Clean(err.Error()))
			return exitPartial
		}
		if bad {
			code = exitPartial
		}
	}
	err := df.end(out)
	if err == nil {
		err = out.Flush()
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "evtriage dump: %s\n", termsafe.Clean(err.Error()))
		return exitPartial
	}
	return code
}

// jsonlDump writes one JSON object per event and line (appendEventJSON).
type jsonlDump struct{ line []byte }

func (d *jsonlDump) begin(*bufio.Writer) error { return nil }
func (d *jsonlDump) end(*bufio.Writer) error   { return nil }

func (d *jsonlDump) file(f *parser.File, path string, out *bufio.Writer) error {
	return f.Events(context.Background(), func(ev *parser.Event) error {
		d.line = appendEventJSON(d.line[:0], path, ev)
		_, err := out.Write(d.line)
		return err
	})
}

// dumpTimeLayout is RFC 3339 in UTC with the format's 100 ns precision.
const dumpTimeLayout = "2006-01-02T15:04:05.0000000Z"

// appendEventJSON appends one event as a JSON object and a newline. Keys:
// file, record_id, event_id, channel, provider, computer, time, fields (in
// document order, under the names the reader gives them: an unnamed <Data>
// is Data, a repeated name gets "#2", "#3"…), and recovered when set.
func appendEventJSON(b []byte, file string, ev *parser.Event) []byte {
	b = append(b, `{"file":`...)
	b = termsafe.AppendJSONString(b, file)
	b = append(b, `,"record_id":`...)
	b = strconv.AppendUint(b, ev.RecordID, 10)
	b = append(b, `,"event_id":`...)
	b = strconv.AppendUint(b, uint64(ev.EventID), 10)
	b = append(b, `,"channel":`...)
	b = termsafe.AppendJSONString(b, ev.Channel)
	b = append(b, `,"provider":`...)
	b = termsafe.AppendJSONString(b, ev.Provider)
	b = append(b, `,"computer":`...)
	b = termsafe.AppendJSONString(b, ev.Computer)
	b = append(b, `,"time":"`...)
	b = ev.Time.UTC().AppendFormat(b, dumpTimeLayout)
	b = append(b, `","fields":{`...)
	for i, f := range ev.Fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = termsafe.AppendJSONString(b, f.Name) // distinct: the reader names fields (parser.Namer)
		b = append(b, ':')
		b = termsafe.AppendJSONString(b, f.Value)
	}
	b = append(b, '}')
	if ev.Recovered {
		b = append(b, `,"recovered":true`...)
	}
	return append(b, "}\n"...)
}
