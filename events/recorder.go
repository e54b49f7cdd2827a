package events

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"
)

// RecorderOptions configures a Recorder. Zero values take the defaults.
type RecorderOptions struct {
	// Redact lists the fields masked in Fields and Resource: JSON pointers
	// ("/customFields/0/value") or field names matched at any depth ("ssn").
	Redact []string
	// EchoWindow is how long after a gateway change a matching GHL webhook
	// counts as its echo; default 2m.
	EchoWindow time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger; default discards.
	Logger *slog.Logger
}

// Recorder turns gateway mutations and GHL webhooks into events.
type Recorder struct {
	st     Store
	red    *Redactor
	window time.Duration
	now    func() time.Time
	log    *slog.Logger
}

// NewRecorder returns a Recorder writing to st.
func NewRecorder(st Store, opts RecorderOptions) *Recorder {
	r := &Recorder{st: st, red: NewRedactor(opts.Redact), window: opts.EchoWindow, now: opts.Now, log: opts.Logger}
	if r.window <= 0 {
		r.window = 2 * time.Minute
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r
}

// Begin durably records the intent of a mutation; call it before
// forwarding and forward only when it succeeds. It returns ErrNotMutation
// for operations that change nothing (reads, POST search).
func (r *Recorder) Begin(ctx context.Context, in Intent) (string, error) {
	if !IsMutation(in.OperationID, in.Method) {
		return "", fmt.Errorf("begin %s %s: %w", in.Method, in.OperationID, ErrNotMutation)
	}
	return r.st.BeginIntent(ctx, in)
}

// Finish settles an intent once the upstream answered:
//   - 2xx: the event is written and the intent closed in one transaction;
//   - 4xx: GHL refused, nothing changed: the intent is abandoned;
//   - 5xx, or status 0 for no answer at all (timeout, reset): GHL may have
//     applied the change, so the intent stays pending and the next
//     Reconcile reads the resource back.
//
// Call it with a context that outlives the client's request
// (context.WithoutCancel): a 2xx must not lose its event because the
// client hung up.
func (r *Recorder) Finish(ctx context.Context, intentID string, in Intent, status int, respBody []byte) (Event, error) {
	switch {
	case status >= 200 && status < 300:
		return r.st.Confirm(ctx, intentID, r.build(in, respBody, false))
	case status >= 400 && status < 500:
		return Event{}, r.st.Abandon(ctx, intentID, IntentAbandoned, fmt.Sprintf("upstream answered %d", status))
	default:
		r.log.Warn("mutation outcome unknown; left for reconciliation",
			"intent_id", intentID, "operation_id", in.OperationID, "request_id", in.RequestID, "status", status)
		return Event{}, nil
	}
}

// build makes the event for an intent and the answer (or read-back) body.
func (r *Recorder) build(in Intent, respBody []byte, reconciled bool) Event {
	resp := parseAnswer(respBody)
	c := classify(in.OperationID, in.Method, in.PathParams, in.RequestBody, resp)
	ev := Event{
		Type:         c.Type,
		Source:       SourceGateway,
		Stage:        in.Stage,
		Location:     firstString(in.Location, c.Location),
		ResourceType: c.ResourceType,
		ResourceID:   c.ResourceID,
		ContactID:    c.ContactID,
		Client:       in.Client,
		RequestID:    in.RequestID,
		Fields:       r.red.Redact(validJSON(in.RequestBody)),
		Resource:     r.red.Redact(resp.resource()),
		Time:         r.now(),
		Reconciled:   reconciled,
		Status:       StatusCaptured,
	}
	if reconciled {
		ev.Status = StatusReconciled
	}
	return ev
}

func validJSON(b []byte) json.RawMessage {
	if len(b) == 0 || !json.Valid(b) {
		return nil
	}
	return json.RawMessage(b)
}
