package samples

import (
	"container/heap"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/evtriage/evtriage/parser"
)

// Providers and channels written.
const (
	provSysmon       = "Microsoft-Windows-Sysmon"
	provSysmonGUID   = "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}"
	chanSysmon       = "Microsoft-Windows-Sysmon/Operational"
	provSecurity     = "Microsoft-Windows-Security-Auditing"
	provSecurityGUID = "{54849625-5478-4994-A5BA-3E3B0328C30D}"
	chanSecurity     = "Security"
)

// logForm is the set of logs a host keeps.
type logForm struct {
	name     string
	sysmon   bool
	security uint8 // 4688 version: 0 no Security log, 1 (Windows 7), 2
	cmdline  bool  // "Include command line in process creation events"
}

// logForms returns the host log forms, cycled through by host index.
func logForms() []logForm {
	return []logForm{
		{"sysmon+security-v2", true, 2, true},
		{"security-v2", false, 2, true},
		{"security-v1", false, 1, true},
		{"security-v2-nocmdline", false, 2, false},
		{"security-v1-nocmdline", false, 1, false},
	}
}

// extraForms are forms chosen only by name (Options.Form).
func extraForms() []logForm {
	return []logForm{{"sysmon", true, 0, false}}
}

// FormNames returns the names Options.Form accepts: the five cycled forms,
// then forms only available by name.
func FormNames() []string {
	var out []string
	for _, f := range append(logForms(), extraForms()...) {
		out = append(out, f.name)
	}
	return out
}

// formByName returns the named log form.
func formByName(name string) (logForm, bool) {
	for _, f := range append(logForms(), extraForms()...) {
		if f.name == name {
			return f, true
		}
	}
	return logForm{}, false
}

// gen is one generation run.
type gen struct {
	w      *parser.Writer
	opts   Options
	sc     Scenario
	prof   Profile
	rng    *rand.Rand
	truth  Truth
	hosts  []*host
	queue  eventQueue
	seq    uint64
	hashes map[string]string // image path -> Sysmon Hashes value
	// stop conditions
	written int
	err     error
	// chain thresholds: chain k on host i fires once progress passes
	// thresholds[i][k].
	gap time.Duration // mean gap between a host's background activities
	// onWrite, when set, sees every event as it is written (tests).
	onWrite func(*parser.Event)
}

// pending is an event waiting for its time to be written.
type pending struct {
	t    time.Time
	seq  uint64
	ev   *parser.Event // nil: a quiet exit, not logged (the pid is released)
	h    *host
	proc *proc // the process created (Sysmon 1 / 4688) or exited (5 / 4689)
	kind uint8
	role string
}

const (
	kindOther uint8 = iota
	kindCreate
	kindExit
)

// hostQueue orders hosts by their next activity, then index.
type hostQueue []*host

func (q hostQueue) Len() int { return len(q) }
func (q hostQueue) Less(i, j int) bool {
	if !q[i].next.Equal(q[j].next) {
		return q[i].next.Before(q[j].next)
	}
	return q[i].idx < q[j].idx
}
func (q hostQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *hostQueue) Push(x any)   { *q = append(*q, x.(*host)) }
func (q *hostQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

type eventQueue []*pending

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if !q[i].t.Equal(q[j].t) {
		return q[i].t.Before(q[j].t)
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(*pending)) }
func (q *eventQueue) Pop() any {
	old := *q
	n := len(old)
	x := old[n-1]
	old[n-1] = nil
	*q = old[:n-1]
	return x
}

func newGen(w io.WriteSeeker, opts Options, sc Scenario, prof Profile, forms []logForm) *gen {
	seed := uint64(opts.Seed)
	g := &gen{
		w:      parser.NewWriter(w),
		opts:   opts,
		sc:     sc,
		prof:   prof,
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		truth:  newTruth(sc.Name, opts.Seed),
		hashes: make(map[string]string),
	}
	for i := 0; i < opts.Hosts; i++ {
		h := newHost(g, i, forms[i%len(forms)])
		g.hosts = append(g.hosts, h)
		g.truth.Hosts = append(g.truth.Hosts, HostInfo{Name: h.fqdn, Form: h.form.name})
	}
	// Plan the background rate so that the log spans about Duration.
	perHost := float64(opts.Events) / float64(opts.Hosts)
	if opts.Size > 0 {
		perHost = float64(opts.Size) / prof.perRecord / float64(opts.Hosts)
	}
	activities := math.Max(perHost/prof.perActivity, 1)
	g.gap = time.Duration(float64(opts.Duration) / activities)
	if g.gap < 50*time.Millisecond {
		g.gap = 50 * time.Millisecond
	}
	for _, h := range g.hosts {
		h.next = opts.Start.Add(time.Duration(g.rng.Int64N(int64(g.gap) + 1)))
		h.thresholds = make([]float64, len(sc.chains))
		for k := range sc.chains {
			// Spread chains over 10%..75% of the log, staggered by host.
			span := 0.65 / float64(len(sc.chains))
			h.thresholds[k] = 0.10 + span*float64(k) + span*0.8*float64(h.idx)/float64(opts.Hosts)
		}
	}
	return g
}

// progress is how far the log is towards its stop condition, 0..1.
func (g *gen) progress() float64 {
	if g.opts.Size > 0 {
		return float64(g.w.Size()) / float64(g.opts.Size)
	}
	return float64(g.written) / float64(g.opts.Events)
}

func (g *gen) done() bool {
	if g.opts.Size > 0 {
		return g.w.Size() >= g.opts.Size
	}
	return g.written >= g.opts.Events
}

// run generates until the stop condition, then closes the file.
func (g *gen) run() error {
	hq := make(hostQueue, len(g.hosts))
	copy(hq, g.hosts)
	heap.Init(&hq)
	for !g.done() && g.err == nil {
		h := hq[0] // the host whose next activity comes first
		t := h.next
		g.flush(t)
		if g.done() || g.err != nil {
			break
		}
		if h.chainsDone < len(g.sc.chains) && g.progress() >= h.thresholds[h.chainsDone] {
			g.sc.chains[h.chainsDone](g, h, t)
			h.chainsDone++
		} else {
			g.prof.run(g, h, t)
		}
		h.next = t.Add(time.Duration(g.rng.ExpFloat64()*float64(g.gap)) + time.Millisecond)
		heap.Fix(&hq, 0)
	}
	if g.err != nil {
		return g.err
	}
	if err := g.w.Close(); err != nil {
		return fmt.Errorf("samples: %w", err)
	}
	return nil
}

// flush writes every pending event due at or before t, in time order.
func (g *gen) flush(t time.Time) {
	for g.queue.Len() > 0 && !g.queue[0].t.After(t) && !g.done() && g.err == nil {
		p := heap.Pop(&g.queue).(*pending)
		g.write(p)
	}
}

// write assigns the record id, writes the event and records its truth.
func (g *gen) write(p *pending) {
	h := p.h
	if p.ev == nil {
		if p.kind == kindExit && !p.proc.released {
			p.proc.released = true
			h.release(p.proc.pid)
		}
		return
	}
	h.recID[p.ev.Channel]++
	p.ev.RecordID = h.recID[p.ev.Channel]
	if err := g.w.Write(p.ev); err != nil {
		g.err = fmt.Errorf("samples: %w", err)
		return
	}
	g.written++
	if g.onWrite != nil {
		g.onWrite(p.ev)
	}
	k := KeyOf(p.ev)
	switch p.kind {
	case kindCreate:
		pr := p.proc
		if p.ev.Channel == chanSysmon {
			pr.sysKey = k
			if pr.parent != nil && pr.parent.sysKey.RecordID != 0 {
				g.truth.Parent[k] = pr.parent.sysKey
			}
		} else {
			pr.secKey = k
			if pr.parent != nil && pr.parent.secKey.RecordID != 0 {
				g.truth.Parent[k] = pr.parent.secKey
			}
		}
	case kindExit:
		if !p.proc.released {
			p.proc.released = true
			h.release(p.proc.pid)
		}
	}
	g.truth.record(p.ev, p.role)
}

// push queues an event for time t.
func (g *gen) push(h *host, t time.Time, ev *parser.Event, pr *proc, kind uint8, role string) {
	if ev != nil {
		// EVTX keeps 100 ns ticks.
		ev.Time = t.Truncate(100 * time.Nanosecond)
		ev.Written = t.Add(time.Duration(g.rng.IntN(900)) * time.Microsecond).Truncate(100 * time.Nanosecond)
		ev.Computer = h.fqdn
	}
	g.seq++
	heap.Push(&g.queue, &pending{t: t, seq: g.seq, ev: ev, h: h, proc: pr, kind: kind, role: role})
}

// hashesOf returns a stable Sysmon Hashes value for an image path.
func (g *gen) hashesOf(path string) string {
	if v, ok := g.hashes[path]; ok {
		return v
	}
	p := []byte(strings.ToLower(path))
	s256 := sha256.Sum256(p)
	v := "SHA256=" + strings.ToUpper(hex.EncodeToString(s256[:]))
	if !g.prof.sha256Only {
		s1 := sha1.Sum(p)
		m5 := md5.Sum(p)
		imp := md5.Sum(append(p, "imphash"...))
		v = "SHA1=" + strings.ToUpper(hex.EncodeToString(s1[:])) +
			",MD5=" + strings.ToUpper(hex.EncodeToString(m5[:])) +
			"," + v + ",IMPHASH=" + strings.ToUpper(hex.EncodeToString(imp[:]))
	}
	g.hashes[path] = v
	return v
}

// pick returns a random element of list.
func pick[T any](g *gen, list []T) T { return list[g.rng.IntN(len(list))] }

// jitter returns a random duration in [lo, hi).
func (g *gen) jitter(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(g.rng.Int64N(int64(hi-lo)))
}
