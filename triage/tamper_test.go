package triage

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/evtriage/evtriage/parser"
)

// seqEv is a record of a tamper scan test: channel, record number (the
// file's), record id, time in seconds after t0.
func seqEv(channel string, num, id uint64, sec int) *parser.Event {
	e := ev(channel, 1, "WS1", id, at(sec))
	e.RecordNum, e.Offset = num, int64(0x1000+num*0x100)
	return e
}

// recovered marks e carved.
func recovered(e *parser.Event) *parser.Event { e.Recovered = true; return e }

func TestTamperScan(t *testing.T) {
	const sec = "Security"
	cleared := func(num, id uint64, s int) *parser.Event {
		e := seqEv(sec, num, id, s)
		e.EventID, e.Provider = 1102, "Microsoft-Windows-Eventlog"
		e.Fields = []parser.Field{{Name: "SubjectUserName", Value: "alice"}, {Name: "SubjectDomainName", Value: "CORP"}}
		return e
	}
	tests := []struct {
		name    string
		evs     []*parser.Event
		summary string
		check   func(t *testing.T, tp *Tamper)
	}{
		{"clean", []*parser.Event{seqEv(sec, 1, 10, 0), seqEv(sec, 2, 11, 1), seqEv(sec, 3, 12, 2)}, "", nil},
		{"gap", []*parser.Event{seqEv(sec, 1, 10, 0), seqEv(sec, 2, 11, 1), seqEv(sec, 3, 15, 2)}, "gaps 1",
			func(t *testing.T, tp *Tamper) {
				g := tp.Gaps[0]
				if g.After != 11 || g.Next != 15 || g.Count() != 3 || tp.Missing != 3 || g.Offset != 0x1300 || !g.Renumbered {
					t.Errorf("gap %+v missing %d", g, tp.Missing)
				}
			}},
		{"gap in the file's numbering too", []*parser.Event{seqEv(sec, 1, 10, 0), seqEv(sec, 5, 14, 1)}, "gaps 1",
			func(t *testing.T, tp *Tamper) {
				if tp.Gaps[0].Renumbered {
					t.Error("record numbers jump: the records were removed from this file")
				}
			}},
		{"channels are apart", []*parser.Event{seqEv(sec, 1, 10, 0), seqEv(sysmonCh, 2, 500, 0), seqEv(sec, 3, 11, 1),
			seqEv(sysmonCh, 4, 501, 1)}, "", nil},
		{"ids go back", []*parser.Event{seqEv(sec, 1, 10, 0), seqEv(sec, 2, 11, 1), seqEv(sec, 3, 11, 2)}, "ids-back 1",
			func(t *testing.T, tp *Tamper) {
				if r := tp.Reversed[0]; r.After != 11 || r.Next != 11 {
					t.Errorf("reversed %+v", r)
				}
			}},
		{"time goes back", []*parser.Event{seqEv(sec, 1, 10, 0), seqEv(sec, 2, 11, 3600), seqEv(sec, 3, 12, 60), seqEv(sec, 4, 13, 3600)},
			"time-back 1", func(t *testing.T, tp *Tamper) {
				j := tp.Backwards[0]
				if j.RecordID != 12 || !j.Time.Equal(at(60)) || !j.Latest.Equal(at(3600)) {
					t.Errorf("jump %+v", j)
				}
				if !tp.First.Equal(at(0)) || !tp.Last.Equal(at(3600)) {
					t.Errorf("first %v last %v", tp.First, tp.Last)
				}
			}},
		{"out of order within the slack", []*parser.Event{seqEv(sec, 1, 10, 30), seqEv(sec, 2, 11, 0)}, "", nil},
		{"wrap", []*parser.Event{seqEv(sec, 5, 105, 50), seqEv(sec, 6, 106, 60), seqEv(sec, 1, 101, 10),
			seqEv(sec, 2, 102, 20), seqEv(sec, 3, 103, 30), seqEv(sec, 4, 104, 40)}, "wrapped", nil},
		{"wrap with records lost around it", []*parser.Event{seqEv(sec, 5, 108, 50), seqEv(sec, 1, 101, 10),
			seqEv(sec, 2, 102, 20)}, "gaps 1, wrapped", func(t *testing.T, tp *Tamper) {
			if g := tp.Gaps[0]; !g.Wrap || g.After != 102 || g.Next != 108 || tp.Missing != 5 {
				t.Errorf("gap %+v missing %d", g, tp.Missing)
			}
		}},
		{"log cleared", []*parser.Event{cleared(1, 13677, 0), seqEv(sec, 2, 13678, 1)}, "cleared 1",
			func(t *testing.T, tp *Tamper) {
				e := tp.Events[0]
				if e.Sign != SignLogCleared || e.RecordID != 13677 || e.Detail != `Security log cleared by CORP\alice` {
					t.Errorf("event %+v", e)
				}
			}},
		{"1102 of another provider", []*parser.Event{func() *parser.Event { e := cleared(1, 1, 0); e.Provider = "X"; return e }()}, "", nil},
		{"System 104", []*parser.Event{func() *parser.Event {
			e := seqEv("System", 1, 7, 0)
			e.EventID, e.Provider = 104, "Microsoft-Windows-Eventlog"
			e.Fields = []parser.Field{{Name: "SubjectUserName", Value: "bob"}, {Name: "Channel", Value: "Microsoft-Windows-Sysmon/Operational"}}
			return e
		}()}, "cleared 1", func(t *testing.T, tp *Tamper) {
			if d := tp.Events[0].Detail; d != "Microsoft-Windows-Sysmon/Operational log cleared by bob" {
				t.Errorf("detail %q", d)
			}
		}},
		{"Sysmon", []*parser.Event{
			func() *parser.Event {
				e := seqEv(sysmonCh, 1, 1, 0)
				e.EventID = 4
				e.Fields = []parser.Field{{Name: "State", Value: "Started"}}
				return e
			}(),
			func() *parser.Event {
				e := seqEv(sysmonCh, 2, 2, 1)
				e.EventID = 16
				e.Fields = []parser.Field{{Name: "Configuration", Value: `C:\x.xml`}, {Name: "ConfigurationFileHash", Value: "SHA256=AB"}}
				return e
			}(),
			func() *parser.Event {
				e := seqEv(sysmonCh, 3, 3, 2)
				e.EventID = 4
				e.Fields = []parser.Field{{Name: "State", Value: "Stopped"}}
				return e
			}(),
			func() *parser.Event {
				e := seqEv(sysmonCh, 4, 4, 3)
				e.EventID = 255
				e.Fields = []parser.Field{{Name: "ID", Value: "DriverCommunication"}}
				return e
			}(),
		}, "sysmon-stop 1, sysmon-conf 1, sysmon-err 1", func(t *testing.T, tp *Tamper) {
			if d := tp.Events[0].Detail; d != `Configuration=C:\x.xml, ConfigurationFileHash=SHA256=AB` {
				t.Errorf("detail %q", d)
			}
		}},
		{"recovered records are left out of the sequence", []*parser.Event{seqEv(sec, 1, 10, 0),
			func() *parser.Event { e := seqEv(sec, 9, 3, 0); e.Recovered = true; return e }(), seqEv(sec, 2, 11, 1)}, "recovered 1", nil},
		// A damaged chunk's records, carved in their place, fill the gap
		// they leave among the live ones: all of it, or part.
		{"a gap recovered", []*parser.Event{seqEv(sec, 1, 10, 0), recovered(seqEv(sec, 2, 11, 1)), recovered(seqEv(sec, 3, 12, 1)),
			seqEv(sec, 4, 13, 2)}, "recovered 2", nil},
		{"a gap partly recovered", []*parser.Event{seqEv(sec, 1, 10, 0), recovered(seqEv(sec, 2, 11, 1)), seqEv(sec, 4, 14, 2)},
			"gaps 1, recovered 1", func(t *testing.T, tp *Tamper) {
				if g := tp.Gaps[0]; g.Count() != 3 || g.Recovered != 1 || g.Missing() != 2 || tp.Missing != 2 {
					t.Errorf("gap %+v, missing %d", g, tp.Missing)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewTamperScan()
			for _, e := range tt.evs {
				s.Add(e)
			}
			st := parser.Stats{}
			for _, e := range tt.evs {
				if e.Recovered {
					st.Recovered++
				}
			}
			tp := s.Result(st)
			if got := tp.Summary(); got != tt.summary {
				t.Errorf("summary %q, want %q", got, tt.summary)
			}
			if tt.check != nil {
				tt.check(t, tp)
			}
		})
	}
}

// TestTamperScanBounded feeds a crafted sequence of every kind of sign
// many times over: the lists stop at MaxTamperListed, the totals count
// everything, and the sequences followed stop at maxSequences.
func TestTamperScanBounded(t *testing.T) {
	s := NewTamperScan()
	const n = 1000
	for i := range uint64(n) {
		e := seqEv("Security", i+1, 10*i, int(i%2)*3600)
		e.Computer = "H" + string(rune('A'+i%26)) + strings.Repeat("x", int(i/26))
		s.Add(e)
		s.Add(e) // the same id again: reversed
	}
	tp := s.Result(parser.Stats{})
	if len(tp.Reversed) != MaxTamperListed || tp.ReversedTotal+tp.Untracked < n {
		t.Errorf("reversed %d listed of %d, untracked %d", len(tp.Reversed), tp.ReversedTotal, tp.Untracked)
	}
	if len(s.seqs) != maxSequences || tp.Untracked == 0 {
		t.Errorf("%d sequences followed, %d events untracked", len(s.seqs), tp.Untracked)
	}
	hosts, total := s.Hosts()
	if len(hosts) != MaxSourceHosts || total != maxSequences {
		t.Errorf("hosts %d listed of %d", len(hosts), total)
	}
	long := seqEv("Security", 1, 1, 0)
	long.EventID, long.Provider = 1102, "Microsoft-Windows-Eventlog"
	long.Fields = []parser.Field{{Name: "SubjectUserName", Value: strings.Repeat("é", 10000)}}
	s = NewTamperScan()
	for range 100 {
		s.Add(long)
	}
	tp = s.Result(parser.Stats{})
	if len(tp.Events) != MaxTamperListed || tp.EventsTotal != 100 || tp.Cleared != 100 || len(tp.Events[0].Detail) > maxLogDetail+len("…") {
		t.Errorf("events %d of %d, cleared %d, detail %d bytes", len(tp.Events), tp.EventsTotal, tp.Cleared, len(tp.Events[0].Detail))
	}
}

// TestTamperOfFile writes a log with a hole in its record ids, a clock
// set back and a cleared log, marks its header dirty, and hunts it: the
// source's tamper object says all of it, with where.
func TestTamperOfFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sec.evtx")
	clear := ev("Security", 1102, "WS1", 100, at(0), "SubjectUserName", "alice", "SubjectDomainName", "CORP")
	clear.Provider = "Microsoft-Windows-Eventlog"
	evs := []*parser.Event{clear,
		ev("Security", 4624, "WS1", 101, at(10)),
		ev("Security", 4624, "WS1", 140, at(20)),   // 38 records missing
		ev("Security", 4624, "WS1", 141, at(-900)), // 15 minutes back
		ev("Security", 4624, "WS1", 142, at(30)),
	}
	writeLog(t, path, evs)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[0x78] |= 1 // dirty: the header flags lie outside its checksum
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	h := NewHunter(Options{})
	if err := h.AddFile(context.Background(), path, nil); err != nil {
		t.Fatal(err)
	}
	src := h.Finish().Sources[0]
	tp := src.Tamper
	if tp == nil {
		t.Fatal("no tamper object")
	}
	if got, want := tp.Summary(), "cleared 1, gaps 1, time-back 1, dirty"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	if tp.Chunks != 1 || tp.Records != 5 || !tp.First.Equal(at(-900)) || !tp.Last.Equal(at(30)) {
		t.Errorf("chunks %d records %d first %v last %v", tp.Chunks, tp.Records, tp.First, tp.Last)
	}
	if g := tp.Gaps[0]; g.After != 101 || g.Next != 140 || g.Count() != 38 || g.Offset <= 0x1000 {
		t.Errorf("gap %+v", g)
	}
	if len(src.Hosts) != 1 || src.Hosts[0] != "WS1" || src.HostsTotal != 1 {
		t.Errorf("hosts %v (%d)", src.Hosts, src.HostsTotal)
	}
	js, err := json.Marshal(tp)
	if err != nil {
		t.Fatal(err)
	}
	var back Tamper
	if err := json.Unmarshal(js, &back); err != nil || !reflect.DeepEqual(&back, tp) {
		t.Errorf("read back (%v):\n%+v\nwant\n%+v", err, back, *tp)
	}
	for _, want := range []string{`"signs":["log_cleared","record_gaps","time_back","dirty"]`, `"missing":38`,
		`"first":"2024-03-01T09:45:00Z"`, `"detail":"Security log cleared by CORP\\alice"`} {
		if !strings.Contains(string(js), want) {
			t.Errorf("JSON lacks %s:\n%s", want, js)
		}
	}
}

// TestTamperSharedLogs checks the shared logs: the psexec log holds a
// Security 1102 (its first record), and the logs cut out of attack
// collections show their missing record ids as renumbered gaps (the file's
// own numbering runs on: the records were left out when the excerpt was
// written, not removed from it).
func TestTamperSharedLogs(t *testing.T) {
	dir := filepath.Join(sharedDir(t), "evtx")
	tests := []struct {
		file, summary string
		renumbered    bool
	}{
		{"security_4688_v1_psexec.evtx", "cleared 1", false},
		{"sysmon_uacme_64.evtx", "", false},
		{"security_4688_v2_malseclogon.evtx", "gaps 3", true},
		{"capi2_private_key.evtx", "gaps 2", true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			h := NewHunter(Options{})
			if err := h.AddFile(context.Background(), filepath.Join(dir, tt.file), nil); err != nil {
				t.Fatal(err)
			}
			tp := h.Finish().Sources[0].Tamper
			if got := tp.Summary(); got != tt.summary {
				t.Errorf("summary %q, want %q", got, tt.summary)
			}
			if tt.renumbered {
				for _, g := range tp.Gaps {
					if !g.Renumbered {
						t.Errorf("gap %+v: the file's numbering runs on", g)
					}
				}
			}
			if tt.file == "security_4688_v1_psexec.evtx" {
				e := tp.Events[0]
				want := time.Date(2016, 9, 21, 3, 40, 37, 88867100, time.UTC)
				if e.RecordID != 13677 || e.Computer != "IE10Win7" || !e.Time.Equal(want) || !strings.Contains(e.Detail, `IE10WIN7\IEUser`) {
					t.Errorf("event %+v", e)
				}
			}
		})
	}
}

// BenchmarkTamperScan measures what the tamper signs and the host
// histograms add to a hunt per event: TamperScan.Add and the host's count
// and bin, over the events of the scenario log with every host's.
func BenchmarkTamperScan(b *testing.B) {
	rd, err := parser.Open(filepath.Join("..", "samples", "logs", "all.evtx"), parser.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer rd.Close()
	var evs []*parser.Event
	if err := rd.Events(context.Background(), func(ev *parser.Event) error {
		c := *ev
		evs = append(evs, &c)
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	h := NewHunter(Options{})
	ids := make([]strID, len(evs))
	for i, ev := range evs {
		ids[i] = h.strs.id(ev.Computer)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s := NewTamperScan()
		for i, ev := range evs {
			s.Add(ev)
			h.countHost(ids[i], ev.Time)
		}
		_ = s.Result(parser.Stats{})
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
}

// TestTamperDamagedChunk: a copy of a shared log whose second chunk lost
// its header and that is cut short: the damaged chunk's records, carved
// where they were, fill the hole they would leave in the record ids, so
// the file shows them recovered, not missing.
func TestTamperDamagedChunk(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(sharedDir(t), "evtx", "sysmon_uacme_64.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	copy(data[0x11000:], make([]byte, 8)) // the second chunk's magic
	path := filepath.Join(t.TempDir(), "damaged.evtx")
	if err := os.WriteFile(path, data[:300000], 0o600); err != nil {
		t.Fatal(err)
	}
	h := NewHunter(Options{})
	_ = h.AddFile(context.Background(), path, nil) // ErrRead: the problems are expected
	tp := h.Finish().Sources[0].Tamper
	if got := tp.Summary(); got != "recovered 49" || tp.GapsTotal != 0 || tp.Missing != 0 {
		t.Errorf("summary %q, gaps %d, missing %d", got, tp.GapsTotal, tp.Missing)
	}
}
