package credential

import (
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
)

// DefaultVersion is GHL's API version for the contacts endpoints.
const DefaultVersion = "2021-07-28"

// strippedHeaders never reach GHL: they carry the Rankr client's own
// credentials (its ghlgate key) or session.
var strippedHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "X-Api-Key"}

type transport struct {
	base    http.RoundTripper
	src     Source
	version string
	// inPlace: the caller hands each request to this one call (see
	// NewProxyTransport), so the first attempt sets its headers in place.
	inPlace bool
	// last is the Authorization value of the latest token: a token lives
	// for many requests, and building "Bearer "+token and its slice cost
	// two allocations per request.
	last atomic.Pointer[bearer]
}

// bearer is a token and its Authorization header value. The value is
// shared by every request that carries the token and never modified.
type bearer struct {
	tok   Secret
	value []string
}

// authorization returns the Authorization header value for tok.
func (t *transport) authorization(tok Secret) []string {
	if b := t.last.Load(); b != nil && b.tok == tok {
		return b.value
	}
	b := &bearer{tok: tok, value: []string{"Bearer " + tok.Reveal()}}
	t.last.Store(b)
	return b.value
}

// NewTransport returns a RoundTripper that sends each request to base with
// ghlgate's own credential from src instead of the client's, and Version set
// to version when the request has none. After a 401 from upstream it calls
// src.Invalidate and retries once with the new token, replaying the body
// through req.GetBody; a request with a body and no GetBody is not retried,
// nor is one whose token did not change (a PIT), and the 401 is returned.
//
// A Source error (ErrNotConfigured, ErrRefreshRejected, ErrPersist, ...) is
// returned wrapped, with no response; the proxy's error handler maps it. The
// token is never logged. base defaults to http.DefaultTransport.
func NewTransport(base http.RoundTripper, src Source, version string) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	if version == "" {
		version = DefaultVersion
	}
	return &transport{base: base, src: src, version: version}
}

// NewProxyTransport is NewTransport for a caller that builds every request
// for this one call and reads nothing from it afterwards, as the
// gateway's proxy does with its outgoing request: the first attempt
// strips the client's credentials and sets ghlgate's on that request itself
// instead of on a copy. A copy of the headers per request was the largest
// cost of this transport; a retry after a 401 still goes out on a copy.
func NewProxyTransport(base http.RoundTripper, src Source, version string) http.RoundTripper {
	t := NewTransport(base, src, version).(*transport)
	t.inPlace = true
	return t
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	tok, err := t.src.Token(ctx)
	if err != nil {
		closeBody(req)
		return nil, fmt.Errorf("ghl credential (%s): %w", t.src.Kind(), err)
	}
	out := req
	if t.inPlace {
		setCredential(req.Header, t.authorization(tok), t.version)
	} else {
		out = t.prepare(req, req.Body, tok)
	}
	resp, err := t.base.RoundTrip(out)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}

	// Invalidate even when this request cannot be retried, so that the next
	// one goes out with a fresh token.
	t.src.Invalidate(ctx, tok)
	hasBody := req.Body != nil && req.Body != http.NoBody
	if hasBody && req.GetBody == nil {
		return resp, nil
	}
	next, err := t.src.Token(ctx)
	if err != nil {
		drain(resp)
		return nil, fmt.Errorf("ghl credential (%s) after upstream 401: %w", t.src.Kind(), err)
	}
	if next == tok {
		// Nothing new to try (a PIT, or a source that could not refresh).
		return resp, nil
	}
	var body io.ReadCloser
	if hasBody {
		if body, err = req.GetBody(); err != nil {
			// The first answer stands; the retry is only an optimisation.
			return resp, nil
		}
	}
	drain(resp)
	return t.base.RoundTrip(t.prepare(req, body, next))
}

// prepare clones req (RoundTrip must not modify it) with body and the token.
func (t *transport) prepare(req *http.Request, body io.ReadCloser, tok Secret) *http.Request {
	out := req.Clone(req.Context())
	out.Body = body
	setCredential(out.Header, t.authorization(tok), t.version)
	return out
}

// setCredential replaces the client's credentials in h with the
// Authorization value auth, and sets Version when the client sent none.
func setCredential(h http.Header, auth []string, version string) {
	for _, k := range strippedHeaders {
		delete(h, k) // the keys are canonical
	}
	h["Authorization"] = auth
	if len(h["Version"]) == 0 || h["Version"][0] == "" {
		h["Version"] = []string{version}
	}
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// drain reads a little of the unused 401 so its connection can be reused.
func drain(resp *http.Response) {
	io.CopyN(io.Discard, resp.Body, 4<<10) //nolint:errcheck // best effort
	resp.Body.Close()
}
