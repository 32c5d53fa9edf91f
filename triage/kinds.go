package triage

import (
	"strconv"
	"strings"

	"github.com/evtriage/evtriage/parser"
)

// The process model's enums, each with one name table that drives its
// classification, storage, String and the names the export and the screen
// show (as debug/elf keeps one table per enum).

// SourceKind says which log told us about a process: a set of bits.
type SourceKind uint8

const (
	FromSysmon   SourceKind = 1 << iota // Sysmon 1/5
	FromSecurity                        // Security 4688/4689
)

// sourceNames is the name table of SourceKind: the name exports use, the
// title the screen shows and its short form.
var sourceNames = [...]struct {
	bit                SourceKind
	name, title, short string
}{
	{FromSysmon, "sysmon", "Sysmon", "Sysmon"},
	{FromSecurity, "security", "Security 4688", "4688"},
}

// Names returns the names of the logs in k, in table order ("sysmon",
// "security"); empty (not nil) for none.
func (k SourceKind) Names() []string {
	out := []string{}
	for _, s := range sourceNames {
		if k&s.bit != 0 {
			out = append(out, s.name)
		}
	}
	return out
}

// String returns the names of the logs in k joined by "+" ("" for none).
func (k SourceKind) String() string { return strings.Join(k.Names(), "+") }

// Title returns the logs in k as the screen names them ("Sysmon + Security
// 4688"); "" for none.
func (k SourceKind) Title() string {
	return k.join(func(i int) string { return sourceNames[i].title }, " + ")
}

// Short returns the logs in k in short form ("Sysmon", "4688"), joined by
// "+"; "" for none.
func (k SourceKind) Short() string {
	return k.join(func(i int) string { return sourceNames[i].short }, "+")
}

func (k SourceKind) join(name func(int) string, sep string) string {
	var parts []string
	for i, s := range sourceNames {
		if k&s.bit != 0 {
			parts = append(parts, name(i))
		}
	}
	return strings.Join(parts, sep)
}

// Channels and providers the process model reads.
const (
	sysmonChannel  = "microsoft-windows-sysmon/operational"
	sysmonProvider = "microsoft-windows-sysmon"
	securityChan   = "security"
)

// sourceOf says which log family an event belongs to (0 for neither).
func sourceOf(ev *parser.Event) SourceKind {
	switch {
	case strings.EqualFold(ev.Channel, sysmonChannel) || strings.EqualFold(ev.Provider, sysmonProvider):
		return FromSysmon
	case strings.EqualFold(ev.Channel, securityChan):
		return FromSecurity
	}
	return 0
}

// EventKind is what an event is to the process model: the creation or the
// end of a process, one of its activities, or nothing (KindNone).
type EventKind uint8

// Event kinds. The activity kinds (KindImageLoad…KindOtherActivity) are
// counted per process (Process.Seen) and, when kept, stored by kind
// (Process.Events).
const (
	KindNone   EventKind = iota // not a process event
	KindCreate                  // Sysmon 1, Security 4688
	KindExit                    // Sysmon 5, Security 4689
	KindImageLoad
	KindNetwork
	KindDNS
	KindFile
	KindRegistry
	KindOtherActivity // any other Sysmon event naming its ProcessGuid
	numEventKinds
)

// firstActivity is the first activity kind; activity kinds run to the end.
const firstActivity = KindImageLoad

// numActivity is the number of activity kinds.
const numActivity = int(numEventKinds - firstActivity)

// eventKinds is the name table of EventKind and what each kind covers:
// the log and event ids (nil ids: every other event of that log naming a
// ProcessGuid); its name, the name of its counts on the screen and the
// title of its list of events; the names the export gives an event of the
// kind and the count of them; and the fields that describe one such event,
// its indicator first (what the screen lists).
var eventKinds = [numEventKinds]struct {
	src                      SourceKind
	ids                      []uint16
	name, counts, title      string
	exportName, exportCounts string
	fields                   []string
}{
	KindNone:   {name: "none"},
	KindCreate: {name: "create", title: "Creation event"},
	KindExit:   {name: "exit", title: "Termination event"},
	KindImageLoad: {src: FromSysmon, ids: []uint16{7}, name: "image load", counts: "image loads", title: "Image loads", exportName: "image_load", exportCounts: "image_loads",
		fields: []string{"ImageLoaded", "Signed", "Signature"}},
	KindNetwork: {src: FromSysmon, ids: []uint16{3}, name: "network", counts: "network", title: "Network connections", exportName: "network", exportCounts: "network",
		fields: []string{"DestinationIp", "DestinationPort", "DestinationHostname", "Protocol", "SourceIp", "SourcePort"}},
	KindDNS: {src: FromSysmon, ids: []uint16{22}, name: "dns", counts: "DNS", title: "DNS queries", exportName: "dns", exportCounts: "dns",
		fields: []string{"QueryName", "QueryResults"}},
	KindFile: {src: FromSysmon, ids: []uint16{11}, name: "file", counts: "file", title: "File events", exportName: "file", exportCounts: "files",
		fields: []string{"TargetFilename"}},
	KindRegistry: {src: FromSysmon, ids: []uint16{12, 13, 14}, name: "registry", counts: "registry", title: "Registry events", exportName: "registry", exportCounts: "registry",
		fields: []string{"TargetObject", "EventType", "Details", "NewName"}},
	KindOtherActivity: {src: FromSysmon, name: "other", counts: "other", title: "Other events", exportName: "other", exportCounts: "other"},
}

// Fields names the fields that describe an event of activity kind k, its
// indicator (the path loaded, the address, the name queried, the file,
// the registry key) first; nil for kinds without a set (other events).
func (k EventKind) Fields() []string {
	if k < numEventKinds {
		return eventKinds[k].fields
	}
	return nil
}

// exportName is the export's name for an event of kind k ("image_load").
func (k EventKind) exportName() string { return eventKinds[k].exportName }

// exportCounts is the export's name for the count of kind k's events
// ("image_loads").
func (k EventKind) exportCounts() string { return eventKinds[k].exportCounts }

// processEvents lists the events that create and end processes, per log.
var processEvents = [...]struct {
	src  SourceKind
	id   uint16
	kind EventKind
}{
	{FromSysmon, 1, KindCreate},
	{FromSysmon, 5, KindExit},
	{FromSecurity, 4688, KindCreate},
	{FromSecurity, 4689, KindExit},
}

// String returns the kind's name ("image load", "dns", …).
func (k EventKind) String() string {
	if k < numEventKinds {
		return eventKinds[k].name
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Title is the heading of a list of events of kind k ("Image loads").
func (k EventKind) Title() string {
	if k < numEventKinds {
		return eventKinds[k].title
	}
	return k.String()
}

// IsActivity reports whether k is an activity kind.
func (k EventKind) IsActivity() bool { return k >= firstActivity && k < numEventKinds }

// ActivityKinds returns the activity kinds in table order.
func ActivityKinds() []EventKind {
	out := make([]EventKind, 0, numActivity)
	for k := firstActivity; k < numEventKinds; k++ {
		out = append(out, k)
	}
	return out
}

// KindOf says what an event is to the process model: the creation
// (Sysmon 1, Security 4688) or the end of a process, one of its
// activities, or KindNone.
func KindOf(ev *parser.Event) EventKind {
	_, k := classify(ev)
	return k
}

// classify says which log an event comes from and what it is to the
// process model. Sysmon activity counts as activity only with a
// ProcessGuid; classify does not look at fields, callers do.
func classify(ev *parser.Event) (SourceKind, EventKind) {
	src := sourceOf(ev)
	if src == 0 {
		return 0, KindNone
	}
	for _, p := range processEvents {
		if p.src == src && p.id == ev.EventID {
			return src, p.kind
		}
	}
	other := KindNone
	for k := firstActivity; k < numEventKinds; k++ {
		d := &eventKinds[k]
		if d.src != src {
			continue
		}
		if d.ids == nil {
			other = k
			continue
		}
		for _, id := range d.ids {
			if id == ev.EventID {
				return src, k
			}
		}
	}
	return src, other
}

// kindOf is classify's kind alone.
func kindOf(ev *parser.Event) EventKind {
	_, k := classify(ev)
	return k
}

// Activity counts a process's activity events by kind.
type Activity [numActivity]uint32

// Count returns the number of events of activity kind k (0 for other
// kinds).
func (a Activity) Count(k EventKind) int {
	if !k.IsActivity() {
		return 0
	}
	return int(a[k-firstActivity])
}

// Add counts n more events of activity kind k (other kinds are not
// counted; counts stop at the largest uint32).
func (a *Activity) Add(k EventKind, n int) {
	if k.IsActivity() && n > 0 {
		a[k-firstActivity] = satAdd(a[k-firstActivity], uint32(min(n, 1<<32-1)))
	}
}

// Total is the number of events counted.
func (a Activity) Total() int {
	n := 0
	for _, c := range a {
		n += int(c)
	}
	return n
}

// Summary describes counts by kind as the screen shows them: "3 image
// loads, 0 network, 1 DNS, 0 file, 0 registry, 0 other".
func (a Activity) Summary() string {
	var b strings.Builder
	for i, k := range ActivityKinds() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(a.Count(k)))
		b.WriteByte(' ')
		b.WriteString(eventKinds[k].counts)
	}
	return b.String()
}

// satAdd adds without wrapping.
func satAdd(a, b uint32) uint32 {
	if s := a + b; s >= a {
		return s
	}
	return ^uint32(0)
}

// LinkKind says how a process's parent was found.
type LinkKind uint8

const (
	LinkNone LinkKind = iota // a root: no parent known
	LinkGUID                 // by the child's ParentProcessGuid
	LinkPID                  // by process id, at the time of the child's creation
)

var linkNames = [...]string{LinkNone: "", LinkGUID: "guid", LinkPID: "pid"}

// String returns "guid", "pid", or "" for LinkNone.
func (l LinkKind) String() string {
	if int(l) < len(linkNames) {
		return linkNames[l]
	}
	return "LinkKind(" + strconv.Itoa(int(l)) + ")"
}

// parseSourceNames is Names read back: the logs an export's "sources"
// names (unknown names are ignored).
func parseSourceNames(names []string) SourceKind {
	var k SourceKind
	for _, n := range names {
		for _, s := range sourceNames {
			if n == s.name {
				k |= s.bit
			}
		}
	}
	return k
}

// parseLink is LinkKind.String read back (LinkNone for anything else).
func parseLink(s string) LinkKind {
	for i, n := range linkNames {
		if n == s && n != "" {
			return LinkKind(i)
		}
	}
	return LinkNone
}

// activityKindOfExport is exportName read back: the activity kind an
// export's event "kind" names.
func activityKindOfExport(name string) (EventKind, bool) {
	for _, k := range ActivityKinds() {
		if eventKinds[k].exportName == name {
			return k, true
		}
	}
	return KindNone, false
}
