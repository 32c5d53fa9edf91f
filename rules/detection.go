package rules

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// search is one compiled detection identifier: an OR of alternatives,
// each an AND of field items.
type search struct {
	name string
	alts [][]*fieldItem
}

// compiledRule is the matcher built from a rule's detection at load time.
type compiledRule struct {
	searches []*search
	conds    []*node // a list of conditions is OR'd
	filters  []*globalFilter
	sources  []*logsourceEntry
	set      *Set
	gate     []gateAtom // prefilter tests (see gate.go)
	gateOK   bool
}

// lineError is an error tied to a line of the rule file.
type lineError struct {
	line int
	err  error
}

func (e *lineError) Error() string { return e.err.Error() }
func (e *lineError) Unwrap() error { return e.err }

func errAt(n *yaml.Node, format string, a ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &lineError{line: line, err: fmt.Errorf(format, a...)}
}

// compileDetection compiles a detection block. It returns the identifiers
// in file order.
func compileDetection(cc *compileCtx, det *yaml.Node) (*compiledRule, []string, error) {
	if det == nil || det.Kind != yaml.MappingNode {
		return nil, nil, errAt(det, "detection must be a map")
	}
	cr := &compiledRule{}
	var idents []string
	var condNode *yaml.Node
	seen := map[string]bool{}
	for i := 0; i+1 < len(det.Content); i += 2 {
		k, v := det.Content[i], det.Content[i+1]
		name := k.Value
		if name == "condition" {
			condNode = v
			continue
		}
		if name == "timeframe" {
			return nil, nil, errAt(k, "timeframe in detection is legacy aggregation syntax; use a correlation rule")
		}
		if seen[name] {
			return nil, nil, errAt(k, "duplicate detection identifier %q", name)
		}
		seen[name] = true
		s, err := compileSearch(cc, name, v)
		if err != nil {
			return nil, nil, err
		}
		cr.searches = append(cr.searches, s)
		idents = append(idents, name)
	}
	if condNode == nil {
		return nil, nil, errAt(det, "detection has no condition")
	}
	var conds []string
	switch condNode.Kind {
	case yaml.ScalarNode:
		conds = []string{condNode.Value}
	case yaml.SequenceNode:
		for _, c := range condNode.Content {
			if c.Kind != yaml.ScalarNode {
				return nil, nil, errAt(c, "condition list items must be strings")
			}
			conds = append(conds, c.Value)
		}
	default:
		return nil, nil, errAt(condNode, "condition must be a string or a list of strings")
	}
	if len(conds) == 0 {
		return nil, nil, errAt(condNode, "empty condition list")
	}
	for _, c := range conds {
		n, err := parseCondition(c, idents)
		if err != nil {
			return nil, nil, &lineError{line: condNode.Line, err: err}
		}
		cr.conds = append(cr.conds, n)
	}
	return cr, idents, nil
}

// compileSearch compiles one identifier: a map (AND), a list of maps (OR
// of ANDs), or a list of plain values (keywords, OR).
func compileSearch(cc *compileCtx, name string, v *yaml.Node) (*search, error) {
	s := &search{name: name}
	v = resolveAlias(v)
	switch v.Kind {
	case yaml.MappingNode:
		alt, err := compileMap(cc, v)
		if err != nil {
			return nil, err
		}
		s.alts = append(s.alts, alt)
	case yaml.SequenceNode:
		if len(v.Content) == 0 {
			return nil, errAt(v, "identifier %q is an empty list", name)
		}
		var kw []yval
		for _, item := range v.Content {
			item = resolveAlias(item)
			switch item.Kind {
			case yaml.MappingNode:
				alt, err := compileMap(cc, item)
				if err != nil {
					return nil, err
				}
				s.alts = append(s.alts, alt)
			case yaml.ScalarNode:
				yv, err := scalarValue(item)
				if err != nil {
					return nil, err
				}
				kw = append(kw, yv)
			default:
				return nil, errAt(item, "identifier %q: list items must be maps or values", name)
			}
		}
		if len(kw) > 0 {
			it, err := compileItem(cc, "", kw, true)
			if err != nil {
				return nil, errAt(v, "identifier %q: %v", name, err)
			}
			s.alts = append(s.alts, []*fieldItem{it})
		}
	case yaml.ScalarNode:
		yv, err := scalarValue(v)
		if err != nil {
			return nil, err
		}
		it, err := compileItem(cc, "", []yval{yv}, true)
		if err != nil {
			return nil, errAt(v, "identifier %q: %v", name, err)
		}
		s.alts = append(s.alts, []*fieldItem{it})
	default:
		return nil, errAt(v, "identifier %q has an unsupported shape", name)
	}
	return s, nil
}

// compileMap compiles a map of field entries (AND).
func compileMap(cc *compileCtx, m *yaml.Node) ([]*fieldItem, error) {
	if len(m.Content) == 0 {
		return nil, errAt(m, "empty selection map")
	}
	var items []*fieldItem
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], resolveAlias(m.Content[i+1])
		var vals []yval
		switch v.Kind {
		case yaml.ScalarNode:
			yv, err := scalarValue(v)
			if err != nil {
				return nil, err
			}
			vals = []yval{yv}
		case yaml.SequenceNode:
			for _, e := range v.Content {
				e = resolveAlias(e)
				if e.Kind != yaml.ScalarNode {
					return nil, errAt(e, "field %q: values must be scalars", k.Value)
				}
				yv, err := scalarValue(e)
				if err != nil {
					return nil, err
				}
				vals = append(vals, yv)
			}
		default:
			return nil, errAt(v, "field %q: value must be a scalar or a list", k.Value)
		}
		keyword := strings.HasPrefix(k.Value, "|")
		it, err := compileItem(cc, k.Value, vals, keyword)
		if err != nil {
			return nil, errAt(k, "%v", err)
		}
		items = append(items, it)
	}
	return items, nil
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	if n == nil {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
	}
	return n
}

// scalarValue decodes a scalar rule value, keeping its YAML type.
func scalarValue(n *yaml.Node) (yval, error) {
	if n.Kind != yaml.ScalarNode {
		return yval{}, errAt(n, "expected a value")
	}
	switch n.ShortTag() {
	case "!!null":
		return yval{isNull: true}, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return yval{}, errAt(n, "bad boolean %q", n.Value)
		}
		if b {
			return yval{s: "true", isBool: true, b: true}, nil
		}
		return yval{s: "false", isBool: true}, nil
	case "!!int", "!!float":
		return yval{s: n.Value, isNum: true}, nil
	case "!!str", "!!binary", "!!timestamp":
		return yval{s: n.Value}, nil
	}
	return yval{}, errAt(n, "unsupported value type %s", n.ShortTag())
}
