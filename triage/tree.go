package triage

import (
	"sort"
	"strings"
	"time"

	"github.com/evtriage/evtriage/parser"
)

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
	orphans   int
}

func newTree() *tree {
	return &tree{
		byGUID:    make(map[procKey]*Process),
		byPID:     make(map[pidKey][]*Process),
		byEvent:   make(map[*EventRef]*Process),
		pidParent: make(map[*Process]*Process),
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
func buildTree(procEvents, activity []record, counts map[procKey]*Activity) *tree {
	t := newTree()
	sortRecords(procEvents)
	for _, r := range procEvents {
		switch r.kind {
		case kindSysmonCreate:
			t.sysmonCreate(r.ref)
		case kindSecCreate:
			t.secCreate(r.ref)
		case kindSysmonExit:
			t.sysmonExit(r.ref)
		case kindSecExit:
			t.secExit(r.ref)
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
	return d <= mergeWindow && strings.EqualFold(baseName(p.Image), baseName(image))
}

func (t *tree) sysmonCreate(ref *EventRef) {
	ev := ref.Event
	guid := eventGUID(ev)
	host := ev.Computer
	pid, _ := parsePID(field(ev, "ProcessId"))
	image := field(ev, "Image")
	if guid != "" {
		if p := t.byGUID[procKey{host, guid}]; p != nil {
			// The same process created twice (a rewritten record).
			p.Merged = append(p.Merged, ref)
			t.byEvent[ref] = p
			return
		}
	}
	// A process the Security log already reported.
	if p := t.liveByPID(host, pid, ev.Time.Add(mergeWindow)); p != nil && p.GUID == "" && p.Sources&FromSysmon == 0 && sameProcess(p, ev.Time, image) {
		p.GUID = guid
		if guid != "" {
			t.byGUID[procKey{host, guid}] = p
		}
		p.Merged = append(p.Merged, p.Create)
		p.Create = ref
		p.Image = image
		p.Sources |= FromSysmon
		fillSysmon(p, ev)
		t.byEvent[ref] = p
		return
	}
	p := &Process{Host: host, GUID: guid, PID: pid, Image: image, Created: ev.Time, Sources: FromSysmon, Create: ref}
	fillSysmon(p, ev)
	t.add(p)
	t.byEvent[ref] = p
	if ppid, ok := parsePID(field(ev, "ParentProcessId")); ok {
		if pp := t.liveByPID(host, ppid, ev.Time); pp != nil && pp != p {
			t.pidParent[p] = pp
		}
	}
}

// fillSysmon copies a Sysmon 1's description of the process into p.
func fillSysmon(p *Process, ev *parser.Event) {
	if v := field(ev, "CommandLine"); v != "" || p.CommandLine == "" {
		p.CommandLine = v
	}
	if v := field(ev, "User"); v != "" {
		p.User = v
	}
	is, renamed := classifyRegsvr32(field(ev, "Image"), field(ev, "OriginalFileName"), field(ev, "Description"))
	p.Regsvr32 = p.Regsvr32 || is
	p.Renamed = p.Renamed || renamed
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

func (t *tree) secCreate(ref *EventRef) {
	ev := ref.Event
	host := ev.Computer
	pid, _ := parsePID(field(ev, "NewProcessId"))
	image := field(ev, "NewProcessName")
	if p := t.liveByPID(host, pid, ev.Time.Add(mergeWindow)); p != nil && p.Sources&FromSecurity == 0 && p.GUID != "" && sameProcess(p, ev.Time, image) {
		// Sysmon already reported this process: one node, both sources.
		p.Sources |= FromSecurity
		p.Merged = append(p.Merged, ref)
		t.byEvent[ref] = p
		return
	}
	p := &Process{Host: host, PID: pid, Image: image, CommandLine: field(ev, "CommandLine"),
		User: secUser(ev), Created: ev.Time, Sources: FromSecurity, Create: ref}
	p.Regsvr32, p.Renamed = classifyRegsvr32(image, "", "")
	if ppid, ok := parsePID(field(ev, "ProcessId")); ok {
		parent := t.liveByPID(host, ppid, ev.Time)
		if parent == nil {
			parent = t.stub(host, "", ppid, field(ev, "ParentProcessName"), "", FromSecurity)
		}
		p.Parent, p.Link = parent, "pid"
	}
	t.add(p)
	t.byEvent[ref] = p
}

func (t *tree) sysmonExit(ref *EventRef) {
	ev := ref.Event
	p := t.byGUID[procKey{ev.Computer, eventGUID(ev)}]
	if p == nil {
		t.orphans++
		return
	}
	t.exit(p, ref, FromSysmon)
}

func (t *tree) secExit(ref *EventRef) {
	ev := ref.Event
	pid, ok := parsePID(field(ev, "ProcessId"))
	var p *Process
	if ok {
		p = t.liveByPID(ev.Computer, pid, ev.Time)
	}
	if p == nil {
		t.orphans++
		return
	}
	t.exit(p, ref, FromSecurity)
}

func (t *tree) exit(p *Process, ref *EventRef, src SourceKind) {
	t.byEvent[ref] = p
	if p.Exit == nil {
		p.Exit = ref
		p.Terminated = ref.Event.Time
	}
	p.Sources |= src
}

// linkSysmon links every Sysmon-created process to its parent: by
// ParentProcessGuid, else by ParentProcessId when the live process with that
// id has the parent's image, else to a stub made from the Parent* fields.
func (t *tree) linkSysmon() {
	n := len(t.procs) // stubs appended below need no linking
	for _, p := range t.procs[:n] {
		if p.Create == nil || !isSysmon(p.Create.Event) {
			continue
		}
		ev := p.Create.Event
		pguid := normGUID(field(ev, "ParentProcessGuid"))
		pimage := field(ev, "ParentImage")
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
			(pimage == "" || strings.EqualFold(baseName(pp.Image), baseName(pimage))) {
			p.Parent, p.Link = pp, "pid"
			continue
		}
		if pguid == "" && pimage == "" {
			continue
		}
		ppid, _ := parsePID(field(ev, "ParentProcessId"))
		p.Parent = t.stub(p.Host, pguid, ppid, pimage, field(ev, "ParentCommandLine"), FromSysmon)
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
