package webhooks

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseEd25519PublicKeyFormats(t *testing.T) {
	pub, _ := newEd25519(t)
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		in      string
		wantErr bool
	}{
		{"PEM", ed25519PEM(t, pub), false},
		{"PEM with surrounding space", "\n  " + ed25519PEM(t, pub) + "  \n", false},
		{"base64 raw 32 bytes", base64.StdEncoding.EncodeToString(pub), false},
		{"base64 raw 32 bytes unpadded", base64.RawStdEncoding.EncodeToString(pub), false},
		{"hex raw 32 bytes", hex.EncodeToString(pub), false},
		{"base64 SPKI DER", base64.StdEncoding.EncodeToString(der), false},
		{"hex SPKI DER", hex.EncodeToString(der), false},
		{"empty", "", true},
		{"31 bytes", base64.StdEncoding.EncodeToString(pub[:31]), true},
		{"not a key", "not a key!", true},
		{"RSA PEM", func() string { _, p := testRSA(t); return p }(), true},
		{"44 bytes without the SPKI prefix", base64.StdEncoding.EncodeToString(append(make([]byte, 12), pub...)), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseEd25519PublicKey(tc.in)
			if tc.wantErr {
				if !errors.Is(err, ErrBadKey) {
					t.Errorf("ParseEd25519PublicKey(%q) error = %v; want ErrBadKey", tc.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseEd25519PublicKey(%q) = %v; want nil", tc.in, err)
			}
			if !got.Equal(pub) {
				t.Errorf("ParseEd25519PublicKey(%q) = %x; want %x", tc.in, got, pub)
			}
		})
	}
}

func TestShippedKeys(t *testing.T) {
	ghl, err := ParseEd25519PublicKey(GHLPublicKeyPEM)
	if err != nil {
		t.Fatalf("GHLPublicKeyPEM: %v", err)
	}
	if got := keyID(ghl); got != KeyIDGHL {
		t.Errorf("keyID(GHL key) = %q; want %q", got, KeyIDGHL)
	}
	mock, err := ParseEd25519PublicKey(MockPublicKeyPEM)
	if err != nil {
		t.Fatalf("MockPublicKeyPEM: %v", err)
	}
	if !mock.Equal(MockPrivateKey().Public()) {
		t.Errorf("MockPublicKeyPEM = %x; want the public half of MockPrivateKey %x", mock, MockPrivateKey().Public())
	}
	rsaKey, err := ParseRSAPublicKeyPEM(LegacyRSAPublicKeyPEM)
	if err != nil {
		t.Fatalf("LegacyRSAPublicKeyPEM: %v", err)
	}
	if got := rsaKey.N.BitLen(); got != 4096 {
		t.Errorf("legacy RSA key size = %d bits; want 4096 (FACTS §5.2)", got)
	}
	if _, err := NewVerifier(VerifierConfig{}); err != nil {
		t.Errorf("NewVerifier(defaults) = %v; want nil", err)
	}
}

func TestNewVerifierReportsEveryBadKey(t *testing.T) {
	_, err := NewVerifier(VerifierConfig{Ed25519PublicKeys: []string{"nope", "also nope"}, LegacyRSAPublicKeyPEM: "junk"})
	if !errors.Is(err, ErrBadKey) {
		t.Fatalf("NewVerifier(bad keys) = %v; want ErrBadKey", err)
	}
	for _, want := range []string{"ed25519 key 0", "ed25519 key 1", "legacy rsa key"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("NewVerifier(bad keys) error %q does not mention %q", err, want)
		}
	}
}

func TestVerify(t *testing.T) {
	pub, priv := newEd25519(t)
	oldPub, oldPriv := newEd25519(t)
	_, strangerPriv := newEd25519(t)
	rsaPriv, rsaPEM := testRSA(t)

	body := func(extra string) []byte {
		return []byte(`{"type":"ContactCreate","locationId":"loc1","id":"c1"` + extra + `}`)
	}
	fresh := body(fmt.Sprintf(`,"webhookId":"wh-1","timestamp":%q`, t0.Add(-time.Minute).Format(time.RFC3339Nano)))
	pretty := []byte("{\n  \"type\": \"ContactCreate\",\n  \"locationId\": \"loc1\",\n  \"id\": \"c1\"\n}")
	compactOfPretty := []byte(`{"type":"ContactCreate","locationId":"loc1","id":"c1"}`)

	cfg := VerifierConfig{
		Ed25519PublicKeys:     []string{ed25519PEM(t, pub), base64.StdEncoding.EncodeToString(oldPub), MockPublicKeyPEM},
		LegacyRSAPublicKeyPEM: rsaPEM,
		AllowLegacy:           true,
		Now:                   fixedNow(t0),
	}
	tests := []struct {
		name       string
		cfg        func(*VerifierConfig)
		h          http.Header
		body       []byte
		wantErr    error
		wantReason string
		wantKey    string
		wantScheme string
		wantDedupe string
	}{
		{name: "ed25519 current key", h: hdr(HeaderSignature, Sign(priv, fresh)), body: fresh,
			wantKey: "ed25519:", wantScheme: SchemeEd25519, wantDedupe: "wh-1"},
		{name: "ed25519 key being rotated out", h: hdr(HeaderSignature, Sign(oldPriv, fresh)), body: fresh,
			wantKey: "ed25519:", wantScheme: SchemeEd25519, wantDedupe: "wh-1"},
		{name: "mock key says so", h: hdr(HeaderSignature, Sign(MockPrivateKey(), fresh)), body: fresh,
			wantKey: KeyIDMock, wantScheme: SchemeEd25519, wantDedupe: "wh-1"},
		{name: "untrusted key", h: hdr(HeaderSignature, Sign(strangerPriv, fresh)), body: fresh,
			wantErr: ErrBadSignature, wantReason: ReasonBadSignature},
		{name: "tampered body", h: hdr(HeaderSignature, Sign(priv, fresh)), body: append([]byte{' '}, fresh...),
			wantErr: ErrBadSignature, wantReason: ReasonBadSignature},
		{name: "tampered field", h: hdr(HeaderSignature, Sign(priv, fresh)),
			body:    []byte(string(fresh[:len(fresh)-2]) + `X"}`),
			wantErr: ErrBadSignature, wantReason: ReasonBadSignature},
		{name: "signature not base64", h: hdr(HeaderSignature, "%%%"), body: fresh,
			wantErr: ErrMalformedSignature, wantReason: ReasonMalformedSig},
		{name: "signature too short", h: hdr(HeaderSignature, base64.StdEncoding.EncodeToString(make([]byte, 10))), body: fresh,
			wantErr: ErrMalformedSignature, wantReason: ReasonMalformedSig},
		{name: "no signature", h: hdr(), body: fresh, wantErr: ErrNoSignature, wantReason: ReasonNoSignature},
		{name: "bad ed25519 does not fall back to a good legacy one",
			h:       hdr(HeaderSignature, Sign(strangerPriv, fresh), HeaderLegacySignature, signRSA(t, rsaPriv, fresh)),
			body:    fresh,
			wantErr: ErrBadSignature, wantReason: ReasonBadSignature},
		{name: "legacy RSA over raw body", h: hdr(HeaderLegacySignature, signRSA(t, rsaPriv, fresh)), body: fresh,
			wantKey: KeyIDLegacyRSA, wantScheme: SchemeRSASHA256, wantDedupe: "wh-1"},
		{name: "legacy RSA signed compact, body re-indented", h: hdr(HeaderLegacySignature, signRSA(t, rsaPriv, compactOfPretty)), body: pretty,
			wantKey: KeyIDLegacyRSA, wantScheme: SchemeRSASHA256, wantDedupe: "sha256:"},
		{name: "legacy RSA tampered", h: hdr(HeaderLegacySignature, signRSA(t, rsaPriv, fresh)), body: body(`,"x":1`),
			wantErr: ErrBadSignature, wantReason: ReasonBadSignature},
		{name: "legacy switched off", cfg: func(c *VerifierConfig) { c.AllowLegacy = false },
			h: hdr(HeaderLegacySignature, signRSA(t, rsaPriv, fresh)), body: fresh,
			wantErr: ErrLegacyDisabled, wantReason: ReasonLegacyDisabled},
		{name: "legacy with the shipped GHL key does not verify a test signature",
			cfg: func(c *VerifierConfig) { c.LegacyRSAPublicKeyPEM = "" },
			h:   hdr(HeaderLegacySignature, signRSA(t, rsaPriv, fresh)), body: fresh,
			wantErr: ErrBadSignature, wantReason: ReasonBadSignature},
		{name: "stale timestamp", h: signed(priv, body(`,"webhookId":"w","timestamp":"2026-07-01T11:54:59Z"`)),
			body: body(`,"webhookId":"w","timestamp":"2026-07-01T11:54:59Z"`), wantErr: ErrStale, wantReason: ReasonStaleTimestamp,
			wantKey: "ed25519:", wantScheme: SchemeEd25519, wantDedupe: "w"},
		{name: "edge of the window", h: signed(priv, body(`,"timestamp":"2026-07-01T11:55:00Z"`)),
			body: body(`,"timestamp":"2026-07-01T11:55:00Z"`), wantKey: "ed25519:", wantScheme: SchemeEd25519, wantDedupe: "sha256:"},
		{name: "future timestamp", h: signed(priv, body(`,"timestamp":"2026-07-01T12:05:01Z"`)),
			body: body(`,"timestamp":"2026-07-01T12:05:01Z"`), wantErr: ErrStale, wantReason: ReasonFutureTimestamp,
			wantKey: "ed25519:", wantScheme: SchemeEd25519, wantDedupe: "sha256:"},
		{name: "timestamp with offset", h: signed(priv, body(`,"timestamp":"2026-07-01T17:32:00+05:30"`)),
			body: body(`,"timestamp":"2026-07-01T17:32:00+05:30"`), wantKey: "ed25519:", wantScheme: SchemeEd25519, wantDedupe: "sha256:"},
		{name: "epoch milliseconds", h: signed(priv, body(fmt.Sprintf(`,"timestamp":%d`, t0.UnixMilli()))),
			body: body(fmt.Sprintf(`,"timestamp":%d`, t0.UnixMilli())), wantKey: "ed25519:", wantScheme: SchemeEd25519, wantDedupe: "sha256:"},
		{name: "stale epoch seconds", h: signed(priv, body(fmt.Sprintf(`,"timestamp":"%d"`, t0.Add(-time.Hour).Unix()))),
			body: body(fmt.Sprintf(`,"timestamp":"%d"`, t0.Add(-time.Hour).Unix())), wantErr: ErrStale, wantReason: ReasonStaleTimestamp,
			wantKey: "ed25519:", wantScheme: SchemeEd25519, wantDedupe: "sha256:"},
		{name: "window disabled", cfg: func(c *VerifierConfig) { c.Window = -1 },
			h: signed(priv, body(`,"timestamp":"2020-01-01T00:00:00Z"`)), body: body(`,"timestamp":"2020-01-01T00:00:00Z"`),
			wantKey: "ed25519:", wantScheme: SchemeEd25519, wantDedupe: "sha256:"},
		{name: "unreadable timestamp", h: signed(priv, body(`,"timestamp":"yesterday"`)), body: body(`,"timestamp":"yesterday"`),
			wantErr: ErrBadTimestamp, wantReason: ReasonBadTimestamp, wantKey: "ed25519:", wantScheme: SchemeEd25519},
		{name: "signed but not JSON", h: signed(priv, []byte("hello")), body: []byte("hello"),
			wantErr: ErrInvalidBody, wantReason: ReasonInvalidBody, wantKey: "ed25519:", wantScheme: SchemeEd25519},
		{name: "no timestamp: window does not apply, dedupe by body hash", h: signed(priv, body("")), body: body(""),
			wantKey: "ed25519:", wantScheme: SchemeEd25519, wantDedupe: "sha256:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			if tc.cfg != nil {
				tc.cfg(&c)
			}
			v, err := NewVerifier(c)
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.Verify(tc.h, tc.body)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("Verify() error = %v; want %v", err, tc.wantErr)
			}
			if err != nil {
				if r := ReasonCode(err); r != tc.wantReason {
					t.Errorf("ReasonCode(%v) = %q; want %q", err, r, tc.wantReason)
				}
			}
			if !strings.HasPrefix(got.KeyID, tc.wantKey) || (tc.wantKey == "" && got.KeyID != "") {
				t.Errorf("Verify().KeyID = %q; want prefix %q", got.KeyID, tc.wantKey)
			}
			if got.Scheme != tc.wantScheme {
				t.Errorf("Verify().Scheme = %q; want %q", got.Scheme, tc.wantScheme)
			}
			if !strings.HasPrefix(got.DedupeID, tc.wantDedupe) || (tc.wantDedupe == "" && got.DedupeID != "") {
				t.Errorf("Verify().DedupeID = %q; want prefix %q", got.DedupeID, tc.wantDedupe)
			}
		})
	}
}

func signed(priv ed25519.PrivateKey, body []byte) http.Header {
	return hdr(HeaderSignature, Sign(priv, body))
}

func TestVerifyBodyHashDiffersPerBody(t *testing.T) {
	_, priv := newEd25519(t)
	pub := priv.Public().(ed25519.PublicKey)
	v, err := NewVerifier(VerifierConfig{Ed25519PublicKeys: []string{hex.EncodeToString(pub)}, Now: fixedNow(t0)})
	if err != nil {
		t.Fatal(err)
	}
	a, b := []byte(`{"type":"NoteCreate","id":"n1"}`), []byte(`{"type":"NoteCreate","id":"n2"}`)
	va, err := v.Verify(signed(priv, a), a)
	if err != nil {
		t.Fatal(err)
	}
	vb, err := v.Verify(signed(priv, b), b)
	if err != nil {
		t.Fatal(err)
	}
	if va.DedupeID == vb.DedupeID {
		t.Errorf("DedupeID of two different bodies = %q twice; want different", va.DedupeID)
	}
}

func TestReasonCode(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, ReasonAccepted},
		{fmt.Errorf("wrapped: %w", ErrNoSignature), ReasonNoSignature},
		{ErrBadSignature, ReasonBadSignature},
		{ErrMalformedSignature, ReasonMalformedSig},
		{ErrLegacyDisabled, ReasonLegacyDisabled},
		{&StaleError{Timestamp: t0.Add(-time.Hour), Now: t0, Window: time.Minute}, ReasonStaleTimestamp},
		{fmt.Errorf("x: %w", &StaleError{Timestamp: t0.Add(time.Hour), Now: t0, Window: time.Minute}), ReasonFutureTimestamp},
		{ErrBadTimestamp, ReasonBadTimestamp},
		{ErrInvalidBody, ReasonInvalidBody},
		{ErrInFlight, ReasonInFlight},
		{fmt.Errorf("db: %w", ErrSinkPermanent), ReasonSinkFailed},
		{errors.New("something else"), ReasonInternal},
	}
	for _, tc := range tests {
		if got := ReasonCode(tc.err); got != tc.want {
			t.Errorf("ReasonCode(%v) = %q; want %q", tc.err, got, tc.want)
		}
	}
}
