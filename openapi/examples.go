package openapi

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// exampleChecker validates every example against its schema, one warning per
// contradicting example, and drops it: the mock serves examples, and one that
// contradicts its own schema would fail response validation.
type exampleChecker struct {
	l    *loader
	seen map[*openapi3.Schema]bool
}

func (l *loader) checkExamples(doc *openapi3.T) {
	c := &exampleChecker{l: l, seen: map[*openapi3.Schema]bool{}}
	if doc.Components != nil {
		for _, name := range sortedKeysOf(doc.Components.Schemas) {
			c.schemaRef(l.root, ptr("/components/schemas", name), doc.Components.Schemas[name])
		}
		for _, name := range sortedKeysOf(doc.Components.Parameters) {
			if p := doc.Components.Parameters[name]; p != nil && p.Ref == "" {
				c.parameter(l.root, ptr("/components/parameters", name), p.Value)
			}
		}
		for _, name := range sortedKeysOf(doc.Components.RequestBodies) {
			if b := doc.Components.RequestBodies[name]; b != nil && b.Ref == "" && b.Value != nil {
				c.content(l.root, ptr("/components/requestBodies", name, "content"), b.Value.Content)
			}
		}
		for _, name := range sortedKeysOf(doc.Components.Responses) {
			if r := doc.Components.Responses[name]; r != nil && r.Ref == "" && r.Value != nil {
				c.content(l.root, ptr("/components/responses", name, "content"), r.Value.Content)
			}
		}
	}
	if doc.Paths == nil {
		return
	}
	for _, p := range sortedStrings(doc.Paths.Keys()) {
		item := doc.Paths.Value(p)
		pp := ptr("/paths", p)
		for i, pr := range item.Parameters {
			if pr != nil && pr.Ref == "" {
				c.parameter(l.root, ptr(pp, "parameters", fmt.Sprint(i)), pr.Value)
			}
		}
		for _, m := range httpMethods {
			op := item.GetOperation(strings.ToUpper(m))
			if op == nil {
				continue
			}
			op2 := ptr(pp, m)
			for i, pr := range op.Parameters {
				if pr != nil && pr.Ref == "" {
					c.parameter(l.root, ptr(op2, "parameters", fmt.Sprint(i)), pr.Value)
				}
			}
			if op.RequestBody != nil && op.RequestBody.Ref == "" && op.RequestBody.Value != nil {
				c.content(l.root, ptr(op2, "requestBody", "content"), op.RequestBody.Value.Content)
			}
			if op.Responses != nil {
				for _, code := range sortedStrings(keysOfResponses(op.Responses)) {
					r := op.Responses.Value(code)
					if r != nil && r.Ref == "" && r.Value != nil {
						c.content(l.root, ptr(op2, "responses", code, "content"), r.Value.Content)
					}
				}
			}
		}
	}
}

func keysOfResponses(r *openapi3.Responses) []string {
	var out []string
	for k := range r.Map() {
		out = append(out, k)
	}
	return out
}

// schemaRef checks a schema; a local $ref is checked where it is defined
// (under components), an external one once, in its own file.
func (c *exampleChecker) schemaRef(file, pointer string, sr *openapi3.SchemaRef) {
	if sr == nil || sr.Value == nil {
		return
	}
	if sr.Ref != "" {
		if strings.HasPrefix(sr.Ref, "#") {
			return
		}
		filePart, frag, _ := strings.Cut(sr.Ref, "#")
		file, pointer = join(file, filePart), frag
	}
	s := sr.Value
	if c.seen[s] {
		return
	}
	c.seen[s] = true
	if s.Example != nil {
		if err := s.VisitJSON(s.Example); err != nil {
			c.l.warnf(file, ptr(pointer, "example"), "example %s does not match its schema (%s); dropped", short(s.Example), firstLine(err))
			s.Example = nil
		}
	}
	for _, name := range sortedKeysOf(s.Properties) {
		c.schemaRef(file, ptr(pointer, "properties", name), s.Properties[name])
	}
	c.schemaRef(file, ptr(pointer, "items"), s.Items)
	if s.AdditionalProperties.Schema != nil {
		c.schemaRef(file, ptr(pointer, "additionalProperties"), s.AdditionalProperties.Schema)
	}
	c.schemaRef(file, ptr(pointer, "not"), s.Not)
	for comb, list := range map[string]openapi3.SchemaRefs{"allOf": s.AllOf, "anyOf": s.AnyOf, "oneOf": s.OneOf} {
		for i, e := range list {
			c.schemaRef(file, ptr(pointer, comb, fmt.Sprint(i)), e)
		}
	}
}

func (c *exampleChecker) parameter(file, pointer string, p *openapi3.Parameter) {
	if p == nil {
		return
	}
	c.schemaRef(file, ptr(pointer, "schema"), p.Schema)
	if p.Schema != nil && p.Schema.Value != nil {
		if p.Example != nil && !c.fits(file, ptr(pointer, "example"), p.Schema.Value, p.Example) {
			p.Example = nil
		}
		for _, name := range sortedKeysOf(p.Examples) {
			if e := p.Examples[name]; e != nil && e.Value != nil && e.Value.Value != nil &&
				!c.fits(file, ptr(pointer, "examples", name, "value"), p.Schema.Value, e.Value.Value) {
				delete(p.Examples, name)
			}
		}
	}
	c.content(file, ptr(pointer, "content"), p.Content)
}

func (c *exampleChecker) content(file, pointer string, content openapi3.Content) {
	for _, mt := range sortedKeysOf(content) {
		m := content[mt]
		if m == nil {
			continue
		}
		mp := ptr(pointer, mt)
		c.schemaRef(file, ptr(mp, "schema"), m.Schema)
		if m.Schema == nil || m.Schema.Value == nil {
			continue
		}
		if m.Example != nil && !c.fits(file, ptr(mp, "example"), m.Schema.Value, m.Example) {
			m.Example = nil
		}
		for _, name := range sortedKeysOf(m.Examples) {
			if e := m.Examples[name]; e != nil && e.Value != nil && e.Value.Value != nil &&
				!c.fits(file, ptr(mp, "examples", name, "value"), m.Schema.Value, e.Value.Value) {
				delete(m.Examples, name)
			}
		}
	}
}

func (c *exampleChecker) fits(file, pointer string, s *openapi3.Schema, v any) bool {
	if err := s.VisitJSON(v); err != nil {
		c.l.warnf(file, pointer, "example %s does not match its schema (%s); dropped", short(v), firstLine(err))
		return false
	}
	return true
}

func firstLine(err error) string {
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return msg
}

// short renders a value for a warning, cut to a readable length.
func short(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(fmt.Sprint(v))
	}
	s := string(b)
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}
