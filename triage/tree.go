package triage

import (
	"cmp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/evtriage/evtriage/internal/winpath"
)

// parentInfo is what a Sysmon 1 says of the parent.
type parentInfo struct {
	parentGUID, parentImage, parentCmd string
	ppid                               uint32
}

// record is a kept event with its kind and arrival order.
type record struct {
	ref  *EventRef
	kind eventKind
	seq  int
}

// procKey names a Sysmon process: host and normalised ProcessGuid.
type procKey struct{ host, guid string }

// pidKey names a process id on a host.
type pidKey struct {
	host string
	pid  uint32
}

// mergeWindow is how far apart the Sysmon 1 and the 4688 of one process may
// be to be taken as the same process (both are stamped by the same host).
const mergeWindow = 2 * time.Second

// tree is the process model under construction.
type tree struct {
	procs   []*Process
	byGUID  map[procKey]*Process
	byPID   map[pidKey][]*Process // creation order (time order of the events)
	byEvent map[*EventRef]*Process
	// pidParent is, for a Sysmon child, the live process holding its
	// ParentProcessId when it was created: the fallback when the parent's
	// GUID never appears.
	pidParent map[*Process]*Process
	// parentOf holds what a Sysmon 1 says of the process's parent, for
	// linkSysmon (a copy: the records may be released meanwhile).
	parentOf map[*Process]parentInfo
	orphans  int
}

func newTree() *tree {
	return &tree{
		byGUID:    make(map[procKey]*Process),
		byPID:     make(map[pidKey][]*Process),
		byEvent:   make(map[*EventRef]*Process),
		pidParent: make(map[*Process]*Process),
		parentOf:  make(map[*Process]parentInfo),
	}
}

// sortRecords orders events by time, then arrival.
func sortRecords(rs []record) {
	sort.SliceStable(rs, func(i, j int) bool {
		a, b := rs[i].ref.Event, rs[j].ref.Event
		if !a.Time.Equal(b.Time) {
			return a.Time.Before(b.Time)
		}
		return rs[i].seq < rs[j].seq
	})
}

// buildTree builds the process tree from process events (Sysmon 1/5,
// Security 4688/4689) and attaches the activity events to their processes.
// counts holds the activity seen per Sysmon process, kept or not.
func buildTree(procEvents []*procRec, activity []record, counts map[procKey]*Activity) *tree {
	return buildTreeRelease(procEvents, activity, counts, nil)
}

// buildTreeRelease is buildTree calling done after each process record is
// used, so that the caller can release it.
func buildTreeRelease(procEvents []*procRec, activity []record, counts map[procKey]*Activity, done func(*procRec)) *tree {
	t := newTree()
	slices.SortFunc(procEvents, func(a, b *procRec) int {
		if c := a.time.Compare(b.time); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	for i, r := range procEvents {
		switch r.kind {
		case kindSysmonCreate:
			t.sysmonCreate(r)
		case kindSecCreate:
			t.secCreate(r)
		case kindSysmonExit:
			t.sysmonExit(r)
		case kindSecExit:
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
	for k, a := range counts {
		p := t.byGUID[k]
		if p == nil {
			p = t.stub(k.host, k.guid, 0, "", "", FromSysmon)
		}
		p.Seen = *a
	}
	t.breakCycles()
	t.finish()
	return t
}

// liveByPID returns the latest process with pid on host that has not
// terminated; nil if none.
func (t *tree) liveByPID(host string, pid uint32, at time.Time) *Process {
	list := t.byPID[pidKey{host, pid}]
	for i := len(list) - 1; i >= 0; i-- {
		p := list[i]
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

// add registers a new node.
func (t *tree) add(p *Process) *Process {
	p.ID = len(t.procs)
	t.procs = append(t.procs, p)
	if p.GUID != "" {
		t.byGUID[procKey{p.Host, p.GUID}] = p
	}
	k := pidKey{p.Host, p.PID}
	t.byPID[k] = append(t.byPID[k], p)
	return p
}

// stub returns the stub node for a process known only by reference,
// creating it on first use.
func (t *tree) stub(host, guid string, pid uint32, image, cmdline string, src SourceKind) *Process {
	if guid != "" {
		if p := t.byGUID[procKey{host, guid}]; p != nil {
			return p
		}
	}
	p := &Process{Host: host, GUID: guid, PID: pid, Image: image, CommandLine: cmdline, Sources: src, Stub: true}
	p.Regsvr32, p.Renamed = classifyRegsvr32(image, "", "")
	return t.add(p)
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

// mapRef records which process an event belongs to.
func (t *tree) mapRef(ref *EventRef, p *Process) {
	if ref != nil {
		t.byEvent[ref] = p
	}
}

func (t *tree) sysmonCreate(r *procRec) {
	host, guid := r.host, r.guid
	if guid != "" {
		if p := t.byGUID[procKey{host, guid}]; p != nil {
			// The same process created twice (a rewritten record).
			p.Records = append(p.Records, r.at)
			if r.ref != nil {
				p.Merged = append(p.Merged, r.ref)
			}
			t.mapRef(r.ref, p)
			return
		}
	}
	// A process the Security log already reported.
	if p := t.liveByPID(host, r.pid, r.time.Add(mergeWindow)); p != nil && p.GUID == "" && p.Sources&FromSysmon == 0 && sameProcess(p, r.time, r.image) {
		p.GUID = guid
		if guid != "" {
			t.byGUID[procKey{host, guid}] = p
		}
		if p.Create != nil {
			p.Merged = append(p.Merged, p.Create)
		}
		p.Create = r.ref
		p.Records = append([]RecordRef{r.at}, p.Records...)
		p.Image = r.image
		p.Sources |= FromSysmon
		fillSysmon(p, r)
		t.parentOf[p] = parentInfo{r.parentGUID, r.parentImage, r.parentCmd, r.ppid}
		t.mapRef(r.ref, p)
		return
	}
	p := &Process{Host: host, GUID: guid, PID: r.pid, Image: r.image, Created: r.time, Sources: FromSysmon, Create: r.ref,
		Records: []RecordRef{r.at}}
	fillSysmon(p, r)
	t.add(p)
	t.parentOf[p] = parentInfo{r.parentGUID, r.parentImage, r.parentCmd, r.ppid}
	t.mapRef(r.ref, p)
	if r.hasPPID {
		if pp := t.liveByPID(host, r.ppid, r.time); pp != nil && pp != p {
			t.pidParent[p] = pp
		}
	}
}

// fillSysmon copies a Sysmon 1's description of the process into p.
func fillSysmon(p *Process, r *procRec) {
	if r.cmdline != "" || p.CommandLine == "" {
		p.CommandLine = r.cmdline
	}
	if r.user != "" {
		p.User = r.user
	}
	p.Regsvr32 = p.Regsvr32 || r.regsvr32
	p.Renamed = p.Renamed || r.renamed
}

func (t *tree) secCreate(r *procRec) {
	host := r.host
	if p := t.liveByPID(host, r.pid, r.time.Add(mergeWindow)); p != nil && p.Sources&FromSecurity == 0 && p.GUID != "" && sameProcess(p, r.time, r.image) {
		// Sysmon already reported this process: one node, both sources.
		p.Sources |= FromSecurity
		p.Records = append(p.Records, r.at)
		if r.ref != nil {
			p.Merged = append(p.Merged, r.ref)
		}
		t.mapRef(r.ref, p)
		return
	}
	p := &Process{Host: host, PID: r.pid, Image: r.image, CommandLine: r.cmdline,
		User: r.user, Created: r.time, Sources: FromSecurity, Create: r.ref,
		Regsvr32: r.regsvr32, Renamed: r.renamed, Records: []RecordRef{r.at}}
	if r.hasPPID {
		parent := t.liveByPID(host, r.ppid, r.time)
		if parent == nil {
			parent = t.stub(host, "", r.ppid, r.parentImage, "", FromSecurity)
		}
		p.Parent, p.Link = parent, "pid"
	}
	t.add(p)
	t.mapRef(r.ref, p)
}

func (t *tree) sysmonExit(r *procRec) {
	p := t.byGUID[procKey{r.host, r.guid}]
	if p == nil || r.guid == "" {
		t.orphans++
		return
	}
	t.exit(p, r, FromSysmon)
}

func (t *tree) secExit(r *procRec) {
	var p *Process
	if r.hasPID {
		p = t.liveByPID(r.host, r.pid, r.time)
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
		p.Exit = r.ref
		p.Terminated = r.time
	}
	p.Sources |= src
}

// linkSysmon links every Sysmon-created process to its parent: by
// ParentProcessGuid, else by ParentProcessId when the live process with that
// id has the parent's image, else to a stub made from the Parent* fields.
func (t *tree) linkSysmon() {
	n := len(t.procs) // stubs appended below need no linking
	for _, p := range t.procs[:n] {
		r, ok := t.parentOf[p]
		if !ok {
			continue
		}
		pguid, pimage := r.parentGUID, r.parentImage
		if pimage == "-" {
			pimage = "" // Sysmon's "unknown"
		}
		if pguid != "" && pguid == p.GUID {
			continue // a process cannot be its own parent
		}
		if pp := t.byGUID[procKey{p.Host, pguid}]; pguid != "" && pp != nil {
			p.Parent, p.Link = pp, "guid"
			continue
		}
		if p.Parent != nil && (!p.Parent.Stub || pguid == "") {
			continue // a merged 4688 already linked it by process id
		}
		if pp := t.pidParent[p]; pp != nil && (pguid == "" || pp.GUID == "") &&
			(pimage == "" || strings.EqualFold(winpath.Base(pp.Image), winpath.Base(pimage))) {
			p.Parent, p.Link = pp, "pid"
			continue
		}
		if pguid == "" && pimage == "" {
			continue
		}
		p.Parent = t.stub(p.Host, pguid, r.ppid, pimage, r.parentCmd, FromSysmon)
		p.Link = "guid"
		if pguid == "" {
			p.Link = "pid"
		}
	}
}

// attach hangs an activity event off its process (a stub when the process
// was never created in the log).
func (t *tree) attach(r record) {
	ev := r.ref.Event
	guid := eventGUID(ev)
	if guid == "" {
		return
	}
	p := t.byGUID[procKey{ev.Computer, guid}]
	if p == nil {
		pid, _ := parsePID(field(ev, "ProcessId"))
		p = t.stub(ev.Computer, guid, pid, field(ev, "Image"), "", FromSysmon)
	}
	t.byEvent[r.ref] = p
	switch r.kind {
	case kindLoad:
		p.Loads = append(p.Loads, r.ref)
	case kindNetwork:
		p.Network = append(p.Network, r.ref)
	case kindDNS:
		p.DNS = append(p.DNS, r.ref)
	case kindFile:
		p.Files = append(p.Files, r.ref)
	case kindRegistry:
		p.Registry = append(p.Registry, r.ref)
	default:
		p.Other = append(p.Other, r.ref)
	}
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
				oldest.Parent, oldest.Link = nil, ""
				break
			}
			p = p.Parent
		}
		for _, q := range path {
			state[q.ID] = done
		}
	}
}

// finish fills Children (by creation time), then drops stubs that nothing
// refers to any more (a 4688 parent stub superseded by a GUID link) and
// renumbers the nodes.
func (t *tree) finish() {
	for _, p := range t.procs {
		if p.Parent != nil {
			p.Parent.Children = append(p.Parent.Children, p)
		}
	}
	kept := t.procs[:0]
	for _, p := range t.procs {
		if p.Stub && len(p.Children) == 0 && p.Seen.Total() == 0 && p.Exit == nil &&
			len(p.Loads)+len(p.Network)+len(p.DNS)+len(p.Files)+len(p.Registry)+len(p.Other) == 0 {
			t.dropStub(p)
			continue
		}
		p.ID = len(kept)
		kept = append(kept, p)
	}
	t.procs = kept
	for _, p := range t.procs {
		sort.SliceStable(p.Children, func(i, j int) bool {
			return p.Children[i].Created.Before(p.Children[j].Created)
		})
	}
}

// dropStub removes an unreferenced stub from the lookups.
func (t *tree) dropStub(p *Process) {
	if p.GUID != "" && t.byGUID[procKey{p.Host, p.GUID}] == p {
		delete(t.byGUID, procKey{p.Host, p.GUID})
	}
	k := pidKey{p.Host, p.PID}
	list := t.byPID[k]
	for i, q := range list {
		if q == p {
			t.byPID[k] = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if p.Parent != nil {
		p.Parent = nil
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
	if guid := eventGUID(ev); guid != "" {
		return t.byGUID[procKey{ev.Computer, guid}]
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
