package credential_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jarcoal/httpmock"

	"github.com/rankr/ghlgate/gateway/credential"
)

// upstream records what GHL would have received.
type upstream struct {
	mu      sync.Mutex
	headers []http.Header
	bodies  []string
	// reject answers 401 to requests bearing this token.
	reject string
}

func (u *upstream) respond(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
	}
	u.mu.Lock()
	u.headers = append(u.headers, req.Header.Clone())
	u.bodies = append(u.bodies, string(body))
	reject := u.reject
	u.mu.Unlock()
	if reject != "" && req.Header.Get("Authorization") == "Bearer "+reject {
		return httpmock.NewStringResponse(401, `{"statusCode":401,"message":"Invalid JWT"}`), nil
	}
	return httpmock.NewStringResponse(200, `{"contact":{}}`), nil
}

func (u *upstream) seen() ([]http.Header, []string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]http.Header(nil), u.headers...), append([]string(nil), u.bodies...)
}

func clientRequest(t *testing.T, method, body string, header map[string]string) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body) // sets GetBody
	}
	req, err := http.NewRequest(method, upstreamURL, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return req
}

func TestTransportInjectsCredentialAndStripsClientKey(t *testing.T) {
	tests := []struct {
		name        string
		header      map[string]string
		wantVersion string
	}{
		{"version absent", map[string]string{"Authorization": "Bearer rk_live_client_key"}, "2021-07-28"},
		{"version kept", map[string]string{"Authorization": "Bearer rk_live_client_key", "Version": "2023-02-21"}, "2023-02-21"},
		{"every client credential header", map[string]string{"Authorization": "Bearer rk_live_client_key",
			"Cookie": "session=rk_live_client_key", "Proxy-Authorization": "Basic rk_live_client_key",
			"X-Api-Key": "rk_live_client_key"}, "2021-07-28"},
	}
	for _, tc := range tests {
		for _, ctor := range constructors {
			t.Run(tc.name+"/"+ctor.name, func(t *testing.T) {
				mt := httpmock.NewMockTransport()
				up := &upstream{}
				mt.RegisterResponder(http.MethodGet, upstreamURL, up.respond)
				rt := ctor.new(mt, credential.NewStatic("pit-abc", credential.DefaultTokenEnv, nil), "")
				req := clientRequest(t, http.MethodGet, "", tc.header)
				before := req.Header.Clone()
				resp, err := rt.RoundTrip(req)
				if err != nil {
					t.Fatalf("RoundTrip() = %v; want nil", err)
				}
				resp.Body.Close()
				hs, _ := up.seen()
				if len(hs) != 1 {
					t.Fatalf("upstream calls = %d; want 1", len(hs))
				}
				h := hs[0]
				if got := h.Values("Authorization"); len(got) != 1 || got[0] != "Bearer pit-abc" {
					t.Errorf("upstream Authorization = %q; want [Bearer pit-abc]", got)
				}
				if got := h.Get("Version"); got != tc.wantVersion {
					t.Errorf("upstream Version = %q; want %q", got, tc.wantVersion)
				}
				for k, vs := range h {
					for _, v := range vs {
						if strings.Contains(v, "rk_live_client_key") {
							t.Errorf("upstream header %s = %q; want the client key never forwarded", k, v)
						}
					}
				}
				if ctor.inPlace {
					// The proxy's own request is what went out.
					if got := req.Header.Get("Authorization"); got != "Bearer pit-abc" {
						t.Errorf("request Authorization after RoundTrip = %q; want it set in place", got)
					}
					return
				}
				// RoundTrip must not modify the caller's request.
				if req.Header.Get("Authorization") != before.Get("Authorization") || req.Header.Get("Version") != before.Get("Version") {
					t.Errorf("caller's request headers changed to %v; want %v", req.Header, before)
				}
			})
		}
	}
}

// constructors are the two transports: NewTransport copies the request,
// NewProxyTransport sets its headers in place; both send the same.
var constructors = []struct {
	name    string
	new     func(http.RoundTripper, credential.Source, string) http.RoundTripper
	inPlace bool
}{
	{"copy", credential.NewTransport, false},
	{"in place", credential.NewProxyTransport, true},
}

func TestTransportRetriesOnceAfter401(t *testing.T) {
	tests := []struct {
		name      string
		method    string
		body      string
		noGetBody bool
		reject    []string // tokens upstream refuses
		wantCalls int
		wantCode  int
		wantToken int // token endpoint calls
	}{
		{"GET refreshed and retried", http.MethodGet, "", false, []string{"at-1"}, 2, 200, 2},
		{"POST body replayed", http.MethodPost, `{"firstName":"Ada"}`, false, []string{"at-1"}, 2, 200, 2},
		{"no GetBody: not retried", http.MethodPost, `{"firstName":"Ada"}`, true, []string{"at-1"}, 1, 401, 1},
		{"second 401 returned, no third try", http.MethodGet, "", false, []string{"at-1", "at-2"}, 2, 401, 2},
	}
	for _, tc := range tests {
		for _, ctor := range constructors {
			t.Run(tc.name+"/"+ctor.name, func(t *testing.T) {
				r := newRig(t, nil)
				o := r.oauth(t, "rt-0")
				up := &upstream{}
				rejected := map[string]bool{}
				for _, tok := range tc.reject {
					rejected["Bearer "+tok] = true
				}
				r.mt.RegisterResponder(tc.method, upstreamURL, func(req *http.Request) (*http.Response, error) {
					resp, err := up.respond(req)
					if rejected[req.Header.Get("Authorization")] {
						return httpmock.NewStringResponse(401, `{"message":"Invalid JWT"}`), nil
					}
					return resp, err
				})
				rt := ctor.new(r.mt, o, "")
				req := clientRequest(t, tc.method, tc.body, map[string]string{"Authorization": "Bearer rk_client"})
				if tc.noGetBody {
					req.GetBody = nil
				}
				resp, err := rt.RoundTrip(req)
				if err != nil {
					t.Fatalf("RoundTrip() = %v; want nil", err)
				}
				resp.Body.Close()
				if resp.StatusCode != tc.wantCode {
					t.Errorf("status = %d; want %d", resp.StatusCode, tc.wantCode)
				}
				hs, bodies := up.seen()
				if len(hs) != tc.wantCalls {
					t.Fatalf("upstream calls = %d; want %d", len(hs), tc.wantCalls)
				}
				if tc.wantCalls == 2 {
					if got := hs[1].Get("Authorization"); got != "Bearer at-2" {
						t.Errorf("retry Authorization = %q; want Bearer at-2", got)
					}
				}
				for i, b := range bodies {
					if b != tc.body {
						t.Errorf("upstream body %d = %q; want %q", i, b, tc.body)
					}
				}
				if got := r.ep.calls(); got != tc.wantToken {
					t.Errorf("token endpoint calls = %d; want %d", got, tc.wantToken)
				}
				if tc.noGetBody {
					// The 401 still invalidated the token: the next request refreshes.
					if got := mustToken(t, o); got != "at-2" {
						t.Errorf("Token() after an unretried 401 = %q; want at-2", got)
					}
				}
			})
		}
	}
}

func TestTransportConcurrent401sRefreshOnce(t *testing.T) {
	const n = 16
	r := newRig(t, nil)
	o := r.oauth(t, "rt-0")
	mustToken(t, o) // at-1
	// Every request bearing at-1 waits until all n have arrived, so that all
	// n 401s come back together.
	var arrived sync.WaitGroup
	arrived.Add(n)
	var ok, unauthorized atomic.Int64
	r.mt.RegisterResponder(http.MethodGet, upstreamURL, func(req *http.Request) (*http.Response, error) {
		if req.Header.Get("Authorization") == "Bearer at-1" {
			arrived.Done()
			arrived.Wait()
			unauthorized.Add(1)
			return httpmock.NewStringResponse(401, `{}`), nil
		}
		ok.Add(1)
		return httpmock.NewStringResponse(200, `{}`), nil
	})
	// The refresh is held until every request has asked for its second
	// token, so all n are inside Token while the one refresh is in flight.
	release := make(chan struct{})
	r.ep.mu.Lock()
	r.ep.gate = release
	r.ep.mu.Unlock()
	src := &countingSource{Source: o, at: 2 * n, reached: release}
	rt := credential.NewTransport(r.mt, src, "")
	var wg sync.WaitGroup
	codes := make([]int, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			resp, err := rt.RoundTrip(clientRequest(t, http.MethodGet, "", nil))
			if err != nil {
				errs[i] = err
				return
			}
			resp.Body.Close()
			codes[i] = resp.StatusCode
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || codes[i] != 200 {
			t.Errorf("request %d = %d, %v; want 200, nil", i, codes[i], errs[i])
		}
	}
	if got := r.ep.calls(); got != 2 {
		t.Errorf("token endpoint calls = %d; want 2 (the first token and exactly one refresh)", got)
	}
	if unauthorized.Load() != n || ok.Load() != n {
		t.Errorf("upstream 401s, 200s = %d, %d; want %d, %d", unauthorized.Load(), ok.Load(), n, n)
	}
}

func TestTransportSourceErrors(t *testing.T) {
	tests := []struct {
		name string
		src  func(r *rig, t *testing.T) credential.Source
		want error
	}{
		{"none", func(*rig, *testing.T) credential.Source { return credential.None{} }, credential.ErrNotConfigured},
		{"refresh refused", func(r *rig, t *testing.T) credential.Source {
			r.ep.failStatus, r.ep.failBody = 400, `{"error":"invalid_grant"}`
			return r.oauth(t, "rt-0")
		}, credential.ErrRefreshRejected},
	}
	for _, tc := range tests {
		for _, ctor := range constructors {
			t.Run(tc.name+"/"+ctor.name, func(t *testing.T) {
				r := newRig(t, nil)
				up := &upstream{}
				r.mt.RegisterResponder(http.MethodPost, upstreamURL, up.respond)
				rt := ctor.new(r.mt, tc.src(r, t), "")
				body := &closeRecorder{Reader: strings.NewReader("{}")}
				req := clientRequest(t, http.MethodPost, "", nil)
				req.Body = body
				resp, err := rt.RoundTrip(req)
				if !errors.Is(err, tc.want) || resp != nil {
					t.Errorf("RoundTrip() = %v, %v; want nil, %v", resp, err, tc.want)
				}
				if !body.closed {
					t.Errorf("request body closed = false; want true (RoundTrip must close it)")
				}
				if hs, _ := up.seen(); len(hs) != 0 {
					t.Errorf("upstream calls = %d; want 0", len(hs))
				}
			})
		}
	}
}

func TestTransportPIT401NotRetried(t *testing.T) {
	mt := httpmock.NewMockTransport()
	up := &upstream{reject: "pit-old"}
	mt.RegisterResponder(http.MethodGet, upstreamURL, up.respond)
	log := &lockedBuffer{}
	rt := credential.NewTransport(mt, credential.NewStatic("pit-old", "MY_PIT", debugLogger(log)), "")
	resp, err := rt.RoundTrip(clientRequest(t, http.MethodGet, "", nil))
	if err != nil {
		t.Fatalf("RoundTrip() = %v; want nil", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("status = %d; want 401 passed on", resp.StatusCode)
	}
	if hs, _ := up.seen(); len(hs) != 1 {
		t.Errorf("upstream calls = %d; want 1", len(hs))
	}
	if out := log.String(); !strings.Contains(out, "$MY_PIT") || strings.Contains(out, "pit-old") {
		t.Errorf("log = %s; want advice naming $MY_PIT and no token", out)
	}
}

// countingSource closes reached when Token has been called at times.
type countingSource struct {
	credential.Source
	calls   atomic.Int64
	at      int64
	reached chan struct{}
}

func (c *countingSource) Token(ctx context.Context) (credential.Secret, error) {
	if c.calls.Add(1) == c.at {
		close(c.reached)
	}
	return c.Source.Token(ctx)
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

// TestTransportThroughRealSockets runs a gateway and an upstream as two
// httptest servers, with the token endpoint a third, and a ReverseProxy
// using the Transport as the lead will. A server request has no GetBody, so
// a POST is retried after a 401 only when an earlier stage (validation)
// buffered the body and set GetBody; the case without shows the 401 passed on.
func TestTransportThroughRealSockets(t *testing.T) {
	tests := []struct {
		name         string
		bufferBody   bool
		wantStatus   int
		wantUpstream int64
		wantToken    int64
	}{
		{"body buffered: refreshed and retried", true, 201, 2, 1},
		{"body not replayable: 401 passed on", false, 401, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var tokenCalls atomic.Int64
			tokenSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				tokenCalls.Add(1)
				if err := req.ParseForm(); err != nil || req.PostForm.Get("refresh_token") != "rt-0" {
					http.Error(w, `{"error":"invalid_grant"}`, 400)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"access_token":"at-sock","refresh_token":"rt-sock","expires_in":86399}`)
			}))
			defer tokenSrv.Close()
			var mu sync.Mutex
			var gotAuth, gotVersion, gotBody string
			var upstreamCalls atomic.Int64
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				b, _ := io.ReadAll(req.Body)
				if req.Header.Get("Authorization") == "Bearer at-revoked" {
					upstreamCalls.Add(1)
					w.WriteHeader(401) // GHL revoked the stored token early
					return
				}
				upstreamCalls.Add(1)
				mu.Lock()
				gotAuth, gotVersion, gotBody = req.Header.Get("Authorization"), req.Header.Get("Version"), string(b)
				mu.Unlock()
				w.WriteHeader(201)
			}))
			defer up.Close()

			clk := newClock()
			store := credential.NewMemoryStore()
			if err := store.Save(context.Background(), "default", credential.Token{AccessToken: "at-revoked", RefreshToken: "rt-0", ExpiresAt: clk.Now().Add(hour)}); err != nil {
				t.Fatal(err)
			}
			cfg := credential.DefaultConfig()
			cfg.OAuth.ClientID = clientID
			cfg.OAuth.TokenURL = tokenSrv.URL + "/oauth/token"
			if err := cfg.Validate(); err != nil {
				t.Fatalf("Validate() = %v; want nil", err)
			}
			src, err := credential.New(context.Background(), cfg, credential.Options{
				Getenv: envMap(map[string]string{credential.DefaultClientSecretEnv: clientSecret}),
				Store:  store, Now: clk.Now,
			})
			if err != nil {
				t.Fatalf("New() = %v; want nil", err)
			}
			target, _ := url.Parse(up.URL)
			proxy := &httputil.ReverseProxy{
				Rewrite: func(pr *httputil.ProxyRequest) {
					pr.SetURL(target)
					if tc.bufferBody {
						// What the validation stage does after reading the body.
						b, _ := io.ReadAll(pr.Out.Body)
						pr.Out.Body = io.NopCloser(bytes.NewReader(b))
						pr.Out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
					}
				},
				Transport: credential.NewTransport(http.DefaultTransport, src, "2021-07-28"),
			}
			gw := httptest.NewServer(proxy)
			defer gw.Close()

			req, _ := http.NewRequest(http.MethodPost, gw.URL+"/contacts/", bytes.NewReader([]byte(`{"email":"a@b.c"}`)))
			req.Header.Set("Authorization", "Bearer rk_live_client_key")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status = %d; want %d", resp.StatusCode, tc.wantStatus)
			}
			if upstreamCalls.Load() != tc.wantUpstream || tokenCalls.Load() != tc.wantToken {
				t.Errorf("upstream, token calls = %d, %d; want %d, %d", upstreamCalls.Load(), tokenCalls.Load(), tc.wantUpstream, tc.wantToken)
			}
			if tc.wantStatus == 201 {
				mu.Lock()
				defer mu.Unlock()
				if gotAuth != "Bearer at-sock" || gotVersion != "2021-07-28" || gotBody != `{"email":"a@b.c"}` {
					t.Errorf("upstream got Authorization=%q Version=%q body=%q; want Bearer at-sock, 2021-07-28, the body", gotAuth, gotVersion, gotBody)
				}
			}
		})
	}
}
