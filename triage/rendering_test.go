package triage

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/evtriage/evtriage/rules"
)

// TestWindowsRenderingOnSharedLogs: on the real logs, HexInt values read
// as Windows renders them (0x and hex digits without leading zeros), the
// 4688 process ids among them still link the tree, and a classic
// PowerShell 800's unnamed values are Data, Data#2, Data#3 with a rule's
// Data seeing the later ones.
func TestWindowsRenderingOnSharedLogs(t *testing.T) {
	shared := sharedDir(t)
	windowsHex := regexp.MustCompile(`^0x(0|[1-9a-f][0-9a-f]*)$`)
	hexFields := map[string][]string{
		"security_4688_v2_malseclogon.evtx": {"SubjectLogonId", "NewProcessId", "TargetLogonId"},
		"security_4688_v1_psexec.evtx":      {"SubjectLogonId", "NewProcessId"},
		"sysmon_regsvr32_sct.evtx":          {"LogonId"},
	}
	for file, names := range hexFields {
		seen := 0
		for _, ev := range readEvents(t, filepath.Join(shared, "evtx", file)) {
			for _, n := range names {
				if v, ok := ev.Field(n); ok {
					seen++
					if !windowsHex.MatchString(v) {
						t.Errorf("%s record %d: %s = %q, not as Windows renders it", file, ev.RecordID, n, v)
					}
				}
			}
		}
		if seen == 0 {
			t.Errorf("%s: none of %v read", file, names)
		}
	}

	// The 800 events of a classic PowerShell log: the script's name is in
	// the second unnamed value.
	set := rules.Load(rules.LoadOptions{NoBuiltin: true, Paths: []string{writeRule(t, `title: PipeShell script
id: 66666666-6666-4666-8666-666666666666
logsource:
    product: windows
    category: ps_classic_script
detection:
    selection:
        Data|contains: 'ScriptName=C:\Users\admmig\Downloads\tmp\Invoke-PipeShell.ps1'
    condition: selection
`)}})
	if len(set.Rejected()) > 0 {
		t.Fatal(set.Rejected())
	}
	matched, classic := 0, 0
	for _, ev := range readEvents(t, filepath.Join(shared, "evtx", "evtx32_no_templates_powershell.evtx")) {
		if ev.Channel != "Windows PowerShell" {
			continue
		}
		classic++
		if len(ev.Fields) != 3 || ev.Fields[0].Name != "Data" || ev.Fields[1].Name != "Data#2" || ev.Fields[2].Name != "Data#3" {
			t.Errorf("record %d fields named %v", ev.RecordID, ev.Fields)
		}
		matched += len(set.Match(ev, nil))
	}
	if classic == 0 || matched == 0 || matched == classic {
		t.Errorf("%d of %d classic PowerShell events matched; want some (those of Invoke-PipeShell.ps1), not all", matched, classic)
	}
}

// writeRule writes one rule document to a temporary file and returns its
// path.
func writeRule(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rule.yml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
