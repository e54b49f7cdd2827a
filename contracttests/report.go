package contracttests

import (
	"time"
)

// Outcome is a scenario's or a step's result.
type Outcome string

const (
	Passed  Outcome = "passed"
	Failed  Outcome = "failed"
	Skipped Outcome = "skipped"
)

// Failure kinds.
const (
	KindStatus    = "status"
	KindHeader    = "header"
	KindBody      = "body"
	KindSchema    = "schema" // the response breaks the OpenAPI description
	KindCapture   = "capture"
	KindTransport = "transport"
	KindDuration  = "duration"
	KindRepeat    = "repeat"
	KindSetup     = "setup" // the scenario could not start (test contacts, isolation)
	KindVariable  = "variable"
)

// Failure is one unmet expectation: where, what was wanted, what came.
type Failure struct {
	Kind     string `json:"kind"`
	Path     string `json:"path,omitempty"` // JSONPath, header name, or "status"
	Expected string `json:"expected"`
	Actual   string `json:"actual"`
}

// StepResult is one executed (or skipped) step. A repeated step has one
// result per round.
type StepResult struct {
	Name      string        `json:"name"`
	Phase     string        `json:"phase"` // setup, steps, teardown
	Line      int           `json:"line,omitempty"`
	Round     int           `json:"round,omitempty"` // 1-based round of a repeated step
	Operation string        `json:"operation,omitempty"`
	Method    string        `json:"method"`
	Path      string        `json:"path"` // as sent, with query
	Status    int           `json:"status,omitempty"`
	Outcome   Outcome       `json:"outcome"`
	Failures  []Failure     `json:"failures,omitempty"`
	Warnings  []Failure     `json:"warnings,omitempty"` // spec problems under SpecWarn
	Curl      string        `json:"curl,omitempty"`
	Duration  time.Duration `json:"duration_ns"`
	// Response is the response body, capped, kept for failed steps only.
	Response string `json:"response,omitempty"`
}

// ScenarioResult is one scenario's run.
type ScenarioResult struct {
	Name        string        `json:"name"`
	File        string        `json:"file"`
	Description string        `json:"description,omitempty"`
	Tags        []string      `json:"tags,omitempty"`
	Outcome     Outcome       `json:"outcome"`
	SkipReason  string        `json:"skip_reason,omitempty"`
	Steps       []StepResult  `json:"steps"`
	Duration    time.Duration `json:"duration_ns"`
	// Error is why the scenario could not run at all (KindSetup).
	Error string `json:"error,omitempty"`
}

// FirstFailure returns the first failed step, or nil.
func (s *ScenarioResult) FirstFailure() *StepResult {
	for i := range s.Steps {
		if s.Steps[i].Outcome == Failed {
			return &s.Steps[i]
		}
	}
	return nil
}

// Totals counts a run.
type Totals struct {
	Scenarios      int           `json:"scenarios"`
	Passed         int           `json:"passed"`
	Failed         int           `json:"failed"`
	Skipped        int           `json:"skipped"`
	Steps          int           `json:"steps"`
	StepsPassed    int           `json:"steps_passed"`
	StepsFailed    int           `json:"steps_failed"`
	StepsSkipped   int           `json:"steps_skipped"`
	Duration       time.Duration `json:"duration_ns"`
	StepsPerSecond float64       `json:"steps_per_second"`
}

// CoverageCell counts the responses of one operation with one status.
type CoverageCell struct {
	Operation string `json:"operation"` // operationId, or "METHOD path" for routes the spec lacks
	Method    string `json:"method"`
	Path      string `json:"path"`
	Status    int    `json:"status"`
	Stage     string `json:"stage"`
	Count     int    `json:"count"`
}

// Report is a whole run.
type Report struct {
	Target    string           `json:"target"`
	Stage     string           `json:"stage"` // staging, sandbox, production, or other
	Spec      string           `json:"spec,omitempty"`
	Started   time.Time        `json:"started"`
	Totals    Totals           `json:"totals"`
	Scenarios []ScenarioResult `json:"scenarios"`
	Coverage  []CoverageCell   `json:"coverage"`
	// Uncovered lists the spec's operations no step called.
	Uncovered []string `json:"uncovered,omitempty"`
}

// Failed reports whether any scenario failed.
func (r *Report) Failed() bool { return r != nil && r.Totals.Failed > 0 }

func (r *Report) total() {
	t := Totals{Scenarios: len(r.Scenarios), Duration: r.Totals.Duration}
	for _, s := range r.Scenarios {
		switch s.Outcome {
		case Passed:
			t.Passed++
		case Failed:
			t.Failed++
		default:
			t.Skipped++
		}
		for _, st := range s.Steps {
			t.Steps++
			switch st.Outcome {
			case Passed:
				t.StepsPassed++
			case Failed:
				t.StepsFailed++
			default:
				t.StepsSkipped++
			}
		}
	}
	if t.Duration > 0 {
		t.StepsPerSecond = float64(t.StepsPassed+t.StepsFailed) / t.Duration.Seconds()
	}
	r.Totals = t
}
