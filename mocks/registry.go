package mocks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Dataset names: "staging", and "sandbox:<client>" per client.
const (
	StagingDataset       = "staging"
	sandboxDatasetPrefix = "sandbox:"
)

// SandboxDataset is the dataset name of a client's sandbox.
func SandboxDataset(client string) string { return sandboxDatasetPrefix + client }

// RegistryOptions configures every dataset of a Registry.
type RegistryOptions struct {
	// Seed starts every dataset (staging and each sandbox).
	Seed *Seed
	// Persist saves every dataset under its name; nil = memory only.
	Persist Persister
	// Static, Faults, Rand and Logger are passed to each Mock.
	Static StaticResponder
	Faults []FaultRule
	Rand   func() float64
	Logger *slog.Logger
	// NewID makes record ids; default RandomID.
	NewID func() string
	// BaseNow is the real clock each dataset's Clock follows; default
	// time.Now.
	BaseNow func() time.Time
	// OnMutation receives every dataset's mutations (Mutation.Dataset says
	// which).
	OnMutation func(Mutation)
}

// Registry holds the staging dataset and one sandbox dataset per client,
// each a Mock with its own Clock. Mocks are created on first use.
type Registry struct {
	opts RegistryOptions

	mu     sync.Mutex
	mocks  map[string]*Mock
	clocks map[string]*Clock
}

// NewRegistry returns a Registry; no dataset is loaded until first used.
// Invalid fault rules are logged and dropped: call ValidateFaultRules while
// validating the configuration to refuse them at start-up instead.
func NewRegistry(opts RegistryOptions) *Registry {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := ValidateFaultRules(opts.Faults); err != nil {
		opts.Logger.Error("mock fault rules dropped", slog.String("error", err.Error()))
		opts.Faults = nil
	}
	return &Registry{opts: opts, mocks: map[string]*Mock{}, clocks: map[string]*Clock{}}
}

// ValidateFaultRules reports every invalid rule, for config validation.
func ValidateFaultRules(rules []FaultRule) error {
	_, err := compileRules(rules)
	return err
}

// Staging is the staging dataset's mock.
func (r *Registry) Staging() *Mock { return r.get(StagingDataset) }

// Sandbox is the client's own sandbox mock, isolated from every other
// client's, created (from the seed) on first use.
func (r *Registry) Sandbox(client string) *Mock { return r.get(SandboxDataset(client)) }

// Clock is the dataset's clock ("staging" or "sandbox:<client>").
func (r *Registry) Clock(dataset string) *Clock {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.clockLocked(dataset)
}

func (r *Registry) clockLocked(dataset string) *Clock {
	c, ok := r.clocks[dataset]
	if !ok {
		c = NewClock(r.opts.BaseNow)
		r.clocks[dataset] = c
	}
	return c
}

// get returns the dataset's mock, creating it unloaded: it loads on first
// request and retries while its Persister fails, so a database that is down
// at start-up only costs 503s until it is back.
func (r *Registry) get(dataset string) *Mock {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m, ok := r.mocks[dataset]; ok {
		return m
	}
	m, err := newMock(Options{
		Now: r.clockLocked(dataset).Now, NewID: r.opts.NewID, Seed: r.opts.Seed,
		Persist: r.opts.Persist, Dataset: dataset, Static: r.opts.Static,
		Faults: r.opts.Faults, Rand: r.opts.Rand, Logger: r.opts.Logger,
		OnMutation: r.opts.OnMutation,
	})
	if err != nil {
		// NewRegistry dropped invalid rules, so nothing else can fail.
		panic(fmt.Sprintf("mocks: registry dataset %s: %v", dataset, err))
	}
	r.mocks[dataset] = m
	return m
}

// ResetStaging puts staging back to its seed.
func (r *Registry) ResetStaging(ctx context.Context) error { return r.Staging().Reset(ctx) }

// ResetSandbox puts the client's sandbox back to its seed.
func (r *Registry) ResetSandbox(ctx context.Context, client string) error {
	return r.Sandbox(client).Reset(ctx)
}

// AdminHandler serves the mock's control API, to be mounted under
// /_gateway/mock/ (with or without http.StripPrefix):
//
//	GET  {dataset}/clock                   → {dataset, now, offset}
//	POST {dataset}/clock                   {"set": RFC3339} | {"advance": "1h"} | {"follow": true}
//	POST {dataset}/reset                   → {dataset, reset: true}
//	POST {dataset}/locations/{locationId}  {"allowDuplicateContacts": bool}
//
// where {dataset} is "staging" or "sandbox/{client}". Errors are
// application/problem+json.
func (r *Registry) AdminHandler() http.Handler {
	return http.HandlerFunc(r.serveAdmin)
}

func (r *Registry) serveAdmin(w http.ResponseWriter, req *http.Request) {
	p := strings.TrimPrefix(req.URL.Path, "/_gateway/mock")
	seg := strings.Split(strings.Trim(p, "/"), "/")
	var dataset string
	switch {
	case len(seg) >= 2 && seg[0] == "staging":
		dataset, seg = StagingDataset, seg[1:]
	case len(seg) >= 3 && seg[0] == "sandbox" && seg[1] != "":
		dataset, seg = SandboxDataset(seg[1]), seg[2:]
	default:
		adminProblem(w, http.StatusNotFound, "no such admin path", "want staging/... or sandbox/{client}/...")
		return
	}
	switch {
	case len(seg) == 1 && seg[0] == "clock" && req.Method == http.MethodGet:
		r.writeClock(w, dataset)
	case len(seg) == 1 && seg[0] == "clock" && req.Method == http.MethodPost:
		r.setClock(w, req, dataset)
	case len(seg) == 1 && seg[0] == "reset" && req.Method == http.MethodPost:
		if err := r.get(dataset).Reset(req.Context()); err != nil {
			r.opts.Logger.Error("mock reset failed", slog.String("dataset", dataset), slog.String("error", err.Error()))
			adminProblem(w, http.StatusServiceUnavailable, "reset failed", err.Error())
			return
		}
		adminJSON(w, map[string]any{"dataset": dataset, "reset": true})
	case len(seg) == 2 && seg[0] == "locations" && seg[1] != "" && req.Method == http.MethodPost:
		var body struct {
			AllowDuplicateContacts *bool `json:"allowDuplicateContacts"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, req.Body, 4096)).Decode(&body); err != nil || body.AllowDuplicateContacts == nil {
			adminProblem(w, http.StatusBadRequest, "invalid location settings", `want {"allowDuplicateContacts": true|false}`)
			return
		}
		if err := r.get(dataset).SetAllowDuplicates(req.Context(), seg[1], *body.AllowDuplicateContacts); err != nil {
			adminProblem(w, http.StatusServiceUnavailable, "saving location settings failed", err.Error())
			return
		}
		adminJSON(w, map[string]any{"dataset": dataset, "locationId": seg[1], "allowDuplicateContacts": *body.AllowDuplicateContacts})
	default:
		adminProblem(w, http.StatusNotFound, "no such admin operation", req.Method+" "+req.URL.Path)
	}
}

func (r *Registry) writeClock(w http.ResponseWriter, dataset string) {
	c := r.Clock(dataset)
	adminJSON(w, map[string]any{
		"dataset": dataset, "now": c.Now().UTC().Format(time.RFC3339Nano), "offset": c.Offset().String(),
	})
}

var errClockBody = errors.New(`want exactly one of {"set": RFC3339}, {"advance": "1h"}, {"follow": true}`)

func (r *Registry) setClock(w http.ResponseWriter, req *http.Request, dataset string) {
	var body struct {
		Set     *string `json:"set"`
		Advance *string `json:"advance"`
		Follow  bool    `json:"follow"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, req.Body, 4096)).Decode(&body); err != nil {
		adminProblem(w, http.StatusBadRequest, "invalid clock body", fmt.Errorf("%w: %w", errClockBody, err).Error())
		return
	}
	n := 0
	for _, set := range []bool{body.Set != nil, body.Advance != nil, body.Follow} {
		if set {
			n++
		}
	}
	if n != 1 {
		adminProblem(w, http.StatusBadRequest, "invalid clock body", errClockBody.Error())
		return
	}
	c := r.Clock(dataset)
	switch {
	case body.Set != nil:
		t, err := time.Parse(time.RFC3339Nano, *body.Set)
		if err != nil {
			adminProblem(w, http.StatusBadRequest, "invalid clock body", "set: "+err.Error())
			return
		}
		c.Set(t)
	case body.Advance != nil:
		d, err := time.ParseDuration(*body.Advance)
		if err != nil {
			adminProblem(w, http.StatusBadRequest, "invalid clock body", "advance: "+err.Error())
			return
		}
		c.Advance(d)
	default:
		c.Follow()
	}
	r.writeClock(w, dataset)
}

func adminJSON(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	writeJSON(w, http.StatusOK, b)
}

func adminProblem(w http.ResponseWriter, status int, title, detail string) {
	b, _ := json.Marshal(map[string]any{
		"type": "about:blank", "title": title, "status": status, "detail": detail,
	})
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
