// Package ratelimit decides whether a request to GHL may go now, must wait, or
// is refused, so that Rankr never trips HighLevel's own limits and one noisy
// client cannot starve the others.
//
// Three kinds of budget apply, each configurable per stage: per client, per
// upstream resource (the GHL location or company; GHL's 100 per 10 s and
// 200,000 per day by default) and a global ceiling. A request must pass every
// one that applies; the check is all-or-nothing, so a refusal by one budget
// never spends another.
//
// Budgets are exact sliding windows: at most Max events in any window of length
// Interval, including across the boundary where a fixed window would let twice
// the budget through. GCRA (go-redis/redis_rate) was considered and not used:
// with a burst equal to the budget it admits up to 2·Max−1 requests in some
// window of length Interval (the burst plus the refill), which is exactly the
// overshoot that makes GHL answer 429. Windows with a large Max (the daily
// budget) are kept as counted buckets of Interval/4096 whose timestamps are
// rounded up, so they stay conservative: never more than Max, sometimes a
// little less.
//
// Two Store implementations hold the windows: Memory (the default) and Redis
// (so replicas share one budget). The Limiter built from a Config adds stages,
// lanes that reserve a share of a location's budget, Prefer: wait smoothing,
// upstream awareness (GHL's X-RateLimit-* headers and 429s hold a location and
// calibrate its budget), a daily forecast, and a policy for an unreachable
// Redis.
package ratelimit
