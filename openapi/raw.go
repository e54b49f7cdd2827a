package openapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The raw stage works on a generic tree (map[string]any, []any, string,
// float64, int64, bool, nil) so that quirks which make kin-openapi fail to
// unmarshal (a map under a schema's `examples`, say) can be repaired before
// kin sees the document, and so that overlays can be applied with JSONPath.

// errNotMapping is returned when a document's top level is not an object.
var errNotMapping = errors.New("top level is not an object")

// parseRaw decodes JSON or YAML (YAML is a superset, but JSON goes through
// encoding/json so that large numbers and escapes behave exactly as in JSON).
func parseRaw(data []byte) (map[string]any, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	var tree any
	var jsonErr error
	if len(trimmed) > 0 && trimmed[0] == '{' {
		jsonErr = json.Unmarshal(trimmed, &tree)
	}
	if len(trimmed) == 0 || trimmed[0] != '{' || jsonErr != nil {
		// Not JSON, or YAML flow style that only looks like it.
		var n yaml.Node
		err := yaml.Unmarshal(data, &n)
		var v any
		if err == nil {
			v, err = yamlValue(&n, 0)
		}
		switch {
		case err != nil && jsonErr != nil:
			return nil, fmt.Errorf("parse json: %w", jsonErr)
		case err != nil:
			return nil, fmt.Errorf("parse yaml: %w", err)
		}
		tree = v
	}
	m, ok := tree.(map[string]any)
	if !ok {
		return nil, errNotMapping
	}
	return m, nil
}

// yamlValue converts a YAML node into the generic tree. Timestamps stay the
// strings they were written as (an unquoted 2021-07-28 enum value must stay a
// string), non-string keys (a response code written as 200) become strings.
func yamlValue(n *yaml.Node, depth int) (any, error) {
	if depth > 1000 {
		return nil, errors.New("nesting too deep")
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return yamlValue(n.Content[0], depth+1)
	case yaml.AliasNode:
		return yamlValue(n.Alias, depth+1)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := yamlValue(c, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, vn := n.Content[i], n.Content[i+1]
			if k.Tag == "!!merge" {
				merged, err := yamlValue(vn, depth+1)
				if err != nil {
					return nil, err
				}
				mergeInto(out, merged)
				continue
			}
			v, err := yamlValue(vn, depth+1)
			if err != nil {
				return nil, err
			}
			out[k.Value] = v
		}
		return out, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return nil, err
			}
			return b, nil
		case "!!int":
			var i int64
			if err := n.Decode(&i); err == nil {
				return i, nil
			}
			var f float64
			if err := n.Decode(&f); err != nil {
				return nil, err
			}
			return f, nil
		case "!!float":
			var f float64
			if err := n.Decode(&f); err != nil {
				return nil, err
			}
			if math.IsInf(f, 0) || math.IsNaN(f) {
				return n.Value, nil
			}
			return f, nil
		default:
			return n.Value, nil
		}
	}
	return nil, fmt.Errorf("line %d: unsupported yaml node", n.Line)
}

// mergeInto applies a YAML merge key (<<): keys already set win.
func mergeInto(dst map[string]any, src any) {
	switch s := src.(type) {
	case map[string]any:
		for k, v := range s {
			if _, ok := dst[k]; !ok {
				dst[k] = v
			}
		}
	case []any:
		for _, e := range s {
			mergeInto(dst, e)
		}
	}
}

// escapePointer escapes one JSON pointer reference token (RFC 6901).
func escapePointer(tok string) string {
	if !strings.ContainsAny(tok, "~/") {
		return tok
	}
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
}

// ptr joins a pointer and more reference tokens.
func ptr(base string, toks ...string) string {
	var b strings.Builder
	b.WriteString(base)
	for _, t := range toks {
		b.WriteByte('/')
		b.WriteString(escapePointer(t))
	}
	return b.String()
}

// resolvePointer finds the value at a JSON pointer ("" or "/..." form) in tree.
func resolvePointer(tree any, pointer string) (any, bool) {
	if pointer == "" {
		return tree, true
	}
	if pointer[0] != '/' {
		return nil, false
	}
	cur := tree
	for _, tok := range strings.Split(pointer[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[tok]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// sortedKeys returns the keys of m in order, so that every walk over a
// document (and so every warning list) is deterministic.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}
