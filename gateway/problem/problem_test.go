package problem

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestFrom(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantReason string
	}{
		{"problem passes through", fmt.Errorf("wrap: %w", New(403, ReasonScopeMissing, "x")), 403, ReasonScopeMissing},
		{"client cancelled", fmt.Errorf("proxy: %w", context.Canceled), 499, ReasonClientClosed},
		{"deadline", fmt.Errorf("proxy: %w", context.DeadlineExceeded), 504, ReasonUpstreamTimeout},
		{"dial failure", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, 502, ReasonUpstreamError},
		{"unknown", errors.New("boom"), 500, ReasonInternal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := From(tc.err)
			if got.Status != tc.wantStatus || got.Reason != tc.wantReason {
				t.Errorf("From(%v) = %d %s; want %d %s", tc.err, got.Status, got.Reason, tc.wantStatus, tc.wantReason)
			}
		})
	}
}

func TestWrite(t *testing.T) {
	e := New(http.StatusUnprocessableEntity, ReasonSchemaViolation, "the body breaks the schema of create-contact")
	e.Fields = []FieldError{{Pointer: "body.email", Reason: "must be a string"}}
	e.Extra = map[string]any{"operation_id": "create-contact", "status": 999}
	e.WithHeader("Retry-After", "3")
	rec := httptest.NewRecorder()
	Write(rec, e, "/contacts/", "req-1")

	if got := rec.Header().Get("Content-Type"); got != ContentType {
		t.Errorf("Content-Type = %q; want %q", got, ContentType)
	}
	if got := rec.Header().Get("Retry-After"); got != "3" {
		t.Errorf("Retry-After = %q; want 3", got)
	}
	if rec.Code != 422 {
		t.Errorf("status = %d; want 422", rec.Code)
	}
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	want := map[string]any{
		"type": TypeBase + ReasonSchemaViolation, "title": "Unprocessable Entity", "status": float64(422),
		"instance": "/contacts/", "request_id": "req-1", "reason": ReasonSchemaViolation,
		"operation_id": "create-contact",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("body[%q] = %v; want %v", k, got[k], v)
		}
	}
	errs, _ := got["errors"].([]any)
	if len(errs) != 1 || errs[0].(map[string]any)["pointer"] != "body.email" {
		t.Errorf("errors = %v; want one at body.email", got["errors"])
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{{0, "1"}, {300 * time.Millisecond, "1"}, {time.Second, "1"}, {1001 * time.Millisecond, "2"}, {10 * time.Second, "10"}}
	for _, tc := range tests {
		if got := RetryAfter(tc.in); got != tc.want {
			t.Errorf("RetryAfter(%v) = %q; want %q", tc.in, got, tc.want)
		}
	}
}
