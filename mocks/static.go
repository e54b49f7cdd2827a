package mocks

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// StaticResponder answers, from a description alone, operations the mock
// has no semantics for. Respond reports false when it has no answer.
type StaticResponder interface {
	Respond(w http.ResponseWriter, r *http.Request) bool
}

// StaticHeader marks an answer made from the description, not from state
// (like Prism's static mode).
const StaticHeader = "X-Mock-Static"

// ErrNoPaths reports a description without paths.
var ErrNoPaths = errors.New("openapi document has no paths")

// SpecResponder is the StaticResponder built from an OpenAPI document.
type SpecResponder struct {
	ops []staticOp
}

type staticOp struct {
	method string
	segs   []string // "{...}" matches any one non-empty segment
	op     string
	status int
	body   []byte // nil: no content
}

// NewStaticResponder prepares one canned answer per operation: its lowest
// 2xx response, with the media type's example, else an example from its
// schema, else a body generated from the schema (examples that do not fit
// their schema, which GHL's documents have, are skipped). Paths are matched
// on their templates relative to the API root; the document's servers are
// ignored, which relativises them.
func NewStaticResponder(doc *openapi3.T) (*SpecResponder, error) {
	if doc == nil || doc.Paths == nil || doc.Paths.Len() == 0 {
		return nil, ErrNoPaths
	}
	s := &SpecResponder{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			status, resp := successResponse(op)
			if resp == nil {
				continue
			}
			so := staticOp{method: method, segs: splitPath(path), op: op.OperationID, status: status}
			if mt := resp.Content.Get("application/json"); mt != nil {
				body, err := json.Marshal(exampleOf(mt))
				if err != nil {
					return nil, fmt.Errorf("static answer of %s %s: %w", method, path, err)
				}
				so.body = body
			}
			s.ops = append(s.ops, so)
		}
	}
	// More literal segments first, so /contacts/search/duplicate beats
	// /contacts/{contactId}/tasks, as in the spec's own routing.
	slices.SortFunc(s.ops, func(a, b staticOp) int {
		if c := literals(b.segs) - literals(a.segs); c != 0 {
			return c
		}
		return strings.Compare(strings.Join(a.segs, "/"), strings.Join(b.segs, "/"))
	})
	return s, nil
}

// Respond answers r if an operation matches its method and path.
func (s *SpecResponder) Respond(w http.ResponseWriter, r *http.Request) bool {
	segs := splitPath(r.URL.Path)
	for _, op := range s.ops {
		if op.method != r.Method || !matchSegs(op.segs, segs) {
			continue
		}
		w.Header().Set(StaticHeader, "true")
		if op.body == nil {
			w.WriteHeader(op.status)
			return true
		}
		writeJSON(w, op.status, op.body)
		return true
	}
	return false
}

func splitPath(p string) []string { return strings.Split(strings.Trim(p, "/"), "/") }

func literals(segs []string) int {
	n := 0
	for _, s := range segs {
		if !strings.HasPrefix(s, "{") {
			n++
		}
	}
	return n
}

func matchSegs(tmpl, segs []string) bool {
	if len(tmpl) != len(segs) {
		return false
	}
	for i, t := range tmpl {
		if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
			if segs[i] == "" {
				return false
			}
			continue
		}
		if t != segs[i] {
			return false
		}
	}
	return true
}

func successResponse(op *openapi3.Operation) (int, *openapi3.Response) {
	best, bestStatus := (*openapi3.Response)(nil), 0
	if op.Responses == nil {
		return 0, nil
	}
	for code, ref := range op.Responses.Map() {
		n, err := strconv.Atoi(code)
		if err != nil || n < 200 || n > 299 || ref == nil || ref.Value == nil {
			continue
		}
		if best == nil || n < bestStatus {
			best, bestStatus = ref.Value, n
		}
	}
	return bestStatus, best
}

func exampleOf(mt *openapi3.MediaType) any {
	if mt.Example != nil {
		return mt.Example
	}
	for _, name := range sortedKeys(mt.Examples) {
		if ex := mt.Examples[name]; ex != nil && ex.Value != nil && ex.Value.Value != nil {
			return ex.Value.Value
		}
	}
	if mt.Schema == nil || mt.Schema.Value == nil {
		return map[string]any{}
	}
	return generate(mt.Schema.Value, 0)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// generate makes a value that satisfies schema, preferring its example and
// default when they themselves satisfy it.
func generate(schema *openapi3.Schema, depth int) any {
	if depth > 8 {
		return nil
	}
	for _, candidate := range []any{schema.Example, schema.Default} {
		if candidate != nil && schema.VisitJSON(candidate) == nil {
			return candidate
		}
	}
	if len(schema.Enum) > 0 {
		return schema.Enum[0]
	}
	if len(schema.AllOf) > 0 {
		out := map[string]any{}
		for _, sub := range schema.AllOf {
			if sub.Value == nil {
				continue
			}
			if m, ok := generate(sub.Value, depth+1).(map[string]any); ok {
				for k, v := range m {
					out[k] = v
				}
			}
		}
		return out
	}
	for _, alts := range [][]*openapi3.SchemaRef{schema.OneOf, schema.AnyOf} {
		if len(alts) > 0 && alts[0].Value != nil {
			return generate(alts[0].Value, depth+1)
		}
	}
	switch {
	case schema.Type.Includes("object") || len(schema.Properties) > 0:
		out := map[string]any{}
		for _, name := range sortedKeys(schema.Properties) {
			if p := schema.Properties[name]; p != nil && p.Value != nil {
				if v := generate(p.Value, depth+1); v != nil || p.Value.Nullable {
					out[name] = v
				}
			}
		}
		return out
	case schema.Type.Includes("array"):
		if schema.Items == nil || schema.Items.Value == nil {
			return []any{}
		}
		if v := generate(schema.Items.Value, depth+1); v != nil {
			return []any{v}
		}
		return []any{}
	case schema.Type.Includes("string"):
		if schema.Format == "date-time" {
			return "2021-07-02T05:18:26.704Z"
		}
		return "string"
	case schema.Type.Includes("integer"), schema.Type.Includes("number"):
		if schema.Min != nil {
			return *schema.Min
		}
		return 0
	case schema.Type.Includes("boolean"):
		return true
	}
	return nil
}
