package credential_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rankr/ghlgate/gateway/credential"
	"github.com/rankr/ghlgate/store/storetest"
)

func TestOAuthFirstTokenUsesInitialRefreshTokenAndStoresRotation(t *testing.T) {
	r := newRig(t, nil)
	o := r.oauth(t, "rt-0")
	if got := mustToken(t, o); got != "at-1" {
		t.Fatalf("Token() = %q; want at-1", got)
	}
	form := r.ep.forms[0]
	want := map[string]string{"client_id": clientID, "client_secret": clientSecret,
		"grant_type": "refresh_token", "refresh_token": "rt-0", "user_type": "Location"}
	for k, v := range want {
		if form[k] != v {
			t.Errorf("token request %s = %q; want %q", k, form[k], v)
		}
	}
	st, err := r.store.Load(context.Background(), "default")
	if err != nil {
		t.Fatalf("store.Load() = %v; want nil", err)
	}
	if st.RefreshToken != "rt-1" || st.AccessToken != "at-1" {
		t.Errorf("stored tokens = %q/%q; want at-1/rt-1", st.AccessToken.Reveal(), st.RefreshToken.Reveal())
	}
	if wantExp := r.clk.Now().Add(86399 * time.Second); !st.ExpiresAt.Equal(wantExp) {
		t.Errorf("stored ExpiresAt = %v; want %v", st.ExpiresAt, wantExp)
	}
	if st.LocationID != "loc-1" || st.CompanyID != "comp-1" || st.Scope != "contacts.readonly contacts.write" {
		t.Errorf("stored metadata = %q %q %q; want loc-1 comp-1 and the scopes", st.LocationID, st.CompanyID, st.Scope)
	}
	// A second call within the lifetime does not refresh.
	if got := mustToken(t, o); got != "at-1" {
		t.Errorf("second Token() = %q; want at-1", got)
	}
	if got := r.ep.calls(); got != 1 {
		t.Errorf("token endpoint calls = %d; want 1", got)
	}
}

func TestOAuthRefreshesBeforeExpiry(t *testing.T) {
	life := 86399 * time.Second
	tests := []struct {
		name    string
		advance time.Duration
		want    string
		calls   int
	}{
		{"well before expiry", time.Hour, "at-1", 1},
		{"31s before expiry", life - 31*time.Second, "at-1", 1},
		{"30s before expiry", life - 30*time.Second, "at-2", 2},
		{"after expiry", life + time.Hour, "at-2", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, nil)
			o := r.oauth(t, "rt-0")
			mustToken(t, o)
			r.clk.Advance(tc.advance)
			if got := mustToken(t, o); got != tc.want {
				t.Errorf("Token() after %v = %q; want %q", tc.advance, got, tc.want)
			}
			if got := r.ep.calls(); got != tc.calls {
				t.Errorf("token endpoint calls = %d; want %d", got, tc.calls)
			}
			if tc.calls == 2 {
				if got := r.ep.receivedTokens(); !slices.Equal(got, []string{"rt-0", "rt-1"}) {
					t.Errorf("refresh tokens sent = %v; want [rt-0 rt-1] (the rotated one second)", got)
				}
			}
		})
	}
}

func TestOAuthInvalidateOnlyRefreshesTheCurrentToken(t *testing.T) {
	r := newRig(t, nil)
	o := r.oauth(t, "rt-0")
	ctx := context.Background()
	mustToken(t, o)
	o.Invalidate(ctx, "at-1")
	if got := mustToken(t, o); got != "at-2" {
		t.Fatalf("Token() after Invalidate(at-1) = %q; want at-2", got)
	}
	// A late 401 for the replaced token changes nothing.
	o.Invalidate(ctx, "at-1")
	if got := mustToken(t, o); got != "at-2" {
		t.Errorf("Token() after a stale Invalidate = %q; want at-2", got)
	}
	if got := r.ep.calls(); got != 2 {
		t.Errorf("token endpoint calls = %d; want 2", got)
	}
}

func TestOAuthRotatedTokenSurvivesRestart(t *testing.T) {
	for name, open := range map[string]func(testing.TB) credential.TokenStore{
		"memory": func(testing.TB) credential.TokenStore { return credential.NewMemoryStore() },
		"sqlite": func(t testing.TB) credential.TokenStore { return newSQLStore(t, storetest.OpenTestSQLite(t), nil) },
		"postgres": func(t testing.TB) credential.TokenStore {
			return newSQLStore(t, storetest.OpenTestPostgres(t), nil)
		},
	} {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, open(t))
			first := r.oauth(t, "rt-0")
			if got := mustToken(t, first); got != "at-1" {
				t.Fatalf("Token() = %q; want at-1", got)
			}
			// "Restart": a new OAuth over the same store, still started with
			// the original (now used) refresh token in the environment.
			second := r.oauth(t, "rt-0")
			if got := mustToken(t, second); got != "at-1" {
				t.Errorf("Token() after restart = %q; want at-1 from the store", got)
			}
			r.clk.Advance(25 * time.Hour)
			if got := mustToken(t, second); got != "at-2" {
				t.Errorf("Token() after expiry = %q; want at-2", got)
			}
			if got := r.ep.receivedTokens(); !slices.Equal(got, []string{"rt-0", "rt-1"}) {
				t.Errorf("refresh tokens sent = %v; want [rt-0 rt-1]", got)
			}
			st, err := r.store.Load(context.Background(), "default")
			if err != nil || st.RefreshToken != "rt-2" {
				t.Errorf("stored refresh token = %q, %v; want rt-2, nil", st.RefreshToken.Reveal(), err)
			}
		})
	}
}

func TestOAuthStoreFailureKeepsOldTokenAndRetriesSave(t *testing.T) {
	fs := &failingStore{TokenStore: credential.NewMemoryStore()}
	r := newRig(t, fs)
	o := r.oauth(t, "rt-0")
	ctx := context.Background()
	mustToken(t, o)
	fs.failSave.Store(true)
	o.Invalidate(ctx, "at-1")
	_, err := o.Token(ctx)
	if !errors.Is(err, credential.ErrPersist) || !errors.Is(err, errDiskFull) {
		t.Fatalf("Token() with a failing store = %v; want ErrPersist wrapping the store error", err)
	}
	st, _ := fs.TokenStore.Load(ctx, "default")
	if st.AccessToken != "at-1" || st.RefreshToken != "rt-1" {
		t.Errorf("stored after failed save = %q/%q; want the old at-1/rt-1", st.AccessToken.Reveal(), st.RefreshToken.Reveal())
	}
	if !strings.Contains(r.log.String(), "re-authorize the app") {
		t.Errorf("log = %s; want a line saying what to do", r.log.String())
	}
	// Still failing: the new token is still not used, and GHL is not asked again.
	if _, err := o.Token(ctx); !errors.Is(err, credential.ErrPersist) {
		t.Errorf("second Token() = %v; want ErrPersist", err)
	}
	fs.failSave.Store(false)
	if got := mustToken(t, o); got != "at-2" {
		t.Errorf("Token() once the store heals = %q; want at-2 (the pending token, saved)", got)
	}
	if got := r.ep.calls(); got != 2 {
		t.Errorf("token endpoint calls = %d; want 2 (no refresh while the pending token was unsaved)", got)
	}
	st, _ = fs.TokenStore.Load(ctx, "default")
	if st.RefreshToken != "rt-2" {
		t.Errorf("stored refresh token = %q; want rt-2", st.RefreshToken.Reveal())
	}
}

func TestOAuthTokenEndpointErrors(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		is       error
		mentions []string
	}{
		{"invalid grant", 400, `{"error":"invalid_grant","error_description":"refresh token expired"}`,
			credential.ErrRefreshRejected, []string{"400", "invalid_grant", "refresh token expired", "re-authorize", "$GHL_REFRESH_TOKEN"}},
		{"ghl bad request", 400, `{"statusCode":400,"message":"Bad Request"}`,
			credential.ErrRefreshRejected, []string{"400", "Bad Request", "$GHL_REFRESH_TOKEN", "client_id"}},
		{"bad client", 401, `{"statusCode":401,"message":"Invalid client","error":"Unauthorized"}`,
			credential.ErrRefreshRejected, []string{"401", "Invalid client", "client_id (" + clientID + ")", "client secret"}},
		{"invalid client code", 400, `{"error":"invalid_client"}`,
			credential.ErrRefreshRejected, []string{"invalid_client", "client secret"}},
		{"unprocessable", 422, `{"statusCode":422,"message":["user_type must be one of Company, Location"],"error":"Unprocessable Entity"}`,
			credential.ErrRefreshRejected, []string{"422", "user_type must be one of"}},
		{"server error", 503, `upstream down`, credential.ErrTokenEndpoint, []string{"503", "retries"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, nil)
			r.ep.failStatus, r.ep.failBody = tc.status, tc.body
			o := r.oauth(t, "rt-0")
			_, err := o.Token(context.Background())
			if !errors.Is(err, tc.is) {
				t.Fatalf("Token() = %v; want %v", err, tc.is)
			}
			var re *credential.RefreshError
			if !errors.As(err, &re) || re.Status != tc.status {
				t.Fatalf("Token() = %#v; want a *RefreshError with status %d", err, tc.status)
			}
			for _, m := range tc.mentions {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("Token() error = %q; want it to mention %q", err, m)
				}
			}
		})
	}
}

func TestOAuthFallsBackToNewInitialRefreshToken(t *testing.T) {
	ctx := context.Background()
	store := credential.NewMemoryStore()
	// The store holds a refresh token GHL no longer accepts; the operator
	// re-authorized and put the new one in the environment.
	if err := store.Save(ctx, "default", credential.Token{AccessToken: "at-old", RefreshToken: "rt-dead"}); err != nil {
		t.Fatal(err)
	}
	r := newRig(t, store)
	r.ep.valid = "rt-fresh"
	o := r.oauth(t, "rt-fresh")
	if got := mustToken(t, o); got != "at-1" {
		t.Fatalf("Token() = %q; want at-1", got)
	}
	if got := r.ep.receivedTokens(); !slices.Equal(got, []string{"rt-dead", "rt-fresh"}) {
		t.Errorf("refresh tokens sent = %v; want [rt-dead rt-fresh]", got)
	}
}

func TestOAuthNoRefreshToken(t *testing.T) {
	r := newRig(t, nil)
	o := r.oauth(t, "")
	_, err := o.Token(context.Background())
	if !errors.Is(err, credential.ErrNoRefreshToken) || !strings.Contains(err.Error(), "$GHL_REFRESH_TOKEN") {
		t.Errorf("Token() = %v; want ErrNoRefreshToken naming $GHL_REFRESH_TOKEN", err)
	}
	if got := r.ep.calls(); got != 0 {
		t.Errorf("token endpoint calls = %d; want 0", got)
	}
}

func TestOAuthWaiterGivesUpButRefreshCompletes(t *testing.T) {
	r := newRig(t, nil)
	o := r.oauth(t, "rt-0")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// The caller has gone, but a refresh it starts must still finish and be
	// stored: abandoning it after GHL rotated would lose the refresh token.
	if _, err := o.Token(ctx); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Token(cancelled) = %v; want nil or context.Canceled", err)
	}
	if got := mustToken(t, o); got != "at-1" {
		t.Errorf("Token() = %q; want at-1", got)
	}
	if got := r.ep.calls(); got != 1 {
		t.Errorf("token endpoint calls = %d; want 1", got)
	}
}

func TestTokensNeverLogged(t *testing.T) {
	fs := &failingStore{TokenStore: credential.NewMemoryStore()}
	r := newRig(t, fs)
	o := r.oauth(t, "rt-0")
	ctx := context.Background()
	var errs []string
	note := func(err error) {
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	_, err := o.Token(ctx) // refresh: logs the refresh
	note(err)
	fs.failSave.Store(true)
	o.Invalidate(ctx, "at-1")
	_, err = o.Token(ctx) // persist failure: logs the long error line
	note(err)
	fs.failSave.Store(false)
	_, err = o.Token(ctx) // pending saved
	note(err)
	r.ep.failStatus, r.ep.failBody = 400, `{"error":"invalid_grant"}`
	o.Invalidate(ctx, "at-2")
	_, err = o.Token(ctx) // refusal
	note(err)
	// A Token and the Source logged directly.
	tok, _ := fs.Load(ctx, "default")
	debugLogger(r.log).Info("direct", "token", tok.AccessToken, "struct", tok)

	out := r.log.String() + strings.Join(errs, "\n")
	if !strings.Contains(out, "could not be saved") || !strings.Contains(out, "invalid_grant") {
		t.Fatalf("log = %s; want the persist failure and the refusal logged", out)
	}
	for _, secret := range []string{"at-1", "at-2", "rt-0", "rt-1", "rt-2", clientSecret} {
		if strings.Contains(out, secret) {
			t.Errorf("log or errors contain %q:\n%s", secret, out)
		}
	}
}
