package credential

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"time"
)

// Environment variables read by default.
const (
	// DefaultTokenEnv holds a Private Integration Token.
	DefaultTokenEnv = "GHL_PRIVATE_INTEGRATION_TOKEN"
	// DefaultClientSecretEnv holds the OAuth app's client secret.
	DefaultClientSecretEnv = "GHL_CLIENT_SECRET"
	// DefaultRefreshTokenEnv holds the initial OAuth refresh token.
	DefaultRefreshTokenEnv = "GHL_REFRESH_TOKEN"
	// TokenKeyEnv holds the optional AES key for tokens at rest (base64).
	TokenKeyEnv = "GHLGATE_TOKEN_KEY"
)

// User types accepted by GHL's token endpoint.
const (
	UserTypeLocation = "Location"
	UserTypeCompany  = "Company"
)

// Config says where ghlgate's own GHL credential comes from. When
// OAuth.ClientID is set, OAuth is used; otherwise the PIT in $TokenEnv;
// otherwise none (every upstream request fails with ErrNotConfigured).
type Config struct {
	// TokenEnv names the environment variable holding a Private Integration
	// Token. Default: GHL_PRIVATE_INTEGRATION_TOKEN.
	TokenEnv string `yaml:"token_env"`
	// OAuth configures the refreshing OAuth credential; it is used when
	// ClientID is set and then wins over a PIT. Default: off.
	OAuth OAuthConfig `yaml:"oauth"`
}

// OAuthConfig configures the OAuth refresher.
type OAuthConfig struct {
	// ClientID is the Marketplace app's client id. Default: "" (OAuth off).
	ClientID string `yaml:"client_id"`
	// ClientSecretEnv names the environment variable holding the client
	// secret. Default: GHL_CLIENT_SECRET.
	ClientSecretEnv string `yaml:"client_secret_env"`
	// RefreshTokenEnv names the environment variable holding the initial
	// refresh token. Once a refresh has rotated it, the stored one wins; the
	// variable is tried again only if GHL rejects the stored one (after a
	// re-authorization). Default: GHL_REFRESH_TOKEN.
	RefreshTokenEnv string `yaml:"refresh_token_env"`
	// TokenURL is GHL's token endpoint. Default: {base_url}/oauth/token.
	TokenURL string `yaml:"token_url"`
	// UserType is sent as user_type: Location or Company. Default: Location.
	UserType string `yaml:"user_type"`
	// RefreshBefore is how long before expiry the token is refreshed.
	// Default: 30s (as GHL's SDK).
	RefreshBefore time.Duration `yaml:"refresh_before"`
	// Name is the token's row in the oauth_tokens table, so that several
	// gateways can share one database. Default: "default".
	Name string `yaml:"name"`
}

// DefaultConfig returns the defaults; load the file over it, then Validate.
func DefaultConfig() Config {
	return Config{
		TokenEnv: DefaultTokenEnv,
		OAuth: OAuthConfig{
			ClientSecretEnv: DefaultClientSecretEnv,
			RefreshTokenEnv: DefaultRefreshTokenEnv,
			UserType:        UserTypeLocation,
			RefreshBefore:   30 * time.Second,
			Name:            "default",
		},
	}
}

// OAuthEnabled reports whether the OAuth refresher is configured.
func (c Config) OAuthEnabled() bool { return c.OAuth.ClientID != "" }

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate reports every problem at once. It reads no environment: a missing
// variable is reported by New, which is where the values are read.
func (c Config) Validate() error {
	var errs []error
	if !envName.MatchString(c.TokenEnv) {
		errs = append(errs, fmt.Errorf("token_env: %q is not an environment variable name", c.TokenEnv))
	}
	if !c.OAuthEnabled() {
		return errors.Join(errs...)
	}
	o := c.OAuth
	if !envName.MatchString(o.ClientSecretEnv) {
		errs = append(errs, fmt.Errorf("oauth.client_secret_env: %q is not an environment variable name", o.ClientSecretEnv))
	}
	if !envName.MatchString(o.RefreshTokenEnv) {
		errs = append(errs, fmt.Errorf("oauth.refresh_token_env: %q is not an environment variable name", o.RefreshTokenEnv))
	}
	if o.TokenURL != "" {
		u, err := url.Parse(o.TokenURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("oauth.token_url: %q is not an absolute http(s) URL", o.TokenURL))
		}
	}
	if o.UserType != UserTypeLocation && o.UserType != UserTypeCompany {
		errs = append(errs, fmt.Errorf("oauth.user_type: %q must be %s or %s", o.UserType, UserTypeLocation, UserTypeCompany))
	}
	// GHL's access tokens last a day; refreshing more than half of it early
	// would refresh on nearly every request.
	if o.RefreshBefore < 0 || o.RefreshBefore > 12*time.Hour {
		errs = append(errs, fmt.Errorf("oauth.refresh_before: %s must be between 0 and 12h", o.RefreshBefore))
	}
	if o.Name == "" {
		errs = append(errs, errors.New("oauth.name: must not be empty"))
	}
	return errors.Join(errs...)
}
