package idempotency

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// Memory is an in-process Store. Expired records are dropped as the clock
// passes them.
type Memory struct {
	mu        sync.Mutex
	recs      map[string]*memRec
	lastSweep time.Time
}

type memRec struct {
	Record
	expires time.Time
	wait    chan struct{}
}

// NewMemory returns an empty Memory store.
func NewMemory() *Memory { return &Memory{recs: make(map[string]*memRec)} }

// Claim implements Store.
func (m *Memory) Claim(_ context.Context, key string, hash [32]byte, lease time.Duration, now time.Time) (Record, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if now.Sub(m.lastSweep) >= time.Minute {
		m.lastSweep = now
		for k, r := range m.recs {
			if !now.Before(r.expires) {
				m.drop(k, r)
			}
		}
	}
	if r, ok := m.recs[key]; ok {
		if now.Before(r.expires) {
			rec := r.Record
			rec.Token = ""
			if !rec.Done {
				rec.Wait = r.wait
			}
			return rec, false, nil
		}
		m.drop(key, r)
	}
	r := &memRec{Record: Record{Hash: hash, Token: newToken()}, expires: now.Add(lease), wait: make(chan struct{})}
	m.recs[key] = r
	return r.Record, true, nil
}

// Complete implements Store.
func (m *Memory) Complete(_ context.Context, key, token string, hash [32]byte, resp Response, ttl time.Duration, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[key]
	if !ok || r.Token != token {
		return nil // the lease ended and someone else owns the key
	}
	r.Done, r.Response, r.Hash, r.expires = true, resp, hash, now.Add(ttl)
	close(r.wait)
	return nil
}

// Release implements Store.
func (m *Memory) Release(_ context.Context, key, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.recs[key]; ok && r.Token == token {
		m.drop(key, r)
	}
	return nil
}

// drop removes a record and wakes its waiters. Caller holds mu.
func (m *Memory) drop(key string, r *memRec) {
	delete(m.recs, key)
	if !r.Done {
		close(r.wait)
	}
}

// Len reports how many records are held.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.recs)
}

func newToken() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
