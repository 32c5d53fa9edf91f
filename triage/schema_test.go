package triage

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
)

// validate checks a decoded JSON value against the subset of JSON Schema
// that export.schema.json uses: type (name or list), properties, required,
// additionalProperties (bool or schema), items, enum, minimum, $ref to
// #/$defs/NAME, and annotations (title, description, $schema, $id, $defs).
// Any other keyword is an error, so the schema cannot silently use
// something this validator ignores. It returns every violation found.
func validate(schema map[string]any, v any) []string {
	vd := &validator{root: schema}
	vd.check(schema, v, "$")
	sort.Strings(vd.errs)
	return vd.errs
}

type validator struct {
	root map[string]any
	errs []string
}

func (vd *validator) fail(path, format string, a ...any) {
	vd.errs = append(vd.errs, path+": "+fmt.Sprintf(format, a...))
}

var knownKeywords = map[string]bool{
	"type": true, "properties": true, "required": true, "additionalProperties": true, "items": true,
	"enum": true, "minimum": true, "$ref": true, "title": true, "description": true, "$schema": true,
	"$id": true, "$defs": true,
}

func typeOf(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		if x == math.Trunc(x) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func (vd *validator) check(s map[string]any, v any, path string) {
	for k := range s {
		if !knownKeywords[k] {
			vd.fail(path, "schema keyword %q not supported by the test validator", k)
		}
	}
	if ref, ok := s["$ref"].(string); ok {
		name, found := strings.CutPrefix(ref, "#/$defs/")
		defs, _ := vd.root["$defs"].(map[string]any)
		sub, _ := defs[name].(map[string]any)
		if !found || sub == nil {
			vd.fail(path, "unresolvable $ref %q", ref)
			return
		}
		vd.check(sub, v, path)
		return
	}
	if t, ok := s["type"]; ok {
		var allowed []string
		switch tt := t.(type) {
		case string:
			allowed = []string{tt}
		case []any:
			for _, x := range tt {
				allowed = append(allowed, x.(string))
			}
		}
		got := typeOf(v)
		match := false
		for _, a := range allowed {
			if a == got || (a == "number" && got == "integer") {
				match = true
			}
		}
		if !match {
			vd.fail(path, "type %s, want %v", got, allowed)
			return
		}
	}
	if e, ok := s["enum"].([]any); ok {
		found := false
		for _, x := range e {
			if x == v {
				found = true
			}
		}
		if !found {
			vd.fail(path, "value %v not in enum %v", v, e)
		}
	}
	if m, ok := s["minimum"].(float64); ok {
		if n, isNum := v.(float64); isNum && n < m {
			vd.fail(path, "%v below minimum %v", n, m)
		}
	}
	switch x := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		if req, ok := s["required"].([]any); ok {
			for _, r := range req {
				if _, present := x[r.(string)]; !present {
					vd.fail(path, "missing required %q", r)
				}
			}
		}
		for k, val := range x {
			if ps, ok := props[k].(map[string]any); ok {
				vd.check(ps, val, path+"."+k)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					vd.fail(path, "unexpected property %q", k)
				}
			case map[string]any:
				vd.check(ap, val, path+"."+k)
			}
		}
	case []any:
		if it, ok := s["items"].(map[string]any); ok {
			for i, val := range x {
				vd.check(it, val, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
}

// decodeSchema parses the embedded schema.
func decodeSchema() (map[string]any, error) {
	var s map[string]any
	err := json.Unmarshal(Schema(), &s)
	return s, err
}
