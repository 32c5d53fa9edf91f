package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/evtriage/evtriage/parser"
)

// dumpCommand is `evtriage dump`: every event as one JSON object per line.
func dumpCommand() command {
	return command{name: "dump", summary: "print every event as JSON lines", run: runDump}
}

func runDump(e *env, args []string) int {
	fs := newFlagSet(e, "dump", "dump [--format jsonl] [--carve=false] [--workers N] PATH...")
	format := fs.String("format", "jsonl", "output format: jsonl (one JSON object per event)")
	var rf readFlags
	rf.register(fs, "recover records from slack space and damaged chunks (marked \"recovered\": true)")
	if code, stop := parseFlags(e, fs, args); stop {
		return code
	}
	if *format != "jsonl" {
		return usageError(e, "dump", fmt.Errorf("unknown --format %q (want jsonl)", *format))
	}
	files, code, stop := rf.inputs(e, "dump", fs)
	if stop {
		return code
	}
	out := bufio.NewWriterSize(e.stdout, 1<<16)
	defer out.Flush()
	var line []byte
	for _, path := range files {
		bad := false
		opts := parser.Options{Workers: rf.workers, Carve: rf.carve, OnProblem: func(p parser.Problem) {
			bad = true
			out.Flush() // keep stdout and stderr roughly in step
			fmt.Fprintf(e.stderr, "evtriage dump: %s: %s\n", cleanLine(path), cleanLine(p.String()))
		}}
		f, err := parser.Open(path, opts)
		if err != nil {
			fmt.Fprintf(e.stderr, "evtriage dump: %s\n", cleanLine(err.Error()))
			code = exitPartial
			continue
		}
		err = f.Events(context.Background(), func(ev *parser.Event) error {
			line = appendEventJSON(line[:0], path, ev)
			_, err := out.Write(line)
			return err
		})
		f.Close()
		if err != nil {
			fmt.Fprintf(e.stderr, "evtriage dump: %s: %s\n", cleanLine(path), cleanLine(err.Error()))
			code = exitPartial
			if isWriteError(err) {
				return code
			}
		}
		if bad {
			code = exitPartial
		}
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintf(e.stderr, "evtriage dump: %s\n", cleanLine(err.Error()))
		return exitPartial
	}
	return code
}

// isWriteError reports whether err came from writing the output (a closed
// pipe, a full disk): there is no point going on.
func isWriteError(err error) bool {
	var pe *parser.FormatError
	return !errors.As(err, &pe) && !errors.Is(err, context.Canceled)
}

// dumpTimeLayout is RFC 3339 in UTC with the format's 100 ns precision.
const dumpTimeLayout = "2006-01-02T15:04:05.0000000Z"

// appendEventJSON appends one event as a JSON object and a newline. Keys:
// file, record_id, event_id, channel, provider, computer, time, fields (in
// document order; a repeated name gets "#2", "#3"…), and recovered when set.
func appendEventJSON(b []byte, file string, ev *parser.Event) []byte {
	b = append(b, `{"file":`...)
	b = appendJSONString(b, file)
	b = append(b, `,"record_id":`...)
	b = strconv.AppendUint(b, ev.RecordID, 10)
	b = append(b, `,"event_id":`...)
	b = strconv.AppendUint(b, uint64(ev.EventID), 10)
	b = append(b, `,"channel":`...)
	b = appendJSONString(b, ev.Channel)
	b = append(b, `,"provider":`...)
	b = appendJSONString(b, ev.Provider)
	b = append(b, `,"computer":`...)
	b = appendJSONString(b, ev.Computer)
	b = append(b, `,"time":"`...)
	b = ev.Time.UTC().AppendFormat(b, dumpTimeLayout)
	b = append(b, `","fields":{`...)
	for i, f := range ev.Fields {
		if i > 0 {
			b = append(b, ',')
		}
		name := f.Name
		if n := countName(ev.Fields[:i], name); n > 0 {
			name += "#" + strconv.Itoa(n+1)
		}
		b = appendJSONString(b, name)
		b = append(b, ':')
		b = appendJSONString(b, f.Value)
	}
	b = append(b, '}')
	if ev.Recovered {
		b = append(b, `,"recovered":true`...)
	}
	return append(b, "}\n"...)
}

func countName(fields []parser.Field, name string) int {
	n := 0
	for _, f := range fields {
		if f.Name == name {
			n++
		}
	}
	return n
}

// appendJSONString appends s as a JSON string. Every control character
// (C0, DEL, C1), U+2028/U+2029 and invalid UTF-8 is escaped, so evidence
// text cannot drive a terminal that shows the output.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < 0x7f {
			b = append(b, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r >= 0x80 && r <= 0x9f, r == 0x2028, r == 0x2029:
			b = append(b, '\\', 'u', hex[r>>12&15], hex[r>>8&15], hex[r>>4&15], hex[r&15])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// cleanLine makes a message safe for one line of a terminal: control
// characters (C0, DEL, C1, line separators) and invalid UTF-8 bytes are
// shown as \xNN or \uNNNN.
func cleanLine(s string) string {
	const hex = "0123456789abcdef"
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, '\\', 'x', hex[s[i]>>4], hex[s[i]&15])
		case r < 0x20, r == 0x7f:
			b = append(b, '\\', 'x', hex[r>>4], hex[r&15])
		case r >= 0x80 && r <= 0x9f, r == 0x2028, r == 0x2029:
			b = append(b, '\\', 'u', hex[r>>12&15], hex[r>>8&15], hex[r>>4&15], hex[r&15])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return string(b)
}
