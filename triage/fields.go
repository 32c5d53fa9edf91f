package triage

import (
	"strconv"
	"strings"

	"github.com/evtriage/evtriage/internal/winpath"
	"github.com/evtriage/evtriage/parser"
	"github.com/evtriage/evtriage/rules"
)

// field returns a named EventData value or "".
func field(ev *parser.Event, name string) string {
	v, _ := ev.Field(name)
	return v
}

// parsePID reads a process id written in decimal or as 0x-prefixed hex (how
// Windows renders the HexInt fields of 4688/4689). Values that do not fit
// 32 bits are refused.
func parsePID(s string) (uint32, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	var v uint64
	var err error
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		v, err = strconv.ParseUint(s[2:], 16, 64)
	} else {
		v, err = strconv.ParseUint(s, 10, 64)
	}
	if err != nil || v > 0xFFFFFFFF {
		return 0, false
	}
	return uint32(v), true
}

// regsvr32Description is the PE description of regsvr32.exe, which Sysmon
// reports in Description and which survives renaming the file.
const regsvr32Description = "Microsoft(C) Register Server"

// classifyRegsvr32 says whether an image is regsvr32 and whether it runs
// under another name. originalName and description may be "" (4688, old
// Sysmon without OriginalFileName).
func classifyRegsvr32(image, originalName, description string) (is, renamed bool) {
	byName := strings.EqualFold(winpath.Base(image), "regsvr32.exe")
	byPE := strings.EqualFold(strings.TrimSpace(originalName), "regsvr32.exe") ||
		strings.EqualFold(strings.TrimSpace(description), regsvr32Description)
	return byName || byPE, byPE && !byName
}

// eventGUID returns the event's own ProcessGuid.
func eventGUID(ev *parser.Event) GUID { return ParseGUID(field(ev, "ProcessGuid")) }

// Tree fields: what the process tree knows about a process creation event
// (Sysmon 1, Security 4688) that the event does not say. A rule that reads
// one (a "tree rule") is not matched as events are read, when the tree is
// not known yet, but when the tree is built (Result, Finish): on the
// creation event of every process whose event is kept in memory, with the
// tree fields added. An event's own field of that name is never read.
const (
	// FieldParentRegsvr32 is "named" when the process's parent, as the tree
	// links it (ProcessGuid, or process id and time), is regsvr32 under its
	// own name, "renamed" when it is regsvr32 running under another name
	// (Process.Renamed: OriginalFileName REGSVR32.EXE or the PE
	// description), and absent otherwise.
	FieldParentRegsvr32 = "ParentRegsvr32"
)

// treeFields lists the tree fields.
var treeFields = [...]string{FieldParentRegsvr32}

// isTreeRule reports whether r reads a tree field.
func isTreeRule(r *rules.Rule) bool {
	for _, f := range r.Fields() {
		for _, tf := range treeFields {
			if f == tf {
				return true
			}
		}
	}
	return false
}

// treeEvent is a process's creation event as tree rules see it: the event
// with the process's tree fields.
type treeEvent struct {
	ev             *parser.Event
	parentRegsvr32 string
}

func newTreeEvent(p *Process) *treeEvent {
	t := &treeEvent{ev: p.Create().Event}
	if par := p.Parent; par != nil && par.Regsvr32 {
		t.parentRegsvr32 = "named"
		if par.Renamed {
			t.parentRegsvr32 = "renamed"
		}
	}
	return t
}

func (t *treeEvent) Get(name string) (string, bool) {
	if name == FieldParentRegsvr32 {
		return t.parentRegsvr32, t.parentRegsvr32 != ""
	}
	return t.ev.Get(name)
}

func (t *treeEvent) Values(name string, dst []string) []string {
	if name == FieldParentRegsvr32 {
		if t.parentRegsvr32 != "" {
			dst = append(dst, t.parentRegsvr32)
		}
		return dst
	}
	return t.ev.Values(name, dst)
}

func (t *treeEvent) Each(fn func(name, value string) bool) { t.ev.Each(fn) }

func (t *treeEvent) Source() (channel, provider string, eventID uint32) { return t.ev.Source() }
