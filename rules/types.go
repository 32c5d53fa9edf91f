package rules

import "strings"

// Level is a rule's severity.
type Level int

// Levels in ascending order.
const (
	LevelInformational Level = iota
	LevelLow
	LevelMedium
	LevelHigh
	LevelCritical
)

var levelNames = [...]string{"informational", "low", "medium", "high", "critical"}

// String returns the Sigma name of the level.
func (l Level) String() string {
	if l < 0 || int(l) >= len(levelNames) {
		return "unknown"
	}
	return levelNames[l]
}

// ParseLevel parses a Sigma level name (case-insensitive).
func ParseLevel(s string) (Level, bool) {
	for i, n := range levelNames {
		if strings.EqualFold(n, s) {
			return Level(i), true
		}
	}
	return 0, false
}

// MatchDetail explains one part of a match: which detection identifier
// (selection) matched, on which field, with which modifier chain, and the
// rule value that matched. Field is empty for keyword searches.
type MatchDetail struct {
	Selection string `json:"selection"`
	Field     string `json:"field"`
	Modifier  string `json:"modifier"`
	Value     string `json:"value"`
}

// Rejection is a rule file (or one document in it) that was refused.
type Rejection struct {
	Path   string `json:"path"`
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// Logsource is a rule's logsource block.
type Logsource struct {
	Product  string
	Category string
	Service  string
}

// Rule is one loaded Sigma rule: a detection rule or a correlation rule.
type Rule struct {
	ID          string
	Name        string
	Title       string
	Description string
	Status      string
	Level       Level
	Tags        []string
	Author      string
	References  []string
	Path        string // file it came from ("builtin:NAME" for the embedded pack)
	Line        int    // line of the document in that file
	Builtin     bool

	Logsource Logsource
	// Unmapped is true when no entry of the logsource table covers the
	// rule's logsource (a Linux or cloud rule, say): it loads but can never
	// meet a Windows event.
	Unmapped bool
	// CorrelationOnly is true when the rule is referenced by a correlation
	// rule that does not set generate: true. Such a rule still appears in
	// Match results (the Correlator needs them) but is not meant to be
	// reported on its own.
	CorrelationOnly bool
	// Correlation is set for correlation rules; they have no detection and
	// never appear in Match results, only in a Correlator's output.
	Correlation *Correlation

	idents   []string // detection identifiers in file order
	compiled *compiledRule
	index    int // position in Set.rules
}

// Identifiers returns the rule's detection identifiers in file order
// (nil for a correlation rule).
func (r *Rule) Identifiers() []string {
	return append([]string(nil), r.idents...)
}

// FilterIdentifiers returns the identifiers whose names start with
// "filter", the ones Candidates can switch off.
func (r *Rule) FilterIdentifiers() []string {
	var out []string
	for _, id := range r.idents {
		if isFilterIdent(id) {
			out = append(out, id)
		}
	}
	return out
}

func isFilterIdent(id string) bool { return strings.HasPrefix(id, "filter") }
