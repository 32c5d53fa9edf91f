// Package psenc finds PowerShell's -EncodedCommand in a command line and
// decodes it, so that what an attacker hid in base64 can be read (on the
// screen, in exports, by rules).
//
// It reads a command line the way Windows and PowerShell do: the line is
// split into arguments as CommandLineToArgvW splits it (double quotes,
// backslashes before a quote), the PowerShell program (powershell.exe,
// pwsh.exe, with or without a path or extension) is found among them —
// also inside a quoted argument, as in cmd /c "powershell -enc …" — and its
// switches are read as PowerShell's console host reads them: a switch
// starts with - (or an en dash, em dash or horizontal bar) or /, an extra
// leading dash is ignored, and any prefix of a switch name at least as long
// as its shortest unambiguous form names it. So -e, -ec, -en, -enc, -enco…
// -EncodedCommand, /e and --enc are all -EncodedCommand; -ex is
// -ExecutionPolicy, -ea -EncodedArguments. Reading stops where PowerShell
// stops reading switches: at -Command, -File, -Version, an unknown switch or
// the first argument that is not a switch.
//
// The argument is decoded as PowerShell decodes it: base64
// (Convert.FromBase64String: white space ignored, padding required), then
// UTF-16LE. Where a payload departs from that (base64 without its padding,
// which PowerShell refuses; bytes that are UTF-8 text rather than UTF-16LE;
// an odd number of bytes), it is still decoded the way it most likely
// was meant, and Note says so. The decoded text is evidence: it is returned
// raw, and callers escape it (internal/termsafe) before it is shown.
package psenc

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Errors an Encoded carries when its argument does not decode.
var (
	ErrNoArgument = errors.New("psenc: -EncodedCommand has no argument")
	ErrBase64     = errors.New("psenc: the argument is not base64")
	ErrTooLong    = errors.New("psenc: the argument is too long to decode")
)

// MaxPayload bounds the argument decoded (a Windows command line holds at
// most 32,767 characters; evidence may claim more).
const MaxPayload = 1 << 20

// maxArgs bounds the arguments a command line is split into, and
// maxNesting how deep quoted command lines are searched.
const (
	maxArgs    = 4096
	maxNesting = 3
)

// Encoded is an -EncodedCommand found in a command line.
type Encoded struct {
	Program string // the PowerShell program as written: "powershell.exe", `C:\…\pwsh.exe`
	Switch  string // the switch as written: "-enc", "/e", "-EncodedCommand"
	Payload string // its argument as written, without the quotes
	// Script is the decoded command, raw evidence text (valid UTF-8);
	// empty when Err is set.
	Script string
	// Note says how the decoding departs from PowerShell's, when it does
	// ("" when PowerShell reads the argument exactly as Script).
	Note string
	// Err says why the argument does not decode (ErrNoArgument,
	// ErrBase64, ErrTooLong); nil when it does.
	Err error
}

// Find returns the first -EncodedCommand of a PowerShell invocation in
// cmdline, decoded, and whether there is one. A command line that names
// PowerShell without the switch, or that is not PowerShell's, has none.
func Find(cmdline string) (Encoded, bool) {
	if len(cmdline) > 2*MaxPayload {
		cmdline = cmdline[:2*MaxPayload]
	}
	return find(cmdline, 0)
}

func find(cmdline string, depth int) (Encoded, bool) {
	args := splitArgs(cmdline)
	for i, a := range args {
		if isPowerShell(a) {
			if e, ok := encodedSwitch(args[i+1:]); ok {
				e.Program = a
				return e, true
			}
			continue
		}
		if depth < maxNesting && strings.ContainsAny(a, " \t") {
			if e, ok := find(a, depth+1); ok {
				return e, true
			}
		}
	}
	return Encoded{}, false
}

// splitArgs splits a command line into arguments as CommandLineToArgvW
// does: white space separates them outside double quotes; 2n backslashes
// before a quote are n backslashes and the quote opens or closes, 2n+1 are
// n and a literal quote; "" inside quotes is a literal quote. At most
// maxArgs arguments.
func splitArgs(s string) []string {
	var args []string
	var b strings.Builder
	inArg, quoted := false, false
	for i := 0; i < len(s) && len(args) < maxArgs; i++ {
		c := s[i]
		switch {
		case (c == ' ' || c == '\t') && !quoted:
			if inArg {
				args = append(args, b.String())
				b.Reset()
				inArg = false
			}
		case c == '\\':
			n := 0
			for i < len(s) && s[i] == '\\' {
				n++
				i++
			}
			inArg = true
			if i < len(s) && s[i] == '"' {
				b.WriteString(strings.Repeat(`\`, n/2))
				if n%2 == 1 {
					b.WriteByte('"')
					continue
				}
			} else {
				b.WriteString(strings.Repeat(`\`, n))
			}
			i-- // the quote or the next character is read next
		case c == '"':
			inArg = true
			if quoted && i+1 < len(s) && s[i+1] == '"' {
				b.WriteByte('"')
				i++
				continue
			}
			quoted = !quoted
		default:
			inArg = true
			b.WriteByte(c)
		}
	}
	if inArg && len(args) < maxArgs {
		args = append(args, b.String())
	}
	return args
}

// isPowerShell reports whether an argument names PowerShell's program.
func isPowerShell(arg string) bool {
	base := arg[strings.LastIndexAny(arg, `\/`)+1:]
	switch strings.ToLower(strings.TrimSpace(base)) {
	case "powershell.exe", "powershell", "pwsh.exe", "pwsh":
		return true
	}
	return false
}

// switchKind is what a PowerShell switch does to the reading of the rest.
type switchKind uint8

const (
	flag    switchKind = iota // no argument
	value                     // takes the next argument
	stop                      // the rest is the command or the script's
	encoded                   // -EncodedCommand
)

// switches are the console host's switches in the order it tries them,
// each with its shortest unambiguous prefix (PowerShell's
// CommandLineParameterParser: a prefix of name at least as long as min
// names it, and the first that matches wins).
var switches = [...]struct {
	name, min string
	kind      switchKind
}{
	{"version", "v", value}, // Windows PowerShell: -Version 2 runs the rest under 2.0 (pwsh only prints it)
	{"help", "h", flag}, {"?", "?", flag},
	{"login", "l", flag},
	{"noexit", "noe", flag},
	{"noprofile", "nop", flag},
	{"nologo", "nol", flag},
	{"noninteractive", "noni", flag},
	{"socketservermode", "so", flag},
	{"servermode", "s", flag},
	{"namedpipeservermode", "nam", flag},
	{"sshservermode", "sshs", flag},
	{"interactive", "i", flag},
	{"configurationname", "config", value},
	{"custompipename", "cus", value},
	{"command", "c", stop},
	{"windowstyle", "w", value},
	{"file", "f", stop},
	{"outputformat", "o", value}, {"of", "o", value},
	{"inputformat", "inp", value}, {"if", "if", value},
	{"executionpolicy", "ex", value}, {"ep", "ep", value},
	{"encodedcommand", "e", encoded}, {"ec", "e", encoded},
	{"encodedarguments", "encodeda", value}, {"ea", "ea", value},
	{"settingsfile", "settings", value},
	{"sta", "sta", flag}, {"mta", "mta", flag},
	{"workingdirectory", "wo", value}, {"wd", "wd", value},
	{"removeworkingdirectorytrailingcharacter", "removeworkingdirectorytrailingcharacter", flag},
}

// isDash reports a character PowerShell takes for a dash.
func isDash(r rune) bool { return r == '-' || r == '\u2013' || r == '\u2014' || r == '\u2015' }

// switchKey returns an argument's switch name without its leading / or
// dash (and a second dash), and whether it is a switch at all.
func switchKey(arg string) (string, bool) {
	arg = strings.TrimSpace(arg)
	r, n := utf8.DecodeRuneInString(arg)
	if n == 0 || !(isDash(r) || r == '/') {
		return "", false
	}
	key := arg[n:]
	if r, m := utf8.DecodeRuneInString(key); m > 0 && isDash(r) {
		key = key[m:]
	}
	return key, true
}

// kindOf is what switch key does; an unknown switch stops the reading (it
// is taken for the script file).
func kindOf(key string) switchKind {
	for _, s := range switches {
		if len(key) >= len(s.min) && len(key) <= len(s.name) && strings.EqualFold(s.name[:len(key)], key) {
			return s.kind
		}
	}
	return stop
}

// encodedSwitch reads PowerShell's arguments up to its -EncodedCommand.
func encodedSwitch(args []string) (Encoded, bool) {
	for i := 0; i < len(args); i++ {
		if strings.TrimSpace(args[i]) == "" {
			continue
		}
		key, ok := switchKey(args[i])
		if !ok {
			return Encoded{}, false
		}
		switch kindOf(key) {
		case stop:
			return Encoded{}, false
		case value:
			i++
		case encoded:
			e := Encoded{Switch: args[i]}
			if i+1 >= len(args) {
				e.Err = ErrNoArgument
				return e, true
			}
			e.Payload = args[i+1]
			e.Script, e.Note, e.Err = Decode(e.Payload)
			return e, true
		}
	}
	return Encoded{}, false
}

// Decode decodes an -EncodedCommand argument: base64, then UTF-16LE. note
// says how the decoding departs from PowerShell's, when it does; err says
// why payload does not decode.
func Decode(payload string) (script, note string, err error) {
	if len(payload) > MaxPayload {
		return "", "", fmt.Errorf("%w (%d bytes; at most %d are decoded)", ErrTooLong, len(payload), MaxPayload)
	}
	// Convert.FromBase64String ignores white space.
	b64 := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, payload)
	if b64 == "" {
		return "", "", ErrNoArgument
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		var rerr error
		if raw, rerr = base64.RawStdEncoding.DecodeString(strings.TrimRight(b64, "=")); rerr != nil {
			return "", "", fmt.Errorf("%w: %w", ErrBase64, err)
		}
		note = "base64 without its padding: PowerShell refuses it, so this did not run as written"
	}
	if utf16LE(raw) {
		u := make([]uint16, len(raw)/2)
		for i := range u {
			u[i] = uint16(raw[2*i]) | uint16(raw[2*i+1])<<8
		}
		script = string(utf16.Decode(u))
		if len(raw)%2 == 1 {
			script += "\uFFFD"
			note = join(note, "an odd number of bytes: the last one is not a character")
		}
		return script, note, nil
	}
	return string(raw), join(note, "ASCII text, not UTF-16LE: PowerShell would read other characters than these"), nil
}

// utf16LE reports whether decoded bytes are to be read as UTF-16LE (what
// PowerShell reads). They are, unless every byte is printable ASCII (or a
// tab or line break): PowerShell's own encoding of a script has a NUL in
// every ASCII character, and bytes that are all ASCII letters read as
// UTF-16LE only as CJK characters, so they were written as ASCII text.
func utf16LE(raw []byte) bool {
	if len(raw) < 2 {
		return true
	}
	for _, c := range raw {
		if (c < 0x20 || c > 0x7e) && c != '\t' && c != '\r' && c != '\n' {
			return true
		}
	}
	return false
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
