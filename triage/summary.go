package triage

import (
	"strconv"
	"strings"

	"github.com/evtriage/evtriage/internal/winpath"
	"github.com/evtriage/evtriage/parser"
)

// One line per event, for timelines: the log's short name and a summary
// of the fields that say what happened. Both are raw evidence text (the
// caller escapes them before they are shown).

// channelNames is the name table of the logs a responder meets most, with
// the short name a timeline shows. Other channels are shortened by rule
// (ChannelShort).
var channelNames = [...]struct{ channel, short string }{
	{"Microsoft-Windows-Sysmon/Operational", "Sysmon"},
	{"Security", "Security"},
	{"System", "System"},
	{"Application", "Application"},
	{"Setup", "Setup"},
	{"Microsoft-Windows-PowerShell/Operational", "PowerShell"},
	{"Windows PowerShell", "WinPS"},
	{"PowerShellCore/Operational", "pwsh"},
	{"Microsoft-Windows-Windows Defender/Operational", "Defender"},
	{"Microsoft-Windows-TaskScheduler/Operational", "TaskSched"},
	{"Microsoft-Windows-TerminalServices-LocalSessionManager/Operational", "RDP-LSM"},
	{"Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational", "RDP-RCM"},
	{"Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational", "RDP-Core"},
	{"Microsoft-Windows-WMI-Activity/Operational", "WMI"},
	{"Microsoft-Windows-Bits-Client/Operational", "BITS"},
	{"Microsoft-Windows-WinRM/Operational", "WinRM"},
	{"Microsoft-Windows-DNS-Client/Operational", "DNS-Client"},
	{"Microsoft-Windows-CAPI2/Operational", "CAPI2"},
	{"Microsoft-Windows-CodeIntegrity/Operational", "CodeInteg"},
	{"Microsoft-Windows-AppLocker/EXE and DLL", "AppLocker"},
	{"Microsoft-Windows-Windows Firewall With Advanced Security/Firewall", "Firewall"},
	{"Microsoft-Windows-SMBServer/Security", "SMBServer"},
	{"Microsoft-Windows-NTLM/Operational", "NTLM"},
	{"ForwardedEvents", "Forwarded"},
}

// ChannelShort is a channel's short name: the table's for the common logs
// ("Sysmon", "PowerShell", "Defender"…), otherwise the channel without the
// "Microsoft-Windows-" prefix and an "/Operational" suffix.
func ChannelShort(channel string) string {
	for _, c := range channelNames {
		if strings.EqualFold(c.channel, channel) {
			return c.short
		}
	}
	s := channel
	if len(s) > len("Microsoft-Windows-") && strings.EqualFold(s[:len("Microsoft-Windows-")], "Microsoft-Windows-") {
		s = s[len("Microsoft-Windows-"):]
	}
	if i := strings.LastIndexByte(s, '/'); i > 0 && strings.EqualFold(s[i+1:], "Operational") {
		s = s[:i]
	}
	return s
}

// part is one piece of an event's summary: a field's value, with a label
// before it (label "" shows the value alone), shortened to the file name
// (base) when it is a path; a glued part follows the piece before it
// without a space (host:port, DOMAIN\user); a command line (cmd) replaces
// the image before it when it starts with that program.
type part struct {
	label, field    string
	base, glue, cmd bool
}

func val(f string) part        { return part{field: f} }
func baseOf(f string) part     { return part{field: f, base: true} }
func lab(l, f string) part     { return part{label: l, field: f} }
func text(s string) part       { return part{label: s} }
func labBase(l, f string) part { return part{label: l, field: f, base: true} }
func glued(sep, f string) part { return part{label: sep, field: f, glue: true} }
func cmdline(f string) part    { return part{field: f, cmd: true} }

// summaries is the name table of event summaries: for a log (by its
// channel's short name) and event id, the pieces that say what happened.
// An event not listed shows its first fields as name=value.
var summaries = map[summaryKey][]part{
	// Sysmon
	{"Sysmon", 1}:   {baseOf("Image"), cmdline("CommandLine")},
	{"Sysmon", 2}:   {baseOf("Image"), text("changed the time of"), val("TargetFilename")},
	{"Sysmon", 3}:   {baseOf("Image"), val("Protocol"), lab("→", "DestinationIp"), glued(":", "DestinationPort"), val("DestinationHostname")},
	{"Sysmon", 4}:   {text("Sysmon state"), val("State")},
	{"Sysmon", 5}:   {baseOf("Image"), text("ended")},
	{"Sysmon", 6}:   {text("driver"), val("ImageLoaded"), lab("signed", "Signed")},
	{"Sysmon", 7}:   {baseOf("Image"), text("loads"), val("ImageLoaded"), lab("signed", "Signed")},
	{"Sysmon", 8}:   {baseOf("SourceImage"), text("remote thread in"), baseOf("TargetImage")},
	{"Sysmon", 9}:   {baseOf("Image"), text("raw read of"), val("Device")},
	{"Sysmon", 10}:  {baseOf("SourceImage"), text("opens"), baseOf("TargetImage"), lab("access", "GrantedAccess")},
	{"Sysmon", 11}:  {baseOf("Image"), text("creates"), val("TargetFilename")},
	{"Sysmon", 12}:  {baseOf("Image"), val("EventType"), val("TargetObject")},
	{"Sysmon", 13}:  {baseOf("Image"), val("EventType"), val("TargetObject"), lab("=", "Details")},
	{"Sysmon", 14}:  {baseOf("Image"), val("EventType"), val("TargetObject"), lab("→", "NewName")},
	{"Sysmon", 15}:  {baseOf("Image"), text("stream"), val("TargetFilename")},
	{"Sysmon", 16}:  {text("Sysmon configuration changed"), val("Configuration")},
	{"Sysmon", 17}:  {baseOf("Image"), text("creates pipe"), val("PipeName")},
	{"Sysmon", 18}:  {baseOf("Image"), text("connects pipe"), val("PipeName")},
	{"Sysmon", 19}:  {text("WMI filter"), val("Name"), val("Query")},
	{"Sysmon", 20}:  {text("WMI consumer"), val("Name"), val("Destination")},
	{"Sysmon", 21}:  {text("WMI binding"), val("Consumer"), lab("→", "Filter")},
	{"Sysmon", 22}:  {baseOf("Image"), text("DNS"), val("QueryName"), lab("→", "QueryResults")},
	{"Sysmon", 23}:  {baseOf("Image"), text("deletes"), val("TargetFilename")},
	{"Sysmon", 24}:  {baseOf("Image"), text("clipboard"), val("Hashes")},
	{"Sysmon", 25}:  {baseOf("Image"), text("tampering:"), val("Type")},
	{"Sysmon", 26}:  {baseOf("Image"), text("deletes"), val("TargetFilename")},
	{"Sysmon", 27}:  {baseOf("Image"), text("blocked executable"), val("TargetFilename")},
	{"Sysmon", 28}:  {baseOf("Image"), text("blocked shredding"), val("TargetFilename")},
	{"Sysmon", 29}:  {baseOf("Image"), text("executable detected"), val("TargetFilename")},
	{"Sysmon", 255}: {text("Sysmon error"), val("ID"), val("Description")},
	// Security
	{"Security", 1100}: {text("event logging service shut down")},
	{"Security", 1102}: {text("audit log cleared by"), val("SubjectUserName")},
	{"Security", 4624}: {text("logon"), val("TargetDomainName"), glued(`\`, "TargetUserName"), lab("type", "LogonType"), lab("from", "IpAddress"), val("WorkstationName")},
	{"Security", 4625}: {text("failed logon"), val("TargetDomainName"), glued(`\`, "TargetUserName"), lab("type", "LogonType"), lab("from", "IpAddress"), lab("status", "Status")},
	{"Security", 4634}: {text("logoff"), val("TargetUserName"), lab("type", "LogonType")},
	{"Security", 4647}: {text("logoff by"), val("TargetUserName")},
	{"Security", 4648}: {val("SubjectUserName"), text("uses the credentials of"), val("TargetUserName"), lab("on", "TargetServerName"), baseOf("ProcessName")},
	{"Security", 4672}: {text("special privileges for"), val("SubjectUserName")},
	{"Security", 4688}: {baseOf("NewProcessName"), cmdline("CommandLine"), labBase("parent", "ParentProcessName")},
	{"Security", 4689}: {baseOf("ProcessName"), text("ended")},
	{"Security", 4697}: {text("service installed"), val("ServiceName"), val("ServiceFileName")},
	{"Security", 4698}: {text("task created"), val("TaskName")},
	{"Security", 4699}: {text("task deleted"), val("TaskName")},
	{"Security", 4702}: {text("task updated"), val("TaskName")},
	{"Security", 4719}: {text("audit policy changed by"), val("SubjectUserName")},
	{"Security", 4720}: {text("user created"), val("TargetUserName"), lab("by", "SubjectUserName")},
	{"Security", 4722}: {text("user enabled"), val("TargetUserName"), lab("by", "SubjectUserName")},
	{"Security", 4724}: {text("password reset"), val("TargetUserName"), lab("by", "SubjectUserName")},
	{"Security", 4726}: {text("user deleted"), val("TargetUserName"), lab("by", "SubjectUserName")},
	{"Security", 4728}: {val("MemberName"), text("added to"), val("TargetUserName")},
	{"Security", 4732}: {val("MemberName"), text("added to"), val("TargetUserName")},
	{"Security", 4756}: {val("MemberName"), text("added to"), val("TargetUserName")},
	{"Security", 4768}: {text("Kerberos TGT for"), val("TargetUserName"), lab("from", "IpAddress")},
	{"Security", 4769}: {text("Kerberos ticket for"), val("TargetUserName"), lab("service", "ServiceName"), lab("from", "IpAddress")},
	{"Security", 4771}: {text("Kerberos pre-auth failed for"), val("TargetUserName"), lab("from", "IpAddress")},
	{"Security", 4776}: {text("NTLM check of"), val("TargetUserName"), lab("from", "Workstation"), lab("status", "Status")},
	{"Security", 5140}: {text("share"), val("ShareName"), lab("from", "IpAddress"), lab("by", "SubjectUserName")},
	{"Security", 5145}: {text("share"), val("ShareName"), val("RelativeTargetName"), lab("from", "IpAddress")},
	// System
	{"System", 104}:  {text("log cleared:"), val("Channel"), lab("by", "SubjectUserName")},
	{"System", 1074}: {val("param1"), val("param5"), lab("by", "param7")},
	{"System", 6005}: {text("event log service started")},
	{"System", 6006}: {text("event log service stopped")},
	{"System", 7034}: {text("service crashed"), val("param1")},
	{"System", 7036}: {text("service"), val("param1"), val("param2")},
	{"System", 7040}: {text("service"), val("param1"), text("start type"), val("param2"), lab("→", "param3")},
	{"System", 7045}: {text("service installed"), val("ServiceName"), val("ImagePath"), lab("as", "AccountName")},
	// PowerShell
	{"PowerShell", 4103}: {val("ContextInfo")},
	{"PowerShell", 4104}: {text("script block"), val("ScriptBlockText")},
	{"pwsh", 4104}:       {text("script block"), val("ScriptBlockText")},
	// Defender
	{"Defender", 1116}: {text("threat detected"), val("Threat Name"), val("Path")},
	{"Defender", 1117}: {text("threat action"), val("Action Name"), val("Threat Name"), val("Path")},
	{"Defender", 5001}: {text("real-time protection disabled")},
	{"Defender", 5007}: {text("configuration changed"), val("New Value")},
	// Task scheduler
	{"TaskSched", 106}: {text("task registered"), val("TaskName"), lab("by", "UserContext")},
	{"TaskSched", 141}: {text("task deleted"), val("TaskName")},
	{"TaskSched", 200}: {text("task action"), val("TaskName"), val("ActionName")},
	{"TaskSched", 201}: {text("task action done"), val("TaskName"), val("ActionName")},
	// Remote desktop
	{"RDP-LSM", 21}:   {text("RDP logon"), val("User"), lab("from", "Address")},
	{"RDP-LSM", 22}:   {text("RDP shell start"), val("User"), lab("from", "Address")},
	{"RDP-LSM", 24}:   {text("RDP disconnect"), val("User"), lab("from", "Address")},
	{"RDP-LSM", 25}:   {text("RDP reconnect"), val("User"), lab("from", "Address")},
	{"RDP-RCM", 1149}: {text("RDP authentication"), val("Param1"), val("Param2"), lab("from", "Param3")},
}

type summaryKey struct {
	log string
	id  uint16
}

// maxSummaryFields is how many fields an event without an entry in the
// summary table shows.
const maxSummaryFields = 4

// Summary is one line saying what ev is about: the fields the summary
// table names for its log and event id, or its first fields as
// name=value. Line breaks and runs of blanks become one space; the text
// is raw evidence (escape it before it is shown). It is at most about
// limit bytes when limit > 0.
func Summary(ev *parser.Event, limit int) string {
	var b summaryWriter
	b.limit = limit
	if ev == nil {
		return ""
	}
	if ps, ok := summaries[summaryKey{ChannelShort(ev.Channel), ev.EventID}]; ok {
		type piece struct {
			p part
			v string
		}
		pieces := make([]piece, 0, len(ps))
		for _, p := range ps {
			v := ""
			if p.field != "" {
				var ok bool
				if v, ok = ev.Field(p.field); !ok || v == "" || v == "-" {
					continue
				}
				if p.base {
					v = winpath.Base(v)
				}
			}
			if n := len(pieces); p.cmd && n > 0 && pieces[n-1].p.base && startsWithProgram(v, pieces[n-1].v) {
				pieces = pieces[:n-1] // the command line names its program
			}
			pieces = append(pieces, piece{p, v})
		}
		for _, pc := range pieces {
			b.add(pc.p.label, pc.v, pc.p.glue)
		}
		if b.n > 0 || len(ev.Fields) == 0 {
			return b.String()
		}
		b = summaryWriter{limit: limit} // none of its fields: show the event's own
	}
	if s := classicSummary(ev); s != "" {
		b.add("", s, false)
		return b.String()
	}
	for i, f := range ev.Fields {
		if i == maxSummaryFields {
			b.add("", "…", false)
			break
		}
		b.add("", f.Name+"="+f.Value, false)
	}
	if b.n == 0 {
		b.add("", ev.Provider, false)
	}
	return b.String()
}

// startsWithProgram reports whether a command line starts with the
// program named base (a file name, with or without its .exe), quoted or
// not, with or without a path.
func startsWithProgram(cmd, base string) bool {
	cmd = strings.TrimLeft(cmd, " \t")
	first := cmd
	if strings.HasPrefix(cmd, `"`) {
		first = cmd[1:]
		if i := strings.IndexByte(first, '"'); i >= 0 {
			first = first[:i]
		}
	} else if i := strings.IndexAny(cmd, " \t"); i >= 0 {
		first = cmd[:i]
	}
	prog := strings.ToLower(winpath.Base(first))
	base = strings.ToLower(base)
	return prog == base || prog+".exe" == base
}

// classicSummary reads the Windows PowerShell log's unnamed Data, whose
// third value holds "HostApplication=…" (the command line that started
// the engine): that line, or "".
func classicSummary(ev *parser.Event) string {
	if ChannelShort(ev.Channel) != "WinPS" {
		return ""
	}
	for _, f := range ev.Fields {
		for _, line := range strings.Split(f.Value, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "HostApplication="); ok {
				return "engine " + strconv.Itoa(int(ev.EventID)) + ": " + v
			}
		}
	}
	return ""
}

// summaryWriter joins the pieces of a summary with spaces, folding line
// breaks and blank runs, up to a limit.
type summaryWriter struct {
	strings.Builder
	limit int
	n     int // values written
}

func (b *summaryWriter) add(label, v string, glue bool) {
	if b.limit > 0 && b.Len() >= b.limit {
		return
	}
	if v != "" {
		b.n++
	}
	for i, s := range []string{label, v} {
		if s == "" {
			continue
		}
		if b.Len() > 0 && !glue {
			b.WriteByte(' ')
		}
		b.fold(s)
		glue = glue || i == 0 && label != "" && v != "" && glueAfter(label)
	}
}

// glueAfter reports a label its value follows without a space.
func glueAfter(label string) bool { return label == ":" || label == `\` }

// fold writes s with its line breaks and blank runs as one space, up to
// the limit.
func (b *summaryWriter) fold(s string) {
	space := false
	for _, r := range s {
		if b.limit > 0 && b.Len() >= b.limit {
			b.WriteString("…")
			return
		}
		if r == '\n' || r == '\r' || r == '\t' || r == ' ' {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
}
