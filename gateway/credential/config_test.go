package credential_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rankr/ghlgate/gateway/credential"
)

const hour = time.Hour

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*credential.Config)
		want   []string // substrings; nil means valid
	}{
		{"defaults", func(*credential.Config) {}, nil},
		{"oauth defaults", func(c *credential.Config) { c.OAuth.ClientID = "id" }, nil},
		{"oauth fields ignored when off", func(c *credential.Config) { c.OAuth.UserType = "Agency" }, nil},
		{"bad token env", func(c *credential.Config) { c.TokenEnv = "GHL-TOKEN" }, []string{"token_env"}},
		{"every oauth problem at once", func(c *credential.Config) {
			c.TokenEnv = ""
			c.OAuth = credential.OAuthConfig{ClientID: "id", ClientSecretEnv: "1BAD", RefreshTokenEnv: "",
				TokenURL: "/oauth/token", UserType: "Agency", RefreshBefore: -time.Second}
		}, []string{"token_env", "oauth.client_secret_env", "oauth.refresh_token_env", "oauth.token_url",
			"oauth.user_type", "oauth.refresh_before", "oauth.name"}},
		{"company ok", func(c *credential.Config) { c.OAuth.ClientID = "id"; c.OAuth.UserType = "Company" }, nil},
		{"refresh_before too long", func(c *credential.Config) { c.OAuth.ClientID = "id"; c.OAuth.RefreshBefore = 13 * hour },
			[]string{"oauth.refresh_before"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := credential.DefaultConfig()
			tc.modify(&cfg)
			err := cfg.Validate()
			if tc.want == nil {
				if err != nil {
					t.Errorf("Validate() = %v; want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil; want errors mentioning %v", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q; want it to mention %q", err, w)
				}
			}
		})
	}
}

func TestNewPicksSource(t *testing.T) {
	oauthCfg := credential.DefaultConfig()
	oauthCfg.OAuth.ClientID = clientID
	tests := []struct {
		name     string
		cfg      credential.Config
		env      map[string]string
		baseURL  string
		store    credential.TokenStore
		wantKind string
		wantErr  string
	}{
		{"nothing set", credential.DefaultConfig(), nil, "", nil, credential.KindNone, ""},
		{"pit", credential.DefaultConfig(), map[string]string{"GHL_PRIVATE_INTEGRATION_TOKEN": "pit-1"}, "", nil, credential.KindPIT, ""},
		{"oauth", oauthCfg, map[string]string{"GHL_CLIENT_SECRET": "s", "GHL_REFRESH_TOKEN": "rt"},
			"https://services.leadconnectorhq.com", credential.NewMemoryStore(), credential.KindOAuth, ""},
		{"oauth wins over pit", oauthCfg, map[string]string{"GHL_CLIENT_SECRET": "s", "GHL_PRIVATE_INTEGRATION_TOKEN": "pit-1"},
			"https://x", credential.NewMemoryStore(), credential.KindOAuth, ""},
		{"oauth without secret", oauthCfg, nil, "https://x", credential.NewMemoryStore(), "", "$GHL_CLIENT_SECRET is empty"},
		{"oauth without token url", oauthCfg, map[string]string{"GHL_CLIENT_SECRET": "s"}, "", credential.NewMemoryStore(), "", "token_url"},
		{"oauth without store", oauthCfg, map[string]string{"GHL_CLIENT_SECRET": "s"}, "https://x", nil, "", "no token store"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, err := credential.New(context.Background(), tc.cfg, credential.Options{
				BaseURL: tc.baseURL, Getenv: envMap(tc.env), Store: tc.store})
			if tc.wantErr != "" {
				if !errors.Is(err, credential.ErrSetup) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("New() = %v; want ErrSetup mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("New() = %v; want nil", err)
			}
			if src.Kind() != tc.wantKind || src.Configured() != (tc.wantKind != credential.KindNone) {
				t.Errorf("New() kind, configured = %s, %v; want %s", src.Kind(), src.Configured(), tc.wantKind)
			}
		})
	}
}
