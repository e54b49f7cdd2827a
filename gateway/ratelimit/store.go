package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Limit is one budget: at most Max events in any window of length Interval.
type Limit struct {
	// Name identifies the budget in decisions, headers and problems
	// ("client", "location_daily", ...).
	Name     string
	Max      int
	Interval time.Duration
}

// Check asks a Store about one key under one Limit.
type Check struct {
	Key   string
	Limit Limit
	// Peek reports the key's state without counting the events and without
	// refusing; it lets a caller read a sibling budget in the same round trip.
	Peek bool
}

// State is what a Store reports for one Check.
type State struct {
	// Remaining is how many more events the window admits after this decision.
	Remaining int
	// Refused is true when this check alone would refuse the events.
	Refused bool
	// RetryAfter is how long until the refused events would fit; -1 when they
	// never can (more events than Max). Zero when not refused.
	RetryAfter time.Duration
	// Reset is how long until the oldest counted event leaves the window; zero
	// for an empty window.
	Reset time.Duration
}

// Store holds sliding windows. Take checks every non-peek check and, only if
// all of them admit n events at now, counts the events against each; states
// receives one State per check (len(states) must be at least len(checks)).
// Memory and Redis implement it.
type Store interface {
	Take(ctx context.Context, checks []Check, n int, now time.Time, states []State) (bool, error)
}

// ErrBackendUnavailable wraps a Store failure that the Limiter could not
// absorb under its on_redis_error policy. The gateway maps it to 503.
var ErrBackendUnavailable = errors.New("rate limit backend unavailable")

// ErrLimited is matched (errors.Is) by every *LimitedError.
var ErrLimited = errors.New("rate limited")

// LimitedError says which budget refused a request and when to come back.
type LimitedError struct {
	Limit      string
	RetryAfter time.Duration
}

func (e *LimitedError) Error() string {
	return fmt.Sprintf("rate limited by %s budget, retry after %s", e.Limit, e.RetryAfter)
}

// Is makes errors.Is(err, ErrLimited) true.
func (e *LimitedError) Is(target error) bool { return target == ErrLimited }

// AllowN is Take for a single key: it reports whether n events fit limit at now.
func AllowN(ctx context.Context, s Store, key string, limit Limit, n int, now time.Time) (State, error) {
	var st [1]State
	_, err := s.Take(ctx, []Check{{Key: key, Limit: limit}}, n, now, st[:])
	return st[0], err
}

// exactMax is the largest Max kept as an exact log of timestamps; larger
// budgets are bucketed (see resolution).
const exactMax = 4096

// resolution returns the bucket width for a limit, in the unit of interval:
// 1 (exact) for small budgets, interval/exactMax for large ones, so a window
// never holds more than about exactMax entries.
func resolution(max int, interval int64) int64 {
	if max <= exactMax {
		return 1
	}
	r := interval / exactMax
	if r < 1 {
		r = 1
	}
	return r
}

// ceilTo rounds t up to a multiple of r. Rounding up makes a bucketed event
// leave the window no earlier than the real one would: conservative.
func ceilTo(t, r int64) int64 {
	if r <= 1 {
		return t
	}
	q := t / r
	if t%r != 0 && t > 0 {
		q++
	}
	return q * r
}
