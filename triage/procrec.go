package triage

import (
	"time"

	"github.com/evtriage/evtriage/parser"
)

// procRec is what the process tree needs of one process event (Sysmon 1/5,
// Security 4688/4689) in a compact form. The parser backs all values of an
// event with one string, so keeping any value keeps the whole event alive:
// a procRec names its strings in the hunt's string table and keeps the
// full event in ref only when it matters (see Hunter.consume).
type procRec struct {
	time       time.Time
	ref        *EventRef // the full event, when kept
	at         recLoc
	parentGUID GUID // ParentProcessGuid (Sysmon 1)
	seq        int32
	blk        int32 // recList block holding the record
	host       strID
	row        int32 // Sysmon: the guidTable row of its ProcessGuid (-1: none)
	pid, ppid  uint32
	// Create fields: CommandLine, the user, and what the event says of
	// the parent: ParentImage/ParentCommandLine (Sysmon 1),
	// ParentProcessName (4688 v2).
	image, cmdline, user, parentImage, parentCmd strID
	src                                          SourceKind
	kind                                         EventKind // KindCreate or KindExit
	flags                                        uint8
}

// Flags of a procRec.
const (
	recRegsvr32 uint8 = 1 << iota
	recRenamed
	recHasPID
	recHasPPID
)

func (r *procRec) has(f uint8) bool { return r.flags&f != 0 }

// compactRec extracts a procRec from a process event of src and kind on
// host (a strID of strs), registering its ProcessGuid in guids (Sysmon).
func compactRec(src SourceKind, kind EventKind, file string, ev *parser.Event, seq int32, host strID, strs *strTable, guids *guidTable) procRec {
	get := func(name string) string { return field(ev, name) }
	r := procRec{src: src, kind: kind, seq: seq, time: ev.Time, host: host, row: -1,
		at: recLoc{file: strs.id(file), channel: strs.id(ev.Channel), recordID: ev.RecordID, offset: ev.Offset}}
	pid := func(name string, has uint8) uint32 {
		v, ok := parsePID(get(name))
		if ok {
			r.flags |= has
		}
		return v
	}
	var regsvr32, renamed bool
	switch {
	case src == FromSysmon:
		if g := eventGUID(ev); !g.IsZero() {
			r.row = guids.get(procKey{host, g}, seq)
			if kind == KindCreate {
				guids.row(r.row).flags |= rowCreated
			}
		}
		r.pid = pid("ProcessId", recHasPID)
		r.image = strs.id(get("Image"))
		if kind == KindCreate {
			r.ppid = pid("ParentProcessId", recHasPPID)
			r.parentGUID = ParseGUID(get("ParentProcessGuid"))
			r.cmdline = strs.id(get("CommandLine"))
			r.user = strs.id(get("User"))
			r.parentImage = strs.id(get("ParentImage"))
			r.parentCmd = strs.id(get("ParentCommandLine"))
			regsvr32, renamed = classifyRegsvr32(strs.str(r.image), get("OriginalFileName"), get("Description"))
		}
	case kind == KindCreate:
		r.pid = pid("NewProcessId", recHasPID)
		r.ppid = pid("ProcessId", recHasPPID)
		r.image = strs.id(get("NewProcessName"))
		r.cmdline = strs.id(get("CommandLine"))
		r.user = strs.id(secUser(ev))
		r.parentImage = strs.id(get("ParentProcessName"))
		regsvr32, renamed = classifyRegsvr32(strs.str(r.image), "", "")
	default:
		r.pid = pid("ProcessId", recHasPID)
		r.image = strs.id(get("ProcessName"))
	}
	if regsvr32 {
		r.flags |= recRegsvr32
	}
	if renamed {
		r.flags |= recRenamed
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
