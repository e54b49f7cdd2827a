package proxy

import (
	"context"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// seen is what an upstream received.
type seen struct {
	method, uri, host, body string
	header                  http.Header
}

// echoUpstream records each request and answers with the headers and
// trailers the test asks for in X-Answer-* request headers' stead: a fixed
// answer with hop-by-hop headers, a Connection-listed one and a trailer.
func echoUpstream(t *testing.T, got *seen) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		*got = seen{method: r.Method, uri: r.RequestURI, host: r.Host, body: string(b), header: r.Header.Clone()}
		h := w.Header()
		h.Set("Connection", "X-Answer-Hop")
		h.Set("X-Answer-Hop", "1")
		h.Set("Keep-Alive", "timeout=5")
		h.Set("Proxy-Authenticate", "Basic")
		h.Add("X-Answer", "a")
		h.Add("X-Answer", "b")
		h.Set("Content-Type", "application/json")
		h.Set("Trailer", "X-Sum")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"ok":true}`) //nolint:errcheck
		h.Set("X-Sum", "42")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestForwardsAsReverseProxyDoes sends the same requests through the Proxy
// and through httputil.ReverseProxy set up the same way (Rewrite, the same
// dropped headers), and compares what the upstream received and what the
// client got: the Proxy replaced ReverseProxy and must forward the same.
func TestForwardsAsReverseProxyDoes(t *testing.T) {
	requests := []struct {
		name   string
		method string
		target string
		body   string
		header http.Header
	}{
		{name: "plain GET", method: "GET", target: "/contacts/abc", header: http.Header{"Accept": {"application/json"}}},
		{name: "query and escaped path", method: "GET", target: "/contacts/a%2Fb?locationId=loc1&limit=20"},
		{name: "body", method: "PUT", target: "/contacts/abc", body: `{"firstName":"Rosan"}`,
			header: http.Header{"Content-Type": {"application/json"}}},
		{name: "credentials and forwarding headers", method: "GET", target: "/x", header: http.Header{
			"Authorization": {"Bearer client-key"}, "Cookie": {"a=b"}, "X-Forwarded-For": {"10.0.0.1"},
			"X-Forwarded-Host": {"evil"}, "X-Forwarded-Proto": {"http"}, "Forwarded": {"for=10.0.0.1"},
			"Proxy-Authorization": {"Basic x"}, "X-Drop-Me": {"1"}}},
		{name: "hop-by-hop and Connection-listed", method: "GET", target: "/x", header: http.Header{
			"Connection": {"X-Hop, keep-alive", "x-other-hop"}, "X-Hop": {"1"}, "X-Other-Hop": {"2"},
			"Keep-Alive": {"timeout=5"}, "Proxy-Connection": {"keep-alive"}, "Trailer": {"X-T"}, "X-Kept": {"yes"}}},
		{name: "TE trailers kept alone", method: "GET", target: "/x", header: http.Header{"Te": {"gzip, trailers"}}},
		{name: "TE without trailers", method: "GET", target: "/x", header: http.Header{"Te": {"gzip"}}},
		{name: "several values", method: "GET", target: "/x", header: http.Header{"X-Multi": {"a", "b", "c"}, "User-Agent": {"rankr/1.0"}}},
	}
	var viaProxy, viaReverse seen
	upP, upR := echoUpstream(t, &viaProxy), echoUpstream(t, &viaReverse)
	base := func(s *httptest.Server) *url.URL { u, _ := url.Parse(s.URL + "/base"); return u }

	p := New(Options{Target: base(upP), Transport: http.DefaultTransport, DropHeaders: []string{"X-Drop-Me"}})
	targetR := base(upR)
	drop := []string{"Authorization", "Cookie", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded", "X-Drop-Me"}
	rp := &httputil.ReverseProxy{Transport: http.DefaultTransport, Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(targetR)
		pr.Out.Host = targetR.Host
		for _, h := range drop {
			pr.Out.Header.Del(h)
		}
	}}

	for _, tc := range requests {
		t.Run(tc.name, func(t *testing.T) {
			send := func(h http.Handler) *http.Response {
				r := httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body))
				if tc.body == "" {
					r = httptest.NewRequest(tc.method, tc.target, nil)
				}
				maps.Copy(r.Header, tc.header)
				w := httptest.NewRecorder()
				w.Header().Set("X-Request-Id", "req-1") // set before the proxy, as the gateway does
				w.Header().Set("X-Answer", "pre")       // and one the upstream sends too: its values follow
				h.ServeHTTP(w, r)
				return w.Result()
			}
			gotP, gotR := send(p), send(rp)

			// Upstream side. The host differs (two upstreams); the rest must not.
			viaProxy.host, viaReverse.host = "", ""
			if viaProxy.method != viaReverse.method || viaProxy.uri != viaReverse.uri || viaProxy.body != viaReverse.body {
				t.Errorf("upstream got %s %s %q; ReverseProxy sends %s %s %q",
					viaProxy.method, viaProxy.uri, viaProxy.body, viaReverse.method, viaReverse.uri, viaReverse.body)
			}
			if !equalHeaders(viaProxy.header, viaReverse.header) {
				t.Errorf("upstream got headers\n%v\nReverseProxy sends\n%v", viaProxy.header, viaReverse.header)
			}
			for _, never := range []string{"Authorization", "Cookie", "X-Forwarded-For", "X-Drop-Me", "X-Hop", "Keep-Alive"} {
				if v, ok := viaProxy.header[never]; ok {
					t.Errorf("upstream got %s: %q; it is never forwarded", never, v)
				}
			}

			// Client side.
			bodyP, _ := io.ReadAll(gotP.Body)
			bodyR, _ := io.ReadAll(gotR.Body)
			if gotP.StatusCode != gotR.StatusCode || string(bodyP) != string(bodyR) {
				t.Errorf("client got %d %q; ReverseProxy gives %d %q", gotP.StatusCode, bodyP, gotR.StatusCode, bodyR)
			}
			// The Proxy declares the buffered length; ReverseProxy streams
			// what the upstream declared (chunked here, for the trailer).
			gotP.Header.Del("Content-Length")
			gotP.Header.Del("Trailer") // announced by ReverseProxy only
			gotR.Header.Del("Trailer")
			if !equalHeaders(gotP.Header, gotR.Header) {
				t.Errorf("client got headers\n%v\nReverseProxy gives\n%v", gotP.Header, gotR.Header)
			}
			if gotP.Trailer.Get("X-Sum") != "42" || gotR.Trailer.Get("X-Sum") != "42" {
				t.Errorf("trailer X-Sum = %q; ReverseProxy gives %q; want 42", gotP.Trailer.Get("X-Sum"), gotR.Trailer.Get("X-Sum"))
			}
		})
	}
}

func equalHeaders(a, b http.Header) bool {
	return maps.EqualFunc(a, b, func(x, y []string) bool { return slices.Equal(x, y) })
}

// TestForwardDoesNotTouchTheIncomingRequest: the gateway reads the client's
// request after forwarding (audit, the access log, replays): the outgoing
// request must have a header and URL of its own.
func TestForwardDoesNotTouchTheIncomingRequest(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer up.Close()
	u, _ := url.Parse(up.URL)
	mutate := func(out *http.Request) {
		out.Header.Set("Authorization", "Bearer ghl-secret")
		out.Header["X-Multi"][0] = "changed"
		out.URL.Path = "/elsewhere"
	}
	p := New(Options{Target: u, Transport: roundTripFunc(func(out *http.Request) (*http.Response, error) {
		mutate(out)
		return http.DefaultTransport.RoundTrip(out)
	})})
	r := httptest.NewRequest("GET", "/contacts/abc", nil)
	r.Header["X-Multi"] = []string{"a", "b"}
	r.Header.Set("Authorization", "Bearer client-key")
	p.ServeHTTP(httptest.NewRecorder(), r)
	if got := r.Header.Get("Authorization"); got != "Bearer client-key" {
		t.Errorf("incoming Authorization = %q after forwarding; want the client's, untouched", got)
	}
	if got := r.Header["X-Multi"]; !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("incoming X-Multi = %q after forwarding; want [a b]", got)
	}
	if r.URL.Path != "/contacts/abc" {
		t.Errorf("incoming path = %q after forwarding; want /contacts/abc", r.URL.Path)
	}
}

// TestServeForwardsUnderTheGivenContext: Serve sends the outgoing request
// under its ctx (the gateway's exchange and upstream deadline ride there),
// and leaves the incoming request's context as it was.
func TestServeForwardsUnderTheGivenContext(t *testing.T) {
	u, _ := url.Parse("http://ghl.example")
	var seen any
	p := New(Options{Target: u, Transport: roundTripFunc(func(out *http.Request) (*http.Response, error) {
		seen = out.Context().Value(ctxKey{})
		return &http.Response{StatusCode: http.StatusNoContent, Header: http.Header{}, Body: http.NoBody, Request: out}, nil
	})})
	r := httptest.NewRequest("GET", "/contacts/abc", nil)
	before := r.Context()
	w := httptest.NewRecorder()
	p.Serve(context.WithValue(context.Background(), ctxKey{}, "exchange"), w, r)
	if seen != "exchange" {
		t.Errorf("outgoing context value = %v; want the one Serve was given", seen)
	}
	if r.Context() != before {
		t.Error("Serve replaced the incoming request's context; want it untouched")
	}
	if w.Code != http.StatusNoContent {
		t.Errorf("status = %d; want the upstream's 204", w.Code)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type ctxKey struct{}

// TestForwardErrorsGoToOnError: a transport failure and an inspector's
// refusal both reach OnError with the request's context, and a refused
// answer's body never reaches the client.
func TestForwardErrorsGoToOnError(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Secret-Location", "loc2")
		io.WriteString(w, `{"contact":{"locationId":"loc2"}}`) //nolint:errcheck
	}))
	defer up.Close()
	u, _ := url.Parse(up.URL)
	refused := errors.New("location denied")
	down := errors.New("connection refused")
	tests := []struct {
		name      string
		transport http.RoundTripper
		inspect   Inspector
		want      error
	}{
		{"transport error", roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, down }), nil, down},
		{"inspector refuses", http.DefaultTransport, func(*http.Request, *http.Response, []byte) error { return refused }, refused},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var gotErr error
			var gotCtx any
			p := New(Options{Target: u, Transport: tc.transport, Inspect: tc.inspect, Recycle: func(*http.Request) bool { return true },
				OnError: func(w http.ResponseWriter, r *http.Request, err error) {
					gotErr, gotCtx = err, r.Context().Value(ctxKey{})
					w.WriteHeader(http.StatusForbidden)
				}})
			r := httptest.NewRequest("GET", "/contacts/abc", nil)
			r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, "exchange"))
			w := httptest.NewRecorder()
			p.ServeHTTP(w, r)
			if !errors.Is(gotErr, tc.want) || gotCtx != "exchange" {
				t.Errorf("OnError got %v with context value %v; want %v and the request's context", gotErr, gotCtx, tc.want)
			}
			if w.Code != http.StatusForbidden || w.Body.Len() != 0 || w.Header().Get("X-Secret-Location") != "" {
				t.Errorf("client got %d %q %v; want only OnError's 403", w.Code, w.Body, w.Header())
			}
		})
	}
}
