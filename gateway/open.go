package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/rankr/ghlgate/events"
	"github.com/rankr/ghlgate/gateway/audit"
	"github.com/rankr/ghlgate/gateway/auth"
	"github.com/rankr/ghlgate/gateway/config"
	"github.com/rankr/ghlgate/gateway/credential"
	"github.com/rankr/ghlgate/gateway/idempotency"
	"github.com/rankr/ghlgate/gateway/ratelimit"
	"github.com/rankr/ghlgate/gateway/resilience"
	"github.com/rankr/ghlgate/mocks"
	"github.com/rankr/ghlgate/openapi"
	"github.com/rankr/ghlgate/store"
	"github.com/rankr/ghlgate/webhooks"
	"github.com/redis/go-redis/v9"
)

// OpenOptions are the process-level inputs of Open.
type OpenOptions struct {
	Logger *slog.Logger
	// Getenv reads the environment (credentials). Default os.Getenv.
	Getenv func(string) string
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Upstream replaces the network transport to production GHL (tests).
	Upstream http.RoundTripper
	// MockIDs replaces the mock's id generator (tests).
	MockIDs func() string
	// ContractRuns serves the contract-suite runs (GET
	// /_gateway/contract-runs); nil leaves the route out.
	ContractRuns http.Handler
}

// Server is a Gateway with the resources it owns.
type Server struct {
	*Gateway
	DB     *store.DB
	Keys   *auth.Store
	Trail  *audit.Trail
	Spec   *openapi.Spec
	Mocks  *mocks.Registry
	Events *events.SQLStore

	limiter   *ratelimit.Limiter
	deduper   *webhooks.SQLDeduper
	deliverer *events.Deliverer
	emMu      sync.Mutex
	emitters  map[string]*webhooks.Emitter

	stop      context.CancelFunc
	closed    chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// LoadSpec loads the configured spec (or the embedded one) with its overlays.
func LoadSpec(ctx context.Context, cfg *config.Config) (*openapi.Spec, error) {
	if cfg.Spec == "" && len(cfg.Overlays) == 0 {
		return openapi.Default()
	}
	if cfg.Spec == "" {
		return nil, errors.New("overlays need a spec file: set spec to the document they apply to")
	}
	return openapi.Load(ctx, cfg.Spec, cfg.Overlays...)
}

// OpenStore opens the configured data store.
func OpenStore(ctx context.Context, cfg *config.Config) (*store.DB, error) {
	return store.Open(ctx, store.Options{DataDir: cfg.DataDir, PostgresURL: cfg.Store.PostgresURL})
}

// Open builds everything the configuration describes. cfg must have been
// validated.
func Open(ctx context.Context, cfg *config.Config, opts OpenOptions) (_ *Server, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	spec, err := LoadSpec(ctx, cfg)
	if err != nil {
		return nil, err
	}
	for _, w := range spec.Warnings {
		log.Debug("spec warning", "file", w.File, "pointer", w.Pointer, "message", w.Message)
	}
	if n := len(spec.Warnings); n > 0 {
		log.Info("spec loaded with warnings; ghlgate spec lint lists them", "spec", spec.Source, "warnings", n, "operations", len(spec.Operations))
	}
	db, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			db.Close()
		}
	}()
	keys, err := auth.NewStore(ctx, db, opts.Now)
	if err != nil {
		return nil, err
	}
	trail, err := audit.New(ctx, db, audit.Options{File: cfg.AuditFile(), FlushInterval: cfg.Audit.FlushInterval, Logger: log})
	if err != nil {
		return nil, err
	}
	tokenKey, err := credential.KeyFromEnv(opts.Getenv)
	if err != nil {
		return nil, err
	}
	tokens, err := credential.NewSQLStore(ctx, db, tokenKey)
	if err != nil {
		return nil, err
	}
	cred, err := credential.New(ctx, cfg.Upstream.Credential, credential.Options{
		BaseURL: cfg.Upstream.BaseURL, Getenv: opts.Getenv, Store: tokens, Now: opts.Now, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	limiter, err := ratelimit.New(cfg.RateLimit, ratelimit.WithLogger(log), ratelimit.WithClock(opts.Now))
	if err != nil {
		return nil, fmt.Errorf("rate limits: %w", err)
	}
	idemStore, err := idempotencyStore(cfg)
	if err != nil {
		return nil, err
	}
	idem := idempotency.New(idemStore, idempotency.Options{TTL: cfg.Idempotency.TTL, Now: opts.Now, Logger: log})
	evStore, err := events.NewStore(ctx, db, events.StoreOptions{Now: opts.Now, Logger: log})
	if err != nil {
		return nil, err
	}
	recorder := events.NewRecorder(evStore, events.RecorderOptions{Redact: cfg.Events.Redact, EchoWindow: cfg.Events.EchoWindow, Now: opts.Now, Logger: log})

	s := &Server{DB: db, Keys: keys, Trail: trail, Spec: spec, Events: evStore, closed: make(chan struct{})}
	var registry *mocks.Registry
	if cfg.StagingEnabled() || cfg.SandboxEnabled() {
		registry, err = OpenMocks(ctx, cfg, db, spec, log, opts.MockIDs, s.mockMutation)
		if err != nil {
			return nil, err
		}
	}
	upstream := opts.Upstream
	if upstream == nil {
		upstream = networkTransport(cfg)
	}
	retry := cfg.Upstream.Retry
	retry.Logger = log
	retry.Observe = func(req *http.Request, resp *http.Response) {
		// Every answer GHL gives, retried ones too, calibrates the budget of
		// its location and holds it when GHL says so.
		if x := exchangeFrom(req.Context()); x != nil {
			limiter.ObserveUpstream(x.stage, s.budgetLocation(x), resp.StatusCode, resp.Header, opts.Now())
		}
	}
	breakers := resilience.NewTransport(upstream, retry)
	deduper, err := webhooks.NewSQLDeduper(ctx, db, cfg.Webhooks.DeduperConfig(opts.Now))
	if err != nil {
		return nil, err
	}
	s.deduper = deduper
	hooks, err := s.webhookHandler(cfg, log, opts.Now, recorder, deduper)
	if err != nil {
		return nil, err
	}
	g, err := New(Deps{Config: cfg, Spec: spec, DB: db, Keys: keys, Audit: trail, Credential: cred,
		Upstream: breakers, Breakers: breakers, Mocks: registry, Logger: log, Now: opts.Now,
		Limiter: limiter, Idempotency: idem, Recorder: recorder, Events: events.NewHandler(evStore, log), EventStore: evStore,
		Webhooks: hooks, ContractRuns: opts.ContractRuns})
	if err != nil {
		return nil, err
	}
	s.Gateway, s.Mocks, s.limiter = g, registry, limiter
	if err := s.startEmitters(cfg, log, opts.Now); err != nil {
		return nil, err
	}
	// Intents a previous process left open are settled before serving: a
	// change GHL applied must not stay without its event.
	if rep, err := g.Reconcile(ctx, opts.Now()); err != nil {
		log.Warn("reconciling open intents failed; it is retried in the background", "err", err)
	} else if rep != (events.ReconcileReport{}) {
		log.Info("reconciled open intents", "reconciled", rep.Reconciled, "not_applied", rep.NotApplied, "unknown", rep.Unknown, "failed", rep.Failed)
	}
	subs, err := Subscribers(cfg, opts.Getenv)
	if err != nil {
		return nil, err
	}
	if len(subs) > 0 {
		if s.deliverer, err = events.NewDeliverer(evStore, subs, events.Options{Now: opts.Now, Logger: log}); err != nil {
			return nil, err
		}
	}
	bg, stop := context.WithCancel(context.Background())
	s.stop = stop
	go s.background(bg, cfg, opts.Now)
	return s, nil
}

func OpenMocks(ctx context.Context, cfg *config.Config, db *store.DB, spec *openapi.Spec, log *slog.Logger, newID func() string, onMutation func(mocks.Mutation)) (*mocks.Registry, error) {
	seed, err := mocks.DefaultSeed()
	if cfg.Mock.SeedDir != "" {
		seed, err = mocks.LoadSeedDir(cfg.Mock.SeedDir)
	}
	if err != nil {
		return nil, fmt.Errorf("load seed: %w", err)
	}
	persist, err := newSnapshots(ctx, db)
	if err != nil {
		return nil, err
	}
	static, err := mocks.NewStaticResponder(spec.Doc)
	if err != nil {
		return nil, fmt.Errorf("mock static responses: %w", err)
	}
	faults, err := MockFaults(cfg)
	if err != nil {
		return nil, err
	}
	return mocks.NewRegistry(mocks.RegistryOptions{Seed: seed, Persist: persist, Static: static, Faults: faults,
		Logger: log, NewID: newID, OnMutation: onMutation}), nil
}

// MockFaults turns mock.faults into the mock's fault rules and checks their
// directives, so a typo stops the start (and --check-config) instead of
// being dropped.
func MockFaults(cfg *config.Config) ([]mocks.FaultRule, error) {
	rules := make([]mocks.FaultRule, len(cfg.Mock.Faults))
	for i, f := range cfg.Mock.Faults {
		rules[i] = mocks.FaultRule{Method: f.Method, PathPrefix: f.PathPrefix, Fault: f.Fault, Probability: f.Probability, Every: f.Every}
	}
	if err := mocks.ValidateFaultRules(rules); err != nil {
		return nil, fmt.Errorf("mock.faults: %w", err)
	}
	return rules, nil
}

func networkTransport(cfg *config.Config) http.RoundTripper {
	d := &net.Dialer{Timeout: cfg.Upstream.ConnectTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         d.DialContext,
		ForceAttemptHTTP2:   true,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: upstreamConns,
		// At most as many connections to GHL as are kept idle: a burst of
		// client connections (1,000 in flight) would otherwise open as
		// many to GHL, each with two goroutines and 8 KiB of buffers, and
		// close most of them again afterwards. Requests beyond wait for a
		// connection; GHL's rate limits refuse such bursts long before.
		MaxConnsPerHost:       upstreamConns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   cfg.Upstream.ConnectTimeout,
		ResponseHeaderTimeout: cfg.Upstream.HeaderTimeout,
		ExpectContinueTimeout: time.Second,
	}
}

// background runs the server's periodic chores until Close: key use,
// reconciliation of intents left open by failed exchanges, the webhook
// dedupe pruner and event delivery.
func (s *Server) background(ctx context.Context, cfg *config.Config, now func() time.Time) {
	defer close(s.closed)
	done := make(chan struct{}, 2)
	if s.deliverer != nil {
		go func() { s.deliverer.Run(ctx); done <- struct{}{} }() //nolint:errcheck // Run ends with ctx
	} else {
		done <- struct{}{}
	}
	go func() {
		s.deduper.RunPruner(ctx, cfg.Webhooks.PruneEvery, func(err error) { s.log.Warn("pruning webhook ids failed", "err", err) })
		done <- struct{}{}
	}()
	keys := time.NewTicker(10 * time.Second)
	defer keys.Stop()
	settle := time.NewTicker(cfg.Events.ReconcileEvery)
	defer settle.Stop()
	for {
		select {
		case <-ctx.Done():
			<-done
			<-done
			return
		case <-keys.C:
			if err := s.Keys.FlushLastUsed(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("recording key use failed", "err", err)
			}
		case <-settle.C:
			// An exchange that failed may still have been applied; wait two
			// upstream timeouts so no answer is still on its way.
			if _, err := s.Reconcile(ctx, now().Add(-2*cfg.Upstream.Timeout)); err != nil && ctx.Err() == nil {
				s.log.Warn("reconciling open intents failed", "err", err)
			}
		}
	}
}

// Close stops the background work, flushes the audit trail and closes the
// store.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Server) close() error {
	s.stop()
	<-s.closed
	s.Gateway.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	errs := []error{s.DrainMockWebhooks(ctx)}
	errs = append(errs, s.Keys.FlushLastUsed(ctx), s.Trail.Close(), s.Events.Close(), s.limiter.Close())
	errs = append(errs, s.DB.Close())
	return errors.Join(errs...)
}

func idempotencyStore(cfg *config.Config) (idempotency.Store, error) {
	if cfg.RateLimit.RedisURL == "" {
		return idempotency.NewMemory(), nil
	}
	// Replicas that share a rate-limit budget share their idempotency keys.
	o, err := redis.ParseURL(cfg.RateLimit.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("ratelimit.redis_url: %w", err)
	}
	return idempotency.NewRedis(redis.NewClient(o), "ghlgate:idem:"), nil
}

// Subscribers builds the configured push subscribers, reading their
// secrets from the environment.
func Subscribers(cfg *config.Config, getenv func(string) string) ([]events.Subscriber, error) {
	var out []events.Subscriber
	for _, sub := range cfg.Events.Subscribers {
		raw := getenv(sub.SecretEnv)
		if raw == "" {
			return nil, fmt.Errorf("events subscriber %s: $%s is empty; set it to the subscriber's whsec_ secret", sub.Name, sub.SecretEnv)
		}
		secret := events.Secret(raw)
		if _, err := events.ParseSecret(secret); err != nil {
			return nil, fmt.Errorf("events subscriber %s: $%s: %w", sub.Name, sub.SecretEnv, err)
		}
		out = append(out, events.Subscriber{Name: sub.Name, URL: sub.URL, Secret: secret, Types: sub.Types})
	}
	return out, nil
}
