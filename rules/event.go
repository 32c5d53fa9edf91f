package rules

// Event is what a rule is matched against. The rules package never imports
// the parser; *parser.Event satisfies this interface.
type Event interface {
	// Get returns the value of a field by its name in the log (EventData
	// names, and System values as EventID, Channel, Computer, Provider_Name…).
	Get(name string) (string, bool)
	// Each visits every EventData/UserData value (keyword searches).
	Each(fn func(name, value string) bool)
	// Source identifies the log an event came from, for logsource indexing.
	Source() (channel, provider string, eventID uint32)
}
