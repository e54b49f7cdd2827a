package ratelimit

import (
	"context"
	"errors"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Three gateway replicas, each with its own Limiter and Redis connection,
// fire 300 requests for one location inside one window: exactly 100 pass.
func TestRedisReplicasShareOneBudget(t *testing.T) {
	url := redisURL(t)
	prefix := testPrefix(t, newRedisClient(t, url))
	cfg := DefaultConfig()
	cfg.RedisURL = url
	cfg.KeyPrefix = prefix
	clk := newClock()
	var replicas []*Limiter
	for range 3 {
		replicas = append(replicas, newLimiter(t, cfg, clk))
	}
	var allowed, refused atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 300 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			l := replicas[i%3]
			d, err := l.Decide(context.Background(), Request{Stage: "production", Client: "c" + strconv.Itoa(i%7), Location: "L1",
				Now: t0.Add(time.Duration(i) * time.Millisecond)})
			switch {
			case err != nil:
				t.Errorf("Decide: %v", err)
			case d.Allowed:
				allowed.Add(1)
			case d.Limit == LimitLocation:
				refused.Add(1)
			default:
				t.Errorf("refused by %q; want %q", d.Limit, LimitLocation)
			}
		}()
	}
	close(start)
	wg.Wait()
	if allowed.Load() != 100 || refused.Load() != 200 {
		t.Errorf("allowed %d, refused %d; want 100, 200", allowed.Load(), refused.Load())
	}
	if h := replicas[0].Health(context.Background()); h.Backend != "redis" || h.Status != "ok" {
		t.Errorf("Health() = %s/%s; want redis/ok", h.Backend, h.Status)
	}
}

// Redis unreachable: fail_closed refuses with ErrBackendUnavailable and
// reports down; local decides in process and reports degraded.
func TestRedisDownPolicies(t *testing.T) {
	tests := []struct {
		policy     string
		wantErr    error
		wantStatus string
		allowed    int
	}{
		{FailClosed, ErrBackendUnavailable, "down", 0},
		{FallbackLocal, nil, "degraded", 100},
	}
	for _, tc := range tests {
		t.Run(tc.policy, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.RedisURL = "redis://127.0.0.1:1/0"
			cfg.OnRedisError = tc.policy
			l := newLimiter(t, cfg, newClock())
			allowed := 0
			for range 150 {
				d, err := l.Decide(context.Background(), Request{Client: "c", Location: "L"})
				if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
					t.Fatalf("Decide error = %v; want %v", err, tc.wantErr)
				}
				if d.Allowed {
					allowed++
					if !d.Local {
						t.Errorf("Decision.Local = false; want true under the local policy")
					}
				}
			}
			if allowed != tc.allowed {
				t.Errorf("allowed %d; want %d (the local budget)", allowed, tc.allowed)
			}
			h := l.Health(context.Background())
			if h.Status != tc.wantStatus || h.RedisErrors < 150 || h.LastError == "" || h.OnRedisError != tc.policy {
				t.Errorf("Health() = %+v; want status %q, >=150 redis errors, a last error", h, tc.wantStatus)
			}
		})
	}
}

func BenchmarkDecideRedis(b *testing.B) {
	url := os.Getenv("GHLGATE_TEST_REDIS_URL")
	if url == "" {
		b.Skip("set GHLGATE_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0) to benchmark the Redis limiter")
	}
	c := newRedisClient(b, url)
	cfg := DefaultConfig()
	cfg.RedisURL = url
	cfg.KeyPrefix = testPrefix(b, c)
	l, err := New(cfg, WithLogger(quiet))
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	now := time.Now()
	locs := make([]string, 1000)
	for i := range locs {
		locs[i] = "loc" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		now = now.Add(time.Millisecond)
		if _, err := l.Decide(ctx, Request{Stage: "production", Client: "c", Location: locs[i%len(locs)], Now: now}); err != nil {
			b.Fatal(err)
		}
	}
}
