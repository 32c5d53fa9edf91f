package triage

import (
	"strings"
	"testing"

	"github.com/evtriage/evtriage/parser"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		channel, provider string
		id                uint16
		src               SourceKind
		kind              EventKind
	}{
		{sysmonCh, "Microsoft-Windows-Sysmon", 1, FromSysmon, KindCreate},
		{sysmonCh, "Microsoft-Windows-Sysmon", 5, FromSysmon, KindExit},
		{sysmonCh, "Microsoft-Windows-Sysmon", 7, FromSysmon, KindImageLoad},
		{sysmonCh, "Microsoft-Windows-Sysmon", 3, FromSysmon, KindNetwork},
		{sysmonCh, "Microsoft-Windows-Sysmon", 22, FromSysmon, KindDNS},
		{sysmonCh, "Microsoft-Windows-Sysmon", 11, FromSysmon, KindFile},
		{sysmonCh, "Microsoft-Windows-Sysmon", 12, FromSysmon, KindRegistry},
		{sysmonCh, "Microsoft-Windows-Sysmon", 14, FromSysmon, KindRegistry},
		{sysmonCh, "Microsoft-Windows-Sysmon", 10, FromSysmon, KindOtherActivity},
		{"Forwarded", "Microsoft-Windows-Sysmon", 1, FromSysmon, KindCreate}, // by provider
		{"SECURITY", "Microsoft-Windows-Security-Auditing", 4688, FromSecurity, KindCreate},
		{"Security", "", 4689, FromSecurity, KindExit},
		{"Security", "", 4624, FromSecurity, KindNone},
		{"System", "Service Control Manager", 7045, 0, KindNone},
	}
	for _, tc := range tests {
		src, kind := classify(&parser.Event{Channel: tc.channel, Provider: tc.provider, EventID: tc.id})
		if src != tc.src || kind != tc.kind {
			t.Errorf("%s/%d: %v %v, want %v %v", tc.channel, tc.id, src, kind, tc.src, tc.kind)
		}
	}
}

// TestKindTables: every kind and source has its names, the activity kinds
// run to the end, and the names each type gives are the table's.
func TestKindTables(t *testing.T) {
	for k := KindNone; k < numEventKinds; k++ {
		d := eventKinds[k]
		if d.name == "" || strings.HasPrefix(k.String(), "EventKind(") {
			t.Errorf("kind %d has no name", k)
		}
		if k.IsActivity() && (d.counts == "" || d.title == "" || d.src == 0) {
			t.Errorf("activity kind %s lacks its screen names or log", k)
		}
		// Every activity kind with its own event ids says which fields
		// describe its events (the screen lists them).
		if k.IsActivity() && d.ids != nil && len(k.Fields()) == 0 {
			t.Errorf("activity kind %s names no fields", k)
		}
	}
	if got := len(ActivityKinds()); got != numActivity {
		t.Errorf("%d activity kinds, want %d", got, numActivity)
	}
	if EventKind(200).String() != "EventKind(200)" || LinkKind(9).String() != "LinkKind(9)" {
		t.Error("out-of-range values should name their number")
	}
	var a Activity
	a.Add(KindImageLoad, 3)
	a.Add(KindDNS, 1)
	a.Add(KindCreate, 5) // not an activity: not counted
	a.Add(KindOtherActivity, 1<<40)
	if a.Total() != 4+1<<32-1 || a.Count(KindCreate) != 0 || a.Count(KindOtherActivity) != 1<<32-1 {
		t.Errorf("counts %v", a)
	}
	a[len(a)-1] = 0
	if got, want := a.Summary(), "3 image loads, 0 network, 1 DNS, 0 file, 0 registry, 0 other"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	both := FromSysmon | FromSecurity
	if both.String() != "sysmon+security" || both.Title() != "Sysmon + Security 4688" || FromSecurity.Short() != "4688" ||
		SourceKind(0).String() != "" || len(SourceKind(0).Names()) != 0 || SourceKind(0).Names() == nil {
		t.Errorf("source names: %q %q %q", both.String(), both.Title(), FromSecurity.Short())
	}
	if LinkGUID.String() != "guid" || LinkPID.String() != "pid" || LinkNone.String() != "" {
		t.Error("link names")
	}
}

func TestGUID(t *testing.T) {
	const text = "365ABB72-6759-5CD8-0000-0010ABCDEF12"
	tests := []struct {
		in   string
		want string // String of the result; "" for none
	}{
		{"{" + text + "}", text},
		{text, text},
		{strings.ToLower("{" + text + "}"), text},
		{"  {" + text + "} ", text},
		{"", ""},
		{"{00000000-0000-0000-0000-000000000000}", ""},
		{"{", ""},
	}
	for _, tc := range tests {
		if got := ParseGUID(tc.in).String(); got != tc.want {
			t.Errorf("ParseGUID(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// Text that is not a GUID still names one process, case and braces
	// aside, and never the zero GUID.
	odd := ParseGUID("{not-a-guid}")
	if odd.IsZero() || odd != ParseGUID("NOT-A-GUID") || odd == ParseGUID("not-a-guid2") {
		t.Errorf("odd GUIDs: %v", odd)
	}
}

func TestU64Set(t *testing.T) {
	var s u64Set
	for i := uint64(0); i < 100000; i++ {
		if s.add(i * 0x9e3779b97f4a7c15) {
			t.Fatalf("%d reported as seen", i)
		}
	}
	for i := uint64(0); i < 100000; i += 7 {
		if !s.add(i * 0x9e3779b97f4a7c15) {
			t.Fatalf("%d not found", i)
		}
	}
	if s.n != 100000 {
		t.Errorf("%d keys, want 100000", s.n)
	}
	if !s.add(1) { // 0 was stored as 1
		t.Error("0 and 1 share a slot and must collide")
	}
}

func TestGUIDTable(t *testing.T) {
	g := newGUIDTable()
	key := func(i int) procKey {
		var k procKey
		k.host = strID(i % 3)
		k.guid[0], k.guid[1], k.guid[15] = byte(i), byte(i>>8), 1
		return k
	}
	for i := 0; i < 10000; i++ {
		if r := g.get(key(i), int32(i)); int(r) != i {
			t.Fatalf("row %d for key %d", r, i)
		}
	}
	for i := 0; i < 10000; i++ {
		if r := g.find(key(i)); int(r) != i || g.row(r).key != key(i) || g.row(r).first != int32(i) {
			t.Fatalf("key %d found at %d", i, r)
		}
	}
	if g.find(key(10001)) != -1 || g.len() != 10000 {
		t.Error("an unknown key was found")
	}
}
