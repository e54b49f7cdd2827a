package validate

import (
	"net/http"
	"net/url"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
)

// The fast path of request validation. For a request without a body whose
// operation takes only plain string parameters (GET /contacts/{contactId}
// with its Version header, and most reads), kin-openapi's ValidateRequest
// builds decoders, validation settings and errors it then discards: a few
// microseconds and a dozen allocations per request. fastRequestOK checks
// the same things directly and, like the response fast path, can only say
// "valid": a parameter it does not fully understand (any keyword beyond
// type string and a string enum, a style, a query string, odd characters),
// a missing required one or a value outside the enum sends the request to
// kin-openapi, which decides and words the error. TestFastRequestAgreesWithKin
// checks it never vouches for a request kin-openapi refuses.

func (v *Validator) fastRequestOK(r *http.Request, route *routers.Route, pathParams map[string]string, query url.Values, body []byte) bool {
	op := route.Operation
	if op == nil || route.Spec == nil || route.Spec.IsOpenAPI31OrLater() || route.PathItem == nil {
		return false
	}
	if op.RequestBody != nil || len(body) > 0 || r.ContentLength > 0 {
		return false
	}
	// Security must be a no-op (see withoutSecurity).
	sr := v.withoutSecurity(route)
	sec := sr.Operation.Security
	if sec == nil {
		sec = &sr.Spec.Security
	}
	if len(*sec) > 0 {
		return false
	}
	if query == nil && r.URL.RawQuery != "" {
		var err error
		if query, err = url.ParseQuery(r.URL.RawQuery); err != nil {
			return false
		}
	}
	for _, ref := range route.PathItem.Parameters {
		p := ref.Value
		if p == nil {
			return false
		}
		if op.Parameters != nil && op.Parameters.GetByInAndName(p.In, p.Name) != nil {
			continue // overridden by the operation
		}
		if !paramOK(r, p, pathParams, query) {
			return false
		}
	}
	for _, ref := range op.Parameters {
		if ref.Value == nil || !paramOK(r, ref.Value, pathParams, query) {
			return false
		}
	}
	return true
}

// paramOK reports whether kin-openapi surely accepts p's value in r. An
// optional parameter that is absent is accepted whatever its primitive type
// (GET /contacts/ declares limit and startAfter as numbers): kin-openapi
// skips it, and sets no default (SkipSettingDefaults). A query parameter
// is read from query, r's query string parsed as kin-openapi parses it.
func paramOK(r *http.Request, p *openapi3.Parameter, pathParams map[string]string, query url.Values) bool {
	if p.Content != nil || p.Style != "" || p.Explode != nil || p.AllowEmptyValue || p.AllowReserved {
		return false
	}
	if p.Schema == nil {
		return true // kin-openapi checks nothing without a schema
	}
	s := p.Schema.Value
	var value string
	switch p.In {
	case openapi3.ParameterInPath:
		value = pathParams[p.Name]
		if !unreserved(value) {
			return false
		}
	case openapi3.ParameterInHeader:
		vs, present := r.Header[http.CanonicalHeaderKey(p.Name)]
		if present {
			// Sent but empty, or unusual: kin-openapi decides.
			if len(vs) == 0 || vs[0] == "" || !printable(vs[0]) {
				return false
			}
			value = vs[0]
		}
	case openapi3.ParameterInQuery:
		vs, present := query[p.Name]
		if present {
			// Given twice, empty, or unusual: kin-openapi decides.
			if len(vs) != 1 || vs[0] == "" || !printable(vs[0]) {
				return false
			}
			value = vs[0]
		}
	default:
		return false
	}
	if value == "" {
		return !p.Required && primitive(s)
	}
	if !plainStringSchema(s) {
		return false
	}
	if len(s.Enum) == 0 {
		return true
	}
	for _, e := range s.Enum {
		if e == value { // string enum entries only (plainStringSchema)
			return true
		}
	}
	return false
}

// primitive reports whether s has exactly one type, a scalar one: only then
// is a parameter's absence what kin-openapi finds (an exploded object
// would be looked for under its properties' names).
func primitive(s *openapi3.Schema) bool {
	if s == nil || s.Type == nil || len(*s.Type) != 1 {
		return false
	}
	t := (*s.Type)[0]
	return t == openapi3.TypeString || t == openapi3.TypeNumber || t == openapi3.TypeInteger || t == openapi3.TypeBoolean
}

// plainStringSchema reports whether s is `type: string` with at most a
// string enum.
func plainStringSchema(s *openapi3.Schema) bool {
	if s == nil || s.Type == nil || len(*s.Type) != 1 || !s.Type.Is(openapi3.TypeString) {
		return false
	}
	if s.Format != "" || s.Pattern != "" || s.MinLength != 0 || s.MaxLength != nil || s.Const != nil ||
		len(s.AllOf) > 0 || len(s.AnyOf) > 0 || len(s.OneOf) > 0 || s.Not != nil || s.Items != nil ||
		len(s.Properties) > 0 || s.AdditionalProperties.Has != nil || s.AdditionalProperties.Schema != nil ||
		s.Nullable || s.ReadOnly || s.WriteOnly || s.Extensions["x-nullable"] != nil {
		return false
	}
	for _, e := range s.Enum {
		if _, ok := e.(string); !ok {
			return false
		}
	}
	return true
}

// unreserved reports whether s holds only RFC 3986 unreserved characters,
// which no decoding changes; "" is true (absent).
func unreserved(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// printable reports whether s is printable ASCII without a comma (a
// separator kin-openapi might split on).
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == ',' {
			return false
		}
	}
	return true
}
