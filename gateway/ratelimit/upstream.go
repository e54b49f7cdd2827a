package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// GHL's rate-limit response headers.
const (
	HeaderLimitDaily     = "X-RateLimit-Limit-Daily"
	HeaderDailyRemaining = "X-RateLimit-Daily-Remaining"
	HeaderInterval       = "X-RateLimit-Interval-Milliseconds"
	HeaderMax            = "X-RateLimit-Max"
	HeaderRemaining      = "X-RateLimit-Remaining"
	// HeaderDailyReset is read "only when the API reports it" (the official
	// SDK); its format is not documented, see parseReset.
	HeaderDailyReset = "X-RateLimit-Daily-Reset"
)

// locState is what the limiter learnt about one location from GHL, plus the
// local request rate for the forecast. Each replica keeps its own: a replica
// that has not yet seen GHL's 429 may send one more request, which GHL refuses
// and which then holds that replica too.
type locState struct {
	stage, location string
	// key is the location's budget key (stage|l|location) and dailyKey its
	// daily one: made once, not per request.
	key, dailyKey string

	mu sync.Mutex
	// Calibrated budget (0: use the configured rule).
	max      int
	interval time.Duration
	daily    int
	// Hold: no request until holdUntil.
	holdUntil time.Time
	holdLimit string
	// GHL's last reported daily remainder.
	dailyRemaining int
	dailyAt        time.Time
	// Allowed requests per minute over the last hour, for the forecast.
	first   time.Time
	minutes [60]int64
	counts  [60]int64
}

func (l *Limiter) location(stage, location string) *locState {
	key := locKey{stage, location}
	l.locsMu.RLock()
	ls := l.locs[key]
	l.locsMu.RUnlock()
	if ls != nil {
		return ls
	}
	l.locsMu.Lock()
	defer l.locsMu.Unlock()
	if ls = l.locs[key]; ls == nil {
		if l.locs == nil {
			l.locs = make(map[locKey]*locState)
		}
		k := stage + "|l|" + location
		ls = &locState{stage: stage, location: location, key: k, dailyKey: k + "|d"}
		l.locs[key] = ls
	}
	return ls
}

// locKey names a location's state.
type locKey struct{ stage, location string }

// budget returns the location's interval and daily budget: GHL's reported
// values when it has reported them, else the rule's.
func (s *locState) budget(r *Rule) (max int, interval time.Duration, daily int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	max, interval, daily = r.Max, r.Interval, r.Daily
	if s.max > 0 && s.interval > 0 && r.Max > 0 {
		max, interval = s.max, s.interval
	}
	if s.daily > 0 && r.Daily > 0 {
		daily = s.daily
	}
	return max, interval, daily
}

// hold sets d to a refusing Decision while GHL has the location on hold,
// and reports whether it did.
func (s *locState) hold(now time.Time, max int, interval time.Duration, daily int, d *Decision) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !now.Before(s.holdUntil) {
		return false
	}
	*d = Decision{Limit: s.holdLimit, RetryAfter: s.holdUntil.Sub(now)}
	st := State{Refused: true, RetryAfter: d.RetryAfter, Reset: d.RetryAfter}
	if max > 0 {
		if s.holdLimit == LimitUpstream {
			d.add(LimitUpstream, max, interval, st, false)
		} else {
			d.add(LimitLocation, max, interval, State{Remaining: max}, false)
		}
	}
	if daily > 0 {
		if s.holdLimit == LimitUpstreamDaily {
			d.add(LimitUpstreamDaily, daily, Day, st, true)
		} else {
			rem := daily
			if !s.dailyAt.IsZero() {
				rem = s.dailyRemaining
			}
			d.add(LimitLocationDaily, daily, Day, State{Remaining: rem}, true)
		}
	}
	d.finish()
	d.Limit = s.holdLimit
	return true
}

func (s *locState) record(now time.Time) {
	m := now.Unix() / 60
	i := m % 60
	s.mu.Lock()
	if s.first.IsZero() {
		s.first = now
	}
	if s.minutes[i] != m {
		s.minutes[i], s.counts[i] = m, 0
	}
	s.counts[i]++
	s.mu.Unlock()
}

// ratePerHour is the allowed-request rate over the last hour (or since the
// first request, if sooner). Caller holds mu.
func (s *locState) ratePerHour(now time.Time) float64 {
	if s.first.IsZero() {
		return 0
	}
	m := now.Unix() / 60
	var n int64
	for i := range s.minutes {
		if s.minutes[i] > m-60 && s.minutes[i] <= m {
			n += s.counts[i]
		}
	}
	// The buckets cover from the start of minute m-59 to now.
	since := time.Unix((m-59)*60, 0)
	if s.first.After(since) {
		since = s.first
	}
	elapsed := max(now.Sub(since), time.Minute)
	return float64(n) / elapsed.Hours()
}

// ObserveUpstream reads GHL's answer for a location: its rate-limit headers
// calibrate the location's budget, and a 429, X-RateLimit-Remaining: 0 or
// X-RateLimit-Daily-Remaining: 0 hold the location (Decide answers 429 with the
// right Retry-After instead of calling GHL again) until the interval ends, or
// until the daily reset (DailyHold when GHL does not say).
func (l *Limiter) ObserveUpstream(stage, location string, status int, h http.Header, now time.Time) {
	if location == "" {
		return
	}
	max, hasMax := headerInt(h, canonMax)
	ivMS, hasIv := headerInt(h, canonInterval)
	daily, hasDaily := headerInt(h, canonLimitDaily)
	rem, hasRem := headerInt(h, canonRemaining)
	dRem, hasDRem := headerInt(h, canonDailyRemaining)
	if !(hasMax || hasIv || hasDaily || hasRem || hasDRem || status == http.StatusTooManyRequests) {
		return
	}
	ls := l.location(stage, location)
	rule := l.cfg.limitsFor(stage).Location

	ls.mu.Lock()
	defer ls.mu.Unlock()
	if hasMax && hasIv && max > 0 && ivMS > 0 {
		ls.max, ls.interval = max, time.Duration(ivMS)*time.Millisecond
	}
	if hasDaily && daily > 0 {
		ls.daily = daily
	}
	if hasDRem {
		ls.dailyRemaining, ls.dailyAt = dRem, now
	}
	interval := ls.interval
	if interval == 0 && rule != nil {
		interval = rule.Interval
	}
	if interval == 0 {
		interval = GHLInterval
	}
	var until time.Time
	var limit string
	switch {
	case hasDRem && dRem <= 0:
		until, limit = now.Add(l.cfg.DailyHold), LimitUpstreamDaily
		if reset, ok := parseReset(h.Get(HeaderDailyReset), now); ok {
			until = reset
		}
	case status == http.StatusTooManyRequests || (hasRem && rem <= 0):
		until, limit = now.Add(interval), LimitUpstream
	default:
		return
	}
	if until.After(ls.holdUntil) {
		ls.holdUntil, ls.holdLimit = until, limit
		l.log.Warn("rate limit upstream hold",
			slog.String("stage", stage), slog.String("location", location),
			slog.String("limit", limit), slog.Int("status", status), slog.Time("until", until))
	}
}

// headerInt reads the integer header of canonical key name: what h.Get
// does, without canonicalizing (and so allocating) on every answer.
func headerInt(h http.Header, name string) (int, bool) {
	vs := h[name]
	if len(vs) == 0 || vs[0] == "" {
		return 0, false
	}
	v := vs[0]
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, false
	}
	return n, true
}

// parseReset reads X-RateLimit-Daily-Reset, whose format GHL does not
// document: a large number is taken as epoch milliseconds or seconds, a small
// one as seconds from now.
func parseReset(v string, now time.Time) (time.Time, bool) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, false
	}
	switch {
	case n > 1e12:
		return time.UnixMilli(n), true
	case n > 1e9:
		return time.Unix(n, 0), true
	default:
		return now.Add(time.Duration(n) * time.Second), true
	}
}

// Forecast is when a location's daily budget runs out at the current rate.
type Forecast struct {
	Stage          string `json:"stage"`
	Location       string `json:"location"`
	DailyLimit     int    `json:"daily_limit"`
	DailyRemaining int    `json:"daily_remaining"`
	// Source of DailyRemaining: "upstream" (GHL's last header, within the
	// day) or "local" (this limiter's daily window).
	Source string `json:"source"`
	// RatePerHour is this replica's allowed-request rate over the last hour.
	RatePerHour float64 `json:"rate_per_hour"`
	// ExhaustsAt is when DailyRemaining reaches 0 at RatePerHour; zero when
	// nothing is being spent or no daily budget applies.
	ExhaustsAt time.Time `json:"exhausts_at,omitzero"`
}

// Forecast reports a location's daily forecast.
func (l *Limiter) Forecast(ctx context.Context, stage, location string, now time.Time) (Forecast, error) {
	if location == "" {
		return Forecast{}, fmt.Errorf("forecast: %w", errNoLocation)
	}
	f := Forecast{Stage: stage, Location: location}
	rule := l.cfg.limitsFor(stage).Location
	if rule == nil || rule.Daily <= 0 {
		return f, nil
	}
	ls := l.location(stage, location)
	_, _, f.DailyLimit = ls.budget(rule)
	ls.mu.Lock()
	f.RatePerHour = ls.ratePerHour(now)
	upstream := !ls.dailyAt.IsZero() && now.Sub(ls.dailyAt) < Day
	f.DailyRemaining = ls.dailyRemaining
	ls.mu.Unlock()
	f.Source = "upstream"
	if !upstream {
		f.Source = "local"
		var st [1]State
		checks := []Check{{Key: stage + "|l|" + location + "|d", Limit: Limit{Name: LimitLocationDaily, Max: f.DailyLimit, Interval: Day}, Peek: true}}
		if _, _, err := l.take(ctx, checks, now, st[:]); err != nil {
			return f, fmt.Errorf("forecast %s: %w", location, err)
		}
		f.DailyRemaining = st[0].Remaining
	}
	if f.RatePerHour > 0 {
		f.ExhaustsAt = now.Add(time.Duration(float64(f.DailyRemaining) / f.RatePerHour * float64(time.Hour)))
	}
	return f, nil
}
