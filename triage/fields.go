package triage

import (
	"strconv"
	"strings"

	"github.com/evtriage/evtriage/internal/winpath"
	"github.com/evtriage/evtriage/parser"
)

// Channels and providers the process model reads.
const (
	sysmonChannel  = "microsoft-windows-sysmon/operational"
	sysmonProvider = "microsoft-windows-sysmon"
	securityChan   = "security"
)

// Event kinds the process model distinguishes.
type eventKind uint8

const (
	kindOther        eventKind = iota
	kindSysmonCreate           // Sysmon 1
	kindSysmonExit             // Sysmon 5
	kindSecCreate              // Security 4688
	kindSecExit                // Security 4689
	kindLoad                   // Sysmon 7
	kindNetwork                // Sysmon 3
	kindDNS                    // Sysmon 22
	kindFile                   // Sysmon 11
	kindRegistry               // Sysmon 12, 13, 14
	kindSysmonOther            // any other Sysmon event carrying a ProcessGuid
)

// isSysmon reports whether ev comes from the Sysmon operational log.
func isSysmon(ev *parser.Event) bool {
	return strings.EqualFold(ev.Channel, sysmonChannel) || strings.EqualFold(ev.Provider, sysmonProvider)
}

// isSecurity reports whether ev comes from the Security log.
func isSecurity(ev *parser.Event) bool {
	return strings.EqualFold(ev.Channel, securityChan)
}

// sourceOf says which log family an event belongs to (0 for neither).
func sourceOf(ev *parser.Event) SourceKind {
	switch {
	case isSysmon(ev):
		return FromSysmon
	case isSecurity(ev):
		return FromSecurity
	}
	return 0
}

// kindOf classifies an event for the process model.
func kindOf(ev *parser.Event) eventKind {
	if isSysmon(ev) {
		switch ev.EventID {
		case 1:
			return kindSysmonCreate
		case 5:
			return kindSysmonExit
		case 7:
			return kindLoad
		case 3:
			return kindNetwork
		case 22:
			return kindDNS
		case 11:
			return kindFile
		case 12, 13, 14:
			return kindRegistry
		}
		return kindSysmonOther
	}
	if isSecurity(ev) {
		switch ev.EventID {
		case 4688:
			return kindSecCreate
		case 4689:
			return kindSecExit
		}
	}
	return kindOther
}

// field returns a named EventData value or "".
func field(ev *parser.Event, name string) string {
	v, _ := ev.Field(name)
	return v
}

// normGUID canonicalises a GUID as upper case without braces; "" when the
// value is empty or the all-zero GUID.
func normGUID(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "{")
	s = strings.TrimSuffix(s, "}")
	if s == "" || strings.Trim(s, "0-") == "" {
		return ""
	}
	return strings.ToUpper(s)
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

// eventGUID returns the event's own ProcessGuid (normalised).
func eventGUID(ev *parser.Event) string { return normGUID(field(ev, "ProcessGuid")) }

// add counts one activity event of kind k.
func (a *Activity) add(k eventKind) {
	switch k {
	case kindLoad:
		a.Loads++
	case kindNetwork:
		a.Network++
	case kindDNS:
		a.DNS++
	case kindFile:
		a.Files++
	case kindRegistry:
		a.Registry++
	default:
		a.Other++
	}
}
