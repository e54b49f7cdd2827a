// Package store opens ghlgate's data store: SQLite in the data directory by
// default (pure Go, no cgo), PostgreSQL when a URL is configured. It hands out
// one *sql.DB with its dialect and applies each component's versioned schema
// migrations at start. Components (keys, audit, events, the mock's snapshots)
// own their tables; this package only knows how to open, migrate and rebind.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
	_ "modernc.org/sqlite"             // driver "sqlite"
)

// Dialect names the SQL flavour behind a DB.
type Dialect int

const (
	// SQLite is the embedded default.
	SQLite Dialect = iota
	// Postgres is chosen when a PostgreSQL URL is configured.
	Postgres
)

func (d Dialect) String() string {
	if d == Postgres {
		return "postgres"
	}
	return "sqlite"
}

// Options says where the data lives.
type Options struct {
	// DataDir holds ghlgate.db when PostgresURL is empty.
	DataDir string
	// PostgresURL, when set, selects PostgreSQL.
	PostgresURL string
}

// DB is an open store.
type DB struct {
	*sql.DB
	Dialect Dialect
	// Location is the file path or the redacted URL, for messages.
	Location string
}

// Open opens (creating if needed) the store described by opts.
func Open(ctx context.Context, opts Options) (*DB, error) {
	if opts.PostgresURL != "" {
		db, err := sql.Open("pgx", opts.PostgresURL)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		db.SetMaxOpenConns(16)
		db.SetMaxIdleConns(16)
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := db.PingContext(pctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("connect to postgres (store.postgres_url): %w", err)
		}
		return &DB{DB: db, Dialect: Postgres, Location: redactURL(opts.PostgresURL)}, nil
	}
	dir := opts.DataDir
	if dir == "" {
		dir = "data"
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, "ghlgate.db")
	return OpenSQLiteFile(ctx, path)
}

// OpenSQLiteFile opens the SQLite database at path in WAL mode.
func OpenSQLiteFile(ctx context.Context, path string) (*DB, error) {
	// WAL lets readers run beside the one writer; busy_timeout makes writers
	// queue instead of failing; synchronous(NORMAL) is durable across process
	// crashes in WAL mode (only an OS crash can lose the last transactions),
	// and _txlock=immediate takes the write lock at BEGIN so two writers never
	// deadlock upgrading a read lock. cache_size(-512) caps each
	// connection's page cache at 512 KiB instead of SQLite's 2 MiB: the pool
	// holds up to eight connections, the pages they would keep are in the
	// OS's page cache anyway, and the gateway's writes append (audit, events)
	// where a small cache holds every page they touch.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)" +
		"&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_pragma=cache_size(-512)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return &DB{DB: db, Dialect: SQLite, Location: path}, nil
}

// Rebind turns the '?' placeholders of q into the dialect's own ($1, $2, ...
// for PostgreSQL). Queries are written once with '?'.
func (db *DB) Rebind(q string) string {
	if db.Dialect != Postgres || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// Migration is one versioned schema step of a component.
type Migration struct {
	Version int
	Name    string
	// SQLite and Postgres hold the statements for each dialect; when
	// Postgres is empty the SQLite text is used for both.
	SQLite   string
	Postgres string
}

// ErrMigration marks a failed migration.
var ErrMigration = errors.New("schema migration failed")

// Migrate applies, in order and each in its own transaction, the migrations
// of component that the store has not recorded yet.
func (db *DB) Migrate(ctx context.Context, component string, migs []Migration) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		component TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL,
		applied_at TEXT NOT NULL, PRIMARY KEY (component, version))`); err != nil {
		return fmt.Errorf("%w: create schema_migrations: %w", ErrMigration, err)
	}
	for i, m := range migs {
		if i > 0 && m.Version <= migs[i-1].Version {
			return fmt.Errorf("%w: %s migrations out of order at version %d", ErrMigration, component, m.Version)
		}
		if err := db.applyOne(ctx, component, m); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) applyOne(ctx context.Context, component string, m Migration) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%w: %s v%d: %w", ErrMigration, component, m.Version, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	if db.Dialect == Postgres {
		// Two replicas starting together must not both apply a step.
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(4242)"); err != nil {
			return fmt.Errorf("%w: lock: %w", ErrMigration, err)
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, db.Rebind(
		"SELECT COUNT(*) FROM schema_migrations WHERE component = ? AND version = ?"),
		component, m.Version).Scan(&n); err != nil {
		return fmt.Errorf("%w: %s v%d: %w", ErrMigration, component, m.Version, err)
	}
	if n > 0 {
		return nil
	}
	text := m.SQLite
	if db.Dialect == Postgres && m.Postgres != "" {
		text = m.Postgres
	}
	for _, stmt := range splitStatements(text) {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%w: %s v%d (%s): %w", ErrMigration, component, m.Version, m.Name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, db.Rebind(
		"INSERT INTO schema_migrations (component, version, name, applied_at) VALUES (?, ?, ?, ?)"),
		component, m.Version, m.Name, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		return fmt.Errorf("%w: record %s v%d: %w", ErrMigration, component, m.Version, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%w: commit %s v%d: %w", ErrMigration, component, m.Version, err)
	}
	return nil
}

// splitStatements splits a migration on ';' at line ends. Migrations are
// plain DDL written here, so no statement carries a ';' inside a literal.
func splitStatements(text string) []string {
	var out []string
	for _, s := range strings.Split(text, ";\n") {
		s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), ";"))
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func redactURL(u string) string {
	at := strings.LastIndex(u, "@")
	scheme := strings.Index(u, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return u
	}
	return u[:scheme+3] + "[redacted]" + u[at:]
}
