package samples

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/evtriage/evtriage/parser"
)

// Ids of the built-in rules the ground truth is defined against.
const (
	// RuleDLLRegisterServer is SigmaHQ's
	// proc_creation_win_regsvr32_dllregisterserver_exec: regsvr32 (by Image
	// or OriginalFileName) with " /s " or " /e ", not from Program Files or
	// the Windows folders (CommandLine or CurrentDirectory), not with " /i:"
	// or "/U ", not RpcProxy.
	RuleDLLRegisterServer = "ce2c44b5-a6ac-412a-afba-9e89326fa972"
	// RuleCARRegsvr32Child is CAR-2019-04-002's main analytic: a process
	// whose ParentImage ends with regsvr32.exe and whose Image does not
	// contain regsvr32.exe.
	RuleCARRegsvr32Child = "e23771a3-d2bc-4535-9b97-ab6769c1a38d"
	// RuleCARSpawningChildren is CAR-2019-04-002's "spawning child
	// processes": parent is System32 or SysWOW64 regsvr32.exe, child is
	// neither of those, nor WerFault.exe (System32, SysWOW64) nor
	// System32\wevtutil.exe.
	RuleCARSpawningChildren = "bc399179-15fa-4ca9-a55b-d46b526bf897"
	// RuleCARUnsignedLoad is CAR-2019-04-002's "unsigned images": Sysmon 7
	// by System32/SysWOW64 regsvr32 of an unsigned image outside
	// C:\Program Files* and C:\Windows\.
	RuleCARUnsignedLoad = "8537fa9f-c8d8-4530-81bc-1b4db643e582"
)

// RuleIDs returns the ids of the built-in rules, in the order above.
func RuleIDs() []string {
	return []string{RuleDLLRegisterServer, RuleCARRegsvr32Child, RuleCARSpawningChildren, RuleCARUnsignedLoad}
}

// EventKey identifies an event in a generated log. EventRecordIDs count per
// host and channel, as on Windows, so all three are needed.
type EventKey struct {
	Host     string `json:"host"`
	Channel  string `json:"channel"`
	RecordID uint64 `json:"record_id"`
}

// KeyOf returns the key of a parsed event.
func KeyOf(ev *parser.Event) EventKey {
	return EventKey{Host: ev.Computer, Channel: ev.Channel, RecordID: ev.RecordID}
}

func (k EventKey) String() string { return fmt.Sprintf("%s/%s#%d", k.Host, k.Channel, k.RecordID) }

// HostInfo describes one generated host.
type HostInfo struct {
	Name string `json:"name"`
	// Form names the logs the host keeps (see Options.Hosts).
	Form string `json:"form"`
}

// Truth is the ground truth of a generated log.
//
// Flag and NotFlag are derived by the generator from the exact values it
// wrote, with a direct Go transcription of each built-in rule's logic (see
// the Rule* constants), never by running the rules package:
//   - Flag[rule] lists exactly the events the rule must flag; flagging any
//     other event is a false positive.
//   - NotFlag[rule] lists the events the rule must not flag although they
//     are its subject: process creations of regsvr32 (by Image or
//     OriginalFileName) for RuleDLLRegisterServer, process creations whose
//     parent image ends in regsvr32.exe for the CAR child analytics, and
//     Sysmon 7 loads by regsvr32 for RuleCARUnsignedLoad. These are the
//     near misses (installers, filters, exclusions, other log forms).
//
// Parent maps each process creation event (Sysmon 1 or Security 4688) to
// the creation event of its real parent in the same host and channel, for
// every process whose parent's creation is in the log (PID reuse included:
// the parent is the process that really started the child). Processes
// running before the log began have no entry.
//
// Roles names why each attack-chain or decoy event was written (e.g.
// "squiblydoo/regsvr32"); background events have no role.
type Truth struct {
	Scenario string
	Seed     int64
	Hosts    []HostInfo
	Events   int                    // records written
	Counts   map[string]map[int]int // channel -> event id -> records
	Flag     map[string][]EventKey
	NotFlag  map[string][]EventKey
	Parent   map[EventKey]EventKey
	Roles    map[EventKey]string
}

func newTruth(sc string, seed int64) Truth {
	return Truth{
		Scenario: sc,
		Seed:     seed,
		Flag:     make(map[string][]EventKey),
		NotFlag:  make(map[string][]EventKey),
		Parent:   make(map[EventKey]EventKey),
		Roles:    make(map[EventKey]string),
		Counts:   make(map[string]map[int]int),
	}
}

// Flagged reports whether rule must flag the event with key k.
func (t *Truth) Flagged(rule string, k EventKey) bool {
	for _, x := range t.Flag[rule] {
		if x == k {
			return true
		}
	}
	return false
}

// Summary returns a human-readable account of the truth: hosts, event
// counts and per-rule flag counts.
func (t *Truth) Summary() string {
	var b strings.Builder
	hosts := "hosts"
	if len(t.Hosts) == 1 {
		hosts = "host"
	}
	fmt.Fprintf(&b, "scenario %s, seed %d: %d events on %d %s\n", t.Scenario, t.Seed, t.Events, len(t.Hosts), hosts)
	for _, h := range t.Hosts {
		fmt.Fprintf(&b, "  host %s: %s\n", h.Name, h.Form)
	}
	chans := make([]string, 0, len(t.Counts))
	for c := range t.Counts {
		chans = append(chans, c)
	}
	sort.Strings(chans)
	for _, c := range chans {
		ids := make([]int, 0, len(t.Counts[c]))
		for id := range t.Counts[c] {
			ids = append(ids, id)
		}
		sort.Ints(ids)
		fmt.Fprintf(&b, "  %s:", c)
		for _, id := range ids {
			fmt.Fprintf(&b, " %d×%d", id, t.Counts[c][id])
		}
		b.WriteString("\n")
	}
	for _, r := range RuleIDs() {
		fmt.Fprintf(&b, "  rule %s: must flag %d, must not flag %d near misses\n", r, len(t.Flag[r]), len(t.NotFlag[r]))
	}
	return b.String()
}

// record adds a written event to the truth.
func (t *Truth) record(ev *parser.Event, role string) {
	k := KeyOf(ev)
	t.Events++
	m := t.Counts[ev.Channel]
	if m == nil {
		m = make(map[int]int)
		t.Counts[ev.Channel] = m
	}
	m[int(ev.EventID)]++
	if role != "" {
		t.Roles[k] = role
	}
	for _, r := range RuleIDs() {
		subject, flag := Judge(r, ev)
		switch {
		case flag:
			t.Flag[r] = append(t.Flag[r], k)
		case subject:
			t.NotFlag[r] = append(t.NotFlag[r], k)
		}
	}
}

// Judge applies the generator's transcription of a built-in rule to an
// event: subject reports whether the event is what the rule looks at (see
// Truth.NotFlag), flag whether the rule matches it. String comparisons are
// case-insensitive, as in Sigma. Security 4688 events are read with the
// Sigma mapping NewProcessName->Image, ParentProcessName->ParentImage; a
// field the event lacks matches nothing.
func Judge(rule string, ev *parser.Event) (subject, flag bool) {
	get := func(name string) (string, bool) { return ev.Field(name) }
	create := false
	image, parentImage := "", ""
	hasParent := false
	switch {
	case ev.Provider == provSysmon && ev.EventID == 1:
		create = true
		image, _ = get("Image")
		parentImage, hasParent = get("ParentImage")
	case ev.Provider == provSecurity && ev.EventID == 4688:
		create = true
		image, _ = get("NewProcessName")
		parentImage, hasParent = get("ParentProcessName")
	}
	switch rule {
	case RuleDLLRegisterServer:
		if !create {
			return false, false
		}
		orig, _ := get("OriginalFileName")
		if !hasSuffixFold(image, `\regsvr32.exe`) && !strings.EqualFold(orig, "REGSVR32.EXE") {
			return false, false
		}
		cmd, _ := get("CommandLine")
		if !containsFold(cmd, " /s ") && !containsFold(cmd, " /e ") {
			return true, false
		}
		paths := []string{`:\Program Files (x86)`, `:\Program Files\`, `:\Windows\System32\`, `:\Windows\SysWOW64\`}
		cwd, _ := get("CurrentDirectory")
		for _, p := range paths {
			if containsFold(cmd, p) || containsFold(cwd, p) {
				return true, false
			}
		}
		if containsFold(cmd, " /i:") || containsFold(cmd, "/U ") {
			return true, false
		}
		if pcl, ok := get("ParentCommandLine"); ok && hasSuffixFold(pcl, `:\Windows\System32\RpcProxy\RpcProxy.dll`) && strings.EqualFold(cmd, "regsvr32 /s rpcproxy.dll") {
			return true, false
		}
		return true, true
	case RuleCARRegsvr32Child:
		if !create || !hasParent || !hasSuffixFold(parentImage, "regsvr32.exe") {
			return false, false
		}
		return true, !containsFold(image, "regsvr32.exe")
	case RuleCARSpawningChildren:
		if !create || !hasParent || !hasSuffixFold(parentImage, "regsvr32.exe") {
			return false, false
		}
		if !equalAnyFold(parentImage, imgRegsvr32, imgRegsvr32Wow) {
			return true, false
		}
		return true, !equalAnyFold(image, imgRegsvr32, imgRegsvr32Wow, imgWerFault, imgWerFaultWow, imgWevtutil)
	case RuleCARUnsignedLoad:
		if ev.Provider != provSysmon || ev.EventID != 7 {
			return false, false
		}
		img, _ := get("Image")
		if !equalAnyFold(img, imgRegsvr32, imgRegsvr32Wow) {
			return false, false
		}
		signed, _ := get("Signed")
		loaded, _ := get("ImageLoaded")
		if !strings.EqualFold(signed, "false") || hasPrefixFold(loaded, `C:\Program Files`) || hasPrefixFold(loaded, `C:\Windows\`) {
			return true, false
		}
		return true, true
	}
	return false, false
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

func hasSuffixFold(s, suf string) bool {
	return len(s) >= len(suf) && strings.EqualFold(s[len(s)-len(suf):], suf)
}

func hasPrefixFold(s, pre string) bool {
	return len(s) >= len(pre) && strings.EqualFold(s[:len(pre)], pre)
}

func equalAnyFold(s string, list ...string) bool {
	for _, x := range list {
		if strings.EqualFold(s, x) {
			return true
		}
	}
	return false
}

// truthJSON is the JSON form of Truth: maps keyed by EventKey become sorted
// lists.
type truthJSON struct {
	Scenario string                 `json:"scenario"`
	Seed     int64                  `json:"seed"`
	Hosts    []HostInfo             `json:"hosts"`
	Events   int                    `json:"events"`
	Counts   map[string]map[int]int `json:"counts"`
	Flag     map[string][]EventKey  `json:"flag"`
	NotFlag  map[string][]EventKey  `json:"not_flag"`
	Parent   []ParentLink           `json:"parent"`
	Roles    []RoleEntry            `json:"roles"`
}

// ParentLink is one entry of Truth.Parent in JSON.
type ParentLink struct {
	Child  EventKey `json:"child"`
	Parent EventKey `json:"parent"`
}

// RoleEntry is one entry of Truth.Roles in JSON.
type RoleEntry struct {
	Event EventKey `json:"event"`
	Role  string   `json:"role"`
}

func lessKey(a, b EventKey) bool {
	if a.Host != b.Host {
		return a.Host < b.Host
	}
	if a.Channel != b.Channel {
		return a.Channel < b.Channel
	}
	return a.RecordID < b.RecordID
}

// MarshalJSON writes the truth with Parent and Roles as lists sorted by
// event key, so the output is stable.
func (t Truth) MarshalJSON() ([]byte, error) {
	j := truthJSON{Scenario: t.Scenario, Seed: t.Seed, Hosts: t.Hosts, Events: t.Events, Counts: t.Counts,
		Flag: t.Flag, NotFlag: t.NotFlag, Parent: []ParentLink{}, Roles: []RoleEntry{}}
	for c, p := range t.Parent {
		j.Parent = append(j.Parent, ParentLink{c, p})
	}
	sort.Slice(j.Parent, func(a, b int) bool { return lessKey(j.Parent[a].Child, j.Parent[b].Child) })
	for k, r := range t.Roles {
		j.Roles = append(j.Roles, RoleEntry{k, r})
	}
	sort.Slice(j.Roles, func(a, b int) bool { return lessKey(j.Roles[a].Event, j.Roles[b].Event) })
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (t *Truth) UnmarshalJSON(b []byte) error {
	var j truthJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("samples: truth: %w", err)
	}
	*t = newTruth(j.Scenario, j.Seed)
	t.Hosts, t.Events = j.Hosts, j.Events
	if j.Counts != nil {
		t.Counts = j.Counts
	}
	if j.Flag != nil {
		t.Flag = j.Flag
	}
	if j.NotFlag != nil {
		t.NotFlag = j.NotFlag
	}
	for _, l := range j.Parent {
		t.Parent[l.Child] = l.Parent
	}
	for _, r := range j.Roles {
		t.Roles[r.Event] = r.Role
	}
	return nil
}

// Diff compares the events a hunt flagged for rule with the truth: missing
// lists the events the rule must flag but were not, extra the flagged
// events the truth does not list (false positives). Both follow the order
// of their source lists; duplicates in flagged count once.
func (t *Truth) Diff(rule string, flagged []EventKey) (missing, extra []EventKey) {
	want := make(map[EventKey]bool, len(t.Flag[rule]))
	for _, k := range t.Flag[rule] {
		want[k] = true
	}
	got := make(map[EventKey]bool, len(flagged))
	for _, k := range flagged {
		if got[k] {
			continue
		}
		got[k] = true
		if !want[k] {
			extra = append(extra, k)
		}
	}
	for _, k := range t.Flag[rule] {
		if !got[k] {
			missing = append(missing, k)
		}
	}
	return missing, extra
}
