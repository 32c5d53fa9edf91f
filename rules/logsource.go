package rules

import (
	_ "embed"
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

//go:embed logsources.yml
var defaultLogsources []byte

// ErrConfig wraps problems with the --config file.
var ErrConfig = errors.New("rules: config")

// AnyChannel, as a logsource entry's only channel, makes the entry cover
// every channel: what a rule whose logsource is only product: windows
// applies to (every Windows event log).
const AnyChannel = "*"

// logsourceEntry maps one Sigma logsource to Windows events.
type logsourceEntry struct {
	Name          string            `yaml:"name"`
	Category      string            `yaml:"category"`
	Product       string            `yaml:"product"`
	Service       string            `yaml:"service"`
	Channels      []string          `yaml:"channels"`
	EventIDs      []uint32          `yaml:"eventids"`
	Conditions    map[string]string `yaml:"conditions"`
	FieldMappings map[string]string `yaml:"fieldmappings"`
	// ValueAliases gives, per rule field, other values the rule may name
	// for a value of these events (case-insensitive): with IntegrityLevel
	// {S-1-16-12288: High}, a 4688's MandatoryLabel S-1-16-12288 also
	// reads as High.
	ValueAliases map[string]map[string]string `yaml:"valuealiases"`

	remap []int32 // logical field id -> renamed (or aliased) field id; built by the Set
}

// aliasedField is a field a logsource entry gives value aliases: the
// engine reads the event's field phys and adds the alias of each value.
type aliasedField struct {
	phys    string
	aliases [][2]string // event value (any case) -> the value it also reads as
}

// add appends to vals the aliases of the values it holds.
func (a *aliasedField) add(vals []string) []string {
	n := len(vals)
	for _, v := range vals[:n] {
		for _, al := range a.aliases {
			if strings.EqualFold(v, al[0]) {
				vals = append(vals, al[1])
			}
		}
	}
	return vals
}

// Config is the optional --config file: placeholder values for the expand
// modifier and changes to the logsource table.
type Config struct {
	Placeholders map[string][]string `yaml:"placeholders"`
	Logsources   []logsourceEntry    `yaml:"logsources"`
}

func parseLogsources(data []byte) ([]logsourceEntry, error) {
	var c Config
	if err := yaml.Unmarshal(data, &c); err != nil {
		return nil, err
	}
	return c.Logsources, nil
}

// loadConfig reads the config file, if any, and merges its logsources
// over the built-in table; record is given the file's bytes (Set.read).
func loadConfig(path string, record func([]byte) []byte) (map[string][]string, []logsourceEntry, error) {
	table, err := parseLogsources(defaultLogsources)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: built-in logsource table: %w", ErrConfig, err)
	}
	if path == "" {
		return nil, table, nil
	}
	data, err := readBounded(path)
	if err != nil {
		return nil, table, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	record(data)
	var c Config
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, table, fmt.Errorf("%w: %s: %w", ErrConfig, path, err)
	}
	for _, e := range c.Logsources {
		if e.Name == "" || len(e.Channels) == 0 {
			return nil, table, fmt.Errorf("%w: %s: every logsource needs a name and channels", ErrConfig, path)
		}
		replaced := false
		for i := range table {
			if table[i].Name == e.Name {
				table[i], replaced = e, true
			}
		}
		if !replaced {
			table = append(table, e)
		}
	}
	return c.Placeholders, table, nil
}

// entriesFor returns the table entries a rule's logsource covers.
func entriesFor(ls Logsource, table []logsourceEntry) []*logsourceEntry {
	var out []*logsourceEntry
	for i := range table {
		e := &table[i]
		if ls.Category == "" && ls.Service == "" && ls.Product == "" {
			return nil
		}
		if ls.Category != "" && !strings.EqualFold(e.Category, ls.Category) {
			continue
		}
		if ls.Category == "" && e.Category != "" {
			continue
		}
		if ls.Category == "" && ls.Service == "" && e.Service != "" {
			continue // product only: the entries for a whole product
		}
		if ls.Product != "" && !strings.EqualFold(e.Product, ls.Product) {
			continue
		}
		if ls.Service != "" && !strings.EqualFold(e.Service, ls.Service) {
			continue
		}
		out = append(out, e)
	}
	return out
}
