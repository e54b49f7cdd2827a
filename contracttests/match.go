package contracttests

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
)

// datetimeLayouts are the named layouts of the datetime matcher; any other
// value is a Go layout.
var datetimeLayouts = map[string]string{
	"iso8601": time.RFC3339Nano,
	"rfc3339": time.RFC3339Nano,
	"date":    time.DateOnly,
}

// matchEnv is what matchers need besides the value: variables for expected
// values, and the spec's schemas for the schema matcher.
type matchEnv struct {
	scope   *scope
	schemas openapi3.Schemas
}

// mismatch says why a value failed a matcher.
type mismatch struct {
	Expected, Actual string
}

// checkNodes applies m to what a JSONPath selected. present:false wants
// nothing; present:true wants something. Otherwise a singular path
// ($.contact.id) must select its node, while a wildcard or filter
// ($.contacts[*].id) checks each node it selects and holds vacuously for
// none, like Pact's eachValue. It returns the offending node's location
// ("" for the path itself).
func (m *Matcher) checkNodes(env *matchEnv, nodes []any, locs []string, singular bool) (loc string, mm *mismatch) {
	if m.Present != nil && !*m.Present {
		if len(nodes) > 0 {
			return locs[0], &mismatch{Expected: "absent", Actual: "present: " + show(nodes[0])}
		}
		return "", nil
	}
	if len(nodes) == 0 {
		if !singular && m.Present == nil {
			return "", nil
		}
		return "", &mismatch{Expected: m.describe(), Actual: "absent"}
	}
	for i, n := range nodes {
		if mm := m.check(env, n); mm != nil {
			return locs[i], mm
		}
	}
	return "", nil
}

// check applies every check of m to one value.
func (m *Matcher) check(env *matchEnv, v any) *mismatch {
	if m.Equals != nil {
		want, err := env.scope.expandValue(m.equals)
		if err != nil {
			return &mismatch{Expected: string(m.Equals), Actual: err.Error()}
		}
		if !jsonEqual(want, v) {
			return &mismatch{Expected: show(want), Actual: show(v)}
		}
	}
	if m.Like != nil {
		if why := like(m.like, v, "$"); why != "" {
			return &mismatch{Expected: "like " + show(m.like), Actual: why}
		}
	}
	if m.Type != "" && jsonType(v, m.Type == "integer") != m.Type {
		return &mismatch{Expected: "type " + m.Type, Actual: jsonType(v, m.Type == "integer") + " " + show(v)}
	}
	if m.re != nil {
		s, ok := v.(string)
		if !ok || !m.re.MatchString(s) {
			return &mismatch{Expected: "regex " + m.Regex, Actual: show(v)}
		}
	}
	if m.Datetime != "" {
		layout, ok := datetimeLayouts[m.Datetime]
		if !ok {
			layout = m.Datetime
		}
		s, isStr := v.(string)
		if !isStr {
			return &mismatch{Expected: "datetime " + m.Datetime, Actual: show(v)}
		}
		if _, err := time.Parse(layout, s); err != nil {
			return &mismatch{Expected: "datetime " + m.Datetime, Actual: show(v)}
		}
	}
	if m.Include != nil {
		want, err := env.scope.expandValue(m.incl)
		if err != nil {
			return &mismatch{Expected: "include " + string(m.Include), Actual: err.Error()}
		}
		if !includes(v, want) {
			return &mismatch{Expected: "include " + show(want), Actual: show(v)}
		}
	}
	if len(m.OneOf) > 0 {
		opts, err := env.scope.expandValue(m.OneOf)
		if err != nil {
			return &mismatch{Expected: "one of " + show(m.OneOf), Actual: err.Error()}
		}
		found := false
		for _, o := range opts.([]any) {
			found = found || jsonEqual(normalize(o), v)
		}
		if !found {
			return &mismatch{Expected: "one of " + show(opts), Actual: show(v)}
		}
	}
	if m.Range != nil {
		f, ok := v.(float64)
		if !ok || (m.Range.Min != nil && f < *m.Range.Min) || (m.Range.Max != nil && f > *m.Range.Max) {
			return &mismatch{Expected: "number in " + m.Range.String(), Actual: show(v)}
		}
	}
	if m.Length != nil || m.MinLength != nil || m.MaxLength != nil {
		n, ok := lengthOf(v)
		switch {
		case !ok:
			return &mismatch{Expected: m.lengthText(), Actual: jsonType(v, false) + " " + show(v)}
		case m.Length != nil && n != *m.Length,
			m.MinLength != nil && n < *m.MinLength,
			m.MaxLength != nil && n > *m.MaxLength:
			return &mismatch{Expected: m.lengthText(), Actual: fmt.Sprintf("length %d", n)}
		}
	}
	if m.EachValue != nil {
		items, ok := itemsOf(v)
		if !ok {
			return &mismatch{Expected: "array or object (eachValue)", Actual: show(v)}
		}
		for i, it := range items {
			if mm := m.EachValue.check(env, it.v); mm != nil {
				return &mismatch{Expected: fmt.Sprintf("each value %s; item %s: %s", m.EachValue.describe(), items[i].key, mm.Expected), Actual: mm.Actual}
			}
		}
	}
	if m.EachLike != nil {
		arr, ok := v.([]any)
		if !ok || len(arr) == 0 {
			return &mismatch{Expected: "non-empty array, each like " + show(m.eachLk), Actual: show(v)}
		}
		for i, it := range arr {
			if why := like(m.eachLk, it, fmt.Sprintf("[%d]", i)); why != "" {
				return &mismatch{Expected: "each like " + show(m.eachLk), Actual: why}
			}
		}
	}
	if m.Schema != "" {
		ref := env.schemas[m.Schema]
		if ref == nil || ref.Value == nil {
			return &mismatch{Expected: "schema " + m.Schema, Actual: "the spec has no components/schemas/" + m.Schema}
		}
		if err := ref.Value.VisitJSON(v, openapi3.MultiErrors()); err != nil {
			return &mismatch{Expected: "schema " + m.Schema, Actual: firstLine(err.Error())}
		}
	}
	return nil
}

// describe is a short text of what the matcher wants.
func (m *Matcher) describe() string {
	var parts []string
	add := func(s string) { parts = append(parts, s) }
	if m.Equals != nil {
		add(compact(m.Equals))
	}
	if m.Like != nil {
		add("like " + compact(m.Like))
	}
	if m.Type != "" {
		add("type " + m.Type)
	}
	if m.Regex != "" {
		add("regex " + m.Regex)
	}
	if m.Datetime != "" {
		add("datetime " + m.Datetime)
	}
	if m.Include != nil {
		add("include " + compact(m.Include))
	}
	if m.Present != nil {
		add(fmt.Sprintf("present %v", *m.Present))
	}
	if len(m.OneOf) > 0 {
		add("one of " + show(m.OneOf))
	}
	if m.Range != nil {
		add("number in " + m.Range.String())
	}
	if m.Length != nil || m.MinLength != nil || m.MaxLength != nil {
		add(m.lengthText())
	}
	if m.EachValue != nil {
		add("each value " + m.EachValue.describe())
	}
	if m.EachLike != nil {
		add("each like " + compact(m.EachLike))
	}
	if m.Schema != "" {
		add("schema " + m.Schema)
	}
	return strings.Join(parts, ", ")
}

func (m *Matcher) lengthText() string {
	switch {
	case m.Length != nil:
		return fmt.Sprintf("length %d", *m.Length)
	case m.MinLength != nil && m.MaxLength != nil:
		return fmt.Sprintf("length %d..%d", *m.MinLength, *m.MaxLength)
	case m.MinLength != nil:
		return fmt.Sprintf("length >= %d", *m.MinLength)
	}
	return fmt.Sprintf("length <= %d", *m.MaxLength)
}

func (r *Range) String() string {
	lo, hi := "-inf", "+inf"
	if r.Min != nil {
		lo = fmt.Sprint(*r.Min)
	}
	if r.Max != nil {
		hi = fmt.Sprint(*r.Max)
	}
	return "[" + lo + ", " + hi + "]"
}

// jsonType names a decoded JSON value's type; with wantInt a whole number
// is "integer".
func jsonType(v any, wantInt bool) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		if wantInt && t == math.Trunc(t) {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// like is Pact's type matching: same JSON type; an object has every key of
// the example, each like its value; an array's items are each like the
// example's first item. It returns "" when v is like ex.
func like(ex, v any, at string) string {
	if jsonType(ex, false) != jsonType(v, false) {
		return fmt.Sprintf("%s is %s %s, want %s", at, jsonType(v, false), show(v), jsonType(ex, false))
	}
	switch e := ex.(type) {
	case map[string]any:
		o := v.(map[string]any)
		for _, k := range sortedKeys(e) {
			x, ok := o[k]
			if !ok {
				return fmt.Sprintf("%s.%s is absent", at, k)
			}
			if why := like(e[k], x, at+"."+k); why != "" {
				return why
			}
		}
	case []any:
		if len(e) == 0 {
			return ""
		}
		for i, x := range v.([]any) {
			if why := like(e[0], x, fmt.Sprintf("%s[%d]", at, i)); why != "" {
				return why
			}
		}
	}
	return ""
}

// includes: a substring of a string; items an array contains; a sub-object
// of an object.
func includes(v, want any) bool {
	switch t := v.(type) {
	case string:
		w, ok := want.(string)
		return ok && strings.Contains(t, w)
	case []any:
		wants, isList := want.([]any)
		if !isList {
			wants = []any{want}
		}
		for _, w := range wants {
			found := false
			for _, x := range t {
				if jsonEqual(normalize(w), x) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	case map[string]any:
		w, ok := want.(map[string]any)
		if !ok {
			return false
		}
		for k, x := range w {
			if y, present := t[k]; !present || !jsonEqual(normalize(x), y) {
				return false
			}
		}
		return true
	}
	return false
}

type item struct {
	key string
	v   any
}

func itemsOf(v any) ([]item, bool) {
	switch t := v.(type) {
	case []any:
		out := make([]item, len(t))
		for i, x := range t {
			out[i] = item{fmt.Sprintf("[%d]", i), x}
		}
		return out, true
	case map[string]any:
		out := make([]item, 0, len(t))
		for _, k := range sortedKeys(t) {
			out = append(out, item{"." + k, t[k]})
		}
		return out, true
	}
	return nil, false
}

func lengthOf(v any) (int, bool) {
	switch t := v.(type) {
	case []any:
		return len(t), true
	case string:
		return utf8.RuneCountInString(t), true
	case map[string]any:
		return len(t), true
	}
	return 0, false
}

// normalize turns a Go value into what encoding/json decodes (float64
// numbers), so expected and actual compare equal.
func normalize(v any) any {
	switch v.(type) {
	case nil, bool, float64, string:
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

func jsonEqual(want, got any) bool { return reflect.DeepEqual(normalize(want), got) }

// show renders a value compactly for messages, capped.
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return capText(string(b), 300)
}

func compact(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	return show(v)
}

func capText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
