package gateway

import (
	"net/http"
	"net/url"
	"time"

	"github.com/rankr/ghlgate/events"
	"github.com/rankr/ghlgate/gateway/auth"
	"github.com/rankr/ghlgate/gateway/locations"
	"github.com/rankr/ghlgate/gateway/ratelimit"
	"github.com/rankr/ghlgate/openapi"
)

// exchange is the one request-state struct of the pipeline: each stage reads
// what earlier stages found and adds its own findings. It lives for one
// request and is passed explicitly; nothing travels in the context but
// cancellation.
type exchange struct {
	// start is when the request arrived. The stages take it as their
	// "now" (rate limits, the location cache): they run within
	// microseconds of it, and each clock read saved is one fewer
	// clock_gettime, which costs a virtual machine more than a bare one.
	start time.Time
	id    string
	w     http.ResponseWriter
	r     *http.Request

	// stage is production, staging or sandbox; apiPath is the escaped path
	// relative to the API root (the stage prefix removed).
	stage   string
	apiPath string
	body    []byte

	key        *auth.Key
	scopesHeld []string

	op       *openapi.Operation
	params   map[string]string
	query    url.Values // parsed by route; nil when there is none
	location string
	// budget is the location the request's rate limits spend (see
	// budgetLocation), once decided.
	budget string
	// contactKey is contactKeyID's key in the location cache, once made.
	contactKey, contactKeyID string

	// testTraffic is true when the request is marked as test data.
	testTraffic bool

	// limit is the rate-limit decision, whose figures go on the answer; it
	// points at limitSpace once one is taken (kept in the exchange: one
	// allocation fewer, and no 500-byte copies on the request's stack).
	limit      *ratelimit.Decision
	limitSpace ratelimit.Decision
	// finder reads the location of a by-id answer from the members the
	// response validator reads (inspect).
	finder locations.Finder
	// intentID is the capture intent recorded before a mutation is
	// forwarded, and intent what it records.
	intentID string
	intent   events.Intent
	// replayed is true when the answer came from the idempotency store.
	replayed bool
	// keptBody is true when something kept the upstream answer's body
	// beyond the exchange, so its buffer must not be reused.
	keptBody bool

	// Outcome, filled as the exchange goes.
	decision       string
	reason         string
	detail         string
	status         int
	upstreamStatus int
	responseIssues int
	// upstreamCalled is true once the request has been handed to the stage's
	// upstream.
	upstreamCalled bool
}

func (x *exchange) client() string {
	if x.key == nil {
		return ""
	}
	return x.key.Name
}

func (x *exchange) route() string {
	if x.op == nil {
		return ""
	}
	return x.op.Path
}

func (x *exchange) operationID() string {
	if x.op == nil {
		return ""
	}
	return x.op.ID
}
