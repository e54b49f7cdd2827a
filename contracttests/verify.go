package contracttests

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

	"github.com/rankr/ghlgate/fixtures/scenarios"
	"github.com/rankr/ghlgate/openapi"
)

// ErrVerifyFailed is a verification run in which a scenario failed.
var ErrVerifyFailed = errors.New("contract suite failed")

// VerifyOptions adjust VerifyOnStart. The zero value runs the embedded
// library on per-scenario sandboxes.
type VerifyOptions struct {
	// Scenarios to run; nil loads the library embedded from
	// fixtures/scenarios.
	Scenarios []*Scenario
	// Spec responses are checked against; nil uses openapi.Default().
	Spec *openapi.Spec
	// Stage is where scenarios run: "sandbox" (default: each scenario in a
	// sandbox of its own, leaving shared data alone) or "staging".
	Stage string
	// Parallel scenarios. Default 4.
	Parallel int
	// SkipTags default to the rate-limit scenario, whose burst would spend
	// a budget while the gateway is starting.
	SkipTags map[string]string
	// Client sends the requests; nil uses a client without redirects.
	Client *http.Client
	// Runs, when set, gets the result (served at /_gateway/contract-runs).
	Runs *Runs
	// Logger. Default discards.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// VerifyOnStart runs the contract suite against the gateway at baseURL
// (its root, such as http://127.0.0.1:8080) before it takes traffic: keys
// for the run are made with keys (the gateway's own key store) and revoked
// at the end. It returns the report, and an error wrapping ErrVerifyFailed
// when a scenario failed, or the reason the run could not start (then the
// report is nil). Either way the result is added to opts.Runs.
func VerifyOnStart(ctx context.Context, baseURL string, keys KeyMaker, opts VerifyOptions) (*Report, error) {
	rep, err := verify(ctx, baseURL, keys, opts)
	if opts.Runs != nil {
		opts.Runs.Add("verify-on-start", rep, err)
	}
	return rep, err
}

func verify(ctx context.Context, baseURL string, keys KeyMaker, opts VerifyOptions) (*Report, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Stage == "" {
		opts.Stage = "sandbox"
	}
	if opts.Stage != "sandbox" && opts.Stage != "staging" {
		return nil, &UsageError{Problems: []string{fmt.Sprintf("verify stage %q: want sandbox or staging", opts.Stage)}}
	}
	if opts.Parallel == 0 {
		opts.Parallel = 4
	}
	if opts.SkipTags == nil {
		opts.SkipTags = map[string]string{"rate-limit": "spends a rate-limit budget on purpose; run it with ghlgate contract run"}
	}
	if opts.Scenarios == nil {
		scs, err := LoadScenarios(scenarios.FS)
		if err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
		opts.Scenarios = scs
	}
	root := strings.TrimSuffix(baseURL, "/")
	sk, err := MakeSuiteKeys(ctx, keys, "verify-")
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := sk.Revoke(rctx); err != nil {
			opts.Logger.Warn("contract suite keys not revoked; they expire by themselves", "err", err)
		}
	}()
	ro := Options{
		Target: root + "/staging", Key: sk.Writer, Vars: sk.Vars, Scenarios: opts.Scenarios, Spec: opts.Spec,
		Parallel: opts.Parallel, SkipTags: opts.SkipTags, Client: opts.Client, Now: opts.Now, Logger: opts.Logger,
	}
	if opts.Stage == "sandbox" {
		prov := &KeyProvisioner{Keys: keys, BaseURL: root + "/sandbox", Prefix: "verify-scenario-", Logger: opts.Logger}
		defer func() {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = prov.Close(rctx) // logged by Close; the keys expire anyway
		}()
		ro.Isolate = prov
	}
	rep, err := Run(ctx, ro)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if rep.Failed() {
		return rep, fmt.Errorf("verify: %d of %d scenarios: %w", rep.Totals.Failed, rep.Totals.Scenarios, ErrVerifyFailed)
	}
	return rep, nil
}

// RunRecord is one suite run as GET /_gateway/contract-runs lists it: the
// totals and each failed scenario's first failure, never keys or bodies.
type RunRecord struct {
	ID       string       `json:"id"`
	Trigger  string       `json:"trigger"`
	Outcome  string       `json:"outcome"` // passed, failed or error
	Target   string       `json:"target,omitempty"`
	Started  time.Time    `json:"started,omitzero"`
	Duration float64      `json:"duration_ms"`
	Totals   Totals       `json:"totals"`
	Failures []RunFailure `json:"failures,omitempty"`
	Error    string       `json:"error,omitempty"`
}

// RunFailure is a failed scenario in a RunRecord.
type RunFailure struct {
	Scenario string `json:"scenario"`
	File     string `json:"file"`
	Message  string `json:"message"`
}

// Outcomes of a RunRecord.
const (
	RunPassed = "passed"
	RunFailed = "failed"
	RunError  = "error"
)

// Runs keeps the latest suite runs in memory, newest first, and serves
// them as JSON. Safe for concurrent use.
type Runs struct {
	mu   sync.Mutex
	max  int
	seq  int
	list []RunRecord
}

// NewRuns keeps at most max runs (0 = 20).
func NewRuns(max int) *Runs {
	if max <= 0 {
		max = 20
	}
	return &Runs{max: max}
}

// Add records a run: its report, or the error that kept it from running
// (a report with err wrapping ErrVerifyFailed counts as failed).
func (r *Runs) Add(trigger string, rep *Report, err error) RunRecord {
	rec := RunRecord{Trigger: trigger, Outcome: RunPassed}
	switch {
	case rep == nil:
		rec.Outcome = RunError
		if err != nil {
			rec.Error = err.Error()
		}
	case rep.Failed():
		rec.Outcome = RunFailed
	}
	if rep != nil {
		rec.Target, rec.Started, rec.Totals = rep.Target, rep.Started, rep.Totals
		rec.Duration = float64(rep.Totals.Duration.Microseconds()) / 1000
		for i := range rep.Scenarios {
			s := &rep.Scenarios[i]
			if s.Outcome == Failed {
				msg, _ := failureText(s)
				rec.Failures = append(rec.Failures, RunFailure{Scenario: s.Name, File: s.File, Message: msg})
			}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	rec.ID = fmt.Sprint(r.seq)
	r.list = append([]RunRecord{rec}, r.list...)
	if len(r.list) > r.max {
		r.list = r.list[:r.max]
	}
	return rec
}

// List returns the runs kept, newest first.
func (r *Runs) List() []RunRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]RunRecord(nil), r.list...)
}

// ServeHTTP answers GET with {"runs": [...]}, newest first.
func (r *Runs) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	runs := r.List()
	if runs == nil {
		runs = []RunRecord{}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"runs": runs})
}
