package triage

import (
	"strings"
	"time"

	"github.com/evtriage/evtriage/parser"
)

// procRec is what the process tree needs of one process event (Sysmon 1/5,
// Security 4688/4689) in a compact form. The parser backs all values of an
// event with one string, so keeping any value keeps the whole event alive:
// a procRec holds copies (interned for the values that repeat) and keeps
// the full event in ref only when it matters (see Hunter.consume).
type procRec struct {
	kind        eventKind
	regsvr32    bool
	renamed     bool
	hasPID      bool
	hasPPID     bool
	pid         uint32
	ppid        uint32
	seq         int32
	blk         int32 // recList block holding the record
	time        time.Time
	host        string
	guid        string // normalised ProcessGuid (Sysmon)
	image       string
	*createInfo           // creates only (nil for exits)
	ref         *EventRef // the full event, when kept
	at          RecordRef
}

// createInfo is what only a create event (Sysmon 1, 4688) carries.
type createInfo struct {
	cmdline string
	user    string
	// Parent fields: ParentProcessGuid/ParentImage/ParentCommandLine
	// (Sysmon 1), ParentProcessName (4688 v2).
	parentGUID  string
	parentImage string
	parentCmd   string
}

// interner shares one copy of each repeated string (images, command lines,
// users, hosts). Values it has not seen are cloned, so they do not pin the
// parser's per-event buffer.
type interner map[string]string

func (in interner) get(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := in[s]; ok {
		return v
	}
	v := strings.Clone(s)
	in[v] = v
	return v
}

// compact extracts a procRec from a process event. in may be nil (then
// values are cloned, not shared).
func compact(kind eventKind, file string, ev *parser.Event, seq int, in interner) procRec {
	get := func(name string) string { return field(ev, name) }
	keep := strings.Clone
	if in != nil {
		keep = in.get
	}
	r := procRec{kind: kind, seq: int32(seq), time: ev.Time, host: keep(ev.Computer),
		at: RecordRef{File: keep(file), Channel: keep(ev.Channel), RecordID: ev.RecordID, Offset: ev.Offset}}
	switch kind {
	case kindSysmonCreate:
		r.createInfo = new(createInfo)
		r.guid = strings.Clone(eventGUID(ev))
		r.pid, r.hasPID = parsePID(get("ProcessId"))
		r.ppid, r.hasPPID = parsePID(get("ParentProcessId"))
		r.parentGUID = strings.Clone(normGUID(get("ParentProcessGuid")))
		r.image = keep(get("Image"))
		r.cmdline = keep(get("CommandLine"))
		r.user = keep(get("User"))
		r.parentImage = keep(get("ParentImage"))
		r.parentCmd = keep(get("ParentCommandLine"))
		r.regsvr32, r.renamed = classifyRegsvr32(r.image, get("OriginalFileName"), get("Description"))
	case kindSysmonExit:
		r.guid = strings.Clone(eventGUID(ev))
		r.pid, r.hasPID = parsePID(get("ProcessId"))
		r.image = keep(get("Image"))
	case kindSecCreate:
		r.createInfo = new(createInfo)
		r.pid, r.hasPID = parsePID(get("NewProcessId"))
		r.ppid, r.hasPPID = parsePID(get("ProcessId"))
		r.image = keep(get("NewProcessName"))
		r.cmdline = keep(get("CommandLine"))
		r.user = keep(secUser(ev))
		r.parentImage = keep(get("ParentProcessName"))
		r.regsvr32, r.renamed = classifyRegsvr32(r.image, "", "")
	case kindSecExit:
		r.pid, r.hasPID = parsePID(get("ProcessId"))
		r.image = keep(get("ProcessName"))
	}
	return r
}

// secUser is the account a 4688 process runs as: the target account when
// the event names one (4688 v2), else the subject.
func secUser(ev *parser.Event) string {
	name, dom := field(ev, "TargetUserName"), field(ev, "TargetDomainName")
	if name == "" || name == "-" {
		name, dom = field(ev, "SubjectUserName"), field(ev, "SubjectDomainName")
	}
	if dom != "" && dom != "-" {
		return dom + `\` + name
	}
	return name
}

// recChunk is the number of records per block of a recList.
const recChunk = 4096

// recList stores procRecs in fixed blocks: appending never copies what is
// stored (a growing slice would, and briefly hold it twice), and pointers
// to records stay valid.
type recList struct {
	blocks [][]procRec
	n      int
}

func (l *recList) add(r procRec) {
	if len(l.blocks) == 0 || len(l.blocks[len(l.blocks)-1]) == recChunk {
		l.blocks = append(l.blocks, make([]procRec, 0, recChunk))
	}
	r.blk = int32(len(l.blocks) - 1)
	b := &l.blocks[len(l.blocks)-1]
	*b = append(*b, r)
	l.n++
}

// pointers returns a pointer to every record, in insertion order.
func (l *recList) pointers() []*procRec {
	out := make([]*procRec, 0, l.n)
	for _, b := range l.blocks {
		for i := range b {
			out = append(out, &b[i])
		}
	}
	return out
}

// releaser returns a function that drops a block of l once every record of
// it has been passed to the function.
func (l *recList) releaser() func(*procRec) {
	left := make([]int, len(l.blocks))
	for i, b := range l.blocks {
		left[i] = len(b)
	}
	return func(r *procRec) {
		if left[r.blk]--; left[r.blk] == 0 {
			l.blocks[r.blk] = nil
		}
	}
}
