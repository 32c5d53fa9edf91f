package rules

// Event is what a rule is matched against. The rules package never imports
// the parser; *parser.Event satisfies this interface.
type Event interface {
	// Get returns the value of a field by its name in the log (EventData
	// names, and System values as EventID, Channel, Computer, Provider_Name…).
	Get(name string) (string, bool)
	// Values appends to dst every value of a field and returns it: the
	// one Get returns first, then the values of the field's repeats. A
	// name the log repeats is one field with several values, and a rule's
	// condition on it holds when it holds for any of them: Data is every
	// unnamed <Data> value of a classic log, as Sigma means it ("the
	// container for the event data as a whole"), while Data#2 stays the
	// second alone (*parser.Event names repeats name#2, name#3…).
	Values(name string, dst []string) []string
	// Each visits every EventData/UserData value (keyword searches).
	Each(fn func(name, value string) bool)
	// Source identifies the log an event came from, for logsource indexing.
	Source() (channel, provider string, eventID uint32)
}
