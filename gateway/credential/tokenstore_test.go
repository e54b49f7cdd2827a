package credential_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rankr/ghlgate/gateway/credential"
	"github.com/rankr/ghlgate/store"
	"github.com/rankr/ghlgate/store/storetest"
)

func newSQLStore(t testing.TB, db *store.DB, key []byte) *credential.SQLStore {
	t.Helper()
	s, err := credential.NewSQLStore(context.Background(), db, key)
	if err != nil {
		t.Fatalf("NewSQLStore() = %v; want nil", err)
	}
	return s
}

var stores = map[string]func(testing.TB) *store.DB{
	"sqlite":   storetest.OpenTestSQLite,
	"postgres": storetest.OpenTestPostgres,
}

func TestSQLStoreRoundTrip(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	for name, open := range stores {
		for _, sealed := range []bool{false, true} {
			t.Run(name+map[bool]string{false: "/plain", true: "/sealed"}[sealed], func(t *testing.T) {
				ctx := context.Background()
				db := open(t)
				var k []byte
				if sealed {
					k = key
				}
				s := newSQLStore(t, db, k)
				if _, err := s.Load(ctx, "default"); !errors.Is(err, credential.ErrNoToken) {
					t.Fatalf("Load(empty) = %v; want ErrNoToken", err)
				}
				now := time.Date(2026, 6, 1, 12, 0, 0, 123456000, time.UTC)
				want := credential.Token{AccessToken: "at-1", RefreshToken: "rt-1", ExpiresAt: now.Add(24 * time.Hour),
					Scope: "contacts.readonly", LocationID: "loc-1", CompanyID: "comp-1", UpdatedAt: now}
				if err := s.Save(ctx, "default", want); err != nil {
					t.Fatalf("Save() = %v; want nil", err)
				}
				want.AccessToken, want.RefreshToken = "at-2", "rt-2"
				if err := s.Save(ctx, "default", want); err != nil {
					t.Fatalf("second Save() = %v; want nil", err)
				}
				got, err := s.Load(ctx, "default")
				if err != nil {
					t.Fatalf("Load() = %v; want nil", err)
				}
				if got.AccessToken != want.AccessToken || got.RefreshToken != want.RefreshToken ||
					!got.ExpiresAt.Equal(want.ExpiresAt) || !got.UpdatedAt.Equal(want.UpdatedAt) ||
					got.Scope != want.Scope || got.LocationID != want.LocationID || got.CompanyID != want.CompanyID {
					t.Errorf("Load() = %+v (%s/%s); want %+v", got, got.AccessToken.Reveal(), got.RefreshToken.Reveal(), want)
				}
				var rawAccess, rawRefresh string
				if err := db.QueryRowContext(ctx, "SELECT access_token, refresh_token FROM oauth_tokens").Scan(&rawAccess, &rawRefresh); err != nil {
					t.Fatal(err)
				}
				if plain := rawAccess == "at-2" && rawRefresh == "rt-2"; plain == sealed {
					t.Errorf("stored columns = %q, %q; want sealed=%v", rawAccess, rawRefresh, sealed)
				}
				if _, err := s.Load(ctx, "other"); !errors.Is(err, credential.ErrNoToken) {
					t.Errorf("Load(other) = %v; want ErrNoToken", err)
				}
			})
		}
	}
}

func TestSQLStoreKeys(t *testing.T) {
	ctx := context.Background()
	db := storetest.OpenTestSQLite(t)
	key := []byte("0123456789abcdef0123456789abcdef")
	tok := credential.Token{AccessToken: "at-1", RefreshToken: "rt-1", ExpiresAt: time.Unix(0, 0).UTC(), UpdatedAt: time.Unix(0, 0).UTC()}

	plain := newSQLStore(t, db, nil)
	if err := plain.Save(ctx, "p", tok); err != nil {
		t.Fatal(err)
	}
	sealed := newSQLStore(t, db, key)
	// Tokens saved before a key was set are read, and sealed on the next save.
	if got, err := sealed.Load(ctx, "p"); err != nil || got.RefreshToken != "rt-1" {
		t.Errorf("sealed.Load(plain row) = %q, %v; want rt-1, nil", got.RefreshToken.Reveal(), err)
	}
	if err := sealed.Save(ctx, "s", tok); err != nil {
		t.Fatal(err)
	}
	wrong := newSQLStore(t, db, []byte("another key of thirty-two bytes!"))
	tests := []struct {
		name  string
		store *credential.SQLStore
		row   string
		want  error
	}{
		{"no key for a sealed row", plain, "s", credential.ErrTokenKey},
		{"wrong key", wrong, "s", credential.ErrTokenKey},
		{"right key", sealed, "s", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.store.Load(ctx, tc.row)
			if !errors.Is(err, tc.want) {
				t.Errorf("Load(%s) = %v; want %v", tc.row, err, tc.want)
			}
		})
	}
	// A sealed value copied to another row does not open there.
	if _, err := db.ExecContext(ctx, "UPDATE oauth_tokens SET refresh_token = (SELECT refresh_token FROM oauth_tokens WHERE name = 's') WHERE name = 'p'"); err != nil {
		t.Fatal(err)
	}
	if _, err := sealed.Load(ctx, "p"); !errors.Is(err, credential.ErrTokenKey) {
		t.Errorf("Load(row with another row's sealed value) = %v; want ErrTokenKey", err)
	}
}

func TestKeyFromEnv(t *testing.T) {
	b64 := func(n int) string { return base64.StdEncoding.EncodeToString(make([]byte, n)) }
	tests := []struct {
		name    string
		value   string
		wantLen int
		wantErr string
	}{
		{"unset", "", 0, ""},
		{"32 bytes", b64(32), 32, ""},
		{"16 bytes", b64(16), 16, ""},
		{"wrong length", b64(20), 0, "20 bytes"},
		{"not base64", "not*base64", 0, "not base64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key, err := credential.KeyFromEnv(func(k string) string {
				if k == credential.TokenKeyEnv {
					return tc.value
				}
				return ""
			})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("KeyFromEnv(%q) = %v; want an error mentioning %q", tc.value, err, tc.wantErr)
				}
				return
			}
			if err != nil || len(key) != tc.wantLen {
				t.Errorf("KeyFromEnv(%q) = %d bytes, %v; want %d bytes, nil", tc.value, len(key), err, tc.wantLen)
			}
		})
	}
}
