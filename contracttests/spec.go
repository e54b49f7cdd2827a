package contracttests

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/rankr/ghlgate/openapi"
)

// problemSchema is the shape of the gateway's own errors
// (application/problem+json): the runner checks it when the operation does
// not document the answer itself, so a 403 from the gateway is still held
// to a contract.
var problemSchema = func() *openapi3.Schema {
	str := openapi3.NewStringSchema()
	s := openapi3.NewObjectSchema().
		WithProperty("type", str).
		WithProperty("title", str).
		WithProperty("status", openapi3.NewIntegerSchema().WithMin(100).WithMax(599)).
		WithProperty("detail", str).
		WithProperty("instance", str).
		WithProperty("request_id", str).
		WithProperty("reason", openapi3.NewStringSchema().WithPattern(`^[a-z][a-z0-9_]*$`)).
		WithProperty("errors", openapi3.NewArraySchema().WithItems(
			openapi3.NewObjectSchema().
				WithProperty("pointer", str).
				WithProperty("reason", str).
				WithRequired([]string{"pointer", "reason"})))
	s.Required = []string{"type", "title", "status", "reason"}
	return s
}()

// specCheck validates one response against the operation it answers.
type specCheck struct {
	spec *openapi.Spec
	mode SpecMode
}

// SpecMode says what a response that breaks the OpenAPI description does.
type SpecMode int

const (
	// SpecEnforce fails the step (the default).
	SpecEnforce SpecMode = iota
	// SpecWarn records the problem on the step without failing it.
	SpecWarn
	// SpecOff skips response validation.
	SpecOff
)

// ParseSpecMode reads "enforce", "warn" or "off".
func ParseSpecMode(s string) (SpecMode, error) {
	switch s {
	case "", "enforce":
		return SpecEnforce, nil
	case "warn":
		return SpecWarn, nil
	case "off":
		return SpecOff, nil
	}
	return 0, fmt.Errorf("spec mode %q: want enforce, warn or off", s)
}

// operation finds the operation a request path (relative to the target)
// calls; nil when the spec has none (the step tests an unknown route).
func (c *specCheck) operation(method, p string) (*openapi.Operation, map[string]string) {
	if c.spec == nil {
		return nil, nil
	}
	op, params, err := c.spec.Match(method, p)
	if err != nil {
		return nil, nil
	}
	return op, params
}

// validate returns the ways a response breaks the description.
func (c *specCheck) validate(ctx context.Context, op *openapi.Operation, params map[string]string, req *http.Request, status int, header http.Header, body []byte, parsed any) []Failure {
	ct := header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	if mt == "application/problem+json" && !documents(op, status, mt) {
		return problemFailures(status, parsed)
	}
	if op == nil {
		return nil // no operation: only the step's own expectations apply
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: op.Route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status: status,
		Header: header,
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
		},
	}
	in.SetBodyBytes(body)
	err := openapi3filter.ValidateResponse(ctx, in)
	if err == nil {
		return nil
	}
	return schemaFailures(op, status, err)
}

// documents reports whether op declares media type mt for status.
func documents(op *openapi.Operation, status int, mt string) bool {
	if op == nil || op.Op.Responses == nil {
		return false
	}
	r := op.Op.Responses.Status(status)
	if r == nil {
		r = op.Op.Responses.Default()
	}
	return r != nil && r.Value != nil && r.Value.Content.Get(mt) != nil
}

func problemFailures(status int, parsed any) []Failure {
	if err := problemSchema.VisitJSON(parsed, openapi3.MultiErrors()); err != nil {
		return []Failure{{Kind: KindSchema, Path: schemaPath(err), Expected: "application/problem+json with type, title, status, reason", Actual: firstLine(err.Error())}}
	}
	if m, ok := parsed.(map[string]any); ok {
		if s, _ := m["status"].(float64); int(s) != status {
			return []Failure{{Kind: KindSchema, Path: "$.status", Expected: strconv.Itoa(status) + " (the HTTP status)", Actual: show(m["status"])}}
		}
	}
	return nil
}

func schemaFailures(op *openapi.Operation, status int, err error) []Failure {
	var out []Failure
	var walk func(error)
	walk = func(e error) {
		var me openapi3.MultiError
		if errors.As(e, &me) {
			for _, x := range me {
				walk(x)
			}
			return
		}
		var re *openapi3filter.ResponseError
		if errors.As(e, &re) && re.Err != nil && re.Err != e {
			var inner openapi3.MultiError
			if errors.As(re.Err, &inner) {
				walk(inner)
				return
			}
		}
		var se *openapi3.SchemaError
		if errors.As(e, &se) {
			out = append(out, Failure{Kind: KindSchema, Path: schemaPath(se), Expected: fmt.Sprintf("%s %d response schema", op.ID, status), Actual: se.Reason})
			return
		}
		var rerr *openapi3filter.ResponseError
		if errors.As(e, &rerr) && rerr.Err == nil && strings.Contains(strings.ToLower(rerr.Reason), "status") {
			out = append(out, Failure{Kind: KindSchema, Path: "status", Expected: fmt.Sprintf("a status documented for %s (%s)", op.ID, documented(op)), Actual: strconv.Itoa(status)})
			return
		}
		out = append(out, Failure{Kind: KindSchema, Expected: fmt.Sprintf("%s %d response as documented", op.ID, status), Actual: firstLine(e.Error())})
	}
	walk(err)
	return out
}

func documented(op *openapi.Operation) string {
	if op.Op.Responses == nil {
		return "none"
	}
	keys := op.Op.Responses.Map()
	var out []string
	for _, k := range sortedKeys(keys) {
		out = append(out, k)
	}
	return strings.Join(out, ", ")
}

// schemaPath turns a schema error's JSON pointer into a JSONPath.
func schemaPath(err error) string {
	var se *openapi3.SchemaError
	if !errors.As(err, &se) {
		return "$"
	}
	var b strings.Builder
	b.WriteString("$")
	for _, tok := range se.JSONPointer() {
		if _, e := strconv.Atoi(tok); e == nil {
			b.WriteString("[" + tok + "]")
			continue
		}
		b.WriteString("." + tok)
	}
	return b.String()
}

// requestForValidation builds the request kin-openapi pairs with the
// response: only method, URL and headers matter.
func requestForValidation(ctx context.Context, method, rel string, query url.Values, header http.Header, body []byte) *http.Request {
	u := &url.URL{Path: rel, RawQuery: query.Encode()}
	r, _ := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if r == nil {
		r = &http.Request{Method: method, URL: u}
	}
	r.Header = header.Clone()
	return r
}
