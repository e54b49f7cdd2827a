package validate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/rankr/ghlgate/openapi"
)

// kinResponse is the verdict of kin-openapi alone.
func (v *Validator) kinResponse(t testing.TB, op *openapi.Operation, status int, h http.Header, body []byte) error {
	t.Helper()
	r := httptest.NewRequest(op.Method, "/", nil)
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, Route: op.Route, Options: v.resp},
		Status:                 status, Header: h, Body: io.NopCloser(bytes.NewReader(body)), Options: v.resp,
	}
	return openapi3filter.ValidateResponse(context.Background(), in)
}

// specsUnderTest are the embedded spec and, when present, HighLevel's own.
func specsUnderTest(t *testing.T) map[string]*openapi.Spec {
	t.Helper()
	out := map[string]*openapi.Spec{}
	s, err := openapi.Default()
	if err != nil {
		t.Fatal(err)
	}
	out["embedded"] = s
	official := filepath.Join("..", "..", "..", "shared", "ghl", "apps", "contacts.json")
	if _, err := os.Stat(official); err == nil {
		o, err := openapi.Load(context.Background(), official)
		if err != nil {
			t.Fatalf("load %s: %v", official, err)
		}
		out["official"] = o
	} else {
		t.Logf("official contacts.json not found at %s; checking the embedded spec only", official)
	}
	return out
}

// mutate changes one random place of v: a type swap, a deletion, an added
// member, or a null.
func mutate(rng *rand.Rand, v any) any {
	replacements := []any{nil, true, json.Number("3"), json.Number("2.5"), "x", []any{}, map[string]any{}, []any{"a", json.Number("1")}}
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		if len(keys) == 0 || rng.IntN(8) == 0 {
			x["extra"+strconv.Itoa(rng.IntN(3))] = replacements[rng.IntN(len(replacements))]
			return x
		}
		// sorted order is not needed: rng decides, and any order is a test
		k := keys[rng.IntN(len(keys))]
		switch rng.IntN(4) {
		case 0:
			delete(x, k)
		case 1:
			x[k] = replacements[rng.IntN(len(replacements))]
		default:
			x[k] = mutate(rng, x[k])
		}
		return x
	case []any:
		if len(x) == 0 {
			return append(x, replacements[rng.IntN(len(replacements))])
		}
		i := rng.IntN(len(x))
		x[i] = mutate(rng, x[i])
		return x
	}
	return replacements[rng.IntN(len(replacements))]
}

// TestFastResponseAgreesWithKin checks the fast path's one promise: when it
// says an answer conforms, kin-openapi says so too. Bodies are every
// documented example and thousands of mutations of them, on the embedded
// spec and on HighLevel's official document.
func TestFastResponseAgreesWithKin(t *testing.T) {
	v := New()
	specs := specsUnderTest(t)
	// HighLevel's document has few examples: each spec is also fed the
	// embedded spec's examples of the same operation and status.
	shared := map[string][]any{}
	for _, op := range specs["embedded"].Operations {
		for code, ref := range op.Op.Responses.Map() {
			if ref.Value == nil {
				continue
			}
			for _, mt := range ref.Value.Content {
				if mt.Example != nil {
					shared[op.ID+" "+code] = append(shared[op.ID+" "+code], mt.Example)
				}
			}
		}
	}
	for name, spec := range specs {
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 42))
			fastYes, kinYes, checked := 0, 0, 0
			for _, op := range spec.Operations {
				for code, ref := range op.Op.Responses.Map() {
					status, err := strconv.Atoi(code)
					if err != nil || ref.Value == nil {
						continue
					}
					for ct, mt := range ref.Value.Content {
						var examples []any
						if name != "embedded" {
							examples = append(examples, shared[op.ID+" "+code]...)
						}
						if mt.Example != nil {
							examples = append(examples, mt.Example)
						}
						for _, ex := range mt.Examples {
							if ex.Value != nil {
								examples = append(examples, ex.Value.Value)
							}
						}
						if mt.Schema != nil && mt.Schema.Value != nil && mt.Schema.Value.Example != nil {
							examples = append(examples, mt.Schema.Value.Example)
						}
						h := http.Header{"Content-Type": {ct}}
						for _, ex := range examples {
							raw, err := json.Marshal(ex)
							if err != nil {
								continue
							}
							for i := range 150 {
								body := raw
								if i > 0 {
									var val any
									d := json.NewDecoder(bytes.NewReader(raw))
									d.UseNumber()
									if d.Decode(&val) != nil {
										break
									}
									for range 1 + rng.IntN(3) {
										val = mutate(rng, val)
									}
									body, _ = json.Marshal(val)
								}
								checked++
								r := httptest.NewRequest(op.Method, "/", nil)
								fast := v.fastResponseOK(r, op.Route, status, h, body)
								kinErr := v.kinResponse(t, op, status, h, body)
								if fast {
									fastYes++
								}
								if kinErr == nil {
									kinYes++
								}
								if fast && kinErr != nil {
									t.Errorf("%s %d: fast path accepts %s; kin-openapi: %v", op.ID, status, body, kinErr)
								}
							}
						}
					}
				}
			}
			t.Logf("%d bodies: kin accepts %d, fast path vouches for %d", checked, kinYes, fastYes)
			if fastYes == 0 {
				t.Errorf("fast path vouched for no body: it is never used")
			}
		})
	}
}

func TestFastResponseSyntax(t *testing.T) {
	spec, err := openapi.Default()
	if err != nil {
		t.Fatal(err)
	}
	op := spec.Operation("get-contact")
	v := New()
	h := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name string
		body string
		want bool
	}{
		{"minimal", `{"contact":{"id":"a","locationId":"l"}}`, true},
		{"whitespace", " {\n\"contact\" : { \"id\" : \"a\" } }\n", true},
		{"nullable field null", `{"contact":{"id":"a","email":null}}`, true},
		{"escapes in values", `{"contact":{"id":"a\"b\\u00e9\n"}}`, true},
		{"unknown member", `{"contact":{"id":"a","whatever":[1,{"x":null}]}}`, true},
		{"missing required contact", `{"id":"a"}`, false},
		{"wrong type", `{"contact":{"id":7}}`, false},
		{"not nullable null", `{"contact":{"id":null}}`, false},
		{"escaped key", `{"cont\u0061ct":{"id":"a"}}`, false},
		{"duplicate key", `{"contact":{"id":"a"},"contact":{"id":"b"}}`, false},
		{"trailing data", `{"contact":{"id":"a"}} x`, false},
		{"truncated", `{"contact":{"id":"a"`, false},
		{"bad number", `{"contact":{"id":"a","customFields":[{"value":01}]}}`, false},
		{"control character", "{\"contact\":{\"id\":\"a\x01\"}}", false},
		{"empty", ``, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			got := v.fastResponseOK(r, op.Route, 200, h, []byte(tc.body))
			if got != tc.want {
				t.Errorf("fastResponseOK(%s) = %v; want %v", tc.body, got, tc.want)
			}
			if got {
				if err := v.kinResponse(t, op, 200, h, []byte(tc.body)); err != nil {
					t.Errorf("kin-openapi(%s) = %v; want nil", tc.body, err)
				}
			}
		})
	}
}

// BenchmarkResponse is the response validation of a 2 KB contact.
func BenchmarkResponse(b *testing.B) {
	spec, err := openapi.Default()
	if err != nil {
		b.Fatal(err)
	}
	op := spec.Operation("get-contact")
	body := []byte(`{"contact":{"id":"ocQHyuzHvysMo5N5VsXc","name":"rosan Deo","locationId":"ve9EPM428h8vShlRW1KT","firstName":"rosan","lastName":"Deo","email":"rosan@deos.com","timezone":"America/Chihuahua","companyName":"DGS VolMAX","phone":"+18887324197","dnd":false,"type":"read","source":"public api","tags":["a","b"],"customFields":[{"id":"MgobCB14YMVKuE4Ka8p1","value":"name"}],"attributionSource":{"url":"https://x","campaign":null,"medium":"organic"}}}`)
	h := http.Header{"Content-Type": {"application/json"}}
	r := httptest.NewRequest("GET", "/contacts/x", nil)
	for _, mode := range []struct {
		name string
		run  func(v *Validator) error
	}{
		{"fast", func(v *Validator) error { return v.Response(context.Background(), r, op.Route, nil, 200, h, body) }},
		{"kin", func(v *Validator) error { return v.kinResponse(b, op, 200, h, body) }},
	} {
		b.Run(mode.name, func(b *testing.B) {
			v := New()
			b.ReportAllocs()
			for b.Loop() {
				if err := mode.run(v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestSecurityPasses(t *testing.T) {
	declared := openapi3.SecuritySchemes{"bearer": &openapi3.SecuritySchemeRef{Value: &openapi3.SecurityScheme{Type: "http", Scheme: "bearer"}}}
	route := func(op, global *openapi3.SecurityRequirements) *routers.Route {
		doc := &openapi3.T{Components: &openapi3.Components{SecuritySchemes: declared}}
		if global != nil {
			doc.Security = *global
		}
		return &routers.Route{Spec: doc, Operation: &openapi3.Operation{Security: op}}
	}
	reqs := func(names ...string) *openapi3.SecurityRequirements {
		var out openapi3.SecurityRequirements
		for _, n := range names {
			out = append(out, openapi3.SecurityRequirement{n: {"contacts.readonly"}})
		}
		return &out
	}
	tests := []struct {
		name  string
		route *routers.Route
		want  bool
	}{
		{"declared scheme", route(reqs("bearer"), nil), true},
		{"explicit no security", route(reqs(), nil), true},
		{"global declared", route(nil, reqs("bearer")), true},
		{"no security anywhere", route(nil, nil), true},
		{"undeclared scheme", route(reqs("apiKey"), nil), false},
		{"one alternative declared", route(reqs("apiKey", "bearer"), nil), true},
		{"global undeclared", route(nil, reqs("apiKey")), false},
	}
	v := New()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := securityPasses(tc.route); got != tc.want {
				t.Errorf("securityPasses = %v; want %v", got, tc.want)
			}
			stripped := v.withoutSecurity(tc.route) != tc.route
			if stripped != tc.want {
				t.Errorf("withoutSecurity stripped = %v; want %v", stripped, tc.want)
			}
		})
	}
	// Every operation of the embedded spec declares its schemes.
	spec, err := openapi.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range spec.Operations {
		if !securityPasses(op.Route) {
			t.Errorf("securityPasses(%s) = false; want true", op.ID)
		}
	}
}

// memberLog is an Observer that keeps what it is told.
type memberLog []string

func (m *memberLog) Member(depth int, key, value []byte) {
	*m = append(*m, fmt.Sprintf("%d %s=%s", depth, key, value))
}

// TestResponseObserved checks what the fast path tells an Observer: every
// member of depth 1 and 2, once each, even where allOf reads an object
// twice; nothing deeper; and that a rejected answer is not called observed.
func TestResponseObserved(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "spec.yaml")
	if err := os.WriteFile(path, []byte(`openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /things/{id}:
    get:
      operationId: get-thing
      security: [{bearer: [things.readonly]}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  thing:
                    type: object
                    allOf:
                      - $ref: "#/components/schemas/Base"
                    properties:
                      name: {type: string}
                      nested: {type: object}
                  traceId: {type: string}
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
  schemas:
    Base:
      type: object
      required: [id]
      properties:
        id: {type: string}
        locationId: {type: string}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	spec, err := openapi.Load(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	op := spec.Operation("get-thing")
	if op == nil {
		t.Fatal("get-thing not loaded")
	}
	v := New()
	h := http.Header{"Content-Type": {"application/json"}}
	r := httptest.NewRequest("GET", "/things/1", nil)
	body := `{"thing":{"id":"a","locationId":"l","name":"n","nested":{"locationId":"deep","list":[{"x":1}]}},"traceId":"t"}`
	var got memberLog
	observed, err := v.ResponseObserved(context.Background(), r, op.Route, map[string]string{"id": "1"}, 200, h, []byte(body), &got)
	if err != nil || !observed {
		t.Fatalf("ResponseObserved = %v, %v; want observed and valid", observed, err)
	}
	want := memberLog{
		`2 id="a"`, `2 locationId="l"`, `2 name="n"`,
		`2 nested={"locationId":"deep","list":[{"x":1}]}`,
		`1 thing={"id":"a","locationId":"l","name":"n","nested":{"locationId":"deep","list":[{"x":1}]}}`,
		`1 traceId="t"`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("members told:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, bad := range []string{`{"thing":{"name":"n"}}`, `{"thing":{"id":7}}`, `{"th\u0069ng":{"id":"a"}}`} {
		var log memberLog
		observed, _ := v.ResponseObserved(context.Background(), r, op.Route, map[string]string{"id": "1"}, 200, h, []byte(bad), &log)
		if observed {
			t.Errorf("ResponseObserved(%s) observed = true; want false (the fast path did not accept it)", bad)
		}
	}
}
