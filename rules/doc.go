// Package rules is evtriage's Sigma engine: it loads, validates, compiles,
// matches and explains Sigma rules (specification v2: rules, modifiers
// appendix, correlations and filters), and carries the built-in regsvr32
// rule pack (builtin/*.yml, embedded).
//
// # Loading
//
// Load reads the built-in pack, rule files and folders (recursively,
// *.yml and *.yaml, multi-document files included) and never fails as a
// whole: a document the engine cannot run exactly as written becomes a
// Rejection with its file, line and reason (unknown modifier, regular
// expression Go's RE2 lacks, placeholder without a value, unknown condition
// identifier, legacy aggregation, a key written twice in one map, …);
// everything else loads. Sigma 1.0 rule collections are supported: action:
// global content is merged into the file's following rules, reset forgets
// it, repeat makes a rule from the previous one (see collection.go). A
// file's copy of a built-in rule (same id) and a file with no YAML document
// are listed by Skipped.
//
// # Matching
//
// Rules are indexed by the Windows logs their logsource covers (the table
// in logsources.yml, after SigmaHQ's thor.yml, overridable with the config
// file): Sysmon 1 and Security 4688 for process_creation, with 4688's
// NewProcessName, ParentProcessName and MandatoryLabel read for Image,
// ParentImage and IntegrityLevel (its SIDs also read as Sysmon's level
// names, and Sysmon's names as the SIDs); a logsource of product: windows
// alone covers every channel. An event meets only the rules of its channel
// and event ID, and only those a prefilter of necessary literals lets
// through (see gate.go); every field is fetched and lower-cased once per
// event. A field the event repeats (Data, Data#2… for unnamed <Data>
// values) is one field with several values: a condition holds when it
// holds for one of them. Values match case-insensitively unless cased or
// re; null matches an absent or empty field; a condition on any other
// absent field is false.
//
// Set.Match returns the rules that match an event as written, each with
// the selections, fields, modifiers and values that made it match.
// Set.Candidates also returns the matches that only the rule's filter
// identifiers (names starting "filter", and attached filter documents)
// prevent, naming those filters in Suppressed; Rule.Eval evaluates one rule
// with chosen identifiers switched off. A Set is safe for concurrent use.
//
// # Correlations
//
// Correlation rules (event_count, value_count, temporal, temporal_ordered,
// with group-by, aliases, chaining and sliding windows) are evaluated by a
// Correlator: feed it each event, its time and its Set.Match results, in
// time order; it returns the correlations completed by that event, each
// with the events that made it fire (bounded by Correlator.MaxEvents, the
// total counted). A group's window starts again empty after it fires. Rules referenced by a
// correlation without generate: true are marked CorrelationOnly: they
// appear in Match results (the Correlator needs them) but are not meant to
// be reported alone.
package rules
