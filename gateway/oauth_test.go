package gateway_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/rankr/ghlgate/gateway/auth"
	"github.com/rankr/ghlgate/gateway/config"
	"github.com/rankr/ghlgate/gateway/credential"
	"github.com/rankr/ghlgate/gateway/gatewaytest"
)

// ghlWithOAuth is GHL with its token endpoint: access tokens it has revoked
// are answered 401, and every refresh rotates the refresh token.
type ghlWithOAuth struct {
	*httptest.Server
	mu        sync.Mutex
	valid     map[string]bool
	refreshes []string // refresh tokens presented, in order
	n         int
}

func newGHLWithOAuth(t *testing.T) *ghlWithOAuth {
	g := &ghlWithOAuth{valid: map[string]bool{}}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		defer g.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/oauth/token" {
			r.ParseForm() //nolint:errcheck
			g.refreshes = append(g.refreshes, r.Form.Get("refresh_token"))
			g.n++
			at := "at-" + string(rune('0'+g.n))
			g.valid[at] = true
			io.WriteString(w, `{"access_token":"`+at+`","token_type":"Bearer","expires_in":86399,"refresh_token":"rt-`+string(rune('0'+g.n+1))+`","scope":"contacts.readonly contacts.write","userType":"Location","userId":"u"}`)
			return
		}
		tok := r.Header.Get("Authorization")
		if len(tok) < 8 || !g.valid[tok[7:]] {
			w.WriteHeader(401)
			io.WriteString(w, `{"statusCode":401,"message":"Invalid token: access token is invalid","error":"Unauthorized"}`)
			return
		}
		io.WriteString(w, `{"contact":{"id":"c1","locationId":"loc1"}}`)
	}))
	t.Cleanup(g.Close)
	return g
}

func (g *ghlWithOAuth) revokeAll() {
	g.mu.Lock()
	clear(g.valid)
	g.mu.Unlock()
}

// ghlgate refreshes its OAuth token itself — at first use, and again when GHL
// answers 401 — retries once, and stores each rotated refresh token before
// using it, so a restart continues with the newest one.
func TestOAuthRefreshOnExpiryAnd401(t *testing.T) {
	ghl := newGHLWithOAuth(t)
	clk := &testClock{t: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)}
	env := gatewaytest.Start(t, gatewaytest.Options{
		Upstream: ghl.URL, Now: clk.Now,
		Env: map[string]string{"GHL_CLIENT_SECRET": "cs", "GHL_REFRESH_TOKEN": "rt-1"},
		Configure: func(c *config.Config) {
			c.Upstream.Credential.OAuth.ClientID = "app-client"
		},
	})
	h := &harness{Env: env}
	key := h.Key(t, auth.CreateRequest{Name: "web", Scopes: []string{"contacts.readonly"}})
	if r := h.do(t, "GET", "/contacts/c1", key, ""); r.status != 200 {
		t.Fatalf("first call = %d %s; want 200 after the first refresh", r.status, r.raw)
	}
	// GHL revokes the token: the gateway refreshes and retries once.
	ghl.revokeAll()
	if r := h.do(t, "GET", "/contacts/c1", key, ""); r.status != 200 {
		t.Fatalf("call after a 401 = %d %s; want 200 after refresh and retry", r.status, r.raw)
	}
	// The token expires: the gateway refreshes before calling.
	clk.Add(25 * time.Hour)
	if r := h.do(t, "GET", "/contacts/c1", key, ""); r.status != 200 {
		t.Fatalf("call after expiry = %d %s; want 200", r.status, r.raw)
	}
	ghl.mu.Lock()
	got := append([]string(nil), ghl.refreshes...)
	ghl.mu.Unlock()
	want := []string{"rt-1", "rt-2", "rt-3"}
	if len(got) != len(want) {
		t.Fatalf("refresh tokens presented = %v; want %v (each rotated one used once)", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("refresh %d presented %q; want %q", i, got[i], want[i])
		}
	}
	st, err := credential.NewSQLStore(context.Background(), env.Server.DB, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := st.Load(context.Background(), "default")
	if err != nil || tok.RefreshToken.Reveal() != "rt-4" {
		t.Errorf("stored refresh token = %v, %v; want the newest, rt-4", tok.RefreshToken.Reveal(), err)
	}
}
