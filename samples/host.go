package samples

import (
	"fmt"
	"strconv"
	"time"

	"github.com/evtriage/evtriage/parser"
)

// account is a security context a process runs in.
type account struct {
	name, domain, sid string
	logon             uint64
	logonGUID         string
	session           uint32
	system            bool // a well-known service account (SYSTEM, LOCAL/NETWORK SERVICE)
}

// proc is a process on a generated host.
type proc struct {
	h          *host
	pid        uint32
	guid       string
	img, cmd   string
	cwd        string
	acct       *account
	integrity  string // Low, Medium, High, System
	parent     *proc
	start, end time.Time
	meta       peInfo
	// keys of the creation events once written (zero if not)
	sysKey, secKey EventKey
	released       bool
}

// host is a generated Windows machine.
type host struct {
	g          *gen
	idx        int
	short      string // NetBIOS name
	fqdn       string // Computer
	domain     string
	form       logForm
	ip         string
	guidPrefix uint32
	next       time.Time
	thresholds []float64
	chainsDone int
	live       map[uint32]int // pid -> holders
	recID      map[string]uint64
	sysmonPID  uint32
	guidSeq    uint64
	pop        *population // the Sysmon profiles' process population

	systemAcct, localSvc, netSvc, user *account
	// processes running before the log begins
	system, services, wininit, lsass, svcNet, svcSched, svcDcom, svcLocal, explorer, searchIdx, msmpeng, sysmon *proc
}

// userNames returns the account names hosts' users get.
func userNames() []string {
	return []string{"jdoe", "asmith", "mkowalski", "lchen", "rpatel", "ebrown", "tnguyen", "kmuller"}
}

func newHost(g *gen, idx int, form logForm) *host {
	h := &host{
		g:      g,
		idx:    idx,
		short:  fmt.Sprintf("WS-%03d", idx+1),
		domain: "CORP",
		form:   form,
		ip:     fmt.Sprintf("10.20.%d.%d", idx/200, 20+idx%200),
		live:   make(map[uint32]int),
		recID:  make(map[string]uint64),
	}
	if idx == 0 && g.sc.Name == "demo" {
		h.short = "FIN-WS-042"
	}
	h.fqdn = h.short + ".corp.example.com"
	h.guidPrefix = 0x365A0000 | uint32(g.rng.IntN(0xFFFF))
	h.systemAcct = &account{name: "SYSTEM", domain: "NT AUTHORITY", sid: "S-1-5-18", logon: 0x3e7, system: true}
	h.localSvc = &account{name: "LOCAL SERVICE", domain: "NT AUTHORITY", sid: "S-1-5-19", logon: 0x3e5, system: true}
	h.netSvc = &account{name: "NETWORK SERVICE", domain: "NT AUTHORITY", sid: "S-1-5-20", logon: 0x3e4, system: true}
	for _, a := range []*account{h.systemAcct, h.localSvc, h.netSvc} {
		a.logonGUID = h.guid(uint32(a.logon), 0x0020, uint64(a.logon))
	}
	names := userNames()
	u := names[(idx+int(g.opts.Seed%int64(len(names)))+len(names))%len(names)]
	ul := uint64(0x20000 + g.rng.IntN(0x3ffff))
	h.user = &account{name: u, domain: h.domain, sid: fmt.Sprintf("S-1-5-21-3623811015-3361044348-30300820-%d", 1104+idx%900),
		logon: ul, session: 1}
	h.user.logonGUID = h.guid(uint32(ul), 0x0020, ul)
	h.sysmonPID = h.alloc()

	boot := g.opts.Start.Add(-time.Duration(2+g.rng.IntN(70)) * time.Hour)
	old := func(parent *proc, img, cmd string, a *account, integrity string) *proc {
		p := &proc{h: h, pid: h.alloc(), img: img, cmd: cmd, cwd: `C:\Windows\system32\`, acct: a, integrity: integrity,
			parent: parent, start: boot.Add(time.Duration(g.rng.IntN(90_000)) * time.Millisecond), meta: metaFor(img)}
		p.guid = h.procGUID(p.start)
		return p
	}
	h.system = &proc{h: h, pid: 4, img: "System", cmd: "", acct: h.systemAcct, integrity: "System", start: boot}
	h.live[4] = 1
	h.wininit = old(nil, `C:\Windows\System32\wininit.exe`, "wininit.exe", h.systemAcct, "System")
	h.services = old(h.wininit, `C:\Windows\System32\services.exe`, `C:\Windows\system32\services.exe`, h.systemAcct, "System")
	h.lsass = old(h.wininit, `C:\Windows\System32\lsass.exe`, `C:\Windows\system32\lsass.exe`, h.systemAcct, "System")
	h.svcDcom = old(h.services, imgSvchost, `C:\Windows\system32\svchost.exe -k DcomLaunch -p`, h.systemAcct, "System")
	h.svcNet = old(h.services, imgSvchost, `C:\Windows\system32\svchost.exe -k netsvcs -p`, h.systemAcct, "System")
	h.svcSched = old(h.services, imgSvchost, `C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule`, h.systemAcct, "System")
	h.svcLocal = old(h.services, imgSvchost, `C:\Windows\System32\svchost.exe -k LocalServiceNetworkRestricted -p`, h.localSvc, "System")
	h.searchIdx = old(h.services, `C:\Windows\System32\SearchIndexer.exe`, `C:\Windows\system32\SearchIndexer.exe /Embedding`, h.systemAcct, "System")
	h.msmpeng = old(h.services, `C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MsMpEng.exe`, `"C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MsMpEng.exe"`, h.systemAcct, "System")
	h.sysmon = old(h.services, `C:\Windows\Sysmon64.exe`, `C:\Windows\Sysmon64.exe`, h.systemAcct, "System")
	h.sysmon.pid = h.sysmonPID
	userinit := old(h.wininit, `C:\Windows\System32\userinit.exe`, `C:\Windows\system32\userinit.exe`, h.user, "Medium")
	h.explorer = old(userinit, imgExplorer, `C:\Windows\Explorer.EXE`, h.user, "Medium")
	h.explorer.cwd = `C:\Windows\system32\`
	return h
}

// guid formats a Sysmon-style GUID for this host.
func (h *host) guid(d2d3 uint32, d4hi uint16, low uint64) string {
	return fmt.Sprintf("{%08X-%04X-%04X-%04X-%012X}", h.guidPrefix, uint16(d2d3), uint16(d2d3>>16), d4hi, low&0xFFFFFFFFFFFF)
}

// procGUID returns a new ProcessGuid for a process started at t.
func (h *host) procGUID(t time.Time) string {
	h.guidSeq++
	return h.guid(uint32(t.Unix()), 0x0010, 0x1000000+h.guidSeq*0x1d3+uint64(h.g.rng.IntN(0x100)))
}

// alloc returns a free process id (a multiple of 4, as on Windows), below
// 12400 unless nearly all of those are taken.
func (h *host) alloc() uint32 {
	span := 3000
	if len(h.live) > 2900 {
		span = 16000
	}
	for {
		pid := uint32(100+h.g.rng.IntN(span)) * 4
		if h.live[pid] == 0 {
			h.live[pid] = 1
			return pid
		}
	}
}

func (h *host) release(pid uint32) {
	if h.live[pid] > 1 {
		h.live[pid]--
		return
	}
	delete(h.live, pid)
}

// spawnOpt holds the optional parts of a process creation.
type spawnOpt struct {
	cwd       string
	acct      *account
	integrity string
	role      string
	meta      *peInfo // default: metaFor(img)
	pid       uint32  // forced pid (PID reuse); 0 allocates
	life      time.Duration
	noExit    bool
	// quietCreate and quietExit start or end the process without logging
	// it (a rolled-over log, a Sysmon config without event 1 or 5): its
	// activity is still logged and its process id still released.
	quietCreate, quietExit bool
}

// spawn creates a process started by parent at t and queues its creation
// (and, unless noExit, its exit after life) in the host's logs.
func (h *host) spawn(parent *proc, t time.Time, img, cmd string, o spawnOpt) *proc {
	g := h.g
	p := &proc{h: h, img: img, cmd: cmd, parent: parent, start: t}
	if o.pid != 0 {
		p.pid = o.pid
		h.live[o.pid]++
	} else {
		p.pid = h.alloc()
	}
	p.guid = h.procGUID(t)
	p.acct = o.acct
	if p.acct == nil {
		p.acct = parent.acct
	}
	p.integrity = o.integrity
	if p.integrity == "" {
		p.integrity = parent.integrity
	}
	p.cwd = o.cwd
	if p.cwd == "" {
		p.cwd = parent.cwd
		if p.cwd == "" {
			p.cwd = `C:\Windows\system32\`
		}
	}
	if o.meta != nil {
		p.meta = *o.meta
	} else {
		p.meta = metaFor(img)
	}
	life := o.life
	if life == 0 {
		life = g.jitter(800*time.Millisecond, 40*time.Second)
	}
	p.end = t.Add(life)
	if !o.quietCreate {
		if h.form.sysmon {
			g.push(h, t, h.sysmon1(p), p, kindCreate, o.role)
		}
		if h.form.security != 0 {
			g.push(h, t.Add(time.Duration(g.rng.IntN(3)+1)*time.Millisecond), h.sec4688(p), p, kindCreate, o.role)
		}
	}
	switch {
	case o.quietExit:
		g.push(h, p.end, nil, p, kindExit, o.role)
	case !o.noExit:
		h.exit(p, p.end, o.role)
	}
	return p
}

// exit queues the process's termination at t.
func (h *host) exit(p *proc, t time.Time, role string) {
	g := h.g
	if h.form.sysmon {
		g.push(h, t, h.sysmon5(p, t), p, kindExit, role)
	}
	if h.form.security != 0 {
		g.push(h, t.Add(time.Millisecond), h.sec4689(p), p, kindExit, role)
	}
}

// load queues a Sysmon 7 image load by p (Sysmon hosts only).
func (h *host) load(p *proc, t time.Time, dll string, signed bool, signer string, role string) {
	if !h.form.sysmon {
		return
	}
	m := metaFor(dll)
	sig, status := signer, "Valid"
	if !signed {
		sig, status = "-", "Unavailable"
	}
	ev := h.sysmonEvent(7, 3)
	ev.Fields = append(sysmonHead(p, t), []parser.Field{
		{Name: "Image", Value: p.img},
		{Name: "ImageLoaded", Value: dll},
		{Name: "FileVersion", Value: m.version},
		{Name: "Description", Value: m.description},
		{Name: "Product", Value: m.product},
		{Name: "Company", Value: m.company},
		{Name: "OriginalFileName", Value: m.original},
		{Name: "Hashes", Value: h.g.hashesOf(dll)},
		{Name: "Signed", Value: strconv.FormatBool(signed)},
		{Name: "Signature", Value: sig},
		{Name: "SignatureStatus", Value: status},
		{Name: "User", Value: p.acct.qualified()},
	}...)
	h.g.push(h, t, ev, p, kindOther, role)
}

// dns queues a Sysmon 22 query by p.
func (h *host) dns(p *proc, t time.Time, name, ip, role string) {
	if !h.form.sysmon {
		return
	}
	ev := h.sysmonEvent(22, 5)
	ev.Fields = append(sysmonHead(p, t), []parser.Field{
		{Name: "QueryName", Value: name},
		{Name: "QueryStatus", Value: "0"},
		{Name: "QueryResults", Value: "::ffff:" + ip + ";"},
		{Name: "Image", Value: p.img},
		{Name: "User", Value: p.acct.qualified()},
	}...)
	h.g.push(h, t, ev, p, kindOther, role)
}

// connect queues a Sysmon 3 outbound TCP connection by p.
func (h *host) connect(p *proc, t time.Time, dstHost, dstIP string, port uint16, role string) {
	if !h.form.sysmon {
		return
	}
	portName := "-"
	switch port {
	case 443:
		portName = "https"
	case 80:
		portName = "http"
	case 445:
		portName = "microsoft-ds"
	case 88:
		portName = "kerberos"
	}
	if dstHost == "" {
		dstHost = "-"
	}
	ev := h.sysmonEvent(3, 5)
	ev.Fields = append(sysmonHead(p, t), []parser.Field{
		{Name: "Image", Value: p.img},
		{Name: "User", Value: p.acct.qualified()},
		{Name: "Protocol", Value: "tcp"},
		{Name: "Initiated", Value: "true"},
		{Name: "SourceIsIpv6", Value: "false"},
		{Name: "SourceIp", Value: h.ip},
		{Name: "SourceHostname", Value: h.fqdn},
		{Name: "SourcePort", Value: u32(uint32(49152 + h.g.rng.IntN(16000)))},
		{Name: "SourcePortName", Value: "-"},
		{Name: "DestinationIsIpv6", Value: "false"},
		{Name: "DestinationIp", Value: dstIP},
		{Name: "DestinationHostname", Value: dstHost},
		{Name: "DestinationPort", Value: u32(uint32(port))},
		{Name: "DestinationPortName", Value: portName},
	}...)
	h.g.push(h, t, ev, p, kindOther, role)
}

func (h *host) sysmonEvent(id uint16, version uint8) *parser.Event {
	return &parser.Event{
		Provider: provSysmon, ProviderGUID: provSysmonGUID, Channel: chanSysmon,
		EventID: id, Version: version, Level: 4, Task: id, Keywords: 0x8000000000000000,
		ProcessID: h.sysmonPID, ThreadID: h.sysmonPID + 4 + uint32(h.g.rng.IntN(4))*4, UserID: "S-1-5-18",
	}
}

func (h *host) secEvent(id uint16, version uint8, task uint16) *parser.Event {
	return &parser.Event{
		Provider: provSecurity, ProviderGUID: provSecurityGUID, Channel: chanSecurity,
		EventID: id, Version: version, Level: 0, Task: task, Keywords: 0x8020000000000000,
		ProcessID: 4, ThreadID: uint32(100+h.g.rng.IntN(60)) * 4,
	}
}

// sysmon1 is the Sysmon process creation event (Sysmon 13+, version 5).
func (h *host) sysmon1(p *proc) *parser.Event {
	ev := h.sysmonEvent(1, 5)
	par := p.parent
	ev.Fields = []parser.Field{
		{Name: "RuleName", Value: "-"},
		{Name: "UtcTime", Value: utc(p.start)},
		{Name: "ProcessGuid", Value: p.guid},
		{Name: "ProcessId", Value: u32(p.pid)},
		{Name: "Image", Value: p.img},
		{Name: "FileVersion", Value: p.meta.version},
		{Name: "Description", Value: p.meta.description},
		{Name: "Product", Value: p.meta.product},
		{Name: "Company", Value: p.meta.company},
		{Name: "OriginalFileName", Value: p.meta.original},
		{Name: "CommandLine", Value: p.cmd},
		{Name: "CurrentDirectory", Value: p.cwd},
		{Name: "User", Value: p.acct.qualified()},
		{Name: "LogonGuid", Value: p.acct.logonGUID},
		{Name: "LogonId", Value: hexInt(p.acct.logon)},
		{Name: "TerminalSessionId", Value: u32(p.acct.session)},
		{Name: "IntegrityLevel", Value: p.integrity},
		{Name: "Hashes", Value: h.g.hashesOf(p.img)},
		{Name: "ParentProcessGuid", Value: par.guid},
		{Name: "ParentProcessId", Value: u32(par.pid)},
		{Name: "ParentImage", Value: par.img},
		{Name: "ParentCommandLine", Value: par.cmd},
		{Name: "ParentUser", Value: par.acct.qualified()},
	}
	return ev
}

// sysmon5 is the Sysmon process termination event.
func (h *host) sysmon5(p *proc, t time.Time) *parser.Event {
	ev := h.sysmonEvent(5, 3)
	ev.Fields = append(sysmonHead(p, t), []parser.Field{
		{Name: "Image", Value: p.img},
		{Name: "User", Value: p.acct.qualified()},
	}...)
	return ev
}

// sec4688 is the Security process creation event in the host's version,
// with or without the command line.
func (h *host) sec4688(p *proc) *parser.Event {
	ev := h.secEvent(4688, h.form.security, 13312)
	creator := p.parent.acct
	subjName, subjDom := creator.name, creator.domain
	if creator.sid == "S-1-5-18" {
		subjName, subjDom = h.short+"$", h.domain
	}
	cmd := p.cmd
	if !h.form.cmdline {
		cmd = ""
	}
	ev.Fields = []parser.Field{
		{Name: "SubjectUserSid", Value: creator.sid},
		{Name: "SubjectUserName", Value: subjName},
		{Name: "SubjectDomainName", Value: subjDom},
		{Name: "SubjectLogonId", Value: hexInt(creator.logon)},
		{Name: "NewProcessId", Value: hexInt(uint64(p.pid))},
		{Name: "NewProcessName", Value: p.img},
		{Name: "TokenElevationType", Value: elevation(p)},
		{Name: "ProcessId", Value: hexInt(uint64(p.parent.pid))},
		{Name: "CommandLine", Value: cmd},
	}
	if h.form.security >= 2 {
		ev.Fields = append(ev.Fields,
			parser.Field{Name: "TargetUserSid", Value: "S-1-0-0"},
			parser.Field{Name: "TargetUserName", Value: "-"},
			parser.Field{Name: "TargetDomainName", Value: "-"},
			parser.Field{Name: "TargetLogonId", Value: hexInt(0)},
			parser.Field{Name: "ParentProcessName", Value: p.parent.img},
			parser.Field{Name: "MandatoryLabel", Value: mandatoryLabel(p.integrity)},
		)
	}
	return ev
}

// sec4689 is the Security process termination event (version 0).
func (h *host) sec4689(p *proc) *parser.Event {
	ev := h.secEvent(4689, 0, 13313)
	a := p.acct
	name, dom := a.name, a.domain
	if a.sid == "S-1-5-18" {
		name, dom = h.short+"$", h.domain
	}
	ev.Fields = []parser.Field{
		{Name: "SubjectUserSid", Value: a.sid},
		{Name: "SubjectUserName", Value: name},
		{Name: "SubjectDomainName", Value: dom},
		{Name: "SubjectLogonId", Value: hexInt(a.logon)},
		{Name: "Status", Value: hexInt(0)},
		{Name: "ProcessId", Value: hexInt(uint64(p.pid))},
		{Name: "ProcessName", Value: p.img},
	}
	return ev
}

// sysmonHead returns the fields every Sysmon event about process p starts
// with: RuleName, UtcTime (t), ProcessGuid, ProcessId.
func sysmonHead(p *proc, t time.Time) []parser.Field {
	return []parser.Field{
		{Name: "RuleName", Value: "-"},
		{Name: "UtcTime", Value: utc(t)},
		{Name: "ProcessGuid", Value: p.guid},
		{Name: "ProcessId", Value: u32(p.pid)},
	}
}

// qualified returns DOMAIN\name as Sysmon prints it.
func (a *account) qualified() string { return a.domain + `\` + a.name }

func elevation(p *proc) string {
	switch {
	case p.acct.system:
		return "%%1936"
	case p.integrity == "High":
		return "%%1937"
	}
	return "%%1938"
}

func mandatoryLabel(integrity string) string {
	switch integrity {
	case "Low":
		return "S-1-16-4096"
	case "High":
		return "S-1-16-12288"
	case "System":
		return "S-1-16-16384"
	}
	return "S-1-16-8192"
}

func utc(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000") }

func u32(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

// hexInt renders a HexInt32/HexInt64 value as Windows does in event XML:
// 0x and lower-case hex without zero padding (0x3e7). The writer stores
// such a value with the HexInt type Windows uses for the field.
func hexInt(v uint64) string { return "0x" + strconv.FormatUint(v, 16) }

// userDir returns the user's profile folder.
func (h *host) userDir() string { return `C:\Users\` + h.user.name }
