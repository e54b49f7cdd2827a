// Package storetest opens throw-away stores for tests: SQLite in a temporary
// directory, and PostgreSQL in a schema of its own on the server named by
// $GHLGATE_TEST_POSTGRES_URL (or a testcontainers-go server where Docker runs).
package storetest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
	tcredis "github.com/testcontainers/testcontainers-go/modules/redis"

	"github.com/rankr/ghlgate/store"
)

// PostgresURLEnv names the variable that points tests at a PostgreSQL server.
const PostgresURLEnv = "GHLGATE_TEST_POSTGRES_URL"

var schemaSeq atomic.Int64

// OpenTestSQLite opens a fresh SQLite store in a temporary directory.
func OpenTestSQLite(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), store.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("open sqlite store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// OpenTestPostgres opens a PostgreSQL store in a schema of its own, so tests
// never see each other's rows. It reads the server from $GHLGATE_TEST_POSTGRES_URL,
// else starts one with testcontainers-go where Docker runs, else skips.
func OpenTestPostgres(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), store.Options{PostgresURL: PostgresURL(t)})
	if err != nil {
		t.Fatalf("open postgres test schema: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func containsQuery(u string) bool { return strings.Contains(u, "?") }

// postgresFromContainer starts PostgreSQL with testcontainers-go when Docker
// answers, and skips the test otherwise.
func postgresFromContainer(t testing.TB) string {
	t.Helper()
	if !dockerAvailable() {
		t.Skipf("no PostgreSQL: set %s (for example postgres://postgres@127.0.0.1:5432/test?sslmode=disable) or run Docker for testcontainers-go", PostgresURLEnv)
	}
	ctx := context.Background()
	c, err := tcpostgres.Run(ctx, "postgres:16-alpine",
		tcpostgres.WithDatabase("test"), tcpostgres.BasicWaitStrategies())
	if err != nil {
		t.Skipf("no PostgreSQL: testcontainers-go could not start one (%v); set %s", err, PostgresURLEnv)
	}
	t.Cleanup(func() { testcontainers.TerminateContainer(c) }) //nolint:errcheck
	u, err := c.ConnectionString(ctx, "sslmode=disable")
	if err != nil {
		t.Fatalf("postgres container address: %v", err)
	}
	return u
}

// dockerAvailable reports whether a Docker engine answers, without making
// testcontainers-go panic or hang when there is none.
func dockerAvailable() (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	p, err := testcontainers.NewDockerProvider()
	if err != nil {
		return false
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return p.Health(ctx) == nil
}

// PostgresURL returns the URL of a fresh, empty schema on the test server
// (dropped when the test ends), for code that opens its own store from a
// URL, as the gateway does from store.postgres_url.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresURLEnv)
	if base == "" {
		base = postgresFromContainer(t)
	}
	ctx := context.Background()
	admin, err := store.Open(ctx, store.Options{PostgresURL: base})
	if err != nil {
		t.Fatalf("connect to %s: %v", PostgresURLEnv, err)
	}
	schema := fmt.Sprintf("t_%d_%d", time.Now().UnixNano(), schemaSeq.Add(1))
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE") //nolint:errcheck
		admin.Close()
	})
	sep := "?"
	if containsQuery(base) {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

// RedisURLEnv names the variable that points tests at a Redis server.
const RedisURLEnv = "GHLGATE_TEST_REDIS_URL"

// RedisURL returns the test Redis server's URL from $GHLGATE_TEST_REDIS_URL,
// else one started with testcontainers-go where Docker runs, else skips.
func RedisURL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv(RedisURLEnv); u != "" {
		return u
	}
	if !dockerAvailable() {
		t.Skipf("no Redis: set %s (for example redis://127.0.0.1:6379/0) or run Docker for testcontainers-go", RedisURLEnv)
	}
	ctx := context.Background()
	c, err := tcredis.Run(ctx, "redis:7-alpine")
	if err != nil {
		t.Skipf("no Redis: testcontainers-go could not start one (%v); set %s", err, RedisURLEnv)
	}
	t.Cleanup(func() { testcontainers.TerminateContainer(c) }) //nolint:errcheck
	u, err := c.ConnectionString(ctx)
	if err != nil {
		t.Fatalf("redis container address: %v", err)
	}
	return u
}
