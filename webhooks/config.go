package webhooks

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Config is the "webhooks" section of ghlgate's configuration. Load it over
// DefaultConfig, then call Validate.
type Config struct {
	// PublicKeys are the trusted x-ghl-signature Ed25519 keys (PEM, base64
	// or hex of the raw 32 bytes, or SPKI DER in base64 or hex); list two
	// during a rotation. Default: [GHLPublicKeyPEM].
	PublicKeys []string `yaml:"public_keys"`
	// TrustMockKey also trusts MockPublicKeyPEM, so the staging and sandbox
	// mock's webhooks verify. Deliveries it verifies carry KeyID "mock":
	// the gateway must not let them produce production-stage events.
	// Default: true.
	TrustMockKey bool `yaml:"trust_mock_key"`
	// LegacyRSAPublicKey verifies x-wh-signature (PEM). Default:
	// LegacyRSAPublicKeyPEM, GHL's published key.
	LegacyRSAPublicKey string `yaml:"legacy_rsa_public_key"`
	// AllowLegacy accepts deliveries signed only with x-wh-signature. The
	// issue asks for it on, with a switch; GHL's SDK says the header is no
	// longer sent and the guide dates its end 2026-07-01. Default: true.
	AllowLegacy bool `yaml:"allow_legacy"`
	// Window bounds |now - payload timestamp|; 0 switches the check off
	// (replays are then caught by the deduper alone). Default: 5m.
	Window time.Duration `yaml:"window"`
	// MaxBodyBytes caps a delivery. Default: 1048576.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// RetryAfter is sent with the 429 that asks GHL to retry. Default: 60s.
	RetryAfter time.Duration `yaml:"retry_after"`
	// Retention is how long delivery ids are remembered. Default: window +
	// 2h (GHL retries a 429 up to 6 times, about 10 minutes apart).
	Retention time.Duration `yaml:"retention"`
	// PruneEvery is how often old ids are deleted. Default: 10m.
	PruneEvery time.Duration `yaml:"prune_every"`
	// Mock configures the mock's outbound webhooks.
	Mock MockEmitter `yaml:"mock"`
}

// MockEmitter configures the Emitter the staging and sandbox mock use.
type MockEmitter struct {
	// Enabled turns the mock's webhooks on. Default: true.
	Enabled bool `yaml:"enabled"`
	// URL receives them. Default: "" = ghlgate's own /webhooks/ghl on its
	// listen address (the lead fills it in).
	URL string `yaml:"url"`
	// QueueSize bounds the webhooks waiting to be sent. Default: 256.
	QueueSize int `yaml:"queue_size"`
	// RetryDelay is the wait after a 429 without Retry-After. Default: 5s.
	RetryDelay time.Duration `yaml:"retry_delay"`
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{
		PublicKeys:         []string{GHLPublicKeyPEM},
		TrustMockKey:       true,
		LegacyRSAPublicKey: LegacyRSAPublicKeyPEM,
		AllowLegacy:        true,
		Window:             DefaultWindow,
		MaxBodyBytes:       1 << 20,
		RetryAfter:         time.Minute,
		Retention:          DefaultWindow + 2*time.Hour,
		PruneEvery:         10 * time.Minute,
		Mock:               MockEmitter{Enabled: true, QueueSize: 256, RetryDelay: 5 * time.Second},
	}
}

// Validate reports every problem at once; it changes nothing.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("webhooks.%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if len(c.PublicKeys) == 0 && !c.TrustMockKey {
		bad("public_keys", "no key is trusted, so no delivery can verify")
	}
	for i, k := range c.PublicKeys {
		if _, err := ParseEd25519PublicKey(k); err != nil {
			bad(fmt.Sprintf("public_keys[%d]", i), "%v", err)
		}
	}
	if c.LegacyRSAPublicKey != "" {
		if _, err := ParseRSAPublicKeyPEM(c.LegacyRSAPublicKey); err != nil {
			bad("legacy_rsa_public_key", "%v", err)
		}
	}
	if c.Window < 0 {
		bad("window", "must not be negative, got %s", c.Window)
	}
	if c.MaxBodyBytes <= 0 {
		bad("max_body_bytes", "must be positive, got %d", c.MaxBodyBytes)
	}
	if c.RetryAfter < time.Second {
		bad("retry_after", "must be at least 1s, got %s", c.RetryAfter)
	}
	if c.Retention < c.Window {
		bad("retention", "must cover the window (%s), got %s", c.Window, c.Retention)
	}
	if c.PruneEvery <= 0 {
		bad("prune_every", "must be positive, got %s", c.PruneEvery)
	}
	if c.Mock.URL != "" {
		if u, err := url.Parse(c.Mock.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("mock.url", "must be an absolute http(s) URL, got %q", c.Mock.URL)
		}
	}
	if c.Mock.QueueSize <= 0 {
		bad("mock.queue_size", "must be positive, got %d", c.Mock.QueueSize)
	}
	if c.Mock.RetryDelay <= 0 {
		bad("mock.retry_delay", "must be positive, got %s", c.Mock.RetryDelay)
	}
	return errors.Join(errs...)
}

// VerifierConfig turns the section into a VerifierConfig on clock now.
func (c Config) VerifierConfig(now func() time.Time) VerifierConfig {
	keys := append([]string(nil), c.PublicKeys...)
	if c.TrustMockKey {
		keys = append(keys, MockPublicKeyPEM)
	}
	w := c.Window
	if w == 0 {
		w = -1 // an explicit 0 in the section means "no window"
	}
	return VerifierConfig{Ed25519PublicKeys: keys, LegacyRSAPublicKeyPEM: c.LegacyRSAPublicKey,
		AllowLegacy: c.AllowLegacy, Window: w, Now: now}
}

// DeduperConfig turns the section into a DeduperConfig on clock now.
func (c Config) DeduperConfig(now func() time.Time) DeduperConfig {
	return DeduperConfig{Now: now, Retention: c.Retention}
}
