// Package config holds ghlgate's configuration: one YAML file, defaults first,
// then the file, then the environment, then Validate, which collects every
// problem before anything listens.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rankr/ghlgate/gateway/credential"
	"github.com/rankr/ghlgate/gateway/ratelimit"
	"github.com/rankr/ghlgate/gateway/resilience"
	"github.com/rankr/ghlgate/webhooks"
)

// Stage names. Production is everything outside /staging and /sandbox.
const (
	StageProduction = "production"
	StageStaging    = "staging"
	StageSandbox    = "sandbox"
)

// Stages lists every stage in a stable order.
var Stages = []string{StageProduction, StageStaging, StageSandbox}

// Response validation modes.
const (
	ValidationOff     = "off"
	ValidationReport  = "report"
	ValidationEnforce = "enforce"
)

// Config is the whole configuration.
type Config struct {
	// Listen is the address the gateway serves on. Default 127.0.0.1:8080.
	Listen string `yaml:"listen"`
	// DataDir holds the SQLite store and the audit log. Default ./data.
	DataDir string `yaml:"data_dir"`
	// Spec is the OpenAPI document to serve; empty means the embedded GHL
	// Contacts description. Default "".
	Spec string `yaml:"spec"`
	// Overlays are OpenAPI Overlay 1.0 files applied to Spec in order.
	// Default none.
	Overlays []string `yaml:"overlays"`
	// ResponseValidation is off, report or enforce. Default report.
	ResponseValidation string `yaml:"response_validation"`
	// MaxBodyBytes caps request bodies (413 above it). Default 1048576.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// AllowUnsecured lists operationIds that the spec declares without
	// security and that may still be called (least privilege denies them
	// otherwise). Default none.
	AllowUnsecured []string `yaml:"allow_unsecured"`
	// Upstream is production GHL.
	Upstream Upstream `yaml:"upstream"`
	// Store selects the data store.
	Store Store `yaml:"store"`
	// Audit configures the audit trail.
	Audit Audit `yaml:"audit"`
	// Mock configures the /staging and /sandbox stages.
	Mock Mock `yaml:"mock"`
	// Log configures the process log.
	Log Log `yaml:"log"`

	// RateLimit holds the budgets (GHL's per-location 100 per 10 s and
	// 200,000 a day by default; per client and global off until set).
	RateLimit ratelimit.Config `yaml:"ratelimit"`
	// Idempotency configures Idempotency-Key replays of POSTs.
	Idempotency Idempotency `yaml:"idempotency"`
	// Events configures mutation capture and delivery.
	Events Events `yaml:"events"`
	// Webhooks configures the inbound GHL webhook receiver and the mock's
	// own GHL-style webhooks.
	Webhooks webhooks.Config `yaml:"webhooks"`

	// path is the file the config came from, for messages.
	path string
}

// Upstream describes production GHL and ghlgate's credential for it.
type Upstream struct {
	// BaseURL of the GHL API. Default https://services.leadconnectorhq.com.
	BaseURL string `yaml:"base_url"`
	// Version is sent as the Version header when the client sent none.
	// Default 2021-07-28.
	Version string `yaml:"version"`
	// Credential is ghlgate's own GHL credential: token_env (a Private
	// Integration Token's variable, default GHL_PRIVATE_INTEGRATION_TOKEN)
	// or oauth (a refreshing OAuth credential, off by default). Its type
	// lives with the code that uses it; config only aggregates.
	Credential credential.Config `yaml:",inline"`
	// ConnectTimeout bounds the TCP and TLS set-up. Default 5s.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// HeaderTimeout bounds the wait for response headers. Default 15s.
	HeaderTimeout time.Duration `yaml:"header_timeout"`
	// Timeout bounds the whole exchange with GHL, retries included.
	// Default 30s.
	Timeout time.Duration `yaml:"timeout"`
	// Retry configures retries of safe requests and the circuit breaker:
	// retries (2), base_backoff (100ms), max_backoff (2s),
	// max_rate_limit_wait (10s), budget (5s), breaker {failures (5),
	// open_for (30s), probes (1)}.
	Retry resilience.Options `yaml:"retry"`
}

// Idempotency configures POST replays keyed by Idempotency-Key.
type Idempotency struct {
	// TTL is how long a first answer is kept for replay. Default 24h.
	TTL time.Duration `yaml:"ttl"`
}

// Events configures the sync events.
type Events struct {
	// Redact lists fields blanked in stored events: JSON pointers
	// (/contact/email) or bare names matched at any depth. Default none.
	Redact []string `yaml:"redact"`
	// EchoWindow is how long after a gateway change a GHL webhook reporting
	// the same change is taken as its echo. Default 2m.
	EchoWindow time.Duration `yaml:"echo_window"`
	// ReconcileEvery settles intents left open by failed exchanges.
	// Default 1m.
	ReconcileEvery time.Duration `yaml:"reconcile_every"`
	// Subscribers receive every event they ask for, signed per Standard
	// Webhooks. Default none.
	Subscribers []Subscriber `yaml:"subscribers"`
}

// Subscriber is one push destination.
type Subscriber struct {
	// Name identifies the subscriber in deliveries and dead letters.
	Name string `yaml:"name"`
	// URL receives POSTs.
	URL string `yaml:"url"`
	// SecretEnv names the variable holding the whsec_ secret.
	SecretEnv string `yaml:"secret_env"`
	// Types filters event types ("contact.*"); empty means all.
	Types []string `yaml:"types"`
}

// Store selects SQLite (default) or PostgreSQL.
type Store struct {
	// PostgresURL, when set, stores everything in PostgreSQL.
	// Default "" (SQLite in data_dir).
	PostgresURL string `yaml:"postgres_url"`
}

// Audit configures the audit trail.
type Audit struct {
	// File is the JSON-lines copy of the trail. Default {data_dir}/audit.jsonl;
	// "-" turns the file off (the store keeps every record regardless).
	File string `yaml:"file"`
	// FlushInterval is the longest a record waits before it is written.
	// Default 200ms.
	FlushInterval time.Duration `yaml:"flush_interval"`
}

// Mock configures the stages served by the GHL mock.
type Mock struct {
	// Staging enables /staging. Default true.
	Staging *bool `yaml:"staging"`
	// Sandbox enables /sandbox. Default true.
	Sandbox *bool `yaml:"sandbox"`
	// SeedDir loads seed data from a folder instead of the embedded
	// fixtures/seed. Default "".
	SeedDir string `yaml:"seed_dir"`
	// Faults make the mock misbehave on purpose for matching requests, as
	// the X-Mock-Fault header does for one request. Default none.
	Faults []FaultRule `yaml:"faults"`
}

// FaultRule injects a fault into the mock's answers to matching requests.
type FaultRule struct {
	// Method matches the request method; empty matches any.
	Method string `yaml:"method"`
	// PathPrefix matches the start of the path relative to the API root,
	// for example /contacts/; empty matches any.
	PathPrefix string `yaml:"path_prefix"`
	// Fault is the directives, as in X-Mock-Fault: latency=300ms,
	// status=429, status=503, reset.
	Fault string `yaml:"fault"`
	// Probability in (0, 1] applies the fault at random; zero applies it
	// always, unless Every is set.
	Probability float64 `yaml:"probability"`
	// Every applies the fault to every Nth matching request.
	Every int `yaml:"every"`
}

// Log configures the process log.
type Log struct {
	// Level is debug, info, warn or error. Default info.
	Level string `yaml:"level"`
	// Format is json or text. Default json.
	Format string `yaml:"format"`
}

// Default returns the embedded defaults: everything runs with nothing else
// installed.
func Default() *Config {
	t := true
	return &Config{
		Listen:             "127.0.0.1:8080",
		DataDir:            "data",
		ResponseValidation: ValidationReport,
		MaxBodyBytes:       1 << 20,
		Upstream: Upstream{
			BaseURL:        "https://services.leadconnectorhq.com",
			Version:        "2021-07-28",
			Credential:     credential.DefaultConfig(),
			ConnectTimeout: 5 * time.Second,
			HeaderTimeout:  15 * time.Second,
			Timeout:        30 * time.Second,
		},
		RateLimit:   ratelimit.DefaultConfig(),
		Idempotency: Idempotency{TTL: 24 * time.Hour},
		Events:      Events{EchoWindow: 2 * time.Minute, ReconcileEvery: time.Minute},
		Webhooks:    webhooks.DefaultConfig(),
		Audit:       Audit{FlushInterval: 200 * time.Millisecond},
		Mock:        Mock{Staging: &t, Sandbox: &t},
		Log:         Log{Level: "info", Format: "json"},
	}
}

// Load builds the configuration: defaults, then the file at path (when not
// empty), then the environment. It does not validate; call Validate.
func Load(path string, getenv func(string) string) (*Config, error) {
	c := Default()
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read config %s: %w", path, err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("config %s: %w (see the configuration reference in README.md)", path, err)
		}
		c.path = path
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	c.applyEnv(getenv)
	return c, nil
}

// Env lists the variables that override the file, for the README.
var Env = map[string]string{
	"GHLGATE_LISTEN":              "listen",
	"GHLGATE_DATA_DIR":            "data_dir",
	"GHLGATE_SPEC":                "spec",
	"GHLGATE_UPSTREAM_BASE_URL":   "upstream.base_url",
	"GHLGATE_POSTGRES_URL":        "store.postgres_url",
	"GHLGATE_RESPONSE_VALIDATION": "response_validation",
	"GHLGATE_LOG_LEVEL":           "log.level",
}

func (c *Config) applyEnv(getenv func(string) string) {
	set := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	set("GHLGATE_LISTEN", &c.Listen)
	set("GHLGATE_DATA_DIR", &c.DataDir)
	set("GHLGATE_SPEC", &c.Spec)
	set("GHLGATE_UPSTREAM_BASE_URL", &c.Upstream.BaseURL)
	set("GHLGATE_POSTGRES_URL", &c.Store.PostgresURL)
	set("GHLGATE_RESPONSE_VALIDATION", &c.ResponseValidation)
	set("GHLGATE_LOG_LEVEL", &c.Log.Level)
}

// Path is the file the configuration came from ("" for defaults).
func (c *Config) Path() string { return c.path }

// StagingEnabled reports whether /staging is served.
func (c *Config) StagingEnabled() bool { return c.Mock.Staging == nil || *c.Mock.Staging }

// SandboxEnabled reports whether /sandbox is served.
func (c *Config) SandboxEnabled() bool { return c.Mock.Sandbox == nil || *c.Mock.Sandbox }

// AuditFile is the resolved JSON-lines audit path, "" when turned off.
func (c *Config) AuditFile() string {
	switch c.Audit.File {
	case "-":
		return ""
	case "":
		return filepath.Join(c.DataDir, "audit.jsonl")
	}
	return c.Audit.File
}

// Validate checks every field and returns all problems at once, joined. It
// has no side effects.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if _, port, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen", "%q is not host:port (for example 127.0.0.1:8080)", c.Listen)
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		bad("listen", "port %q is not a number from 0 to 65535", port)
	}
	if c.DataDir == "" && c.Store.PostgresURL == "" {
		bad("data_dir", "is empty; set a folder for the SQLite store (default ./data)")
	}
	if c.Spec != "" {
		if _, err := os.Stat(c.Spec); err != nil {
			bad("spec", "cannot read %s: %v", c.Spec, err)
		}
	}
	for i, o := range c.Overlays {
		if _, err := os.Stat(o); err != nil {
			bad(fmt.Sprintf("overlays[%d]", i), "cannot read %s: %v", o, err)
		}
	}
	if !slices.Contains([]string{ValidationOff, ValidationReport, ValidationEnforce}, c.ResponseValidation) {
		bad("response_validation", "%q is not one of off, report, enforce", c.ResponseValidation)
	}
	if c.MaxBodyBytes <= 0 {
		bad("max_body_bytes", "must be positive, got %d", c.MaxBodyBytes)
	}
	if u, err := url.Parse(c.Upstream.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("upstream.base_url", "%q is not an http(s) URL", c.Upstream.BaseURL)
	}
	if c.Upstream.Version == "" {
		bad("upstream.version", "is empty; GHL requires a Version header (2021-07-28)")
	}
	for name, d := range map[string]time.Duration{
		"upstream.connect_timeout": c.Upstream.ConnectTimeout,
		"upstream.header_timeout":  c.Upstream.HeaderTimeout,
		"upstream.timeout":         c.Upstream.Timeout,
	} {
		if d <= 0 {
			bad(name, "must be a positive duration such as 5s, got %v", d)
		}
	}
	if err := c.Upstream.Credential.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("upstream: %w", err))
	}
	if p := c.Store.PostgresURL; p != "" && !strings.HasPrefix(p, "postgres://") && !strings.HasPrefix(p, "postgresql://") {
		bad("store.postgres_url", "must start with postgres:// (got a value of %d characters)", len(p))
	}
	if c.Audit.FlushInterval <= 0 {
		bad("audit.flush_interval", "must be positive, got %v", c.Audit.FlushInterval)
	}
	if c.Mock.SeedDir != "" {
		if st, err := os.Stat(c.Mock.SeedDir); err != nil || !st.IsDir() {
			bad("mock.seed_dir", "%s is not a readable folder", c.Mock.SeedDir)
		}
	}
	for i, f := range c.Mock.Faults {
		field := fmt.Sprintf("mock.faults[%d]", i)
		if strings.TrimSpace(f.Fault) == "" {
			bad(field+".fault", "is empty; give directives such as latency=300ms, status=503 or reset")
		}
		if f.Probability < 0 || f.Probability > 1 {
			bad(field+".probability", "%v is not between 0 and 1", f.Probability)
		}
		if f.Every < 0 {
			bad(field+".every", "must not be negative, got %d", f.Every)
		}
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		bad("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	if c.Log.Format != "json" && c.Log.Format != "text" {
		bad("log.format", "%q is not json or text", c.Log.Format)
	}
	if err := c.RateLimit.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("ratelimit: %w", err))
	}
	if err := c.Webhooks.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("webhooks: %w", err))
	}
	if c.Idempotency.TTL <= 0 {
		bad("idempotency.ttl", "must be positive, got %v", c.Idempotency.TTL)
	}
	if c.Events.EchoWindow < 0 || c.Events.ReconcileEvery <= 0 {
		bad("events", "echo_window must not be negative and reconcile_every must be positive")
	}
	for i, sub := range c.Events.Subscribers {
		field := fmt.Sprintf("events.subscribers[%d]", i)
		if sub.Name == "" {
			bad(field+".name", "is required")
		}
		if u, err := url.Parse(sub.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(field+".url", "%q is not an http(s) URL", sub.URL)
		}
		if sub.SecretEnv == "" {
			bad(field+".secret_env", "is required: name the variable holding the whsec_ secret")
		}
	}
	if len(errs) == 0 {
		return nil
	}
	where := "configuration"
	if c.path != "" {
		where = c.path
	}
	return fmt.Errorf("%s has %d problem(s):\n%w", where, len(errs), errors.Join(errs...))
}
