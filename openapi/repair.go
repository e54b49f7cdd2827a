package openapi

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// httpMethods are the operation keys of a Path Item, in the order ghlgate
// lists them.
var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// templateVar finds the {name} variables of a path template.
var templateVar = regexp.MustCompile(`\{([^{}/]+)\}`)

// rawRepairer fixes, in the generic tree of one file, the quirks that would
// stop kin-openapi from unmarshalling or validating it. Every fix is a
// Warning.
type rawRepairer struct {
	file string
	tree map[string]any
	warn []Warning
}

func (r *rawRepairer) warnf(pointer, format string, args ...any) {
	r.warn = append(r.warn, Warning{File: r.file, Pointer: pointer, Message: fmt.Sprintf(format, args...)})
}

func (r *rawRepairer) run() {
	r.securitySchemes()
	r.components()
	r.paths()
	r.operationIDs()
}

// securitySchemes drops `in` and `name` from http schemes: OpenAPI 3.0 does
// not allow them there (kin refuses), and an http bearer scheme already means
// the Authorization header.
func (r *rawRepairer) securitySchemes() {
	schemes := asMap(asMap(r.tree["components"])["securitySchemes"])
	for _, name := range sortedKeys(schemes) {
		s := asMap(schemes[name])
		if s == nil || asString(s["type"]) != "http" {
			continue
		}
		var dropped []string
		for _, k := range []string{"in", "name"} {
			if _, ok := s[k]; ok {
				dropped = append(dropped, k)
				delete(s, k)
			}
		}
		if len(dropped) > 0 {
			r.warnf(ptr("/components/securitySchemes", name, dropped[0]),
				"http security scheme carries %s (only apiKey schemes may); removed, an http scheme always uses the Authorization header",
				quoteJoin(dropped))
		}
	}
}

func quoteJoin(keys []string) string {
	q := make([]string, len(keys))
	for i, k := range keys {
		q[i] = fmt.Sprintf("%q", k)
	}
	return strings.Join(q, " and ")
}

func (r *rawRepairer) components() {
	comps := asMap(r.tree["components"])
	if comps == nil {
		return
	}
	schemas := asMap(comps["schemas"])
	for _, name := range sortedKeys(schemas) {
		r.schema(ptr("/components/schemas", name), schemas, name)
	}
	params := asMap(comps["parameters"])
	for _, name := range sortedKeys(params) {
		r.parameter(ptr("/components/parameters", name), params, name)
	}
	bodies := asMap(comps["requestBodies"])
	for _, name := range sortedKeys(bodies) {
		if r.refSiblings(ptr("/components/requestBodies", name), asMap(bodies[name])) {
			continue
		}
		r.content(ptr("/components/requestBodies", name, "content"), asMap(asMap(bodies[name])["content"]))
	}
	responses := asMap(comps["responses"])
	for _, name := range sortedKeys(responses) {
		r.response(ptr("/components/responses", name), asMap(responses[name]))
	}
	headers := asMap(comps["headers"])
	for _, name := range sortedKeys(headers) {
		r.parameter(ptr("/components/headers", name), headers, name)
	}
}

// refSiblings drops the keys beside a $ref (OpenAPI 3.0 ignores them, kin
// refuses them). It reports whether obj is a reference.
func (r *rawRepairer) refSiblings(pointer string, obj map[string]any) bool {
	if obj == nil {
		return false
	}
	if _, ok := obj["$ref"]; !ok {
		return false
	}
	if len(obj) > 1 {
		var keys []string
		for _, k := range sortedKeys(obj) {
			if k != "$ref" {
				keys = append(keys, k)
				delete(obj, k)
			}
		}
		r.warnf(pointer, "$ref has sibling keys %s, which OpenAPI 3.0 ignores; removed", strings.Join(keys, ", "))
	}
	return true
}

func (r *rawRepairer) parameter(pointer string, parent map[string]any, key string) {
	p := asMap(parent[key])
	if r.refSiblings(pointer, p) || p == nil {
		return
	}
	if _, ok := p["schema"]; ok {
		r.schema(ptr(pointer, "schema"), p, "schema")
	}
	r.content(ptr(pointer, "content"), asMap(p["content"]))
}

func (r *rawRepairer) content(pointer string, content map[string]any) {
	for _, mt := range sortedKeys(content) {
		m := asMap(content[mt])
		if m == nil {
			continue
		}
		if _, ok := m["schema"]; ok {
			r.schema(ptr(pointer, mt, "schema"), m, "schema")
		}
	}
}

func (r *rawRepairer) response(pointer string, resp map[string]any) {
	if r.refSiblings(pointer, resp) || resp == nil {
		return
	}
	r.content(ptr(pointer, "content"), asMap(resp["content"]))
	headers := asMap(resp["headers"])
	for _, h := range sortedKeys(headers) {
		r.parameter(ptr(pointer, "headers", h), headers, h)
	}
}

// schema repairs one Schema Object held at parent[key] and recurses into its
// subschemas.
func (r *rawRepairer) schema(pointer string, parent map[string]any, key string) {
	s := asMap(parent[key])
	if s == nil || r.refSiblings(pointer, s) {
		return
	}
	r.schemaExamples(pointer, s)
	switch t := s["type"].(type) {
	case string:
		if t == "any" {
			delete(s, "type")
			r.warnf(ptr(pointer, "type"), `type "any" is not an OpenAPI type; removed, so the schema accepts any value`)
		}
	case []any:
		// OpenAPI 3.1 style: type: [string, "null"].
		var kept []string
		nullable := false
		for _, e := range t {
			if es := asString(e); es == "null" {
				nullable = true
			} else if es != "" {
				kept = append(kept, es)
			}
		}
		delete(s, "type")
		if len(kept) == 1 {
			s["type"] = kept[0]
		}
		if nullable {
			s["nullable"] = true
		}
		r.warnf(ptr(pointer, "type"), "type is a list (OpenAPI 3.1); rewritten as %q%s", strings.Join(kept, "|"), map[bool]string{true: " with nullable", false: ""}[nullable])
	}
	if asString(s["type"]) == "array" {
		if _, ok := s["items"]; !ok {
			s["items"] = map[string]any{}
			r.warnf(pointer, "array schema without items; items set to {} (any value)")
		}
	}
	props := asMap(s["properties"])
	for _, name := range sortedKeys(props) {
		r.schema(ptr(pointer, "properties", name), props, name)
	}
	if _, ok := s["items"].(map[string]any); ok {
		r.schema(ptr(pointer, "items"), s, "items")
	}
	if _, ok := s["additionalProperties"].(map[string]any); ok {
		r.schema(ptr(pointer, "additionalProperties"), s, "additionalProperties")
	}
	if _, ok := s["not"].(map[string]any); ok {
		r.schema(ptr(pointer, "not"), s, "not")
	}
	for _, comb := range []string{"allOf", "anyOf", "oneOf"} {
		list := asSlice(s[comb])
		for i := range list {
			holder := map[string]any{"s": list[i]}
			r.schema(ptr(pointer, comb, fmt.Sprint(i)), holder, "s")
			list[i] = holder["s"]
		}
	}
}

// schemaExamples turns the OpenAPI 3.1 `examples` keyword of a schema into a
// 3.0 `example`. The list form only upsets kin's validator; the map form (a
// name → Example Object map, as some HighLevel files have) makes kin fail to
// unmarshal the whole document.
func (r *rawRepairer) schemaExamples(pointer string, s map[string]any) {
	ex, ok := s["examples"]
	if !ok {
		return
	}
	delete(s, "examples")
	_, hasExample := s["example"]
	var first any
	found := false
	form := "value"
	switch e := ex.(type) {
	case []any:
		form = "list"
		if len(e) > 0 {
			first, found = e[0], true
		}
	case map[string]any:
		form = "map"
		if keys := sortedKeys(e); len(keys) > 0 {
			first, found = e[keys[0]], true
			if m := asMap(first); m != nil {
				if v, ok := m["value"]; ok {
					first = v
				}
			}
		}
	default:
		first, found = e, true
	}
	if found && !hasExample {
		s["example"] = first
		r.warnf(ptr(pointer, "examples"), "schema uses the OpenAPI 3.1 examples keyword (%s form); its first example became example", form)
		return
	}
	r.warnf(ptr(pointer, "examples"), "schema uses the OpenAPI 3.1 examples keyword (%s form); removed", form)
}

func (r *rawRepairer) paths() {
	paths := asMap(r.tree["paths"])
	for _, path := range sortedKeys(paths) {
		item := asMap(paths[path])
		pp := ptr("/paths", path)
		if item == nil || r.refSiblings(pp, item) {
			continue
		}
		itemParams := asSlice(item["parameters"])
		r.parameterList(ptr(pp, "parameters"), itemParams)
		vars := templateVars(path)
		for _, m := range httpMethods {
			op := asMap(item[m])
			if op == nil {
				continue
			}
			op2 := ptr(pp, m)
			r.parameterList(ptr(op2, "parameters"), asSlice(op["parameters"]))
			if rb := asMap(op["requestBody"]); rb != nil && !r.refSiblings(ptr(op2, "requestBody"), rb) {
				r.content(ptr(op2, "requestBody", "content"), asMap(rb["content"]))
			}
			responses := asMap(op["responses"])
			for _, code := range sortedKeys(responses) {
				r.response(ptr(op2, "responses", code), asMap(responses[code]))
			}
			r.pathParams(op2, path, vars, item, op)
		}
	}
}

func (r *rawRepairer) parameterList(pointer string, list []any) {
	for i := range list {
		holder := map[string]any{"p": list[i]}
		r.parameter(ptr(pointer, fmt.Sprint(i)), holder, "p")
		list[i] = holder["p"]
	}
}

func templateVars(path string) []string {
	var vars []string
	for _, m := range templateVar.FindAllStringSubmatch(path, -1) {
		vars = append(vars, m[1])
	}
	return vars
}

// param resolves a parameter that may be a local $ref. It returns nil when it
// cannot tell (an external reference): the caller then assumes nothing.
func (r *rawRepairer) param(p any) map[string]any {
	m := asMap(p)
	if ref := asString(m["$ref"]); ref != "" {
		if !strings.HasPrefix(ref, "#") {
			return nil
		}
		v, _ := resolvePointer(r.tree, ref[1:])
		return asMap(v)
	}
	return m
}

// pathParams makes an operation's path parameters agree with its template:
// a variable without a parameter gets a required string one (HighLevel's
// {type} in /contacts/bulk/tags/update/{type}), a path parameter with no
// variable is dropped, and path parameters are made required. Without this
// kin refuses the document.
func (r *rawRepairer) pathParams(pointer, path string, vars []string, item, op map[string]any) {
	declared := map[string]bool{}
	unknown := false
	for _, list := range [][]any{asSlice(item["parameters"]), asSlice(op["parameters"])} {
		for _, p := range list {
			pm := r.param(p)
			if pm == nil {
				unknown = true
				continue
			}
			if asString(pm["in"]) == "path" {
				declared[asString(pm["name"])] = true
			}
		}
	}
	isVar := map[string]bool{}
	for _, v := range vars {
		isVar[v] = true
		if declared[v] || unknown {
			continue
		}
		params := asSlice(op["parameters"])
		params = append(params, map[string]any{
			"name":     v,
			"in":       "path",
			"required": true,
			"schema":   map[string]any{"type": "string"},
		})
		op["parameters"] = params
		declared[v] = true
		r.warnf(ptr(pointer, "parameters"), "path template variable {%s} of %s is not declared as a parameter; added a required string path parameter", v, path)
	}
	// Only the operation's own list is edited: a path-level parameter may be
	// shared with sibling operations through a $ref.
	params := asSlice(op["parameters"])
	kept := params[:0]
	for i, p := range params {
		pm := asMap(p)
		if _, isRef := pm["$ref"]; pm == nil || isRef || asString(pm["in"]) != "path" {
			kept = append(kept, p)
			continue
		}
		name := asString(pm["name"])
		if !isVar[name] {
			r.warnf(ptr(pointer, "parameters", fmt.Sprint(i)), "path parameter %q has no {%s} in %s; removed", name, name, path)
			continue
		}
		if req, _ := pm["required"].(bool); !req {
			pm["required"] = true
			r.warnf(ptr(pointer, "parameters", fmt.Sprint(i), "required"), "path parameter %q is not marked required; path parameters always are", name)
		}
		kept = append(kept, p)
	}
	if len(params) > 0 {
		op["parameters"] = kept
	}
}

// operationIDs renames duplicate operationIds (kin refuses them): the first in
// path order keeps its id, the others get a -2, -3 ... suffix.
func (r *rawRepairer) operationIDs() {
	paths := asMap(r.tree["paths"])
	seen := map[string]string{}
	taken := map[string]bool{}
	type loc struct {
		op      map[string]any
		pointer string
	}
	var all []loc
	for _, path := range sortedKeys(paths) {
		item := asMap(paths[path])
		for _, m := range httpMethods {
			if op := asMap(item[m]); op != nil {
				all = append(all, loc{op, ptr("/paths", path, m)})
				if id := asString(op["operationId"]); id != "" {
					taken[id] = true
				}
			}
		}
	}
	for _, l := range all {
		id := asString(l.op["operationId"])
		if id == "" {
			continue
		}
		first, dup := seen[id]
		if !dup {
			seen[id] = l.pointer
			continue
		}
		n := 2
		for taken[fmt.Sprintf("%s-%d", id, n)] {
			n++
		}
		newID := fmt.Sprintf("%s-%d", id, n)
		taken[newID] = true
		l.op["operationId"] = newID
		r.warnf(ptr(l.pointer, "operationId"), "operationId %q is also used at %s; renamed %q", id, first, newID)
	}
}

// collectRefs lists every $ref of a tree with the pointer where it sits.
// Example values are data, so a "$ref" key inside one is not a reference.
func collectRefs(v any, pointer, parentKey string, out *[]refSite) {
	switch t := v.(type) {
	case map[string]any:
		if ref, ok := t["$ref"].(string); ok {
			*out = append(*out, refSite{pointer: ptr(pointer, "$ref"), ref: ref})
		}
		for _, k := range sortedKeys(t) {
			if k == "$ref" || (k == "example" && parentKey != "properties") {
				continue
			}
			collectRefs(t[k], ptr(pointer, k), k, out)
		}
	case []any:
		for i, e := range t {
			collectRefs(e, ptr(pointer, fmt.Sprint(i)), parentKey, out)
		}
	}
}

type refSite struct {
	pointer string // where the $ref sits
	ref     string
}

// sortWarnings orders warnings by file then pointer, keeping the order of
// warnings at the same place.
func sortWarnings(ws []Warning) {
	sort.SliceStable(ws, func(i, j int) bool {
		if ws[i].File != ws[j].File {
			return ws[i].File < ws[j].File
		}
		return ws[i].Pointer < ws[j].Pointer
	})
}
