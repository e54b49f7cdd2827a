package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rankr/ghlgate/events"
	"github.com/rankr/ghlgate/gateway/auth"
	"github.com/rankr/ghlgate/gateway/config"
	"github.com/rankr/ghlgate/gateway/gatewaytest"
	"github.com/rankr/ghlgate/gateway/ratelimit"
)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func startClocked(t *testing.T, clk *testClock, configure func(*config.Config)) *harness {
	ghl := newFakeGHL(t)
	env := gatewaytest.Start(t, gatewaytest.Options{
		Upstream: ghl.URL, Now: clk.Now, Configure: configure,
		Env: map[string]string{"GHL_PRIVATE_INTEGRATION_TOKEN": "pit-secret-123"},
	})
	return &harness{Env: env, ghl: ghl}
}

// The per-location budget is GHL's, whichever client spends it: two clients
// share it, the next request is refused with GHL's headers and Retry-After,
// never reaches GHL, and the window slides exactly.
func TestLocationBudgetSharedAndExact(t *testing.T) {
	clk := &testClock{t: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)}
	h := startClocked(t, clk, func(c *config.Config) {
		c.RateLimit.Default.Location = &ratelimit.Rule{Max: 5, Interval: 10 * time.Second, Daily: 1000}
	})
	a := h.Key(t, auth.CreateRequest{Name: "a", Scopes: []string{"contacts.readonly"}})
	b := h.Key(t, auth.CreateRequest{Name: "b", Scopes: []string{"contacts.readonly"}})
	for i := range 5 {
		key := a
		if i%2 == 1 {
			key = b
		}
		r := h.do(t, "GET", "/contacts/?locationId=loc1", key, "")
		if r.status != 200 {
			t.Fatalf("request %d = %d %s; want 200", i, r.status, r.raw)
		}
		if got, want := r.header.Get("X-RateLimit-Remaining"), []string{"4", "3", "2", "1", "0"}[i]; got != want {
			t.Errorf("request %d X-RateLimit-Remaining = %q; want %q", i, got, want)
		}
		if r.header.Get("X-RateLimit-Max") != "5" || r.header.Get("X-RateLimit-Interval-Milliseconds") != "10000" {
			t.Errorf("request %d headers = %v; want max 5 per 10000 ms", i, r.header)
		}
		clk.Add(time.Second)
	}
	calls := h.ghl.calls.Load()
	r := h.do(t, "GET", "/contacts/?locationId=loc1", b, "")
	if r.status != 429 || r.body["reason"] != "rate_limited" || r.header.Get("Retry-After") == "" {
		t.Fatalf("6th request = %d %s (Retry-After %q); want 429 rate_limited with Retry-After", r.status, r.raw, r.header.Get("Retry-After"))
	}
	if r.body["limit"] != "location" {
		t.Errorf("limit = %v; want location", r.body["limit"])
	}
	if h.ghl.calls.Load() != calls {
		t.Error("a refused request reached GHL")
	}
	// Another location has its own budget.
	if r := h.do(t, "GET", "/contacts/?locationId=loc2", b, ""); r.status != 200 {
		t.Errorf("other location = %d; want 200", r.status)
	}
	// At 10 s after the first request, exactly one slot frees.
	clk.Add(5 * time.Second)
	if r := h.do(t, "GET", "/contacts/?locationId=loc1", a, ""); r.status != 200 {
		t.Errorf("after the first slot left the window = %d %s; want 200", r.status, r.raw)
	}
	if r := h.do(t, "GET", "/contacts/?locationId=loc1", a, ""); r.status != 429 {
		t.Errorf("second request in the same instant = %d; want 429 (only one slot freed)", r.status)
	}
}

// When GHL itself answers 429, the location is held until its interval
// ends: the gateway answers 429 without calling GHL again.
func TestUpstream429Honoured(t *testing.T) {
	clk := &testClock{t: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)}
	h := startClocked(t, clk, func(c *config.Config) { c.Upstream.Retry.Retries = -1 })
	h.ghl.limited.Store(true)
	key := h.Key(t, auth.CreateRequest{Name: "a", Scopes: []string{"contacts.readonly"}})
	r := h.do(t, "GET", "/contacts/?locationId=loc1", key, "")
	if r.status != 429 {
		t.Fatalf("GHL's 429 = %d; want it passed on", r.status)
	}
	h.ghl.limited.Store(false)
	calls := h.ghl.calls.Load()
	r = h.do(t, "GET", "/contacts/?locationId=loc1", key, "")
	if r.status != 429 || r.body["reason"] != "rate_limited" {
		t.Fatalf("next request = %d %s; want the gateway's own 429", r.status, r.raw)
	}
	if h.ghl.calls.Load() != calls {
		t.Error("the held location was called again before GHL's interval ended")
	}
	clk.Add(11 * time.Second)
	if r := h.do(t, "GET", "/contacts/?locationId=loc1", key, ""); r.status != 200 {
		t.Errorf("after the interval = %d %s; want 200", r.status, r.raw)
	}
}

func TestIdempotencyKey(t *testing.T) {
	h := start(t, nil)
	key := h.Key(t, auth.CreateRequest{Name: "w", Scopes: []string{"contacts.write"}})
	body := `{"locationId":"loc1","firstName":"ann"}`
	first := h.do(t, "POST", "/contacts/", key, body, "Idempotency-Key", "k-1")
	if first.status != 201 {
		t.Fatalf("first POST = %d %s; want 201", first.status, first.raw)
	}
	calls := h.ghl.calls.Load()
	again := h.do(t, "POST", "/contacts/", key, body, "Idempotency-Key", "k-1")
	if again.status != 201 || again.raw != first.raw || again.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("repeat = %d %s replayed=%q; want the first answer replayed", again.status, again.raw, again.header.Get("Idempotent-Replayed"))
	}
	if h.ghl.calls.Load() != calls {
		t.Error("a replayed POST reached GHL")
	}
	other := h.do(t, "POST", "/contacts/", key, `{"locationId":"loc1","firstName":"bob"}`, "Idempotency-Key", "k-1")
	if other.status != 422 || other.body["reason"] != "idempotency_key_reused" {
		t.Errorf("same key, other body = %d %s; want 422 idempotency_key_reused", other.status, other.raw)
	}
}

// A change through staging becomes one sync event; the mock's GHL-style
// webhook for it comes back signed, is verified, and is recorded on that
// event as its echo instead of becoming a second one.
func TestCaptureAndWebhookEcho(t *testing.T) {
	h := start(t, nil)
	qa := h.Key(t, auth.CreateRequest{Name: "qa", Scopes: []string{"contacts.readonly", "contacts.write"}, Stages: []string{"staging"}})
	reader := h.Key(t, auth.CreateRequest{Name: "feed", Scopes: []string{"events.read"}})
	r := h.do(t, "POST", "/staging/contacts/", qa, `{"locationId":"ve9EPM428h8vShlRW1KT","firstName":"Echo","email":"echo@example.com"}`)
	if r.status != 201 {
		t.Fatalf("create = %d %s", r.status, r.raw)
	}
	id := r.body["contact"].(map[string]any)["id"].(string)
	if err := h.Server.DrainMockWebhooks(context.Background()); err != nil {
		t.Fatalf("drain mock webhooks: %v", err)
	}
	if r := h.do(t, "GET", "/_gateway/events", qa, ""); r.status != 403 {
		t.Errorf("events without events.read = %d; want 403", r.status)
	}
	feed := h.do(t, "GET", "/_gateway/events?limit=50", reader, "")
	if feed.status != 200 {
		t.Fatalf("events = %d %s", feed.status, feed.raw)
	}
	var page struct {
		Events []events.Event `json:"events"`
	}
	if err := json.Unmarshal([]byte(feed.raw), &page); err != nil {
		t.Fatal(err)
	}
	var mine []events.Event
	for _, e := range page.Events {
		if e.ResourceID == id {
			mine = append(mine, e)
		}
	}
	if len(mine) != 1 {
		t.Fatalf("events for the new contact = %d (%s); want exactly one", len(mine), feed.raw)
	}
	e := mine[0]
	if e.Type != "contact.created" || e.Source != "gateway" || e.Stage != "staging" || e.Client != "qa" {
		t.Errorf("event = %s %s %s %s; want contact.created from the gateway, staging, qa", e.Type, e.Source, e.Stage, e.Client)
	}
	if e.ConfirmedByGHLAt == nil {
		t.Errorf("event has no confirmed_by_ghl_at; the mock's webhook should have been taken as its echo")
	}
	if !strings.Contains(string(e.Resource), "echo@example.com") {
		t.Errorf("event resource = %s; want the contact as created", e.Resource)
	}
}

// A webhook with no valid signature is refused and audited.
func TestWebhookSignatureRequired(t *testing.T) {
	h := start(t, nil)
	req, _ := http.NewRequest("POST", h.URL+"/webhooks/ghl", strings.NewReader(`{"type":"ContactCreate","locationId":"l","id":"c"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-ghl-signature", "bm90IGEgc2lnbmF0dXJl")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("unsigned webhook = %d; want 401", resp.StatusCode)
	}
	h.Flush(t)
	recs, _ := searchAudit(h, "ghl-webhook")
	if len(recs) != 1 || recs[0].Decision != "deny" {
		t.Errorf("webhook audit = %+v; want one denial", recs)
	}
}

func eventsQuery() events.Query { return events.Query{Limit: 100} }

func TestForecast(t *testing.T) {
	clk := &testClock{t: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)}
	h := startClocked(t, clk, nil)
	key := h.Key(t, auth.CreateRequest{Name: "a", Scopes: []string{"contacts.readonly"}, Locations: []string{"loc1"}})
	for range 10 {
		h.do(t, "GET", "/contacts/?locationId=loc1", key, "")
		clk.Add(time.Minute)
	}
	r := h.do(t, "GET", "/_gateway/limits/loc1", key, "")
	if r.status != 200 || r.body["daily_limit"] != float64(200000) || r.body["daily_remaining"] != float64(199990) {
		t.Errorf("forecast = %d %s; want GHL's daily 200000 with 10 spent", r.status, r.raw)
	}
	if r.body["exhausts_at"] == nil {
		t.Errorf("forecast = %s; want when the budget runs out at this rate", r.raw)
	}
	if r := h.do(t, "GET", "/_gateway/limits/loc2", key, ""); r.status != 403 {
		t.Errorf("forecast of another location = %d; want 403", r.status)
	}
}

// Each client's sandbox is its own GHL stand-in, with its own budgets.
func TestSandboxBudgetsPerClient(t *testing.T) {
	clk := &testClock{t: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)}
	h := startClocked(t, clk, func(c *config.Config) {
		c.RateLimit.Default.Location = &ratelimit.Rule{Max: 2, Interval: 10 * time.Second}
	})
	a := h.Key(t, auth.CreateRequest{Name: "a", Scopes: []string{"contacts.readonly"}, Stages: []string{"sandbox"}})
	b := h.Key(t, auth.CreateRequest{Name: "b", Scopes: []string{"contacts.readonly"}, Stages: []string{"sandbox"}})
	path := "/sandbox/contacts/?locationId=ve9EPM428h8vShlRW1KT&limit=1"
	for _, key := range []string{a, a, b, b} {
		if r := h.do(t, "GET", path, key, ""); r.status != 200 {
			t.Fatalf("within each sandbox's budget = %d %s; want 200", r.status, r.raw)
		}
	}
	if r := h.do(t, "GET", path, a, ""); r.status != 429 {
		t.Errorf("third request in a's sandbox = %d; want 429", r.status)
	}
}
