package samples

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/evtriage/evtriage/parser"
)

// generated is a generated log read back with our reader.
type generated struct {
	data   []byte
	truth  Truth
	events []*parser.Event
	byKey  map[EventKey]*parser.Event
}

func generateAndRead(t *testing.T, opts Options) *generated {
	t.Helper()
	data, truth := generateFile(t, opts)
	g := &generated{data: data, truth: truth, events: readOurs(t, data), byKey: make(map[EventKey]*parser.Event)}
	for _, ev := range g.events {
		k := KeyOf(ev)
		if _, dup := g.byKey[k]; dup {
			t.Fatalf("duplicate event key %v", k)
		}
		g.byKey[k] = ev
	}
	return g
}

// TestTruthDescribesFile re-derives Flag, NotFlag and Counts from the file
// as read back, for every scenario and two seeds, and checks record ids
// count 1, 2, 3… per host and channel.
func TestTruthDescribesFile(t *testing.T) {
	for _, sc := range append(Scenarios(), Scenario{Name: "all"}) {
		for _, seed := range []int64{1, 99} {
			t.Run(fmt.Sprintf("%s/seed%d", sc.Name, seed), func(t *testing.T) {
				g := generateAndRead(t, Options{Scenario: sc.Name, Events: 800, Seed: seed})
				if len(g.events) != g.truth.Events || g.truth.Events != 800 {
					t.Fatalf("read %d events, truth says %d, asked 800", len(g.events), g.truth.Events)
				}
				flag := map[string][]EventKey{}
				notFlag := map[string][]EventKey{}
				counts := map[string]map[int]int{}
				next := map[[2]string]uint64{}
				for _, ev := range g.events {
					k := KeyOf(ev)
					hc := [2]string{k.Host, k.Channel}
					next[hc]++
					if k.RecordID != next[hc] {
						t.Fatalf("%v: record id %d, want %d (ids count per host and channel)", k, k.RecordID, next[hc])
					}
					if counts[ev.Channel] == nil {
						counts[ev.Channel] = map[int]int{}
					}
					counts[ev.Channel][int(ev.EventID)]++
					for _, r := range RuleIDs() {
						subject, f := Judge(r, ev)
						if f {
							flag[r] = append(flag[r], k)
						} else if subject {
							notFlag[r] = append(notFlag[r], k)
						}
					}
				}
				for _, r := range RuleIDs() {
					if !reflect.DeepEqual(flag[r], g.truth.Flag[r]) {
						t.Errorf("rule %s: file gives Flag %v, truth %v", r, flag[r], g.truth.Flag[r])
					}
					if !reflect.DeepEqual(notFlag[r], g.truth.NotFlag[r]) {
						t.Errorf("rule %s: file gives %d NotFlag, truth %d", r, len(notFlag[r]), len(g.truth.NotFlag[r]))
					}
				}
				if !reflect.DeepEqual(counts, g.truth.Counts) {
					t.Errorf("counts %v, truth %v", counts, g.truth.Counts)
				}
				for k := range g.truth.Roles {
					if g.byKey[k] == nil {
						t.Errorf("role for missing event %v", k)
					}
				}
				checkParents(t, g)
			})
		}
	}
}

// creation returns the created process id (and image, guid) of a Sysmon 1
// or 4688 event.
type created struct {
	ev          *parser.Event
	pid, parent uint64
	image       string
	guid, pguid string
}

func parseHexOrDec(s string) uint64 {
	if h, ok := strings.CutPrefix(s, "0x"); ok {
		v, _ := strconv.ParseUint(h, 16, 64)
		return v
	}
	v, _ := strconv.ParseUint(s, 10, 64)
	return v
}

func creationOf(ev *parser.Event) (created, bool) {
	f := func(n string) string { v, _ := ev.Field(n); return v }
	switch {
	case ev.Channel == chanSysmon && ev.EventID == 1:
		return created{ev, parseHexOrDec(f("ProcessId")), parseHexOrDec(f("ParentProcessId")), f("Image"), f("ProcessGuid"), f("ParentProcessGuid")}, true
	case ev.Channel == chanSecurity && ev.EventID == 4688:
		return created{ev, parseHexOrDec(f("NewProcessId")), parseHexOrDec(f("ProcessId")), f("NewProcessName"), "", ""}, true
	}
	return created{}, false
}

func exitPID(ev *parser.Event) (uint64, bool) {
	switch {
	case ev.Channel == chanSysmon && ev.EventID == 5, ev.Channel == chanSecurity && ev.EventID == 4689:
		v, _ := ev.Field("ProcessId")
		return parseHexOrDec(v), true
	}
	return 0, false
}

// checkParents rebuilds the process tree from the log by the rules an
// analyst uses (Sysmon: ParentProcessGuid; Security: the latest process with
// the creator's id that was created and not yet ended) and requires it to
// equal Truth.Parent exactly.
func checkParents(t *testing.T, g *generated) {
	t.Helper()
	type hc struct{ host, channel string }
	live := map[hc]map[uint64]EventKey{} // pid -> creation of the live process
	byGUID := map[string]EventKey{}
	want := map[EventKey]EventKey{}
	for _, ev := range g.events {
		k := KeyOf(ev)
		h := hc{k.Host, k.Channel}
		if live[h] == nil {
			live[h] = map[uint64]EventKey{}
		}
		if c, ok := creationOf(ev); ok {
			if ev.Channel == chanSysmon {
				if p, ok := byGUID[k.Host+c.pguid]; ok {
					want[k] = p
				}
				byGUID[k.Host+c.guid] = k
			} else if p, ok := live[h][c.parent]; ok {
				want[k] = p
			}
			live[h][c.pid] = k
			continue
		}
		if pid, ok := exitPID(ev); ok {
			delete(live[h], pid)
		}
	}
	for c, p := range g.truth.Parent {
		if want[c] != p {
			t.Errorf("truth parent of %v is %v; the log says %v", c, p, want[c])
		}
		pc, _ := creationOf(g.byKey[p])
		cc, _ := creationOf(g.byKey[c])
		if !cc.ev.Time.After(pc.ev.Time) {
			t.Errorf("child %v not created after its parent %v", c, p)
		}
		if pi, ok := cc.ev.Field("ParentProcessName"); ok && pi != pc.image {
			t.Errorf("child %v: ParentProcessName %q, parent image %q", c, pi, pc.image)
		}
		if pi, ok := cc.ev.Field("ParentImage"); ok && pi != pc.image {
			t.Errorf("child %v: ParentImage %q, parent image %q", c, pi, pc.image)
		}
	}
	for c, p := range want {
		if _, ok := g.truth.Parent[c]; !ok {
			t.Errorf("the log links %v to parent %v; truth has no parent", c, p)
		}
	}
	if len(g.truth.Parent) == 0 {
		t.Error("no parent links at all")
	}
}

// outcome letters: F flagged, N a near miss (subject, not flagged), '-' not
// the rule's subject, '.' not checked.
type expectation struct {
	scenario, role, rule string
	loaded               string // Sysmon 7 only: ImageLoaded contains this
	// want per column: Sysmon, Security v2 (hosts 1 and 2), v1, v2 without
	// command lines, v1 without command lines.
	want string
}

// securityColumn maps a host's form to its Security column.
func column(ev *parser.Event, form string) int {
	if ev.Channel == chanSysmon {
		return 0
	}
	switch form {
	case "sysmon+security-v2", "security-v2":
		return 1
	case "security-v1":
		return 2
	case "security-v2-nocmdline":
		return 3
	case "security-v1-nocmdline":
		return 4
	}
	return -1
}

// TestChainIntent checks the ground truth against what each chain was
// written to show: per role, rule and log form, whether the built-in rule
// flags it, passes over it as a near miss, or does not look at it.
func TestChainIntent(t *testing.T) {
	const (
		r1 = RuleDLLRegisterServer
		r2 = RuleCARRegsvr32Child
		r3 = RuleCARSpawningChildren
		r4 = RuleCARUnsignedLoad
	)
	cases := []expectation{
		{"dll-register", "dll-temp/regsvr32", r1, "", "FFFNN"},
		{"dll-register", "dll-appdata/regsvr32", r1, "", "FFFNN"},
		{"dll-register", "dll-programdata/regsvr32", r1, "", "FFFNN"},
		{"dll-register", "dll-programdata-fullpath/regsvr32", r1, "", "NNNNN"},
		{"dll-register", "dll-system32-cwd/regsvr32", r1, "", "NFFNN"},
		{"dll-register", "dll-temp/regsvr32", r4, "AllTheThings", "F...."},
		{"dll-register", "dll-temp/regsvr32", r4, "ntdll.dll", "N...."},
		{"dll-register", "dll-appdata/child", r2, "", "FF-F-"},
		{"squiblydoo", "squiblydoo-office/regsvr32", r1, "", "NNNNN"},
		{"squiblydoo", "squiblydoo-office/child", r2, "", "FF-F-"},
		{"squiblydoo", "squiblydoo-office/child", r3, "", "FF-F-"},
		{"squiblydoo", "squiblydoo-script/child", r3, "", "FF-F-"},
		{"squiblydoo", "squiblydoo-script/grandchild", r2, "", "-----"},
		{"squiblydoo", "local-sct/child", r3, "", "FF-F-"},
		{"squiblydoo", "squiblydoo-office/regsvr32", r4, "scrobj.dll", "N...."},
		{"wow64", "wow64/regsvr32", r1, "", "FFFNN"},
		{"wow64", "wow64/regsvr32-wow64", r1, "", "NNNNN"},
		{"wow64", "wow64/regsvr32-wow64", r2, "", "NN-N-"},
		{"wow64", "wow64/regsvr32-wow64", r3, "", "NN-N-"},
		{"wow64", "wow64/regsvr32-wow64", r4, "x86stage.dll", "F...."},
		{"children", "children/child", r2, "", "FF-F-"},
		{"children", "children/child", r3, "", "FF-F-"},
		{"children", "children/conhost", r2, "", "-----"},
		{"unsigned-load", "unsigned-load/regsvr32", r4, "plugin64.dll", "F...."},
		{"unsigned-load", "unsigned-load/decoy-programfiles", r4, "", "N...."},
		{"unsigned-load", "unsigned-load/decoy-windows-temp", r4, "", "N...."},
		{"unsigned-load", "unsigned-load/decoy-signed", r4, "", "N...."},
		{"unsigned-load", "unsigned-load/rundll32", r4, "plugin64.dll", "-...."},
		{"network", "network/regsvr32", r1, "", "NNNNN"},
		{"renamed", "renamed/regsvr32", r1, "", "F----"},
		{"renamed", "renamed/child", r2, "", "-----"},
		{"renamed", "renamed/regsvr32", r4, "jabber.dll", "-...."},
		{"werfault", "werfault/werfault", r2, "", "FF-F-"},
		{"werfault", "werfault/werfault", r3, "", "NN-N-"},
		{"werfault", "werfault/werfault-wow64", r3, "", "NN-N-"},
		{"werfault", "werfault/wevtutil", r2, "", "FF-F-"},
		{"werfault", "werfault/wevtutil", r3, "", "NN-N-"},
		{"werfault", "werfault/regsvr32-installer", r1, "", "NNNNN"},
		{"pid-reuse", "pid-reuse/child", r2, "", "FF-F-"},
		{"pid-reuse", "pid-reuse/notepad-child", r2, "", "-----"},
		{"installer", "installer/regsvr32", r1, "", "NNNNN"},
		{"installer", "installer-x86/regsvr32", r1, "", "NNNNN"},
		{"installer", "installer/regsvr32", r4, "Program Files", "N...."},
	}
	gens := map[string]*generated{}
	for _, c := range cases {
		name := fmt.Sprintf("%s/%s/%s/%s", c.scenario, c.role, c.rule[:8], c.loaded)
		t.Run(name, func(t *testing.T) {
			g := gens[c.scenario]
			if g == nil {
				g = generateAndRead(t, Options{Scenario: c.scenario, Events: 1500, Seed: 5})
				gens[c.scenario] = g
			}
			forms := map[string]string{}
			for _, h := range g.truth.Hosts {
				forms[h.Name] = h.Form
			}
			seen := make([]int, 5)
			for _, ev := range g.events {
				k := KeyOf(ev)
				if g.truth.Roles[k] != c.role {
					continue
				}
				if c.rule == r4 {
					if ev.EventID != 7 {
						continue
					}
					if l, _ := ev.Field("ImageLoaded"); !strings.Contains(l, c.loaded) {
						continue
					}
				} else if _, ok := creationOf(ev); !ok {
					continue
				}
				col := column(ev, forms[k.Host])
				want := c.want[col]
				if want == '.' {
					continue
				}
				seen[col]++
				got := byte('-')
				if g.truth.Flagged(c.rule, k) {
					got = 'F'
				} else if containsKey(g.truth.NotFlag[c.rule], k) {
					got = 'N'
				}
				if got != want {
					cl, _ := ev.Field("CommandLine")
					t.Errorf("%v (form %s, %q): got %c, want %c", k, forms[k.Host], cl, got, want)
				}
			}
			for col, n := range seen {
				if c.want[col] != '.' && n == 0 {
					t.Errorf("no %s event with role %s in column %d: the chain did not run", c.scenario, c.role, col)
				}
			}
		})
	}
}

func containsKey(list []EventKey, k EventKey) bool {
	for _, x := range list {
		if x == k {
			return true
		}
	}
	return false
}

// TestAttackScenariosFlag checks that every attack scenario gives some rule
// something to flag and that background alone flags nothing.
func TestAttackScenariosFlag(t *testing.T) {
	for _, sc := range Scenarios() {
		t.Run(sc.Name, func(t *testing.T) {
			_, truth := generateFile(t, Options{Scenario: sc.Name, Events: 600, Seed: 3})
			n := 0
			for _, r := range RuleIDs() {
				n += len(truth.Flag[r])
			}
			if sc.Name == "background" && n != 0 {
				t.Errorf("background flags %d events", n)
			}
			if sc.Attack && n == 0 {
				t.Errorf("attack scenario flags nothing")
			}
			if sc.Name != "background" && len(truth.Roles) == 0 {
				t.Errorf("no chain events")
			}
		})
	}
}

// TestDeterministic: the same options give the same bytes and truth; a
// different seed gives a different log.
func TestDeterministic(t *testing.T) {
	opts := Options{Scenario: "all", Events: 2000, Seed: 42}
	a, ta := generateFile(t, opts)
	b, tb := generateFile(t, opts)
	if !bytes.Equal(a, b) {
		t.Fatal("same options, different bytes")
	}
	ja, _ := json.Marshal(ta)
	jb, _ := json.Marshal(tb)
	if !bytes.Equal(ja, jb) {
		t.Fatal("same options, different truth")
	}
	opts.Seed = 43
	c, _ := generateFile(t, opts)
	if bytes.Equal(a, c) {
		t.Fatal("different seeds, same bytes")
	}
	var back Truth
	if err := json.Unmarshal(ja, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, ta) {
		t.Error("truth does not survive a JSON round trip")
	}
}

// TestGenerateOptions covers the stop conditions, forms and bad options.
func TestGenerateOptions(t *testing.T) {
	t.Run("size", func(t *testing.T) {
		data, truth := generateFile(t, Options{Scenario: "background", Size: 1 << 20, Seed: 1})
		if len(data) < 1<<20 || len(data) >= 1<<20+0x10000+0x1000 {
			t.Errorf("size %d, want 1 MiB up to one chunk more", len(data))
		}
		if truth.Events == 0 {
			t.Error("no events")
		}
	})
	t.Run("negative seed", func(t *testing.T) {
		if _, truth := generateFile(t, Options{Scenario: "renamed", Events: 200, Seed: -7}); truth.Events != 200 {
			t.Errorf("%d events", truth.Events)
		}
	})
	t.Run("sysmon-form", func(t *testing.T) {
		_, truth := generateFile(t, Options{Scenario: "children", Form: "sysmon", Hosts: 2, Events: 500, Seed: 1})
		if len(truth.Counts) != 1 || truth.Counts[chanSysmon] == nil {
			t.Errorf("channels %v, want Sysmon only", truth.Counts)
		}
		if len(truth.Hosts) != 2 || truth.Hosts[1].Form != "sysmon" {
			t.Errorf("hosts %v", truth.Hosts)
		}
	})
	bad := []struct {
		name string
		opts Options
		want error
	}{
		{"unknown scenario", Options{Scenario: "nope"}, ErrUnknownScenario},
		{"unknown form", Options{Form: "nope"}, ErrOptions},
		{"events and size", Options{Events: 10, Size: 1 << 20}, ErrOptions},
		{"negative hosts", Options{Hosts: -1}, ErrOptions},
		{"negative events", Options{Events: -1}, ErrOptions},
		{"too many hosts", Options{Hosts: 10001}, ErrOptions},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := Generate(&discard{}, c.opts)
			if !errors.Is(err, c.want) {
				t.Errorf("err = %v, want %v", err, c.want)
			}
			if err := Check(c.opts); !errors.Is(err, c.want) {
				t.Errorf("Check: err = %v, want %v", err, c.want)
			}
		})
	}
}

// discard is an io.WriteSeeker that keeps nothing.
type discard struct{ pos, size int64 }

func (d *discard) Write(p []byte) (int, error) {
	d.pos += int64(len(p))
	d.size = max(d.size, d.pos)
	return len(p), nil
}

func (d *discard) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case 1:
		off += d.pos
	case 2:
		off += d.size
	}
	d.pos = off
	return off, nil
}

func TestTruthDiff(t *testing.T) {
	k := func(n uint64) EventKey { return EventKey{Host: "H", Channel: "C", RecordID: n} }
	tr := newTruth("x", 1)
	tr.Flag["r"] = []EventKey{k(1), k(2), k(3)}
	cases := []struct {
		flagged, missing, extra []EventKey
	}{
		{[]EventKey{k(1), k(2), k(3)}, nil, nil},
		{[]EventKey{k(3), k(1), k(1)}, []EventKey{k(2)}, nil},
		{[]EventKey{k(1), k(2), k(3), k(9), k(9)}, nil, []EventKey{k(9)}},
		{nil, []EventKey{k(1), k(2), k(3)}, nil},
	}
	for i, c := range cases {
		m, e := tr.Diff("r", c.flagged)
		if !reflect.DeepEqual(m, c.missing) || !reflect.DeepEqual(e, c.extra) {
			t.Errorf("case %d: missing %v extra %v, want %v %v", i, m, e, c.missing, c.extra)
		}
	}
	if m, e := tr.Diff("unknown", []EventKey{k(1)}); m != nil || !reflect.DeepEqual(e, []EventKey{k(1)}) {
		t.Errorf("unknown rule: missing %v extra %v", m, e)
	}
}

// BenchmarkGenerate measures generation speed (bytes of EVTX per second).
func BenchmarkGenerate(b *testing.B) {
	for i := 0; i < b.N; i++ {
		d := &discard{}
		if _, err := Generate(d, Options{Size: 16 << 20, Seed: int64(i)}); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(d.size)
	}
}
