// Package gateway is ghlgate's request pipeline: it authenticates Rankr's
// clients, matches each request to an operation of the GHL spec, enforces
// scopes, locations and stages, validates, forwards to production GHL or to
// the staging and sandbox mock, inspects the answer, and records every
// decision. chain.go holds the order of the stages; the concern packages
// below this one hold the logic of each. gin stops here.
package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rankr/ghlgate/events"
	"github.com/rankr/ghlgate/gateway/audit"
	"github.com/rankr/ghlgate/gateway/auth"
	"github.com/rankr/ghlgate/gateway/config"
	"github.com/rankr/ghlgate/gateway/credential"
	"github.com/rankr/ghlgate/gateway/idempotency"
	"github.com/rankr/ghlgate/gateway/locations"
	"github.com/rankr/ghlgate/gateway/problem"
	"github.com/rankr/ghlgate/gateway/proxy"
	"github.com/rankr/ghlgate/gateway/ratelimit"
	"github.com/rankr/ghlgate/gateway/resilience"
	"github.com/rankr/ghlgate/gateway/validate"
	"github.com/rankr/ghlgate/gateway/workers"
	"github.com/rankr/ghlgate/mocks"
	"github.com/rankr/ghlgate/openapi"
	"github.com/rankr/ghlgate/store"
)

// Deps are what the gateway is built from. Open builds them from a Config;
// tests build them directly.
type Deps struct {
	Config     *config.Config
	Spec       *openapi.Spec
	DB         *store.DB
	Keys       *auth.Store
	Audit      *audit.Trail
	Credential credential.Source
	// Upstream carries production requests (network, with timeouts and
	// retries); the credential transport is added on top of it.
	Upstream http.RoundTripper
	// Mocks serves /staging and /sandbox; nil answers them 503.
	Mocks *mocks.Registry
	// Limiter enforces the rate limits; nil enforces none.
	Limiter *ratelimit.Limiter
	// Breakers reports the production circuit breakers for /healthz.
	Breakers *resilience.Transport
	// Idempotency replays POSTs with an Idempotency-Key; nil forwards them.
	Idempotency *idempotency.Service
	// Recorder captures mutations as sync events; nil captures none.
	Recorder *events.Recorder
	// Events serves the pull API; nil leaves it unmounted.
	Events *events.Handler
	// EventStore feeds the dashboard's latest events; nil shows none.
	EventStore events.Store
	// Webhooks receives GHL's webhooks at POST /webhooks/ghl; nil leaves it
	// unmounted.
	Webhooks http.Handler
	// ContractRuns lists the contract-suite runs at
	// GET /_gateway/contract-runs; nil leaves it unmounted.
	ContractRuns http.Handler
	Logger       *slog.Logger
	Now          func() time.Time
}

// Gateway is the assembled pipeline.
type Gateway struct {
	cfg       *config.Config
	spec      *openapi.Spec
	db        *store.DB
	keys      *auth.Store
	trail     *audit.Trail
	cred      credential.Source
	mocks     *mocks.Registry
	log       *slog.Logger
	now       func() time.Time
	validator *validate.Validator
	locCache  *locations.Cache

	production *proxy.Proxy
	mockProxy  *proxy.Proxy
	// prodLookup carries the requests the gateway builds itself to
	// production (location look-ups, read-backs); each is made for one call,
	// as the credential transport in it expects.
	prodLookup http.RoundTripper

	upstream   http.RoundTripper
	limiter    *ratelimit.Limiter
	breakers   *resilience.Transport
	idem       *idempotency.Service
	recorder   *events.Recorder
	events     *events.Handler
	eventStore events.Store
	webhooks   http.Handler

	metrics     *metrics
	inflight    sync.WaitGroup
	ready       atomic.Bool
	readyReason atomic.Value // string: why not ready
	runs        http.Handler
	engine      *gin.Engine
	handler     http.Handler
	// workers run the pipeline off the connections' goroutines (see
	// package workers); api is the pipeline as their handler.
	workers *workers.Pool
	// conns counts the open client connections, when the server reports
	// them (connsTracked; see TrackConn).
	conns        atomic.Int64
	connsTracked atomic.Bool
	api          http.Handler
	// required holds each operation's flattened scopes for the audit
	// record, computed once (read-only after New).
	required map[*openapi.Operation][]string
}

// New assembles a Gateway from its dependencies.
func New(d Deps) (*Gateway, error) {
	if d.Config == nil || d.Spec == nil || d.Keys == nil || d.Audit == nil {
		return nil, errors.New("gateway: Config, Spec, Keys and Audit are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Credential == nil {
		d.Credential = credential.None{}
	}
	if d.Upstream == nil {
		d.Upstream = http.DefaultTransport
	}
	base, err := url.Parse(d.Config.Upstream.BaseURL)
	if err != nil {
		return nil, err
	}
	g := &Gateway{
		cfg: d.Config, spec: d.Spec, db: d.DB, keys: d.Keys, trail: d.Audit, cred: d.Credential,
		mocks: d.Mocks, log: d.Logger, now: d.Now, validator: validate.New(),
		locCache: locations.NewCache(10*time.Minute, 100_000), metrics: newMetrics(),
		upstream: d.Upstream, limiter: d.Limiter, breakers: d.Breakers, idem: d.Idempotency, recorder: d.Recorder,
		events: d.Events, eventStore: d.EventStore, webhooks: d.Webhooks, runs: d.ContractRuns,
	}
	prodTransport := proxy.WithTimeout(credential.NewProxyTransport(d.Upstream, d.Credential, d.Config.Upstream.Version), d.Config.Upstream.Timeout)
	g.prodLookup = prodTransport
	g.production = proxy.New(proxy.Options{
		Target: base, Transport: prodTransport, Inspect: g.inspect, OnError: g.proxyError,
		Recycle: recycleBody,
		// Gateway-only headers never reach GHL.
		DropHeaders: []string{"X-Mock-Fault", "X-Test-Flag", "Prefer", "Idempotency-Key", "X-Ghlgate-Lane"},
	})
	if d.Mocks != nil {
		g.mockProxy = proxy.New(proxy.Options{
			Target:    &url.URL{Scheme: "http", Host: "ghl-mock.internal"},
			Transport: proxy.HandlerTransport{Handler: http.HandlerFunc(g.serveMock)},
			Inspect:   g.inspect, OnError: g.proxyError, Recycle: recycleBody,
			DropHeaders: []string{"Prefer", "Idempotency-Key", "X-Ghlgate-Lane"},
		})
	}
	g.required = make(map[*openapi.Operation][]string, len(d.Spec.Operations))
	for _, op := range d.Spec.Operations {
		g.required[op] = flattenScopes(op.Scopes)
	}
	g.engine = g.routes()
	g.workers = workers.New(maxWorkers, workerIdle, workerWait)
	g.api = http.HandlerFunc(g.serveDirectAPI)
	g.handler = http.HandlerFunc(g.serveHTTP)
	g.ready.Store(true)
	return g, nil
}

// Handler is the gateway's HTTP handler.
func (g *Gateway) Handler() http.Handler { return g.handler }

// routes builds the gin engine: a few fixed endpoints, and every other path
// through the pipeline.
func (g *Gateway) routes() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	// The spec decides what a path means: gin must not redirect, clean or
	// answer 405 on its own.
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.HandleMethodNotAllowed = false
	e.UseRawPath = true
	e.UnescapePathValues = false
	e.Use(g.requestID, g.recoverPanic)
	e.GET("/healthz", g.healthz)
	// Browsers ask for it when they open the dashboard; it is no API call.
	e.GET("/favicon.ico", func(c *gin.Context) { c.Status(http.StatusNoContent) })
	e.GET("/readyz", g.readyz)
	e.GET("/_gateway/metrics", g.serveMetrics)
	e.Any("/_gateway/mock/*rest", g.adminOnly(g.serveMockAdmin))
	e.POST("/_gateway/staging/clone", g.adminOnly(g.serveClone))
	e.GET("/_gateway/limits/:location", g.serveForecast())
	if g.runs != nil {
		e.GET("/_gateway/contract-runs", g.adminOnly(gin.WrapH(g.runs)))
	}
	// The page holds no data; the data needs gateway.admin.
	e.GET("/_gateway/dashboard", g.serveDashboard)
	e.GET("/_gateway/dashboard/data", g.adminOnly(g.serveDashboardData))
	e.GET("/_gateway/test-contacts/:dataset", g.serveTestContacts())
	if g.events != nil {
		// The event feed has its own scope: holding contacts.readonly does
		// not let a client read every change of every location.
		e.GET("/_gateway/events", g.requireScope(EventsScope, gin.WrapH(g.events)))
		e.GET("/_gateway/events/stream", g.requireScope(EventsScope, gin.WrapH(g.events)))
	}
	if g.webhooks != nil {
		// GHL's webhooks authenticate by signature, not by client key.
		e.POST("/webhooks/ghl", gin.WrapH(g.webhooks))
	}
	e.NoRoute(func(c *gin.Context) { g.serveAPI(c.Writer, c.Request, c.GetString(ctxRequestID)) })
	return e
}

const ctxRequestID = "request_id"

// requestID takes a sane X-Request-Id from the client or makes one, and
// echoes it on the answer.
func (g *Gateway) requestID(c *gin.Context) {
	id := c.GetHeader("X-Request-Id")
	if !saneID(id) {
		id = newID()
	}
	c.Set(ctxRequestID, id)
	c.Writer.Header().Set("X-Request-Id", id)
	c.Next()
}

func saneID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

func newID() string {
	var b [12]byte
	rand.Read(b[:]) //nolint:errcheck // never fails
	var h [24]byte  // on the stack: one allocation, the string
	hex.Encode(h[:], b[:])
	return string(h[:])
}

// recoverPanic turns a panic into a 500 problem and a log line with the
// stack, and keeps the process serving. http.ErrAbortHandler passes through:
// it is how a handler drops a connection on purpose.
func (g *Gateway) recoverPanic(c *gin.Context) {
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		if p == http.ErrAbortHandler {
			panic(p)
		}
		id := c.GetString(ctxRequestID)
		g.log.Error("panic serving request", "request_id", id, "panic", p)
		if !c.Writer.Written() {
			problem.Write(c.Writer, problem.New(http.StatusInternalServerError, problem.ReasonInternal,
				"an internal error occurred; the request id identifies it in the gateway's log"), c.Request.URL.Path, id)
		}
		c.Abort()
	}()
	c.Next()
}

// respond renders err as the answer of x: the one place that maps errors to
// statuses.
func (g *Gateway) respond(x *exchange, err error) {
	var la *errLookupAnswered
	if errors.As(err, &la) {
		// The location look-up was refused by the stage itself (an unknown
		// contact): the client gets that answer, as the operation would have.
		x.decision, x.reason, x.status, x.upstreamStatus = audit.Deny, "location_unverified", la.status, la.status
		x.detail = "the contact's location could not be looked up"
		for k, v := range la.header {
			x.w.Header()[k] = v
		}
		x.w.WriteHeader(la.status)
		x.w.Write(la.body) //nolint:errcheck
		return
	}
	p := g.classify(err)
	x.decision = audit.Deny
	if x.upstreamCalled && p.Status >= 500 {
		// The access decision was to allow; the exchange failed afterwards.
		x.decision = audit.Allow
	}
	x.reason = p.Reason
	x.status = p.Status
	if x.limit != nil {
		x.limit.Headers(x.w.Header())
	}
	if x.detail == "" {
		x.detail = p.Detail
	}
	if p.Status == http.StatusUnauthorized && p.Header.Get("WWW-Authenticate") == "" {
		p.WithHeader("WWW-Authenticate", `Bearer realm="ghlgate", error="invalid_token"`)
	}
	problem.Write(x.w, p, x.r.URL.Path, x.id)
}

func (g *Gateway) classify(err error) *problem.Error {
	var pe *problem.Error
	if errors.As(err, &pe) {
		return pe
	}
	var ve *validate.Error
	if errors.As(err, &ve) {
		return validationProblem(ve)
	}
	switch {
	case errors.Is(err, credential.ErrNotConfigured):
		return problem.Wrap(http.StatusServiceUnavailable, problem.ReasonNoUpstreamCred,
			"upstream credential not configured: set "+g.cfg.Upstream.Credential.TokenEnv+" to a GHL Private Integration Token, or configure upstream.oauth; /staging and /sandbox work without one", err)
	case errors.Is(err, resilience.ErrCircuitOpen):
		return problem.Wrap(http.StatusServiceUnavailable, problem.ReasonCircuitOpen,
			"GHL has failed repeatedly, so the gateway is not calling it for a while (circuit open); retry later", err)
	case errors.Is(err, proxy.ErrResponseTooLarge):
		return problem.Wrap(http.StatusBadGateway, problem.ReasonUpstreamError, "GHL's answer was larger than the gateway buffers", err)
	case errors.Is(err, proxy.ErrUpstreamAborted):
		return problem.Wrap(http.StatusBadGateway, problem.ReasonUpstreamError, "the upstream closed the connection without an answer; retry later", err)
	}
	var re *credential.RefreshError
	if errors.As(err, &re) || errors.Is(err, credential.ErrRefreshRejected) || errors.Is(err, credential.ErrTokenEndpoint) ||
		errors.Is(err, credential.ErrPersist) || errors.Is(err, credential.ErrStore) || errors.Is(err, credential.ErrNoRefreshToken) {
		return problem.Wrap(http.StatusServiceUnavailable, problem.ReasonUpstreamCredFailed,
			"ghlgate could not obtain its GHL credential; an operator must check the gateway's log (it says what to fix)", err)
	}
	var la *errLookupAnswered
	if errors.As(err, &la) {
		return nil
	}
	return problem.From(err)
}

func validationProblem(ve *validate.Error) *problem.Error {
	var p *problem.Error
	switch ve.Kind {
	case validate.Schema:
		p = problem.New(http.StatusUnprocessableEntity, problem.ReasonSchemaViolation, "the request body breaks the operation's schema; see errors for each field")
	case validate.MediaType:
		p = problem.New(http.StatusUnsupportedMediaType, problem.ReasonInvalidRequest, "the request body's content type is not accepted; send Content-Type: application/json")
	default:
		p = problem.New(http.StatusBadRequest, problem.ReasonInvalidRequest, "the request is malformed; see errors for each parameter")
	}
	for _, f := range ve.Fields {
		p.Fields = append(p.Fields, problem.FieldError{Pointer: f.Pointer, Reason: f.Reason})
	}
	p.Err = ve
	return p
}

// finish writes the audit record and the access log line of x.
func (g *Gateway) finish(x *exchange) {
	if x.status == 0 {
		x.status = http.StatusOK
		if ww, ok := x.w.(interface{ Status() int }); ok {
			x.status = ww.Status()
		}
	}
	if x.decision == "" {
		x.decision, x.reason = audit.Allow, problem.ReasonAllowed
	}
	end := g.now()
	elapsed := end.Sub(x.start)
	var required, held []string
	if x.op != nil {
		var ok bool
		if required, ok = g.required[x.op]; !ok {
			required = flattenScopes(x.op.Scopes)
		}
	}
	if x.key != nil {
		held = x.scopesHeld
	}
	g.trail.Record(audit.Record{
		Time: x.start, RequestID: x.id, Client: x.client(), Stage: x.stage, OperationID: x.operationID(),
		Method: x.r.Method, Route: x.route(), Path: x.r.URL.Path, ScopesRequired: required, ScopesHeld: held,
		Location: x.location, Decision: x.decision, Reason: x.reason, Detail: x.detail, Status: x.status,
		UpstreamStatus: x.upstreamStatus, LatencyMS: float64(elapsed.Microseconds()) / 1000, RemoteAddr: x.r.RemoteAddr,
	})
	g.metrics.observe(x.decision, x.reason, x.stage)
	g.accessLog(x, end, elapsed)
}

// accessLog writes the request's access line. It builds the record itself
// rather than through Logger.LogAttrs, which walks the stack for the
// caller's source position on every call: a position the access line never
// prints, and the most expensive part of logging it.
func (g *Gateway) accessLog(x *exchange, end time.Time, elapsed time.Duration) {
	ctx := context.Background()
	h := g.log.Handler()
	if !h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	rec := slog.NewRecord(end, slog.LevelInfo, "access", 0)
	rec.AddAttrs(
		slog.String("request_id", x.id), slog.String("method", x.r.Method), slog.String("route", x.route()),
		slog.String("operation_id", x.operationID()), slog.String("stage", x.stage), slog.Int("status", x.status),
		slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000), slog.String("client", x.client()),
		slog.String("decision", x.decision), slog.String("reason", x.reason))
	h.Handle(ctx, rec) //nolint:errcheck // as Logger.Log: a failed log line has nowhere to be reported
}

func flattenScopes(req [][]string) []string {
	var out []string
	for _, alt := range req {
		for _, s := range alt {
			dup := false
			for _, o := range out {
				dup = dup || o == s
			}
			if !dup {
				out = append(out, s)
			}
		}
	}
	return out
}

// healthz says the process is alive, and how its dependencies fare: the
// rate-limit store and the production circuit breakers. A degraded
// dependency does not make the process unhealthy; it is reported.
func (g *Gateway) healthz(c *gin.Context) {
	body := gin.H{"status": "ok"}
	if g.limiter != nil {
		h := g.limiter.Health(c.Request.Context())
		body["ratelimit"] = h
		if h.Status != "ok" {
			body["status"] = "degraded"
		}
	}
	if g.breakers != nil {
		states := g.breakers.BreakerStates()
		body["circuit_breakers"] = states
		for _, st := range states {
			if st != "closed" {
				body["status"] = "degraded"
			}
		}
	}
	c.JSON(http.StatusOK, body)
}

func (g *Gateway) readyz(c *gin.Context) {
	body := gin.H{
		"spec":                  g.spec.Source,
		"operations":            len(g.spec.Operations),
		"spec_warnings":         len(g.spec.Warnings),
		"store":                 "ok",
		"upstream_credential":   g.cred.Kind(),
		"credential_configured": g.cred.Configured(),
		"staging":               g.mocks != nil && g.cfg.StagingEnabled(),
		"sandbox":               g.mocks != nil && g.cfg.SandboxEnabled(),
	}
	status := http.StatusOK
	if g.db != nil {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
		defer cancel()
		if err := g.db.PingContext(ctx); err != nil {
			body["store"] = "unavailable: " + err.Error()
			status = http.StatusServiceUnavailable
		}
	}
	if !g.ready.Load() {
		status = http.StatusServiceUnavailable
		body["reason"], _ = g.readyReason.Load().(string)
	}
	body["ready"] = status == http.StatusOK
	c.JSON(status, body)
}

func stripStage(path string) (stage, rest string) {
	for _, st := range []string{config.StageStaging, config.StageSandbox} {
		prefix := "/" + st
		if path == prefix {
			return st, "/"
		}
		if strings.HasPrefix(path, prefix+"/") {
			return st, path[len(prefix):]
		}
	}
	return config.StageProduction, path
}

// Credential is the gateway's own GHL credential source.
func (g *Gateway) Credential() credential.Source { return g.cred }

// Close stops the gateway's idle workers; requests in flight finish first.
// The Gateway must not serve after Close.
func (g *Gateway) Close() { g.workers.Close() }

// WaitIdle returns once every API request under way has been recorded
// (its audit record queued): the answer reaches the client before that.
func (g *Gateway) WaitIdle() { g.inflight.Wait() }

// SetReady marks the gateway ready or not for /readyz; reason says why not
// (it is shown in the body of the 503).
func (g *Gateway) SetReady(ready bool, reason string) {
	g.readyReason.Store(reason)
	g.ready.Store(ready)
}
