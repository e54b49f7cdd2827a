package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

const memoryShards = 64

// sweepEvery is how often (in the caller's clock) a shard drops windows that
// have emptied, so memory stays bounded by the keys active within the longest
// interval.
const sweepEvery = time.Minute

// Memory is an in-process Store: sharded maps of sliding windows. Safe for
// concurrent use. The zero value is not usable; call NewMemory.
type Memory struct {
	seed   maphash.Seed
	shards [memoryShards]memShard
}

type memShard struct {
	mu        sync.Mutex
	windows   map[string]*window
	lastSweep int64
}

// entry counts the events recorded at one (possibly rounded) timestamp.
type entry struct {
	stamp int64 // unix nanoseconds
	count int64
}

// window is a sliding log of entries in stamp order, read from head.
type window struct {
	entries  []entry
	head     int
	total    int64
	interval int64 // last interval used, for eviction
}

// NewMemory returns an empty in-memory Store.
func NewMemory() *Memory {
	m := &Memory{seed: maphash.MakeSeed()}
	for i := range m.shards {
		m.shards[i].windows = make(map[string]*window)
	}
	return m
}

// Len reports how many keys the store currently holds (for tests and metrics).
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.windows)
		s.mu.Unlock()
	}
	return n
}

// Take implements Store. Shards are locked in index order, so concurrent
// multi-key decisions cannot deadlock and are atomic across their keys.
func (m *Memory) Take(_ context.Context, checks []Check, n int, now time.Time, states []State) (bool, error) {
	var idx [16]uint8
	shards := idx[:0]
	for _, c := range checks {
		i := uint8(maphash.String(m.seed, c.Key) % memoryShards)
		shards = insertSorted(shards, i)
	}
	for _, i := range shards {
		m.shards[i].mu.Lock()
	}
	ns := now.UnixNano()
	allowed := true
	var wins [16]*window
	ws := wins[:0]
	for k, c := range checks {
		s := &m.shards[maphash.String(m.seed, c.Key)%memoryShards]
		w := s.windows[c.Key]
		if w == nil {
			// A read of a missing key must not create one: only counted
			// events occupy memory.
			w = &window{}
			if !c.Peek && n > 0 {
				s.windows[c.Key] = w
			}
		}
		ws = append(ws, w)
		iv := int64(c.Limit.Interval)
		w.interval = iv
		w.prune(ns, iv)
		cost := int64(n)
		if c.Peek {
			cost = 0
		}
		st := State{Reset: w.reset(ns, iv)}
		if w.total+cost > int64(c.Limit.Max) {
			st.Refused = true
			st.RetryAfter = w.retryAfter(ns, iv, w.total+cost-int64(c.Limit.Max), cost > int64(c.Limit.Max))
			allowed = false
		}
		st.Remaining = max(int(int64(c.Limit.Max)-w.total), 0)
		states[k] = st
	}
	if allowed {
		for k, c := range checks {
			if c.Peek || n <= 0 {
				continue
			}
			w := ws[k]
			w.add(ceilTo(ns, resolution(c.Limit.Max, int64(c.Limit.Interval))), int64(n))
			states[k].Remaining = max(int(int64(c.Limit.Max)-w.total), 0)
			if states[k].Reset == 0 {
				states[k].Reset = c.Limit.Interval
			}
		}
	}
	for _, i := range shards {
		s := &m.shards[i]
		if ns-s.lastSweep >= int64(sweepEvery) {
			s.sweep(ns)
		}
		s.mu.Unlock()
	}
	return allowed, nil
}

func insertSorted(s []uint8, v uint8) []uint8 {
	for i, x := range s {
		if x == v {
			return s
		}
		if x > v {
			s = append(s, 0)
			copy(s[i+1:], s[i:])
			s[i] = v
			return s
		}
	}
	return append(s, v)
}

// sweep drops every window whose events have all left it. Caller holds mu.
func (s *memShard) sweep(now int64) {
	s.lastSweep = now
	for k, w := range s.windows {
		w.prune(now, w.interval)
		if w.total == 0 {
			delete(s.windows, k)
		}
	}
}

// prune drops entries that have left the window (stamp+interval <= now): an
// event at t counts until t+interval, exclusive.
func (w *window) prune(now, interval int64) {
	for w.head < len(w.entries) && w.entries[w.head].stamp+interval <= now {
		w.total -= w.entries[w.head].count
		w.head++
	}
	switch {
	case w.head == len(w.entries):
		w.entries, w.head = w.entries[:0], 0
	case w.head > 32 && 2*w.head >= len(w.entries):
		k := copy(w.entries, w.entries[w.head:])
		w.entries, w.head = w.entries[:k], 0
	}
}

func (w *window) reset(now, interval int64) time.Duration {
	if w.head == len(w.entries) {
		return 0
	}
	return time.Duration(w.entries[w.head].stamp + interval - now)
}

// retryAfter walks the oldest entries until need events have left.
func (w *window) retryAfter(now, interval, need int64, never bool) time.Duration {
	if never {
		return -1
	}
	var freed int64
	for _, e := range w.entries[w.head:] {
		freed += e.count
		if freed >= need {
			return time.Duration(e.stamp + interval - now)
		}
	}
	return time.Duration(interval)
}

// add records count events at stamp. A stamp older than the newest entry (a
// caller whose clock reading lost a race) is counted at the newest entry: later
// expiry, never earlier.
func (w *window) add(stamp, count int64) {
	if k := len(w.entries); k > w.head {
		last := &w.entries[k-1]
		if stamp <= last.stamp {
			last.count += count
			w.total += count
			return
		}
	}
	w.entries = append(w.entries, entry{stamp: stamp, count: count})
	w.total += count
}
