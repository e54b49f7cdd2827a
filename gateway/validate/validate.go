// Package validate checks requests and upstream responses against the
// operation the router matched, with kin-openapi's openapi3filter, and turns
// its errors into located field errors ("body.firstName", "query.limit").
// Security is not checked here: ghlgate authenticates its own clients and
// enforces scopes in earlier stages.
package validate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// Kind classifies a refused request.
type Kind int

const (
	// Malformed: a parameter or the body could not be read at all (400).
	Malformed Kind = iota
	// Schema: the body was read but breaks the schema (422).
	Schema
	// MediaType: the body's content type is not one the operation takes (415).
	MediaType
)

// Field is one violation.
type Field struct {
	Pointer string // "body.firstName", "query.limit", "header.Version", "path.contactId", "body"
	Reason  string
}

// Error is a failed validation.
type Error struct {
	Kind   Kind
	Fields []Field
}

func (e *Error) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Pointer + ": " + f.Reason
	}
	return "validation failed: " + strings.Join(parts, "; ")
}

// Validator holds the filter options; it is safe for concurrent use.
type Validator struct {
	req  *openapi3filter.Options
	resp *openapi3filter.Options
	// noSec holds, per route whose security pass cannot fail (see
	// securityPasses), a copy of the route without security requirements.
	noSec sync.Map // *routers.Route → *routers.Route
	// fast holds the compiled response schemas of the fast path (fast.go).
	fast *compiler
}

// New returns a Validator.
func New() *Validator {
	req := &openapi3filter.Options{
		MultiError:         true,
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		// Defaults are GHL's to apply; the gateway forwards what it got.
		SkipSettingDefaults: true,
	}
	req.WithCustomSchemaErrorFunc(schemaMessage)
	resp := &openapi3filter.Options{
		MultiError:         true,
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		// An undocumented status (GHL documents no 429 or 5xx) is not a
		// contract break: only documented answers are checked.
		IncludeResponseStatus: false,
	}
	resp.WithCustomSchemaErrorFunc(schemaMessage)
	return &Validator{req: req, resp: resp, fast: newCompiler()}
}

// Request validates r (whose body has already been read into body) against
// route. query is r's query string as url.ParseQuery parses it, when the
// caller has it (nil: parsed here if needed). It restores r.Body so later
// stages can read it again.
func (v *Validator) Request(ctx context.Context, r *http.Request, route *routers.Route, pathParams map[string]string, query url.Values, body []byte) error {
	if v.fastRequestOK(r, route, pathParams, query, body) {
		return nil
	}
	if err := checkMediaType(route.Operation, r.Header.Get("Content-Type"), len(body)); err != nil {
		return err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: pathParams, Route: v.withoutSecurity(route), Options: v.req}
	err := openapi3filter.ValidateRequest(ctx, in)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err == nil {
		return nil
	}
	return convert(err, "request")
}

// withoutSecurity returns route with no security requirements when its
// security pass cannot fail, and route itself otherwise.
func (v *Validator) withoutSecurity(route *routers.Route) *routers.Route {
	if r, ok := v.noSec.Load(route); ok {
		return r.(*routers.Route)
	}
	out := route
	if route.Operation != nil && route.Spec != nil && securityPasses(route) {
		op := *route.Operation
		op.Security = &openapi3.SecurityRequirements{}
		r := *route
		r.Operation = &op
		out = &r
	}
	v.noSec.Store(route, out)
	return out
}

// securityPasses reports whether kin-openapi's security pass must accept a
// request to route. With NoopAuthenticationFunc a requirement fails only when
// it names a scheme the document does not declare, and the pass fails only
// when every requirement fails; skipping a pass that cannot fail saves its
// sorting, allocations and a copy of the body per scheme.
func securityPasses(route *routers.Route) bool {
	security := route.Operation.Security
	if security == nil {
		security = &route.Spec.Security
	}
	if len(*security) == 0 {
		return true
	}
	var schemes openapi3.SecuritySchemes
	if c := route.Spec.Components; c != nil {
		schemes = c.SecuritySchemes
	}
	for _, req := range *security {
		ok := true
		for name := range req {
			if ref := schemes[name]; ref == nil || ref.Value == nil {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// Response validates an upstream answer; nil means it conforms.
func (v *Validator) Response(ctx context.Context, r *http.Request, route *routers.Route, pathParams map[string]string, status int, h http.Header, body []byte) error {
	_, err := v.ResponseObserved(ctx, r, route, pathParams, status, h, body, nil)
	return err
}

// ResponseObserved is Response that also tells obs the members it reads on
// its fast path, so that a caller needing something of the answer does not
// read it again. observed says the fast path read the whole answer and
// accepted it: obs then saw every member of depth 1 and 2, once each.
// Otherwise what obs saw must be disregarded.
func (v *Validator) ResponseObserved(ctx context.Context, r *http.Request, route *routers.Route, pathParams map[string]string, status int, h http.Header, body []byte, obs Observer) (observed bool, err error) {
	if ok, read := v.fastResponse(r, route, status, h, body, obs); ok {
		return read, nil
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: pathParams, Route: route, Options: v.resp},
		Status:                 status,
		Header:                 h,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                v.resp,
	}
	if err := openapi3filter.ValidateResponse(ctx, in); err != nil {
		return false, convert(err, "response")
	}
	return false, nil
}

func checkMediaType(op *openapi3.Operation, ct string, bodyLen int) error {
	if bodyLen == 0 || op.RequestBody == nil || op.RequestBody.Value == nil {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil {
		return &Error{Kind: MediaType, Fields: []Field{{Pointer: "header.Content-Type", Reason: fmt.Sprintf("%q is not a media type; send Content-Type: application/json", ct)}}}
	}
	content := op.RequestBody.Value.Content
	if content.Get(mt) == nil {
		want := make([]string, 0, len(content))
		for k := range content {
			want = append(want, k)
		}
		return &Error{Kind: MediaType, Fields: []Field{{Pointer: "header.Content-Type", Reason: fmt.Sprintf("%s is not accepted; send one of %s", mt, strings.Join(want, ", "))}}}
	}
	return nil
}

// convert flattens kin's error tree into fields, and decides the kind: a
// body that parses but breaks the schema is Schema, anything else Malformed.
func convert(err error, side string) error {
	out := &Error{Kind: Schema}
	var walk func(error)
	walk = func(err error) {
		var me openapi3.MultiError
		if errors.As(err, &me) {
			for _, e := range me {
				walk(e)
			}
			return
		}
		var re *openapi3filter.RequestError
		if errors.As(err, &re) {
			out.addRequest(re)
			return
		}
		var rse *openapi3filter.ResponseError
		if errors.As(err, &rse) {
			out.addSchema("body", rse.Err, rse.Reason)
			return
		}
		var se *openapi3.SchemaError
		if errors.As(err, &se) {
			out.addSchema("body", se, "")
			return
		}
		out.Fields = append(out.Fields, Field{Pointer: side, Reason: err.Error()})
	}
	walk(err)
	if len(out.Fields) == 0 {
		out.Fields = []Field{{Pointer: side, Reason: err.Error()}}
	}
	return out
}

func (e *Error) addRequest(re *openapi3filter.RequestError) {
	if p := re.Parameter; p != nil {
		e.Kind = Malformed
		ptr := p.In + "." + p.Name
		var me openapi3.MultiError
		if errors.As(re.Err, &me) {
			for _, sub := range me {
				e.Fields = append(e.Fields, Field{Pointer: ptr, Reason: paramReason(sub, re.Reason)})
			}
			return
		}
		e.Fields = append(e.Fields, Field{Pointer: ptr, Reason: paramReason(re.Err, re.Reason)})
		return
	}
	if re.RequestBody != nil {
		var pe *openapi3filter.ParseError
		if errors.As(re.Err, &pe) || errors.Is(re.Err, openapi3filter.ErrInvalidRequired) || errors.Is(re.Err, openapi3filter.ErrInvalidEmptyValue) {
			e.Kind = Malformed
			reason := "the body is not valid JSON"
			if errors.Is(re.Err, openapi3filter.ErrInvalidRequired) || errors.Is(re.Err, openapi3filter.ErrInvalidEmptyValue) {
				reason = "a JSON body is required"
			} else if pe != nil {
				reason = "the body is not valid JSON: " + pe.Error()
			}
			e.Fields = append(e.Fields, Field{Pointer: "body", Reason: reason})
			return
		}
		e.addSchema("body", re.Err, re.Reason)
		return
	}
	e.Kind = Malformed
	e.Fields = append(e.Fields, Field{Pointer: "request", Reason: re.Error()})
}

func (e *Error) addSchema(prefix string, err error, fallback string) {
	var me openapi3.MultiError
	if errors.As(err, &me) {
		for _, sub := range me {
			e.addSchema(prefix, sub, fallback)
		}
		return
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		ptr := prefix
		for _, p := range se.JSONPointer() {
			ptr += "." + p
		}
		e.Fields = append(e.Fields, Field{Pointer: ptr, Reason: schemaMessage(se)})
		return
	}
	reason := fallback
	if err != nil {
		reason = err.Error()
	}
	e.Fields = append(e.Fields, Field{Pointer: prefix, Reason: reason})
}

func paramReason(err error, fallback string) string {
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		return schemaMessage(se)
	}
	var pe *openapi3filter.ParseError
	if errors.As(err, &pe) {
		return pe.Error()
	}
	if err != nil {
		return err.Error()
	}
	return fallback
}

// schemaMessage names the rule that failed without echoing the value, which
// may be personal data.
func schemaMessage(se *openapi3.SchemaError) string {
	if se.Reason != "" {
		return se.Reason
	}
	return "violates " + se.SchemaField
}
