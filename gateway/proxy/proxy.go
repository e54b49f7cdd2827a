// Package proxy forwards a checked request to its stage's upstream, buffers
// the answer so the gateway can inspect it (location, response schema,
// capture) before the client sees a byte, and reports failures as errors
// for the gateway's one error-to-response function.
//
// It does what httputil.ReverseProxy (with Rewrite) does for a request whose
// answer is read whole, and only that. ReverseProxy is built to stream:
// flush intervals, copy buffers, 1xx and protocol upgrades, trailer
// announcements. The gateway never streams, and per request ReverseProxy
// cloned every header, then deleted the nine hop-by-hop names one
// Header.Del at a time from both the request and the answer, copied the
// answer's headers one Header.Add per value, and parsed the Content-Type to
// decide how to flush. Here the request's headers are copied once,
// skipping what must not be forwarded, and the answer's are moved to the
// client's map without copies: a GET /contacts/{id} through the gateway
// costs about 20,000 instructions (8%) fewer (make bench-instr).
//
// What a client sees is what ReverseProxy gave it, with these exceptions:
// a protocol upgrade (Connection: Upgrade) is forwarded as a plain request
// (GHL's API has none), 1xx informational answers are not relayed, and
// trailers the upstream sends follow the body without being announced.
package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"
)

// ErrResponseTooLarge means GHL answered with more than the gateway buffers.
var ErrResponseTooLarge = errors.New("upstream response too large")

// Inspector looks at a buffered upstream answer. It may change resp's
// headers or return an error to replace the answer (the body is not sent).
type Inspector func(out *http.Request, resp *http.Response, body []byte) error

// Options configure a Proxy.
type Options struct {
	// Target is the upstream base URL; the request's path is appended.
	Target *url.URL
	// Transport carries the request (credential, retries, or an in-process
	// handler).
	Transport http.RoundTripper
	// Inspect, when set, sees every answer before the client does.
	Inspect Inspector
	// OnError writes the answer for a failed exchange. It is given the
	// outgoing request, whose context is the incoming one's.
	OnError func(w http.ResponseWriter, r *http.Request, err error)
	// MaxResponseBytes caps buffered answers. Default 16 MiB.
	MaxResponseBytes int64
	// DropHeaders are request headers never forwarded (beyond hop-by-hop
	// ones and Authorization).
	DropHeaders []string
	// Recycle, when set, says whether an answer's buffered body may be
	// reused for a later answer once the client has it: false when
	// something kept the slice Inspect was given. Nil never reuses.
	Recycle func(out *http.Request) bool
}

// Proxy forwards requests to one upstream; see the package comment.
type Proxy struct {
	target    *url.URL
	targetEsc string // target.EscapedPath(), once
	transport http.RoundTripper
	inspect   Inspector
	onError   func(w http.ResponseWriter, r *http.Request, err error)
	maxBytes  int64
	recycle   func(out *http.Request) bool
	// skip holds the canonical names of the request headers never
	// forwarded: hop-by-hop ones, credentials, forwarding headers (a client
	// must not choose what GHL believes about the path) and DropHeaders.
	skip   map[string]bool
	bodies bodyPool
}

// hopHeaders are the hop-by-hop headers (RFC 9110, section 7.6.1, and the
// older names ReverseProxy still removes), canonical.
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// New returns a Proxy configured by opts.
func New(opts Options) *Proxy {
	if opts.MaxResponseBytes <= 0 {
		opts.MaxResponseBytes = 16 << 20
	}
	p := &Proxy{
		target: opts.Target, targetEsc: opts.Target.EscapedPath(), transport: opts.Transport,
		inspect: opts.Inspect, onError: opts.OnError, maxBytes: opts.MaxResponseBytes, recycle: opts.Recycle,
		skip: map[string]bool{},
	}
	if p.onError == nil {
		p.onError = func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) }
	}
	for _, h := range hopHeaders {
		p.skip[h] = true
	}
	for _, h := range append([]string{"Authorization", "Cookie", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded"}, opts.DropHeaders...) {
		p.skip[http.CanonicalHeaderKey(h)] = true
	}
	return p
}

// ServeHTTP forwards r and writes the upstream's answer, or what OnError
// makes of a failure, to w.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.Serve(r.Context(), w, r)
}

// Serve is ServeHTTP with the outgoing request under ctx instead of r's
// context: a caller that would otherwise copy r only to give it another
// context (r.WithContext) saves that copy, since the proxy copies r anyway.
func (p *Proxy) Serve(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	out := p.outgoing(ctx, r)
	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		p.onError(w, out, err)
		return
	}
	removeHopHeaders(resp.Header)
	body, box, err := p.buffer(resp)
	if err == nil && p.inspect != nil {
		err = p.inspect(out, resp, body)
	}
	if err != nil {
		p.release(out, box)
		p.onError(w, out, err)
		return
	}
	// The answer's header map is the proxy's own: its value slices move
	// to the client's map as they are. The client's map holds few headers
	// (the gateway's request id), the answer's a dozen: the few are looked
	// up in the answer's, rather than each of the dozen in the client's.
	dst := w.Header()
	for k, have := range dst {
		if vv, ok := resp.Header[k]; ok {
			resp.Header[k] = append(have, vv...)
		}
	}
	for k, vv := range resp.Header {
		dst[k] = vv
	}
	w.WriteHeader(resp.StatusCode)
	if len(body) > 0 {
		// A failed write means the client has gone: nothing is left to
		// tell it, and the exchange is recorded as it was decided.
		w.Write(body) //nolint:errcheck
	}
	for k, vv := range resp.Trailer {
		dst[http.TrailerPrefix+k] = vv
	}
	p.release(out, box)
}

// outgoing is the request sent upstream: r under the target's scheme, host
// and base path, with ctx, and a header of its own.
func (p *Proxy) outgoing(ctx context.Context, r *http.Request) *http.Request {
	out := r.WithContext(ctx) // a shallow copy, changed below
	u := *r.URL
	u.Scheme, u.Host = p.target.Scheme, p.target.Host
	// The gateway has already set the path to the one relative to the API
	// root (the /staging or /sandbox prefix removed). The query goes as the
	// client sent it: the gateway refuses one that does not parse.
	u.Path = joinPath(p.target.Path, r.URL.Path)
	if r.URL.RawPath != "" {
		u.RawPath = joinPath(p.targetEsc, r.URL.RawPath)
	} else {
		u.RawPath = ""
	}
	out.URL = &u
	out.Host = p.target.Host
	out.RequestURI = ""
	out.Close = false
	out.Trailer = nil
	out.Form, out.PostForm, out.MultipartForm = nil, nil, nil
	out.Response = nil
	if r.ContentLength == 0 {
		out.Body = nil // as ReverseProxy: no body is sent for a declared empty one
	}
	out.Header = p.header(r.Header)
	return out
}

// noUserAgent keeps Go's default User-Agent off a request whose client sent
// none (a value "" is not sent). Shared: len equals cap, so an append
// copies it.
var noUserAgent = []string{""}

// header copies in, without what must not be forwarded, into a new map
// whose values share one backing array (as Header.Clone does).
func (p *Proxy) header(in http.Header) http.Header {
	n := 0
	for _, vv := range in {
		n += len(vv)
	}
	vals := make([]string, n)
	// Room for what the transport adds: the credential, Version, and
	// User-Agent.
	h := make(http.Header, len(in)+3)
	conn := in["Connection"]
	for k, vv := range in {
		if p.skip[k] || (len(conn) > 0 && listedIn(conn, k)) {
			continue
		}
		m := copy(vals, vv)
		h[k] = vals[:m:m]
		vals = vals[m:]
	}
	if httpguts.HeaderValuesContainsToken(in["Te"], "trailers") {
		h["Te"] = []string{"trailers"}
	}
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = noUserAgent
	}
	return h
}

// listedIn says whether the Connection header values conn name the header
// key: those are hop-by-hop too (RFC 9110, section 7.6.1).
func listedIn(conn []string, key string) bool {
	for _, f := range conn {
		for sf := range strings.SplitSeq(f, ",") {
			if strings.EqualFold(textproto.TrimString(sf), key) {
				return true
			}
		}
	}
	return false
}

// removeHopHeaders deletes an answer's hop-by-hop headers, those its
// Connection header lists first.
func removeHopHeaders(h http.Header) {
	for _, f := range h["Connection"] {
		for sf := range strings.SplitSeq(f, ",") {
			if sf = textproto.TrimString(sf); sf != "" {
				h.Del(sf)
			}
		}
	}
	for _, k := range hopHeaders {
		delete(h, k) // what Header.Del does with a canonical key
	}
}

// buffer reads the answer whole, into a pooled buffer when it may be
// recycled (box is then its pool entry, released by release), and closes
// the body. The answer then declares the length it has.
func (p *Proxy) buffer(resp *http.Response) (body []byte, box *[]byte, err error) {
	var start []byte
	if p.recycle != nil && resp.ContentLength >= 0 && resp.ContentLength < maxRecycled {
		box = p.bodies.get()
		start = (*box)[:0]
	}
	body, err = readCappedInto(resp.Body, resp.ContentLength, p.maxBytes, start)
	resp.Body.Close()
	if err != nil {
		p.bodies.put(box)
		return nil, nil, err
	}
	if box != nil {
		*box = body
	}
	resp.Body = http.NoBody
	resp.ContentLength = int64(len(body))
	n := strconv.Itoa(len(body))
	if v := resp.Header["Content-Length"]; len(v) == 1 {
		// In place: a map holding eight entries (GHL's answers do) grows
		// on any assignment, even to a key it has: 700 bytes per answer.
		v[0] = n
	} else {
		resp.Header["Content-Length"] = []string{n}
	}
	delete(resp.Header, "Transfer-Encoding")
	return body, box, nil
}

// release puts an answer's buffer back in the pool once the client has it,
// unless the exchange kept it (Recycle says so).
func (p *Proxy) release(out *http.Request, box *[]byte) {
	if box != nil && p.recycle(out) {
		p.bodies.put(box)
	}
}

// readCapped reads at most max bytes of r, failing beyond. A declared
// length sizes the buffer once instead of growing it from 512 bytes.
func readCapped(r io.Reader, length, max int64) ([]byte, error) {
	return readCappedInto(r, length, max, nil)
}

// readCappedInto is readCapped reading into buf when it is large enough.
func readCappedInto(r io.Reader, length, max int64, buf []byte) ([]byte, error) {
	var body []byte
	var err error
	if length >= 0 && length <= max {
		// +1: room to see a body longer than declared without growing.
		if int64(cap(buf)) >= length+1 {
			body = buf[:0]
		} else {
			body = make([]byte, 0, length+1)
		}
		lr := io.LimitReader(r, max+1)
		for {
			if len(body) == cap(body) {
				body = append(body, 0)[:len(body)]
			}
			var n int
			n, err = lr.Read(body[len(body):cap(body)])
			body = body[:len(body)+n]
			if err == io.EOF {
				err = nil
				break
			}
			if err != nil {
				break
			}
		}
	} else {
		body, err = io.ReadAll(io.LimitReader(r, max+1))
	}
	if err != nil {
		return nil, fmt.Errorf("read upstream answer: %w", err)
	}
	if int64(len(body)) > max {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrResponseTooLarge, max)
	}
	return body, nil
}

func joinPath(base, p string) string {
	if base == "" || base == "/" {
		return p
	}
	return strings.TrimSuffix(base, "/") + "/" + strings.TrimPrefix(p, "/")
}

// maxRecycled bounds the answers whose buffers are reused: a rare large
// answer must not leave a large buffer in the pool.
const maxRecycled = 64 << 10

// bodyPool keeps buffered answers' bodies for reuse: about a tenth of the
// bytes the gateway allocated per request on GET /contacts/{id}. It holds
// *[]byte, each box travelling with its buffer, so that putting one back
// allocates nothing.
type bodyPool struct{ p sync.Pool }

func (b *bodyPool) get() *[]byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return v
	}
	return new([]byte)
}

func (b *bodyPool) put(box *[]byte) {
	if box == nil || cap(*box) > maxRecycled {
		return
	}
	*box = (*box)[:0]
	b.p.Put(box)
}

// ErrUpstreamAborted means the in-process upstream dropped the exchange
// without an answer (the mock's "reset" fault).
var ErrUpstreamAborted = errors.New("upstream closed the connection without an answer")

// HandlerTransport carries requests to an in-process http.Handler (the GHL
// mock), so the staging and sandbox stages go through exactly the same
// forwarding, inspection and error paths as production.
type HandlerTransport struct {
	Handler http.Handler
}

// RoundTrip serves req with the handler and returns what it wrote.
func (t HandlerTransport) RoundTrip(req *http.Request) (resp *http.Response, err error) {
	rec := &recorder{header: make(http.Header), code: http.StatusOK}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				resp, err = nil, ErrUpstreamAborted
				return
			}
			panic(p)
		}
	}()
	if req.Body == nil {
		req.Body = http.NoBody
	}
	t.Handler.ServeHTTP(rec, req)
	if err := req.Context().Err(); err != nil && !rec.wrote {
		return nil, err
	}
	if rec.hijacked {
		return nil, ErrUpstreamAborted
	}
	return &http.Response{
		Status:        strconv.Itoa(rec.code) + " " + http.StatusText(rec.code),
		StatusCode:    rec.code,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        rec.header,
		Body:          io.NopCloser(bytes.NewReader(rec.body.Bytes())),
		ContentLength: int64(rec.body.Len()),
		Request:       req,
	}, nil
}

type recorder struct {
	header   http.Header
	body     bytes.Buffer
	code     int
	wrote    bool
	hijacked bool
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.wrote {
		return
	}
	r.code, r.wrote = code, true
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.body.Write(b)
}

// WithTimeout bounds the whole exchange of every request through rt. A
// request whose context already ends within d goes through as it is: a
// caller that bounds the exchange itself (the gateway's forward, once per
// request) saves a context, a copy of the request and a body wrapper.
func WithTimeout(rt http.RoundTripper, d time.Duration) http.RoundTripper {
	return timeoutTransport{rt: rt, d: d}
}

type timeoutTransport struct {
	rt http.RoundTripper
	d  time.Duration
}

func (t timeoutTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if end, ok := req.Context().Deadline(); ok && time.Until(end) <= t.d {
		return t.rt.RoundTrip(req)
	}
	ctx, cancel := context.WithTimeout(req.Context(), t.d)
	resp, err := t.rt.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
