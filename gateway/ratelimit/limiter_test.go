package ratelimit

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newLimiter(t testing.TB, cfg Config, clk *fakeClock, opts ...Option) *Limiter {
	t.Helper()
	opts = append([]Option{WithClock(clk.Now), WithAfter(clk.After), WithLogger(quiet)}, opts...)
	l, err := New(cfg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// fire sends n requests at the clock's time and counts the allowed ones.
func fire(t *testing.T, l *Limiter, req Request, n int) (allowed int, last Decision) {
	t.Helper()
	for range n {
		d, err := l.Decide(context.Background(), req)
		if err != nil {
			t.Fatalf("Decide(%+v): %v", req, err)
		}
		if d.Allowed {
			allowed++
		}
		last = d
	}
	return allowed, last
}

func TestDefaultOnlyLocationBudget(t *testing.T) {
	clk := newClock()
	l := newLimiter(t, DefaultConfig(), clk)
	// Two clients share one location's budget: GHL counts per app per location.
	a, _ := fire(t, l, Request{Stage: "production", Client: "a", Location: "L1"}, 60)
	b, last := fire(t, l, Request{Stage: "production", Client: "b", Location: "L1"}, 60)
	if a+b != 100 {
		t.Errorf("allowed %d+%d; want 100 in total", a, b)
	}
	if last.Allowed || last.Limit != LimitLocation || last.RetryAfter != 10*time.Second {
		t.Errorf("121st decision = %v %q %v; want refused by location, retry 10s", last.Allowed, last.Limit, last.RetryAfter)
	}
	// Another location, and the same location on another stage, are untouched.
	for _, req := range []Request{
		{Stage: "production", Client: "a", Location: "L2"},
		{Stage: "staging", Client: "a", Location: "L1"},
	} {
		if n, _ := fire(t, l, req, 100); n != 100 {
			t.Errorf("Decide(%+v) allowed %d; want 100", req, n)
		}
	}
	// No location: no budget applies out of the box.
	if n, _ := fire(t, l, Request{Stage: "production", Client: "a"}, 500); n != 500 {
		t.Errorf("no-location requests allowed %d; want 500", n)
	}
}

func TestClientAndGlobalBudgets(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Default.Client = &Rule{Max: 10, Interval: time.Second}
	cfg.Stages = map[string]StageLimits{"production": {Global: &Rule{Max: 15, Interval: time.Second}}}
	tests := []struct {
		name    string
		reqs    []Request // sent in order, 20 each
		allowed []int
		limits  []string // refusing limit of the last request of each
	}{
		{
			name:    "noisy client does not spend the location",
			reqs:    []Request{{Stage: "staging", Client: "noisy", Location: "L"}, {Stage: "staging", Client: "quiet", Location: "L"}},
			allowed: []int{10, 10},
			limits:  []string{LimitClient, LimitClient},
		},
		{
			name:    "global ceiling over clients",
			reqs:    []Request{{Stage: "production", Client: "a", Location: "L"}, {Stage: "production", Client: "b", Location: "M"}},
			allowed: []int{10, 5},
			limits:  []string{LimitClient, LimitGlobal},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLimiter(t, cfg, newClock())
			for i, req := range tc.reqs {
				n, last := fire(t, l, req, 20)
				if n != tc.allowed[i] || last.Limit != tc.limits[i] {
					t.Errorf("client %s: allowed %d, last refused by %q; want %d, %q", req.Client, n, last.Limit, tc.allowed[i], tc.limits[i])
				}
			}
		})
	}
}

// A backfill flood leaves interactive its reserved share, and either lane can
// use the whole budget when the other is idle as far as the reserves allow.
func TestLanesReserveShare(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Lanes = map[string]Lane{"interactive": {Reserve: 0.3}}
	tests := []struct {
		name  string
		order []string // lanes, 150 requests each, in order
		want  []int
	}{
		{"backfill first", []string{"backfill", "interactive"}, []int{70, 30}},
		{"interactive first", []string{"interactive", "backfill"}, []int{100, 0}},
		{"unknown lane is unreserved", []string{"", "interactive"}, []int{70, 30}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLimiter(t, cfg, newClock())
			for i, lane := range tc.order {
				n, last := fire(t, l, Request{Client: "c", Location: "L", Lane: lane}, 150)
				if n != tc.want[i] {
					t.Errorf("lane %q allowed %d; want %d", lane, n, tc.want[i])
				}
				if last.Allowed || last.Limit != LimitLocation {
					t.Errorf("lane %q last decision refused by %q; want %q", lane, last.Limit, LimitLocation)
				}
			}
		})
	}
}

func TestDecisionHeaders(t *testing.T) {
	clk := newClock()
	cfg := DefaultConfig()
	cfg.Default.Client = &Rule{Max: 1000, Interval: time.Minute}
	l := newLimiter(t, cfg, clk)
	req := Request{Client: "c", Location: "L"}
	_, d := fire(t, l, req, 3)
	h := http.Header{}
	d.Headers(h)
	want := map[string]string{
		HeaderMax:            "100",
		HeaderRemaining:      "97",
		HeaderInterval:       "10000",
		HeaderLimitDaily:     "200000",
		HeaderDailyRemaining: "199997",
		"RateLimit-Policy":   `"client";q=1000;w=60, "location_daily";q=200000;w=86400, "location";q=100;w=10`,
		"RateLimit":          `"location";r=97;t=10`,
		"Retry-After":        "",
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("header %s = %q; want %q", k, got, v)
		}
	}
	clk.Advance(4 * time.Second)
	_, d = fire(t, l, req, 98)
	h = http.Header{}
	d.Headers(h)
	if got := h.Get("Retry-After"); got != "6" {
		t.Errorf("refused Retry-After = %q; want 6", got)
	}
	if got := h.Get("RateLimit"); got != `"location";r=0;t=6` {
		t.Errorf("refused RateLimit = %q; want %q", got, `"location";r=0;t=6`)
	}
	var le *LimitedError
	if err := d.Err(); !errors.As(err, &le) || !errors.Is(err, ErrLimited) || le.Limit != LimitLocation {
		t.Errorf("Err() = %v; want *LimitedError for location matching ErrLimited", err)
	}
}

// TestDecisionHeadersReplaceGHLs: on an upstream answer, Headers replaces
// GHL's rate-limit headers: those the decision sets carry the gateway's
// figures, the rest are removed, and other headers are left alone.
func TestDecisionHeadersReplaceGHLs(t *testing.T) {
	ghl := func() http.Header {
		return http.Header{
			"Content-Type":                      {"application/json"},
			"X-Ratelimit-Max":                   {"100"},
			"X-Ratelimit-Remaining":             {"3"},
			"X-Ratelimit-Interval-Milliseconds": {"10000"},
			"X-Ratelimit-Limit-Daily":           {"200000"},
			"X-Ratelimit-Daily-Remaining":       {"17"},
			"Ratelimit":                         {`"ghl";r=3`},
			"Ratelimit-Policy":                  {`"ghl";q=100`},
		}
	}
	tests := []struct {
		name string
		d    Decision
		want map[string]string // "" : absent
	}{
		{"interval budget only", Decision{Allowed: true, Max: 50, Remaining: 49, Interval: time.Second},
			map[string]string{HeaderMax: "50", HeaderRemaining: "49", HeaderInterval: "1000",
				HeaderLimitDaily: "", HeaderDailyRemaining: "", "RateLimit": "", "RateLimit-Policy": "", "Content-Type": "application/json"}},
		{"no budget applied", Decision{Allowed: true},
			map[string]string{HeaderMax: "", HeaderRemaining: "", HeaderInterval: "", HeaderLimitDaily: "",
				HeaderDailyRemaining: "", "RateLimit": "", "RateLimit-Policy": "", "Content-Type": "application/json"}},
		{"daily budget only", Decision{Allowed: true, DailyMax: 10, DailyRemaining: 9},
			map[string]string{HeaderMax: "", HeaderRemaining: "", HeaderLimitDaily: "10", HeaderDailyRemaining: "9"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := ghl()
			tc.d.Headers(h)
			for k, v := range tc.want {
				if got := h.Get(k); got != v {
					t.Errorf("header %s = %q; want %q", k, got, v)
				}
			}
		})
	}
}

// Prefer: wait smooths a burst: requests are held until they fit instead of
// failing, within the client's N and the limiter's max_wait.
func TestWaitSmoothsBurst(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Default.Location = &Rule{Max: 2, Interval: time.Second}
	clk := newClock()
	l := newLimiter(t, cfg, clk)
	req := Request{Client: "c", Location: "L"}
	var at []time.Duration
	for range 6 {
		d, err := l.Wait(context.Background(), req, 5*time.Second)
		if err != nil || !d.Allowed {
			t.Fatalf("Wait = %v, %v; want allowed", d.Allowed, err)
		}
		at = append(at, clk.Now().Sub(t0))
	}
	want := []time.Duration{0, 0, time.Second, time.Second, 2 * time.Second, 2 * time.Second}
	for i := range want {
		if at[i] != want[i] {
			t.Errorf("request %d passed at +%v; want +%v", i, at[i], want[i])
		}
	}
	// Asking to wait less than the budget needs: refused at once, clock untouched.
	before := clk.Now()
	fire(t, l, req, 2)
	d, err := l.Wait(context.Background(), req, 500*time.Millisecond)
	if err != nil || d.Allowed || clk.Now() != before {
		t.Errorf("Wait(500ms) = %v, %v, clock moved %v; want refused at once", d.Allowed, err, clk.Now().Sub(before))
	}
}

// blockingAfter never fires until released, so waiters pile up in the queue.
type blockingAfter struct {
	started chan struct{}
	release chan time.Time
}

func (b *blockingAfter) After(time.Duration) <-chan time.Time {
	b.started <- struct{}{}
	return b.release
}

func TestWaitQueueBoundedAndCancellable(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Default.Location = &Rule{Max: 1, Interval: time.Second}
	cfg.WaitQueue = 2
	clk := newClock()
	ba := &blockingAfter{started: make(chan struct{}, 8), release: make(chan time.Time)}
	l := newLimiter(t, cfg, clk, WithAfter(ba.After))
	req := Request{Client: "c", Location: "L"}
	fire(t, l, req, 1)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var cancelled atomic.Int32
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := l.Wait(ctx, req, 10*time.Second)
			if errors.Is(err, context.Canceled) {
				cancelled.Add(1)
			}
		}()
	}
	<-ba.started
	<-ba.started
	d, err := l.Wait(context.Background(), req, 10*time.Second)
	if err != nil || d.Allowed || d.Limit != LimitWaitQueue {
		t.Errorf("third waiter = %v %q, %v; want refused by %q", d.Allowed, d.Limit, err, LimitWaitQueue)
	}
	cancel()
	wg.Wait()
	if got := cancelled.Load(); got != 2 {
		t.Errorf("cancelled waiters = %d; want 2", got)
	}
}

func TestUpstreamHoldAndCalibration(t *testing.T) {
	ghl := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	tests := []struct {
		name      string
		status    int
		h         http.Header
		wantLimit string
		wantRetry time.Duration
	}{
		{"429 without headers holds for the configured interval", 429, http.Header{}, LimitUpstream, 10 * time.Second},
		{"429 with GHL's interval", 429, ghl(HeaderInterval, "2000", HeaderMax, "100", HeaderRemaining, "0"), LimitUpstream, 2 * time.Second},
		{"remaining 0 on a 200", 200, ghl(HeaderInterval, "10000", HeaderMax, "100", HeaderRemaining, "0"), LimitUpstream, 10 * time.Second},
		{"daily spent, reset given in seconds", 429, ghl(HeaderDailyRemaining, "0", HeaderDailyReset, "3600"), LimitUpstreamDaily, time.Hour},
		{"daily spent, no reset: daily_hold", 200, ghl(HeaderDailyRemaining, "0"), LimitUpstreamDaily, time.Hour},
		{"plenty left: no hold", 200, ghl(HeaderRemaining, "5", HeaderDailyRemaining, "10"), "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			l := newLimiter(t, DefaultConfig(), clk)
			req := Request{Stage: "production", Client: "c", Location: "L"}
			l.ObserveUpstream("production", "L", tc.status, tc.h, clk.Now())
			d, err := l.Decide(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantLimit == "" {
				if !d.Allowed {
					t.Errorf("Decide = refused by %q; want allowed", d.Limit)
				}
				return
			}
			if d.Allowed || d.Limit != tc.wantLimit || d.RetryAfter != tc.wantRetry {
				t.Errorf("Decide = %v %q %v; want refused by %q for %v", d.Allowed, d.Limit, d.RetryAfter, tc.wantLimit, tc.wantRetry)
			}
			if h := l.Health(context.Background()); len(h.Held) != 1 || h.Held[0].Limit != tc.wantLimit {
				t.Errorf("Health().Held = %+v; want one %q hold", h.Held, tc.wantLimit)
			}
			// Other stages are not held.
			if d, _ := l.Decide(context.Background(), Request{Stage: "staging", Location: "L"}); !d.Allowed {
				t.Errorf("staging Decide = refused by %q; want allowed", d.Limit)
			}
			clk.Advance(tc.wantRetry)
			if d, _ := l.Decide(context.Background(), req); !d.Allowed {
				t.Errorf("Decide after the hold = refused by %q; want allowed", d.Limit)
			}
		})
	}

	t.Run("calibrates to GHL's reported budget", func(t *testing.T) {
		clk := newClock()
		l := newLimiter(t, DefaultConfig(), clk)
		l.ObserveUpstream("", "L", 200, ghl(HeaderMax, "5", HeaderInterval, "1000", HeaderRemaining, "4", HeaderLimitDaily, "1000"), clk.Now())
		n, last := fire(t, l, Request{Location: "L"}, 10)
		if n != 5 || last.Max != 5 || last.Interval != time.Second || last.DailyMax != 1000 || last.RetryAfter != time.Second {
			t.Errorf("after calibration allowed %d, Max %d, Interval %v, DailyMax %d, retry %v; want 5, 5, 1s, 1000, 1s",
				n, last.Max, last.Interval, last.DailyMax, last.RetryAfter)
		}
	})
}

func TestForecast(t *testing.T) {
	clk := newClock()
	l := newLimiter(t, DefaultConfig(), clk)
	req := Request{Location: "L"}
	for range 60 { // 10 requests a minute for an hour: 600 an hour
		fire(t, l, req, 10)
		clk.Advance(time.Minute)
	}
	now := clk.Now()
	f, err := l.Forecast(context.Background(), "", "L", now)
	if err != nil {
		t.Fatal(err)
	}
	if f.Source != "local" || f.DailyRemaining != GHLDaily-600 || f.RatePerHour < 599.9 || f.RatePerHour > 600.1 {
		t.Errorf("Forecast = %+v; want local, %d remaining, ~600/h", f, GHLDaily-600)
	}
	h := http.Header{}
	h.Set(HeaderDailyRemaining, "1200")
	l.ObserveUpstream("", "L", 200, h, now)
	f, _ = l.Forecast(context.Background(), "", "L", now)
	if f.Source != "upstream" || f.DailyRemaining != 1200 || !f.ExhaustsAt.Equal(now.Add(2*time.Hour)) {
		t.Errorf("Forecast = %+v; want upstream, 1200 remaining, exhausted at +2h (%v)", f, now.Add(2*time.Hour))
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		errs int
	}{
		{"default", func(*Config) {}, 0},
		{"max without interval", func(c *Config) { c.Default.Client = &Rule{Max: 5} }, 1},
		{"bad policy and reserves", func(c *Config) {
			c.OnRedisError = "maybe"
			c.Lanes = map[string]Lane{"a": {Reserve: 0.6}, "b": {Reserve: 0.5}, "c": {Reserve: -1}}
		}, 3},
		{"negative values", func(c *Config) {
			c.Stages = map[string]StageLimits{"x": {Global: &Rule{Max: -1, Interval: time.Second}}}
			c.MaxWait = -1
		}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.edit(&c)
			err := c.Validate()
			n := 0
			if err != nil {
				n = len(err.(interface{ Unwrap() []error }).Unwrap())
			}
			if n != tc.errs {
				t.Errorf("Validate() = %v (%d problems); want %d", err, n, tc.errs)
			}
		})
	}
}

func BenchmarkDecideMemory(b *testing.B) {
	l, err := New(DefaultConfig(), WithLogger(quiet))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	now := t0
	locs := make([]string, 1000)
	for i := range locs {
		locs[i] = "loc" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		now = now.Add(time.Millisecond)
		if _, err := l.Decide(ctx, Request{Stage: "production", Client: "c", Location: locs[i%len(locs)], Now: now}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestPreferWait(t *testing.T) {
	tests := []struct {
		prefer []string
		want   time.Duration
		ok     bool
	}{
		{nil, 0, false},
		{[]string{"wait=10"}, 10 * time.Second, true},
		{[]string{"respond-async, wait=5"}, 5 * time.Second, true},
		{[]string{"return=minimal", "Wait = 3"}, 3 * time.Second, true},
		{[]string{"wait=soon"}, 0, false},
		{[]string{"wait=-1"}, 0, false},
	}
	for _, tc := range tests {
		h := http.Header{"Prefer": tc.prefer}
		got, ok := PreferWait(h)
		if got != tc.want || ok != tc.ok {
			t.Errorf("PreferWait(%q) = %v, %v; want %v, %v", tc.prefer, got, ok, tc.want, tc.ok)
		}
	}
}
