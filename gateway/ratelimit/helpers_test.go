package ratelimit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/testcontainers/testcontainers-go"
	tcredis "github.com/testcontainers/testcontainers-go/modules/redis"
)

// t0 is aligned to 10 s, 1 s and the daily bucket width, so boundaries land
// exactly.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// fakeClock is the injected clock: After advances it and fires at once, so a
// waiting limiter never sleeps.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.Advance(d)
	ch := make(chan time.Time, 1)
	ch <- c.Now()
	return ch
}

// redisURL returns GHLGATE_TEST_REDIS_URL, or a testcontainers Redis when
// Docker runs, or skips.
func redisURL(t *testing.T) string {
	t.Helper()
	if u := os.Getenv("GHLGATE_TEST_REDIS_URL"); u != "" {
		return u
	}
	if os.Getenv("DOCKER_HOST") == "" {
		if _, err := os.Stat("/var/run/docker.sock"); err != nil {
			t.Skip("set GHLGATE_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0) to run Redis tests; no Docker for testcontainers")
		}
	}
	testcontainers.SkipIfProviderIsNotHealthy(t)
	ctx := context.Background()
	c, err := tcredis.Run(ctx, "redis:7-alpine")
	if err != nil {
		t.Skipf("set GHLGATE_TEST_REDIS_URL to run Redis tests; testcontainers: %v", err)
	}
	t.Cleanup(func() { _ = testcontainers.TerminateContainer(c) })
	u, err := c.ConnectionString(ctx)
	if err != nil {
		t.Fatalf("redis container address: %v", err)
	}
	return u
}

// newRedisClient connects to the test Redis.
func newRedisClient(t testing.TB, url string) *redis.Client {
	t.Helper()
	o, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("ParseURL(%q) = %v", url, err)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis ping %s: %v", url, err)
	}
	return c
}

// testPrefix is a unique key prefix whose keys are deleted after the test.
func testPrefix(t testing.TB, c *redis.Client) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	p := "ghlgate-test:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, p+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return p
}

// stores returns the Store implementations to run a test against.
func stores(t *testing.T) map[string]func(t *testing.T) Store {
	return map[string]func(t *testing.T) Store{
		"memory": func(*testing.T) Store { return NewMemory() },
		"redis": func(t *testing.T) Store {
			c := newRedisClient(t, redisURL(t))
			return NewRedis(c, testPrefix(t, c))
		},
	}
}
