package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rankr/ghlgate/gateway"
	"github.com/rankr/ghlgate/gateway/audit"
	"github.com/rankr/ghlgate/gateway/auth"
	"github.com/rankr/ghlgate/gateway/config"
	"github.com/rankr/ghlgate/gateway/gatewaytest"
	"github.com/rankr/ghlgate/store/storetest"
)

// Three gateways (separate processes' worth of state: own limiter, own
// Redis client, own store) share one location budget through Redis: 300
// requests for one location inside one window, exactly 100 pass.
func TestThreeGatewaysShareOneRedisBudget(t *testing.T) {
	redisURL := storetest.RedisURL(t)
	ghl := newFakeGHL(t)
	prefix := fmt.Sprintf("ghlgate-test-%d:", time.Now().UnixNano())
	var gws []*harness
	var keys []string
	for i := range 3 {
		env := gatewaytest.Start(t, gatewaytest.Options{
			Upstream: ghl.URL,
			Env:      map[string]string{"GHL_PRIVATE_INTEGRATION_TOKEN": "pit"},
			Configure: func(c *config.Config) {
				c.RateLimit.RedisURL = redisURL
				c.RateLimit.KeyPrefix = prefix
			},
		})
		h := &harness{Env: env, ghl: ghl}
		gws = append(gws, h)
		keys = append(keys, h.Key(t, auth.CreateRequest{Name: fmt.Sprintf("client-%d", i), Scopes: []string{"contacts.readonly"}}))
	}
	var ok, limited, other atomic.Int64
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for i := range 300 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := gws[i%3]
			req, _ := http.NewRequest("GET", h.URL+"/contacts/?locationId=shared-loc", nil)
			req.Header.Set("Authorization", "Bearer "+keys[i%3])
			resp, err := client.Do(req)
			if err != nil {
				other.Add(1)
				return
			}
			resp.Body.Close()
			switch resp.StatusCode {
			case 200:
				ok.Add(1)
			case 429:
				limited.Add(1)
			default:
				other.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 100 || limited.Load() != 200 || other.Load() != 0 {
		t.Errorf("300 requests over 3 gateways = %d ok, %d limited, %d other; want exactly 100, 200, 0", ok.Load(), limited.Load(), other.Load())
	}
	if got := ghl.calls.Load(); got != 100 {
		t.Errorf("GHL saw %d requests; want 100", got)
	}
}

// Staging lives in the data store: a restarted gateway serves what was
// created before.
func TestStagingSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	configure := func(c *config.Config) { c.DataDir = dir }
	first := gatewaytest.Start(t, gatewaytest.Options{Configure: configure})
	key := first.Key(t, auth.CreateRequest{Name: "qa", Scopes: []string{"contacts.readonly", "contacts.write"}, Stages: []string{"staging"}})
	h := &harness{Env: first}
	r := h.do(t, "POST", "/staging/contacts/", key, `{"locationId":"ve9EPM428h8vShlRW1KT","firstName":"Persist","email":"persist@example.com"}`)
	if r.status != 201 {
		t.Fatalf("create = %d %s", r.status, r.raw)
	}
	id := r.body["contact"].(map[string]any)["id"].(string)
	first.HTTP.Close()
	if err := first.Server.Close(); err != nil {
		t.Fatalf("close first gateway: %v", err)
	}
	second := gatewaytest.Start(t, gatewaytest.Options{Configure: configure})
	h2 := &harness{Env: second}
	if r := h2.do(t, "GET", "/staging/contacts/"+id, key, ""); r.status != 200 {
		t.Errorf("after restart = %d %s; want the contact created before", r.status, r.raw)
	}
}

// The whole pipeline on PostgreSQL: keys, audit, the staging snapshot and
// the sync events all live there.
func TestPostgresStore(t *testing.T) {
	pg := storetest.PostgresURL(t)
	env := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *config.Config) { c.Store.PostgresURL = pg }})
	h := &harness{Env: env}
	key := h.Key(t, auth.CreateRequest{Name: "qa", Scopes: []string{"contacts.readonly", "contacts.write"}, Stages: []string{"staging"}})
	r := h.do(t, "POST", "/staging/contacts/", key, `{"locationId":"ve9EPM428h8vShlRW1KT","firstName":"Pg","email":"pg@example.com"}`)
	if r.status != 201 {
		t.Fatalf("create on postgres = %d %s", r.status, r.raw)
	}
	h.Flush(t)
	recs, err := audit.Search(context.Background(), env.Server.DB, audit.Query{Client: "qa"})
	if err != nil || len(recs) != 1 {
		t.Errorf("audit on postgres = %d records, %v; want 1", len(recs), err)
	}
	evs, err := env.Server.Events.List(context.Background(), eventsQuery())
	if err != nil || len(evs) == 0 {
		t.Errorf("events on postgres = %d, %v; want the create", len(evs), err)
	}
}

// Faults injected in the staging mock come through the gateway as GHL's
// failures would: its status, or a dropped connection as 502.
func TestMockFaultsThroughTheGateway(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *config.Config) { c.Upstream.Retry.Retries = -1 }})
	h := &harness{Env: env}
	key := h.Key(t, auth.CreateRequest{Name: "qa", Scopes: []string{"contacts.readonly"}, Stages: []string{"staging"}})
	tests := []struct {
		fault      string
		wantStatus int
	}{
		{"status=503", 503},
		{"reset", 502},
		// GHL's 429 holds the location: the next request is refused by the
		// gateway itself.
		{"status=429", 429},
		{"", 429},
	}
	for _, tc := range tests {
		hdr := []string{}
		if tc.fault != "" {
			hdr = []string{"X-Mock-Fault", tc.fault}
		}
		r := h.do(t, "GET", "/staging/contacts/?locationId=ve9EPM428h8vShlRW1KT&limit=1", key, "", hdr...)
		if r.status != tc.wantStatus {
			t.Errorf("fault %s = %d %s; want %d", tc.fault, r.status, r.raw, tc.wantStatus)
		}
	}
}

func TestDashboard(t *testing.T) {
	h := start(t, nil)
	admin := h.Key(t, auth.CreateRequest{Name: "ops", Scopes: []string{"gateway.admin"}})
	reader := h.Key(t, auth.CreateRequest{Name: "reader", Scopes: []string{"contacts.readonly"}})
	h.do(t, "DELETE", "/contacts/c-loc1", reader, "")
	page := h.do(t, "GET", "/_gateway/dashboard", "", "")
	if page.status != 200 || !strings.Contains(page.raw, "<title>ghlgate dashboard</title>") || strings.Contains(page.raw, "http://") || strings.Contains(page.raw, "https://") {
		t.Errorf("dashboard page = %d; want the self-contained page with no external assets", page.status)
	}
	if r := h.do(t, "GET", "/_gateway/dashboard/data", reader, ""); r.status != 403 {
		t.Errorf("dashboard data without gateway.admin = %d; want 403", r.status)
	}
	h.Flush(t)
	r := h.do(t, "GET", "/_gateway/dashboard/data", admin, "")
	if r.status != 200 || !strings.Contains(r.raw, `"reason":"scope_missing"`) || !strings.Contains(r.raw, `"credential":"pit"`) {
		t.Errorf("dashboard data = %d %s; want the scope_missing refusal and the credential", r.status, r.raw)
	}
}

// A configured fault rule makes the mock misbehave without any header.
func TestConfiguredMockFault(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *config.Config) {
		c.Upstream.Retry.Retries = -1
		c.Mock.Faults = []config.FaultRule{{Method: "GET", PathPrefix: "/contacts/", Fault: "status=503", Every: 2}}
	}})
	h := &harness{Env: env}
	key := h.Key(t, auth.CreateRequest{Name: "qa", Scopes: []string{"contacts.readonly"}, Stages: []string{"staging"}})
	var got []int
	for range 4 {
		got = append(got, h.do(t, "GET", "/staging/contacts/?locationId=ve9EPM428h8vShlRW1KT&limit=1", key, "").status)
	}
	if fmt.Sprint(got) != "[200 503 200 503]" {
		t.Errorf("statuses with a fault every 2nd request = %v; want [200 503 200 503]", got)
	}
	bad := config.Default()
	bad.Mock.Faults = []config.FaultRule{{Fault: "status=teapot"}}
	if _, err := gateway.MockFaults(bad); err == nil || !strings.Contains(err.Error(), "mock.faults") {
		t.Errorf("MockFaults(typo) = %v; want an error naming mock.faults", err)
	}
}

// With Redis unreachable, the metrics and /healthz say so.
func TestRedisDownShowsInMetricsAndHealth(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *config.Config) {
		c.RateLimit.RedisURL = "redis://127.0.0.1:1/0"
		c.RateLimit.OnRedisError = "fail_closed"
	}})
	h := &harness{Env: env}
	key := h.Key(t, auth.CreateRequest{Name: "qa", Scopes: []string{"contacts.readonly"}, Stages: []string{"staging"}})
	if r := h.do(t, "GET", "/staging/contacts/?locationId=ve9EPM428h8vShlRW1KT", key, ""); r.status != 503 || r.body["reason"] != "dependency_unavailable" {
		t.Errorf("request with Redis down, fail_closed = %d %s; want 503 dependency_unavailable", r.status, r.raw)
	}
	hz := h.do(t, "GET", "/healthz", "", "")
	if hz.body["status"] != "degraded" {
		t.Errorf("healthz = %s; want degraded", hz.raw)
	}
	m := h.do(t, "GET", "/_gateway/metrics", "", "")
	if !strings.Contains(m.raw, `ghlgate_ratelimit_backend_up{backend="redis"} 0`) {
		t.Errorf("metrics = %s; want the Redis backend down", m.raw)
	}
}
