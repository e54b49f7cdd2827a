// Package problem turns ghlgate's errors into RFC 9457 problem details
// (application/problem+json). Every refusal the gateway makes is an *Error
// carrying its status, a stable reason code and, for field errors, the
// location of each violation; Write is the one place that renders them.
package problem

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"
)

// ContentType is the media type of every error body ghlgate writes itself.
const ContentType = "application/problem+json"

// Stable reason codes: security's queries and dashboards key on them, so
// they never change once released.
const (
	ReasonNoCredentials       = "no_credentials"
	ReasonBadCredentials      = "bad_credentials"
	ReasonExpiredCredentials  = "expired_credentials"
	ReasonRevokedCredentials  = "revoked_credentials"
	ReasonScopeMissing        = "scope_missing"
	ReasonNoSecurity          = "no_security_declared"
	ReasonLocationDenied      = "location_denied"
	ReasonStageDenied         = "stage_denied"
	ReasonNotFound            = "not_found"
	ReasonMethodNotAllowed    = "method_not_allowed"
	ReasonInvalidRequest      = "invalid_request"
	ReasonSchemaViolation     = "schema_violation"
	ReasonTooLarge            = "body_too_large"
	ReasonTestTraffic         = "test_traffic_on_production"
	ReasonRateLimited         = "rate_limited"
	ReasonUpstreamTimeout     = "upstream_timeout"
	ReasonUpstreamError       = "upstream_error"
	ReasonClientClosed        = "client_closed_request"
	ReasonCircuitOpen         = "circuit_open"
	ReasonNoUpstreamCred      = "upstream_credential_missing"
	ReasonUpstreamCredFailed  = "upstream_credential_failed"
	ReasonNoMock              = "no_mock_configured"
	ReasonResponseInvalid     = "upstream_response_invalid"
	ReasonDependencyDown      = "dependency_unavailable"
	ReasonIdempotencyConflict = "idempotency_key_reused"
	ReasonInternal            = "internal_error"
	ReasonAllowed             = "allowed"
)

// FieldError is one violation, located by a pointer such as "body.firstName"
// or "query.limit".
type FieldError struct {
	Pointer string `json:"pointer"`
	Reason  string `json:"reason"`
}

// Error is a refusal with everything needed to answer it.
type Error struct {
	Status int
	Reason string
	Title  string
	Detail string
	Fields []FieldError
	// Header holds extra response headers (Allow, Retry-After,
	// WWW-Authenticate, rate-limit fields).
	Header http.Header
	// Extra members added to the body (for example "limit" on a 429).
	Extra map[string]any
	Err   error
}

func (e *Error) Error() string {
	msg := strconv.Itoa(e.Status) + " " + e.Reason
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// New builds an Error; title defaults to the status text.
func New(status int, reason, detail string) *Error {
	return &Error{Status: status, Reason: reason, Title: http.StatusText(status), Detail: detail}
}

// Wrap builds an Error that keeps err as its cause.
func Wrap(status int, reason, detail string, err error) *Error {
	e := New(status, reason, detail)
	e.Err = err
	return e
}

// WithHeader sets a response header on e and returns it.
func (e *Error) WithHeader(k, v string) *Error {
	if e.Header == nil {
		e.Header = make(http.Header, 2)
	}
	e.Header.Set(k, v)
	return e
}

// StatusClientClosedRequest is nginx's 499: the client went away.
const StatusClientClosedRequest = 499

// From classifies any error as an *Error: one already is; a cancelled
// client is 499; a deadline is 504 (the upstream was too slow); a network
// failure is 502; anything else is 500.
func From(err error) *Error {
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	switch {
	case errors.Is(err, context.Canceled):
		return Wrap(StatusClientClosedRequest, ReasonClientClosed, "the client closed the request before the answer was ready", err)
	case errors.Is(err, context.DeadlineExceeded):
		return Wrap(http.StatusGatewayTimeout, ReasonUpstreamTimeout, "GHL did not answer in time; retry later", err)
	}
	var ne net.Error
	if errors.As(err, &ne) {
		if ne.Timeout() {
			return Wrap(http.StatusGatewayTimeout, ReasonUpstreamTimeout, "GHL did not answer in time; retry later", err)
		}
		return Wrap(http.StatusBadGateway, ReasonUpstreamError, "could not reach GHL; retry later", err)
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return Wrap(http.StatusBadGateway, ReasonUpstreamError, "could not reach GHL; retry later", err)
	}
	return Wrap(http.StatusInternalServerError, ReasonInternal, "an internal error occurred; the request id identifies it in the gateway's log", err)
}

type body struct {
	Type      string         `json:"type"`
	Title     string         `json:"title"`
	Status    int            `json:"status"`
	Detail    string         `json:"detail,omitempty"`
	Instance  string         `json:"instance,omitempty"`
	RequestID string         `json:"request_id,omitempty"`
	Reason    string         `json:"reason"`
	Errors    []FieldError   `json:"errors,omitempty"`
	Extra     map[string]any `json:"-"`
}

// TypeBase prefixes the problem type URIs; each reason has its own.
const TypeBase = "https://ghlgate.dev/problems/"

// Write renders e as problem+json. instance is the request path and
// requestID the X-Request-Id of the exchange.
func Write(w http.ResponseWriter, e *Error, instance, requestID string) {
	h := w.Header()
	for k, vs := range e.Header {
		h[k] = vs
	}
	h.Set("Content-Type", ContentType)
	h.Set("Cache-Control", "no-store")
	h.Del("Content-Length")
	title := e.Title
	if title == "" {
		title = http.StatusText(e.Status)
	}
	if title == "" {
		title = "Client Closed Request"
	}
	b := body{
		Type:      TypeBase + e.Reason,
		Title:     title,
		Status:    e.Status,
		Detail:    e.Detail,
		Instance:  instance,
		RequestID: requestID,
		Reason:    e.Reason,
		Errors:    e.Fields,
	}
	out, err := marshal(b, e.Extra)
	if err != nil {
		out = []byte(`{"type":"` + TypeBase + ReasonInternal + `","title":"Internal Server Error","status":500,"reason":"internal_error"}`)
	}
	w.WriteHeader(e.Status)
	w.Write(append(out, '\n')) //nolint:errcheck // the client may be gone
}

func marshal(b body, extra map[string]any) ([]byte, error) {
	base, err := json.Marshal(b)
	if err != nil || len(extra) == 0 {
		return base, err
	}
	var m map[string]any
	if err := json.Unmarshal(base, &m); err != nil {
		return nil, err
	}
	for k, v := range extra {
		if _, taken := m[k]; !taken {
			m[k] = v
		}
	}
	return json.Marshal(m)
}

// RetryAfter formats a duration as a Retry-After value in whole seconds,
// rounding up so a client never comes back too early.
func RetryAfter(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10)
}
