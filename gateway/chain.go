package gateway

import (
	"net/http"
)

// stage is one step of the request pipeline. It returns an error to refuse
// the request (rendered by respond, the one place that maps errors to
// answers) or nil to pass it on.
type stage func(g *Gateway, x *exchange) error

// pipeline is the order of the stages for every API request. This is the
// only place that knows it; each entry says why it sits where it does.
var pipeline = []struct {
	name string
	run  stage
}{
	// The body is read first, once and capped, so that an oversized body is
	// refused before any work and every later stage reads the same bytes.
	{"body", (*Gateway).readBody},
	// The stage (production, staging, sandbox) decides where the request may
	// go; it is known from the path alone.
	{"stage", (*Gateway).resolveStage},
	// Authentication comes before routing so an unauthenticated caller
	// learns nothing about which operations exist.
	{"authenticate", (*Gateway).authenticate},
	// A key may be limited to some stages (QA keys to staging and sandbox).
	{"stage access", (*Gateway).authorizeStage},
	// Routing against the spec: nothing outside it is ever forwarded, and the
	// operation found tells the next stages what to enforce.
	{"route", (*Gateway).route},
	// Scopes come from the operation's security requirements.
	{"scopes", (*Gateway).authorizeScopes},
	// Test data never reaches production, whoever sends it.
	{"test traffic", (*Gateway).refuseTestTraffic},
	// Locations named in the request are checked before anything else can
	// reveal or change data; by-id operations are resolved here too.
	{"locations", (*Gateway).authorizeLocation},
	// Validation after the access decisions: a denied client gets no
	// schema hints. The upstream is not called for an invalid request.
	{"validate", (*Gateway).validateRequest},
	// Rate limits after validation: only a request that would reach GHL
	// spends GHL's budget. Every limit that applies is checked at once.
	{"rate limit", (*Gateway).rateLimit},
	// Last: record the intent of a change, forward to the stage's upstream
	// (once per Idempotency-Key); the answer is inspected (capture, by-id
	// location, response schema) before the client sees it.
	{"forward", (*Gateway).forward},
}

// serveAPI runs the pipeline for one request.
func (g *Gateway) serveAPI(w http.ResponseWriter, r *http.Request, id string) {
	g.inflight.Add(1)
	defer g.inflight.Done()
	x := &exchange{start: g.now(), id: id, w: w, r: r}
	defer g.finish(x)
	for _, s := range pipeline {
		if err := s.run(g, x); err != nil {
			g.respond(x, err)
			return
		}
	}
}
