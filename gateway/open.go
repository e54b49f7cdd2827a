package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/rankr/ghlgate/gateway/audit"
	"github.com/rankr/ghlgate/gateway/auth"
	"github.com/rankr/ghlgate/gateway/config"
	"github.com/rankr/ghlgate/gateway/credential"
	"github.com/rankr/ghlgate/mocks"
	"github.com/rankr/ghlgate/openapi"
	"github.com/rankr/ghlgate/store"
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
}

// Server is a Gateway with the resources it owns.
type Server struct {
	*Gateway
	DB    *store.DB
	Keys  *auth.Store
	Trail *audit.Trail
	Spec  *openapi.Spec
	Mocks *mocks.Registry

	stop   context.CancelFunc
	closed chan struct{}
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
	var registry *mocks.Registry
	if cfg.StagingEnabled() || cfg.SandboxEnabled() {
		registry, err = OpenMocks(ctx, cfg, db, spec, log, opts.MockIDs)
		if err != nil {
			return nil, err
		}
	}
	upstream := opts.Upstream
	if upstream == nil {
		upstream = networkTransport(cfg)
	}
	g, err := New(Deps{Config: cfg, Spec: spec, DB: db, Keys: keys, Audit: trail, Credential: cred,
		Upstream: upstream, Mocks: registry, Logger: log, Now: opts.Now})
	if err != nil {
		return nil, err
	}
	bg, stop := context.WithCancel(context.Background())
	s := &Server{Gateway: g, DB: db, Keys: keys, Trail: trail, Spec: spec, Mocks: registry, stop: stop, closed: make(chan struct{})}
	go s.background(bg)
	return s, nil
}

// OpenMocks builds the staging and sandbox mock over the store, seeded from
// the configured seed (or the embedded one). newID may be nil.
func OpenMocks(ctx context.Context, cfg *config.Config, db *store.DB, spec *openapi.Spec, log *slog.Logger, newID func() string) (*mocks.Registry, error) {
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
	return mocks.NewRegistry(mocks.RegistryOptions{Seed: seed, Persist: persist, Static: static, Logger: log, NewID: newID}), nil
}

func networkTransport(cfg *config.Config) http.RoundTripper {
	d := &net.Dialer{Timeout: cfg.Upstream.ConnectTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   128,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   cfg.Upstream.ConnectTimeout,
		ResponseHeaderTimeout: cfg.Upstream.HeaderTimeout,
		ExpectContinueTimeout: time.Second,
	}
}

// background runs the server's periodic chores until Close.
func (s *Server) background(ctx context.Context) {
	defer close(s.closed)
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Keys.FlushLastUsed(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("recording key use failed", "err", err)
			}
		}
	}
}

// Close flushes the audit trail and closes the store.
func (s *Server) Close() error {
	s.stop()
	<-s.closed
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := errors.Join(s.Keys.FlushLastUsed(ctx), s.Trail.Close())
	return errors.Join(err, s.DB.Close())
}
