package resilience

import (
	"context"
	"net"
	"net/http"
	"time"
)

// Timeouts bound each phase of an upstream exchange.
type Timeouts struct {
	// Connect bounds the TCP dial. Default: 5s.
	Connect time.Duration `yaml:"connect"`
	// TLSHandshake bounds the TLS handshake. Default: 5s.
	TLSHandshake time.Duration `yaml:"tls_handshake"`
	// ResponseHeader bounds the wait for the response headers after the
	// request is written. Default: 15s.
	ResponseHeader time.Duration `yaml:"response_header"`
	// IdleConn is how long an idle keep-alive connection is kept. Default: 90s.
	IdleConn time.Duration `yaml:"idle_conn"`
	// Exchange bounds the whole exchange, retries and their waits included;
	// apply it with WithDeadline. Default: 30s.
	Exchange time.Duration `yaml:"exchange"`
}

// DefaultTimeouts returns the defaults documented on Timeouts.
func DefaultTimeouts() Timeouts {
	return Timeouts{Connect: 5 * time.Second, TLSHandshake: 5 * time.Second,
		ResponseHeader: 15 * time.Second, IdleConn: 90 * time.Second, Exchange: 30 * time.Second}
}

func (t Timeouts) withDefaults() Timeouts {
	d := DefaultTimeouts()
	if t.Connect <= 0 {
		t.Connect = d.Connect
	}
	if t.TLSHandshake <= 0 {
		t.TLSHandshake = d.TLSHandshake
	}
	if t.ResponseHeader <= 0 {
		t.ResponseHeader = d.ResponseHeader
	}
	if t.IdleConn <= 0 {
		t.IdleConn = d.IdleConn
	}
	if t.Exchange <= 0 {
		t.Exchange = d.Exchange
	}
	return t
}

// NewBaseTransport returns an http.Transport with t's phase timeouts, to be
// wrapped by NewTransport.
func NewBaseTransport(t Timeouts) *http.Transport {
	t = t.withDefaults()
	d := &net.Dialer{Timeout: t.Connect, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       t.IdleConn,
		TLSHandshakeTimeout:   t.TLSHandshake,
		ResponseHeaderTimeout: t.ResponseHeader,
		ExpectContinueTimeout: time.Second,
	}
}

// WithDeadline bounds ctx by the Exchange timeout.
func (t Timeouts) WithDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, t.withDefaults().Exchange)
}
