package mocks

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// t0 is the tests' fixed "now".
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589_000_000, time.UTC)

const (
	locA = "LocAAAAAAAAAAAAAAAA1"
	locB = "LocBBBBBBBBBBBBBBBB2"
)

var (
	specOnce sync.Once
	specDoc  *openapi3.T
	specErr  error
	specOps  map[string]*routers.Route
)

// ghlSpec loads the official contacts.json and repairs, in memory, the two
// quirks that stop kin-openapi [FACTS §6]: "in"/"name" on http security
// schemes, and the undeclared {type} path parameter of the bulk tags route.
func ghlSpec(t testing.TB) (*openapi3.T, map[string]*routers.Route) {
	t.Helper()
	path := filepath.Join("..", "..", "shared", "ghl", "apps", "contacts.json")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("official GHL spec not found at %s (needs /work/shared/ghl beside the repo): %v", path, err)
	}
	specOnce.Do(func() {
		loader := openapi3.NewLoader()
		loader.IsExternalRefsAllowed = true
		doc, err := loader.LoadFromFile(path)
		if err != nil {
			specErr = err
			return
		}
		for _, ss := range doc.Components.SecuritySchemes {
			if ss.Value != nil && ss.Value.Type == "http" {
				ss.Value.In, ss.Value.Name = "", ""
			}
		}
		if item := doc.Paths.Value("/contacts/bulk/tags/update/{type}"); item != nil && item.Post != nil {
			item.Post.Parameters = append(item.Post.Parameters, &openapi3.ParameterRef{Value: openapi3.NewPathParameter("type").
				WithSchema(openapi3.NewStringSchema())})
		}
		if err := doc.Validate(context.Background(), openapi3.DisableExamplesValidation()); err != nil {
			specErr = err
			return
		}
		specOps = map[string]*routers.Route{}
		for p, item := range doc.Paths.Map() {
			for method, op := range item.Operations() {
				specOps[op.OperationID] = &routers.Route{Spec: doc, Path: p, PathItem: item, Method: method, Operation: op}
			}
		}
		specDoc = doc
	})
	if specErr != nil {
		t.Fatalf("load GHL spec: %v", specErr)
	}
	return specDoc, specOps
}

// checkSpec validates one answer against the operation's documented
// responses, including the status (an undocumented status fails).
func checkSpec(t testing.TB, opID string, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	_, ops := ghlSpec(t)
	route, ok := ops[opID]
	if !ok {
		t.Fatalf("operation %q not in the GHL spec", opID)
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, Route: route, Options: opts},
		Status:                 status, Header: header, Options: opts,
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s %s: answer %d %s does not validate against contacts.json: %v", opID, req.Method, req.URL.Path, status, body, err)
	}
}

// harness is a mock behind a real socket, with a controllable clock and
// sequential ids.
type harness struct {
	t     testing.TB
	mock  *Mock
	srv   *httptest.Server
	clock *Clock
	muts  chan Mutation
}

type harnessOpt func(*Options)

func newHarness(t testing.TB, opts ...harnessOpt) *harness {
	t.Helper()
	h := &harness{t: t, clock: NewClock(func() time.Time { return t0 }), muts: make(chan Mutation, 1024)}
	o := Options{Now: h.clock.Now, NewID: SequentialIDs("mock"), Dataset: "test",
		OnMutation: func(m Mutation) { h.muts <- m }}
	for _, f := range opts {
		f(&o)
	}
	m, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.mock = m
	h.srv = httptest.NewServer(m)
	t.Cleanup(h.srv.Close)
	return h
}

func withSeed(s *Seed) harnessOpt        { return func(o *Options) { o.Seed = s } }
func withPersist(p Persister) harnessOpt { return func(o *Options) { o.Persist = p } }

// answer is a decoded response.
type answer struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// call sends a request for the operation opID and validates the answer
// against the official spec.
func (h *harness) call(opID, method, path string, body any, hdr ...string) answer {
	h.t.Helper()
	a, req := h.send(method, path, body, hdr...)
	checkSpec(h.t, opID, req, a.status, a.header, a.raw)
	return a
}

// send sends a request without validating the answer (faults, admin).
func (h *harness) send(method, path string, body any, hdr ...string) (answer, *http.Request) {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			h.t.Fatalf("marshal body: %v", err)
		}
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	if err != nil {
		h.t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Version", "2021-07-28")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("read body: %v", err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &a.body); err != nil {
			h.t.Fatalf("%s %s: answer is not a JSON object: %v: %s", method, path, err, raw)
		}
	}
	return a, req
}

// want fails unless the answer has the status.
func (a answer) want(t testing.TB, status int) answer {
	t.Helper()
	if a.status != status {
		t.Fatalf("status = %d (%s); want %d", a.status, a.raw, status)
	}
	return a
}

// obj returns body[key] as an object.
func (a answer) obj(t testing.TB, key string) map[string]any {
	t.Helper()
	m, ok := a.body[key].(map[string]any)
	if !ok {
		t.Fatalf("body[%q] = %v; want an object (body %s)", key, a.body[key], a.raw)
	}
	return m
}

func (a answer) list(t testing.TB, key string) []any {
	t.Helper()
	l, ok := a.body[key].([]any)
	if !ok {
		t.Fatalf("body[%q] = %v; want an array (body %s)", key, a.body[key], a.raw)
	}
	return l
}

// createContact creates a contact in loc and returns its id.
func (h *harness) createContact(loc string, fields map[string]any) string {
	h.t.Helper()
	body := map[string]any{"locationId": loc}
	for k, v := range fields {
		body[k] = v
	}
	a := h.call("create-contact", "POST", "/contacts/", body).want(h.t, 201)
	return a.obj(h.t, "contact")["id"].(string)
}

// drain returns the mutations recorded so far.
func (h *harness) drain() []Mutation {
	var out []Mutation
	for {
		select {
		case m := <-h.muts:
			out = append(out, m)
		default:
			return out
		}
	}
}

func strs(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func testSeed(t testing.TB) *Seed {
	t.Helper()
	s, err := DefaultSeed()
	if err != nil {
		t.Fatalf("DefaultSeed: %v", err)
	}
	return s
}
