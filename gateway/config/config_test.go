package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ghlgate.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsValidate(t *testing.T) {
	c, err := Load("", func(string) string { return "" })
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate(defaults) = %v; want nil", err)
	}
	if c.Listen != "127.0.0.1:8080" || c.ResponseValidation != ValidationReport || c.MaxBodyBytes != 1<<20 {
		t.Errorf("defaults = %s %s %d; want 127.0.0.1:8080 report 1048576", c.Listen, c.ResponseValidation, c.MaxBodyBytes)
	}
	if got, want := c.AuditFile(), filepath.Join("data", "audit.jsonl"); got != want {
		t.Errorf("AuditFile() = %q; want %q", got, want)
	}
}

func TestLoadFileThenEnv(t *testing.T) {
	p := write(t, "listen: 127.0.0.1:9999\nresponse_validation: enforce\nupstream:\n  timeout: 3s\nratelimit:\n  redis_url: redis://127.0.0.1:6379/0\n")
	env := map[string]string{"GHLGATE_LISTEN": "127.0.0.1:7777"}
	c, err := Load(p, func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	if c.Listen != "127.0.0.1:7777" {
		t.Errorf("Listen = %q; want the environment's 127.0.0.1:7777", c.Listen)
	}
	if c.ResponseValidation != ValidationEnforce || c.Upstream.Timeout.String() != "3s" {
		t.Errorf("file values = %s %v; want enforce 3s", c.ResponseValidation, c.Upstream.Timeout)
	}
	if c.RateLimit.RedisURL != "redis://127.0.0.1:6379/0" {
		t.Errorf("ratelimit.redis_url = %q; want the file's", c.RateLimit.RedisURL)
	}
	if c.RateLimit.Default.Location == nil || c.RateLimit.Default.Location.Max != 100 {
		t.Errorf("ratelimit default location budget = %+v; want GHL's 100 kept beside the file's redis_url", c.RateLimit.Default.Location)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() = %v; want nil", err)
	}
}

func TestUnknownKeyInSectionIsAnError(t *testing.T) {
	p := write(t, "upstream:\n  base_ur1: https://x\n")
	_, err := Load(p, nil)
	if err == nil || !strings.Contains(err.Error(), "base_ur1") {
		t.Fatalf("Load(typo) = %v; want an error naming base_ur1", err)
	}
}

func TestValidateCollectsEveryProblem(t *testing.T) {
	p := write(t, `listen: nowhere
response_validation: sometimes
max_body_bytes: -1
upstream:
  base_url: ftp://x
  timeout: -1s
log:
  level: loud
ratelimit:
  on_redis_error: shrug
`)
	c, err := Load(p, func(string) string { return "" })
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	err = c.Validate()
	if err == nil {
		t.Fatal("Validate() = nil; want every problem")
	}
	for _, want := range []string{"listen", "response_validation", "max_body_bytes", "upstream.base_url", "upstream.timeout", "log.level", "ratelimit", p} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() error does not name %q:\n%v", want, err)
		}
	}
}

func TestUnknownTopLevelKey(t *testing.T) {
	p := write(t, "mystery: 1\n")
	if _, err := Load(p, nil); err == nil || !strings.Contains(err.Error(), "mystery") {
		t.Fatalf("Load(unknown key) = %v; want an error naming mystery", err)
	}
}
