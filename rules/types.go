// Package rules is evtriage's Sigma engine: it loads, validates, compiles,
// matches and explains Sigma rules (specification v2), and carries the
// built-in regsvr32 rule pack.
package rules

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
		if equalFold(n, s) {
			return Level(i), true
		}
	}
	return 0, false
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
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

// Rule is one loaded Sigma rule.
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

	compiled *compiledRule
}
