// Package heappeak samples the Go heap while a benchmark runs: the peak of
// the live heap (as measured after each collection) and of the heap in use
// (objects, live or not yet swept), which decide the resident memory of a
// large load. It is for benchmarks; it costs a metrics read a millisecond.
package heappeak

import (
	"runtime/metrics"
	"time"
)

// Peak samples the heap from Start until End.
type Peak struct {
	stop    chan struct{}
	done    chan struct{}
	live    uint64
	inUse   uint64
	samples []metrics.Sample
}

// Start begins sampling every millisecond.
func Start() *Peak {
	p := &Peak{stop: make(chan struct{}), done: make(chan struct{}), samples: []metrics.Sample{
		{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}}
	go func() {
		defer close(p.done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			p.sample()
			select {
			case <-p.stop:
				p.sample()
				return
			case <-t.C:
			}
		}
	}()
	return p
}

func (p *Peak) sample() {
	metrics.Read(p.samples)
	p.live = max(p.live, p.samples[0].Value.Uint64())
	p.inUse = max(p.inUse, p.samples[1].Value.Uint64())
}

// End stops sampling and returns the peaks in bytes: of the live heap and
// of the heap in use.
func (p *Peak) End() (live, inUse uint64) {
	close(p.stop)
	<-p.done
	return p.live, p.inUse
}
