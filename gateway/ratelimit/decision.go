package ratelimit

import (
	"net/http"
	"strconv"
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
// tightest, or the refusing one) fields, and Retry-After on a refusal. Of
// those seven rate-limit headers, the ones it does not set are removed from
// h: on an upstream answer they are GHL's, and the client is told the
// gateway's budgets, never GHL's.
func (d *Decision) Headers(h http.Header) {
	// Every value is formatted into one buffer, turned into one string and
	// sliced, and the values share one backing array; the keys are
	// canonical already (Header.Set would canonicalize each, and GHL's
	// spelling X-RateLimit-* is not canonical, so that allocated).
	// Assigning h[key] is what Set does after that. Two allocations
	// instead of a dozen.
	var keys [9]string
	var ends [9]int
	n := 0
	// Overwriting a header is one map assignment; removing GHL's first
	// and adding the gateway's was two (seven deletions, 2,000
	// instructions per answer).
	var set uint8       // bit i: ownedHeaders[i] is set
	var space [512]byte // on the stack: the values' one allocation is their string
	b := space[:0]
	num := func(key string, owned int, v int64) {
		b = strconv.AppendInt(b, v, 10)
		keys[n], ends[n] = key, len(b)
		n++
		if owned >= 0 {
			set |= 1 << owned
		}
	}
	if d.Max > 0 {
		num(canonMax, ownMax, int64(d.Max))
		num(canonRemaining, ownRemaining, int64(d.Remaining))
		num(canonInterval, ownInterval, d.Interval.Milliseconds())
	}
	if d.DailyMax > 0 {
		num(canonLimitDaily, ownLimitDaily, int64(d.DailyMax))
		num(canonDailyRemaining, ownDailyRemaining, int64(d.DailyRemaining))
	}
	if !d.Allowed {
		num("Retry-After", -1, int64(d.RetryAfterSeconds()))
	}
	if d.n > 0 {
		tight := -1
		for i, p := range d.policies[:d.n] {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = append(b, '"')
			b = append(b, p.name...)
			b = append(b, `";q=`...)
			b = strconv.AppendInt(b, int64(p.max), 10)
			b = append(b, ";w="...)
			b = strconv.AppendInt(b, int64(ceilSeconds(p.window, 1)), 10)
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
		keys[n], ends[n] = canonPolicy, len(b)
		n++
		set |= 1 << ownPolicy
		t := d.policies[max(tight, 0)]
		b = append(b, '"')
		b = append(b, t.name...)
		b = append(b, `";r=`...)
		b = strconv.AppendInt(b, int64(t.remaining), 10)
		b = append(b, ";t="...)
		b = strconv.AppendInt(b, int64(ceilSeconds(t.reset, 0)), 10)
		keys[n], ends[n] = canonRateLimit, len(b)
		n++
		set |= 1 << ownRateLimit
	}
	for i, k := range ownedHeaders {
		if set&(1<<i) == 0 {
			delete(h, k)
		}
	}
	if n == 0 {
		return
	}
	all := string(b)
	vals := make([]string, n)
	start := 0
	for i := range n {
		vals[i] = all[start:ends[i]]
		h[keys[i]] = vals[i : i+1 : i+1]
		start = ends[i]
	}
}

// The canonical forms of the headers Headers sets (see
// http.CanonicalHeaderKey), computed once.
var (
	canonMax            = http.CanonicalHeaderKey(HeaderMax)
	canonRemaining      = http.CanonicalHeaderKey(HeaderRemaining)
	canonInterval       = http.CanonicalHeaderKey(HeaderInterval)
	canonLimitDaily     = http.CanonicalHeaderKey(HeaderLimitDaily)
	canonDailyRemaining = http.CanonicalHeaderKey(HeaderDailyRemaining)
	canonPolicy         = http.CanonicalHeaderKey("RateLimit-Policy")
	canonRateLimit      = http.CanonicalHeaderKey("RateLimit")

	// ownedHeaders are the rate-limit headers Headers sets or removes, in
	// the order of the own* indexes.
	ownedHeaders = []string{canonMax, canonRemaining, canonInterval, canonLimitDaily, canonDailyRemaining, canonPolicy, canonRateLimit}
)

const (
	ownMax = iota
	ownRemaining
	ownInterval
	ownLimitDaily
	ownDailyRemaining
	ownPolicy
	ownRateLimit
)
