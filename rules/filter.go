package rules

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// globalFilter is a Sigma filter document (filters specification v2)
// attached to the rules it names. A rule with filters matches only when
// its own condition and every attached filter's condition hold.
type globalFilter struct {
	ident     string // "filter:<name, id or title>", switchable like a filter identifier
	cr        *compiledRule
	logsource Logsource
}

// covers reports whether a rule's logsource lies within the filter's: each
// of category, product and service the filter sets must be the rule's.
func (f *globalFilter) covers(ls Logsource) bool {
	eq := func(filter, rule string) bool { return filter == "" || strings.EqualFold(filter, rule) }
	return eq(f.logsource.Category, ls.Category) && eq(f.logsource.Product, ls.Product) && eq(f.logsource.Service, ls.Service)
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
	ls := mapGet(d.node, "logsource")
	if ls == nil || ls.Kind != yaml.MappingNode {
		return nil, nil, errAt(d.node, "filter has no logsource map")
	}
	var lsrc Logsource
	lsrc.Product, _ = scalarString(mapGet(ls, "product"))
	lsrc.Category, _ = scalarString(mapGet(ls, "category"))
	lsrc.Service, _ = scalarString(mapGet(ls, "service"))
	rn := mapGet(fn, "rules")
	if rn == nil {
		return nil, nil, errAt(fn, "filter has no rules (use 'any' for every rule of its logsource)")
	}
	refs, err := stringList(rn)
	if err != nil {
		return nil, nil, err
	}
	if len(refs) == 1 && (strings.EqualFold(refs[0], "any") || strings.EqualFold(refs[0], "all")) {
		refs = nil // every rule of the logsource
	}
	if c := mapGet(fn, "condition"); c == nil || c.Kind != yaml.ScalarNode {
		return nil, nil, errAt(fn, "a filter needs exactly one condition, a string")
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
	return &globalFilter{ident: "filter:" + name, cr: cr, logsource: lsrc}, refs, nil
}
