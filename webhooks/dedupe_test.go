package webhooks

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/rankr/ghlgate/store/storetest"
)

// dedupers is the same suite's subjects: memory, SQLite and PostgreSQL
// (skipped unless GHLGATE_TEST_POSTGRES_URL is set).
type testDeduper interface {
	Deduper
	Seen(ctx context.Context, id string) (bool, error)
	Prune(ctx context.Context) (int64, error)
}

func dedupers(t *testing.T, cfg DeduperConfig) map[string]func(t *testing.T) testDeduper {
	return map[string]func(t *testing.T) testDeduper{
		"memory": func(t *testing.T) testDeduper { return NewMemoryDeduper(cfg) },
		"sqlite": func(t *testing.T) testDeduper {
			d, err := NewSQLDeduper(context.Background(), storetest.OpenTestSQLite(t), cfg)
			if err != nil {
				t.Fatal(err)
			}
			return d
		},
		"postgres": func(t *testing.T) testDeduper {
			d, err := NewSQLDeduper(context.Background(), storetest.OpenTestPostgres(t), cfg)
			if err != nil {
				t.Fatal(err)
			}
			return d
		},
	}
}

func TestDeduper(t *testing.T) {
	clk := &clock{t: t0}
	cfg := DeduperConfig{Now: clk.Now, Lease: time.Minute, Retention: time.Hour}
	type step struct {
		do        string // claim, accept, defer, reject, advance, prune, seen
		id        string
		d         time.Duration
		wantClaim Claim
		wantErr   error
		wantN     int64
		wantSeen  bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"first claim is new, a copy after acceptance is a duplicate", []step{
			{do: "claim", id: "a", wantClaim: ClaimNew},
			{do: "seen", id: "a", wantSeen: false},
			{do: "accept", id: "a"},
			{do: "seen", id: "a", wantSeen: true},
			{do: "claim", id: "a", wantClaim: ClaimDuplicate},
			{do: "claim", id: "b", wantClaim: ClaimNew},
		}},
		{"a copy while the first is processed is in flight", []step{
			{do: "claim", id: "a", wantClaim: ClaimNew},
			{do: "claim", id: "a", wantErr: ErrInFlight},
			{do: "advance", d: 59 * time.Second},
			{do: "claim", id: "a", wantErr: ErrInFlight},
		}},
		{"an abandoned claim is resumed after the lease", []step{
			{do: "claim", id: "a", wantClaim: ClaimNew},
			{do: "advance", d: 61 * time.Second},
			{do: "claim", id: "a", wantClaim: ClaimResumed},
			{do: "claim", id: "a", wantErr: ErrInFlight},
		}},
		{"a deferred delivery is resumed, then a duplicate", []step{
			{do: "claim", id: "a", wantClaim: ClaimNew},
			{do: "defer", id: "a"},
			{do: "seen", id: "a", wantSeen: false},
			{do: "advance", d: 10 * time.Minute},
			{do: "claim", id: "a", wantClaim: ClaimResumed},
			{do: "accept", id: "a"},
			{do: "claim", id: "a", wantClaim: ClaimDuplicate},
		}},
		{"a rejected delivery is forgotten", []step{
			{do: "claim", id: "a", wantClaim: ClaimNew},
			{do: "reject", id: "a"},
			{do: "claim", id: "a", wantClaim: ClaimNew},
		}},
		{"prune forgets what is older than the retention", []step{
			{do: "claim", id: "old", wantClaim: ClaimNew},
			{do: "accept", id: "old"},
			{do: "advance", d: 30 * time.Minute},
			{do: "claim", id: "young", wantClaim: ClaimNew},
			{do: "accept", id: "young"},
			{do: "advance", d: 31 * time.Minute},
			{do: "prune", wantN: 1},
			{do: "seen", id: "old", wantSeen: false},
			{do: "seen", id: "young", wantSeen: true},
			{do: "claim", id: "old", wantClaim: ClaimNew},
		}},
	}
	for name, open := range dedupers(t, cfg) {
		t.Run(name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					d := open(t)
					ctx := context.Background()
					for i, s := range tc.steps {
						id := s.id
						switch s.do {
						case "claim":
							got, err := d.Claim(ctx, id)
							if !errors.Is(err, s.wantErr) || (s.wantErr == nil && err != nil) || got != s.wantClaim {
								t.Fatalf("step %d: Claim(%s) = %v, %v; want %v, %v", i, s.id, got, err, s.wantClaim, s.wantErr)
							}
						case "accept", "defer", "reject":
							o := map[string]Outcome{"accept": OutcomeAccepted, "defer": OutcomeDeferred, "reject": OutcomeRejected}[s.do]
							if err := d.Settle(ctx, id, o); err != nil {
								t.Fatalf("step %d: Settle(%s, %s) = %v", i, s.id, s.do, err)
							}
						case "advance":
							clk.Advance(s.d)
						case "prune":
							n, err := d.Prune(ctx)
							if err != nil || n != s.wantN {
								t.Fatalf("step %d: Prune() = %d, %v; want %d", i, n, err, s.wantN)
							}
						case "seen":
							got, err := d.Seen(ctx, id)
							if err != nil || got != s.wantSeen {
								t.Fatalf("step %d: Seen(%s) = %v, %v; want %v", i, s.id, got, err, s.wantSeen)
							}
						}
					}
				})
			}
		})
	}
}

// TestDeduperConcurrentClaims: of many simultaneous copies, exactly one
// owns the delivery.
func TestDeduperConcurrentClaims(t *testing.T) {
	for name, open := range dedupers(t, DeduperConfig{Now: fixedNow(t0)}) {
		t.Run(name, func(t *testing.T) {
			d := open(t)
			const n = 16
			var wg sync.WaitGroup
			var mu sync.Mutex
			counts := map[string]int{}
			for range n {
				wg.Go(func() {
					c, err := d.Claim(context.Background(), "same")
					key := c.String()
					if err != nil {
						key = ReasonCode(err)
					}
					mu.Lock()
					counts[key]++
					mu.Unlock()
				})
			}
			wg.Wait()
			if counts["new"] != 1 || counts[ReasonInFlight] != n-1 {
				t.Errorf("claims of %d simultaneous copies = %v; want 1 new and %d in flight", n, counts, n-1)
			}
		})
	}
}
