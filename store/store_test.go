package store_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/rankr/ghlgate/store"
	"github.com/rankr/ghlgate/store/storetest"
)

func TestRebind(t *testing.T) {
	tests := []struct {
		name    string
		dialect store.Dialect
		in      string
		want    string
	}{
		{"sqlite keeps question marks", store.SQLite, "SELECT a FROM t WHERE b = ? AND c = ?", "SELECT a FROM t WHERE b = ? AND c = ?"},
		{"postgres numbers them", store.Postgres, "SELECT a FROM t WHERE b = ? AND c = ?", "SELECT a FROM t WHERE b = $1 AND c = $2"},
		{"postgres without placeholders", store.Postgres, "SELECT 1", "SELECT 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := &store.DB{Dialect: tc.dialect}
			if got := db.Rebind(tc.in); got != tc.want {
				t.Errorf("Rebind(%q) = %q; want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestMigrate(t *testing.T) {
	for name, open := range map[string]func(testing.TB) *store.DB{
		"sqlite":   storetest.OpenTestSQLite,
		"postgres": storetest.OpenTestPostgres,
	} {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			ctx := context.Background()
			migs := []store.Migration{
				{Version: 1, Name: "widgets", SQLite: "CREATE TABLE widgets (id TEXT PRIMARY KEY);\nCREATE INDEX widgets_id ON widgets (id);"},
				{Version: 2, Name: "widget size", SQLite: "ALTER TABLE widgets ADD COLUMN size INTEGER NOT NULL DEFAULT 0"},
			}
			if err := db.Migrate(ctx, "widgets", migs); err != nil {
				t.Fatalf("Migrate() = %v; want nil", err)
			}
			// Applying again is a no-op, not a duplicate-column failure.
			if err := db.Migrate(ctx, "widgets", migs); err != nil {
				t.Fatalf("second Migrate() = %v; want nil", err)
			}
			if _, err := db.ExecContext(ctx, db.Rebind("INSERT INTO widgets (id, size) VALUES (?, ?)"), "w1", 3); err != nil {
				t.Fatalf("insert after migrations: %v", err)
			}
			var n int
			if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE component = 'widgets'").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 2 {
				t.Errorf("recorded migrations = %d; want 2", n)
			}
			bad := []store.Migration{{Version: 3, Name: "broken", SQLite: "CREATE TABL nope"}}
			if err := db.Migrate(ctx, "widgets", bad); !errors.Is(err, store.ErrMigration) {
				t.Errorf("Migrate(broken) = %v; want ErrMigration", err)
			}
			outOfOrder := []store.Migration{{Version: 5, SQLite: "SELECT 1"}, {Version: 4, SQLite: "SELECT 1"}}
			if err := db.Migrate(ctx, "other", outOfOrder); !errors.Is(err, store.ErrMigration) {
				t.Errorf("Migrate(out of order) = %v; want ErrMigration", err)
			}
		})
	}
}

// TestSQLitePragmas checks the settings every pooled connection gets from
// the DSN, on several connections at once.
func TestSQLitePragmas(t *testing.T) {
	db := storetest.OpenTestSQLite(t)
	ctx := context.Background()
	conns := make([]*sql.Conn, 3)
	for i := range conns {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	want := map[string]string{"journal_mode": "wal", "synchronous": "1", "foreign_keys": "1", "cache_size": "-512", "busy_timeout": "10000"}
	for i, c := range conns {
		for pragma, w := range want {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatalf("PRAGMA %s: %v", pragma, err)
			}
			if got != w {
				t.Errorf("connection %d: PRAGMA %s = %s; want %s", i, pragma, got, w)
			}
		}
	}
}
