package parser

import (
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"
)

// Providers whose EventData types the writer knows.
const (
	wProviderSysmon   = "Microsoft-Windows-Sysmon"
	wProviderSecurity = "Microsoft-Windows-Security-Auditing"
)

// wSysmonType returns the type of a non-string EventData field Sysmon
// (13+) writes (the same name has the same type in every Sysmon event), or
// wTypeString.
func wSysmonType(name string) byte {
	switch name {
	case "ProcessId", "ParentProcessId", "SourceProcessId", "TargetProcessId", "SourceThreadId", "NewThreadId", "TerminalSessionId":
		return wTypeUint32
	case "LogonId":
		return wTypeHexInt64
	case "ProcessGuid", "ParentProcessGuid", "LogonGuid", "SourceProcessGuid", "SourceProcessGUID", "TargetProcessGuid", "TargetProcessGUID":
		return wTypeGUID
	case "SourcePort", "DestinationPort":
		return wTypeUint16
	case "Initiated", "SourceIsIpv6", "DestinationIsIpv6":
		return wTypeBool
	case "GrantedAccess":
		return wTypeHexInt32
	}
	return wTypeString
}

// wSecurityType returns the type of a non-string EventData field of
// Security auditing events (process ids: see wFieldType), or wTypeString.
func wSecurityType(name string) byte {
	switch name {
	case "SubjectUserSid", "TargetUserSid", "MandatoryLabel":
		return wTypeSID
	case "SubjectLogonId", "TargetLogonId", "TargetLinkedLogonId", "NewProcessId", "ProcessId":
		return wTypeHexInt64
	case "Status":
		return wTypeHexInt32
	case "LogonType", "KeyLength":
		return wTypeUint32
	}
	return wTypeString
}

// wFieldType returns the Binary XML type Windows writes for the named
// EventData field of ev's provider, event id and version (wTypeString when
// unknown).
func wFieldType(ev *Event, name string) byte {
	switch ev.Provider {
	case wProviderSysmon:
		return wSysmonType(name)
	case wProviderSecurity:
		if (name == "NewProcessId" || name == "ProcessId") && ev.EventID == 4688 && ev.Version < 2 {
			// 4688 versions 0 and 1 (Windows 7/2008 R2) use 32-bit ids.
			return wTypeHexInt32
		}
		return wSecurityType(name)
	}
	return wTypeString
}

// wEncodeField returns the type and data of a field value: the table's type
// when value is that type's canonical rendering, else a string.
func wEncodeField(ev *Event, name, value string) (byte, []byte) {
	typ := wFieldType(ev, name)
	if typ != wTypeString {
		if data, ok := wEncodeTyped(typ, value); ok {
			return typ, data
		}
	}
	b := make([]byte, wUtf16Len(value))
	wPutUTF16z(b, value)
	return wTypeString, b
}

// wEncodeTyped encodes s as typ when s is exactly how this package's
// reader renders that type: decimal integers without sign or leading zeros,
// "0x" and lower-case hex without zero padding (HexInt32, HexInt64, as
// Windows renders them: 0x3e7), "true"/"false", "{GUID}" in upper case,
// "S-1-…" SIDs.
func wEncodeTyped(typ byte, s string) ([]byte, bool) {
	le := binary.LittleEndian
	switch typ {
	case wTypeUint8, wTypeUint16, wTypeUint32, wTypeUint64:
		bits := 64
		switch typ {
		case wTypeUint8:
			bits = 8
		case wTypeUint16:
			bits = 16
		case wTypeUint32:
			bits = 32
		}
		v, err := strconv.ParseUint(s, 10, bits)
		if err != nil || strconv.FormatUint(v, 10) != s {
			return nil, false
		}
		b := make([]byte, bits/8)
		switch bits {
		case 8:
			b[0] = byte(v)
		case 16:
			le.PutUint16(b, uint16(v))
		case 32:
			le.PutUint32(b, uint32(v))
		default:
			le.PutUint64(b, v)
		}
		return b, true
	case wTypeHexInt32, wTypeHexInt64:
		bits := 32
		if typ == wTypeHexInt64 {
			bits = 64
		}
		h, ok := strings.CutPrefix(s, "0x")
		if !ok {
			return nil, false
		}
		v, err := strconv.ParseUint(h, 16, bits)
		if err != nil || strconv.FormatUint(v, 16) != h {
			return nil, false // padded, upper case or signed: not how Windows renders it
		}
		b := make([]byte, bits/8)
		if bits == 32 {
			le.PutUint32(b, uint32(v))
		} else {
			le.PutUint64(b, v)
		}
		return b, true
	case wTypeBool:
		b := make([]byte, 4)
		switch s {
		case "true":
			b[0] = 1
		case "false":
		default:
			return nil, false
		}
		return b, true
	case wTypeGUID:
		g, ok := wEncodeGUID(s)
		if !ok || !strings.HasPrefix(s, "{") || strings.ToUpper(s) != s {
			return nil, false
		}
		return g[:], true
	case wTypeSID:
		return wEncodeSID(s)
	}
	return nil, false
}

// wEncodeGUID parses a GUID in registry form, with or without braces, in
// either case, into its 16-byte mixed-endian encoding.
func wEncodeGUID(s string) ([16]byte, bool) {
	var g [16]byte
	if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
		s = s[1 : len(s)-1]
	}
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return g, false
	}
	raw, err := hex.DecodeString(s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:])
	if err != nil {
		return g, false
	}
	// Data1, Data2 and Data3 are little-endian; Data4 is bytes as written.
	g[0], g[1], g[2], g[3] = raw[3], raw[2], raw[1], raw[0]
	g[4], g[5] = raw[5], raw[4]
	g[6], g[7] = raw[7], raw[6]
	copy(g[8:], raw[8:])
	return g, true
}

// wEncodeSID parses "S-1-<authority>-<sub>…" (decimal authority below 2^32,
// at most 15 sub-authorities) in canonical form into its binary encoding.
func wEncodeSID(s string) ([]byte, bool) {
	parts := strings.Split(s, "-")
	if len(parts) < 3 || len(parts) > 18 || parts[0] != "S" || parts[1] != "1" {
		return nil, false
	}
	nums := make([]uint64, 0, len(parts)-2)
	for _, p := range parts[2:] {
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil || strconv.FormatUint(v, 10) != p {
			return nil, false
		}
		nums = append(nums, v)
	}
	b := make([]byte, 8+4*(len(nums)-1))
	b[0] = 1
	b[1] = byte(len(nums) - 1)
	auth := nums[0]
	for i := 0; i < 6; i++ {
		b[7-i] = byte(auth >> (8 * i))
	}
	for i, v := range nums[1:] {
		binary.LittleEndian.PutUint32(b[8+4*i:], uint32(v))
	}
	return b, true
}
