package credential

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rankr/ghlgate/store"
)

// Token is an OAuth token pair with what GHL said about it.
type Token struct {
	AccessToken  Secret
	RefreshToken Secret
	ExpiresAt    time.Time
	Scope        string
	LocationID   string
	CompanyID    string
	UpdatedAt    time.Time
}

// TokenStore keeps the current token pair, by name. Save must be durable when
// it returns nil: the refresh token it holds is the only one GHL will accept.
type TokenStore interface {
	// Load returns the stored token, or ErrNoToken.
	Load(ctx context.Context, name string) (Token, error)
	// Save replaces the stored token.
	Save(ctx context.Context, name string, t Token) error
}

// ErrNoToken is returned by Load when nothing is stored under the name.
var ErrNoToken = errors.New("no stored oauth token")

// ErrTokenKey marks a token at rest that cannot be read with the key given.
var ErrTokenKey = errors.New("stored oauth token cannot be decrypted")

// MemoryStore is a TokenStore in memory, for tests and throw-away runs.
type MemoryStore struct {
	mu     sync.Mutex
	tokens map[string]Token
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{tokens: map[string]Token{}} }

// Load implements TokenStore.
func (m *MemoryStore) Load(_ context.Context, name string) (Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tokens[name]
	if !ok {
		return Token{}, ErrNoToken
	}
	return t, nil
}

// Save implements TokenStore.
func (m *MemoryStore) Save(_ context.Context, name string, t Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tokens[name] = t
	return nil
}

// SQLStore keeps tokens in the oauth_tokens table of a store.DB (SQLite or
// PostgreSQL).
type SQLStore struct {
	db   *store.DB
	aead cipher.AEAD // nil: tokens stored as they are
}

var migrations = []store.Migration{{
	Version: 1,
	Name:    "oauth_tokens",
	SQLite: `CREATE TABLE IF NOT EXISTS oauth_tokens (
	name TEXT PRIMARY KEY,
	access_token TEXT NOT NULL,
	refresh_token TEXT NOT NULL,
	expires_at TEXT NOT NULL,
	scope TEXT NOT NULL DEFAULT '',
	location_id TEXT NOT NULL DEFAULT '',
	company_id TEXT NOT NULL DEFAULT '',
	updated_at TEXT NOT NULL
)`,
	Postgres: `CREATE TABLE IF NOT EXISTS oauth_tokens (
	name TEXT PRIMARY KEY,
	access_token TEXT NOT NULL,
	refresh_token TEXT NOT NULL,
	expires_at TIMESTAMPTZ NOT NULL,
	scope TEXT NOT NULL DEFAULT '',
	location_id TEXT NOT NULL DEFAULT '',
	company_id TEXT NOT NULL DEFAULT '',
	updated_at TIMESTAMPTZ NOT NULL
)`,
}}

// NewSQLStore migrates the oauth_tokens table and returns the store. With a
// non-nil key (16, 24 or 32 bytes; see KeyFromEnv) tokens are sealed with
// AES-GCM; without one they are stored as they are.
func NewSQLStore(ctx context.Context, db *store.DB, key []byte) (*SQLStore, error) {
	s := &SQLStore{db: db}
	if key != nil {
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("token key: %w", err)
		}
		if s.aead, err = cipher.NewGCM(block); err != nil {
			return nil, fmt.Errorf("token key: %w", err)
		}
	}
	if err := db.Migrate(ctx, "credential", migrations); err != nil {
		return nil, fmt.Errorf("credential store: %w", err)
	}
	return s, nil
}

// KeyFromEnv decodes $GHLGATE_TOKEN_KEY (standard base64 of 16, 24 or 32
// bytes). It returns nil, nil when the variable is unset.
func KeyFromEnv(getenv func(string) string) ([]byte, error) {
	v := getenv(TokenKeyEnv)
	if v == "" {
		return nil, nil
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
	if err != nil {
		return nil, fmt.Errorf("$%s: not base64: %w", TokenKeyEnv, err)
	}
	if n := len(key); n != 16 && n != 24 && n != 32 {
		return nil, fmt.Errorf("$%s: %d bytes; want 16, 24 or 32 (e.g. openssl rand -base64 32)", TokenKeyEnv, n)
	}
	return key, nil
}

// sealedPrefix marks a sealed value; a plain value never starts with it
// (GHL tokens are JWTs or pit-...).
const sealedPrefix = "gcm1:"

func (s *SQLStore) seal(name string, v Secret) (string, error) {
	if s.aead == nil {
		return v.Reveal(), nil
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("nonce: %w", err)
	}
	// The row's name is the additional data, so a sealed value copied to
	// another row does not open.
	out := s.aead.Seal(nonce, nonce, []byte(v.Reveal()), []byte(name))
	return sealedPrefix + base64.StdEncoding.EncodeToString(out), nil
}

func (s *SQLStore) open(name, v string) (Secret, error) {
	rest, sealed := strings.CutPrefix(v, sealedPrefix)
	if !sealed {
		// Stored before a key was set: read as is; the next save seals it.
		return Secret(v), nil
	}
	if s.aead == nil {
		return "", fmt.Errorf("%w: it was sealed with a key; set $%s", ErrTokenKey, TokenKeyEnv)
	}
	raw, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(raw) < s.aead.NonceSize() {
		return "", fmt.Errorf("%w: malformed value", ErrTokenKey)
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], []byte(name))
	if err != nil {
		return "", fmt.Errorf("%w: wrong $%s", ErrTokenKey, TokenKeyEnv)
	}
	return Secret(plain), nil
}

// Load implements TokenStore.
func (s *SQLStore) Load(ctx context.Context, name string) (Token, error) {
	var (
		access, refresh  string
		expires, updated any
		scope, loc, comp string
	)
	err := s.db.QueryRowContext(ctx, s.db.Rebind(`SELECT access_token, refresh_token, expires_at,
		scope, location_id, company_id, updated_at FROM oauth_tokens WHERE name = ?`), name).
		Scan(&access, &refresh, &expires, &scope, &loc, &comp, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, ErrNoToken
	}
	if err != nil {
		return Token{}, fmt.Errorf("load oauth token %q: %w", name, err)
	}
	t := Token{Scope: scope, LocationID: loc, CompanyID: comp}
	if t.AccessToken, err = s.open(name, access); err != nil {
		return Token{}, fmt.Errorf("load oauth token %q: access token: %w", name, err)
	}
	if t.RefreshToken, err = s.open(name, refresh); err != nil {
		return Token{}, fmt.Errorf("load oauth token %q: refresh token: %w", name, err)
	}
	if t.ExpiresAt, err = scanTime(expires); err != nil {
		return Token{}, fmt.Errorf("load oauth token %q: expires_at: %w", name, err)
	}
	if t.UpdatedAt, err = scanTime(updated); err != nil {
		return Token{}, fmt.Errorf("load oauth token %q: updated_at: %w", name, err)
	}
	return t, nil
}

// Save implements TokenStore with one upsert, durable when it returns.
func (s *SQLStore) Save(ctx context.Context, name string, t Token) error {
	access, err := s.seal(name, t.AccessToken)
	if err != nil {
		return fmt.Errorf("save oauth token %q: %w", name, err)
	}
	refresh, err := s.seal(name, t.RefreshToken)
	if err != nil {
		return fmt.Errorf("save oauth token %q: %w", name, err)
	}
	var expires, updated any = t.ExpiresAt.UTC(), t.UpdatedAt.UTC()
	if s.db.Dialect == store.SQLite {
		expires = t.ExpiresAt.UTC().Format(time.RFC3339Nano)
		updated = t.UpdatedAt.UTC().Format(time.RFC3339Nano)
	}
	_, err = s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO oauth_tokens
		(name, access_token, refresh_token, expires_at, scope, location_id, company_id, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET access_token = excluded.access_token,
		refresh_token = excluded.refresh_token, expires_at = excluded.expires_at,
		scope = excluded.scope, location_id = excluded.location_id,
		company_id = excluded.company_id, updated_at = excluded.updated_at`),
		name, access, refresh, expires, t.Scope, t.LocationID, t.CompanyID, updated)
	if err != nil {
		return fmt.Errorf("save oauth token %q: %w", name, err)
	}
	return nil
}

func scanTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x.UTC(), nil
	case string:
		return time.Parse(time.RFC3339Nano, x)
	case []byte:
		return time.Parse(time.RFC3339Nano, string(x))
	default:
		return time.Time{}, fmt.Errorf("unexpected type %T", v)
	}
}
