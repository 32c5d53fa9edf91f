package triage

import (
	"bufio"
	"fmt"
	"io"
)

// Stream writes findings as JSON Lines while they are found (a hunt that
// follows growing logs), in the lines of a JSON Lines export (WriteExport)
// so that what reads an export reads a stream: one {"export": head} line,
// then for each batch of findings the {"process": …} lines not written
// yet, each before the first finding that needs it, and the {"finding":
// …} lines. Each batch is flushed to the writer when written.
//
// The Results a stream is given number their processes anew, so the
// stream numbers them itself, in the order it writes them, keeping each
// process's id for good (Process.Key). A process is written once, as it is
// known then: children it gains later are not added to its line (their
// own lines name it as parent). The head is the hunt's at the start
// ("complete": false): the counts at the end are the caller's to report.
type Stream struct {
	o   *jsonOut
	ids map[string]int
}

// NewStream returns a Stream writing to w.
func NewStream(w io.Writer) *Stream {
	return &Stream{o: &jsonOut{w: bufio.NewWriterSize(w, 64<<10)}, ids: make(map[string]int)}
}

// Head writes the head line from r (its rules, baseline and the sources
// known so far) and flushes it.
func (s *Stream) Head(r *Result) error {
	c := *r
	c.Incomplete = true
	x := newExporter(&c, nil)
	s.o.value(exportLine{Export: x.header()}, -1)
	s.o.raw("\n")
	return s.flush()
}

// Write writes findings of r (normally FollowUpdate.New, filtered) with
// the processes they need that earlier batches did not write, and flushes
// them.
func (s *Stream) Write(r *Result, findings []*Finding) error {
	if len(findings) == 0 {
		return s.flush()
	}
	x := &exporter{r: r, findings: findings, ids: s.ids}
	// Number the batch's new processes first, so that a process line
	// lists the children written after it in the same batch.
	next := len(s.ids)
	added := make([][]*Process, len(findings))
	for i, f := range findings {
		x.walk(f.Process, x.has, func(p *Process) {
			s.ids[p.Key()] = next
			next++
			added[i] = append(added[i], p)
		})
	}
	for i, f := range findings {
		for _, p := range added[i] {
			ep := x.process(p)
			s.o.value(exportLine{Process: &ep}, -1)
			s.o.raw("\n")
		}
		ef := x.finding(f)
		s.o.value(exportLine{Finding: &ef}, -1)
		s.o.raw("\n")
	}
	return s.flush()
}

func (s *Stream) flush() error {
	if s.o.err == nil {
		s.o.err = s.o.w.Flush()
	}
	if s.o.err != nil {
		return fmt.Errorf("%w: %w", ErrExport, s.o.err)
	}
	return nil
}
