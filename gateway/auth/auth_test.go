package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rankr/ghlgate/store"
	"github.com/rankr/ghlgate/store/storetest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestNewSecret(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		s, err := NewSecret()
		if err != nil {
			t.Fatal(err)
		}
		if !wellFormed(s) {
			t.Fatalf("NewSecret() = %q; not well formed", s)
		}
		if seen[s] {
			t.Fatalf("NewSecret() repeated %q", s)
		}
		seen[s] = true
	}
}

func TestBearerToken(t *testing.T) {
	good, _ := NewSecret()
	tests := []struct {
		name   string
		header string
		want   error
	}{
		{"missing", "", ErrNoCredentials},
		{"basic scheme", "Basic abc", ErrMalformed},
		{"not ours", "Bearer pit-123", ErrMalformed},
		{"truncated", "Bearer " + good[:20], ErrMalformed},
		{"good", "Bearer " + good, nil},
		{"scheme case", "bearer " + good, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := BearerToken(tc.header); !errors.Is(err, tc.want) {
				t.Errorf("BearerToken(%q) = %v; want %v", tc.header, err, tc.want)
			}
		})
	}
}

func TestScopesFor(t *testing.T) {
	k := &Key{Scopes: []string{"contacts.readonly", "sandbox:contacts.write", "staging:contacts.write"}}
	tests := []struct {
		stage string
		want  []string
	}{
		{"production", []string{"contacts.readonly"}},
		{"sandbox", []string{"contacts.readonly", "contacts.write"}},
	}
	for _, tc := range tests {
		if got := k.ScopesFor(tc.stage); !slices.Equal(got, tc.want) {
			t.Errorf("ScopesFor(%s) = %v; want %v", tc.stage, got, tc.want)
		}
	}
}

func stores(t *testing.T) map[string]func(testing.TB) *store.DB {
	return map[string]func(testing.TB) *store.DB{"sqlite": storetest.OpenTestSQLite, "postgres": storetest.OpenTestPostgres}
}

func TestStoreLifecycle(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := open(t)
			clk := &clock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
			s, err := NewStore(ctx, db, clk.Now)
			if err != nil {
				t.Fatal(err)
			}
			secret, k, err := s.Create(ctx, CreateRequest{Name: "rankr-web", Scopes: []string{"contacts.readonly"}, Locations: []string{"loc1"}, TTL: time.Hour})
			if err != nil {
				t.Fatalf("Create() = %v", err)
			}
			if k.Hash == secret || k.Hash != HashSecret(secret) {
				t.Fatalf("stored hash = %q; want the SHA-256 of the secret, never the secret", k.Hash)
			}
			if _, _, err := s.Create(ctx, CreateRequest{Name: "rankr-web"}); !errors.Is(err, ErrNameTaken) {
				t.Errorf("Create(duplicate name) = %v; want ErrNameTaken", err)
			}
			got, err := s.Authenticate(ctx, "Bearer "+secret)
			if err != nil || got.Name != "rankr-web" || !slices.Equal(got.Locations, []string{"loc1"}) {
				t.Fatalf("Authenticate() = %+v, %v; want rankr-web with loc1", got, err)
			}
			other, _ := NewSecret()
			if _, err := s.Authenticate(ctx, "Bearer "+other); !errors.Is(err, ErrUnknownKey) {
				t.Errorf("Authenticate(unknown) = %v; want ErrUnknownKey", err)
			}
			if err := s.FlushLastUsed(ctx); err != nil {
				t.Fatal(err)
			}
			keys, _ := s.List(ctx)
			if len(keys) != 1 || keys[0].LastUsed == nil {
				t.Errorf("List() = %+v; want one key with its last use recorded", keys)
			}

			// Rotation: the old key lives through the grace period, then stops.
			secret2, _, err := s.Rotate(ctx, "rankr-web", 10*time.Minute)
			if err != nil {
				t.Fatalf("Rotate() = %v", err)
			}
			for _, sec := range []string{secret, secret2} {
				if _, err := s.Authenticate(ctx, "Bearer "+sec); err != nil {
					t.Errorf("during grace Authenticate() = %v; want nil", err)
				}
			}
			clk.Add(11 * time.Minute)
			if _, err := s.Authenticate(ctx, "Bearer "+secret); !errors.Is(err, ErrRevoked) {
				t.Errorf("after grace Authenticate(old) = %v; want ErrRevoked", err)
			}
			if _, err := s.Authenticate(ctx, "Bearer "+secret2); err != nil {
				t.Errorf("after grace Authenticate(new) = %v; want nil", err)
			}
			clk.Add(time.Hour)
			if _, err := s.Authenticate(ctx, "Bearer "+secret2); !errors.Is(err, ErrExpired) {
				t.Errorf("after TTL Authenticate() = %v; want ErrExpired", err)
			}
		})
	}
}

// A revocation made by another process (the CLI) reaches the server within
// the cache TTL.
func TestRevokeFromAnotherProcess(t *testing.T) {
	ctx := context.Background()
	db := storetest.OpenTestSQLite(t)
	clk := &clock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	server, _ := NewStore(ctx, db, clk.Now)
	cli, _ := NewStore(ctx, db, clk.Now)
	secret, _, err := cli.Create(ctx, CreateRequest{Name: "qa", Scopes: []string{"contacts.readonly"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := server.Authenticate(ctx, "Bearer "+secret); err != nil {
		t.Fatalf("Authenticate() = %v", err)
	}
	if err := cli.Revoke(ctx, "qa"); err != nil {
		t.Fatalf("Revoke() = %v", err)
	}
	clk.Add(cacheTTL)
	if _, err := server.Authenticate(ctx, "Bearer "+secret); !errors.Is(err, ErrRevoked) {
		t.Errorf("Authenticate(after revoke) = %v; want ErrRevoked", err)
	}
	if err := cli.Revoke(ctx, "nobody"); !errors.Is(err, ErrNoSuchClient) {
		t.Errorf("Revoke(unknown) = %v; want ErrNoSuchClient", err)
	}
}

func TestHashSecretIsHexSHA256(t *testing.T) {
	for _, secret := range []string{"", "ghlgw_" + strings.Repeat("a", 43), strings.Repeat("x", 64), strings.Repeat("y", 65), strings.Repeat("z", 500)} {
		sum := sha256.Sum256([]byte(secret))
		if got, want := HashSecret(secret), hex.EncodeToString(sum[:]); got != want {
			t.Errorf("HashSecret(%d bytes) = %s; want %s", len(secret), got, want)
		}
	}
}
