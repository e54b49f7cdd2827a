package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rankr/ghlgate/gateway/audit"
	"github.com/rankr/ghlgate/gateway/auth"
	"github.com/rankr/ghlgate/gateway/config"
	"github.com/rankr/ghlgate/gateway/gatewaytest"
)

// fakeGHL is production GHL for the tests: it records what reached it and
// answers like GHL.
type fakeGHL struct {
	*httptest.Server
	calls    atomic.Int64
	mu       sync.Mutex
	methods  []string
	lastAuth string
	lastVer  string
	lastPath string
	contacts map[string]string // id → locationId
	badShape bool
	limited  atomic.Bool
}

func newFakeGHL(t *testing.T) *fakeGHL {
	f := &fakeGHL{contacts: map[string]string{"c-loc1": "loc1", "c-loc2": "loc2"}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		f.mu.Lock()
		f.lastAuth, f.lastVer, f.lastPath = r.Header.Get("Authorization"), r.Header.Get("Version"), r.URL.Path
		f.methods = append(f.methods, r.Method+" "+r.URL.Path)
		bad := f.badShape
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if f.limited.Load() {
			w.Header().Set("X-RateLimit-Max", "100")
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Interval-Milliseconds", "10000")
			w.WriteHeader(429)
			io.WriteString(w, `{"statusCode":429,"message":"Too many requests"}`)
			return
		}
		switch {
		case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/contacts/c-"):
			id := strings.TrimPrefix(r.URL.Path, "/contacts/")
			loc, ok := f.contacts[id]
			if !ok {
				w.WriteHeader(400)
				io.WriteString(w, `{"statusCode":400,"message":"Contact not found"}`)
				return
			}
			if bad {
				io.WriteString(w, `{"contact":{"id":"`+id+`","locationId":"`+loc+`","tags":"oops"}}`)
				return
			}
			io.WriteString(w, `{"contact":{"id":"`+id+`","locationId":"`+loc+`","firstName":"ann","tags":["vip"]}}`)
		case r.Method == "GET" && r.URL.Path == "/contacts/":
			io.WriteString(w, `{"contacts":[],"count":0}`)
		case r.Method == "PUT" && strings.HasPrefix(r.URL.Path, "/contacts/c-"):
			id := strings.TrimPrefix(r.URL.Path, "/contacts/")
			io.WriteString(w, `{"succeded":true,"contact":{"id":"`+id+`","locationId":"`+f.contacts[id]+`"}}`)
		case r.Method == "POST" && r.URL.Path == "/contacts/":
			w.WriteHeader(201)
			io.WriteString(w, `{"contact":{"id":"new1","locationId":"loc1"}}`)
		default:
			w.WriteHeader(404)
			io.WriteString(w, `{"statusCode":404,"message":"not found"}`)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

type harness struct {
	*gatewaytest.Env
	ghl *fakeGHL
}

func start(t *testing.T, configure func(*config.Config)) *harness {
	ghl := newFakeGHL(t)
	env := gatewaytest.Start(t, gatewaytest.Options{
		Upstream:  ghl.URL,
		Env:       map[string]string{"GHL_PRIVATE_INTEGRATION_TOKEN": "pit-secret-123"},
		Configure: configure,
	})
	return &harness{Env: env, ghl: ghl}
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (h *harness) do(t *testing.T, method, path, key, body string, hdr ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, h.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	json.Unmarshal(raw, &a.body) //nolint:errcheck // some bodies are not JSON
	return a
}

func TestPipeline(t *testing.T) {
	h := start(t, nil)
	reader := h.Key(t, auth.CreateRequest{Name: "reader", Scopes: []string{"contacts.readonly"}})
	writer := h.Key(t, auth.CreateRequest{Name: "writer", Scopes: []string{"contacts.readonly", "contacts.write"}})
	bound := h.Key(t, auth.CreateRequest{Name: "bound", Scopes: []string{"contacts.readonly", "contacts.write"}, Locations: []string{"loc1"}})

	tests := []struct {
		name       string
		method     string
		path       string
		key        string
		body       string
		headers    []string
		wantStatus int
		wantReason string
		wantField  string
		forwarded  bool
	}{
		{name: "allowed read", method: "GET", path: "/contacts/c-loc1", key: reader, wantStatus: 200, forwarded: true},
		{name: "missing key", method: "GET", path: "/contacts/c-loc1", wantStatus: 401, wantReason: "no_credentials"},
		{name: "unknown key", method: "GET", path: "/contacts/c-loc1", key: "ghlgw_" + strings.Repeat("x", 43), wantStatus: 401, wantReason: "bad_credentials"},
		{name: "write denied for a read-only key", method: "PUT", path: "/contacts/c-loc1", key: reader, body: `{"firstName":"x"}`, wantStatus: 403, wantReason: "scope_missing"},
		{name: "unknown route", method: "GET", path: "/locations/abc", key: writer, wantStatus: 404, wantReason: "not_found"},
		{name: "method not allowed", method: "PATCH", path: "/contacts/c-loc1", key: writer, body: `{}`, wantStatus: 405, wantReason: "method_not_allowed"},
		{name: "invalid body names the field", method: "POST", path: "/contacts/", key: writer, body: `{"firstName":"ann"}`, wantStatus: 422, wantReason: "schema_violation", wantField: "body.locationId"},
		{name: "malformed JSON", method: "POST", path: "/contacts/", key: writer, body: `{"locationId":`, wantStatus: 400, wantReason: "invalid_request", wantField: "body"},
		{name: "wrong content type", method: "POST", path: "/contacts/", key: writer, body: `{"locationId":"loc1"}`, headers: []string{"Content-Type", "text/plain"}, wantStatus: 415, wantReason: "invalid_request"},
		{name: "encoded traversal", method: "GET", path: "/contacts/..%2f..", key: writer, wantStatus: 400, wantReason: "invalid_request"},
		{name: "duplicate query parameter", method: "GET", path: "/contacts/?locationId=loc1&locationId=loc2", key: bound, wantStatus: 400, wantReason: "invalid_request", wantField: "query.locationId"},
		{name: "bad query parameter", method: "GET", path: "/contacts/?locationId=loc1&limit=many", key: writer, wantStatus: 400, wantReason: "invalid_request", wantField: "query.limit"},
		{name: "location denied in the request", method: "GET", path: "/contacts/?locationId=loc2", key: bound, wantStatus: 403, wantReason: "location_denied"},
		{name: "location allowed in the request", method: "GET", path: "/contacts/?locationId=loc1", key: bound, wantStatus: 200, forwarded: true},
		{name: "location denied in a by-id answer", method: "GET", path: "/contacts/c-loc2", key: bound, wantStatus: 403, wantReason: "location_denied", forwarded: true},
		// c-loc2's location is known from the read above: no call at all.
		{name: "location denied before a by-id change", method: "PUT", path: "/contacts/c-loc2", key: bound, body: `{"firstName":"x"}`, wantStatus: 403, wantReason: "location_denied"},
		{name: "location allowed for a by-id change", method: "PUT", path: "/contacts/c-loc1", key: bound, body: `{"firstName":"x"}`, wantStatus: 200, forwarded: true},
		{name: "test traffic refused on production (body)", method: "POST", path: "/contacts/", key: writer, body: `{"locationId":"loc1","testFlag":true}`, wantStatus: 422, wantReason: "test_traffic_on_production"},
		{name: "test traffic refused on production (header)", method: "GET", path: "/contacts/c-loc1", key: writer, headers: []string{"X-Test-Flag", "true"}, wantStatus: 422, wantReason: "test_traffic_on_production"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := h.ghl.calls.Load()
			a := h.do(t, tc.method, tc.path, tc.key, tc.body, tc.headers...)
			if a.status != tc.wantStatus {
				t.Fatalf("%s %s = %d %s; want %d", tc.method, tc.path, a.status, a.raw, tc.wantStatus)
			}
			if tc.wantReason != "" {
				if ct := a.header.Get("Content-Type"); ct != "application/problem+json" {
					t.Errorf("Content-Type = %q; want application/problem+json", ct)
				}
				if a.body["reason"] != tc.wantReason {
					t.Errorf("reason = %v; want %s (%s)", a.body["reason"], tc.wantReason, a.raw)
				}
				if a.body["request_id"] == "" || a.body["request_id"] != a.header.Get("X-Request-Id") {
					t.Errorf("request_id = %v; want the X-Request-Id %q", a.body["request_id"], a.header.Get("X-Request-Id"))
				}
			}
			if tc.wantField != "" && !strings.Contains(a.raw, `"pointer":"`+tc.wantField+`"`) {
				t.Errorf("body = %s; want an error at %s", a.raw, tc.wantField)
			}
			if got := h.ghl.calls.Load() - before; (got > 0) != tc.forwarded {
				t.Errorf("upstream calls = %d; want forwarded=%v", got, tc.forwarded)
			}
			if tc.wantStatus == 401 && a.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

func TestCredentialInjectedAndClientKeyNeverForwarded(t *testing.T) {
	h := start(t, nil)
	key := h.Key(t, auth.CreateRequest{Name: "web", Scopes: []string{"contacts.readonly"}})
	a := h.do(t, "GET", "/contacts/c-loc1", key, "")
	if a.status != 200 {
		t.Fatalf("GET = %d %s; want 200", a.status, a.raw)
	}
	h.ghl.mu.Lock()
	defer h.ghl.mu.Unlock()
	if h.ghl.lastAuth != "Bearer pit-secret-123" {
		t.Errorf("upstream Authorization = %q; want the gateway's PIT", h.ghl.lastAuth)
	}
	if strings.Contains(h.ghl.lastAuth, key) {
		t.Error("the client key reached GHL")
	}
	if h.ghl.lastVer != "2021-07-28" {
		t.Errorf("upstream Version = %q; want 2021-07-28 supplied by the gateway", h.ghl.lastVer)
	}
}

func TestNoCredentialConfigured(t *testing.T) {
	ghl := newFakeGHL(t)
	env := gatewaytest.Start(t, gatewaytest.Options{Upstream: ghl.URL})
	key := env.Key(t, auth.CreateRequest{Name: "web", Scopes: []string{"contacts.readonly"}})
	h := &harness{Env: env, ghl: ghl}
	a := h.do(t, "GET", "/contacts/c-loc1", key, "")
	if a.status != 503 || a.body["reason"] != "upstream_credential_missing" {
		t.Fatalf("GET without a credential = %d %s; want 503 upstream_credential_missing", a.status, a.raw)
	}
	if !strings.Contains(a.body["detail"].(string), "GHL_PRIVATE_INTEGRATION_TOKEN") {
		t.Errorf("detail = %q; want it to name the variable to set", a.body["detail"])
	}
	if ghl.calls.Load() != 0 {
		t.Errorf("upstream called %d times without a credential", ghl.calls.Load())
	}
}

func TestResponseValidation(t *testing.T) {
	for _, mode := range []string{config.ValidationReport, config.ValidationEnforce} {
		t.Run(mode, func(t *testing.T) {
			h := start(t, func(c *config.Config) { c.ResponseValidation = mode })
			h.ghl.badShape = true
			key := h.Key(t, auth.CreateRequest{Name: "web", Scopes: []string{"contacts.readonly"}})
			a := h.do(t, "GET", "/contacts/c-loc1", key, "")
			switch mode {
			case config.ValidationReport:
				if a.status != 200 || a.header.Get("X-Ghlgate-Response-Violations") != "1" {
					t.Errorf("report: %d violations=%q; want 200 with the violation counted", a.status, a.header.Get("X-Ghlgate-Response-Violations"))
				}
			case config.ValidationEnforce:
				if a.status != 502 || a.body["reason"] != "upstream_response_invalid" {
					t.Errorf("enforce: %d %s; want 502 upstream_response_invalid", a.status, a.raw)
				}
				if strings.Contains(a.raw, "oops") {
					t.Error("enforce passed the invalid body to the client")
				}
			}
			h.Flush(t)
			recs, _ := audit.Search(context.Background(), h.Server.DB, audit.Query{})
			if len(recs) != 1 || !strings.Contains(recs[0].Detail, "tags") {
				t.Errorf("audit = %+v; want one record whose detail names the violation", recs)
			}
		})
	}
}

func TestOneAuditRecordPerDecision(t *testing.T) {
	h := start(t, nil)
	reader := h.Key(t, auth.CreateRequest{Name: "reader", Scopes: []string{"contacts.readonly"}})
	h.do(t, "GET", "/contacts/c-loc1", reader, "")
	h.do(t, "DELETE", "/contacts/c-loc1", reader, "")
	h.do(t, "GET", "/contacts/c-loc1", "", "")
	h.Flush(t)
	recs, err := audit.Search(context.Background(), h.Server.DB, audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Fatalf("audit records = %d; want 3", len(recs))
	}
	want := []struct{ decision, reason, client, op string }{
		{"allow", "allowed", "reader", "get-contact"},
		{"deny", "scope_missing", "reader", "delete-contact"},
		{"deny", "no_credentials", "", ""},
	}
	for i, w := range want {
		r := recs[i]
		if r.Decision != w.decision || r.Reason != w.reason || r.Client != w.client || r.OperationID != w.op {
			t.Errorf("record %d = %s %s %s %s; want %s %s %s %s", i, r.Decision, r.Reason, r.Client, r.OperationID, w.decision, w.reason, w.client, w.op)
		}
	}
	if got := recs[1].ScopesRequired; len(got) != 1 || got[0] != "contacts.write" {
		t.Errorf("denied record scopes_required = %v; want [contacts.write]", got)
	}
	if recs[0].UpstreamStatus != 200 {
		t.Errorf("allowed record upstream_status = %d; want 200", recs[0].UpstreamStatus)
	}
	raw, _ := json.Marshal(recs)
	if strings.Contains(string(raw), reader) {
		t.Error("an audit record contains the client key")
	}
}

func TestOfficialSpecLoadsAndServes(t *testing.T) {
	official := filepath.Join("..", "..", "shared", "ghl", "apps", "contacts.json")
	if _, err := os.Stat(official); err != nil {
		t.Skipf("official spec not found at %s (keep ../shared beside the repo)", official)
	}
	h := start(t, func(c *config.Config) { c.Spec = official })
	if len(h.Server.Spec.Warnings) == 0 {
		t.Error("the official document loaded without warnings; its quirks should be reported")
	}
	key := h.Key(t, auth.CreateRequest{Name: "web", Scopes: []string{"contacts.readonly"}})
	a := h.do(t, "GET", "/contacts/c-loc1", key, "")
	if a.status != 200 {
		t.Errorf("GET through the official spec = %d %s; want 200", a.status, a.raw)
	}
	// The official document declares no security on the bulk operations:
	// least privilege denies them.
	a = h.do(t, "POST", "/contacts/bulk/business", key, `{"locationId":"loc1","ids":["a"],"businessId":"b"}`)
	if a.status != 403 || a.body["reason"] != "no_security_declared" {
		t.Errorf("bulk business = %d %s; want 403 no_security_declared", a.status, a.raw)
	}
}

func TestStagingAndSandbox(t *testing.T) {
	h := start(t, nil)
	qa := h.Key(t, auth.CreateRequest{Name: "qa", Scopes: []string{"contacts.readonly", "staging:contacts.write", "sandbox:contacts.write"}, Stages: []string{"staging", "sandbox"}})
	other := h.Key(t, auth.CreateRequest{Name: "other", Scopes: []string{"contacts.readonly", "contacts.write"}, Stages: []string{"sandbox"}})

	a := h.do(t, "POST", "/sandbox/contacts/", qa, `{"locationId":"locA","firstName":"Zed","email":"zed@example.com","testFlag":true}`)
	if a.status != 201 {
		t.Fatalf("sandbox create = %d %s; want 201", a.status, a.raw)
	}
	id := a.body["contact"].(map[string]any)["id"].(string)
	if a := h.do(t, "GET", "/sandbox/contacts/"+id, qa, ""); a.status != 200 {
		t.Errorf("sandbox read own = %d; want 200", a.status)
	}
	if a := h.do(t, "GET", "/sandbox/contacts/"+id, other, ""); a.status != 400 {
		t.Errorf("another client's sandbox read = %d %s; want GHL's 400 (not found there)", a.status, a.raw)
	}
	if a := h.do(t, "GET", "/contacts/c-loc1", qa, ""); a.status != 403 || a.body["reason"] != "stage_denied" {
		t.Errorf("qa on production = %d %s; want 403 stage_denied", a.status, a.raw)
	}
	if a := h.do(t, "GET", "/staging/contacts/?locationId=x&limit=5", other, ""); a.status != 403 || a.body["reason"] != "stage_denied" {
		t.Errorf("other on staging = %d; want 403 stage_denied", a.status)
	}
	if h.ghl.calls.Load() != 0 {
		t.Errorf("production called %d times by staging and sandbox traffic", h.ghl.calls.Load())
	}
}

func TestOversizedBody(t *testing.T) {
	h := start(t, func(c *config.Config) { c.MaxBodyBytes = 64 })
	key := h.Key(t, auth.CreateRequest{Name: "w", Scopes: []string{"contacts.write"}})
	a := h.do(t, "POST", "/contacts/", key, `{"locationId":"loc1","firstName":"`+strings.Repeat("a", 100)+`"}`)
	if a.status != 413 || a.body["reason"] != "body_too_large" {
		t.Errorf("oversized = %d %s; want 413 body_too_large", a.status, a.raw)
	}
	if h.ghl.calls.Load() != 0 {
		t.Error("an oversized body was forwarded")
	}
}

func TestHealth(t *testing.T) {
	h := start(t, nil)
	if a := h.do(t, "GET", "/healthz", "", ""); a.status != 200 {
		t.Errorf("healthz = %d", a.status)
	}
	a := h.do(t, "GET", "/readyz", "", "")
	if a.status != 200 || a.body["credential_configured"] != true || a.body["upstream_credential"] != "pit" {
		t.Errorf("readyz = %d %s; want 200 with a configured pit", a.status, a.raw)
	}
}

// A change addressed by id alone is checked before it is forwarded: the
// gateway reads the contact's location first, and the change never reaches
// GHL when the location is not the client's.
func TestLocationResolvedBeforeChange(t *testing.T) {
	h := start(t, nil)
	bound := h.Key(t, auth.CreateRequest{Name: "bound", Scopes: []string{"contacts.readonly", "contacts.write"}, Locations: []string{"loc1"}})
	a := h.do(t, "DELETE", "/contacts/c-loc2", bound, "")
	if a.status != 403 || a.body["reason"] != "location_denied" {
		t.Fatalf("DELETE other location = %d %s; want 403 location_denied", a.status, a.raw)
	}
	a = h.do(t, "DELETE", "/contacts/c-unknown", bound, "")
	if a.status != 400 {
		t.Errorf("DELETE unknown contact = %d %s; want GHL's own 400", a.status, a.raw)
	}
	h.ghl.mu.Lock()
	defer h.ghl.mu.Unlock()
	want := []string{"GET /contacts/c-loc2", "GET /contacts/c-unknown"}
	if strings.Join(h.ghl.methods, ",") != strings.Join(want, ",") {
		t.Errorf("upstream saw %v; want only the look-ups %v", h.ghl.methods, want)
	}
}

func searchAudit(h *harness, op string) ([]audit.Record, error) {
	return audit.Search(context.Background(), h.Server.DB, audit.Query{Operation: op})
}

// A header value carrying a carriage return or a NUL is refused by net/http
// itself (a plain 400, before any handler runs), and a folded header line
// arrives unfolded: either way nothing with a line break reaches GHL.
func TestHeaderWithLineBreakNeverForwarded(t *testing.T) {
	h := start(t, nil)
	key := h.Key(t, auth.CreateRequest{Name: "web", Scopes: []string{"contacts.readonly"}})
	for _, raw := range []string{
		"GET /contacts/c-loc1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key + "\r\nX-Evil: a\rInjected: 1\r\n\r\n",
		"GET /contacts/c-loc1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key + "\r\nX-Evil: a\x00b\r\n\r\n",
	} {
		conn, err := net.Dial("tcp", h.HTTP.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conn.Write([]byte(raw)) //nolint:errcheck
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		conn.Close()
		if err != nil {
			t.Fatalf("read answer: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("header with %q = %d; want 400", raw[len(raw)-12:], resp.StatusCode)
		}
	}
	if h.ghl.calls.Load() != 0 {
		t.Errorf("GHL was called %d times", h.ghl.calls.Load())
	}
}

// syncBuffer is a log destination the gateway's goroutines may share.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestAccessLogLine(t *testing.T) {
	ghl := newFakeGHL(t)
	var logs syncBuffer
	env := gatewaytest.Start(t, gatewaytest.Options{
		Upstream: ghl.URL,
		Env:      map[string]string{"GHL_PRIVATE_INTEGRATION_TOKEN": "pit-secret-123"},
		Logger:   slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo, AddSource: true})),
	})
	h := &harness{Env: env, ghl: ghl}
	reader := h.Key(t, auth.CreateRequest{Name: "reader", Scopes: []string{"contacts.readonly"}})
	a := h.do(t, "GET", "/contacts/c-loc1", reader, "")
	h.Flush(t)
	var line map[string]any
	for _, l := range strings.Split(logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "access" {
			if line != nil {
				t.Fatalf("two access lines for one request:\n%s", logs.String())
			}
			line = m
		}
	}
	if line == nil {
		t.Fatalf("no access line in the log:\n%s", logs.String())
	}
	want := map[string]any{"level": "INFO", "request_id": a.header.Get("X-Request-Id"), "method": "GET",
		"route": "/contacts/{contactId}", "operation_id": "get-contact", "stage": "production", "status": float64(200),
		"client": "reader", "decision": "allow", "reason": "allowed"}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("access line %s = %v; want %v", k, line[k], v)
		}
	}
	if _, ok := line["duration_ms"].(float64); !ok {
		t.Errorf("access line duration_ms = %v; want a number", line["duration_ms"])
	}
	if _, ok := line["time"].(string); !ok {
		t.Errorf("access line time = %v; want a time", line["time"])
	}
	// The line is built without the caller's position: even a handler that
	// adds source has none to add.
	if src, ok := line["source"]; ok {
		t.Errorf("access line source = %v; want none", src)
	}
}

// TestByIDReadLocationOnEveryPath checks the location of a by-id read is
// enforced on GHL's answer whichever way the answer is read: with the
// validator (which reads the location as it checks the answer), with an
// answer it refuses (read again for the location), and with validation off;
// and that a refused location wins over a broken answer.
func TestByIDReadLocationOnEveryPath(t *testing.T) {
	for _, tc := range []struct {
		name       string
		validation string
		badShape   bool
		ownStatus  int // reading the key's own location's contact
	}{
		{"validated answer", config.ValidationReport, false, 200},
		{"answer breaking the spec, report", config.ValidationReport, true, 200},
		{"answer breaking the spec, enforce", config.ValidationEnforce, true, 502},
		{"validation off", config.ValidationOff, false, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, func(c *config.Config) { c.ResponseValidation = tc.validation })
			h.ghl.badShape = tc.badShape
			bound := h.Key(t, auth.CreateRequest{Name: "bound", Scopes: []string{"contacts.readonly"}, Locations: []string{"loc1"}})
			if a := h.do(t, "GET", "/contacts/c-loc2", bound, ""); a.status != 403 || a.body["reason"] != "location_denied" || strings.Contains(a.raw, "ann") {
				t.Errorf("GET another location's contact = %d %s; want 403 location_denied without the contact", a.status, a.raw)
			}
			a := h.do(t, "GET", "/contacts/c-loc1", bound, "")
			if a.status != tc.ownStatus {
				t.Errorf("GET own location's contact = %d %s; want %d", a.status, a.raw, tc.ownStatus)
			}
			if wantViolations := tc.badShape && tc.validation == config.ValidationReport; (a.header.Get("X-Ghlgate-Response-Violations") != "") != wantViolations {
				t.Errorf("X-Ghlgate-Response-Violations = %q; want set: %v", a.header.Get("X-Ghlgate-Response-Violations"), wantViolations)
			}
			h.Flush(t)
			recs, err := audit.Search(context.Background(), h.Server.DB, audit.Query{Client: "bound"})
			if err != nil || len(recs) != 2 {
				t.Fatalf("audit = %d records, %v; want 2", len(recs), err)
			}
			if recs[0].Location != "loc2" || recs[0].Reason != "location_denied" || strings.Contains(recs[0].Detail, "breaks the spec") {
				t.Errorf("denied read's record: location %q, reason %q, detail %q; want loc2, location_denied and no violation noted", recs[0].Location, recs[0].Reason, recs[0].Detail)
			}
			if recs[1].Location != "loc1" {
				t.Errorf("own read's record location = %q; want loc1", recs[1].Location)
			}
		})
	}
}

// TestWorkerMetrics: with many connections open, API requests run on the
// pipeline's workers, and the metrics say how many there are and whether
// the pool ever ran full.
func TestWorkerMetrics(t *testing.T) {
	h := start(t, nil)
	qa := h.Key(t, auth.CreateRequest{Name: "qa", Scopes: []string{"contacts.readonly"}, Stages: []string{"staging"}})
	for range 300 { // as the server would report them; with few, no worker runs
		h.Server.TrackConn(nil, http.StateNew)
	}
	for range 3 {
		if a := h.do(t, "GET", "/staging/contacts/?locationId=ve9EPM428h8vShlRW1KT&limit=5", qa, ""); a.status != 200 {
			t.Fatalf("staging search = %d %s; want 200", a.status, a.raw)
		}
	}
	m := h.do(t, "GET", "/_gateway/metrics", "", "")
	// Three requests one after another: one worker, reused, never full.
	for _, want := range []string{"\nghlgate_workers 1\n", "\nghlgate_workers_queued_total 0\n", "\nghlgate_workers_full_total 0\n"} {
		if !strings.Contains(m.raw, want) {
			t.Errorf("metrics = %s; want a line %q", m.raw, strings.TrimSpace(want))
		}
	}
}
