package ratelimit

import (
	"context"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// A window that a fixed-window limiter would reset at 10 s: the first 50 leave
// at exactly t0+10s, not a nanosecond earlier, and the second 50 still count.
func TestStoreExactAtBoundary(t *testing.T) {
	lim := Limit{Name: "location", Max: 100, Interval: 10 * time.Second}
	type step struct {
		at      time.Duration
		n       int // requests sent one by one
		allowed int // how many should pass
		retry   time.Duration
	}
	steps := []step{
		{at: 0, n: 50, allowed: 50},
		{at: 5 * time.Second, n: 60, allowed: 50, retry: 5 * time.Second},
		{at: 10*time.Second - time.Microsecond, n: 1, allowed: 0, retry: time.Microsecond},
		{at: 10 * time.Second, n: 60, allowed: 50, retry: 5 * time.Second},
		{at: 15*time.Second - time.Microsecond, n: 1, allowed: 0, retry: time.Microsecond},
		{at: 15 * time.Second, n: 50, allowed: 50},
	}
	for name, mk := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s := mk(t)
			ctx := context.Background()
			for _, st := range steps {
				got := 0
				var last State
				for range st.n {
					res, err := AllowN(ctx, s, "loc", lim, 1, t0.Add(st.at))
					if err != nil {
						t.Fatalf("AllowN at %v: %v", st.at, err)
					}
					if !res.Refused {
						got++
					}
					last = res
				}
				if got != st.allowed {
					t.Errorf("at +%v allowed %d of %d; want %d", st.at, got, st.n, st.allowed)
				}
				if st.retry > 0 && last.RetryAfter != st.retry {
					t.Errorf("at +%v RetryAfter = %v; want %v", st.at, last.RetryAfter, st.retry)
				}
			}
		})
	}
}

// Randomised arrivals: the allowed requests never exceed Max in any window of
// Interval, and every refusal happened with Max requests already in the
// window (exact, not merely safe).
func TestStoreSlidingWindowProperty(t *testing.T) {
	lim := Limit{Name: "p", Max: 20, Interval: time.Second}
	for name, mk := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s := mk(t)
			r := rand.New(rand.NewPCG(1, 2))
			now := t0
			var allowed []time.Time
			for range 2000 {
				now = now.Add(time.Duration(r.IntN(100_000)) * time.Microsecond)
				st, err := AllowN(context.Background(), s, "k", lim, 1, now)
				if err != nil {
					t.Fatal(err)
				}
				inWindow := 0
				for _, a := range allowed {
					if a.After(now.Add(-lim.Interval)) {
						inWindow++
					}
				}
				if st.Refused && inWindow < lim.Max {
					t.Fatalf("refused at %v with %d in window; want refusals only at %d", now.Sub(t0), inWindow, lim.Max)
				}
				if !st.Refused {
					if inWindow >= lim.Max {
						t.Fatalf("allowed at %v with %d already in window; want at most %d", now.Sub(t0), inWindow, lim.Max)
					}
					allowed = append(allowed, now)
				}
			}
			if len(allowed) < 100 {
				t.Fatalf("allowed %d; the test did not exercise the limit", len(allowed))
			}
		})
	}
}

// A large budget is bucketed: it never admits more than Max in a window, and
// admits again once the bucket leaves.
func TestStoreBucketedDailyIsConservative(t *testing.T) {
	lim := Limit{Name: "location_daily", Max: 5000, Interval: Day}
	for name, mk := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s := mk(t)
			ctx := context.Background()
			st, err := s.Take(ctx, []Check{{Key: "d", Limit: lim}}, 5000, t0.Add(time.Second), make([]State, 1))
			if err != nil || !st {
				t.Fatalf("Take(5000) = %v, %v; want true", st, err)
			}
			res, _ := AllowN(ctx, s, "d", lim, 1, t0.Add(Day))
			if !res.Refused {
				t.Errorf("AllowN at +24h = allowed; want refused (the events at +1s count until +24h+1s at least)")
			}
			res, _ = AllowN(ctx, s, "d", lim, 1, t0.Add(Day+Day/exactMax+time.Second))
			if res.Refused {
				t.Errorf("AllowN one bucket after expiry = refused (retry %v); want allowed", res.RetryAfter)
			}
		})
	}
}

// A request refused by one budget spends none of the others; a peek spends nothing.
func TestStoreAllOrNothing(t *testing.T) {
	tight := Limit{Name: "client", Max: 1, Interval: time.Minute}
	wide := Limit{Name: "location", Max: 10, Interval: time.Minute}
	for name, mk := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s := mk(t)
			ctx := context.Background()
			states := make([]State, 2)
			checks := []Check{{Key: "c", Limit: tight}, {Key: "l", Limit: wide}}
			for i, want := range []bool{true, false, false} {
				got, err := s.Take(ctx, checks, 1, t0, states)
				if err != nil || got != want {
					t.Fatalf("Take #%d = %v, %v; want %v", i, got, err, want)
				}
			}
			if states[1].Refused || states[1].Remaining != 9 {
				t.Errorf("wide state = %+v; want not refused, 9 remaining", states[1])
			}
			if !states[0].Refused || states[0].RetryAfter != time.Minute {
				t.Errorf("tight state = %+v; want refused, retry 1m", states[0])
			}
			peek := []Check{{Key: "l", Limit: wide, Peek: true}}
			for range 3 {
				if _, err := s.Take(ctx, peek, 1, t0, states); err != nil {
					t.Fatal(err)
				}
			}
			if states[0].Remaining != 9 {
				t.Errorf("after peeks Remaining = %d; want 9", states[0].Remaining)
			}
		})
	}
}

func TestStoreNeverFits(t *testing.T) {
	for name, mk := range stores(t) {
		t.Run(name, func(t *testing.T) {
			st, err := AllowN(context.Background(), mk(t), "k", Limit{Max: 2, Interval: time.Second}, 3, t0)
			if err != nil || !st.Refused || st.RetryAfter != -1 {
				t.Errorf("AllowN(3 of 2) = %+v, %v; want refused, RetryAfter -1", st, err)
			}
		})
	}
}

func TestMemoryEvictsIdleKeys(t *testing.T) {
	m := NewMemory()
	ctx := context.Background()
	lim := Limit{Max: 5, Interval: time.Second}
	for i := range 1000 {
		if _, err := AllowN(ctx, m, "k"+strconv.Itoa(i), lim, 1, t0); err != nil {
			t.Fatal(err)
		}
	}
	if got := m.Len(); got != 1000 {
		t.Fatalf("Len() = %d; want 1000", got)
	}
	// Reads of absent keys create nothing, but give every shard its sweep.
	later := t0.Add(sweepEvery + time.Second)
	for i := range 2000 {
		if _, err := AllowN(ctx, m, "r"+strconv.Itoa(i), lim, 0, later); err != nil {
			t.Fatal(err)
		}
	}
	if got := m.Len(); got != 0 {
		t.Errorf("Len() after the windows emptied and a sweep = %d; want 0", got)
	}
}
