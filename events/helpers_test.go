package events

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rankr/ghlgate/store"
	"github.com/rankr/ghlgate/store/storetest"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// seqIDs makes readable, sortable ids.
func seqIDs(prefix string) func() string {
	var n atomic.Int64
	return func() string { return fmt.Sprintf("%s-%06d", prefix, n.Add(1)) }
}

// dialects runs fn against SQLite and PostgreSQL (skipped without
// GHLGATE_TEST_POSTGRES_URL).
func dialects(t *testing.T, fn func(t *testing.T, open func(t *testing.T, c *clock) *SQLStore)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, func(t *testing.T, c *clock) *SQLStore {
			return openStore(t, storetest.OpenTestSQLite(t), c)
		})
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, func(t *testing.T, c *clock) *SQLStore {
			return openStore(t, storetest.OpenTestPostgres(t), c)
		})
	})
}

func openStore(t testing.TB, db *store.DB, c *clock) *SQLStore {
	t.Helper()
	s, err := NewStore(context.Background(), db, StoreOptions{Now: c.Now, NewID: seqIDs("id")})
	if err != nil {
		t.Fatalf("NewStore: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openSQLiteForTest(t testing.TB) *store.DB { return storetest.OpenTestSQLite(t) }
