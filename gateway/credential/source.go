package credential

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Kinds returned by Source.Kind.
const (
	KindPIT   = "pit"
	KindOAuth = "oauth"
	KindNone  = "none"
)

// Source hands out ghlgate's current GHL bearer token. Transport consumes it.
type Source interface {
	// Token returns the token to send now, refreshing it first if needed.
	Token(ctx context.Context) (Secret, error)
	// Invalidate reports that GHL answered 401 to rejected. A source that can
	// refresh does so on the next Token call, but only if rejected is still
	// its current token: concurrent 401s for one token cause one refresh.
	Invalidate(ctx context.Context, rejected Secret)
	// Configured reports whether a credential is set at all.
	Configured() bool
	// Kind is "pit", "oauth" or "none", for logs and /health.
	Kind() string
}

// ErrNotConfigured is returned by None.Token. Map it to 503.
var ErrNotConfigured = errors.New("upstream credential not configured: set GHL_PRIVATE_INTEGRATION_TOKEN or configure upstream.oauth")

// None is the Source used when no credential is configured.
type None struct{}

// Token returns ErrNotConfigured.
func (None) Token(context.Context) (Secret, error) { return "", ErrNotConfigured }

// Invalidate does nothing.
func (None) Invalidate(context.Context, Secret) {}

// Configured returns false.
func (None) Configured() bool { return false }

// Kind returns "none".
func (None) Kind() string { return KindNone }

// Static is a Private Integration Token. It cannot refresh: a 401 is logged
// with what to do, and the upstream's answer is passed on.
type Static struct {
	token Secret
	env   string
	log   *slog.Logger
}

// NewStatic returns a Source for a PIT; env names where it came from, for the
// log line written when GHL rejects it.
func NewStatic(token Secret, env string, log *slog.Logger) *Static {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Static{token: token, env: env, log: log}
}

// Token returns the PIT.
func (s *Static) Token(context.Context) (Secret, error) { return s.token, nil }

// Invalidate logs that GHL rejected the PIT; there is nothing to refresh.
func (s *Static) Invalidate(ctx context.Context, rejected Secret) {
	if rejected != s.token {
		return
	}
	s.log.LogAttrs(ctx, slog.LevelError, "ghl rejected the private integration token",
		slog.String("credential", KindPIT),
		slog.String("action", "rotate the token in HighLevel (Settings > Private Integrations), set $"+s.env+" and restart ghlgate"))
}

// Configured returns true.
func (s *Static) Configured() bool { return true }

// Kind returns "pit".
func (s *Static) Kind() string { return KindPIT }

// Options are what New needs besides the Config.
type Options struct {
	// BaseURL is GHL's API base; the token URL defaults to BaseURL/oauth/token.
	BaseURL string
	// Getenv reads the environment. Required: main passes os.Getenv.
	Getenv func(string) string
	// Store keeps the OAuth tokens. Required for OAuth.
	Store TokenStore
	// HTTPClient calls the token endpoint. Default: a client with a 30s timeout.
	HTTPClient *http.Client
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// Logger receives refresh and failure lines (never a token).
	Logger *slog.Logger
}

// ErrSetup marks a credential that is configured but cannot be built
// (missing environment variable, no store). New's message says which.
var ErrSetup = errors.New("upstream credential")

// New builds the Source cfg describes, reading its environment variables
// through opts.Getenv. Call cfg.Validate first.
func New(ctx context.Context, cfg Config, opts Options) (Source, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	getenv := opts.Getenv
	if getenv == nil {
		return nil, fmt.Errorf("%w: no Getenv given", ErrSetup)
	}
	if cfg.OAuthEnabled() {
		o := cfg.OAuth
		secret := getenv(o.ClientSecretEnv)
		if secret == "" {
			return nil, fmt.Errorf("%w: oauth.client_id is set but $%s is empty: set it to the app's client secret", ErrSetup, o.ClientSecretEnv)
		}
		tokenURL := o.TokenURL
		if tokenURL == "" {
			if opts.BaseURL == "" {
				return nil, fmt.Errorf("%w: set oauth.token_url or the upstream base URL", ErrSetup)
			}
			tokenURL = strings.TrimRight(opts.BaseURL, "/") + "/oauth/token"
		}
		if getenv(cfg.TokenEnv) != "" {
			log.LogAttrs(ctx, slog.LevelWarn, "both a private integration token and oauth are configured; using oauth",
				slog.String("ignored_env", cfg.TokenEnv))
		}
		return NewOAuth(OAuthParams{
			Name:            o.Name,
			ClientID:        o.ClientID,
			ClientSecret:    Secret(secret),
			RefreshToken:    Secret(getenv(o.RefreshTokenEnv)),
			RefreshTokenEnv: o.RefreshTokenEnv,
			TokenURL:        tokenURL,
			UserType:        o.UserType,
			RefreshBefore:   o.RefreshBefore,
			Store:           opts.Store,
			HTTPClient:      opts.HTTPClient,
			Now:             opts.Now,
			Logger:          log,
		})
	}
	if pit := getenv(cfg.TokenEnv); pit != "" {
		return NewStatic(Secret(pit), cfg.TokenEnv, log), nil
	}
	log.LogAttrs(ctx, slog.LevelWarn, "no upstream credential configured; production requests will fail with 503",
		slog.String("action", "set $"+cfg.TokenEnv+" or configure upstream.oauth"))
	return None{}, nil
}
