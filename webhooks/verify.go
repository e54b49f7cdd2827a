package webhooks

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names GHL signs deliveries with.
const (
	// HeaderSignature carries the Ed25519 signature (base64) of the raw body.
	HeaderSignature = "X-Ghl-Signature"
	// HeaderLegacySignature carries the legacy RSA-SHA256 signature (base64).
	HeaderLegacySignature = "X-Wh-Signature"
)

// DefaultWindow is how far a payload's timestamp may be from now, either
// way ([WA]: "e.g., 5 minutes").
const DefaultWindow = 5 * time.Minute

// Sentinel errors. Verify wraps them; use errors.Is and ReasonCode, never
// the text.
var (
	// ErrNoSignature: neither x-ghl-signature nor x-wh-signature was sent.
	ErrNoSignature = errors.New("no webhook signature")
	// ErrMalformedSignature: the header is not base64 or has the wrong length.
	ErrMalformedSignature = errors.New("malformed webhook signature")
	// ErrBadSignature: no trusted key verifies the body.
	ErrBadSignature = errors.New("webhook signature does not verify")
	// ErrLegacyDisabled: only x-wh-signature was sent and legacy RSA is off.
	ErrLegacyDisabled = errors.New("legacy x-wh-signature not accepted")
	// ErrStale: the payload's timestamp is outside the window (see *StaleError).
	ErrStale = errors.New("webhook timestamp outside the window")
	// ErrBadTimestamp: the payload's timestamp cannot be read.
	ErrBadTimestamp = errors.New("unreadable webhook timestamp")
	// ErrInvalidBody: the signed body is not a JSON object with a type.
	ErrInvalidBody = errors.New("invalid webhook body")
	// ErrBadKey: a configured key cannot be parsed.
	ErrBadKey = errors.New("bad webhook key")
)

// StaleError says how far off a timestamp was. It matches ErrStale.
type StaleError struct {
	Timestamp time.Time
	Now       time.Time
	Window    time.Duration
}

func (e *StaleError) Error() string {
	return fmt.Sprintf("webhook timestamp %s is %s from now, window %s",
		e.Timestamp.UTC().Format(time.RFC3339), e.Timestamp.Sub(e.Now).Round(time.Second), e.Window)
}

// Is makes errors.Is(err, ErrStale) hold.
func (e *StaleError) Is(target error) bool { return target == ErrStale }

// Future reports whether the timestamp lies ahead of now.
func (e *StaleError) Future() bool { return e.Timestamp.After(e.Now) }

// Stable reason codes, for Decision.Reason, the problem body and the audit
// log. They never change once released.
const (
	ReasonAccepted          = "accepted"
	ReasonDuplicate         = "duplicate"
	ReasonNoSignature       = "webhook_no_signature"
	ReasonMalformedSig      = "webhook_malformed_signature"
	ReasonBadSignature      = "webhook_bad_signature"
	ReasonLegacyDisabled    = "webhook_legacy_signature_disabled"
	ReasonStaleTimestamp    = "webhook_stale_timestamp"
	ReasonFutureTimestamp   = "webhook_future_timestamp"
	ReasonBadTimestamp      = "webhook_bad_timestamp"
	ReasonInvalidBody       = "invalid_request"
	ReasonTooLarge          = "body_too_large"
	ReasonMethodNotAllowed  = "method_not_allowed"
	ReasonInFlight          = "webhook_in_flight"
	ReasonDedupeUnavailable = "dependency_unavailable"
	ReasonSinkUnavailable   = "sink_unavailable"
	ReasonSinkFailed        = "sink_failed"
	ReasonInternal          = "internal_error"
)

// ReasonCode maps an error from Verify, Parse, a Deduper or the Handler's
// sink to its stable reason code. nil maps to ReasonAccepted.
func ReasonCode(err error) string {
	var stale *StaleError
	switch {
	case err == nil:
		return ReasonAccepted
	case errors.As(err, &stale):
		if stale.Future() {
			return ReasonFutureTimestamp
		}
		return ReasonStaleTimestamp
	case errors.Is(err, ErrStale):
		return ReasonStaleTimestamp
	case errors.Is(err, ErrNoSignature):
		return ReasonNoSignature
	case errors.Is(err, ErrMalformedSignature):
		return ReasonMalformedSig
	case errors.Is(err, ErrBadSignature):
		return ReasonBadSignature
	case errors.Is(err, ErrLegacyDisabled):
		return ReasonLegacyDisabled
	case errors.Is(err, ErrBadTimestamp):
		return ReasonBadTimestamp
	case errors.Is(err, ErrInvalidBody):
		return ReasonInvalidBody
	case errors.Is(err, ErrInFlight):
		return ReasonInFlight
	case errors.Is(err, ErrSinkPermanent):
		return ReasonSinkFailed
	default:
		return ReasonInternal
	}
}

// VerifierConfig configures a Verifier. Zero values take the defaults named
// on each field.
type VerifierConfig struct {
	// Ed25519PublicKeys are the trusted x-ghl-signature keys, several during
	// a rotation, each in any format ParseEd25519PublicKey reads. Default:
	// [GHLPublicKeyPEM]. The mock's key (MockPublicKeyPEM) is trusted only
	// when listed here.
	Ed25519PublicKeys []string
	// LegacyRSAPublicKeyPEM verifies x-wh-signature. Default:
	// LegacyRSAPublicKeyPEM.
	LegacyRSAPublicKeyPEM string
	// AllowLegacy accepts deliveries signed only with x-wh-signature.
	// Default false (GHL's SDK says the header is no longer sent; the guide
	// deprecates it from 2026-07-01).
	AllowLegacy bool
	// Window bounds |now - payload timestamp|. Default DefaultWindow (5m);
	// negative disables the check.
	Window time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Verifier checks GHL webhook signatures and timestamps. It is safe for
// concurrent use and holds no mutable state.
type Verifier struct {
	keys        []trustedKey
	rsaKey      *rsa.PublicKey
	allowLegacy bool
	window      time.Duration
	now         func() time.Time
}

type trustedKey struct {
	id  string
	key ed25519.PublicKey
}

// Verified describes an accepted signature and what the signed body says
// about freshness and identity.
type Verified struct {
	// Scheme is "ed25519" (x-ghl-signature) or "rsa-sha256" (x-wh-signature).
	Scheme string
	// KeyID names the key that verified: KeyIDGHL, KeyIDMock,
	// KeyIDLegacyRSA or "ed25519:<fingerprint>". Refuse KeyIDMock for
	// production-stage events.
	KeyID string
	// WebhookID is the payload's webhookId, "" when absent.
	WebhookID string
	// Timestamp is the payload's timestamp; zero when absent.
	Timestamp time.Time
	// DedupeID is WebhookID, or "sha256:<hex of the raw body>" when the
	// payload has no webhookId (FACTS §5.1: GHL's contact, task and note
	// examples show neither field).
	DedupeID string
}

// Schemes reported in Verified.Scheme.
const (
	SchemeEd25519   = "ed25519"
	SchemeRSASHA256 = "rsa-sha256"
)

// NewVerifier parses the configured keys; every bad key is reported.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	v := &Verifier{allowLegacy: cfg.AllowLegacy, window: cfg.Window, now: cfg.Now}
	if v.window == 0 {
		v.window = DefaultWindow
	}
	if v.now == nil {
		v.now = time.Now
	}
	pems := cfg.Ed25519PublicKeys
	if len(pems) == 0 {
		pems = []string{GHLPublicKeyPEM}
	}
	var errs []error
	for i, s := range pems {
		k, err := ParseEd25519PublicKey(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("ed25519 key %d: %w", i, err))
			continue
		}
		v.keys = append(v.keys, trustedKey{id: keyID(k), key: k})
	}
	rsaPEM := cfg.LegacyRSAPublicKeyPEM
	if rsaPEM == "" {
		rsaPEM = LegacyRSAPublicKeyPEM
	}
	k, err := ParseRSAPublicKeyPEM(rsaPEM)
	if err != nil {
		errs = append(errs, fmt.Errorf("legacy rsa key: %w", err))
	}
	v.rsaKey = k
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("webhook verifier: %w", err)
	}
	return v, nil
}

// Verify checks the signature over rawBody, exactly as received, then the
// payload's timestamp. x-ghl-signature is preferred: when it is present and
// fails, a legacy signature is not tried (no downgrade). On ErrStale the
// returned Verified is filled (the signature held), so a caller can still
// recognise a retry it asked for.
func (v *Verifier) Verify(h http.Header, rawBody []byte) (Verified, error) {
	var out Verified
	if sig := h.Get(HeaderSignature); sig != "" {
		id, err := v.verifyEd25519(sig, rawBody)
		if err != nil {
			return Verified{}, err
		}
		out.Scheme, out.KeyID = SchemeEd25519, id
	} else if sig := h.Get(HeaderLegacySignature); sig != "" {
		if !v.allowLegacy {
			return Verified{}, ErrLegacyDisabled
		}
		if err := v.verifyRSA(sig, rawBody); err != nil {
			return Verified{}, err
		}
		out.Scheme, out.KeyID = SchemeRSASHA256, KeyIDLegacyRSA
	} else {
		return Verified{}, ErrNoSignature
	}

	meta, err := readMeta(rawBody)
	if err != nil {
		return out, err
	}
	out.WebhookID, out.Timestamp = meta.webhookID, meta.timestamp
	out.DedupeID = dedupeID(meta.webhookID, rawBody)
	// Without a timestamp there is nothing to bound: the window does not
	// apply, and replays are caught only by DedupeID (the webhookId, or the
	// body's hash) for as long as the deduper keeps it.
	if !meta.timestamp.IsZero() && v.window > 0 {
		now := v.now()
		if d := now.Sub(meta.timestamp); d > v.window || d < -v.window {
			return out, &StaleError{Timestamp: meta.timestamp, Now: now, Window: v.window}
		}
	}
	return out, nil
}

func (v *Verifier) verifyEd25519(sig string, body []byte) (string, error) {
	raw, err := decodeBase64(strings.TrimSpace(sig))
	if err != nil || len(raw) != ed25519.SignatureSize {
		return "", fmt.Errorf("%w: x-ghl-signature is not base64 of %d bytes", ErrMalformedSignature, ed25519.SignatureSize)
	}
	for _, k := range v.keys {
		if ed25519.Verify(k.key, body, raw) {
			return k.id, nil
		}
	}
	return "", fmt.Errorf("%w: x-ghl-signature, %d trusted key(s)", ErrBadSignature, len(v.keys))
}

// verifyRSA checks x-wh-signature over the raw body. GHL's doc verifies
// JSON.stringify(payload), a re-serialisation; GHL sends that same string
// as the body, so the raw bytes are what it signed. If something on the
// way re-indented the JSON, the compact form (json.Compact: whitespace
// removed outside strings, key order and literals kept) is tried too. That
// equals JSON.stringify's output whenever the sender's strings and numbers
// were already in JS's canonical form, which is what JSON.stringify wrote;
// re-escaping strings or reformatting numbers JS-style is not attempted,
// since it could not be done faithfully.
func (v *Verifier) verifyRSA(sig string, body []byte) error {
	raw, err := decodeBase64(strings.TrimSpace(sig))
	if err != nil || len(raw) == 0 {
		return fmt.Errorf("%w: x-wh-signature is not base64", ErrMalformedSignature)
	}
	sum := sha256.Sum256(body)
	if rsa.VerifyPKCS1v15(v.rsaKey, crypto.SHA256, sum[:], raw) == nil {
		return nil
	}
	var compact bytes.Buffer
	if json.Compact(&compact, body) == nil && !bytes.Equal(compact.Bytes(), body) {
		sum = sha256.Sum256(compact.Bytes())
		if rsa.VerifyPKCS1v15(v.rsaKey, crypto.SHA256, sum[:], raw) == nil {
			return nil
		}
	}
	return fmt.Errorf("%w: x-wh-signature", ErrBadSignature)
}

type payloadMeta struct {
	webhookID string
	timestamp time.Time
}

// readMeta reads webhookId and timestamp from the signed body: they are
// inside the payload, so the signature covers them ([WA]).
func readMeta(body []byte) (payloadMeta, error) {
	var m struct {
		WebhookID json.RawMessage `json:"webhookId"`
		Timestamp json.RawMessage `json:"timestamp"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return payloadMeta{}, fmt.Errorf("%w: %w", ErrInvalidBody, err)
	}
	var out payloadMeta
	if len(m.WebhookID) > 0 && string(m.WebhookID) != "null" {
		var s string
		if err := json.Unmarshal(m.WebhookID, &s); err != nil {
			return payloadMeta{}, fmt.Errorf("%w: webhookId is not a string", ErrInvalidBody)
		}
		out.webhookID = s
	}
	ts, err := parseTimestamp(m.Timestamp)
	if err != nil {
		return payloadMeta{}, err
	}
	out.timestamp = ts
	return out, nil
}

// parseTimestamp reads an ISO 8601 string ([WA]), or epoch seconds or
// milliseconds as a number or a string of digits. Absent or null is zero.
func parseTimestamp(raw json.RawMessage) (time.Time, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, nil
	}
	s := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}, fmt.Errorf("%w: %w", ErrBadTimestamp, err)
		}
		if s == "" {
			return time.Time{}, nil
		}
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t, nil
		}
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n <= 0 {
		return time.Time{}, fmt.Errorf("%w: %q", ErrBadTimestamp, s)
	}
	if n >= 1e12 { // milliseconds: 1e12 ms is 2001, 1e12 s is year 33658
		return time.UnixMilli(int64(n)), nil
	}
	return time.Unix(int64(n), 0), nil
}

func dedupeID(webhookID string, body []byte) string {
	if webhookID != "" {
		return webhookID
	}
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}
