package rules

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// globalFilter is a Sigma filter document (filters specification v2)
// attached to the rules it names. A rule with filters matches only when
// its own condition and every attached filter's condition hold.
type globalFilter struct {
	ident string // "filter:<name, id or title>", switchable like a filter identifier
	cr    *compiledRule
}

// compileFilterDoc compiles a filter document and returns the rule ids or
// names it applies to.
func compileFilterDoc(cc *compileCtx, d doc) (*globalFilter, []string, error) {
	meta, err := ruleMeta(d)
	if err != nil {
		return nil, nil, err
	}
	fn := mapGet(d.node, "filter")
	if fn.Kind != yaml.MappingNode {
		return nil, nil, errAt(fn, "filter must be a map")
	}
	refs, err := stringList(mapGet(fn, "rules"))
	if err != nil {
		return nil, nil, err
	}
	if len(refs) == 0 {
		return nil, nil, errAt(fn, "filter names no rules")
	}
	// The detection part is the filter map without its rules key.
	det := &yaml.Node{Kind: yaml.MappingNode, Line: fn.Line}
	for i := 0; i+1 < len(fn.Content); i += 2 {
		if fn.Content[i].Value != "rules" {
			det.Content = append(det.Content, fn.Content[i], fn.Content[i+1])
		}
	}
	cr, _, err := compileDetection(cc, det)
	if err != nil {
		return nil, nil, err
	}
	name := meta.Name
	if name == "" {
		name = meta.ID
	}
	if name == "" {
		name = strings.ReplaceAll(meta.Title, " ", "_")
	}
	return &globalFilter{ident: "filter:" + name, cr: cr}, refs, nil
}
