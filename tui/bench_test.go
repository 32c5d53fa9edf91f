package tui

import (
	"fmt"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/evtriage/evtriage/triage"
)

// bigResult builds a Result the size a 1M-event hunt gives: hosts ×
// sessions of explorer → cmd → regsvr32 → children, one finding per
// regsvr32 and child.
func bigResult(procs int) *triage.Result {
	b := &fixtureBuilder{r: &triage.Result{Hosts: []string{"HOST0", "HOST1", "HOST2", "HOST3"}}}
	ruleCAR := builtinRule(carRuleID)
	b.r.Loaded = append(b.r.Loaded, ruleSeed, ruleCAR, ruleLoad)
	at := t0
	for len(b.r.Processes) < procs {
		host := b.r.Hosts[len(b.r.Processes)%len(b.r.Hosts)]
		at = at.Add(time.Second)
		root := b.proc(nil, host, uint32(len(b.r.Processes)+4), `C:\Windows\explorer.exe`, `C:\Windows\Explorer.EXE`, at, triage.FromSysmon)
		for s := 0; s < 4; s++ {
			cmd := b.proc(root, host, uint32(len(b.r.Processes)+4), `C:\Windows\System32\cmd.exe`, fmt.Sprintf(`cmd.exe /c job%d.bat`, s), at, triage.FromSysmon)
			reg := b.proc(cmd, host, uint32(len(b.r.Processes)+4), `C:\Windows\System32\regsvr32.exe`, fmt.Sprintf(`regsvr32 /s C:\Users\u%d\x.dll`, s), at, triage.FromSysmon)
			b.finding(ruleSeed, reg, reg.Create())
			child := b.proc(reg, host, uint32(len(b.r.Processes)+4), `C:\Windows\System32\rundll32.exe`, "rundll32.exe x.dll,Run", at, triage.FromSysmon)
			b.finding(ruleCAR, child, child.Create())
		}
	}
	b.r.Events = 1_000_000
	return b.r
}

// BenchmarkKeypress measures one keypress: Update plus View, as the
// program runs them, on a Result of 200,000 processes and 100,000
// findings. Background commands a key starts (filtering, search) are not
// run here; BenchmarkFilter measures them.
func BenchmarkKeypress(b *testing.B) {
	r := bigResult(200_000)
	base := loaded(b, r, 120, 40)
	base, _ = drive(b, base, press("/", "rundll32", "enter")...)
	tests := []struct {
		name  string
		setup []string
		keys  []string // cycled
	}{
		{"findings_down", nil, []string{"j"}},
		{"findings_pagedown_up", nil, []string{"pgdown", "pgup"}},
		{"findings_next_match", nil, []string{"n"}},
		{"tree_down", []string{"2"}, []string{"j"}},
		{"tree_toggle", []string{"2", "j"}, []string{"space"}},
		{"tree_next_finding", []string{"2"}, []string{"f"}},
		{"tree_next_match", []string{"2"}, []string{"n"}},
		{"toggle_level", nil, []string{"l"}},
		{"switch_view", nil, []string{"tab"}},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			m, _ := drive(b, base, press(tt.setup...)...)
			var msgs []tea.Msg
			for _, k := range tt.keys {
				switch k {
				case "pgdown":
					msgs = append(msgs, tea.KeyPressMsg{Code: tea.KeyPgDown})
				case "pgup":
					msgs = append(msgs, tea.KeyPressMsg{Code: tea.KeyPgUp})
				default:
					msgs = append(msgs, press(k)...)
				}
			}
			var tm tea.Model = m
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				tm, _ = tm.Update(msgs[i%len(msgs)])
				_ = tm.View()
			}
		})
	}
}

// BenchmarkFilter measures the background work of a filter change (the
// tea.Cmd), on the same Result.
func BenchmarkFilter(b *testing.B) {
	r := bigResult(200_000)
	ix := buildTreeIndex(r)
	f := filterState{carOff: true}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		runFilter(i, r, ix, f, newLabels(r), colTime, false, findingKey{}, nil)
	}
}

// BenchmarkSearch measures the background work of a search.
func BenchmarkSearch(b *testing.B) {
	r := bigResult(200_000)
	ix := buildTreeIndex(r)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		runSearch(i, r, ix, "rundll32", nil, nil)
	}
}
