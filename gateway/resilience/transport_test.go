package resilience

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// recorder is the injected Sleep: it records the waits and advances the clock.
type recorder struct {
	clk   *fakeClock
	mu    sync.Mutex
	waits []time.Duration
}

func (r *recorder) Sleep(_ context.Context, d time.Duration) error {
	r.mu.Lock()
	r.waits = append(r.waits, d)
	r.mu.Unlock()
	r.clk.Advance(d)
	return nil
}

// answer is one scripted upstream reply.
type answer struct {
	status int
	header map[string]string
}

// scripted serves the answers in order (the last one repeats) and records
// each request body it saw.
type scripted struct {
	mu      sync.Mutex
	answers []answer
	bodies  []string
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	i := min(len(s.bodies), len(s.answers)-1)
	s.bodies = append(s.bodies, string(b))
	a := s.answers[i]
	s.mu.Unlock()
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, "attempt "+strconv.Itoa(i))
}

func (s *scripted) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bodies)
}

func newTransport(clk *fakeClock, rec *recorder, edit func(*Options)) *Transport {
	o := Options{
		Retries: 2, BaseBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, Budget: 5 * time.Second,
		Breaker: BreakerSettings{Failures: 100},
		Now:     clk.Now, Sleep: rec.Sleep, Rand: func() float64 { return 0.5 }, Logger: quiet,
	}
	if edit != nil {
		edit(&o)
	}
	return NewTransport(NewBaseTransport(Timeouts{}), o)
}

func TestRetries(t *testing.T) {
	s503, s200 := answer{status: 503}, answer{status: 200}
	tests := []struct {
		name       string
		method     string
		key        string
		answers    []answer
		edit       func(*Options)
		wantCalls  int
		wantStatus int
		wantWaits  []time.Duration
	}{
		{name: "GET retried on 503 with doubling jittered backoff", method: "GET", answers: []answer{s503, s503, s200},
			wantCalls: 3, wantStatus: 200, wantWaits: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}},
		{name: "PUT retried on 502", method: "PUT", answers: []answer{{status: 502}, s200},
			wantCalls: 2, wantStatus: 200, wantWaits: []time.Duration{50 * time.Millisecond}},
		{name: "DELETE gives up after its retries", method: "DELETE", answers: []answer{{status: 504}},
			wantCalls: 3, wantStatus: 504, wantWaits: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}},
		{name: "500 is not retried", method: "GET", answers: []answer{{status: 500}, s200}, wantCalls: 1, wantStatus: 500},
		{name: "400 is not retried", method: "GET", answers: []answer{{status: 400}, s200}, wantCalls: 1, wantStatus: 400},
		{name: "POST without a key is never retried", method: "POST", answers: []answer{s503, s200}, wantCalls: 1, wantStatus: 503},
		{name: "POST with an Idempotency-Key is retried with its body", method: "POST", key: "k1", answers: []answer{s503, {status: 201}},
			wantCalls: 2, wantStatus: 201, wantWaits: []time.Duration{50 * time.Millisecond}},
		{name: "PATCH without a key is never retried", method: "PATCH", answers: []answer{s503, s200}, wantCalls: 1, wantStatus: 503},
		{name: "GHL 429 waits its interval", method: "GET",
			answers:   []answer{{status: 429, header: map[string]string{headerInterval: "2000", "X-RateLimit-Remaining": "0"}}, s200},
			wantCalls: 2, wantStatus: 200, wantWaits: []time.Duration{2 * time.Second}},
		{name: "GHL 429 interval is capped", method: "GET", edit: func(o *Options) { o.MaxRateLimitWait = 3 * time.Second },
			answers:   []answer{{status: 429, header: map[string]string{headerInterval: "60000"}}, s200},
			wantCalls: 2, wantStatus: 200, wantWaits: []time.Duration{3 * time.Second}},
		{name: "GHL daily 429 is not retried", method: "GET",
			answers:   []answer{{status: 429, header: map[string]string{headerInterval: "10000", headerDailyRemaining: "0"}}, s200},
			wantCalls: 1, wantStatus: 429},
		{name: "budget stops retries", method: "GET", edit: func(o *Options) { o.Budget = 120 * time.Millisecond },
			answers: []answer{s503}, wantCalls: 2, wantStatus: 503, wantWaits: []time.Duration{50 * time.Millisecond}},
		{name: "retries off", method: "GET", edit: func(o *Options) { o.Retries = -1 }, answers: []answer{s503, s200},
			wantCalls: 1, wantStatus: 503},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			up := &scripted{answers: tc.answers}
			srv := httptest.NewServer(up)
			defer srv.Close()
			clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
			rec := &recorder{clk: clk}
			tr := newTransport(clk, rec, tc.edit)
			req, _ := http.NewRequest(tc.method, srv.URL+"/contacts/", strings.NewReader(`{"firstName":"Ada"}`))
			if tc.key != "" {
				req.Header.Set("Idempotency-Key", tc.key)
			}
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatalf("RoundTrip: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus || up.calls() != tc.wantCalls {
				t.Errorf("status %d after %d calls; want %d after %d", resp.StatusCode, up.calls(), tc.wantStatus, tc.wantCalls)
			}
			if want := "attempt " + strconv.Itoa(min(tc.wantCalls, len(tc.answers))-1); string(body) != want {
				t.Errorf("body %q; want the last attempt's %q", body, want)
			}
			if len(rec.waits) != len(tc.wantWaits) {
				t.Fatalf("waits %v; want %v", rec.waits, tc.wantWaits)
			}
			for i := range rec.waits {
				if rec.waits[i] != tc.wantWaits[i] {
					t.Errorf("wait %d = %v; want %v", i, rec.waits[i], tc.wantWaits[i])
				}
			}
			for i, b := range up.bodies {
				if tc.method != "GET" && tc.method != "DELETE" && b != `{"firstName":"Ada"}` {
					t.Errorf("attempt %d body %q; want the original body replayed", i, b)
				}
			}
		})
	}
}

// countingRT counts exchanges and fails them with a connection error.
type countingRT struct {
	calls atomic.Int32
	base  http.RoundTripper
}

func (c *countingRT) RoundTrip(r *http.Request) (*http.Response, error) {
	c.calls.Add(1)
	return c.base.RoundTrip(r)
}

func TestRetryConnectionErrors(t *testing.T) {
	// A port nothing listens on: connection refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	tests := []struct {
		method, key string
		wantCalls   int32
	}{
		{"GET", "", 3},
		{"DELETE", "", 3},
		{"POST", "", 1},
		{"POST", "key", 3},
	}
	for _, tc := range tests {
		t.Run(tc.method+" key="+tc.key, func(t *testing.T) {
			clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
			rec := &recorder{clk: clk}
			base := &countingRT{base: NewBaseTransport(Timeouts{Connect: time.Second})}
			tr := NewTransport(base, Options{Retries: 2, Now: clk.Now, Sleep: rec.Sleep, Logger: quiet, Rand: func() float64 { return 0 }})
			req, _ := http.NewRequest(tc.method, "http://"+addr+"/contacts/", strings.NewReader("{}"))
			if tc.key != "" {
				req.Header.Set("Idempotency-Key", tc.key)
			}
			_, err := tr.RoundTrip(req)
			if err == nil || base.calls.Load() != tc.wantCalls {
				t.Errorf("RoundTrip err %v after %d calls; want an error after %d", err, base.calls.Load(), tc.wantCalls)
			}
		})
	}
}

func TestBreakerOpenHalfOpenClosed(t *testing.T) {
	var mode atomic.Value // "fail" or "ok"
	mode.Store("fail")
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		if mode.Load() == "fail" {
			w.WriteHeader(503)
			return
		}
		w.WriteHeader(200)
	}))
	defer srv.Close()
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	tr := newTransport(clk, &recorder{clk: clk}, func(o *Options) {
		o.Retries = -1
		o.Breaker = BreakerSettings{Failures: 3, OpenFor: 10 * time.Second}
	})
	host := strings.TrimPrefix(srv.URL, "http://")
	get := func() (*http.Response, error) {
		req, _ := http.NewRequest("GET", srv.URL+"/contacts/x", nil)
		resp, err := tr.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
		}
		return resp, err
	}
	steps := []struct {
		name      string
		advance   time.Duration
		mode      string
		wantOpen  bool // ErrCircuitOpen, upstream not called
		wantState string
	}{
		{"failure 1", 0, "fail", false, StateClosed},
		{"failure 2", 0, "fail", false, StateClosed},
		{"failure 3 opens", 0, "fail", false, StateOpen},
		{"open answers at once", time.Second, "fail", true, StateOpen},
		{"half-open probe fails, opens again", 9 * time.Second, "fail", false, StateOpen},
		{"still open", 9 * time.Second, "ok", true, StateOpen},
		{"half-open probe succeeds, closes", time.Second, "ok", false, StateClosed},
		{"closed again", 0, "ok", false, StateClosed},
	}
	for _, st := range steps {
		clk.Advance(st.advance)
		mode.Store(st.mode)
		before := calls.Load()
		_, err := get()
		open := errors.Is(err, ErrCircuitOpen)
		if open != st.wantOpen {
			t.Fatalf("%s: err %v; want circuit open %v", st.name, err, st.wantOpen)
		}
		if open && calls.Load() != before {
			t.Errorf("%s: upstream called while open", st.name)
		}
		if got := tr.BreakerState(host); got != st.wantState {
			t.Errorf("%s: BreakerState = %q; want %q", st.name, got, st.wantState)
		}
	}
	if got := tr.BreakerStates(); got[host] != StateClosed {
		t.Errorf("BreakerStates() = %v; want %s closed", got, host)
	}
}

// While half-open, only the configured number of probes go through at once.
func TestBreakerHalfOpenAdmitsOneProbe(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	b := newBreaker("ghl", BreakerSettings{Failures: 1, OpenFor: time.Second, Probes: 1}, nil)
	g, _ := b.allow(clk.Now())
	b.done(g, false, clk.Now())
	if _, err := b.allow(clk.Now()); !errors.Is(err, ErrCircuitOpen) {
		t.Fatalf("allow while open = %v; want ErrCircuitOpen", err)
	}
	var coe *CircuitOpenError
	_, err := b.allow(clk.Now().Add(400 * time.Millisecond))
	if !errors.As(err, &coe) || coe.RetryAfter != 600*time.Millisecond {
		t.Errorf("allow after 400ms = %v; want RetryAfter 600ms", err)
	}
	clk.Advance(time.Second)
	probe, err := b.allow(clk.Now())
	if err != nil {
		t.Fatalf("first half-open allow = %v; want admitted", err)
	}
	if _, err := b.allow(clk.Now()); !errors.Is(err, ErrCircuitOpen) {
		t.Errorf("second half-open allow = %v; want ErrCircuitOpen while the probe is out", err)
	}
	b.done(probe, true, clk.Now())
	if got := b.current(clk.Now()); got != StateClosed {
		t.Errorf("state after a good probe = %q; want closed", got)
	}
}

func TestResponseHeaderTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	tr := NewBaseTransport(Timeouts{ResponseHeader: 50 * time.Millisecond})
	req, _ := http.NewRequest("GET", srv.URL, nil)
	_, err := tr.RoundTrip(req)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("RoundTrip against a silent upstream = %v; want a timeout", err)
	}
}

func TestBufferBodyEnablesReplay(t *testing.T) {
	srvReq := httptest.NewRequest("PUT", "/contacts/1", strings.NewReader(`{"a":1}`))
	srvReq.GetBody = nil
	if err := BufferBody(srvReq, 1024); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		b, _ := srvReq.GetBody()
		got, _ := io.ReadAll(b)
		if string(got) != `{"a":1}` {
			t.Errorf("GetBody #%d = %q; want the body", i, got)
		}
	}
	big := httptest.NewRequest("PUT", "/contacts/1", strings.NewReader(strings.Repeat("x", 2000)))
	big.GetBody = nil
	if err := BufferBody(big, 1024); !errors.Is(err, ErrBodyTooLarge) {
		t.Errorf("BufferBody(2000 > 1024) = %v; want ErrBodyTooLarge", err)
	}
}
