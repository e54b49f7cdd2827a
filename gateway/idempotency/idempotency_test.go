package idempotency

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/testcontainers/testcontainers-go"
	tcredis "github.com/testcontainers/testcontainers-go/modules/redis"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

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
	c, err := tcredis.Run(context.Background(), "redis:7-alpine")
	if err != nil {
		t.Skipf("set GHLGATE_TEST_REDIS_URL to run Redis tests; testcontainers: %v", err)
	}
	t.Cleanup(func() { _ = testcontainers.TerminateContainer(c) })
	u, err := c.ConnectionString(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func newRedisStore(t *testing.T) (*Redis, *redis.Client, string) {
	o, err := redis.ParseURL(redisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(o)
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "ghlgate-test:idem:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
		c.Close()
	})
	return NewRedis(c, prefix), c, prefix
}

func stores(t *testing.T) map[string]func(*testing.T) Store {
	return map[string]func(*testing.T) Store{
		"memory": func(*testing.T) Store { return NewMemory() },
		"redis": func(t *testing.T) Store {
			s, _, _ := newRedisStore(t)
			return s
		},
	}
}

func newService(s Store, clk *fakeClock) *Service {
	return New(s, Options{Now: clk.Now, Logger: quiet, Poll: time.Millisecond})
}

// upstream counts calls and answers with status.
type upstream struct {
	calls  atomic.Int32
	status int
}

func (u *upstream) fn(context.Context) (Response, error) {
	n := u.calls.Add(1)
	return Response{Status: u.status, Header: http.Header{"X-Call": {string(rune('0' + n))}}, Body: []byte(`{"contact":{"id":"c1"}}`)}, nil
}

func TestReplayAndConflict(t *testing.T) {
	body := Fingerprint("POST", "/contacts/", []byte(`{"firstName":"Ada"}`))
	other := Fingerprint("POST", "/contacts/", []byte(`{"firstName":"Grace"}`))
	type call struct {
		client, key  string
		hash         [32]byte
		wantReplayed bool
		wantErr      error
		wantCalls    int32
	}
	tests := []struct {
		name   string
		status int
		calls  []call
	}{
		{"repeat is replayed", 201, []call{
			{"rankr", "k1", body, false, nil, 1},
			{"rankr", "k1", body, true, nil, 1},
		}},
		{"same key, different body is refused", 201, []call{
			{"rankr", "k1", body, false, nil, 1},
			{"rankr", "k1", other, false, ErrKeyReused, 1},
		}},
		{"keys are per client", 201, []call{
			{"rankr", "k1", body, false, nil, 1},
			{"other", "k1", other, false, nil, 2},
		}},
		{"a 4xx is kept", 422, []call{
			{"rankr", "k1", body, false, nil, 1},
			{"rankr", "k1", body, true, nil, 1},
		}},
		{"a 503 is not kept: the repeat runs again", 503, []call{
			{"rankr", "k1", body, false, nil, 1},
			{"rankr", "k1", body, false, nil, 2},
		}},
		{"no key: no idempotency", 201, []call{
			{"rankr", "", body, false, nil, 1},
			{"rankr", "", body, false, nil, 2},
		}},
	}
	for name, mk := range stores(t) {
		t.Run(name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					svc := newService(mk(t), &fakeClock{t: time.Unix(1_700_000_000, 0)})
					up := &upstream{status: tc.status}
					var first Response
					for i, c := range tc.calls {
						resp, replayed, err := svc.Do(context.Background(), c.client, c.key, c.hash, up.fn)
						if !errors.Is(err, c.wantErr) || (err == nil) != (c.wantErr == nil) {
							t.Fatalf("call %d: err %v; want %v", i, err, c.wantErr)
						}
						if replayed != c.wantReplayed || up.calls.Load() != c.wantCalls {
							t.Errorf("call %d: replayed %v after %d upstream calls; want %v after %d", i, replayed, up.calls.Load(), c.wantReplayed, c.wantCalls)
						}
						if i == 0 {
							first = resp
						} else if replayed && (resp.Status != first.Status || string(resp.Body) != string(first.Body) || resp.Header.Get("X-Call") != first.Header.Get("X-Call")) {
							t.Errorf("call %d: replayed %+v; want the first response %+v", i, resp, first)
						}
					}
				})
			}
		})
	}
}

// Concurrent repeats wait for the first instead of all reaching GHL.
func TestConcurrentRepeatsWaitForFirst(t *testing.T) {
	for name, mk := range stores(t) {
		t.Run(name, func(t *testing.T) {
			svc := newService(mk(t), &fakeClock{t: time.Unix(1_700_000_000, 0)})
			hash := Fingerprint("POST", "/contacts/", []byte("{}"))
			release := make(chan struct{})
			started := make(chan struct{})
			var calls atomic.Int32
			fn := func(context.Context) (Response, error) {
				calls.Add(1)
				close(started)
				<-release
				return Response{Status: 201, Body: []byte("first")}, nil
			}
			var wg sync.WaitGroup
			var replays atomic.Int32
			do := func() {
				defer wg.Done()
				resp, replayed, err := svc.Do(context.Background(), "rankr", "k", hash, fn)
				if err != nil || string(resp.Body) != "first" {
					t.Errorf("Do = %q, %v; want the first response", resp.Body, err)
				}
				if replayed {
					replays.Add(1)
				}
			}
			wg.Add(1)
			go do()
			<-started
			for range 9 {
				wg.Add(1)
				go do()
			}
			close(release)
			wg.Wait()
			if calls.Load() != 1 || replays.Load() != 9 {
				t.Errorf("upstream calls %d, replays %d; want 1, 9", calls.Load(), replays.Load())
			}
		})
	}
}

func TestFailedFirstReleasesKey(t *testing.T) {
	for name, mk := range stores(t) {
		t.Run(name, func(t *testing.T) {
			svc := newService(mk(t), &fakeClock{t: time.Unix(1_700_000_000, 0)})
			hash := Fingerprint("POST", "/x", nil)
			boom := errors.New("connection reset")
			_, _, err := svc.Do(context.Background(), "c", "k", hash, func(context.Context) (Response, error) { return Response{}, boom })
			if !errors.Is(err, boom) {
				t.Fatalf("Do = %v; want %v", err, boom)
			}
			up := &upstream{status: 201}
			if _, replayed, err := svc.Do(context.Background(), "c", "k", hash, up.fn); err != nil || replayed || up.calls.Load() != 1 {
				t.Errorf("repeat after failure: replayed %v, err %v, calls %d; want a fresh call", replayed, err, up.calls.Load())
			}
		})
	}
}

func TestMemoryExpiryAndLease(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	m := NewMemory()
	svc := New(m, Options{Now: clk.Now, Logger: quiet})
	hash := Fingerprint("POST", "/x", nil)
	up := &upstream{status: 201}
	ctx := context.Background()
	_, _, _ = svc.Do(ctx, "c", "k", hash, up.fn)
	clk.Advance(24*time.Hour - time.Nanosecond)
	if _, replayed, _ := svc.Do(ctx, "c", "k", hash, up.fn); !replayed {
		t.Errorf("repeat just before 24h: replayed false; want true")
	}
	clk.Advance(time.Nanosecond)
	if _, replayed, _ := svc.Do(ctx, "c", "k", hash, up.fn); replayed || up.calls.Load() != 2 {
		t.Errorf("repeat at 24h: replayed %v, calls %d; want a fresh call", replayed, up.calls.Load())
	}
	// A claim whose owner vanished blocks only for its lease.
	if _, claimed, _ := m.Claim(ctx, storeKey("c", "dead"), hash, 2*time.Minute, clk.Now()); !claimed {
		t.Fatal("Claim = not claimed; want claimed")
	}
	clk.Advance(2 * time.Minute)
	if _, replayed, err := svc.Do(ctx, "c", "dead", hash, up.fn); err != nil || replayed || up.calls.Load() != 3 {
		t.Errorf("Do after lease: replayed %v, err %v, calls %d; want a fresh call", replayed, err, up.calls.Load())
	}
	clk.Advance(25 * time.Hour)
	_, _, _ = svc.Do(ctx, "c", "sweep", hash, up.fn)
	if got := m.Len(); got != 1 {
		t.Errorf("Len() after a day = %d; want 1 (only the new record)", got)
	}
}

func TestWaitHonoursContext(t *testing.T) {
	m := NewMemory()
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	svc := newService(m, clk)
	hash := Fingerprint("POST", "/x", nil)
	if _, claimed, _ := m.Claim(context.Background(), storeKey("c", "k"), hash, time.Hour, clk.Now()); !claimed {
		t.Fatal("Claim = not claimed")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := svc.Do(ctx, "c", "k", hash, (&upstream{}).fn); !errors.Is(err, context.Canceled) {
		t.Errorf("Do with a cancelled context while in flight = %v; want context.Canceled", err)
	}
}

func TestRedisRecordTTL(t *testing.T) {
	s, c, prefix := newRedisStore(t)
	svc := newService(s, &fakeClock{t: time.Now()})
	_, _, err := svc.Do(context.Background(), "c", "k", Fingerprint("POST", "/x", nil), (&upstream{status: 201}).fn)
	if err != nil {
		t.Fatal(err)
	}
	ttl, err := c.PTTL(context.Background(), prefix+storeKey("c", "k")).Result()
	if err != nil || ttl < 23*time.Hour || ttl > 24*time.Hour {
		t.Errorf("PTTL = %v, %v; want about 24h", ttl, err)
	}
}

func TestStorable(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   bool
	}{{200, true}, {201, true}, {400, true}, {422, true}, {401, false}, {408, false}, {429, false}, {500, false}, {503, false}, {0, false}} {
		if got := Storable(tc.status); got != tc.want {
			t.Errorf("Storable(%d) = %v; want %v", tc.status, got, tc.want)
		}
	}
}
