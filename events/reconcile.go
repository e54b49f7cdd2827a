package events

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// ErrCannotReadBack is what a ReadBack returns for an intent whose resource
// it has no way to find (a campaign membership, a bulk change, a create
// with no email or phone to search by). Reconcile records the intent as
// unknown for review.
var ErrCannotReadBack = errors.New("cannot read the resource back")

// ReadBack reads from the intent's stage the resource an intent changed,
// GET-style: 2xx with the resource (GHL's envelope, {"contact": {...}}, is
// fine), or 404 when it does not exist (map GHL's "400 not found" to 404).
// For a create, whose id the gateway never saw, it searches with what
// the request body holds (email, phone, locationId; a task's title under
// its contact). Any other error leaves the intent pending for the next run.
type ReadBack func(ctx context.Context, in Intent) (status int, body []byte, err error)

// ReconcileReport counts what a Reconcile run did.
type ReconcileReport struct {
	Reconciled int // change found applied: event emitted, marked reconciled
	NotApplied int // change proved absent: intent closed without event
	Unknown    int // cannot tell: intent kept as unknown for review
	Failed     int // read-back failed: intent left pending
}

// Reconcile settles the intents recorded before `before` that were never
// confirmed: a crash between forwarding and confirming, or an upstream that
// never answered. Run it at start before serving (with before = the start
// time, on one SQLite instance) and periodically (with before = now minus
// twice the upstream timeout, so in-flight requests of this or another
// replica are left alone).
//
// It emits an event only on positive evidence (never invents one) and
// closes without event only on proof; everything else becomes unknown.
func (r *Recorder) Reconcile(ctx context.Context, readBack ReadBack, before time.Time) (ReconcileReport, error) {
	var rep ReconcileReport
	pending, err := r.st.PendingIntents(ctx, before)
	if err != nil {
		return rep, fmt.Errorf("reconcile: %w", err)
	}
	var errs []error
	for _, in := range pending {
		outcome, err := r.reconcileOne(ctx, readBack, in)
		switch {
		case err != nil:
			rep.Failed++
			errs = append(errs, fmt.Errorf("intent %s (%s): %w", in.ID, in.OperationID, err))
		case outcome == StatusReconciled:
			rep.Reconciled++
		case outcome == string(IntentNotApplied):
			rep.NotApplied++
		default:
			rep.Unknown++
		}
		r.log.Info("intent reconciled", "intent_id", in.ID, "operation_id", in.OperationID,
			"request_id", in.RequestID, "outcome", outcome, "error", err)
	}
	if len(errs) > 0 {
		return rep, fmt.Errorf("reconcile: %w", errors.Join(errs...))
	}
	return rep, nil
}

func (r *Recorder) reconcileOne(ctx context.Context, readBack ReadBack, in Intent) (string, error) {
	unknown := func(note string) (string, error) {
		return string(IntentUnknown), r.st.Abandon(ctx, in.ID, IntentUnknown, note)
	}
	status, body, err := readBack(ctx, in)
	if errors.Is(err, ErrCannotReadBack) {
		return unknown("no way to read the resource back")
	}
	if err != nil {
		return "", err
	}
	found := status >= 200 && status < 300
	gone := status == http.StatusNotFound
	if !found && !gone {
		return "", fmt.Errorf("read back answered %d", status)
	}
	emit := func() (string, error) {
		_, err := r.st.Confirm(ctx, in.ID, r.build(in, body, true))
		return StatusReconciled, err
	}
	typ := classify(in.OperationID, in.Method, in.PathParams, in.RequestBody, parseAnswer(body)).Type
	switch {
	case strings.HasSuffix(typ, ".deleted"):
		if gone {
			body = nil
			return emit()
		}
		return string(IntentNotApplied), r.st.Abandon(ctx, in.ID, IntentNotApplied, "resource still exists")
	case isCreate(in.OperationID):
		if found {
			return emit()
		}
		return string(IntentNotApplied), r.st.Abandon(ctx, in.ID, IntentNotApplied, "no such resource found")
	default:
		if found && reflects(typ, validJSON(in.RequestBody), Unwrap(body)) {
			return emit()
		}
		if gone {
			return unknown("resource gone since")
		}
		return unknown("resource does not show the change")
	}
}

func isCreate(op string) bool {
	switch op {
	case "create-contact", "create-task", "create-note", "upsert-contact":
		return true
	}
	return false
}
