package parser

import (
	"strconv"
	"time"
)

// Field is one EventData or UserData value, flattened to a name and the
// string Windows renders for it in XML.
type Field struct {
	Name  string
	Value string
}

// Event is one decoded event record. It is what the rules and triage
// packages work on directly: System values are typed, EventData/UserData is
// flattened into Fields in document order.
type Event struct {
	// Offset is the record's byte offset in the file.
	Offset int64
	// RecordNum is the record number from the record header; RecordID is the
	// System EventRecordID (they differ in exported or filtered logs).
	RecordNum uint64
	RecordID  uint64
	// Time is System/TimeCreated in UTC; Written is the record header's
	// written time.
	Time    time.Time
	Written time.Time

	Provider     string
	ProviderGUID string
	Channel      string
	Computer     string
	EventID      uint16
	Qualifiers   uint16
	Version      uint8
	Level        uint8
	Task         uint16
	Opcode       uint8
	Keywords     uint64
	ProcessID    uint32
	ThreadID     uint32
	UserID       string

	// Fields holds EventData (Data Name=) or UserData leaf values, in
	// document order, each under a name of its own (see Namer): an unnamed
	// <Data> is Data, a repeated name gets #2, #3…, so three unnamed values
	// are Data, Data#2, Data#3.
	Fields []Field

	// Recovered marks a record carved from slack space or a damaged chunk.
	Recovered bool
}

// Field returns the value of the named EventData/UserData field.
func (e *Event) Field(name string) (string, bool) {
	for i := range e.Fields {
		if e.Fields[i].Name == name {
			return e.Fields[i].Value, true
		}
	}
	return "", false
}

// Get returns a field by name for rule matching: EventData/UserData names
// first, then the System values under the names Sigma uses (EventID,
// Channel, Computer, Provider_Name, Level, Version, Task, Opcode, Keywords,
// EventRecordID, Execution_ProcessID, Execution_ThreadID, Security_UserID).
func (e *Event) Get(name string) (string, bool) {
	if v, ok := e.Field(name); ok {
		return v, true
	}
	switch name {
	case "EventID":
		return strconv.FormatUint(uint64(e.EventID), 10), true
	case "Channel":
		return e.Channel, true
	case "Computer":
		return e.Computer, true
	case "Provider_Name", "Provider":
		return e.Provider, true
	case "Provider_Guid":
		return e.ProviderGUID, e.ProviderGUID != ""
	case "Level":
		return strconv.FormatUint(uint64(e.Level), 10), true
	case "Version":
		return strconv.FormatUint(uint64(e.Version), 10), true
	case "Task":
		return strconv.FormatUint(uint64(e.Task), 10), true
	case "Opcode":
		return strconv.FormatUint(uint64(e.Opcode), 10), true
	case "Keywords":
		return "0x" + strconv.FormatUint(e.Keywords, 16), true
	case "EventRecordID":
		return strconv.FormatUint(e.RecordID, 10), true
	case "Execution_ProcessID":
		return strconv.FormatUint(uint64(e.ProcessID), 10), true
	case "Execution_ThreadID":
		return strconv.FormatUint(uint64(e.ThreadID), 10), true
	case "Security_UserID":
		return e.UserID, e.UserID != ""
	}
	return "", false
}

// Values appends to dst every value of a field and returns it: the value
// Get returns first, then those of the field's repeats (name#2, name#3…,
// see Namer). A name the log repeats is one field with several values:
// Values("Data") gives every unnamed <Data> value of a classic log, what
// Sigma's Data means ("the container for the event data as a whole");
// Values("Data#3") gives the third alone. System values have one value.
func (e *Event) Values(name string, dst []string) []string {
	n := len(dst)
	for i := range e.Fields {
		if isRepeatOf(e.Fields[i].Name, name) {
			dst = append(dst, e.Fields[i].Value)
		}
	}
	if len(dst) == n {
		if v, ok := e.Get(name); ok {
			dst = append(dst, v)
		}
	}
	return dst
}

// Each calls fn with every EventData/UserData field until fn returns false.
// Keyword (keyless) Sigma searches use it.
func (e *Event) Each(fn func(name, value string) bool) {
	for i := range e.Fields {
		if !fn(e.Fields[i].Name, e.Fields[i].Value) {
			return
		}
	}
}

// Source returns what the rules package indexes logsources by.
func (e *Event) Source() (channel, provider string, eventID uint32) {
	return e.Channel, e.Provider, uint32(e.EventID)
}
