package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Names of the budgets, as they appear in Decision.Limit, problems and the
// IETF RateLimit fields.
const (
	LimitClient        = "client"
	LimitClientDaily   = "client_daily"
	LimitLocation      = "location"
	LimitLocationDaily = "location_daily"
	LimitGlobal        = "global"
	LimitGlobalDaily   = "global_daily"
	// LimitUpstream: GHL said the location's interval budget is spent (429 or
	// X-RateLimit-Remaining: 0); held until the interval ends.
	LimitUpstream = "upstream"
	// LimitUpstreamDaily: GHL said the location's daily budget is spent.
	LimitUpstreamDaily = "upstream_daily"
	// LimitWaitQueue: Prefer: wait was asked but the wait queue is full.
	LimitWaitQueue = "wait_queue"
	// LimitBackend: the store could not decide (with ErrBackendUnavailable).
	LimitBackend = "backend"
)

// Request is what one decision is about.
type Request struct {
	// Stage selects the budgets ("production", "staging", "sandbox"); it is part
	// of every key, so staging traffic never spends production's budget.
	Stage string
	// Client is the Rankr client id.
	Client string
	// Location is the GHL location or company the request spends; "" when none
	// could be determined (the per-location budget is then skipped).
	Location string
	// Lane is the priority lane ("interactive", "backfill", ...); "" or an
	// unknown lane has no reserve.
	Lane string
	// Now is the decision time; zero means the Limiter's clock.
	Now time.Time
}

// Limiter applies a Config's budgets through a Store. Safe for concurrent use.
type Limiter struct {
	// scratch pools the per-decision buffers (*scratch).
	scratch sync.Pool

	cfg    Config
	store  Store
	local  *Memory
	remote bool
	client *redis.Client // owned, closed by Close
	now    func() time.Time
	after  func(time.Duration) <-chan time.Time
	log    *slog.Logger
	slots  chan struct{}

	laneMax  map[string]float64 // lane → reserve
	reserved float64            // sum of reserves

	// locs holds each location's state. A map keyed by a struct, read
	// under a read lock, finds one without allocating (a sync.Map boxed
	// the concatenated key on every request).
	locsMu sync.RWMutex
	locs   map[locKey]*locState

	redisDown      atomic.Bool
	redisErrors    atomic.Uint64
	localDecisions atomic.Uint64
	allowedCount   atomic.Uint64
	refusedCount   atomic.Uint64
	errMu          sync.Mutex
	lastErr        string
	lastErrAt      time.Time
}

// Option customises New.
type Option func(*Limiter)

// WithStore makes the Limiter keep its windows in s (for example NewRedis over
// a client the caller owns) instead of what Config.RedisURL says. A *Memory
// store is treated as local: the Redis policy never applies to it.
func WithStore(s Store) Option {
	return func(l *Limiter) {
		l.store = s
		_, isMem := s.(*Memory)
		l.remote = !isMem
	}
}

// WithClock sets the clock used when Request.Now is zero. Default: time.Now.
func WithClock(now func() time.Time) Option { return func(l *Limiter) { l.now = now } }

// WithAfter sets the timer Wait uses. Default: time.After. Tests pass a fake
// that advances their clock, so nothing sleeps.
func WithAfter(after func(time.Duration) <-chan time.Time) Option {
	return func(l *Limiter) { l.after = after }
}

// WithLogger sets the logger. Default: slog.Default().
func WithLogger(log *slog.Logger) Option { return func(l *Limiter) { l.log = log } }

// New validates cfg and builds a Limiter. With cfg.RedisURL set (and no
// WithStore) it opens a Redis client, which Close releases; it does not
// contact Redis yet.
func New(cfg Config, opts ...Option) (*Limiter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("rate limit config: %w", err)
	}
	cfg = cfg.withDefaults()
	l := &Limiter{
		cfg:     cfg,
		local:   NewMemory(),
		now:     time.Now,
		after:   time.After,
		log:     slog.Default(),
		laneMax: make(map[string]float64, len(cfg.Lanes)),
	}
	for name, lane := range cfg.Lanes {
		if lane.Reserve > 0 {
			l.laneMax[name] = lane.Reserve
			l.reserved += lane.Reserve
		}
	}
	for _, o := range opts {
		o(l)
	}
	l.slots = make(chan struct{}, cfg.WaitQueue)
	if l.store == nil && cfg.RedisURL != "" {
		o, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("rate limit redis_url: %w", err)
		}
		// A limiter that waits long on Redis slows every request; fail fast
		// and let on_redis_error decide.
		if o.DialTimeout == 0 {
			o.DialTimeout = 500 * time.Millisecond
		}
		if o.ReadTimeout == 0 {
			o.ReadTimeout = 250 * time.Millisecond
		}
		if o.WriteTimeout == 0 {
			o.WriteTimeout = 250 * time.Millisecond
		}
		o.MaxRetries = -1
		if o.DialerRetries == 0 {
			o.DialerRetries = 1
		}
		l.client = redis.NewClient(o)
		l.store = NewRedis(l.client, cfg.KeyPrefix)
		l.remote = true
	}
	if l.store == nil {
		l.store = l.local
	}
	return l, nil
}

// Close releases the Redis client New opened, if any.
func (l *Limiter) Close() error {
	if l.client != nil {
		return l.client.Close()
	}
	return nil
}

// scratch holds one decision's checks and states. They reach the store
// through an interface, so as arrays on Decide's stack they escaped: 700
// bytes allocated per request. A Limiter pools them instead.
type scratch struct {
	checks [8]Check
	meta   [8]budget
	states [8]State
}

// budget is one check plus what the decision needs to report it.
type budget struct {
	name  string
	daily bool
}

// Decide takes one request's decision. A refusal is a Decision with Allowed
// false (and Err() a *LimitedError), not an error; the error is for a backend
// that could not decide (ErrBackendUnavailable, or the context's error).
func (l *Limiter) Decide(ctx context.Context, req Request) (Decision, error) {
	var d Decision
	err := l.DecideInto(ctx, req, &d)
	return d, err
}

// DecideInto is Decide writing the decision into d, which the caller
// owns. A Decision is over 500 bytes: returned by value, its copies made
// Decide's and its caller's stack frames 6 KiB together, on every request.
func (l *Limiter) DecideInto(ctx context.Context, req Request, d *Decision) error {
	now := req.Now
	if now.IsZero() {
		now = l.now()
	}
	lim := l.cfg.limitsFor(req.Stage)

	sc, _ := l.scratch.Get().(*scratch)
	if sc == nil {
		sc = new(scratch)
	}
	checks, meta := sc.checks[:0], sc.meta[:0]
	defer func() {
		// No keys kept alive by the pool (clear: no zeroed copy on the
		// stack); only the entries this decision used hold any.
		n := min(len(checks), len(sc.checks))
		clear(sc.checks[:n])
		clear(sc.meta[:n])
		clear(sc.states[:n])
		l.scratch.Put(sc)
	}()
	add := func(key string, name string, max int, iv time.Duration, daily bool) {
		checks = append(checks, Check{Key: key, Limit: Limit{Name: name, Max: max, Interval: iv}})
		meta = append(meta, budget{name: name, daily: daily})
	}

	if r := lim.Client; r != nil {
		key := req.Stage + "|c|" + req.Client
		if r.Max > 0 {
			add(key, LimitClient, r.Max, r.Interval, false)
		}
		if r.Daily > 0 {
			add(key+"|d", LimitClientDaily, r.Daily, Day, true)
		}
	}
	if r := lim.Global; r != nil {
		key := req.Stage + "|g"
		if r.Max > 0 {
			add(key, LimitGlobal, r.Max, r.Interval, false)
		}
		if r.Daily > 0 {
			add(key+"|d", LimitGlobalDaily, r.Daily, Day, true)
		}
	}

	var ls *locState
	own, shared := -1, -1 // indexes of the location's lane pool and shared pool
	var ownMax, sharedMax int
	var locKey string
	if r := lim.Location; r != nil && req.Location != "" {
		ls = l.location(req.Stage, req.Location)
		max, iv, daily := ls.budget(r)
		if ls.hold(now, max, iv, daily, d) {
			l.refusedCount.Add(1)
			return nil
		}
		locKey = ls.key
		if daily > 0 {
			add(ls.dailyKey, LimitLocationDaily, daily, Day, true)
		}
		if max > 0 {
			reserve := l.laneMax[req.Lane]
			sharedMax = max - l.reservedOf(max)
			if poolMax := int(math.Floor(reserve * float64(max))); poolMax > 0 {
				ownMax = poolMax
				own = len(checks)
				add(locKey+"|lane|"+req.Lane, LimitLocation, ownMax, iv, false)
				shared = len(checks)
				add(locKey, LimitLocation, sharedMax, iv, false)
				checks[shared].Peek = true
			} else {
				shared = len(checks)
				add(locKey, LimitLocation, sharedMax, iv, false)
			}
		}
	}

	states := sc.states[:len(checks)]
	allowed, local, err := l.take(ctx, checks, now, states)
	if err != nil {
		*d = Decision{Limit: LimitBackend}
		return err
	}
	if !allowed && own >= 0 && states[own].Refused && onlyRefused(states, own) {
		// The lane's reserve is spent: borrow from the shared pool.
		checks[own].Peek, checks[shared].Peek = true, false
		allowed, local, err = l.take(ctx, checks, now, states)
		if err != nil {
			*d = Decision{Limit: LimitBackend}
			return err
		}
	}

	*d = Decision{Allowed: allowed, Local: local}
	for i, c := range checks {
		if i == own || i == shared {
			continue
		}
		d.add(meta[i].name, c.Limit.Max, c.Limit.Interval, states[i], meta[i].daily)
	}
	if shared >= 0 {
		// Report the location as the lane sees it: its own pool plus the shared one.
		st := states[shared]
		max := sharedMax
		if own >= 0 {
			// Refused only when both pools are full; a full pool that was
			// only peeked frees its next slot when its oldest request leaves.
			o := states[own]
			oFull, sFull := poolFull(checks[own], o), poolFull(checks[shared], st)
			max += ownMax
			st.Remaining += o.Remaining
			st.Refused = !allowed && oFull && sFull
			st.RetryAfter = 0
			if st.Refused {
				st.RetryAfter = minPositive(poolRetry(checks[own], o), poolRetry(checks[shared], st))
			}
			st.Reset = minPositive(o.Reset, st.Reset)
		}
		d.add(LimitLocation, max, checks[shared].Limit.Interval, st, false)
	}
	d.finish()
	if allowed {
		l.allowedCount.Add(1)
		if ls != nil {
			ls.record(now)
		}
	} else {
		l.refusedCount.Add(1)
		l.logRefused(ctx, req, d)
	}
	return nil
}

// logRefused is apart from DecideInto so that its attributes are not on
// the stack of every allowed request.
func (l *Limiter) logRefused(ctx context.Context, req Request, d *Decision) {
	l.log.LogAttrs(ctx, slog.LevelDebug, "rate limit refused",
		slog.Bool("granted", false), slog.String("reason_id", "rate_limited"),
		slog.String("limit", d.Limit), slog.String("client", req.Client),
		slog.String("location", req.Location), slog.String("stage", req.Stage),
		slog.Duration("retry_after", d.RetryAfter))
}

func poolFull(c Check, st State) bool {
	if c.Peek {
		return st.Remaining < 1
	}
	return st.Refused
}

func poolRetry(c Check, st State) time.Duration {
	if c.Peek {
		return st.Reset
	}
	return st.RetryAfter
}

func onlyRefused(states []State, i int) bool {
	for k, s := range states {
		if k != i && s.Refused {
			return false
		}
	}
	return true
}

func minPositive(a, b time.Duration) time.Duration {
	switch {
	case a <= 0:
		return b
	case b <= 0:
		return a
	}
	return min(a, b)
}

// reservedOf is the part of a location budget of max that lanes reserve.
func (l *Limiter) reservedOf(max int) int {
	n := 0
	for _, r := range l.laneMax {
		n += int(math.Floor(r * float64(max)))
	}
	return n
}

// take runs the store and applies the Redis policy on failure.
func (l *Limiter) take(ctx context.Context, checks []Check, now time.Time, states []State) (allowed, local bool, err error) {
	ok, err := l.store.Take(ctx, checks, 1, now, states)
	if err == nil {
		if l.remote && l.redisDown.Swap(false) {
			l.log.Info("rate limit redis reachable again", slog.String("on_redis_error", l.cfg.OnRedisError))
		}
		return ok, false, nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return false, false, fmt.Errorf("rate limit decision: %w", ctxErr)
	}
	if !l.remote {
		return false, false, fmt.Errorf("rate limit decision: %w", err)
	}
	l.noteRedisError(now, err)
	if l.cfg.OnRedisError == FallbackLocal {
		l.localDecisions.Add(1)
		ok, _ = l.local.Take(ctx, checks, 1, now, states)
		return ok, true, nil
	}
	return false, false, fmt.Errorf("rate limit decision: %w: %w", ErrBackendUnavailable, err)
}

func (l *Limiter) noteRedisError(now time.Time, err error) {
	l.redisErrors.Add(1)
	l.errMu.Lock()
	l.lastErr, l.lastErrAt = err.Error(), now
	l.errMu.Unlock()
	if !l.redisDown.Swap(true) {
		l.log.Warn("rate limit redis unreachable",
			slog.String("on_redis_error", l.cfg.OnRedisError), slog.Any("error", err))
	}
}

// Wait is Decide for a client that sent Prefer: wait=N: while the request does
// not fit and it would fit within maxWait (capped by max_wait), it waits in a
// bounded queue and tries again. A full queue, a longer wait, or ctx ending
// returns the refusing Decision (with ctx's error in the last case).
func (l *Limiter) Wait(ctx context.Context, req Request, maxWait time.Duration) (Decision, error) {
	maxWait = min(maxWait, l.cfg.MaxWait)
	if req.Now.IsZero() {
		req.Now = l.now()
	}
	deadline := req.Now.Add(maxWait)
	d, err := l.Decide(ctx, req)
	if err != nil || d.Allowed || !fits(d, req.Now, deadline) {
		return d, err
	}
	select {
	case l.slots <- struct{}{}:
		defer func() { <-l.slots }()
	default:
		d.Limit = LimitWaitQueue
		return d, nil
	}
	for {
		select {
		case <-ctx.Done():
			return d, fmt.Errorf("rate limit wait: %w", ctx.Err())
		case <-l.after(d.RetryAfter):
		}
		req.Now = l.now()
		d, err = l.Decide(ctx, req)
		if err != nil || d.Allowed || !fits(d, req.Now, deadline) {
			return d, err
		}
	}
}

func fits(d Decision, now, deadline time.Time) bool {
	return d.RetryAfter > 0 && !now.Add(d.RetryAfter).After(deadline)
}

// HealthStatus is the limiter's part of /healthz, and its metrics.
type HealthStatus struct {
	// Backend is "memory" or "redis".
	Backend string `json:"backend"`
	// Status is "ok"; "degraded" while Redis fails and local limits decide;
	// "down" while Redis fails and requests are refused (fail_closed).
	Status         string    `json:"status"`
	OnRedisError   string    `json:"on_redis_error"`
	LastError      string    `json:"last_error,omitempty"`
	LastErrorAt    time.Time `json:"last_error_at,omitzero"`
	RedisErrors    uint64    `json:"redis_errors"`
	LocalDecisions uint64    `json:"local_decisions"`
	Allowed        uint64    `json:"allowed"`
	Refused        uint64    `json:"refused"`
	// Held lists the locations GHL has told us to hold, and until when.
	Held []Hold `json:"held,omitempty"`
}

// Hold is a location held because of GHL's answer.
type Hold struct {
	Stage    string    `json:"stage"`
	Location string    `json:"location"`
	Limit    string    `json:"limit"`
	Until    time.Time `json:"until"`
}

// Health probes Redis (one no-op script call) when the budgets live there and
// reports the backend's state and counters.
func (l *Limiter) Health(ctx context.Context) HealthStatus {
	now := l.now()
	h := HealthStatus{Backend: "memory", Status: "ok", OnRedisError: l.cfg.OnRedisError}
	if l.remote {
		h.Backend = "redis"
		if _, err := l.store.Take(ctx, nil, 0, now, nil); err != nil {
			if ctx.Err() == nil {
				l.noteRedisError(now, err)
			}
		} else if l.redisDown.Swap(false) {
			l.log.Info("rate limit redis reachable again", slog.String("on_redis_error", l.cfg.OnRedisError))
		}
		if l.redisDown.Load() {
			h.Status = "down"
			if l.cfg.OnRedisError == FallbackLocal {
				h.Status = "degraded"
			}
		}
	}
	l.errMu.Lock()
	h.LastError, h.LastErrorAt = l.lastErr, l.lastErrAt
	l.errMu.Unlock()
	h.RedisErrors = l.redisErrors.Load()
	h.LocalDecisions = l.localDecisions.Load()
	h.Allowed = l.allowedCount.Load()
	h.Refused = l.refusedCount.Load()
	l.locsMu.RLock()
	states := slices.Collect(maps.Values(l.locs))
	l.locsMu.RUnlock()
	for _, ls := range states {
		ls.mu.Lock()
		if ls.holdUntil.After(now) {
			h.Held = append(h.Held, Hold{Stage: ls.stage, Location: ls.location, Limit: ls.holdLimit, Until: ls.holdUntil})
		}
		ls.mu.Unlock()
	}
	return h
}

// errNoLocation is returned by Forecast for an empty location.
var errNoLocation = errors.New("no location")
