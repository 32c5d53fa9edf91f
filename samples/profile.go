package samples

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Profile is a shape of background activity: what fills a log between the
// scenario's chains. The default profile is the mix of services, user
// applications, updaters and installers on hosts cycling through the five
// log forms (4688-heavy); the Sysmon profiles give one Sysmon host the
// process population of a busy real machine, the shape that decides the
// memory and time of a hunt.
type Profile struct {
	Name        string
	Description string

	// form is the log form every host keeps unless Options.Form says
	// otherwise ("": the five forms cycled); hosts the default host count
	// (0: one per form).
	form  string
	hosts int
	// perActivity is the mean number of records one background activity
	// writes and perRecord their mean size in bytes: both plan the gap
	// between activities so that a log spans about Options.Duration.
	perActivity, perRecord float64
	// created is the share of background processes whose creation event is
	// logged (the others are known only from their activity); activity
	// draws a process's activity events.
	created  float64
	activity func(g *gen) (loads, network, dns int)
	// ownTraffic is the share of connections and DNS queries made by the
	// new process itself (the rest by a long-lived or recent one).
	ownTraffic float64
	// run is one background activity on h at t.
	run func(g *gen, h *host, t time.Time)
	// sha256Only: Sysmon hashes images with SHA256 alone (a config's
	// HashAlgorithms), not SHA1, MD5, SHA256 and IMPHASH.
	sha256Only bool
}

// Profile names.
const (
	ProfileDefault        = "default"
	ProfileSysmonDense    = "sysmon-dense"
	ProfileSysmonActivity = "sysmon-activity"
)

// Profiles returns the profiles Generate knows, default first.
func Profiles() []Profile {
	return []Profile{
		{Name: ProfileDefault, Description: "hosts cycling through the five log forms (Sysmon plus Security, Security 4688 v1/v2 with and without command lines): services, explorer, browsers, Office, updaters, installers",
			perActivity: 6, perRecord: 700, run: (*gen).background},
		{Name: ProfileSysmonDense, Description: "one Sysmon host's process population: 25% each of Sysmon 1, 3, 7 and 22; hundreds of images, deep trees, every process loading images, connecting and resolving names (exits not logged, as in configs without event 5)",
			form: "sysmon", hosts: 1, perActivity: 4, perRecord: 1100, created: 1, activity: denseActivity, ownTraffic: 0.5, run: (*gen).populationActivity, sha256Only: true},
		{Name: ProfileSysmonActivity, Description: "stress: the sysmon-dense population where 9 processes in 10 are known only from their activity (an image load, a connection or a DNS query; one in ten two) without a creation event, as in a rolled-over log or a config without Sysmon 1",
			form: "sysmon", hosts: 1, perActivity: 1.2, perRecord: 900, created: 0.1, activity: sparseActivity, ownTraffic: 1, run: (*gen).populationActivity, sha256Only: true},
	}
}

// profileByName returns the named profile ("" is the default).
func profileByName(name string) (Profile, error) {
	if name == "" {
		name = ProfileDefault
	}
	var names []string
	for _, p := range Profiles() {
		if p.Name == name {
			return p, nil
		}
		names = append(names, p.Name)
	}
	return Profile{}, fmt.Errorf("%w: unknown profile %q (known: %s)", ErrOptions, name, strings.Join(names, ", "))
}

// denseActivity: 0–2 of each kind, one on average, so that a process's
// creation, loads, connections and queries each make a quarter of the log.
func denseActivity(g *gen) (loads, network, dns int) {
	n := func() int { return [4]int{0, 1, 1, 2}[g.rng.IntN(4)] }
	return n(), n(), n()
}

// sparseActivity: one activity event, in one case of ten two, of kinds
// chosen evenly.
func sparseActivity(g *gen) (loads, network, dns int) {
	n := 1
	if g.rng.IntN(10) == 0 {
		n = 2
	}
	for ; n > 0; n-- {
		switch g.rng.IntN(3) {
		case 0:
			loads++
		case 1:
			network++
		default:
			dns++
		}
	}
	return loads, network, dns
}

// Program classes: who starts a program and as whom.
const (
	progService = iota // started by the service host processes, as a service account
	progUser           // started from explorer or another user program, as the user
	progTool           // a console tool started by a shell or a script host
)

// program is one executable of a host's population.
type program struct {
	img   string
	class int
	// args are the command-line variants (after the quoted image); unique
	// programs add a per-run token (a GUID, a temp name, a port), as
	// dllhost, renderers and installers do.
	args   []string
	unique bool
	dlls   []string // the program's own DLLs (beside the system ones)
	meta   *peInfo  // nil: metaFor(img)
}

// population is a Sysmon host's process population for the dense
// profiles: programs drawn by a skewed weight, the sites they reach, and
// the recent processes that start others.
type population struct {
	progs   []program
	cum     []int // cumulative weights of progs
	sysDLLs []string
	sites   []site
	recent  []*proc // ring of recently started processes
	next    int
	// services and userRoots are long-lived processes that start others
	// and make traffic.
	services, userRoots []*proc
}

// Word lists the population is built from.
var (
	vendorNames  = []string{"Contoso", "Fabrikam", "Adatum", "Tailspin", "Northwind", "Litware", "Proseware", "Woodgrove", "Wingtip", "Lucerne", "Margie", "Alpine", "Coho", "Trey", "Fourth Coffee", "Graphic Design", "Humongous", "Southridge", "Blue Yonder", "Relecloud"}
	productNames = []string{"Agent", "Sync", "Backup", "Reader", "Studio", "Monitor", "Updater", "Connect", "Scanner", "Notes", "Capture", "Cloud", "Vault", "Print", "Meeting", "Assist", "Deploy", "Telemetry", "Helper", "Player"}
	siteWords    = []string{"api", "cdn", "telemetry", "login", "update", "static", "events", "edge", "sync", "data", "config", "assets", "img", "mail", "files", "auth"}
	siteDomains  = []string{"microsoft.com", "windowsupdate.com", "office.net", "google.com", "gstatic.com", "akamaized.net", "cloudfront.net", "azureedge.net", "example.net", "contoso.com", "fabrikam.io", "adatum.org", "github.com", "slack.com", "zoom.us", "dropbox.com"}
	systemDLLs   = []string{"ntdll.dll", "kernel32.dll", "KernelBase.dll", "advapi32.dll", "msvcrt.dll", "sechost.dll", "rpcrt4.dll", "combase.dll", "ucrtbase.dll", "user32.dll", "win32u.dll", "gdi32.dll", "gdi32full.dll", "msvcp_win.dll", "shell32.dll", "shlwapi.dll", "ole32.dll", "oleaut32.dll", "imm32.dll", "crypt32.dll", "bcrypt.dll", "bcryptprimitives.dll", "cryptbase.dll", "ws2_32.dll", "mswsock.dll", "dnsapi.dll", "iphlpapi.dll", "winhttp.dll", "wininet.dll", "urlmon.dll", "iertutil.dll", "netutils.dll", "sspicli.dll", "wintrust.dll", "cfgmgr32.dll", "setupapi.dll", "powrprof.dll", "profapi.dll", "windows.storage.dll", "wldp.dll", "uxtheme.dll", "dwmapi.dll", "propsys.dll", "clbcatq.dll", "version.dll", "userenv.dll", "wtsapi32.dll", "winsta.dll", "ntmarta.dll", "kernel.appcore.dll", "msasn1.dll", "cryptsp.dll", "rsaenh.dll", "gpapi.dll", "nsi.dll", "dhcpcsvc.dll", "dhcpcsvc6.dll", "schannel.dll", "ncrypt.dll", "ntasn1.dll"}
)

// systemPrograms are the Windows programs of the population.
func systemPrograms() []program {
	sys := `C:\Windows\System32\`
	return []program{
		{img: imgSvchost, class: progService, args: []string{"-k netsvcs -p -s BITS", "-k LocalService -p -s fdPHost", "-k NetworkService -p -s DoSvc", "-k wsappx -p -s AppXSvc", "-k LocalSystemNetworkRestricted -p -s SysMain", "-k UnistackSvcGroup", "-k netsvcs -p -s wlidsvc", "-k LocalServiceNoNetwork -p"}},
		{img: imgConhost, class: progTool, args: []string{"0xffffffff -ForceV1"}},
		{img: sys + "backgroundTaskHost.exe", class: progUser, args: []string{"-ServerName:BackgroundTaskHost.WebAccountProvider", "-ServerName:App.AppXmtcan4gqmwp9dcn3ktqsg2q0mt6m2ncj.mca"}},
		{img: sys + "RuntimeBroker.exe", class: progUser, args: []string{"-Embedding"}},
		{img: sys + "dllhost.exe", class: progService, args: []string{"/Processid:"}, unique: true},
		{img: sys + "taskhostw.exe", class: progService, args: []string{"", "NGCKeyPregen", "-RegisterDevice -ProtectionStateChanged -FreeNetworkOnly"}},
		{img: sys + `wbem\WmiPrvSE.exe`, class: progService, args: []string{"-secured -Embedding", "-Embedding"}},
		{img: sys + "SearchProtocolHost.exe", class: progService, args: []string{`Global\UsGthrFltPipeMssGthrPipe`}, unique: true},
		{img: sys + "SearchFilterHost.exe", class: progService, args: []string{"0 808 812 820 8192 816 792"}},
		{img: sys + "WerFault.exe", class: progService, args: []string{"-u -p"}, unique: true},
		{img: sys + "wermgr.exe", class: progService, args: []string{"-upload", "-outputfile"}, unique: true},
		{img: sys + "CompatTelRunner.exe", class: progService, args: []string{"-m:appraiser.dll -f:DoScheduledTelemetryRun", "-m:devinv.dll -f:CreateDeviceInventory"}},
		{img: sys + "DeviceCensus.exe", class: progService, args: []string{"SystemCxt", "UserCxt"}},
		{img: sys + "usocoreworker.exe", class: progService, args: []string{"-Embedding"}},
		{img: sys + "MusNotification.exe", class: progUser, args: []string{"", "Display"}},
		{img: sys + "sihost.exe", class: progUser, args: []string{""}},
		{img: sys + "ctfmon.exe", class: progUser, args: []string{""}},
		{img: sys + "smartscreen.exe", class: progUser, args: []string{"-Embedding"}},
		{img: sys + "consent.exe", class: progService, args: []string{""}, unique: true},
		{img: sys + "SecurityHealthHost.exe", class: progUser, args: []string{"{08728914-3F57-4D52-9E31-49DAECA5A80A} -Embedding"}},
		{img: imgCmd, class: progUser, args: []string{"/c ", "/d /c "}, unique: true},
		{img: imgPowerShell, class: progUser, args: []string{"-NoProfile -ExecutionPolicy Bypass -File ", "-NonInteractive -Command "}, unique: true},
		{img: sys + "cscript.exe", class: progTool, args: []string{"//nologo "}, unique: true},
		{img: sys + "reg.exe", class: progTool, args: []string{`query HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run`, `query HKCU\Software\Microsoft\Office\16.0\Common`}},
		{img: sys + "sc.exe", class: progTool, args: []string{"query", "queryex type= service state= all"}},
		{img: sys + "schtasks.exe", class: progTool, args: []string{"/query /fo csv", "/run /tn "}, unique: true},
		{img: sys + "net.exe", class: progTool, args: []string{"use", "user", "localgroup administrators"}},
		{img: sys + "ipconfig.exe", class: progTool, args: []string{"/all", "/flushdns"}},
		{img: sys + "whoami.exe", class: progTool, args: []string{"", "/groups"}},
		{img: sys + "tasklist.exe", class: progTool, args: []string{"", "/svc"}},
		{img: sys + "PING.EXE", class: progTool, args: []string{"-n 1 "}, unique: true},
		{img: sys + "findstr.exe", class: progTool, args: []string{"/i "}, unique: true},
		{img: sys + "timeout.exe", class: progTool, args: []string{"/t 5", "/t 30 /nobreak"}},
		{img: sys + "msiexec.exe", class: progService, args: []string{"/V", "-Embedding"}, unique: true},
		{img: sys + "TiWorker.exe", class: progService, args: []string{"-Embedding"}},
		{img: sys + "sppsvc.exe", class: progService, args: []string{""}},
		{img: sys + "gpupdate.exe", class: progService, args: []string{"/target:computer", "/target:user"}},
		{img: imgNotepad, class: progUser, args: []string{""}, unique: true},
		{img: imgChrome, class: progUser, args: []string{"--type=renderer --lang=en-US --renderer-client-id=", "--type=utility --utility-sub-type=network.mojom.NetworkService --field-trial-handle="}, unique: true},
		{img: imgEdge, class: progUser, args: []string{"--type=renderer --lang=en-US --renderer-client-id=", "--type=gpu-process --field-trial-handle="}, unique: true},
		{img: imgFirefox, class: progUser, args: []string{"-contentproc -childID "}, unique: true},
		{img: imgWinword, class: progUser, args: []string{"/n "}, unique: true},
		{img: imgExcel, class: progUser, args: []string{"/e "}, unique: true},
		{img: imgOutlook, class: progUser, args: []string{"", "/recycle"}},
		{img: imgTeams, class: progUser, args: []string{"", "--system-initiated"}},
		{img: imgGoogleUpdate, class: progService, args: []string{"/ua /installsource scheduler", "/c"}},
		{img: imgEdgeUpdate, class: progService, args: []string{"/c", "/ua /installsource scheduler"}},
		{img: `C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MpCmdRun.exe`, class: progService, args: []string{"SignaturesUpdateService -ScheduleJob -RestrictPrivileges", "-IdleTask -TaskName WdCacheMaintenance"}},
	}
}

// newPopulation builds h's population: the Windows programs and 180
// vendor programs, each with its own DLLs, and 600 sites.
func newPopulation(g *gen, h *host) *population {
	pop := &population{recent: make([]*proc, 256)}
	for _, d := range systemDLLs {
		pop.sysDLLs = append(pop.sysDLLs, `C:\Windows\System32\`+d)
	}
	pop.progs = systemPrograms()
	for i := 0; i < 180; i++ {
		vendor := vendorNames[g.rng.IntN(len(vendorNames))]
		product := productNames[g.rng.IntN(len(productNames))]
		exe := strings.ToLower(strings.ReplaceAll(product, " ", "")) + fmt.Sprint(i)
		dir := fmt.Sprintf(`C:\Program Files\%s\%s %d\`, vendor, product, i)
		class := progService
		switch g.rng.IntN(3) {
		case 0:
			class = progUser
		case 1:
			class = progUser
			dir = fmt.Sprintf(`%s\AppData\Local\%s\%s %d\`, h.userDir(), vendor, product, i)
		}
		meta := peInfo{fmt.Sprintf("%d.%d.%d.0", 1+g.rng.IntN(20), g.rng.IntN(10), g.rng.IntN(9000)), vendor + " " + product, vendor + " " + product, vendor + " Software Ltd.", exe + ".exe"}
		p := program{img: dir + exe + ".exe", class: class, args: []string{"", "--background", "/service", "--check-updates"}, unique: g.rng.IntN(3) == 0, meta: &meta}
		for j := 2 + g.rng.IntN(6); j > 0; j-- {
			p.dlls = append(p.dlls, fmt.Sprintf(`%s%s%d.dll`, dir, pick(g, siteWords), g.rng.IntN(100)))
		}
		pop.progs = append(pop.progs, p)
	}
	// Skewed weights: a few programs run all the time, most rarely.
	g.rng.Shuffle(len(pop.progs), func(i, j int) { pop.progs[i], pop.progs[j] = pop.progs[j], pop.progs[i] })
	total := 0
	for i := range pop.progs {
		total += 10000 / (i + 4)
		pop.cum = append(pop.cum, total)
	}
	for i := 0; i < 600; i++ {
		name := fmt.Sprintf("%s%d.%s", pick(g, siteWords), g.rng.IntN(50), pick(g, siteDomains))
		ip := fmt.Sprintf("%d.%d.%d.%d", 13+g.rng.IntN(190), g.rng.IntN(256), g.rng.IntN(256), 1+g.rng.IntN(254))
		pop.sites = append(pop.sites, site{name, ip})
	}
	pop.services = []*proc{h.services, h.svcNet, h.svcSched, h.svcDcom, h.svcLocal, h.searchIdx, h.msmpeng}
	pop.userRoots = []*proc{h.explorer}
	return pop
}

// program draws a program by weight.
func (pop *population) program(g *gen) *program {
	n := g.rng.IntN(pop.cum[len(pop.cum)-1])
	return &pop.progs[sort.SearchInts(pop.cum, n+1)]
}

// live returns a recently started process still running at t, or nil.
func (pop *population) live(g *gen, t time.Time) *proc {
	for try := 0; try < 4; try++ {
		if p := pop.recent[g.rng.IntN(len(pop.recent))]; p != nil && p.end.After(t) {
			return p
		}
	}
	return nil
}

// populationActivity starts one process of h's population at t with its
// image loads, connections and DNS queries (the Sysmon profiles).
func (g *gen) populationActivity(h *host, t time.Time) {
	if h.pop == nil {
		h.pop = newPopulation(g, h)
	}
	pop := h.pop
	prog := pop.program(g)
	o := spawnOpt{quietExit: true, quietCreate: g.rng.Float64() >= g.prof.created, meta: prog.meta}
	var parent *proc
	switch prog.class {
	case progService:
		o.acct = pick(g, []*account{h.systemAcct, h.systemAcct, h.netSvc, h.localSvc})
		o.integrity = "System"
		if parent = pop.live(g, t); parent == nil || !parent.acct.system || g.rng.IntN(2) == 0 {
			parent = pick(g, pop.services)
		}
	case progUser:
		o.acct, o.integrity, o.cwd = h.user, "Medium", h.userDir()+`\`
		if parent = pop.live(g, t); parent == nil || parent.acct != h.user || g.rng.IntN(2) == 0 {
			parent = pick(g, pop.userRoots)
		}
	default:
		if parent = pop.live(g, t); parent == nil {
			parent = pick(g, append(pop.userRoots, pop.services...))
		}
	}
	cmd := `"` + prog.img + `"`
	if a := pick(g, prog.args); a != "" {
		cmd += " " + a
	}
	if prog.unique {
		cmd += fmt.Sprintf("%08X-%04X", g.rng.Uint32(), g.rng.IntN(0x10000))
	}
	if g.rng.IntN(5) == 0 {
		o.life = g.jitter(time.Minute, 20*time.Minute)
	} else {
		o.life = g.jitter(500*time.Millisecond, time.Minute)
	}
	p := h.spawn(parent, t, prog.img, cmd, o)
	pop.recent[pop.next] = p
	pop.next = (pop.next + 1) % len(pop.recent)

	loads, network, dns := g.prof.activity(g)
	at := func() time.Time { return t.Add(g.jitter(time.Millisecond, o.life-time.Millisecond)) }
	for i := 0; i < loads; i++ {
		dll := pick(g, pop.sysDLLs)
		signer := "Microsoft Windows"
		if len(prog.dlls) > 0 && prog.meta != nil && g.rng.IntN(2) == 0 {
			dll, signer = pick(g, prog.dlls), prog.meta.company
		}
		h.load(p, t.Add(g.jitter(2*time.Millisecond, 400*time.Millisecond)), dll, true, signer, "")
	}
	// Traffic is the new process's or a long-lived one's (a service host,
	// a browser, another recent process).
	actor := func() *proc {
		if g.prof.ownTraffic >= 1 || g.rng.Float64() < g.prof.ownTraffic {
			return p
		}
		if q := pop.live(g, t); q != nil {
			return q
		}
		return pick(g, pop.services)
	}
	for i := 0; i < dns; i++ {
		s := pick(g, pop.sites)
		h.dns(actor(), at(), s.name, s.ip, "")
	}
	for i := 0; i < network; i++ {
		s := pick(g, pop.sites)
		h.connect(actor(), at(), s.name, s.ip, pick(g, []uint16{443, 443, 443, 80, 445}), "")
	}
}
