package parser_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"sync"
	"time"

	"github.com/evtriage/evtriage/parser"
)

// memLog is an in-memory file: the LiveWriter writes it, the Follower
// reads it.
type memLog struct {
	mu sync.Mutex
	b  []byte
}

func (m *memLog) WriteAt(p []byte, off int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if need := int(off) + len(p); need > len(m.b) {
		m.b = append(m.b, make([]byte, need-len(m.b))...)
	}
	return copy(m.b[off:], p), nil
}

func (m *memLog) ReadAt(p []byte, off int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if off >= int64(len(m.b)) {
		return 0, io.EOF
	}
	n := copy(p, m.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m *memLog) Size() (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return int64(len(m.b)), nil
}

// A Follower delivers the records of a growing log once each, in record
// order. Here a LiveWriter stands in for the event log service.
func ExampleFollower() {
	file := &memLog{}
	w, err := parser.NewLiveWriter(file, parser.LiveOptions{MaxSize: 1 << 20})
	if err != nil {
		log.Fatal(err)
	}
	write := func(ids ...uint16) {
		for _, id := range ids {
			ev := &parser.Event{Provider: "Microsoft-Windows-Sysmon", Channel: "Microsoft-Windows-Sysmon/Operational",
				Computer: "WS1", EventID: id, Time: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)}
			if err := w.Write(ev); err != nil {
				log.Fatal(err)
			}
		}
	}
	f := parser.NewFollower(file, file.Size, parser.FollowOptions{
		OnLost:    func(l parser.Lost) { fmt.Printf("lost records %d to %d\n", l.First, l.Last) },
		OnProblem: func(p parser.Problem) { fmt.Println("problem:", p) },
	})
	show := func(ev *parser.Event) error {
		fmt.Printf("record %d: event %d\n", ev.RecordID, ev.EventID)
		return nil
	}
	ctx := context.Background()

	write(1, 3, 1)
	if err := f.Poll(ctx, show); err != nil { // the records already there
		log.Fatal(err)
	}
	write(7, 1)
	if err := f.Poll(ctx, show); err != nil { // only the new ones
		log.Fatal(err)
	}
	if err := f.Poll(ctx, show); err != nil { // nothing new
		log.Fatal(err)
	}
	st := f.Stats()
	fmt.Printf("%d events in %d polls, next record %d\n", st.Events, st.Polls, st.Next)
	// Output:
	// record 1: event 1
	// record 2: event 3
	// record 3: event 1
	// record 4: event 7
	// record 5: event 1
	// 5 events in 3 polls, next record 6
}

// Following a log file until interrupted, reading it again from the start
// when it is replaced (rotated, or cleared and recreated).
func ExampleFollowFile() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	path := `C:\Windows\System32\winevt\Logs\Microsoft-Windows-Sysmon%4Operational.evtx`
	for {
		f, err := parser.FollowFile(path, parser.FollowOptions{
			OnProblem: func(p parser.Problem) { log.Printf("%s: %s", path, p) },
			OnLost:    func(l parser.Lost) { log.Printf("%s: %d records overwritten before they were read", path, l.Count()) },
		})
		if err != nil {
			log.Fatal(err)
		}
		err = f.Run(ctx, 500*time.Millisecond, func(ev *parser.Event) error {
			fmt.Println(ev.Time, ev.EventID, ev.Computer)
			return nil
		}, nil)
		f.Close()
		if !errors.Is(err, parser.ErrReplaced) {
			return // interrupted (ctx.Err()) or an error
		}
	}
}
