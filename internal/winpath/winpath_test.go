package winpath

import "testing"

func TestBase(t *testing.T) {
	tests := []struct{ in, want string }{
		{`C:\Windows\System32\regsvr32.exe`, "regsvr32.exe"},
		{`C:/Windows/System32/regsvr32.exe`, "regsvr32.exe"},
		{`\\host\share\dir/mixed\x.dll`, "x.dll"},
		{"/evidence/host1/Security.evtx", "Security.evtx"},
		{"regsvr32.exe", "regsvr32.exe"},
		{`C:\dir\`, ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Base(tt.in); got != tt.want {
			t.Errorf("Base(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
