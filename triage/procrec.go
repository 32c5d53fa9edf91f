package triage

import (
	"time"

	"github.com/evtriage/evtriage/parser"
)

// procRec is what the process tree needs of one process event (Sysmon 1/5,
// Security 4688/4689) in a compact form; a create's further fields are in
// its createRec. The parser backs all values of an event with one string,
// so keeping any value keeps the whole event alive: records name their
// strings in the hunt's string table and keep the full event in ref only
// when it matters (see Hunter.consume).
type procRec struct {
	sec    int64     // time: Unix seconds…
	ref    *EventRef // the full event, when kept
	nsec   int32     // …and nanoseconds
	seq    int32
	blk    int32 // recList block holding the record
	host   strID
	row    int32 // Sysmon: the guidTable row of its ProcessGuid (-1: none)
	pid    uint32
	create int32 // its createRec (-1: an exit)
	src    SourceKind
	kind   EventKind // KindCreate or KindExit
	flags  uint8
}

// createRec is what only a create event (Sysmon 1, 4688) carries: where
// it is, its command line and user, and what it says of the parent —
// ParentProcessGuid/ParentImage/ParentCommandLine (Sysmon 1),
// ParentProcessName (4688 v2).
type createRec struct {
	at                     recLoc
	parentGUID             GUID
	ppid                   uint32
	image, cmdline, user   strID
	parentImage, parentCmd strID
	blk                    int32 // block holding the record
}

// Flags of a procRec.
const (
	recRegsvr32 uint8 = 1 << iota
	recRenamed
	recHasPID
	recHasPPID
)

func (r *procRec) has(f uint8) bool { return r.flags&f != 0 }

// time returns the event's time as the parser gave it (UTC).
func (r *procRec) time() time.Time { return time.Unix(r.sec, int64(r.nsec)).UTC() }

// compactRec extracts a procRec (and for a create its createRec) from a
// process event of src and kind on host (a strID of strs), registering its
// ProcessGuid in guids (Sysmon).
func compactRec(src SourceKind, kind EventKind, file string, ev *parser.Event, seq int32, host strID, strs *strTable, guids *guidTable) (procRec, createRec) {
	get := func(name string) string { return field(ev, name) }
	r := procRec{src: src, kind: kind, seq: seq, sec: ev.Time.Unix(), nsec: int32(ev.Time.Nanosecond()), host: host, row: -1, create: -1}
	var c createRec
	if kind == KindCreate {
		c.at = recLoc{file: strs.id(file), channel: strs.id(ev.Channel), recordID: ev.RecordID, offset: ev.Offset}
	}
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
		if kind == KindCreate {
			c.image = strs.id(get("Image"))
			c.ppid = pid("ParentProcessId", recHasPPID)
			c.parentGUID = ParseGUID(get("ParentProcessGuid"))
			c.cmdline = strs.id(get("CommandLine"))
			c.user = strs.id(get("User"))
			c.parentImage = strs.id(get("ParentImage"))
			c.parentCmd = strs.id(get("ParentCommandLine"))
			regsvr32, renamed = classifyRegsvr32(strs.str(c.image), get("OriginalFileName"), get("Description"))
		}
	case kind == KindCreate:
		r.pid = pid("NewProcessId", recHasPID)
		c.ppid = pid("ProcessId", recHasPPID)
		c.image = strs.id(get("NewProcessName"))
		c.cmdline = strs.id(get("CommandLine"))
		c.user = strs.id(secUser(ev))
		c.parentImage = strs.id(get("ParentProcessName"))
		regsvr32, renamed = classifyRegsvr32(strs.str(c.image), "", "")
	default:
		r.pid = pid("ProcessId", recHasPID)
	}
	if regsvr32 {
		r.flags |= recRegsvr32
	}
	if renamed {
		r.flags |= recRenamed
	}
	return r, c
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

// recChunk is the number of records per block of a blockList.
const recChunk = 4096

// blockList stores records in fixed blocks: appending never copies what
// is stored (a growing slice would, and briefly hold it twice), pointers
// to records stay valid, and a block can be dropped once used.
type blockList[T any] struct {
	blocks [][]T
	n      int
}

// add appends v and returns its block's number.
func (l *blockList[T]) add(v T) (blk int32, ptr *T) {
	if len(l.blocks) == 0 || len(l.blocks[len(l.blocks)-1]) == recChunk {
		l.blocks = append(l.blocks, make([]T, 0, recChunk))
	}
	blk = int32(len(l.blocks) - 1)
	b := &l.blocks[blk]
	*b = append(*b, v)
	l.n++
	return blk, &(*b)[len(*b)-1]
}

// at returns record i (in insertion order).
func (l *blockList[T]) at(i int32) *T { return &l.blocks[i/recChunk][i%recChunk] }

// pointers returns a pointer to every record, in insertion order.
func (l *blockList[T]) pointers() []*T {
	out := make([]*T, 0, l.n)
	for _, b := range l.blocks {
		for i := range b {
			out = append(out, &b[i])
		}
	}
	return out
}

// releaser returns a function that drops block blk once it has been
// called for every record of it.
func (l *blockList[T]) releaser() func(blk int32) {
	left := make([]int, len(l.blocks))
	for i, b := range l.blocks {
		left[i] = len(b)
	}
	return func(blk int32) {
		if left[blk]--; left[blk] == 0 {
			l.blocks[blk] = nil
		}
	}
}

// procList holds the process events read, and the creates' details.
type procList struct {
	recs    blockList[procRec]
	creates blockList[createRec]
}

// add stores a record and, for a create, its details.
func (l *procList) add(r procRec, c createRec) {
	if r.kind == KindCreate {
		r.create = int32(l.creates.n)
		blk, p := l.creates.add(c)
		p.blk = blk
	}
	blk, p := l.recs.add(r)
	p.blk = blk
}

// createOf returns the details of a create record.
func (l *procList) createOf(r *procRec) *createRec { return l.creates.at(r.create) }

// releaser returns a function that drops what a record used once every
// record of its block (and of its details' block) has been passed to it.
func (l *procList) releaser() func(*procRec) {
	recs, creates := l.recs.releaser(), l.creates.releaser()
	return func(r *procRec) {
		if r.create >= 0 {
			creates(l.createOf(r).blk)
		}
		recs(r.blk)
	}
}
