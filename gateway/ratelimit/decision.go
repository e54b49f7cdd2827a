package ratelimit

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxPolicies is the most budgets one decision can involve (client, location
// and global, each with an interval and a daily window).
const maxPolicies = 6

type policy struct {
	name      string
	max       int
	window    time.Duration
	remaining int
	reset     time.Duration
	refused   bool
	retry     time.Duration
	daily     bool
}

// Decision is the outcome of one request's check.
type Decision struct {
	Allowed bool
	// Limit names the budget that refused (see the Limit* constants); "" when
	// allowed.
	Limit string
	// RetryAfter is when the refused request would fit; -1 never (it exceeds
	// the budget on its own).
	RetryAfter time.Duration
	// Max, Remaining and Interval describe the tightest interval budget that
	// applied (GHL's X-RateLimit-Max, -Remaining, -Interval-Milliseconds);
	// Reset is when its oldest counted request leaves the window.
	Max       int
	Remaining int
	Interval  time.Duration
	Reset     time.Duration
	// DailyMax and DailyRemaining describe the tightest daily budget; DailyMax
	// is 0 when none applied.
	DailyMax       int
	DailyRemaining int
	// Local is true when the in-process fallback decided because Redis failed.
	Local bool

	policies [maxPolicies]policy
	n        int
}

func (d *Decision) add(name string, max int, window time.Duration, st State, daily bool) {
	if d.n == maxPolicies {
		return
	}
	d.policies[d.n] = policy{name: name, max: max, window: window, remaining: st.Remaining,
		reset: st.Reset, refused: st.Refused, retry: st.RetryAfter, daily: daily}
	d.n++
}

// finish picks the refusing budget (the one that frees up last) and the
// tightest interval and daily budgets.
func (d *Decision) finish() {
	ti, td := -1, -1
	for i := range d.policies[:d.n] {
		p := &d.policies[i]
		if p.refused && !d.Allowed {
			if p.retry < 0 || (d.RetryAfter >= 0 && p.retry > d.RetryAfter) || d.Limit == "" {
				d.Limit, d.RetryAfter = p.name, p.retry
			}
		}
		if p.daily {
			if td < 0 || p.remaining < d.policies[td].remaining {
				td = i
			}
		} else if ti < 0 || p.remaining < d.policies[ti].remaining {
			ti = i
		}
	}
	if ti >= 0 {
		p := d.policies[ti]
		d.Max, d.Remaining, d.Interval, d.Reset = p.max, p.remaining, p.window, p.reset
	}
	if td >= 0 {
		d.DailyMax, d.DailyRemaining = d.policies[td].max, d.policies[td].remaining
	}
}

// Err is nil for an allowed request and a *LimitedError otherwise.
func (d Decision) Err() error {
	if d.Allowed {
		return nil
	}
	return &LimitedError{Limit: d.Limit, RetryAfter: d.RetryAfter}
}

// RetryAfterSeconds is the Retry-After value: whole seconds, at least 1.
func (d Decision) RetryAfterSeconds() int {
	return ceilSeconds(d.RetryAfter, 1)
}

func ceilSeconds(t time.Duration, floor int) int {
	s := int((t + time.Second - 1) / time.Second)
	return max(s, floor)
}

// Headers sets GHL's five X-RateLimit-* headers for the tightest budget, the
// IETF RateLimit-Policy (every budget that applied) and RateLimit (the
// tightest, or the refusing one) fields, and Retry-After on a refusal.
func (d Decision) Headers(h http.Header) {
	if d.Max > 0 {
		h.Set(HeaderMax, strconv.Itoa(d.Max))
		h.Set(HeaderRemaining, strconv.Itoa(d.Remaining))
		h.Set(HeaderInterval, strconv.FormatInt(d.Interval.Milliseconds(), 10))
	}
	if d.DailyMax > 0 {
		h.Set(HeaderLimitDaily, strconv.Itoa(d.DailyMax))
		h.Set(HeaderDailyRemaining, strconv.Itoa(d.DailyRemaining))
	}
	if !d.Allowed {
		h.Set("Retry-After", strconv.Itoa(d.RetryAfterSeconds()))
	}
	if d.n == 0 {
		return
	}
	var b strings.Builder
	tight := -1
	for i, p := range d.policies[:d.n] {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(`"` + p.name + `";q=` + strconv.Itoa(p.max) + ";w=" + strconv.Itoa(ceilSeconds(p.window, 1)))
		if !d.Allowed {
			if p.name == d.Limit && tight < 0 {
				tight = i
			}
			continue
		}
		if tight < 0 || p.remaining < d.policies[tight].remaining {
			tight = i
		}
	}
	tight = max(tight, 0)
	h.Set("RateLimit-Policy", b.String())
	t := d.policies[tight]
	h.Set("RateLimit", `"`+t.name+`";r=`+strconv.Itoa(t.remaining)+";t="+strconv.Itoa(ceilSeconds(t.reset, 0)))
}
