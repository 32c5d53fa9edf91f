package rules

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Rule collections (Sigma specification 1.0, "Rule Collections"): a file's
// documents may be action documents. action: global holds YAML merged into
// every following rule document of the file (several accumulate, a later
// one winning where they overlap); action: reset forgets it; action: repeat
// makes a new rule from the previous rule document of the file with this
// document merged over it. Merging is deep for maps and replaces anything
// else. Where a global and a rule document both set a value, the global's
// wins, as in SigmaHQ's sigmac and pySigma.

// collection is the action state of the file being read.
type collection struct {
	global *yaml.Node // accumulated action: global content (nil: none)
	prev   *yaml.Node // the previous rule document, as merged (nil: none)
	// badGlobal and badPrev are the lines of a refused document the
	// global content or the previous rule would have come from (0: none):
	// what builds on them is refused too, never compiled without them.
	badGlobal, badPrev int
}

// apply handles one document of the file: it returns the rule document to
// compile (nil for an action document) or the reason the document is
// refused.
func (c *collection) apply(root *yaml.Node) (*yaml.Node, error) {
	act := mapGet(root, "action")
	if act == nil {
		if c.badGlobal > 0 {
			c.badPrev = root.Line
			return nil, errAt(root, "the action: global document this rule takes content from (line %d) was refused", c.badGlobal)
		}
		if c.global != nil {
			merged, err := mergeNodes(root, c.global)
			if err != nil {
				c.badPrev = root.Line
				return nil, errAt(root, "%v", err)
			}
			root = merged
		}
		c.prev, c.badPrev = root, 0
		return root, nil
	}
	body := withoutKey(root, "action")
	name, _ := scalarString(act)
	switch name {
	case "global":
		merged, err := mergeNodes(c.global, body)
		if err != nil {
			c.badGlobal = root.Line
			return nil, errAt(act, "%v", err)
		}
		c.global = merged
		return nil, nil
	case "reset":
		c.global, c.badGlobal = nil, 0
		return nil, nil
	case "repeat":
		if c.badPrev > 0 {
			return nil, errAt(act, "action: repeat of a refused document (line %d)", c.badPrev)
		}
		if c.prev == nil {
			return nil, errAt(act, "action: repeat with no rule document before it in the file (a rule collection repeats the previous rule)")
		}
		merged, err := mergeNodes(c.prev, body)
		if err != nil {
			c.badPrev = root.Line
			return nil, errAt(act, "%v", err)
		}
		c.prev = merged
		return c.prev, nil
	}
	c.refused(root)
	return nil, errAt(act, "unknown action %q (rule collections know action: global, reset and repeat)", name)
}

// refused records that a document of the file was refused before apply
// (a duplicate key), so that what would build on it is refused too.
func (c *collection) refused(root *yaml.Node) {
	name, _ := scalarString(mapGet(root, "action"))
	switch name {
	case "global", "reset":
		c.badGlobal = root.Line
	default: // a rule, a repeat or an unknown action
		c.badPrev = root.Line
	}
}

// maxMergeWork bounds the map entries merging one document visits (YAML
// aliases can make a small file's maps revisit each other exponentially).
const maxMergeWork = 100000

// errMergeWork is returned when merging a document exceeds maxMergeWork.
var errMergeWork = fmt.Errorf("rule collection: merging the document visits more than %d map entries (YAML alias amplification)", maxMergeWork)

// mergeNodes returns base with over merged into it: maps deeply, anything
// else replaced by over's. Neither input is changed.
func mergeNodes(base, over *yaml.Node) (*yaml.Node, error) {
	work := 0
	return mergeWork(base, over, &work)
}

func mergeWork(base, over *yaml.Node, work *int) (*yaml.Node, error) {
	if base == nil {
		return over, nil
	}
	base, over = resolveAlias(base), resolveAlias(over)
	if base.Kind != yaml.MappingNode || over.Kind != yaml.MappingNode {
		return over, nil
	}
	if *work += len(base.Content) + len(over.Content); *work > maxMergeWork {
		return nil, errMergeWork
	}
	out := *base
	out.Content = append([]*yaml.Node(nil), base.Content...)
	for i := 0; i+1 < len(over.Content); i += 2 {
		k, v := over.Content[i], over.Content[i+1]
		merged := false
		for j := 0; j+1 < len(out.Content); j += 2 {
			if out.Content[j].Value == k.Value {
				m, err := mergeWork(out.Content[j+1], v, work)
				if err != nil {
					return nil, err
				}
				out.Content[j+1] = m
				merged = true
				break
			}
		}
		if !merged {
			out.Content = append(out.Content, k, v)
		}
	}
	return &out, nil
}

// withoutKey returns a copy of mapping m without key.
func withoutKey(m *yaml.Node, key string) *yaml.Node {
	out := *m
	out.Content = nil
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != key {
			out.Content = append(out.Content, m.Content[i], m.Content[i+1])
		}
	}
	return &out
}

// duplicateKey finds a key written twice in one mapping anywhere in n
// (YAML forbids it; a decoder into a node keeps both, and a selection
// naming CommandLine twice must not become an AND of the two). It returns
// the second occurrence and the first, or nils.
func duplicateKey(n *yaml.Node, depth int) (dup, first *yaml.Node) {
	if n == nil || depth > 1000 {
		return nil, nil
	}
	if n.Kind == yaml.MappingNode {
		seen := make(map[string]*yaml.Node, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind == yaml.ScalarNode && k.Value != "<<" {
				if f, ok := seen[k.Value]; ok {
					return k, f
				}
				seen[k.Value] = k
			}
		}
	}
	if n.Kind == yaml.AliasNode {
		return nil, nil // checked where it is defined
	}
	for _, c := range n.Content {
		if d, f := duplicateKey(c, depth+1); d != nil {
			return d, f
		}
	}
	return nil, nil
}

// correlationLabel names a correlation rule in a message.
func correlationLabel(r *Rule) string {
	switch {
	case r.Name != "":
		return r.Name
	case r.ID != "":
		return r.ID
	}
	return r.Title
}

// unresolvedReason says why a correlation whose references never resolved
// cannot load: it refers to itself, it is part of a cycle of correlations,
// it refers to a correlation that cannot load, or to a rule that is not
// there at all.
func unresolvedReason(p pending, stuck map[string]*pending, byRef map[string]*Rule) string {
	_, missing, _ := compileCorrelation(p.corr, byRef)
	q := stuck[missing]
	switch {
	case q == nil:
		return fmt.Sprintf("correlation refers to rule %q, which is not loaded", missing)
	case q.rule == p.rule:
		return fmt.Sprintf("correlation refers to itself (%q)", missing)
	}
	path := []string{correlationLabel(p.rule)}
	seen := map[*Rule]bool{p.rule: true}
	for cur := q; cur != nil; {
		path = append(path, correlationLabel(cur.rule))
		if cur.rule == p.rule {
			return "correlation rules refer to each other in a cycle: " + strings.Join(path, " -> ")
		}
		if seen[cur.rule] {
			break // a cycle this correlation leads into, not through it
		}
		seen[cur.rule] = true
		_, next, _ := compileCorrelation(cur.corr, byRef)
		cur = stuck[next]
	}
	return fmt.Sprintf("correlation refers to correlation %q, which cannot be loaded", missing)
}
