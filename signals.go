package main

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/evtriage/evtriage/internal/outfile"
)

// interrupts are the signals that end a command early: its output is
// discarded, the target left as it was.
var interrupts = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

// onInterrupt catches SIGINT, SIGTERM and SIGHUP: on the first, it calls
// abort (which discards the outputs being written) and cancels the
// returned context; a second signal ends the program as usual. stop ends
// the catching and returns the signal caught, or nil.
func onInterrupt(abort func()) (ctx context.Context, stop func() os.Signal) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, interrupts...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var caught os.Signal
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case s := <-ch:
			abort()
			caught = s
			cancel()
			signal.Stop(ch)
		case <-done:
		}
	}()
	var once sync.Once
	return ctx, func() os.Signal {
		once.Do(func() {
			close(done)
			wg.Wait()
			signal.Stop(ch)
			cancel()
		})
		return caught
	}
}

// exitSignal is the exit status of a command ended by sig: 128 + its
// number, as a shell reports it.
func exitSignal(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return exitPartial
}

// outputs are the outputs a command is writing; a signal aborts them all,
// also those added after it arrived.
type outputs struct {
	mu      sync.Mutex
	files   []*outfile.File
	aborted bool
}

// add registers f (and aborts it at once after a signal).
func (o *outputs) add(f *outfile.File) *outfile.File {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.aborted {
		f.Abort()
	}
	o.files = append(o.files, f)
	return f
}

// abort discards every output.
func (o *outputs) abort() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.aborted = true
	for _, f := range o.files {
		f.Abort()
	}
}
