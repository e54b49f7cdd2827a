package gateway

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/rankr/ghlgate/gateway/problem"
)

// serveHTTP is the gateway's handler. API requests, nearly all the
// traffic, go straight to the pipeline; gin only routes the gateway's own
// endpoints. Before, every API request went through gin's router to its
// NoRoute handler, which cost a context, a tree walk and a map for the
// request id per request. The direct path keeps what that route did: the
// request id, the panic handler, and gin's writer semantics (apiWriter).
func (g *Gateway) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if ginRoutes(r.URL.Path) || ginRoutes(r.URL.RawPath) {
		g.engine.ServeHTTP(w, r)
		return
	}
	if g.fewConns() {
		g.api.ServeHTTP(w, r)
		return
	}
	g.workers.ServeHTTP(g.api, w, r)
}

// inlineConns is the most open client connections with which the pipeline
// runs on the connection's own goroutine. The worker pool exists for the
// memory of many keep-alive connections (see package workers): each one
// that ran the pipeline keeps its deep stack while it idles. With no more
// connections than the pool has workers, those stacks are no more than the
// workers' would be, and the hand-off to a worker and back costs more than
// it saves: 5-7 µs of CPU per request at 64 connections, measured in paired
// runs (make bench's harness, the same gateway served both ways).
const inlineConns = maxWorkers

// fewConns says the pipeline may run on the connection's goroutine: the
// server reports its connections, and no more than inlineConns are open.
func (g *Gateway) fewConns() bool {
	return g.connsTracked.Load() && g.conns.Load() <= inlineConns
}

// TrackConn is the gateway's http.Server ConnState hook: it counts the open
// client connections, so that the pipeline runs on a connection's own
// goroutine while they are few (inlineConns). A server without it always
// hands requests to the worker pool.
func (g *Gateway) TrackConn(_ net.Conn, state http.ConnState) {
	switch state {
	case http.StateNew:
		g.conns.Add(1)
		g.connsTracked.Store(true)
	case http.StateHijacked, http.StateClosed:
		g.conns.Add(-1)
	}
}

// upstreamConns is the most connections to GHL the network transport
// keeps and opens. maxWorkers bounds the goroutines that run the pipeline;
// it is twice upstreamConns: more requests in flight than that are waiting
// for GHL anyway. Beyond it a request waits up to workerWait for a worker
// (on its connection's small stack rather than with the whole pipeline's),
// then runs on its connection's goroutine: a slow GHL holding every worker
// delays a request to the mock, or one refused at the door, by at most
// that. workerIdle is how long a worker waits for its next request before
// it exits.
const (
	upstreamConns = 128
	maxWorkers    = 2 * upstreamConns
	workerWait    = 500 * time.Millisecond
	workerIdle    = 10 * time.Second
)

// serveDirectAPI is the pipeline with what gin's middleware gave it, as
// the workers' handler.
func (g *Gateway) serveDirectAPI(w http.ResponseWriter, r *http.Request) {
	g.serveDirect(w, r, g.serveAPI)
}

// serveDirect runs serve as the request's only handler, with what gin's
// middleware gave it: a request id and the panic handler.
func (g *Gateway) serveDirect(w http.ResponseWriter, r *http.Request, serve func(http.ResponseWriter, *http.Request, string)) {
	id := r.Header.Get("X-Request-Id")
	if !saneID(id) {
		id = newID()
	}
	w.Header().Set("X-Request-Id", id)
	aw := &apiWriter{w: w, status: http.StatusNotFound}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			g.log.Error("panic serving request", "request_id", id, "panic", p)
			if !aw.sent {
				problem.Write(aw, problem.New(http.StatusInternalServerError, problem.ReasonInternal,
					"an internal error occurred; the request id identifies it in the gateway's log"), r.URL.Path, id)
			}
		}
		aw.finish()
	}()
	serve(aw, r, id)
}

// ginRoutes reports whether gin may have a route for path: the prefixes of
// every route routes() registers. Anything else would reach gin's NoRoute,
// which is the pipeline.
func ginRoutes(path string) bool {
	return strings.HasPrefix(path, "/_gateway") || strings.HasPrefix(path, "/healthz") || strings.HasPrefix(path, "/readyz") ||
		strings.HasPrefix(path, "/favicon.ico") || strings.HasPrefix(path, "/webhooks")
}

// apiWriter behaves as gin's writer did for a request gin did not route:
// the status starts at 404 and is only sent with the first byte of the body
// (or at the end), so a panic before any byte can still answer 500; an
// answer that wrote nothing with status 404 gets gin's "404 page not
// found".
type apiWriter struct {
	w      http.ResponseWriter
	status int
	sent   bool
}

func (a *apiWriter) Header() http.Header { return a.w.Header() }

func (a *apiWriter) WriteHeader(code int) {
	if code <= 0 || a.status == code || a.sent {
		return
	}
	a.status = code
}

func (a *apiWriter) sendHeader() {
	if !a.sent {
		a.sent = true
		a.w.WriteHeader(a.status)
	}
}

func (a *apiWriter) Write(b []byte) (int, error) {
	a.sendHeader()
	return a.w.Write(b)
}

// Status is the answer's status, read by finish for the audit record.
func (a *apiWriter) Status() int { return a.status }

func (a *apiWriter) Flush() {
	a.sendHeader()
	if f, ok := a.w.(http.Flusher); ok {
		f.Flush()
	}
}

func (a *apiWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	a.sent = true
	return http.NewResponseController(a.w).Hijack()
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (a *apiWriter) Unwrap() http.ResponseWriter { return a.w }

// finish ends the answer as gin's NoRoute handling did.
func (a *apiWriter) finish() {
	if a.sent {
		return
	}
	if a.status == http.StatusNotFound {
		a.w.Header()["Content-Type"] = []string{"text/plain"}
		a.Write([]byte("404 page not found")) //nolint:errcheck // the client may be gone
		return
	}
	a.sendHeader()
}
