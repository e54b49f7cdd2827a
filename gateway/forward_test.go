package gateway_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rankr/ghlgate/gateway/auth"
	"github.com/rankr/ghlgate/gateway/config"
	"github.com/rankr/ghlgate/gateway/gatewaytest"
)

// TestUpstreamTimeoutBoundsTheWholeExchange: GHL sends its headers and part
// of a contact, then stalls. upstream.timeout bounds the exchange, the body
// included: the client gets 504 upstream_timeout, not a hung request.
func TestUpstreamTimeoutBoundsTheWholeExchange(t *testing.T) {
	release := make(chan struct{})
	ghl := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"contact":{"id":"c-1",`)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer ghl.Close()
	defer close(release)
	env := gatewaytest.Start(t, gatewaytest.Options{
		Upstream:  ghl.URL,
		Env:       map[string]string{"GHL_PRIVATE_INTEGRATION_TOKEN": "pit-secret-123"},
		Configure: func(c *config.Config) { c.Upstream.Timeout = 200 * time.Millisecond },
	})
	key := env.Key(t, auth.CreateRequest{Name: "reader", Scopes: []string{"contacts.readonly"}})
	req, _ := http.NewRequest(http.MethodGet, env.URL+"/contacts/c-1", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	client := &http.Client{Timeout: 10 * time.Second}
	began := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET /contacts/c-1: %v (the gateway did not answer)", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("status = %d %s; want 504", resp.StatusCode, body)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("the answer took %v with a 200ms upstream timeout", took)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q; want application/problem+json", ct)
	}
}
