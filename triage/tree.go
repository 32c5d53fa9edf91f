package triage

import (
	"cmp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/evtriage/evtriage/internal/winpath"
)

// record is a kept activity event with its kind and arrival order.
type record struct {
	ref  *EventRef
	kind EventKind
	seq  int32
}

// pidKey names a process id on a host.
type pidKey struct {
	host strID
	pid  uint32
}

// parentInfo is what a Sysmon 1 says of the parent.
type parentInfo struct {
	guid       GUID
	image, cmd strID
	ppid       uint32
	set        bool
}

// mergeWindow is how far apart the Sysmon 1 and the 4688 of one process may
// be to be taken as the same process (both are stamped by the same host).
const mergeWindow = 2 * time.Second

// slabSize is the number of Process values allocated at once.
const slabSize = 1024

// tree is the process model under construction. Nodes are numbered in
// creation order; per-node build state lives in slices by that number.
type tree struct {
	strs  *strTable
	guids *guidTable
	procs []*Process
	slab  []Process // unused Process values of the current block
	host  []strID   // per node
	// nodeOf is the node of each guidTable row (-1: none); extra holds
	// the nodes of GUIDs the table does not know (parents named only by a
	// child's ParentProcessGuid).
	nodeOf []int32
	extra  map[procKey]int32
	// pidLast is the latest node created with each process id; pidPrev
	// (per node) the one before it with the same id.
	pidLast map[pidKey]int32
	pidPrev []int32
	// byEvent maps the kept events to their processes.
	byEvent map[*EventRef]*Process
	// pidParent is, for a Sysmon child, the live process holding its
	// ParentProcessId when it was created: the fallback when the parent's
	// GUID never appears. parentOf holds what its Sysmon 1 says of its
	// parent, for linkSysmon.
	pidParent []*Process
	parentOf  []parentInfo
	linked    bool // linkSysmon ran: no more parent state
	orphans   int
}

func newTree(strs *strTable, guids *guidTable) *tree {
	t := &tree{
		strs:    strs,
		guids:   guids,
		nodeOf:  make([]int32, guids.len()),
		extra:   make(map[procKey]int32),
		pidLast: make(map[pidKey]int32),
		byEvent: make(map[*EventRef]*Process),
	}
	for i := range t.nodeOf {
		t.nodeOf[i] = -1
	}
	return t
}

// sortRecords orders events by time, then arrival.
func sortRecords(rs []record) {
	slices.SortStableFunc(rs, func(a, b record) int {
		if c := a.ref.Event.Time.Compare(b.ref.Event.Time); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
}

// build builds the process tree from process events (Sysmon 1/5, Security
// 4688/4689), attaches the kept activity events to their processes and
// gives each node the activity counts of its row. With release, each
// record is dropped once used (Finish).
func (t *tree) build(l *procList, activity []record, release bool) {
	procEvents := l.recs.pointers()
	slices.SortFunc(procEvents, func(a, b *procRec) int {
		if c := cmp.Compare(a.sec, b.sec); c != 0 {
			return c
		}
		if c := cmp.Compare(a.nsec, b.nsec); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	var done func(*procRec)
	if release {
		done = l.releaser()
	}
	for i, r := range procEvents {
		switch {
		case r.kind == KindCreate && r.src == FromSysmon:
			t.sysmonCreate(r, l.createOf(r))
		case r.kind == KindCreate:
			t.secCreate(r, l.createOf(r))
		case r.src == FromSysmon:
			t.sysmonExit(r)
		default:
			t.secExit(r)
		}
		if done != nil {
			procEvents[i] = nil
			done(r)
		}
	}
	t.linkSysmon()
	sortRecords(activity)
	for _, r := range activity {
		t.attach(r)
	}
	for row, n := range t.nodeOf {
		if n >= 0 {
			t.procs[n].Seen = t.guids.row(int32(row)).seen
		}
	}
}

// newNode returns a zero Process from the current block.
func (t *tree) newNode() *Process {
	if len(t.slab) == 0 {
		t.slab = make([]Process, slabSize)
	}
	p := &t.slab[0]
	t.slab = t.slab[1:]
	return p
}

// liveByPID returns the latest process with pid on host that has not
// terminated; nil if none.
func (t *tree) liveByPID(host strID, pid uint32, at time.Time) *Process {
	n, ok := t.pidLast[pidKey{host, pid}]
	for ; ok && n >= 0; n = t.pidPrev[n] {
		p := t.procs[n]
		if !p.Created.IsZero() && p.Created.After(at) {
			continue
		}
		if !p.Terminated.IsZero() && p.Terminated.Before(at) {
			return nil
		}
		return p
	}
	return nil
}

// node returns the node of the Sysmon process key, or nil.
func (t *tree) node(k procKey) *Process {
	if k.guid.IsZero() {
		return nil
	}
	if row := t.guids.find(k); row >= 0 && int(row) < len(t.nodeOf) {
		if n := t.nodeOf[row]; n >= 0 {
			return t.procs[n]
		}
		return nil
	}
	if n, ok := t.extra[k]; ok {
		return t.procs[n]
	}
	return nil
}

// setNode makes p the node of the Sysmon process key.
func (t *tree) setNode(k procKey, p *Process) {
	if k.guid.IsZero() {
		return
	}
	if row := t.guids.find(k); row >= 0 && int(row) < len(t.nodeOf) {
		t.nodeOf[row] = int32(p.ID)
		return
	}
	t.extra[k] = int32(p.ID)
}

// add registers a new node of host.
func (t *tree) add(p *Process, host strID) *Process {
	p.ID = len(t.procs)
	t.procs = append(t.procs, p)
	t.host = append(t.host, host)
	if !t.linked {
		t.pidParent = append(t.pidParent, nil)
		t.parentOf = append(t.parentOf, parentInfo{})
	}
	t.setNode(procKey{host, p.GUID}, p)
	k := pidKey{host, p.PID}
	prev, ok := t.pidLast[k]
	if !ok {
		prev = -1
	}
	t.pidPrev = append(t.pidPrev, prev)
	t.pidLast[k] = int32(p.ID)
	return p
}

// stub returns the stub node for a process known only by reference,
// creating it on first use.
func (t *tree) stub(host strID, guid GUID, pid uint32, image, cmdline string, src SourceKind) *Process {
	if p := t.node(procKey{host, guid}); p != nil {
		return p
	}
	p := t.newNode()
	*p = Process{Host: t.strs.str(host), GUID: guid, PID: pid, Image: image, CommandLine: cmdline, Sources: src, Stub: true}
	p.Regsvr32, p.Renamed = classifyRegsvr32(image, "", "")
	return t.add(p, host)
}

// sameProcess reports whether a create event at time at with image could be
// the already-known process p seen by the other log.
func sameProcess(p *Process, at time.Time, image string) bool {
	if p.Stub || p.Created.IsZero() {
		return false
	}
	d := p.Created.Sub(at)
	if d < 0 {
		d = -d
	}
	return d <= mergeWindow && strings.EqualFold(winpath.Base(p.Image), winpath.Base(image))
}

// mapRef records which process a kept event belongs to.
func (t *tree) mapRef(ref *EventRef, p *Process) {
	if ref != nil {
		t.byEvent[ref] = p
	}
}

// merge folds another create event of p into it.
func (t *tree) merge(p *Process, r *procRec, c *createRec) {
	k := p.keep()
	k.records = append(k.records, c.at)
	if r.ref != nil {
		k.merged = append(k.merged, r.ref)
	}
	t.mapRef(r.ref, p)
}

// guidOf returns the ProcessGuid of a Sysmon record.
func (t *tree) guidOf(r *procRec) GUID {
	if r.row < 0 {
		return GUID{}
	}
	return t.guids.row(r.row).key.guid
}

func (t *tree) sysmonCreate(r *procRec, c *createRec) {
	host, guid, at := r.host, t.guidOf(r), r.time()
	image := t.strs.str(c.image)
	if p := t.node(procKey{host, guid}); p != nil {
		// The same process created twice (a rewritten record).
		t.merge(p, r, c)
		return
	}
	info := parentInfo{guid: c.parentGUID, image: c.parentImage, cmd: c.parentCmd, ppid: c.ppid, set: true}
	// A process the Security log already reported.
	if p := t.liveByPID(host, r.pid, at.Add(mergeWindow)); p != nil && p.GUID.IsZero() && p.Sources&FromSysmon == 0 && sameProcess(p, at, image) {
		p.GUID = guid
		t.setNode(procKey{host, guid}, p)
		k := p.keep()
		if k.create != nil {
			k.merged = append(k.merged, k.create)
		}
		k.create = r.ref
		k.records = append([]recLoc{p.rec}, k.records...)
		p.rec = c.at
		p.Image = image
		p.Sources |= FromSysmon
		t.fillSysmon(p, r, c)
		t.parentOf[p.ID] = info
		t.mapRef(r.ref, p)
		return
	}
	p := t.newNode()
	*p = Process{Host: t.strs.str(host), GUID: guid, PID: r.pid, Image: image, Created: at, Sources: FromSysmon, rec: c.at}
	if r.ref != nil {
		p.keep().create = r.ref
	}
	t.fillSysmon(p, r, c)
	t.add(p, host)
	t.parentOf[p.ID] = info
	t.mapRef(r.ref, p)
	if r.has(recHasPPID) {
		if pp := t.liveByPID(host, c.ppid, at); pp != nil && pp != p {
			t.pidParent[p.ID] = pp
		}
	}
}

// fillSysmon copies a Sysmon 1's description of the process into p.
func (t *tree) fillSysmon(p *Process, r *procRec, c *createRec) {
	if c.cmdline != 0 || p.CommandLine == "" {
		p.CommandLine = t.strs.str(c.cmdline)
	}
	if c.user != 0 {
		p.User = t.strs.str(c.user)
	}
	p.Regsvr32 = p.Regsvr32 || r.has(recRegsvr32)
	p.Renamed = p.Renamed || r.has(recRenamed)
}

func (t *tree) secCreate(r *procRec, c *createRec) {
	host, at := r.host, r.time()
	image := t.strs.str(c.image)
	if p := t.liveByPID(host, r.pid, at.Add(mergeWindow)); p != nil && p.Sources&FromSecurity == 0 && !p.GUID.IsZero() && sameProcess(p, at, image) {
		// Sysmon already reported this process: one node, both sources.
		p.Sources |= FromSecurity
		t.merge(p, r, c)
		return
	}
	p := t.newNode()
	*p = Process{Host: t.strs.str(host), PID: r.pid, Image: image, CommandLine: t.strs.str(c.cmdline),
		User: t.strs.str(c.user), Created: at, Sources: FromSecurity,
		Regsvr32: r.has(recRegsvr32), Renamed: r.has(recRenamed), rec: c.at}
	if r.ref != nil {
		p.keep().create = r.ref
	}
	if r.has(recHasPPID) {
		parent := t.liveByPID(host, c.ppid, at)
		if parent == nil {
			parent = t.stub(host, GUID{}, c.ppid, t.strs.str(c.parentImage), "", FromSecurity)
		}
		p.Parent, p.Link = parent, LinkPID
	}
	t.add(p, host)
	t.mapRef(r.ref, p)
}

func (t *tree) sysmonExit(r *procRec) {
	p := t.node(procKey{r.host, t.guidOf(r)})
	if p == nil {
		t.orphans++
		return
	}
	t.exit(p, r, FromSysmon)
}

func (t *tree) secExit(r *procRec) {
	var p *Process
	if r.has(recHasPID) {
		p = t.liveByPID(r.host, r.pid, r.time())
	}
	if p == nil {
		t.orphans++
		return
	}
	t.exit(p, r, FromSecurity)
}

func (t *tree) exit(p *Process, r *procRec, src SourceKind) {
	t.mapRef(r.ref, p)
	if p.Terminated.IsZero() {
		if r.ref != nil {
			p.keep().exit = r.ref
		}
		p.Terminated = r.time()
	}
	p.Sources |= src
}

// linkSysmon links every Sysmon-created process to its parent: by
// ParentProcessGuid, else by ParentProcessId when the live process with that
// id has the parent's image, else to a stub made from the Parent* fields.
func (t *tree) linkSysmon() {
	n := len(t.procs) // stubs appended below need no linking
	for i, p := range t.procs[:n] {
		r := t.parentOf[i]
		if !r.set {
			continue
		}
		host := t.host[i]
		pguid, pimage := r.guid, t.strs.str(r.image)
		if pimage == "-" {
			pimage = "" // Sysmon's "unknown"
		}
		if !pguid.IsZero() && pguid == p.GUID {
			continue // a process cannot be its own parent
		}
		if pp := t.node(procKey{host, pguid}); pp != nil {
			p.Parent, p.Link = pp, LinkGUID
			continue
		}
		if p.Parent != nil && (!p.Parent.Stub || pguid.IsZero()) {
			continue // a merged 4688 already linked it by process id
		}
		if pp := t.pidParent[i]; pp != nil && (pguid.IsZero() || pp.GUID.IsZero()) &&
			(pimage == "" || strings.EqualFold(winpath.Base(pp.Image), winpath.Base(pimage))) {
			p.Parent, p.Link = pp, LinkPID
			continue
		}
		if pguid.IsZero() && pimage == "" {
			continue
		}
		p.Parent = t.stub(host, pguid, r.ppid, pimage, t.strs.str(r.cmd), FromSysmon)
		p.Link = LinkGUID
		if pguid.IsZero() {
			p.Link = LinkPID
		}
	}
	t.parentOf, t.pidParent, t.linked = nil, nil, true
}

// attach hangs a kept activity event off its process (a stub when the
// process was never created in the log).
func (t *tree) attach(r record) {
	ev := r.ref.Event
	guid := eventGUID(ev)
	if guid.IsZero() {
		return
	}
	host, _ := t.strs.lookup(ev.Computer)
	p := t.node(procKey{host, guid})
	if p == nil {
		pid, _ := parsePID(field(ev, "ProcessId"))
		p = t.stub(host, guid, pid, field(ev, "Image"), "", FromSysmon)
	}
	t.byEvent[r.ref] = p
	p.keep().addActivity(r.kind, r.ref)
}

// activityOnly returns the rows of the processes known only from their
// activity: counted, without a node.
func (t *tree) activityOnly() []int32 {
	var out []int32
	for row, n := range t.nodeOf {
		if n < 0 && t.guids.row(int32(row)).seen.Total() > 0 {
			out = append(out, int32(row))
		}
	}
	return out
}

// materialise fills p with what a row tells of an activity-only process.
func (g *guidRow) materialise(p *Process, strs []string) {
	*p = Process{Host: strs[g.key.host], GUID: g.key.guid, PID: g.pid, Image: strs[g.image], Sources: FromSysmon, Stub: true, Seen: g.seen}
	p.Regsvr32, p.Renamed = classifyRegsvr32(p.Image, "", "")
}

// breakCycles cuts parent links that close a loop (possible only in crafted
// logs: two processes naming each other as parent). Linear time.
func (t *tree) breakCycles() {
	const (
		unseen = iota
		onPath
		done
	)
	state := make([]uint8, len(t.procs))
	var path []*Process
	for _, start := range t.procs {
		path = path[:0]
		p := start
		for p != nil && state[p.ID] == unseen {
			state[p.ID] = onPath
			path = append(path, p)
			if p.Parent != nil && state[p.Parent.ID] == onPath {
				// A loop: cut the link of its oldest member, whose
				// "parent" cannot have started before it.
				loop := path
				for i, q := range path {
					if q == p.Parent {
						loop = path[i:]
						break
					}
				}
				oldest := loop[0]
				for _, q := range loop[1:] {
					if q.Created.Before(oldest.Created) || (q.Created.Equal(oldest.Created) && q.ID < oldest.ID) {
						oldest = q
					}
				}
				oldest.Parent, oldest.Link = nil, LinkNone
				break
			}
			p = p.Parent
		}
		for _, q := range path {
			state[q.ID] = done
		}
	}
}

// finish drops stubs that nothing refers to any more (a 4688 parent stub
// superseded by a GUID link), renumbers the nodes, and fills Children (by
// creation time) from one shared array.
func (t *tree) finish() {
	nChildren := make([]int32, len(t.procs))
	for _, p := range t.procs {
		if p.Parent != nil {
			nChildren[p.Parent.ID]++
		}
	}
	kept := t.procs[:0]
	for i, p := range t.procs {
		if p.Stub && nChildren[i] == 0 && p.Seen.Total() == 0 && p.Exit() == nil && p.Kept().Total() == 0 {
			t.dropStub(p, t.host[i])
			continue
		}
		nChildren[len(kept)] = nChildren[i]
		p.ID = len(kept)
		kept = append(kept, p)
	}
	clear(t.procs[len(kept):])
	t.procs, t.host, t.pidLast, t.pidPrev = kept, nil, nil, nil
	total := 0
	for _, n := range nChildren[:len(kept)] {
		total += int(n)
	}
	all := make([]*Process, total)
	off := 0
	for i, p := range t.procs {
		p.Children = all[off : off : off+int(nChildren[i])]
		off += int(nChildren[i])
	}
	for _, p := range t.procs {
		if q := p.Parent; q != nil {
			q.Children = append(q.Children, p)
		}
	}
	for _, p := range t.procs {
		if len(p.Children) > 1 {
			slices.SortStableFunc(p.Children, func(a, b *Process) int { return a.Created.Compare(b.Created) })
		}
	}
}

// dropStub removes an unreferenced stub from the GUID lookup (which
// findings use, unless they were tied to their processes already and the
// lookup released); the process-id lists are not used after finish.
func (t *tree) dropStub(p *Process, host strID) {
	if t.guids == nil {
		return
	}
	k := procKey{host, p.GUID}
	if t.node(k) == p {
		if row := t.guids.find(k); row >= 0 && int(row) < len(t.nodeOf) {
			t.nodeOf[row] = -1
		} else {
			delete(t.extra, k)
		}
	}
}

// roots returns processes without a known parent, by host then time.
func (t *tree) roots() []*Process {
	var out []*Process
	for _, p := range t.procs {
		if p.Parent == nil {
			out = append(out, p)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Host != out[j].Host {
			return out[i].Host < out[j].Host
		}
		return out[i].Created.Before(out[j].Created)
	})
	return out
}

// processOf returns the process an event belongs to: the one it created,
// ended or acted for; nil when none is known.
func (t *tree) processOf(ref *EventRef) *Process {
	if p := t.byEvent[ref]; p != nil {
		return p
	}
	ev := ref.Event
	if guid := eventGUID(ev); !guid.IsZero() {
		host, ok := t.strs.lookup(ev.Computer)
		if !ok {
			return nil
		}
		return t.node(procKey{host, guid})
	}
	return nil
}

// Lineage returns p's ancestry from the root-most known ancestor down to p
// itself. It stops at a loop, so it is safe on hand-built graphs too.
func Lineage(p *Process) []*Process {
	if p == nil {
		return nil
	}
	var out []*Process
	seen := make(map[*Process]bool)
	for q := p; q != nil && !seen[q]; q = q.Parent {
		seen[q] = true
		out = append(out, q)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}
