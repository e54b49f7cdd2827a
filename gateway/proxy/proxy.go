// Package proxy forwards a checked request to its stage's upstream with
// httputil.ReverseProxy (Rewrite, never Director), buffers the answer so the
// gateway can inspect it (location, response schema, capture) before the
// client sees a byte, and reports failures as errors for the gateway's one
// error-to-response function.
package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
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
	// OnError writes the answer for a failed exchange.
	OnError func(w http.ResponseWriter, r *http.Request, err error)
	// MaxResponseBytes caps buffered answers. Default 16 MiB.
	MaxResponseBytes int64
	// DropHeaders are request headers never forwarded (beyond hop-by-hop
	// ones and Authorization).
	DropHeaders []string
	// Recycle, when set, says whether an answer's buffered body may be
	// reused for a later answer once the client has it (the proxy closes
	// the body): false when something kept the slice Inspect was given.
	// Nil never reuses.
	Recycle func(out *http.Request) bool
	Logger  *slog.Logger
}

// New returns a ReverseProxy configured by opts.
func New(opts Options) *httputil.ReverseProxy {
	if opts.MaxResponseBytes <= 0 {
		opts.MaxResponseBytes = 16 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	target := opts.Target
	drop := append([]string{"Authorization", "Cookie", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded"}, opts.DropHeaders...)
	// Canonical once, so that each request's removal is a map delete (what
	// Header.Del does after canonicalizing the key).
	for i, h := range drop {
		drop[i] = http.CanonicalHeaderKey(h)
	}
	bodies := &bodyPool{}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			// The gateway has already set In.URL.Path to the path relative to
			// the API root (the /staging or /sandbox prefix removed).
			pr.Out.URL.Scheme = target.Scheme
			pr.Out.URL.Host = target.Host
			pr.Out.URL.Path = joinPath(target.Path, pr.In.URL.Path)
			if pr.In.URL.RawPath != "" {
				pr.Out.URL.RawPath = joinPath(target.EscapedPath(), pr.In.URL.RawPath)
			} else {
				pr.Out.URL.RawPath = ""
			}
			pr.Out.Host = target.Host
			for _, h := range drop {
				delete(pr.Out.Header, h)
			}
		},
		Transport: opts.Transport,
		// No periodic or per-write flushing: the answer is buffered whole
		// before the client sees a byte, so flushing gains nothing, and
		// FlushInterval -1 cost a timer, a goroutine and an early write
		// of the headers alone (two writes per answer instead of one):
		// a fifth of the proxy's CPU per request.
		FlushInterval: 0,
		// Without a pool, ReverseProxy allocates (and zeroes) 32 KiB per
		// answer: over half of the bytes the gateway allocated per request.
		BufferPool: &pool{},
		ErrorLog:   log.New(io.Discard, "", 0),
		ModifyResponse: func(resp *http.Response) error {
			var box *[]byte
			var start []byte
			recycle := opts.Recycle != nil && resp.ContentLength >= 0 && resp.ContentLength < maxRecycled
			if recycle {
				box = bodies.get()
				start = (*box)[:0]
			}
			body, err := readCappedInto(resp.Body, resp.ContentLength, opts.MaxResponseBytes, start)
			resp.Body.Close()
			if err != nil {
				if recycle {
					bodies.put(box)
				}
				return err
			}
			if recycle {
				*box = body
				rb := &recycledBody{box: box, pool: bodies, out: resp.Request, recycle: opts.Recycle}
				rb.Reset(body)
				resp.Body = rb
			} else {
				resp.Body = io.NopCloser(bytes.NewReader(body))
			}
			resp.ContentLength = int64(len(body))
			resp.Header["Content-Length"] = []string{strconv.Itoa(len(body))}
			delete(resp.Header, "Transfer-Encoding")
			if opts.Inspect != nil {
				return opts.Inspect(resp.Request, resp, body)
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if opts.OnError != nil {
				opts.OnError(w, r, err)
				return
			}
			w.WriteHeader(http.StatusBadGateway)
		},
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

// recycledBody is a buffered answer whose buffer goes back to the pool when
// the proxy closes it (after the client has it), unless recycle says the
// exchange kept it.
type recycledBody struct {
	bytes.Reader
	box     *[]byte
	pool    *bodyPool
	out     *http.Request
	recycle func(out *http.Request) bool
}

func (b *recycledBody) Close() error {
	if b.box != nil && b.recycle(b.out) {
		b.pool.put(b.box)
	}
	b.box = nil // a second Close must not put it twice
	return nil
}

// pool is a sync.Pool of copy buffers for ReverseProxy. It holds each
// buffer as a pointer to its array, which converts to and from the slice
// without allocating (a *[]byte would box a new slice header on every Put).
type pool struct{ p sync.Pool }

// copyBufferSize: the answer is already in memory (buffered for
// inspection) and the connection writes through its own buffer, so a
// small copy buffer costs a few more Write calls on large answers and saves
// memory per request in flight (8 MiB at 1,000 instead of 32).
const copyBufferSize = 8 << 10

func (b *pool) Get() []byte {
	if v, ok := b.p.Get().(*[copyBufferSize]byte); ok {
		return v[:]
	}
	return new([copyBufferSize]byte)[:]
}

func (b *pool) Put(buf []byte) {
	if cap(buf) < copyBufferSize {
		return
	}
	b.p.Put((*[copyBufferSize]byte)(buf[:copyBufferSize]))
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
