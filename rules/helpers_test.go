package rules

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
)

// mapEvent is a small Event for tests.
type mapEvent struct {
	channel string
	eventID uint32
	fields  map[string]string
}

const (
	sysmonChannel = "Microsoft-Windows-Sysmon/Operational"
)

func sysmon(id uint32, kv ...string) *mapEvent {
	return newEvent(sysmonChannel, id, kv...)
}

func newEvent(channel string, id uint32, kv ...string) *mapEvent {
	e := &mapEvent{channel: channel, eventID: id, fields: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		e.fields[kv[i]] = kv[i+1]
	}
	return e
}

func (e *mapEvent) Get(name string) (string, bool) {
	if v, ok := e.fields[name]; ok {
		return v, true
	}
	switch name {
	case "EventID":
		return strconv.FormatUint(uint64(e.eventID), 10), true
	case "Channel":
		return e.channel, true
	}
	return "", false
}

// Values gives name's value and those of name#2, name#3… (how
// *parser.Event names the repeats of a field).
func (e *mapEvent) Values(name string, dst []string) []string {
	v, ok := e.Get(name)
	if !ok {
		return dst
	}
	dst = append(dst, v)
	for i := 2; ; i++ {
		v, ok := e.fields[name+"#"+strconv.Itoa(i)]
		if !ok {
			return dst
		}
		dst = append(dst, v)
	}
}

func (e *mapEvent) Each(fn func(name, value string) bool) {
	keys := make([]string, 0, len(e.fields))
	for k := range e.fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !fn(k, e.fields[k]) {
			return
		}
	}
}

func (e *mapEvent) Source() (string, string, uint32) { return e.channel, "", e.eventID }

// loadRules writes YAML docs to a temp dir and loads them without the
// built-in pack.
func loadRules(t *testing.T, files map[string]string, config string) *Set {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	opts := LoadOptions{NoBuiltin: true, Paths: []string{dir}}
	if config != "" {
		cp := filepath.Join(t.TempDir(), "config.yml")
		if err := os.WriteFile(cp, []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
		opts.Config = cp
	}
	return Load(opts)
}

// oneRule loads a single rule document and fails the test if it is refused.
func oneRule(t *testing.T, body string) (*Set, *Rule) {
	t.Helper()
	s := loadRules(t, map[string]string{"r.yml": body}, "")
	if len(s.Rejected()) > 0 {
		t.Fatalf("rule rejected: %+v", s.Rejected())
	}
	if len(s.Rules()) != 1 {
		t.Fatalf("want 1 rule, got %d", len(s.Rules()))
	}
	return s, s.Rules()[0]
}

// procRule wraps a detection body in a process_creation rule.
func procRule(detection string) string {
	return "title: t\nid: 11111111-1111-1111-1111-111111111111\nlogsource:\n    category: process_creation\n    product: windows\ndetection:\n" + detection
}

func matches(s *Set, ev Event) bool {
	return len(s.Match(ev, nil)) > 0
}
