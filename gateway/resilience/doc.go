// Package resilience keeps a failing GHL from taking the gateway down with it:
// an http.RoundTripper that retries only where it is safe (GET, HEAD, PUT,
// DELETE, OPTIONS; POST and PATCH only with an Idempotency-Key) on connection
// errors, 502, 503, 504 and GHL's 429 (after its interval), with exponential
// backoff, full jitter and a per-request budget; a circuit breaker per
// upstream host that opens after repeated failures, answers ErrCircuitOpen at
// once, probes half-open and closes on success; and transport timeouts.
//
// The breaker is written here rather than taken from sony/gobreaker because
// gobreaker reads time.Now itself, so its open → half-open transition cannot
// be tested without sleeping; this one takes the clock from Options.
package resilience
