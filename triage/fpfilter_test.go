package triage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/rules"
)

var fpDay = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// findingOf returns the first finding of rule id in r as written, of an
// event of channel when it is given.
func findingOf(t *testing.T, r *Result, id string, channel ...string) *Finding {
	t.Helper()
	for _, f := range r.Written() {
		if f.Rule.ID == id && (len(channel) == 0 || f.Event.Event.Channel == channel[0]) {
			return f
		}
	}
	t.Fatalf("no finding of rule %s", id)
	return nil
}

// applyFilter writes fp into a rules folder, reloads the built-in rules
// with it, and returns r judged by them.
func applyFilter(t *testing.T, r *Result, fp *FalsePositive) (*Result, *rules.Set) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, fp.File), fp.YAML, 0o600); err != nil {
		t.Fatal(err)
	}
	set := rules.Load(rules.LoadOptions{Paths: []string{dir}})
	if rj := set.Rejected(); len(rj) > 0 {
		t.Fatalf("filter rejected: %v\n%s", rj, fp.YAML)
	}
	if sk := set.Skipped(); len(sk) > 0 {
		t.Fatalf("filter skipped: %v\n%s", sk, fp.YAML)
	}
	return r.WithRules(set), set
}

// TestFalsePositiveFilter writes the filter of one finding per kind of
// event, loads it with the built-in rules, and checks that the finding is
// gone (suppressed by the filter), that the rule's other findings stay, and
// that the file is a Sigma filter as the specification writes it.
func TestFalsePositiveFilter(t *testing.T) {
	tests := []struct {
		scenario, rule, channel string
		fields                  []string
	}{
		{"squiblydoo", "35e28c74-a52c-43f5-baef-adcdf26451b0", sysmonCh, []string{"Image", "OriginalFileName", "CommandLine", "ParentImage"}},
		// A Security 4688 host's: Image is NewProcessName, and 4688 has no
		// OriginalFileName.
		{"squiblydoo", "35e28c74-a52c-43f5-baef-adcdf26451b0", "Security", []string{"Image", "CommandLine", "ParentImage"}},
		// Signed: 'false' is what the rule asks of every match: left out.
		{"dll-register", "8537fa9f-c8d8-4530-81bc-1b4db643e582", sysmonCh, []string{"Image", "ImageLoaded", "Hashes"}},
		{"squiblydoo", "f1de6d41-26b5-4f8d-b611-04c55787228a", sysmonCh, []string{"Image", "DestinationHostname", "DestinationIp", "DestinationPort"}},
		{"squiblydoo", "bcd2bc95-e56b-4fc5-9e73-4dc9831160ca", sysmonCh, []string{"Image", "QueryName"}},
	}
	for _, tt := range tests {
		t.Run(tt.scenario+"/"+tt.rule[:8]+"/"+tt.channel, func(t *testing.T) {
			r := huntScenario(t, tt.scenario, t.TempDir(), "a.evtx")
			f := findingOf(t, r, tt.rule, tt.channel)
			fp, err := FalsePositiveFilter(f, "IT's packaging job: fine", fpDay)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(fp.Fields, tt.fields) {
				t.Errorf("fields %v, want %v\n%s", fp.Fields, tt.fields, fp.YAML)
			}
			var doc struct {
				Title, ID, Name, Description, Author, Date string
				Logsource                                  map[string]string
				Filter                                     map[string]any
			}
			if err := yaml.Unmarshal(fp.YAML, &doc); err != nil {
				t.Fatalf("not YAML: %v\n%s", err, fp.YAML)
			}
			if doc.Filter["condition"] != "not selection" || doc.Date != "2026-03-02" || len(doc.ID) != 36 ||
				!strings.Contains(doc.Description, "Note: IT's packaging job: fine") ||
				doc.Logsource["category"] != f.Rule.Logsource.Category || doc.Logsource["product"] != "windows" {
				t.Errorf("document %+v\n%s", doc, fp.YAML)
			}
			if rs, _ := doc.Filter["rules"].([]any); len(rs) != 1 || rs[0] != tt.rule {
				t.Errorf("rules %v", doc.Filter["rules"])
			}
			if !strings.HasPrefix(fp.File, "mf_evtriage_fp_") || len(fp.File) > 70 || strings.Trim(strings.TrimSuffix(fp.File, ".yml"), "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
				t.Errorf("file name %q", fp.File)
			}
			before := r.Filter(Filter{})
			after, _ := applyFilter(t, r, fp)
			shown := after.Filter(Filter{})
			key := FindingKey(f)
			var gone *Finding
			for _, g := range after.Findings {
				if FindingKey(g) == key {
					gone = g
				}
			}
			if gone == nil || !slices.Contains(gone.Suppressed, "filter:"+fp.Name) {
				t.Fatalf("the finding is not suppressed by filter:%s: %+v", fp.Name, gone)
			}
			for _, g := range shown {
				if FindingKey(g) == key {
					t.Fatal("the finding is still shown")
				}
			}
			if len(shown) >= len(before) || len(shown) == 0 {
				t.Errorf("%d findings shown, %d before", len(shown), len(before))
			}
			// Switching the filter off (the rules panel) shows it again.
			off := after.Filter(Filter{DisabledIdents: map[string]map[string]bool{tt.rule: {"filter:" + fp.Name: true}}})
			if !slices.ContainsFunc(off, func(g *Finding) bool { return FindingKey(g) == key }) {
				t.Error("switching the filter off does not show the finding")
			}
			// r itself is left as it was.
			if slices.Contains(f.Suppressed, "filter:"+fp.Name) || len(r.Filter(Filter{})) != len(before) {
				t.Error("WithRules changed the Result it was called on")
			}
			// The copy's links are among the copies.
			for _, p := range after.Processes {
				for _, g := range p.Findings {
					if g.Process != p || after.Findings[g.ID] != g {
						t.Fatalf("process %d lists a finding of another Result", p.ID)
					}
				}
				if p.Parent != nil && after.Processes[p.Parent.ID] != p.Parent {
					t.Fatalf("process %d's parent is of another Result", p.ID)
				}
			}
		})
	}
}

func TestSigmaEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{`C:\Windows\System32\regsvr32.exe`, `C:\Windows\System32\regsvr32.exe`},
		{`a*b?c`, `a\*b\?c`},
		{`\\server\share`, `\\\\server\share`},
		{`C:\dir\`, `C:\dir\\`},
		{`C:\dir\*.dll`, `C:\dir\\\*.dll`},
		{`x\?`, `x\\\?`},
		{`plain`, `plain`},
		{``, ``},
	}
	for _, tt := range tests {
		if got := SigmaEscape(tt.in); got != tt.want {
			t.Errorf("SigmaEscape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestFalsePositiveFilterEscapes checks, with our engine, that the filter
// matches a hostile event's values exactly: wildcards, backslashes,
// quotes, control and bidi characters, a very long command line. A
// near-identical event (one character apart in each value) is not taken
// out.
func TestFalsePositiveFilterEscapes(t *testing.T) {
	ruleDir := t.TempDir()
	rule := `title: Anything from Temp
id: 11111111-2222-4333-8444-555555555555
status: test
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        Image|contains: '\Temp\'
    condition: selection
level: high
`
	if err := os.WriteFile(filepath.Join(ruleDir, "r.yml"), []byte(rule), 0o600); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat(`A*?\`, 600)
	cases := [][2]string{
		{`C:\Temp\*?x.exe`, `'quoted' "double" \\srv\share\ *.*`},
		{`C:\Users\a\Temp\trailing\`, "tab\there, ESC \x1b]0;t\x07, bidi \u202e fdp.exe, é"},
		{`C:\Temp\long.exe`, long},
	}
	for i, c := range cases {
		mk := func(image, cmd string) *parser.Event {
			return ev("Microsoft-Windows-Sysmon/Operational", 1, "WS1", uint64(100+i), t0, "ProcessGuid", guid(7), "ProcessId", "7",
				"Image", image, "CommandLine", cmd, "ParentImage", `C:\Windows\explorer.exe`)
		}
		evs := []*parser.Event{mk(c[0], c[1]), mk(c[0]+"x", c[1]), mk(c[0], c[1]+"x")}
		evs[1].RecordID, evs[2].RecordID = 200+uint64(i), 300+uint64(i)
		dir := t.TempDir()
		writeLog(t, filepath.Join(dir, "x.evtx"), evs)
		set := rules.Load(rules.LoadOptions{NoBuiltin: true, Paths: []string{ruleDir}})
		h := NewHunter(Options{Rules: set})
		if err := h.AddFile(context.Background(), filepath.Join(dir, "x.evtx"), nil); err != nil {
			t.Fatal(err)
		}
		r := h.Finish()
		if len(r.Written()) != 3 {
			t.Fatalf("case %d: %d findings", i, len(r.Written()))
		}
		fp, err := FalsePositiveFilter(r.Written()[0], "", fpDay)
		if err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(string(fp.YAML), "\x1b\x07\u202e\t") {
			t.Errorf("case %d: unsafe characters in the file:\n%s", i, fp.YAML)
		}
		fdir := t.TempDir()
		if err := os.WriteFile(filepath.Join(fdir, fp.File), fp.YAML, 0o600); err != nil {
			t.Fatal(err)
		}
		set2 := rules.Load(rules.LoadOptions{NoBuiltin: true, Paths: []string{ruleDir, fdir}})
		if rj := set2.Rejected(); len(rj) > 0 {
			t.Fatalf("case %d: rejected %v\n%s", i, rj, fp.YAML)
		}
		after := r.WithRules(set2)
		var shown []uint64
		for _, f := range after.Filter(Filter{}) {
			shown = append(shown, f.Event.Event.RecordID)
		}
		want := []uint64{200 + uint64(i), 300 + uint64(i)}
		if i == 2 {
			// The command line is matched by its first 1,024 bytes: the
			// one that only differs at its end is taken out too.
			want = want[:1]
		}
		if !slices.Equal(shown, want) {
			t.Errorf("case %d: shown %v, want %v\n%s", i, shown, want, fp.YAML)
		}
	}
}

func TestFalsePositiveFilterRefuses(t *testing.T) {
	r := huntScenario(t, "squiblydoo", t.TempDir(), "a.evtx")
	f := *findingOf(t, r, "35e28c74-a52c-43f5-baef-adcdf26451b0")
	corr := f
	corr.Correlation = &CorrelationHit{Type: "event_count"}
	noRef := f
	rl := *f.Rule
	rl.ID, rl.Name = "", ""
	noRef.Rule = &rl
	for name, g := range map[string]*Finding{"correlation": &corr, "no id": &noRef, "no event": {Rule: f.Rule}} {
		if _, err := FalsePositiveFilter(g, "", fpDay); !errors.Is(err, ErrNoFilter) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
