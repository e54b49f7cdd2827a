package webhooks

import (
	"strings"
	"testing"
	"time"
)

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v; want nil", err)
	}
	vc := c.VerifierConfig(fixedNow(t0))
	v, err := NewVerifier(vc)
	if err != nil {
		t.Fatalf("NewVerifier(DefaultConfig()) = %v", err)
	}
	ids := map[string]bool{}
	for _, k := range v.keys {
		ids[k.id] = true
	}
	if !ids[KeyIDGHL] || !ids[KeyIDMock] || len(ids) != 2 {
		t.Errorf("default trusted keys = %v; want ghl and mock", ids)
	}
	if !v.allowLegacy || v.window != DefaultWindow {
		t.Errorf("default verifier legacy %v window %s; want true %s", v.allowLegacy, v.window, DefaultWindow)
	}
	c.TrustMockKey = false
	if got := len(c.VerifierConfig(nil).Ed25519PublicKeys); got != 1 {
		t.Errorf("keys without the mock = %d; want 1", got)
	}
	c.Window = 0
	if got := c.VerifierConfig(nil).Window; got >= 0 {
		t.Errorf("VerifierConfig().Window for window 0 = %s; want negative (off)", got)
	}
	if got := DefaultConfig().DeduperConfig(nil).Retention; got != DefaultWindow+2*time.Hour {
		t.Errorf("DeduperConfig().Retention = %s; want %s", got, DefaultWindow+2*time.Hour)
	}
}

func TestConfigValidateReportsEveryProblem(t *testing.T) {
	c := DefaultConfig()
	c.PublicKeys = []string{"junk"}
	c.LegacyRSAPublicKey = "junk"
	c.Window = -time.Second
	c.MaxBodyBytes = 0
	c.RetryAfter = 0
	c.Retention = -time.Hour
	c.PruneEvery = 0
	c.Mock = MockEmitter{URL: "ftp:/x"}
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate() = nil; want every problem")
	}
	for _, want := range []string{"public_keys[0]", "legacy_rsa_public_key", "window", "max_body_bytes", "retry_after",
		"retention", "prune_every", "mock.url", "mock.queue_size", "mock.retry_delay"} {
		if !strings.Contains(err.Error(), "webhooks."+want) {
			t.Errorf("Validate() = %q; want it to name webhooks.%s", err, want)
		}
	}
	c = DefaultConfig()
	c.PublicKeys, c.TrustMockKey = nil, false
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "no key is trusted") {
		t.Errorf("Validate(no keys) = %v; want no key is trusted", err)
	}
}
