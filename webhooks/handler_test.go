package webhooks

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// recordingSink keeps what it accepted and fails while told to.
type recordingSink struct {
	mu   sync.Mutex
	got  []Inbound
	fail []error // popped per call; nil entries succeed
}

func (s *recordingSink) Accept(_ context.Context, in Inbound) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.fail) > 0 {
		err := s.fail[0]
		s.fail = s.fail[1:]
		if err != nil {
			return err
		}
	}
	s.got = append(s.got, in)
	return nil
}

func (s *recordingSink) accepted() []Inbound {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Inbound(nil), s.got...)
}

type handlerRig struct {
	srv       *httptest.Server
	clk       *clock
	sink      *recordingSink
	priv      ed25519.PrivateKey
	mu        sync.Mutex
	decisions []Decision
}

func newHandlerRig(t *testing.T, vcfg func(*VerifierConfig)) *handlerRig {
	t.Helper()
	pub, priv := newEd25519(t)
	_, rsaPEM := testRSA(t)
	rig := &handlerRig{clk: &clock{t: t0}, sink: &recordingSink{}, priv: priv}
	cfg := VerifierConfig{Ed25519PublicKeys: []string{ed25519PEM(t, pub), MockPublicKeyPEM},
		LegacyRSAPublicKeyPEM: rsaPEM, Now: rig.clk.Now}
	if vcfg != nil {
		vcfg(&cfg)
	}
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHandler(HandlerConfig{
		Verifier: v,
		Deduper:  NewMemoryDeduper(DeduperConfig{Now: rig.clk.Now}),
		Sink:     rig.sink,
		OnDecision: func(d Decision) {
			rig.mu.Lock()
			rig.decisions = append(rig.decisions, d)
			rig.mu.Unlock()
		},
		MaxBodyBytes: 4096,
		RetryAfter:   90 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	rig.srv = httptest.NewServer(h)
	t.Cleanup(rig.srv.Close)
	return rig
}

func (rig *handlerRig) lastDecision() Decision {
	rig.mu.Lock()
	defer rig.mu.Unlock()
	if len(rig.decisions) == 0 {
		return Decision{}
	}
	return rig.decisions[len(rig.decisions)-1]
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func (rig *handlerRig) post(t *testing.T, method string, body []byte, h http.Header) answer {
	t.Helper()
	req, err := http.NewRequest(method, rig.srv.URL+"/webhooks/ghl", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := rig.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Fatalf("answer %d is not JSON: %q", resp.StatusCode, raw)
	}
	return a
}

func contactBody(id, webhookID string, ts time.Time) []byte {
	return []byte(fmt.Sprintf(`{"type":"ContactCreate","locationId":"loc1","id":%q,"firstName":"Ann","webhookId":%q,"timestamp":%q}`,
		id, webhookID, ts.UTC().Format("2006-01-02T15:04:05.000Z")))
}

func TestHandler(t *testing.T) {
	type req struct {
		method     string
		body       []byte
		sign       string // "ed", "mock", "none", "tampered", "stranger", "legacy"
		advance    time.Duration
		wantStatus int
		wantReason string
		wantSink   int // sink calls accepted so far
	}
	fresh := contactBody("c1", "wh-1", t0)
	tests := []struct {
		name string
		vcfg func(*VerifierConfig)
		fail []error
		reqs []req
	}{
		{name: "accepted once, a retry gets 200 and no second event", reqs: []req{
			{body: fresh, sign: "ed", wantStatus: 200, wantReason: ReasonAccepted, wantSink: 1},
			{body: fresh, sign: "ed", wantStatus: 200, wantReason: ReasonDuplicate, wantSink: 1},
			{body: fresh, sign: "ed", advance: time.Hour, wantStatus: 200, wantReason: ReasonDuplicate, wantSink: 1},
		}},
		{name: "no webhookId: the body hash dedupes", reqs: []req{
			{body: []byte(`{"type":"NoteCreate","locationId":"l","id":"n1","body":"x"}`), sign: "ed", wantStatus: 200, wantReason: ReasonAccepted, wantSink: 1},
			{body: []byte(`{"type":"NoteCreate","locationId":"l","id":"n1","body":"x"}`), sign: "ed", wantStatus: 200, wantReason: ReasonDuplicate, wantSink: 1},
			{body: []byte(`{"type":"NoteCreate","locationId":"l","id":"n1","body":"y"}`), sign: "ed", wantStatus: 200, wantReason: ReasonAccepted, wantSink: 2},
		}},
		{name: "missing signature", reqs: []req{
			{body: fresh, sign: "none", wantStatus: 401, wantReason: ReasonNoSignature},
		}},
		{name: "tampered body", reqs: []req{
			{body: fresh, sign: "tampered", wantStatus: 401, wantReason: ReasonBadSignature},
		}},
		{name: "untrusted key", reqs: []req{
			{body: fresh, sign: "stranger", wantStatus: 401, wantReason: ReasonBadSignature},
		}},
		{name: "legacy switched off", reqs: []req{
			{body: fresh, sign: "legacy", wantStatus: 401, wantReason: ReasonLegacyDisabled},
		}},
		{name: "legacy switched on", vcfg: func(c *VerifierConfig) { c.AllowLegacy = true }, reqs: []req{
			{body: fresh, sign: "legacy", wantStatus: 200, wantReason: ReasonAccepted, wantSink: 1},
		}},
		{name: "stale timestamp refused, and not remembered", reqs: []req{
			{body: contactBody("c1", "wh-2", t0.Add(-6*time.Minute)), sign: "ed", wantStatus: 401, wantReason: ReasonStaleTimestamp},
			{body: contactBody("c1", "wh-2", t0.Add(-6*time.Minute)), sign: "ed", wantStatus: 401, wantReason: ReasonStaleTimestamp},
		}},
		{name: "future timestamp refused", reqs: []req{
			{body: contactBody("c1", "wh-3", t0.Add(6*time.Minute)), sign: "ed", wantStatus: 401, wantReason: ReasonFutureTimestamp},
		}},
		{name: "transient sink failure: 429, and GHL's stale retry is taken", fail: []error{errors.New("db busy")}, reqs: []req{
			{body: fresh, sign: "ed", wantStatus: 429, wantReason: ReasonSinkUnavailable},
			{body: fresh, sign: "ed", advance: 10 * time.Minute, wantStatus: 200, wantReason: ReasonAccepted, wantSink: 1},
			{body: fresh, sign: "ed", wantStatus: 200, wantReason: ReasonDuplicate, wantSink: 1},
		}},
		{name: "permanent sink failure: 500, not retried by GHL", fail: []error{fmt.Errorf("bad event: %w", ErrSinkPermanent)}, reqs: []req{
			{body: fresh, sign: "ed", wantStatus: 500, wantReason: ReasonSinkFailed},
		}},
		{name: "signed but not a webhook payload", reqs: []req{
			{body: []byte(`{"hello":"world"}`), sign: "ed", wantStatus: 400, wantReason: ReasonInvalidBody},
			{body: []byte(`not json`), sign: "ed", wantStatus: 400, wantReason: ReasonInvalidBody},
		}},
		{name: "unknown type acknowledged and passed on raw", reqs: []req{
			{body: []byte(`{"type":"INSTALL","appId":"a","locationId":"l"}`), sign: "ed", wantStatus: 200, wantReason: ReasonAccepted, wantSink: 1},
		}},
		{name: "mock key verifies", reqs: []req{
			{body: fresh, sign: "mock", wantStatus: 200, wantReason: ReasonAccepted, wantSink: 1},
		}},
		{name: "GET refused", reqs: []req{
			{method: http.MethodGet, sign: "none", wantStatus: 405, wantReason: ReasonMethodNotAllowed},
		}},
		{name: "oversized body refused", reqs: []req{
			{body: []byte(`{"type":"NoteCreate","id":"n","body":"` + strings.Repeat("x", 5000) + `"}`), sign: "ed", wantStatus: 413, wantReason: ReasonTooLarge},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rig := newHandlerRig(t, tc.vcfg)
			rig.sink.fail = tc.fail
			rsaPriv, _ := testRSA(t)
			_, stranger := newEd25519(t)
			for i, r := range tc.reqs {
				rig.clk.Advance(r.advance)
				h := http.Header{}
				switch r.sign {
				case "ed":
					h.Set(HeaderSignature, Sign(rig.priv, r.body))
				case "mock":
					h.Set(HeaderSignature, Sign(MockPrivateKey(), r.body))
				case "tampered":
					h.Set(HeaderSignature, Sign(rig.priv, append([]byte(" "), r.body...)))
				case "stranger":
					h.Set(HeaderSignature, Sign(stranger, r.body))
				case "legacy":
					h.Set(HeaderLegacySignature, signRSA(t, rsaPriv, r.body))
				}
				method := r.method
				if method == "" {
					method = http.MethodPost
				}
				a := rig.post(t, method, r.body, h)
				if a.status != r.wantStatus {
					t.Fatalf("request %d: status = %d (%v); want %d", i, a.status, a.body, r.wantStatus)
				}
				d := rig.lastDecision()
				if d.Reason != r.wantReason || d.Status != r.wantStatus || d.Accepted != (r.wantReason == ReasonAccepted) {
					t.Errorf("request %d: decision = %+v; want reason %q status %d", i, d, r.wantReason, r.wantStatus)
				}
				if a.status == 200 {
					if a.body["status"] != "ok" {
						t.Errorf("request %d: body = %v; want {status: ok}", i, a.body)
					}
				} else {
					if ct := a.header.Get("Content-Type"); ct != "application/problem+json" {
						t.Errorf("request %d: Content-Type = %q; want application/problem+json", i, ct)
					}
					for k, want := range map[string]any{"reason": r.wantReason, "status": float64(r.wantStatus),
						"type": "https://ghlgate.dev/problems/" + r.wantReason, "title": http.StatusText(r.wantStatus)} {
						if a.body[k] != want {
							t.Errorf("request %d: problem %s = %v; want %v", i, k, a.body[k], want)
						}
					}
				}
				if a.status == 429 && a.header.Get("Retry-After") != "90" {
					t.Errorf("request %d: Retry-After = %q; want 90", i, a.header.Get("Retry-After"))
				}
				if got := len(rig.sink.accepted()); got != r.wantSink {
					t.Errorf("request %d: sink accepted %d; want %d", i, got, r.wantSink)
				}
			}
		})
	}
}

func TestHandlerPassesVerifiedInbound(t *testing.T) {
	rig := newHandlerRig(t, nil)
	body := contactBody("c9", "wh-9", t0)
	rig.post(t, http.MethodPost, body, hdr(HeaderSignature, Sign(MockPrivateKey(), body)))
	got := rig.sink.accepted()
	if len(got) != 1 {
		t.Fatalf("sink accepted %d; want 1", len(got))
	}
	in := got[0]
	if in.Type != "contact.created" || in.ResourceID != "c9" || in.LocationID != "loc1" || in.WebhookID != "wh-9" ||
		!in.Timestamp.Equal(t0) || in.Verified.KeyID != KeyIDMock || in.Verified.DedupeID != "wh-9" || !bytes.Equal(in.Raw, body) {
		t.Errorf("sink got %+v; want contact.created c9 loc1 wh-9 at %v verified by the mock key, raw body kept", in, t0)
	}
}

func TestNewHandlerRequiresParts(t *testing.T) {
	if _, err := NewHandler(HandlerConfig{}); err == nil {
		t.Errorf("NewHandler(empty) = nil error; want one naming Verifier, Deduper and Sink")
	} else {
		for _, want := range []string{"Verifier", "Deduper", "Sink"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("NewHandler(empty) error %q does not name %s", err, want)
			}
		}
	}
}
