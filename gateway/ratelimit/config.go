package ratelimit

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// Policy names what the Limiter does when Redis cannot be reached.
const (
	// FailClosed refuses requests (ErrBackendUnavailable, 503) while Redis is down.
	FailClosed = "fail_closed"
	// FallbackLocal decides with in-process windows while Redis is down; each
	// replica then enforces the full budget on its own.
	FallbackLocal = "local"
)

// Day is the length of the daily windows (rolling 24 h, which also never
// exceeds a calendar-day budget).
const Day = 24 * time.Hour

// Config configures a Limiter. Load it over DefaultConfig, then call Validate.
type Config struct {
	// Default holds the budgets of every stage not overridden in Stages.
	// Default: only the per-location budget, GHL's 100 per 10 s and 200,000 per day.
	Default StageLimits `yaml:"default"`
	// Stages overrides Default per stage ("production", "staging", "sandbox");
	// a kind set here replaces the default's rule of that kind, a kind left out
	// inherits it. Default: none.
	Stages map[string]StageLimits `yaml:"stages"`
	// RedisURL, when set, keeps the budgets in Redis so that every replica
	// shares them (redis://host:port/db). Default: "" (in memory, per process).
	RedisURL string `yaml:"redis_url"`
	// OnRedisError is "fail_closed" (refuse, 503) or "local" (decide with
	// in-process budgets until Redis answers again). Default: fail_closed.
	OnRedisError string `yaml:"on_redis_error"`
	// KeyPrefix starts every Redis key. Default: "ghlgate:rl:".
	KeyPrefix string `yaml:"key_prefix"`
	// Lanes reserve shares of each location's interval budget, e.g.
	// {interactive: {reserve: 0.3}}. A request in a lane without a reserve
	// uses only what no lane has reserved. Default: none.
	Lanes map[string]Lane `yaml:"lanes"`
	// MaxWait caps how long Prefer: wait=N may hold a request. Default: 30s.
	MaxWait time.Duration `yaml:"max_wait"`
	// WaitQueue bounds how many requests may be waiting at once; further ones
	// are refused at once. Default: 256.
	WaitQueue int `yaml:"wait_queue"`
	// DailyHold is how long a location stays held after GHL reports its daily
	// budget spent without saying when it resets. Default: 1h.
	DailyHold time.Duration `yaml:"daily_hold"`
}

// StageLimits are the three kinds of budget; nil means "not configured here".
type StageLimits struct {
	// Client is the budget of each Rankr client. Default: off.
	Client *Rule `yaml:"client"`
	// Location is the budget of each GHL location or company, shared by every
	// client. Default: {max: 100, interval: 10s, daily: 200000}.
	Location *Rule `yaml:"location"`
	// Global caps all traffic of the stage. Default: off.
	Global *Rule `yaml:"global"`
}

// Rule is one kind of budget. A rule with Max and Daily both 0 is off.
type Rule struct {
	// Max requests in any window of Interval; 0 turns the interval budget off.
	Max int `yaml:"max"`
	// Interval of the window. Required when Max > 0.
	Interval time.Duration `yaml:"interval"`
	// Daily requests in any 24 h; 0 turns the daily budget off.
	Daily int `yaml:"daily"`
}

// Lane is a priority lane.
type Lane struct {
	// Reserve is the share (0..1) of each location's interval budget kept for
	// this lane. Default: 0.
	Reserve float64 `yaml:"reserve"`
}

// GHL's documented per-app, per-location budgets.
const (
	GHLMax      = 100
	GHLInterval = 10 * time.Second
	GHLDaily    = 200_000
)

// DefaultConfig returns the out-of-the-box configuration: only GHL's
// per-location budget applies, in memory, failing closed.
func DefaultConfig() Config {
	return Config{
		Default:      StageLimits{Location: &Rule{Max: GHLMax, Interval: GHLInterval, Daily: GHLDaily}},
		OnRedisError: FailClosed,
		KeyPrefix:    "ghlgate:rl:",
		MaxWait:      30 * time.Second,
		WaitQueue:    256,
		DailyHold:    time.Hour,
	}
}

// withDefaults fills zero scalar fields from DefaultConfig (the budgets
// themselves are left as configured: nil means off).
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.OnRedisError == "" {
		c.OnRedisError = d.OnRedisError
	}
	if c.KeyPrefix == "" {
		c.KeyPrefix = d.KeyPrefix
	}
	if c.MaxWait == 0 {
		c.MaxWait = d.MaxWait
	}
	if c.WaitQueue == 0 {
		c.WaitQueue = d.WaitQueue
	}
	if c.DailyHold == 0 {
		c.DailyHold = d.DailyHold
	}
	return c
}

// Validate reports every problem at once; it changes nothing.
func (c Config) Validate() error {
	var errs []error
	check := func(where string, r *Rule) {
		if r == nil {
			return
		}
		if r.Max < 0 || r.Daily < 0 {
			errs = append(errs, fmt.Errorf("%s: max and daily must not be negative", where))
		}
		if r.Max > 0 && r.Interval <= 0 {
			errs = append(errs, fmt.Errorf("%s: interval must be positive when max is set", where))
		}
	}
	checkStage := func(where string, s StageLimits) {
		check(where+".client", s.Client)
		check(where+".location", s.Location)
		check(where+".global", s.Global)
	}
	checkStage("ratelimit.default", c.Default)
	for _, name := range sortedKeys(c.Stages) {
		checkStage("ratelimit.stages."+name, c.Stages[name])
	}
	switch c.OnRedisError {
	case "", FailClosed, FallbackLocal:
	default:
		errs = append(errs, fmt.Errorf("ratelimit.on_redis_error: %q is not fail_closed or local", c.OnRedisError))
	}
	var sum float64
	for _, name := range sortedKeys(c.Lanes) {
		r := c.Lanes[name].Reserve
		if r < 0 || r > 1 || math.IsNaN(r) {
			errs = append(errs, fmt.Errorf("ratelimit.lanes.%s.reserve: %v is not between 0 and 1", name, r))
			continue
		}
		sum += r
	}
	if sum >= 1 {
		errs = append(errs, fmt.Errorf("ratelimit.lanes: reserves add up to %v; they must leave some budget unreserved (< 1)", sum))
	}
	if c.MaxWait < 0 {
		errs = append(errs, errors.New("ratelimit.max_wait must not be negative"))
	}
	if c.WaitQueue < 0 {
		errs = append(errs, errors.New("ratelimit.wait_queue must not be negative"))
	}
	if c.DailyHold < 0 {
		errs = append(errs, errors.New("ratelimit.daily_hold must not be negative"))
	}
	return errors.Join(errs...)
}

// limitsFor merges a stage's overrides over the defaults.
func (c Config) limitsFor(stage string) StageLimits {
	out := c.Default
	if s, ok := c.Stages[stage]; ok {
		if s.Client != nil {
			out.Client = s.Client
		}
		if s.Location != nil {
			out.Location = s.Location
		}
		if s.Global != nil {
			out.Global = s.Global
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
