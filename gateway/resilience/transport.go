package resilience

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"
)

// GHL's rate-limit headers the retry logic reads.
const (
	headerInterval       = "X-RateLimit-Interval-Milliseconds"
	headerDailyRemaining = "X-RateLimit-Daily-Remaining"
)

// Options configure NewTransport. Zero fields take the defaults given.
type Options struct {
	// Retries is the most retries of one request (attempts = Retries+1).
	// Default: 2. Negative: never retry.
	Retries int `yaml:"retries"`
	// BaseBackoff is the first backoff; each retry doubles it, full jitter
	// picks a wait in [0, backoff). Default: 100ms.
	BaseBackoff time.Duration `yaml:"base_backoff"`
	// MaxBackoff caps one backoff. Default: 2s.
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// MaxRateLimitWait caps the wait before retrying GHL's 429, which is
	// GHL's X-RateLimit-Interval-Milliseconds. Default: 10s.
	MaxRateLimitWait time.Duration `yaml:"max_rate_limit_wait"`
	// Budget caps the total waiting of one request across its retries; a
	// retry that would exceed it (or the request's context deadline) is not
	// made and the last answer is returned. Default: 5s.
	Budget time.Duration `yaml:"budget"`
	// Breaker configures the circuit breaker of each upstream host.
	Breaker BreakerSettings `yaml:"breaker"`

	// Now is the clock. Default: time.Now.
	Now func() time.Time `yaml:"-"`
	// Sleep waits d or until ctx ends. Default: a timer.
	Sleep func(ctx context.Context, d time.Duration) error `yaml:"-"`
	// Rand returns a float in [0, 1) for the jitter. Default: math/rand/v2.
	Rand func() float64 `yaml:"-"`
	// Observe, when set, sees every upstream answer, retried ones included,
	// before its body is read (for example to feed the rate limiter's
	// ObserveUpstream, which must see each 429). It must not read the body.
	Observe func(req *http.Request, resp *http.Response) `yaml:"-"`
	// Logger receives retries (debug) and breaker state changes (warn).
	// Default: slog.Default().
	Logger *slog.Logger `yaml:"-"`
}

func (o Options) withDefaults() Options {
	if o.Retries == 0 {
		o.Retries = 2
	}
	if o.BaseBackoff <= 0 {
		o.BaseBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 2 * time.Second
	}
	if o.MaxRateLimitWait <= 0 {
		o.MaxRateLimitWait = 10 * time.Second
	}
	if o.Budget <= 0 {
		o.Budget = 5 * time.Second
	}
	o.Breaker = o.Breaker.withDefaults()
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Transport retries and breaks circuits around a base RoundTripper.
type Transport struct {
	base http.RoundTripper
	opts Options

	mu       sync.Mutex
	breakers map[string]*breaker
}

// NewTransport wraps base (NewBaseTransport, or http.DefaultTransport when
// nil).
func NewTransport(base http.RoundTripper, opts Options) *Transport {
	if base == nil {
		base = http.DefaultTransport
	}
	return &Transport{base: base, opts: opts.withDefaults(), breakers: make(map[string]*breaker)}
}

func (t *Transport) breaker(host string) *breaker {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.breakers[host]
	if b == nil {
		b = newBreaker(host, t.opts.Breaker, t.logChange)
		t.breakers[host] = b
	}
	return b
}

func (t *Transport) logChange(host, from, to string) {
	level := slog.LevelWarn
	if to == StateClosed {
		level = slog.LevelInfo
	}
	t.opts.Logger.Log(context.Background(), level, "upstream circuit breaker",
		slog.String("host", host), slog.String("from", from), slog.String("to", to))
}

// BreakerState reports the breaker of host: "closed", "open" or "half-open"
// (closed for a host never called).
func (t *Transport) BreakerState(host string) string {
	t.mu.Lock()
	b := t.breakers[host]
	t.mu.Unlock()
	if b == nil {
		return StateClosed
	}
	return b.current(t.opts.Now())
}

// BreakerStates reports every known host's breaker, for /healthz.
func (t *Transport) BreakerStates() map[string]string {
	t.mu.Lock()
	hosts := make([]string, 0, len(t.breakers))
	for h := range t.breakers {
		hosts = append(hosts, h)
	}
	t.mu.Unlock()
	sort.Strings(hosts)
	out := make(map[string]string, len(hosts))
	for _, h := range hosts {
		out[h] = t.BreakerState(h)
	}
	return out
}

// Retryable reports whether a request may be sent twice: safe and idempotent
// methods, and POST or PATCH carrying an Idempotency-Key.
func Retryable(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	case http.MethodPost, http.MethodPatch:
		return req.Header.Get("Idempotency-Key") != ""
	}
	return false
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	br := t.breaker(req.URL.Host)
	retryable := Retryable(req) && (req.Body == nil || req.Body == http.NoBody || req.GetBody != nil)
	var waited time.Duration
	for attempt := 0; ; attempt++ {
		gen, err := br.allow(t.opts.Now())
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), err)
		}
		r := req
		if attempt > 0 {
			if r, err = rewind(req); err != nil {
				br.done(gen, true, t.opts.Now()) // our failure, not the upstream's
				return nil, err
			}
		}
		resp, err := t.base.RoundTrip(r)
		br.done(gen, !failed(ctx, resp, err), t.opts.Now())
		if resp != nil && t.opts.Observe != nil {
			t.opts.Observe(req, resp)
		}
		if !retryable || attempt >= t.opts.Retries || ctx.Err() != nil {
			return resp, err
		}
		wait, ok := t.delay(attempt, resp, err)
		if !ok || waited+wait > t.opts.Budget {
			return resp, err
		}
		if dl, has := ctx.Deadline(); has && !t.opts.Now().Add(wait).Before(dl) {
			return resp, err
		}
		t.opts.Logger.Debug("upstream retry", slog.String("method", req.Method), slog.String("host", req.URL.Host),
			slog.Int("attempt", attempt+1), slog.Any("error", err), slog.Int("status", status(resp)), slog.Duration("wait", wait))
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		if err := t.opts.Sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("retry %s %s: %w", req.Method, req.URL.Redacted(), err)
		}
		waited += wait
	}
}

// delay says whether an answer is worth retrying and after how long.
func (t *Transport) delay(attempt int, resp *http.Response, err error) (time.Duration, bool) {
	if err != nil {
		return t.backoff(attempt), true
	}
	switch resp.StatusCode {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return t.backoff(attempt), true
	case http.StatusTooManyRequests:
		// A spent daily budget will not come back within a retry (GHL's own
		// SDK never retries it).
		if v, e := strconv.Atoi(resp.Header.Get(headerDailyRemaining)); e == nil && v <= 0 {
			return 0, false
		}
		ms, e := strconv.Atoi(resp.Header.Get(headerInterval))
		if e != nil || ms <= 0 {
			return t.backoff(attempt), true
		}
		return min(time.Duration(ms)*time.Millisecond, t.opts.MaxRateLimitWait), true
	}
	return 0, false
}

// backoff is full jitter over an exponential ceiling.
func (t *Transport) backoff(attempt int) time.Duration {
	ceiling := t.opts.BaseBackoff << min(attempt, 30)
	if ceiling <= 0 || ceiling > t.opts.MaxBackoff {
		ceiling = t.opts.MaxBackoff
	}
	return time.Duration(t.opts.Rand() * float64(ceiling))
}

// failed says whether an exchange counts against the upstream's breaker: a
// connection failure (not the caller giving up) or a 5xx server error; a 429
// means GHL is alive.
func failed(ctx context.Context, resp *http.Response, err error) bool {
	if err != nil {
		return ctx.Err() == nil || !errors.Is(err, ctx.Err())
	}
	switch resp.StatusCode {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

func status(resp *http.Response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}

// rewind copies req with a fresh body from GetBody.
func rewind(req *http.Request) (*http.Request, error) {
	r := req.Clone(req.Context())
	if req.Body == nil || req.Body == http.NoBody {
		return r, nil
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, fmt.Errorf("replay body of %s %s: %w", req.Method, req.URL.Redacted(), err)
	}
	r.Body = body
	return r, nil
}

// BufferBody reads req's body (at most limit bytes, else ErrBodyTooLarge) into
// memory and sets Body and GetBody, so the Transport can replay it on a retry.
// Server-side requests (and so a proxy's outgoing copy) have no
// GetBody; without one only bodiless requests are retried.
func BufferBody(req *http.Request, limit int64) error {
	if req.Body == nil || req.Body == http.NoBody || req.GetBody != nil {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(req.Body, limit+1))
	req.Body.Close()
	if err != nil {
		return fmt.Errorf("buffer request body: %w", err)
	}
	if int64(len(b)) > limit {
		return fmt.Errorf("buffer request body: %w", ErrBodyTooLarge)
	}
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	req.Body, _ = req.GetBody()
	req.ContentLength = int64(len(b))
	return nil
}

// ErrBodyTooLarge is returned by BufferBody for a body over its limit.
var ErrBodyTooLarge = errors.New("request body too large to buffer")
