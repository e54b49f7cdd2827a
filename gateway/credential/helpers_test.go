package credential_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/rankr/ghlgate/gateway/credential"
)

const (
	tokenURL     = "https://ghl.test/oauth/token"
	upstreamURL  = "https://ghl.test/contacts/abc"
	clientID     = "app-client-id"
	clientSecret = "shh-client-secret-value"
)

// clock is an injected clock that only moves when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// tokenEndpoint fakes GHL's POST /oauth/token: single-use refresh tokens that
// rotate on every use (rt-0 -> rt-1 -> ...), access tokens at-1, at-2, ...
type tokenEndpoint struct {
	mu       sync.Mutex
	valid    string   // the one refresh token it accepts now
	n        int      // tokens issued
	received []string // refresh tokens received, in order
	forms    []map[string]string
	expires  int64
	// fail, when set, answers every call with this status and body.
	failStatus int
	failBody   string
	// gate, when set, holds every call until it is closed (or the call's
	// context ends).
	gate chan struct{}
}

func newTokenEndpoint(first string) *tokenEndpoint {
	return &tokenEndpoint{valid: first, expires: 86399}
}

func (e *tokenEndpoint) respond(req *http.Request) (*http.Response, error) {
	if err := req.ParseForm(); err != nil {
		return httpmock.NewStringResponse(400, `{"error":"invalid_request"}`), nil
	}
	e.mu.Lock()
	gate := e.gate
	e.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	form := map[string]string{}
	for k := range req.PostForm {
		form[k] = req.PostForm.Get(k)
	}
	e.forms = append(e.forms, form)
	e.received = append(e.received, form["refresh_token"])
	if e.failStatus != 0 {
		return httpmock.NewStringResponse(e.failStatus, e.failBody), nil
	}
	if form["client_id"] != clientID || form["client_secret"] != clientSecret {
		return httpmock.NewStringResponse(401, `{"statusCode":401,"message":"Invalid client credentials","error":"Unauthorized"}`), nil
	}
	if form["grant_type"] != "refresh_token" || form["refresh_token"] != e.valid {
		return httpmock.NewStringResponse(400, `{"error":"invalid_grant","error_description":"refresh token invalid"}`), nil
	}
	e.n++
	e.valid = fmt.Sprintf("rt-%d", e.n)
	body, _ := json.Marshal(map[string]any{
		"access_token": fmt.Sprintf("at-%d", e.n), "token_type": "Bearer", "expires_in": e.expires,
		"refresh_token": e.valid, "scope": "contacts.readonly contacts.write", "userType": "Location",
		"locationId": "loc-1", "companyId": "comp-1", "userId": "u-1",
	})
	resp := httpmock.NewBytesResponse(200, body)
	resp.Header.Set("Content-Type", "application/json")
	return resp, nil
}

func (e *tokenEndpoint) calls() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.received)
}

func (e *tokenEndpoint) receivedTokens() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.received...)
}

// failingStore wraps a TokenStore and fails Save while failSave is set.
type failingStore struct {
	credential.TokenStore
	failSave atomic.Bool
	saves    atomic.Int64
}

var errDiskFull = errors.New("disk full")

func (s *failingStore) Save(ctx context.Context, name string, t credential.Token) error {
	s.saves.Add(1)
	if s.failSave.Load() {
		return errDiskFull
	}
	return s.TokenStore.Save(ctx, name, t)
}

// lockedBuffer collects log output from concurrent goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func debugLogger(w *lockedBuffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// rig is an OAuth source over a mock transport that holds both the token
// endpoint and the upstream.
type rig struct {
	mt    *httpmock.MockTransport
	ep    *tokenEndpoint
	clk   *clock
	store credential.TokenStore
	log   *lockedBuffer
}

func newRig(t *testing.T, store credential.TokenStore) *rig {
	t.Helper()
	if store == nil {
		store = credential.NewMemoryStore()
	}
	r := &rig{mt: httpmock.NewMockTransport(), ep: newTokenEndpoint("rt-0"), clk: newClock(), store: store, log: &lockedBuffer{}}
	r.mt.RegisterResponder(http.MethodPost, tokenURL, r.ep.respond)
	return r
}

func (r *rig) oauth(t *testing.T, initial string) *credential.OAuth {
	t.Helper()
	o, err := credential.NewOAuth(credential.OAuthParams{
		ClientID:      clientID,
		ClientSecret:  clientSecret,
		RefreshToken:  credential.Secret(initial),
		TokenURL:      tokenURL,
		UserType:      credential.UserTypeLocation,
		RefreshBefore: 30 * time.Second,
		Store:         r.store,
		HTTPClient:    &http.Client{Transport: r.mt},
		Now:           r.clk.Now,
		Logger:        debugLogger(r.log),
	})
	if err != nil {
		t.Fatalf("NewOAuth() = %v; want nil", err)
	}
	return o
}

func mustToken(t *testing.T, src credential.Source) string {
	t.Helper()
	tok, err := src.Token(context.Background())
	if err != nil {
		t.Fatalf("Token() error = %v; want nil", err)
	}
	return tok.Reveal()
}
