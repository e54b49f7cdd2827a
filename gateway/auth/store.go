package auth

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rankr/ghlgate/store"
)

var migrations = []store.Migration{{
	Version: 1,
	Name:    "api keys",
	SQLite: `CREATE TABLE api_keys (
		hash TEXT PRIMARY KEY,
		name TEXT NOT NULL,
		hint TEXT NOT NULL,
		scopes TEXT NOT NULL,
		locations TEXT NOT NULL,
		stages TEXT NOT NULL,
		lane TEXT NOT NULL DEFAULT '',
		created_at TEXT NOT NULL,
		expires_at TEXT,
		revoked_at TEXT,
		last_used_at TEXT
	);
	CREATE INDEX api_keys_name ON api_keys (name)`,
}}

// Store keeps client keys in the data store.
type Store struct {
	db  *store.DB
	now func() time.Time

	mu    sync.Mutex
	cache map[string]cached // hash → key, with its load time
	used  map[string]time.Time
}

type cached struct {
	key    *Key // nil: known not to exist
	loaded time.Time
}

// cacheTTL bounds how long a revocation made by another process (the CLI,
// another replica) can go unnoticed. Lookups within it cost no query.
const cacheTTL = 2 * time.Second

// NewStore migrates the key tables and returns the store. now is the clock.
func NewStore(ctx context.Context, db *store.DB, now func() time.Time) (*Store, error) {
	if err := db.Migrate(ctx, "auth", migrations); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now, cache: map[string]cached{}, used: map[string]time.Time{}}, nil
}

// CreateRequest describes a new client key.
type CreateRequest struct {
	Name      string
	Scopes    []string
	Locations []string
	Stages    []string
	Lane      string
	// TTL is how long the key lives; zero means no expiry.
	TTL time.Duration
}

// Create makes a new client and returns its secret, which is never stored.
func (s *Store) Create(ctx context.Context, req CreateRequest) (string, *Key, error) {
	if req.Name == "" {
		return "", nil, errors.New("a client key needs --name")
	}
	var n int
	if err := s.db.QueryRowContext(ctx, s.db.Rebind("SELECT COUNT(*) FROM api_keys WHERE name = ? AND revoked_at IS NULL"), req.Name).Scan(&n); err != nil {
		return "", nil, fmt.Errorf("look up client %s: %w", req.Name, err)
	}
	if n > 0 {
		return "", nil, fmt.Errorf("%w: %s (revoke it first, or rotate it with keys rotate)", ErrNameTaken, req.Name)
	}
	now := s.now().UTC()
	k := &Key{Name: req.Name, Scopes: req.Scopes, Locations: req.Locations, Stages: req.Stages, Lane: req.Lane, CreatedAt: now}
	if req.TTL > 0 {
		exp := now.Add(req.TTL)
		k.ExpiresAt = &exp
	}
	secret, err := s.insert(ctx, k)
	if err != nil {
		return "", nil, err
	}
	return secret, k, nil
}

func (s *Store) insert(ctx context.Context, k *Key) (string, error) {
	secret, err := NewSecret()
	if err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	k.Hash = HashSecret(secret)
	k.Hint = hint(secret)
	_, err = s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO api_keys
		(hash, name, hint, scopes, locations, stages, lane, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		k.Hash, k.Name, k.Hint, jsonList(k.Scopes), jsonList(k.Locations), jsonList(k.Stages), k.Lane,
		fmtTime(k.CreatedAt), fmtTimePtr(k.ExpiresAt))
	if err != nil {
		return "", fmt.Errorf("store key for %s: %w", k.Name, err)
	}
	return secret, nil
}

// Rotate issues a new key for name with the same grants; the old keys keep
// working for grace (zero: they stop at once).
func (s *Store) Rotate(ctx context.Context, name string, grace time.Duration) (string, *Key, error) {
	keys, err := s.byName(ctx, name)
	if err != nil {
		return "", nil, err
	}
	now := s.now().UTC()
	var current *Key
	for _, k := range keys {
		if k.Check(now) == nil && (current == nil || k.CreatedAt.After(current.CreatedAt)) {
			current = k
		}
	}
	if current == nil {
		return "", nil, fmt.Errorf("%w: %s has no live key to rotate (create a new one)", ErrNoSuchClient, name)
	}
	nk := *current
	nk.CreatedAt, nk.LastUsed, nk.RevokedAt = now, nil, nil
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return "", nil, err
	}
	defer tx.Rollback() //nolint:errcheck
	until := now.Add(grace)
	if _, err := tx.ExecContext(ctx, s.db.Rebind(
		"UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL"), fmtTime(until), name); err != nil {
		return "", nil, fmt.Errorf("retire old keys of %s: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return "", nil, err
	}
	secret, err := s.insert(ctx, &nk)
	if err != nil {
		return "", nil, err
	}
	s.invalidate()
	return secret, &nk, nil
}

// Revoke stops every key of name at once.
func (s *Store) Revoke(ctx context.Context, name string) error {
	now := fmtTime(s.now().UTC())
	res, err := s.db.ExecContext(ctx, s.db.Rebind(
		"UPDATE api_keys SET revoked_at = ? WHERE name = ? AND (revoked_at IS NULL OR revoked_at > ?)"), now, name, now)
	if err != nil {
		return fmt.Errorf("revoke %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: %s (see keys list)", ErrNoSuchClient, name)
	}
	s.invalidate()
	return nil
}

// List returns every key, newest first.
func (s *Store) List(ctx context.Context) ([]*Key, error) {
	return s.query(ctx, "SELECT "+keyColumns+" FROM api_keys ORDER BY created_at DESC, name")
}

func (s *Store) byName(ctx context.Context, name string) ([]*Key, error) {
	return s.query(ctx, s.db.Rebind("SELECT "+keyColumns+" FROM api_keys WHERE name = ?"), name)
}

const keyColumns = "hash, name, hint, scopes, locations, stages, lane, created_at, expires_at, revoked_at, last_used_at"

func (s *Store) query(ctx context.Context, q string, args ...any) ([]*Key, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	defer rows.Close()
	var out []*Key
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

type scanner interface{ Scan(...any) error }

func scanKey(r scanner) (*Key, error) {
	var (
		k                           Key
		scopes, locs, stages, added string
		exp, rev, used              sql.NullString
	)
	if err := r.Scan(&k.Hash, &k.Name, &k.Hint, &scopes, &locs, &stages, &k.Lane, &added, &exp, &rev, &used); err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	json.Unmarshal([]byte(scopes), &k.Scopes)  //nolint:errcheck // written by us
	json.Unmarshal([]byte(locs), &k.Locations) //nolint:errcheck
	json.Unmarshal([]byte(stages), &k.Stages)  //nolint:errcheck
	k.CreatedAt = parseTime(added)
	k.ExpiresAt, k.RevokedAt, k.LastUsed = parseTimePtr(exp), parseTimePtr(rev), parseTimePtr(used)
	return &k, nil
}

// Lookup finds the key whose secret hashes to hash, through a short cache.
// It returns ErrUnknownKey when there is none.
func (s *Store) Lookup(ctx context.Context, hash string) (*Key, error) {
	return s.lookupAt(ctx, hash, s.now())
}

func (s *Store) lookupAt(ctx context.Context, hash string, now time.Time) (*Key, error) {
	s.mu.Lock()
	c, ok := s.cache[hash]
	s.mu.Unlock()
	if ok && now.Sub(c.loaded) < cacheTTL {
		if c.key == nil {
			return nil, ErrUnknownKey
		}
		return c.key, nil
	}
	row := s.db.QueryRowContext(ctx, s.db.Rebind("SELECT "+keyColumns+" FROM api_keys WHERE hash = ?"), hash)
	k, err := scanKey(row)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	s.mu.Lock()
	if len(s.cache) > 10000 {
		clear(s.cache) // a flood of random keys must not grow memory without bound
	}
	s.cache[hash] = cached{key: k, loaded: now}
	s.mu.Unlock()
	if k == nil {
		return nil, ErrUnknownKey
	}
	return k, nil
}

// Authenticate checks an Authorization header value and returns the key.
func (s *Store) Authenticate(ctx context.Context, header string) (*Key, error) {
	secret, err := BearerToken(header)
	if err != nil {
		return nil, err
	}
	hash := HashSecret(secret)
	now := s.now() // one clock read for the cache, the key's dates and its use
	k, err := s.lookupAt(ctx, hash, now)
	if err != nil {
		return nil, err
	}
	if err := k.Check(now); err != nil {
		return k, err
	}
	s.mu.Lock()
	s.used[hash] = now
	s.mu.Unlock()
	return k, nil
}

// FlushLastUsed writes the last-use times gathered since the previous call.
// The server calls it on a ticker so that authentication never writes.
func (s *Store) FlushLastUsed(ctx context.Context) error {
	s.mu.Lock()
	used := s.used
	s.used = map[string]time.Time{}
	s.mu.Unlock()
	for hash, t := range used {
		if _, err := s.db.ExecContext(ctx, s.db.Rebind("UPDATE api_keys SET last_used_at = ? WHERE hash = ?"), fmtTime(t.UTC()), hash); err != nil {
			return fmt.Errorf("record key use: %w", err)
		}
	}
	return nil
}

func (s *Store) invalidate() {
	s.mu.Lock()
	clear(s.cache)
	s.mu.Unlock()
}

func jsonList(v []string) string {
	if v == nil {
		v = []string{}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func fmtTimePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return fmtTime(*t)
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	return t
}

func parseTimePtr(s sql.NullString) *time.Time {
	if !s.Valid || s.String == "" {
		return nil
	}
	t := parseTime(s.String)
	return &t
}
