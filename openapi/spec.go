package openapi

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
)

// Spec is a loaded, repaired and compiled OpenAPI document. It is read-only
// once returned.
type Spec struct {
	Doc        *openapi3.T
	Warnings   []Warning
	Operations []*Operation // sorted by path, then method
	Source     string       // the file it was loaded from (EmbeddedName for Default)

	root *node
	byID map[string]*Operation
}

// LocationSource says where a request carries the HighLevel locationId.
type LocationSource int

const (
	// LocationNone: the operation takes no locationId; the location comes
	// from the token (every /contacts/{contactId}/... operation).
	LocationNone LocationSource = iota
	// LocationQuery: a locationId query parameter (GET /contacts/, ...).
	LocationQuery
	// LocationBody: a locationId property of the JSON request body
	// (POST /contacts/, upsert, the bulk operations).
	LocationBody
)

func (l LocationSource) String() string {
	switch l {
	case LocationQuery:
		return "query"
	case LocationBody:
		return "body"
	}
	return "none"
}

// Operation is one compiled operation of a Spec.
type Operation struct {
	ID, Method, Path string // Path is the spec template, e.g. "/contacts/{contactId}"

	// Scopes has one entry per security requirement alternative: the scopes of
	// all schemes in it, merged, sorted, deduplicated. An empty entry means an
	// alternative with no scope (anonymous access, `{}`). Scopes is nil when
	// HasSecurity is false, and empty (not nil) for an explicit `security: []`.
	Scopes [][]string
	// HasSecurity is false when neither the operation nor the document declares
	// security (HighLevel's two bulk operations in the official file).
	HasSecurity bool
	Deprecated  bool

	Op    *openapi3.Operation
	Route *routers.Route // ready for openapi3filter.RequestValidationInput

	// PathParams are the template's variable names, in order.
	PathParams []string
	// Location says where the request carries locationId, and
	// LocationRequired whether the spec requires it there.
	Location         LocationSource
	LocationRequired bool
	// Tag is the operation's first tag ("Contacts", "Tasks", "Notes", ...),
	// "" when it has none.
	Tag string
}

// Operation returns the operation with this operationId, or nil.
func (s *Spec) Operation(id string) *Operation { return s.byID[id] }

func sortedKeysOf[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

func sortedStrings(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}

func methodRank(m string) int {
	for i, h := range httpMethods {
		if strings.EqualFold(h, m) {
			return i
		}
	}
	return len(httpMethods)
}

// notice reports the quirks that need no repair but change how the gateway
// treats an operation.
func (l *loader) notice(doc *openapi3.T) {
	if doc.Paths == nil {
		return
	}
	schemes := openapi3.SecuritySchemes{}
	if doc.Components != nil && doc.Components.SecuritySchemes != nil {
		schemes = doc.Components.SecuritySchemes
	}
	scoped := map[string]int{}
	firstScoped := map[string]string{}
	for _, p := range sortedStrings(doc.Paths.Keys()) {
		item := doc.Paths.Value(p)
		pp := ptr("/paths", p)
		if len(p) > 1 && strings.HasSuffix(p, "/") {
			l.warnf(l.root, pp, "path ends with a slash; it is matched with and without it")
		}
		for _, m := range httpMethods {
			op := item.GetOperation(strings.ToUpper(m))
			if op == nil {
				continue
			}
			op2 := ptr(pp, m)
			sec := op.Security
			if sec == nil {
				sec = &doc.Security
				if doc.Security == nil {
					l.warnf(l.root, op2, "operation declares no security and the document has no global security; served without a scope requirement")
				}
			}
			for _, req := range *sec {
				for name, scopes := range req {
					ref := schemes[name]
					if len(scopes) > 0 && ref != nil && ref.Value != nil && ref.Value.Type != "oauth2" && ref.Value.Type != "openIdConnect" {
						if scoped[name] == 0 {
							firstScoped[name] = op2
						}
						scoped[name]++
					}
				}
			}
			if op.RequestBody != nil && (m == "delete" || m == "get" || m == "head") {
				l.warnf(l.root, ptr(op2, "requestBody"), "requestBody on %s, which HTTP gives no meaning; kept and validated when sent", strings.ToUpper(m))
			}
			for i, pr := range op.Parameters {
				if pr == nil || pr.Value == nil || pr.Value.In != "header" {
					continue
				}
				switch strings.ToLower(pr.Value.Name) {
				case "authorization", "accept", "content-type":
					l.warnf(l.root, ptr(op2, "parameters", fmt.Sprint(i)), "header parameter %q is ignored by OpenAPI 3.0", pr.Value.Name)
				}
			}
		}
	}
	for _, name := range sortedKeysOf(scoped) {
		l.warnf(l.root, ptr("/components/securitySchemes", name),
			"%d security requirements list scopes on this %s scheme (OpenAPI 3.0 allows scopes only for oauth2 and openIdConnect; first at %s); kept as the scope source",
			scoped[name], schemes[name].Value.Type, firstScoped[name])
	}
}

// compile builds the operations and the matcher.
func (s *Spec) compile(l *loader) {
	s.byID = map[string]*Operation{}
	s.root = &node{}
	var server *openapi3.Server
	if len(s.Doc.Servers) > 0 {
		server = s.Doc.Servers[0]
	}
	if s.Doc.Paths == nil {
		return
	}
	for _, p := range sortedStrings(s.Doc.Paths.Keys()) {
		item := s.Doc.Paths.Value(p)
		for _, m := range httpMethods {
			op := item.GetOperation(strings.ToUpper(m))
			if op == nil {
				continue
			}
			o := &Operation{
				ID:         op.OperationID,
				Method:     strings.ToUpper(m),
				Path:       p,
				Deprecated: op.Deprecated,
				Op:         op,
				Route: &routers.Route{
					Spec: s.Doc, Server: server, Path: p, PathItem: item,
					Method: strings.ToUpper(m), Operation: op,
				},
				PathParams: templateVars(p),
			}
			if len(op.Tags) > 0 {
				o.Tag = op.Tags[0]
			}
			sec := op.Security
			if sec == nil && s.Doc.Security != nil {
				sec = &s.Doc.Security
			}
			if sec != nil {
				o.HasSecurity = true
				o.Scopes = make([][]string, 0, len(*sec))
				for _, req := range *sec {
					merged := []string{}
					for _, scopes := range req {
						merged = append(merged, scopes...)
					}
					slices.Sort(merged)
					o.Scopes = append(o.Scopes, slices.Compact(merged))
				}
			}
			o.Location, o.LocationRequired = locationOf(item, op)
			if o.ID == "" {
				o.ID = strings.ToLower(m) + " " + p
			}
			s.Operations = append(s.Operations, o)
			if _, dup := s.byID[o.ID]; !dup {
				s.byID[o.ID] = o
			}
			if clash := s.root.insert(o); clash != nil {
				l.warnf(l.root, ptr("/paths", p, m), "%s %s matches the same requests as %s %s, which wins", o.Method, p, clash.Method, clash.Path)
			}
		}
	}
	s.overlaps(l)
}

// locationOf finds where an operation takes locationId.
func locationOf(item *openapi3.PathItem, op *openapi3.Operation) (LocationSource, bool) {
	for _, list := range []openapi3.Parameters{op.Parameters, item.Parameters} {
		for _, p := range list {
			if p != nil && p.Value != nil && p.Value.In == "query" && p.Value.Name == "locationId" {
				return LocationQuery, p.Value.Required
			}
		}
	}
	if op.RequestBody == nil || op.RequestBody.Value == nil {
		return LocationNone, false
	}
	mt := op.RequestBody.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return LocationNone, false
	}
	sch := mt.Schema.Value
	if _, ok := sch.Properties["locationId"]; ok {
		return LocationBody, slices.Contains(sch.Required, "locationId")
	}
	return LocationNone, false
}

// overlaps warns about a literal and a templated path that can match the same
// request with the same method (the literal wins).
func (s *Spec) overlaps(l *loader) {
	for i, a := range s.Operations {
		for _, b := range s.Operations[i+1:] {
			if a.Method != b.Method || a.Path == b.Path {
				continue
			}
			if win, ok := overlap(a.Path, b.Path); ok {
				wo, lo := a, b
				if win != a.Path {
					wo, lo = b, a
				}
				l.warnf(l.root, ptr("/paths", lo.Path, strings.ToLower(lo.Method)),
					"%s %s overlaps %s %s: the literal segment wins, so %s goes to %s",
					lo.Method, lo.Path, wo.Method, wo.Path, literalExample(wo.Path), wo.ID)
			}
		}
	}
}

// overlap reports whether two templates can match one path; win is the one
// the matcher prefers (its first differing segment is literal).
func overlap(a, b string) (win string, ok bool) {
	as, bs := splitTemplate(a), splitTemplate(b)
	if len(as) != len(bs) {
		return "", false
	}
	win = ""
	for i := range as {
		av, bv := strings.Contains(as[i], "{"), strings.Contains(bs[i], "{")
		switch {
		case !av && !bv:
			if as[i] != bs[i] {
				return "", false
			}
		case av && bv:
		case !av && win == "":
			win = a
		case !bv && win == "":
			win = b
		}
	}
	if win == "" {
		return "", false // same shape: reported as a clash by insert
	}
	return win, true
}

func literalExample(p string) string {
	return templateVar.ReplaceAllString(p, "…")
}

func splitTemplate(p string) []string {
	p = strings.TrimSuffix(strings.TrimPrefix(p, "/"), "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// byPathMethod orders operations for listings.
func byPathMethod(a, b *Operation) int {
	if c := cmp.Compare(a.Path, b.Path); c != 0 {
		return c
	}
	return cmp.Compare(methodRank(a.Method), methodRank(b.Method))
}
