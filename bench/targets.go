package bench

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rankr/ghlgate/gateway"
	"github.com/rankr/ghlgate/gateway/auth"
	"github.com/rankr/ghlgate/gateway/config"
	"github.com/rankr/ghlgate/gateway/jsonlog"
)

// Target names, in the order they are driven.
const (
	TargetDirect  = "direct"
	TargetBare    = "bare"
	TargetGateway = "ghlgate"
)

// pitEnv is the variable of ghlgate's GHL credential; the fake upstream
// accepts any token.
const pitEnv = "GHL_PRIVATE_INTEGRATION_TOKEN"

// server is a loopback HTTP server started by the harness.
type server struct {
	url string
	srv *http.Server
	ln  net.Listener
}

func serve(h http.Handler) (*server, error) { return serveTracked(h, nil) }

// serveGatewayHTTP serves a gateway as ghlgate serve does: with its
// connection hook (TrackConn), which decides where the pipeline runs.
func serveGatewayHTTP(gw *gateway.Server) (*server, error) {
	return serveTracked(gw.Handler(), gw.TrackConn)
}

func serveTracked(h http.Handler, connState func(net.Conn, http.ConnState)) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s := &server{url: "http://" + ln.Addr().String(), ln: ln,
		srv: &http.Server{Handler: h, ConnState: connState, ReadHeaderTimeout: 10 * time.Second, ErrorLog: discardLog()}}
	go s.srv.Serve(ln) //nolint:errcheck // ErrServerClosed on close
	return s, nil
}

func (s *server) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if s.srv.Shutdown(ctx) != nil {
		s.srv.Close()
	}
}

// upstreamTransport is the transport of the bare proxy: the settings of
// ghlgate's own network transport to GHL, so that the two proxies differ
// only in what they do per request.
func upstreamTransport() *http.Transport {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   128,
		MaxConnsPerHost:       128,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 15 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// bareProxy is the cheapest possible proxy: httputil.ReverseProxy with
// Rewrite and nothing else.
func bareProxy(upstream string) (http.Handler, error) {
	return bareProxyWith(upstream, upstreamTransport())
}

// bareProxyWith is bareProxy with another transport to the upstream.
func bareProxyWith(upstream string, transport http.RoundTripper) (http.Handler, error) {
	u, err := url.Parse(upstream)
	if err != nil {
		return nil, err
	}
	return &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(u); pr.Out.Host = u.Host },
		Transport: transport,
		ErrorLog:  discardLog(),
		// The cheapest proxy pools its copy buffers, as ghlgate's does;
		// without a pool it would allocate 32 KiB per request and flatter
		// the ratio.
		BufferPool: &copyBuffers{},
	}, nil
}

// copyBuffers is a BufferPool of 32 KiB buffers (ReverseProxy's own size),
// held as array pointers so that neither Get nor Put allocates.
type copyBuffers struct{ p sync.Pool }

const bareCopyBuffer = 32 << 10

func (c *copyBuffers) Get() []byte {
	if b, ok := c.p.Get().(*[bareCopyBuffer]byte); ok {
		return b[:]
	}
	return new([bareCopyBuffer]byte)[:]
}

func (c *copyBuffers) Put(b []byte) {
	if cap(b) >= bareCopyBuffer {
		c.p.Put((*[bareCopyBuffer]byte)(b[:bareCopyBuffer]))
	}
}

// gatewayConfig writes the configuration of the benchmarked gateway to dir
// and returns its path: production defaults (response validation report,
// audit to the store and a JSON-lines file), the fake upstream as GHL, and
// rate limits set far above the benchmark's load so that they are evaluated
// but never refuse.
func gatewayConfig(dir, upstream string) (string, error) {
	yaml := fmt.Sprintf(`listen: 127.0.0.1:0
data_dir: %q
upstream:
  base_url: %q
audit:
  file: %q
ratelimit:
  default:
    location: {max: 1000000000, interval: 1s, daily: 0}
    client: {max: 1000000000, interval: 1s, daily: 0}
`, dir, upstream, filepath.Join(dir, "audit.jsonl"))
	path := filepath.Join(dir, "ghlgate.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		return "", fmt.Errorf("write gateway config: %w", err)
	}
	return path, nil
}

// openGateway opens a gateway exactly as `ghlgate serve` does, from the
// config file at path, and creates the benchmark's client key.
func openGateway(ctx context.Context, path string, log *slog.Logger) (*gateway.Server, string, error) {
	return openGatewayWith(ctx, path, log, nil)
}

// openGatewayWith is openGateway with another transport to GHL (nil: the
// network, as in production).
func openGatewayWith(ctx context.Context, path string, log *slog.Logger, upstream http.RoundTripper) (*gateway.Server, string, error) {
	env := func(k string) string {
		if k == pitEnv {
			return "pit-bench-token"
		}
		return ""
	}
	cfg, err := config.Load(path, env)
	if err != nil {
		return nil, "", err
	}
	if err := cfg.Validate(); err != nil {
		return nil, "", fmt.Errorf("gateway config: %w", err)
	}
	s, err := gateway.Open(ctx, cfg, gateway.OpenOptions{Getenv: env, Logger: log, Upstream: upstream})
	if err != nil {
		return nil, "", fmt.Errorf("open gateway: %w", err)
	}
	key, _, err := s.Keys.Create(ctx, auth.CreateRequest{Name: "rankr-bench",
		Scopes: []string{"contacts.readonly", "contacts.write"}, Locations: []string{benchLocation}})
	if err != nil {
		s.Close()
		return nil, "", fmt.Errorf("create bench key: %w", err)
	}
	return s, key, nil
}

// accessLogger is the production access log (JSON, info) written nowhere:
// its formatting cost is part of the figures, a terminal's is not.
func accessLogger() *slog.Logger {
	return slog.New(jsonlog.NewHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func discardLog() *log.Logger { return log.New(io.Discard, "", 0) }
