// Package idempotency makes a POST with an Idempotency-Key safe to repeat: the
// first response for a (client, key) pair is stored for 24 h and replayed for
// a repeat; the same key with a different request is refused (ErrKeyReused,
// which the gateway maps to 422); and concurrent repeats wait for the first
// instead of all reaching GHL.
//
// Two stores hold the records: Memory (one process) and Redis (shared by the
// replicas). A request in flight is a claim with a lease, so a replica that
// dies mid-request frees its keys when the lease ends.
package idempotency
