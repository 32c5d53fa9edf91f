package rules

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// nodeOp is the operator of a condition node.
type nodeOp uint8

const (
	nIdent nodeOp = iota
	nAnd
	nOr
	nNot
	nOneOf
	nAllOf
)

// node is a parsed condition. For nOneOf/nAllOf, idents lists the
// identifier indexes the pattern selected.
type node struct {
	op     nodeOp
	ident  int
	kids   []*node
	idents []int
}

var errCondition = errors.New("rules: bad condition")

// condToken is a lexical token of a condition.
type condToken struct {
	text string
	pos  int
}

func lexCondition(s string) ([]condToken, error) {
	var toks []condToken
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')':
			toks = append(toks, condToken{string(c), i})
			i++
		case c == '|':
			return nil, fmt.Errorf("%w: legacy aggregation %q is not supported (use a correlation rule)", errCondition, strings.TrimSpace(s[i:]))
		default:
			if len(toks) >= maxConditionTokens {
				return nil, fmt.Errorf("%w: more than %d words", errCondition, maxConditionTokens)
			}
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n()|", rune(s[j])) {
				j++
			}
			toks = append(toks, condToken{s[i:j], i})
			i = j
		}
	}
	return toks, nil
}

// condParser is a recursive-descent parser with the specification's
// precedence, loosest first: or, and, not, "x of", parentheses.
type condParser struct {
	toks   []condToken
	i      int
	idents []string
	index  map[string]int
	src    string
}

// parseCondition parses one condition string over the rule's identifiers.
func parseCondition(src string, idents []string) (*node, error) {
	toks, err := lexCondition(src)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("%w: empty condition", errCondition)
	}
	p := &condParser{toks: toks, idents: idents, index: make(map[string]int), src: src}
	for i, id := range idents {
		p.index[id] = i
	}
	n, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		return nil, fmt.Errorf("%w: unexpected %q at column %d", errCondition, p.toks[p.i].text, p.toks[p.i].pos+1)
	}
	return n, nil
}

const (
	maxConditionDepth  = 200
	maxConditionTokens = 10000
)

func (p *condParser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i].text
	}
	return ""
}

func (p *condParser) or(depth int) (*node, error) {
	l, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	for strings.EqualFold(p.peek(), "or") {
		p.i++
		r, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		l = &node{op: nOr, kids: []*node{l, r}}
	}
	return l, nil
}

func (p *condParser) and(depth int) (*node, error) {
	l, err := p.not(depth)
	if err != nil {
		return nil, err
	}
	for strings.EqualFold(p.peek(), "and") {
		p.i++
		r, err := p.not(depth)
		if err != nil {
			return nil, err
		}
		l = &node{op: nAnd, kids: []*node{l, r}}
	}
	return l, nil
}

func (p *condParser) not(depth int) (*node, error) {
	if depth > maxConditionDepth {
		return nil, fmt.Errorf("%w: nested too deeply", errCondition)
	}
	if strings.EqualFold(p.peek(), "not") {
		p.i++
		k, err := p.not(depth + 1)
		if err != nil {
			return nil, err
		}
		return &node{op: nNot, kids: []*node{k}}, nil
	}
	return p.primary(depth)
}

func (p *condParser) primary(depth int) (*node, error) {
	if p.i >= len(p.toks) {
		return nil, fmt.Errorf("%w: condition ends early", errCondition)
	}
	t := p.toks[p.i]
	switch {
	case t.text == "(":
		p.i++
		n, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, fmt.Errorf("%w: missing ')' for '(' at column %d", errCondition, t.pos+1)
		}
		p.i++
		return n, nil
	case t.text == ")":
		return nil, fmt.Errorf("%w: unexpected ')' at column %d", errCondition, t.pos+1)
	case t.text == "1" || strings.EqualFold(t.text, "all") || strings.EqualFold(t.text, "any"):
		if p.i+1 < len(p.toks) && strings.EqualFold(p.toks[p.i+1].text, "of") {
			if strings.EqualFold(t.text, "any") {
				return nil, fmt.Errorf("%w: 'any of' is not Sigma (write '1 of')", errCondition)
			}
			if p.i+2 >= len(p.toks) {
				return nil, fmt.Errorf("%w: %q of what?", errCondition, t.text)
			}
			pat := p.toks[p.i+2].text
			p.i += 3
			var ids []int
			if strings.EqualFold(pat, "them") {
				for i, id := range p.idents {
					if !strings.HasPrefix(id, "_") {
						ids = append(ids, i)
					}
				}
			} else {
				if isKeyword(pat) || pat == "(" || pat == ")" {
					return nil, fmt.Errorf("%w: bad pattern %q after 'of'", errCondition, pat)
				}
				for i, id := range p.idents {
					if ok, _ := path.Match(pat, id); ok && globIdentOK(pat) {
						ids = append(ids, i)
					}
				}
			}
			if len(ids) == 0 {
				return nil, fmt.Errorf("%w: %q matches no detection identifier", errCondition, pat)
			}
			op := nOneOf
			if t.text != "1" {
				op = nAllOf
			}
			return &node{op: op, idents: ids}, nil
		}
	}
	if isKeyword(t.text) {
		return nil, fmt.Errorf("%w: unexpected %q at column %d", errCondition, t.text, t.pos+1)
	}
	idx, ok := p.index[t.text]
	if !ok {
		return nil, fmt.Errorf("%w: unknown identifier %q", errCondition, t.text)
	}
	p.i++
	return &node{op: nIdent, ident: idx}, nil
}

// globIdentOK accepts patterns whose only special character is '*'
// (path.Match also knows '?', '[' and '\\', which Sigma does not).
func globIdentOK(pat string) bool {
	return !strings.ContainsAny(pat, "?[\\")
}

func isKeyword(s string) bool {
	switch strings.ToLower(s) {
	case "and", "or", "not", "of":
		return true
	}
	return false
}

// evalNode evaluates n; ident gives the truth of identifier i.
func evalNode(n *node, ident func(i int) bool) bool {
	switch n.op {
	case nIdent:
		return ident(n.ident)
	case nAnd:
		return evalNode(n.kids[0], ident) && evalNode(n.kids[1], ident)
	case nOr:
		return evalNode(n.kids[0], ident) || evalNode(n.kids[1], ident)
	case nNot:
		return !evalNode(n.kids[0], ident)
	case nOneOf:
		for _, i := range n.idents {
			if ident(i) {
				return true
			}
		}
		return false
	case nAllOf:
		for _, i := range n.idents {
			if !ident(i) {
				return false
			}
		}
		return true
	}
	return false
}

// positive calls fn for each identifier that holds true in a positive
// position (not under an odd number of nots) in a true subtree: the
// identifiers that explain why the condition is true.
func positive(n *node, ident func(i int) bool, neg bool, fn func(i int)) {
	switch n.op {
	case nIdent:
		if !neg && ident(n.ident) {
			fn(n.ident)
		}
	case nAnd, nOr:
		for _, k := range n.kids {
			if evalNode(k, ident) != neg {
				positive(k, ident, neg, fn)
			}
		}
	case nNot:
		positive(n.kids[0], ident, !neg, fn)
	case nOneOf, nAllOf:
		if neg {
			return
		}
		for _, i := range n.idents {
			if ident(i) {
				fn(i)
			}
		}
	}
}
