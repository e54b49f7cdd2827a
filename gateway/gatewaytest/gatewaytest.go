// Package gatewaytest starts a real ghlgate, with its store in a temporary
// directory and its staging mock seeded, behind an httptest.Server, for
// end-to-end tests of the gateway and of the contract suite.
package gatewaytest

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rankr/ghlgate/gateway"
	"github.com/rankr/ghlgate/gateway/auth"
	"github.com/rankr/ghlgate/gateway/config"
)

// Options adjust the gateway under test.
type Options struct {
	// Configure changes the defaults before validation.
	Configure func(*config.Config)
	// Upstream is production GHL (an httptest.Server's URL); empty keeps
	// the default base URL, which tests must not call.
	Upstream string
	// Transport replaces the network transport to production (httpmock).
	Transport http.RoundTripper
	// Env is the environment the gateway reads (credentials).
	Env map[string]string
	// Now is the gateway's clock; default time.Now.
	Now func() time.Time
	// Logger receives the gateway's log; default discards it.
	Logger *slog.Logger
}

// Env is a running gateway.
type Env struct {
	URL    string
	Server *gateway.Server
	Config *config.Config
	HTTP   *httptest.Server
}

// Start runs a gateway until the test ends.
func Start(t testing.TB, opts Options) *Env {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Audit.File = "-"
	if opts.Upstream != "" {
		cfg.Upstream.BaseURL = opts.Upstream
	}
	if opts.Configure != nil {
		opts.Configure(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("gateway config: %v", err)
	}
	env := opts.Env
	s, err := gateway.Open(context.Background(), cfg, gateway.OpenOptions{
		Getenv:   func(k string) string { return env[k] },
		Upstream: opts.Transport,
		Now:      opts.Now,
		Logger:   opts.Logger,
	})
	if err != nil {
		t.Fatalf("open gateway: %v", err)
	}
	// Served as ghlgate serve serves it: with its connection hook.
	hs := httptest.NewUnstartedServer(s.Handler())
	hs.Config.ConnState = s.TrackConn
	hs.Start()
	t.Cleanup(func() {
		hs.Close()
		s.Close()
	})
	return &Env{URL: hs.URL, Server: s, Config: cfg, HTTP: hs}
}

// Key creates a client key and returns its secret.
func (e *Env) Key(t testing.TB, req auth.CreateRequest) string {
	t.Helper()
	secret, _, err := e.Server.Keys.Create(context.Background(), req)
	if err != nil {
		t.Fatalf("create key %s: %v", req.Name, err)
	}
	return secret
}

// Flush waits for the requests under way to be recorded, then writes the
// queued audit records, so a test can read them.
func (e *Env) Flush(t testing.TB) {
	t.Helper()
	e.Server.WaitIdle()
	if err := e.Server.Trail.Flush(context.Background()); err != nil {
		t.Fatalf("flush audit: %v", err)
	}
}
