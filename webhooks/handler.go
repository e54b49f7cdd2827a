package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// Sink takes verified, deduplicated deliveries. The lead's sink does echo
// suppression against the event store and appends the sync event.
//
// An error is transient by default: the Handler answers 429 with
// Retry-After, because GHL retries a delivery only on 429 (FACTS §5.1) and
// every other status loses it. Wrap ErrSinkPermanent to refuse for good
// (answered 500, not retried).
type Sink interface {
	Accept(ctx context.Context, in Inbound) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ctx context.Context, in Inbound) error

// Accept implements Sink.
func (f SinkFunc) Accept(ctx context.Context, in Inbound) error { return f(ctx, in) }

// ErrSinkPermanent marks a sink error that a retry cannot fix.
var ErrSinkPermanent = errors.New("webhook sink refused the delivery")

// Decision is one answer of the Handler, for the audit log.
type Decision struct {
	// Accepted is true when the sink took the delivery (a new event or an
	// echo recorded on an existing one).
	Accepted bool
	// Status is the HTTP status answered.
	Status int
	// Reason is a stable code (Reason* constants).
	Reason string
	// WebhookID is the payload's webhookId ("" when absent); DedupeID is
	// what deduplication keyed on.
	WebhookID string
	DedupeID  string
	// Type is the payload's GHL type, when the body was read that far.
	Type string
	// KeyID names the key that verified the signature, if one did.
	KeyID string
	// Err is the cause of a refusal, for logs; nil when accepted.
	Err error
}

// HandlerConfig configures a Handler.
type HandlerConfig struct {
	// Verifier checks signatures and timestamps. Required.
	Verifier *Verifier
	// Deduper remembers dedupe ids. Required (NewMemoryDeduper in tests).
	Deduper Deduper
	// Sink receives each new delivery. Required.
	Sink Sink
	// OnDecision, when set, is called once per request with the outcome.
	OnDecision func(Decision)
	// Logger receives one line per decision. Default: discard.
	Logger *slog.Logger
	// MaxBodyBytes caps the body. Default 1 MiB (GHL's payloads are a few
	// KiB).
	MaxBodyBytes int64
	// RetryAfter is sent with 429 answers. Default 60s (GHL waits about 10
	// minutes whatever it says).
	RetryAfter time.Duration
}

// Handler serves POST /webhooks/ghl: read the raw body (capped) → verify
// the signature over those exact bytes → parse → dedupe → sink.
type Handler struct {
	cfg HandlerConfig
}

// NewHandler checks cfg and builds the handler.
func NewHandler(cfg HandlerConfig) (*Handler, error) {
	var errs []error
	if cfg.Verifier == nil {
		errs = append(errs, errors.New("webhook handler: Verifier is required"))
	}
	if cfg.Deduper == nil {
		errs = append(errs, errors.New("webhook handler: Deduper is required"))
	}
	if cfg.Sink == nil {
		errs = append(errs, errors.New("webhook handler: Sink is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = time.Minute
	}
	return &Handler{cfg: cfg}, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d := h.handle(r)
	h.finish(w, r, d)
}

// handle runs the pipeline and returns the decision; it writes nothing.
func (h *Handler) handle(r *http.Request) Decision {
	if r.Method != http.MethodPost {
		return Decision{Status: http.StatusMethodNotAllowed, Reason: ReasonMethodNotAllowed,
			Err: fmt.Errorf("method %s", r.Method)}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, h.cfg.MaxBodyBytes+1))
	if err != nil {
		return Decision{Status: http.StatusBadRequest, Reason: ReasonInvalidBody, Err: fmt.Errorf("read body: %w", err)}
	}
	if int64(len(body)) > h.cfg.MaxBodyBytes {
		return Decision{Status: http.StatusRequestEntityTooLarge, Reason: ReasonTooLarge,
			Err: fmt.Errorf("body over %d bytes", h.cfg.MaxBodyBytes)}
	}

	v, verr := h.cfg.Verifier.Verify(r.Header, body)
	d := Decision{WebhookID: v.WebhookID, DedupeID: v.DedupeID, KeyID: v.KeyID}
	switch {
	case verr == nil, errors.Is(verr, ErrStale):
		// A stale delivery may still be a retry ghlgate asked for; the
		// deduper decides below.
	case errors.Is(verr, ErrInvalidBody):
		d.Status, d.Reason, d.Err = http.StatusBadRequest, ReasonInvalidBody, verr
		return d
	default:
		d.Status, d.Reason, d.Err = http.StatusUnauthorized, ReasonCode(verr), verr
		return d
	}

	in, err := Parse(body)
	if err != nil {
		d.Status, d.Reason, d.Err = http.StatusBadRequest, ReasonCode(err), err
		return d
	}
	in.Verified = v
	d.Type = in.GHLType

	ctx := r.Context()
	claim, err := h.cfg.Deduper.Claim(ctx, v.DedupeID)
	switch {
	case errors.Is(err, ErrInFlight):
		d.Status, d.Reason, d.Err = http.StatusTooManyRequests, ReasonInFlight, err
		return d
	case err != nil:
		// The deduper's store is down. 429, not 503: GHL retries only 429.
		d.Status, d.Reason, d.Err = http.StatusTooManyRequests, ReasonDedupeUnavailable, err
		return d
	case claim == ClaimDuplicate:
		// A retry of an accepted delivery (even a stale one): 200, no event.
		d.Status, d.Reason = http.StatusOK, ReasonDuplicate
		return d
	case verr != nil && claim == ClaimNew:
		h.settle(ctx, v.DedupeID, OutcomeRejected)
		d.Status, d.Reason, d.Err = http.StatusUnauthorized, ReasonCode(verr), verr
		return d
	}

	if err := h.cfg.Sink.Accept(ctx, in); err != nil {
		d.Err = err
		if errors.Is(err, ErrSinkPermanent) {
			h.settle(ctx, v.DedupeID, OutcomeRejected)
			d.Status, d.Reason = http.StatusInternalServerError, ReasonSinkFailed
			return d
		}
		h.settle(ctx, v.DedupeID, OutcomeDeferred)
		d.Status, d.Reason = http.StatusTooManyRequests, ReasonSinkUnavailable
		return d
	}
	if err := h.cfg.Deduper.Settle(ctx, v.DedupeID, OutcomeAccepted); err != nil {
		// The event exists; the worst case is that a replay inside the
		// lease window is refused as in flight, or after it re-offered to
		// the sink, whose echo check sees the identical event.
		h.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "webhook dedupe settle failed",
			slog.String("dedupe_id", v.DedupeID), slog.String("error", err.Error()))
	}
	d.Accepted, d.Status, d.Reason = true, http.StatusOK, ReasonAccepted
	return d
}

func (h *Handler) settle(ctx context.Context, id string, o Outcome) {
	// A detached context: the outcome must be recorded even if GHL hung up.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := h.cfg.Deduper.Settle(ctx, id, o); err != nil {
		h.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "webhook dedupe settle failed",
			slog.String("dedupe_id", id), slog.String("error", err.Error()))
	}
}

// finish logs the decision, calls OnDecision and writes the answer.
func (h *Handler) finish(w http.ResponseWriter, r *http.Request, d Decision) {
	level := slog.LevelInfo
	if d.Status >= 400 {
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.Bool("granted", d.Accepted), slog.Int("status", d.Status), slog.String("reason", d.Reason),
		slog.String("webhook_id", d.WebhookID), slog.String("dedupe_id", d.DedupeID),
		slog.String("type", d.Type), slog.String("key_id", d.KeyID),
	}
	if d.Err != nil {
		attrs = append(attrs, slog.String("error", d.Err.Error()))
	}
	h.cfg.Logger.LogAttrs(r.Context(), level, "ghl webhook", attrs...)
	if h.cfg.OnDecision != nil {
		h.cfg.OnDecision(d)
	}

	if d.Status == http.StatusOK {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"status":"ok"}`+"\n") //nolint:errcheck // GHL may be gone
		return
	}
	hdr := w.Header()
	switch d.Status {
	case http.StatusTooManyRequests:
		hdr.Set("Retry-After", strconv.Itoa(int(h.cfg.RetryAfter/time.Second)))
	case http.StatusMethodNotAllowed:
		hdr.Set("Allow", http.MethodPost)
	}
	writeProblem(w, d, r.URL.Path, r.Header.Get("X-Request-Id"))
}

// problemTypeBase matches gateway/problem's TypeBase, so webhook refusals
// read like every other ghlgate problem (this package does not import the
// gateway).
const problemTypeBase = "https://ghlgate.dev/problems/"

// problemDetails are the client-facing details; causes stay in the log.
var problemDetails = map[string]string{
	ReasonNoSignature:       "the delivery carries neither x-ghl-signature nor x-wh-signature",
	ReasonMalformedSig:      "the signature header is not a base64 signature",
	ReasonBadSignature:      "the signature does not verify over the body with any trusted key",
	ReasonLegacyDisabled:    "x-wh-signature (RSA) is not accepted; sign with x-ghl-signature",
	ReasonStaleTimestamp:    "the payload timestamp is older than the accepted window",
	ReasonFutureTimestamp:   "the payload timestamp is ahead of the accepted window",
	ReasonBadTimestamp:      "the payload timestamp cannot be read",
	ReasonInvalidBody:       "the body is not a JSON webhook payload with a type and an id",
	ReasonTooLarge:          "the body is too large",
	ReasonMethodNotAllowed:  "only POST is served here",
	ReasonInFlight:          "the same delivery is being processed; retry later",
	ReasonDedupeUnavailable: "the delivery could not be recorded; retry later",
	ReasonSinkUnavailable:   "the delivery could not be stored; retry later",
	ReasonSinkFailed:        "the delivery was refused",
}

func writeProblem(w http.ResponseWriter, d Decision, instance, requestID string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	b, _ := json.Marshal(struct {
		Type      string `json:"type"`
		Title     string `json:"title"`
		Status    int    `json:"status"`
		Detail    string `json:"detail,omitempty"`
		Instance  string `json:"instance,omitempty"`
		RequestID string `json:"request_id,omitempty"`
		Reason    string `json:"reason"`
	}{problemTypeBase + d.Reason, http.StatusText(d.Status), d.Status, problemDetails[d.Reason], instance, requestID, d.Reason})
	w.WriteHeader(d.Status)
	w.Write(append(b, '\n')) //nolint:errcheck // GHL may be gone
}
