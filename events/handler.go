package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Handler serves the pull API. Mount it at /_gateway/events and
// /_gateway/events/stream (it dispatches on the "/stream" suffix); scope
// checks (events.read) belong to the gateway in front of it.
//
//	GET /_gateway/events?after=CURSOR&limit=N&type=T[,T...]&stage=&location=&contact_id=
//	  → 200 {"events": [...], "next_cursor": "N"}
//	GET /_gateway/events/stream?after=CURSOR&type=...   (Last-Event-ID wins over after)
//	  → text/event-stream; "id:" is the cursor, "event:" the type.
type Handler struct {
	st  Store
	log *slog.Logger
	// Heartbeat is the interval of ": heartbeat" comments that keep proxies
	// from closing an idle stream; default 15s.
	Heartbeat time.Duration
	// Poll is how often a stream looks for events committed by other
	// replicas, which this process's notifier does not see; default 2s.
	Poll time.Duration
}

// NewHandler returns the pull API over st.
func NewHandler(st Store, logger *slog.Logger) *Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{st: st, log: logger, Heartbeat: 15 * time.Second, Poll: 2 * time.Second}
}

// ErrBadQuery marks an invalid query parameter; the handler answers 400.
var ErrBadQuery = errors.New("invalid query parameter")

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeProblem(w, r, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	if strings.HasSuffix(strings.TrimSuffix(r.URL.Path, "/"), "/stream") {
		h.Stream(w, r)
		return
	}
	h.List(w, r)
}

// ListPage is the JSON answer of List.
type ListPage struct {
	Events []Event `json:"events"`
	// NextCursor is the after= of the next page: the last event's seq, or
	// the request's own cursor when the page is empty.
	NextCursor string `json:"next_cursor"`
}

// List serves one page of events.
func (h *Handler) List(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r, r.URL.Query().Get("after"))
	if err != nil {
		writeProblem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	evs, err := h.st.List(r.Context(), q)
	if err != nil {
		h.log.Error("list events", "error", err)
		writeProblem(w, r, http.StatusServiceUnavailable, "event store unavailable")
		return
	}
	page := ListPage{Events: evs, NextCursor: strconv.FormatInt(q.After, 10)}
	if page.Events == nil {
		page.Events = []Event{}
	}
	if n := len(evs); n > 0 {
		page.NextCursor = strconv.FormatInt(evs[n-1].Seq, 10)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(page) //nolint:errcheck // the client went away
}

// Stream serves events as Server-Sent Events until the client leaves. It
// replays from Last-Event-ID (or after=), then waits for commits (this
// process's notifier) or the poll tick (other replicas).
func (h *Handler) Stream(w http.ResponseWriter, r *http.Request) {
	after := r.URL.Query().Get("after")
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		after = id
	}
	q, err := parseQuery(r, after)
	if err != nil {
		writeProblem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		writeProblem(w, r, http.StatusInternalServerError, "streaming unsupported")
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n\n")
	fl.Flush()
	err = Follow(r.Context(), h.st, q, h.Poll, h.Heartbeat, func(evs []Event) error {
		for _, ev := range evs {
			data, err := json.Marshal(ev)
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", ev.Seq, ev.Type, data); err != nil {
				return err
			}
		}
		fl.Flush()
		return nil
	}, func() error {
		_, err := fmt.Fprint(w, ": heartbeat\n\n")
		fl.Flush()
		return err
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		h.log.Warn("event stream ended", "error", err)
	}
}

// Follow sends every event matching q, from q.After on, to emit in pages,
// and keeps waiting for new ones until ctx ends: woken by st.Changed (this
// process's commits) or every poll (other processes' commits), with
// heartbeat called when idle for the heartbeat interval (0: never).
func Follow(ctx context.Context, st Store, q Query, poll, heartbeat time.Duration, emit func([]Event) error, beat func() error) error {
	if poll <= 0 {
		poll = 2 * time.Second
	}
	pollT := time.NewTicker(poll)
	defer pollT.Stop()
	var beatC <-chan time.Time
	if heartbeat > 0 && beat != nil {
		bt := time.NewTicker(heartbeat)
		defer bt.Stop()
		beatC = bt.C
	}
	for {
		changed := st.Changed() // before reading: a commit in between still wakes us
		evs, err := st.List(ctx, q)
		if err != nil {
			return err
		}
		if len(evs) > 0 {
			if err := emit(evs); err != nil {
				return err
			}
			q.After = evs[len(evs)-1].Seq
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		case <-pollT.C:
		case <-beatC:
			if err := beat(); err != nil {
				return err
			}
		}
	}
}

func parseQuery(r *http.Request, after string) (Query, error) {
	v := r.URL.Query()
	var q Query
	if after != "" {
		n, err := strconv.ParseInt(after, 10, 64)
		if err != nil || n < 0 {
			return q, fmt.Errorf("%w: after %q is not a cursor", ErrBadQuery, after)
		}
		q.After = n
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxListLimit {
			return q, fmt.Errorf("%w: limit %q: want 1 to %d", ErrBadQuery, l, MaxListLimit)
		}
		q.Limit = n
	}
	for _, t := range v["type"] {
		for _, p := range strings.Split(t, ",") {
			if p = strings.TrimSpace(p); p != "" {
				q.Types = append(q.Types, p)
			}
		}
	}
	q.Stage, q.Location, q.ContactID = v.Get("stage"), v.Get("location"), v.Get("contact_id")
	q.Source = Source(v.Get("source"))
	return q, nil
}

// writeProblem answers application/problem+json. The gateway's own problem
// writer may wrap this handler; this keeps it usable alone.
func writeProblem(w http.ResponseWriter, r *http.Request, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{ //nolint:errcheck // the client went away
		"type": "about:blank", "title": http.StatusText(status), "status": status,
		"detail": detail, "instance": r.URL.Path,
	})
}
