package samples

import (
	"fmt"
	"time"

	"github.com/evtriage/evtriage/internal/winpath"
)

// activity is one kind of background activity with its weight.
type activity struct {
	weight   int
	workHour bool // only while the user works (07:00–19:00 UTC)
	run      func(g *gen, h *host, t time.Time)
}

// activities returns the background activity mix.
func activities() []activity {
	return []activity{
		{30, false, bgServiceTask},
		{18, true, bgUserApp},
		{14, false, bgNetwork},
		{8, false, bgUpdater},
		{6, true, bgShell},
		{4, false, bgDefender},
		{1, false, bgInstaller},
	}
}

// background runs one randomly chosen background activity on h at t.
func (g *gen) background(h *host, t time.Time) {
	acts := activities()
	hour := t.UTC().Hour()
	work := hour >= 7 && hour < 19
	total := 0
	for _, a := range acts {
		if !a.workHour || work {
			total += a.weight
		}
	}
	n := g.rng.IntN(total)
	for _, a := range acts {
		if a.workHour && !work {
			continue
		}
		if n < a.weight {
			a.run(g, h, t)
			return
		}
		n -= a.weight
	}
}

// bgServiceTask: a service host starts a short-lived helper.
func bgServiceTask(g *gen, h *host, t time.Time) {
	switch g.rng.IntN(7) {
	case 0:
		h.spawn(h.svcSched, t, `C:\Windows\System32\taskhostw.exe`, `taskhostw.exe -RegisterDevice -ProtectionStateChanged -FreeNetworkOnly`, spawnOpt{acct: h.systemAcct, integrity: "System"})
	case 1:
		h.spawn(h.svcDcom, t, `C:\Windows\System32\backgroundTaskHost.exe`, `"C:\Windows\system32\backgroundTaskHost.exe" -ServerName:BackgroundTaskHost.WebAccountProvider`, spawnOpt{acct: h.user, integrity: "Low", cwd: `C:\Windows\system32\`})
	case 2:
		h.spawn(h.svcDcom, t, `C:\Windows\System32\RuntimeBroker.exe`, `C:\Windows\System32\RuntimeBroker.exe -Embedding`, spawnOpt{acct: h.user, integrity: "Medium", cwd: `C:\Windows\system32\`, life: g.jitter(10*time.Second, 5*time.Minute)})
	case 3:
		h.spawn(h.svcDcom, t, `C:\Windows\System32\wbem\WmiPrvSE.exe`, `C:\Windows\system32\wbem\wmiprvse.exe -secured -Embedding`, spawnOpt{acct: h.netSvc, integrity: "System", life: g.jitter(30*time.Second, 3*time.Minute)})
	case 4:
		h.spawn(h.searchIdx, t, `C:\Windows\System32\SearchProtocolHost.exe`, fmt.Sprintf(`"C:\Windows\system32\SearchProtocolHost.exe" Global\UsGthrFltPipeMssGthrPipe%d_ Global\UsGthrCtrlFltPipeMssGthrPipe%d 1 -2147483646 "Software\Microsoft\Windows Search" "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT; MS Search 4.0 Robot)" "C:\ProgramData\Microsoft\Search\Data\Temp\usgthrsvc" "DownLevelDaemon"`, 10+g.rng.IntN(90), 10+g.rng.IntN(90)), spawnOpt{acct: h.systemAcct, integrity: "System", life: 20 * time.Second})
		h.spawn(h.searchIdx, t.Add(300*time.Millisecond), `C:\Windows\System32\SearchFilterHost.exe`, `"C:\Windows\system32\SearchFilterHost.exe" 0 808 812 820 8192 816 792`, spawnOpt{acct: h.systemAcct, integrity: "System", life: 15 * time.Second})
	case 5:
		h.spawn(h.services, t, `C:\Windows\System32\sppsvc.exe`, `C:\Windows\system32\sppsvc.exe`, spawnOpt{acct: h.netSvc, integrity: "System", life: g.jitter(20*time.Second, 60*time.Second)})
	default:
		p := h.spawn(h.svcNet, t, `C:\Windows\System32\gpupdate.exe`, `gpupdate.exe /target:computer`, spawnOpt{acct: h.systemAcct, integrity: "System", life: 6 * time.Second})
		h.spawn(p, t.Add(40*time.Millisecond), imgConhost, `\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1`, spawnOpt{life: 5 * time.Second})
	}
}

// site is a web destination: name and address.
type site struct{ name, ip string }

// browserSites returns the sites the simulated user browses.
func browserSites() []site {
	return []site{
		{"www.google.com", "142.250.185.100"},
		{"outlook.office365.com", "52.97.146.178"},
		{"login.microsoftonline.com", "20.190.159.2"},
		{"www.bbc.co.uk", "151.101.0.81"},
		{"github.com", "140.82.121.4"},
		{"teams.microsoft.com", "52.113.194.132"},
		{"contoso.sharepoint.com", "13.107.136.10"},
		{"www.wikipedia.org", "185.15.59.224"},
	}
}

// bgUserApp: the user starts an application from explorer.
func bgUserApp(g *gen, h *host, t time.Time) {
	user := spawnOpt{acct: h.user, integrity: "Medium", cwd: h.userDir() + `\`}
	switch g.rng.IntN(8) {
	case 0, 1: // a browser with renderers and traffic
		img := pick(g, []string{imgChrome, imgEdge, imgFirefox})
		user.life = g.jitter(5*time.Minute, 50*time.Minute)
		user.cwd = img[:len(img)-len(winpath.Base(img))]
		b := h.spawn(h.explorer, t, img, `"`+img+`"`, user)
		for i := 0; i < 2; i++ {
			at := t.Add(time.Duration(400+i*250) * time.Millisecond)
			h.spawn(b, at, img, fmt.Sprintf(`"%s" --type=renderer --lang=en-US --renderer-client-id=%d --field-trial-handle=1804,i,%d`, img, 5+i, 100000+g.rng.IntN(900000)),
				spawnOpt{integrity: "Low", life: user.life - time.Second})
		}
		for i := 0; i < 2+g.rng.IntN(3); i++ {
			s := pick(g, browserSites())
			at := t.Add(time.Duration(2+i*3) * time.Second)
			h.dns(b, at, s.name, s.ip, "")
			h.connect(b, at.Add(30*time.Millisecond), s.name, s.ip, 443, "")
		}
	case 2, 3: // Office loading its signed DLLs
		img := pick(g, []string{imgWinword, imgExcel, imgOutlook})
		user.life = g.jitter(3*time.Minute, 40*time.Minute)
		doc := fmt.Sprintf(`%s\Documents\%s`, h.userDir(), pick(g, []string{"Q3 forecast.xlsx", "minutes.docx", "budget 2026.xlsx", "handover notes.docx"}))
		o := h.spawn(h.explorer, t, img, fmt.Sprintf(`"%s" /n "%s"`, img, doc), user)
		dir := `C:\Program Files\Microsoft Office\root\Office16\`
		for i, dll := range []string{`C:\Program Files\Common Files\Microsoft Shared\Office16\mso20win32client.dll`, dir + "wwlib.dll", dir + "oart.dll", `C:\Program Files\Common Files\Microsoft Shared\Office16\mso.dll`} {
			h.load(o, t.Add(time.Duration(60+i*40)*time.Millisecond), dll, true, "Microsoft Corporation", "")
		}
		h.dns(o, t.Add(2*time.Second), "officeclient.microsoft.com", "52.109.8.21", "")
		h.connect(o, t.Add(2100*time.Millisecond), "officeclient.microsoft.com", "52.109.8.21", 443, "")
	case 4:
		h.spawn(h.explorer, t, imgNotepad, fmt.Sprintf(`"C:\Windows\system32\NOTEPAD.EXE" %s\Desktop\todo.txt`, h.userDir()), user)
	case 5:
		user.life = g.jitter(20*time.Minute, 90*time.Minute)
		tm := h.spawn(h.explorer, t, imgTeams, `"ms-teams.exe"`, user)
		h.dns(tm, t.Add(time.Second), "teams.microsoft.com", "52.113.194.132", "")
		h.connect(tm, t.Add(1100*time.Millisecond), "teams.microsoft.com", "52.113.194.132", 443, "")
	default: // a console command
		bgShell(g, h, t)
	}
}

// bgShell: the user runs a command in a console.
func bgShell(g *gen, h *host, t time.Time) {
	user := spawnOpt{acct: h.user, integrity: "Medium", cwd: h.userDir() + `\`, life: g.jitter(20*time.Second, 4*time.Minute)}
	if g.rng.IntN(3) == 0 {
		ps := h.spawn(h.explorer, t, imgPowerShell, `"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" `, user)
		h.spawn(ps, t.Add(50*time.Millisecond), imgConhost, `\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1`, spawnOpt{life: user.life - time.Second})
		return
	}
	cmd := h.spawn(h.explorer, t, imgCmd, `"C:\Windows\system32\cmd.exe" `, user)
	h.spawn(cmd, t.Add(50*time.Millisecond), imgConhost, `\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1`, spawnOpt{life: user.life - time.Second})
	tools := []struct{ img, cmd string }{
		{`C:\Windows\System32\ipconfig.exe`, "ipconfig  /all"},
		{`C:\Windows\System32\whoami.exe`, "whoami"},
		{`C:\Windows\System32\PING.EXE`, "ping  -n 2 fileserver01"},
		{`C:\Windows\System32\net.exe`, `net  use S: \\fileserver01\shared`},
		{`C:\Windows\System32\tasklist.exe`, "tasklist"},
	}
	for i := 0; i < 1+g.rng.IntN(2); i++ {
		tool := pick(g, tools)
		h.spawn(cmd, t.Add(time.Duration(3+i*4)*time.Second), tool.img, tool.cmd, spawnOpt{life: g.jitter(200*time.Millisecond, 2*time.Second)})
	}
}

// bgNetwork: a running process resolves a name and connects.
func bgNetwork(g *gen, h *host, t time.Time) {
	type dst struct {
		p         *proc
		name, ip  string
		port      uint16
		skipQuery bool
	}
	choices := []dst{
		{h.svcNet, "settings-win.data.microsoft.com", "20.42.73.29", 443, false},
		{h.svcNet, "ctldl.windowsupdate.com", "93.184.221.240", 80, false},
		{h.msmpeng, "wdcp.microsoft.com", "20.42.65.92", 443, false},
		{h.explorer, "fileserver01.corp.example.com", "10.20.0.5", 445, false},
		{h.svcLocal, "time.windows.com", "168.61.215.74", 123, true},
		{h.lsass, "dc01.corp.example.com", "10.20.0.2", 88, false},
	}
	c := pick(g, choices)
	if !c.skipQuery {
		h.dns(c.p, t, c.name, c.ip, "")
	}
	if c.port != 123 {
		h.connect(c.p, t.Add(20*time.Millisecond), c.name, c.ip, c.port, "")
	}
}

// bgUpdater: a scheduled updater checks for updates.
func bgUpdater(g *gen, h *host, t time.Time) {
	switch g.rng.IntN(3) {
	case 0:
		u := h.spawn(h.svcSched, t, imgGoogleUpdate, `"C:\Program Files (x86)\Google\Update\GoogleUpdate.exe" /ua /installsource scheduler`, spawnOpt{acct: h.systemAcct, integrity: "System", life: 25 * time.Second})
		h.dns(u, t.Add(2*time.Second), "update.googleapis.com", "142.250.186.67", "")
		h.connect(u, t.Add(2100*time.Millisecond), "update.googleapis.com", "142.250.186.67", 443, "")
	case 1:
		u := h.spawn(h.svcSched, t, imgEdgeUpdate, `"C:\Program Files (x86)\Microsoft\EdgeUpdate\MicrosoftEdgeUpdate.exe" /c`, spawnOpt{acct: h.systemAcct, integrity: "System", life: 40 * time.Second})
		h.dns(u, t.Add(time.Second), "msedge.api.cdp.microsoft.com", "13.107.5.80", "")
		h.connect(u, t.Add(1100*time.Millisecond), "msedge.api.cdp.microsoft.com", "13.107.5.80", 443, "")
	default:
		img := fmt.Sprintf(imgOneDriveUpd, h.user.name)
		u := h.spawn(h.svcSched, t, img, `"`+img+`" /reporting`, spawnOpt{acct: h.user, integrity: "Medium", cwd: `C:\Windows\system32\`, life: 30 * time.Second})
		h.dns(u, t.Add(time.Second), "g.live.com", "13.107.42.13", "")
		h.connect(u, t.Add(1100*time.Millisecond), "g.live.com", "13.107.42.13", 443, "")
	}
}

// bgDefender: Defender updates its signatures.
func bgDefender(g *gen, h *host, t time.Time) {
	img := `C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MpCmdRun.exe`
	m := h.spawn(h.msmpeng, t, img, `"C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MpCmdRun.exe" SignaturesUpdateService -ScheduleJob -RestrictPrivileges`, spawnOpt{acct: h.netSvc, integrity: "System", life: 45 * time.Second})
	h.dns(m, t.Add(time.Second), "definitionupdates.microsoft.com", "152.199.19.161", "")
	h.connect(m, t.Add(1100*time.Millisecond), "definitionupdates.microsoft.com", "152.199.19.161", 443, "")
}

// bgInstaller: a software installer registers its components.
func bgInstaller(g *gen, h *host, t time.Time) {
	if g.rng.IntN(2) == 0 {
		installer(g, h, t, "", false)
	} else {
		installer(g, h, t, "", true)
	}
}
