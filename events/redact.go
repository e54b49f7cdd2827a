package events

import (
	"encoding/json"
	"strconv"
	"strings"
)

// RedactedValue replaces every redacted value.
const RedactedValue = "[redacted]"

// Redactor masks configured fields in event bodies. A rule starting with
// "/" is a JSON pointer (RFC 6901) from the body's root, for example
// "/customFields/0/value"; any other rule is a field name masked at any
// depth, for example "ssn" or "dateOfBirth". The zero Redactor masks
// nothing.
type Redactor struct {
	pointers [][]string
	names    map[string]bool
}

// NewRedactor builds a Redactor from rules.
func NewRedactor(rules []string) *Redactor {
	r := &Redactor{names: map[string]bool{}}
	for _, rule := range rules {
		rule = strings.TrimSpace(rule)
		switch {
		case rule == "":
		case strings.HasPrefix(rule, "/"):
			var toks []string
			for _, t := range strings.Split(rule[1:], "/") {
				t = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
				toks = append(toks, t)
			}
			r.pointers = append(r.pointers, toks)
		default:
			r.names[rule] = true
		}
	}
	return r
}

// Redact returns body with the configured fields masked. Bodies that are
// not JSON come back unchanged: they hold no fields to find.
func (r *Redactor) Redact(body json.RawMessage) json.RawMessage {
	if r == nil || len(body) == 0 || (len(r.pointers) == 0 && len(r.names) == 0) {
		return body
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return body
	}
	v = r.byName(v)
	for _, p := range r.pointers {
		v = maskPointer(v, p)
	}
	out, err := json.Marshal(v)
	if err != nil {
		return body
	}
	return out
}

func (r *Redactor) byName(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			if r.names[k] {
				t[k] = RedactedValue
				continue
			}
			t[k] = r.byName(child)
		}
	case []any:
		for i, child := range t {
			t[i] = r.byName(child)
		}
	}
	return v
}

func maskPointer(v any, toks []string) any {
	if len(toks) == 0 {
		return RedactedValue
	}
	switch t := v.(type) {
	case map[string]any:
		if child, ok := t[toks[0]]; ok {
			t[toks[0]] = maskPointer(child, toks[1:])
		}
	case []any:
		if toks[0] == "*" {
			for i := range t {
				t[i] = maskPointer(t[i], toks[1:])
			}
			break
		}
		if i, err := strconv.Atoi(toks[0]); err == nil && i >= 0 && i < len(t) {
			t[i] = maskPointer(t[i], toks[1:])
		}
	}
	return v
}
