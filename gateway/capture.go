package gateway

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/rankr/ghlgate/events"
	"github.com/rankr/ghlgate/gateway/idempotency"
	"github.com/rankr/ghlgate/gateway/problem"
)

// beginCapture records the intent of a mutation before it is forwarded, so a
// crash between GHL applying it and the gateway recording it leaves a trace
// that reconciliation turns into the event. No intent, no forwarding.
func (g *Gateway) beginCapture(x *exchange) error {
	if g.recorder == nil || !events.IsMutation(x.op.ID, x.r.Method) {
		return nil
	}
	x.intent = events.Intent{
		OperationID: x.op.ID, Method: x.r.Method, Path: x.apiPath, PathParams: x.params, Stage: x.stage,
		Location: x.location, Client: x.client(), RequestID: x.id, RequestBody: x.body,
	}
	id, err := g.recorder.Begin(x.r.Context(), x.intent)
	if errors.Is(err, events.ErrNotMutation) {
		return nil
	}
	if err != nil {
		return problem.Wrap(http.StatusServiceUnavailable, problem.ReasonDependencyDown,
			"the event store is unavailable, so the change was not forwarded (none is made without its sync event); retry later", err)
	}
	x.intentID = id
	return nil
}

// finishCapture confirms the intent with GHL's answer: a 2xx becomes the
// event, a 4xx closes the intent, a 5xx leaves it for reconciliation. It runs
// before the client sees the answer, and does not stop when the client
// goes away: the change is made either way.
func (g *Gateway) finishCapture(ctx context.Context, x *exchange, status int, body []byte) {
	if x.intentID == "" {
		return
	}
	id := x.intentID
	x.intentID = ""
	x.keptBody = true // the event may hold parts of body
	if _, err := g.recorder.Finish(context.WithoutCancel(ctx), id, x.intent, status, body); err != nil {
		g.log.Error("recording a sync event failed; the intent stays open and reconciliation will settle it",
			"request_id", x.id, "operation_id", x.operationID(), "intent", id, "err", err)
	}
}

// forwardOnce sends a POST with an Idempotency-Key through the idempotency
// store: the first answer for (stage, client, key) is kept and replayed for a
// repeat, a repeat with another body is refused, and concurrent repeats wait
// for the first instead of all reaching GHL.
func (g *Gateway) forwardOnce(x *exchange, key string, send func(http.ResponseWriter)) error {
	hash := idempotency.Fingerprint(x.r.Method, x.apiPath, x.body)
	resp, replayed, err := g.idem.Do(x.r.Context(), x.stage+"/"+x.client(), key, hash, func(context.Context) (idempotency.Response, error) {
		bw := &bufferWriter{header: make(http.Header), code: http.StatusOK}
		w := x.w
		x.w = bw
		send(bw)
		x.w = w
		return idempotency.Response{Status: bw.code, Header: bw.header, Body: bw.body.Bytes()}, nil
	})
	if err != nil {
		if errors.Is(err, idempotency.ErrKeyReused) {
			return problem.Wrap(http.StatusUnprocessableEntity, problem.ReasonIdempotencyConflict,
				"this Idempotency-Key was used with a different request; use a new key for a new request", err)
		}
		return err
	}
	h := x.w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	if replayed {
		x.replayed = true
		x.upstreamStatus = resp.Status
		h.Set("Idempotent-Replayed", "true")
	}
	h.Set("Content-Length", strconv.Itoa(len(resp.Body)))
	x.w.WriteHeader(resp.Status)
	x.w.Write(resp.Body) //nolint:errcheck // the client may be gone
	x.status = resp.Status
	return nil
}

type bufferWriter struct {
	header http.Header
	body   bytes.Buffer
	code   int
	wrote  bool
}

func (b *bufferWriter) Header() http.Header { return b.header }

func (b *bufferWriter) WriteHeader(code int) {
	if !b.wrote {
		b.code, b.wrote = code, true
	}
}

func (b *bufferWriter) Write(p []byte) (int, error) {
	b.wrote = true
	return b.body.Write(p)
}
