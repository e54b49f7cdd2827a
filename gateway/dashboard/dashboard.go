// Package dashboard is ghlgate's operations page: one self-contained HTML
// file (no external assets) that asks for a key with scope gateway.admin,
// then polls the gateway's /_gateway/dashboard/data and shows decisions by
// reason, recent refusals, rate-limit and breaker state, and the spec.
package dashboard

import (
	_ "embed"
	"time"
)

//go:embed dashboard.html
var page []byte

// Page is the dashboard's HTML.
func Page() []byte { return page }

// Data is what the page shows; the gateway fills it.
type Data struct {
	GeneratedAt time.Time      `json:"generated_at"`
	Spec        SpecInfo       `json:"spec"`
	Credential  string         `json:"credential"`
	Decisions   []Count        `json:"decisions"`
	Violations  []Count        `json:"response_violations"`
	Recent      []any          `json:"recent_denials"`
	Limits      any            `json:"ratelimit,omitempty"`
	Breakers    map[string]any `json:"circuit_breakers,omitempty"`
	Events      EventInfo      `json:"events"`
}

// SpecInfo describes the served spec.
type SpecInfo struct {
	Source     string `json:"source"`
	Operations int    `json:"operations"`
	Warnings   int    `json:"warnings"`
}

// Count is one counter with its labels.
type Count struct {
	Labels map[string]string `json:"labels"`
	Value  uint64            `json:"value"`
}

// EventInfo summarises the sync events.
type EventInfo struct {
	Latest []any `json:"latest"`
}
