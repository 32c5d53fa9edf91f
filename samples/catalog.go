package samples

import "strings"

// Image paths used by the generator and the truth.
const (
	imgRegsvr32     = `C:\Windows\System32\regsvr32.exe`
	imgRegsvr32Wow  = `C:\Windows\SysWOW64\regsvr32.exe`
	imgWerFault     = `C:\Windows\System32\WerFault.exe`
	imgWerFaultWow  = `C:\Windows\SysWOW64\WerFault.exe`
	imgWevtutil     = `C:\Windows\System32\wevtutil.exe`
	imgSvchost      = `C:\Windows\System32\svchost.exe`
	imgExplorer     = `C:\Windows\explorer.exe`
	imgCmd          = `C:\Windows\System32\cmd.exe`
	imgPowerShell   = `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`
	imgRundll32     = `C:\Windows\System32\rundll32.exe`
	imgCalc         = `C:\Windows\System32\calc.exe`
	imgConhost      = `C:\Windows\System32\conhost.exe`
	imgWscript      = `C:\Windows\System32\wscript.exe`
	imgMshta        = `C:\Windows\System32\mshta.exe`
	imgNotepad      = `C:\Windows\System32\notepad.exe`
	imgMsiexec      = `C:\Windows\System32\msiexec.exe`
	imgWinword      = `C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`
	imgExcel        = `C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE`
	imgOutlook      = `C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE`
	imgChrome       = `C:\Program Files\Google\Chrome\Application\chrome.exe`
	imgEdge         = `C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe`
	imgFirefox      = `C:\Program Files\Mozilla Firefox\firefox.exe`
	imgTeams        = `C:\Program Files\WindowsApps\MSTeams_24193.1805.3040.8975_x64__8wekyb3d8bbwe\ms-teams.exe`
	imgGoogleUpdate = `C:\Program Files (x86)\Google\Update\GoogleUpdate.exe`
	imgEdgeUpdate   = `C:\Program Files (x86)\Microsoft\EdgeUpdate\MicrosoftEdgeUpdate.exe`
	imgOneDriveUpd  = `C:\Users\%s\AppData\Local\Microsoft\OneDrive\OneDriveStandaloneUpdater.exe`
	imgScrobj       = `C:\Windows\System32\scrobj.dll`
)

// peInfo is the version resource Sysmon reports for an image.
type peInfo struct {
	version, description, product, company, original string
}

const (
	winVersion = "10.0.19041.1 (WinBuild.160101.0800)"
	winProduct = "Microsoft® Windows® Operating System"
	msCompany  = "Microsoft Corporation"
)

// metaFor returns the version resource of a known image by file name;
// unknown images (dropped tools, malware) report "-" throughout.
func metaFor(path string) peInfo {
	base := path
	if i := strings.LastIndexByte(path, '\\'); i >= 0 {
		base = path[i+1:]
	}
	key := strings.ToLower(base)
	win := func(desc, orig string) peInfo {
		return peInfo{winVersion, desc, winProduct, msCompany, orig}
	}
	switch key {
	case "regsvr32.exe":
		return win("Microsoft(C) Register Server", "REGSVR32.EXE")
	case "cmd.exe":
		return win("Windows Command Processor", "Cmd.Exe")
	case "powershell.exe":
		return win("Windows PowerShell", "PowerShell.EXE")
	case "rundll32.exe":
		return win("Windows host process (Rundll32)", "RUNDLL32.EXE")
	case "calc.exe":
		return win("Windows Calculator", "CALC.EXE")
	case "conhost.exe":
		return win("Console Window Host", "CONHOST.EXE")
	case "wscript.exe":
		return win("Microsoft ® Windows Based Script Host", "wscript.exe")
	case "mshta.exe":
		return win("Microsoft (R) HTML Application host", "MSHTA.EXE")
	case "notepad.exe":
		return win("Notepad", "NOTEPAD.EXE")
	case "msiexec.exe":
		return win("Windows® installer", "msiexec.exe")
	case "svchost.exe":
		return win("Host Process for Windows Services", "svchost.exe")
	case "explorer.exe":
		return win("Windows Explorer", "EXPLORER.EXE")
	case "werfault.exe":
		return win("Windows Problem Reporting", "WerFault.exe")
	case "taskhostw.exe":
		return win("Host Process for Windows Tasks", "taskhostw.exe")
	case "backgroundtaskhost.exe":
		return win("Background Task Host", "backgroundTaskHost.exe")
	case "runtimebroker.exe":
		return win("Runtime Broker", "RuntimeBroker.exe")
	case "wmiprvse.exe":
		return win("WMI Provider Host", "Wmiprvse.exe")
	case "searchprotocolhost.exe":
		return win("Microsoft Windows Search Protocol Host", "SearchProtocolHost.exe")
	case "searchfilterhost.exe":
		return win("Microsoft Windows Search Filter Host", "SearchFilterHost.exe")
	case "sppsvc.exe":
		return win("Microsoft Software Protection Platform Service", "sppsvc.exe")
	case "ipconfig.exe":
		return win("IP Configuration Utility", "ipconfig.exe")
	case "whoami.exe":
		return win("whoami - displays logged on user information", "whoami.exe")
	case "ping.exe":
		return win("TCP/IP Ping Command", "ping.exe")
	case "net.exe":
		return win("Net Command", "net.exe")
	case "tasklist.exe":
		return win("Lists the current running tasks", "tasklist.exe")
	case "gpupdate.exe":
		return win("Microsoft® Group Policy Update Utility", "GPUpdate.exe")
	case "consent.exe":
		return win("Consent UI for administrative applications", "consent.exe")
	case "userinit.exe", "wininit.exe", "services.exe", "lsass.exe", "searchindexer.exe":
		return win(base, base)
	case "winword.exe":
		return peInfo{"16.0.17928.20156", "Microsoft Word", "Microsoft Office", msCompany, "WinWord.exe"}
	case "excel.exe":
		return peInfo{"16.0.17928.20156", "Microsoft Excel", "Microsoft Office", msCompany, "Excel.exe"}
	case "outlook.exe":
		return peInfo{"16.0.17928.20156", "Microsoft Outlook", "Microsoft Outlook", msCompany, "Outlook.exe"}
	case "chrome.exe":
		return peInfo{"130.0.6723.117", "Google Chrome", "Google Chrome", "Google LLC", "chrome.exe"}
	case "msedge.exe":
		return peInfo{"130.0.2849.80", "Microsoft Edge", "Microsoft Edge", msCompany, "msedge.exe"}
	case "firefox.exe":
		return peInfo{"132.0.1", "Firefox", "Firefox", "Mozilla Corporation", "firefox.exe"}
	case "ms-teams.exe":
		return peInfo{"24193.1805.3040.8975", "Microsoft Teams", "Microsoft Teams", msCompany, "ms-teams.exe"}
	case "googleupdate.exe":
		return peInfo{"1.3.36.372", "Google Installer", "Google Update", "Google LLC", "GoogleUpdate.exe"}
	case "microsoftedgeupdate.exe":
		return peInfo{"1.3.195.31", "Microsoft Edge Update", "Microsoft Edge Update", msCompany, "msedgeupdate.dll"}
	case "onedrivestandaloneupdater.exe":
		return peInfo{"24.201.1006.0005", "Standalone Updater", "Microsoft OneDrive", msCompany, "OneDriveStandaloneUpdater.exe"}
	case "mpcmdrun.exe":
		return peInfo{"4.18.24090.11 (WinBuild.160101.0800)", "Microsoft Malware Protection Command Line Utility", "Microsoft® Windows® Operating System", msCompany, "MpCmdRun.exe"}
	case "msmpeng.exe":
		return peInfo{"4.18.24090.11 (WinBuild.160101.0800)", "Antimalware Service Executable", "Microsoft® Windows® Operating System", msCompany, "MsMpEng.exe"}
	case "sysmon64.exe":
		return peInfo{"15.15", "System activity monitor", "Sysinternals Sysmon", "Sysinternals - www.sysinternals.com", "Sysmon.exe"}
	case "scrobj.dll":
		return win("Windows ® Script Component Runtime", "scrobj.dll")
	case "jscript.dll":
		return win("Microsoft ® JScript", "jscript.dll")
	case "vbscript.dll":
		return win("Microsoft ® VBScript", "vbscript.dll")
	case "urlmon.dll":
		return peInfo{"11.00.19041.4355 (WinBuild.160101.0800)", "OLE32 Extensions for Win32", "Internet Explorer", msCompany, "UrlMon.dll"}
	case "wininet.dll":
		return peInfo{"11.00.19041.4355 (WinBuild.160101.0800)", "Internet Extensions for Win32", "Internet Explorer", msCompany, "wininet.dll"}
	case "ntdll.dll":
		return win("NT Layer DLL", "ntdll.dll")
	case "kernel32.dll":
		return win("Windows NT BASE API Client DLL", "kernel32")
	case "mso.dll", "mso20win32client.dll", "mso30win32client.dll", "mso40uiwin32client.dll", "wwlib.dll", "oart.dll":
		return peInfo{"16.0.17928.20156", "Microsoft Office component", "Microsoft Office", msCompany, base}
	}
	if strings.HasSuffix(key, ".dll") && strings.HasPrefix(strings.ToLower(path), `c:\program files`) {
		return peInfo{"3.2.1.0", "Vendor component", "Vendor Suite", "Contoso Software Ltd.", base}
	}
	return peInfo{"-", "-", "-", "-", "-"}
}
