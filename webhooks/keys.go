package webhooks

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// GHLPublicKeyPEM is HighLevel's Ed25519 key for x-ghl-signature, as quoted
// from GHL's Webhook Integration Guide by public integrations (FACTS §5.2;
// it is not in GHL's docs repository). It is the default trusted key;
// GHL announces rotations by email, so keep it configurable.
//
//go:embed keys/ghl-x-ghl-signature-public-key.pem
var GHLPublicKeyPEM string

// LegacyRSAPublicKeyPEM is the RSA-4096 key of the legacy x-wh-signature,
// published in GHL's WebhookAuthentication.md.
//
//go:embed keys/legacy-x-wh-signature-public-key.pem
var LegacyRSAPublicKeyPEM string

// MockKeySeedLabel is hashed (SHA-256) into the seed of the mock's key.
const MockKeySeedLabel = "ghlgate mock webhook key v1"

// MockPublicKeyPEM is the public half of MockPrivateKey. TEST KEY, public on
// purpose: anyone can sign with it, so trust it only for events from the
// staging and sandbox mock, never for production-stage events (Verified.KeyID
// is KeyIDMock when it verified a delivery).
const MockPublicKeyPEM = `-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAQbQV9pkvcIPjUtY+mJvb5u19GZ4Dcg5uuXclrdGTEU8=
-----END PUBLIC KEY-----
`

// Key identifiers reported in Verified.KeyID.
const (
	// KeyIDGHL is GHLPublicKeyPEM.
	KeyIDGHL = "ghl"
	// KeyIDMock is MockPublicKeyPEM: the delivery came from the mock (or
	// from anyone who read this file).
	KeyIDMock = "mock"
	// KeyIDLegacyRSA is the legacy x-wh-signature key, whichever PEM it was.
	KeyIDLegacyRSA = "legacy-rsa"
)

// MockPrivateKey derives the mock's Ed25519 signing key from
// SHA-256(MockKeySeedLabel). It is a TEST key whose private half is public
// on purpose, so that the offline loop (mock → webhook → event) works with
// no secret to distribute. Never trust it for production-stage events.
func MockPrivateKey() ed25519.PrivateKey {
	seed := sha256.Sum256([]byte(MockKeySeedLabel))
	return ed25519.NewKeyFromSeed(seed[:])
}

// spkiEd25519Prefix is the DER prefix of an Ed25519 SubjectPublicKeyInfo;
// the raw 32 key bytes follow it.
var spkiEd25519Prefix = []byte{0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00}

// ParseEd25519PublicKey reads a key in any format GHL's SDK accepts (FACTS
// §5.2): PEM (SPKI), base64 or hex of the raw 32 bytes, or base64 or hex of
// the 44-byte SPKI DER.
func ParseEd25519PublicKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("%w: empty ed25519 key", ErrBadKey)
	}
	if strings.HasPrefix(s, "-----BEGIN") {
		block, _ := pem.Decode([]byte(s))
		if block == nil {
			return nil, fmt.Errorf("%w: ed25519 key: no PEM block", ErrBadKey)
		}
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: ed25519 key: %w", ErrBadKey, err)
		}
		k, ok := pub.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("%w: PEM key is %T, not ed25519", ErrBadKey, pub)
		}
		return k, nil
	}
	var raw []byte
	if b, err := hex.DecodeString(s); err == nil {
		raw = b
	} else if b, err := decodeBase64(s); err == nil {
		raw = b
	} else {
		return nil, fmt.Errorf("%w: ed25519 key is neither PEM, hex nor base64", ErrBadKey)
	}
	switch {
	case len(raw) == ed25519.PublicKeySize:
		return ed25519.PublicKey(raw), nil
	case len(raw) == len(spkiEd25519Prefix)+ed25519.PublicKeySize && bytes.HasPrefix(raw, spkiEd25519Prefix):
		return ed25519.PublicKey(raw[len(spkiEd25519Prefix):]), nil
	default:
		return nil, fmt.Errorf("%w: ed25519 key has %d bytes; want 32 raw or 44 SPKI", ErrBadKey, len(raw))
	}
}

// ParseRSAPublicKeyPEM reads a PEM "PUBLIC KEY" (SPKI) or "RSA PUBLIC KEY"
// (PKCS#1) block.
func ParseRSAPublicKeyPEM(s string) (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(strings.TrimSpace(s)))
	if block == nil {
		return nil, fmt.Errorf("%w: rsa key: no PEM block", ErrBadKey)
	}
	if block.Type == "RSA PUBLIC KEY" {
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: rsa key: %w", ErrBadKey, err)
		}
		return k, nil
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: rsa key: %w", ErrBadKey, err)
	}
	k, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: PEM key is %T, not RSA", ErrBadKey, pub)
	}
	return k, nil
}

// keyID names a trusted Ed25519 key in Verified.KeyID: the two well-known
// keys by name, any other by a short fingerprint.
func keyID(k ed25519.PublicKey) string {
	if ghl, err := ParseEd25519PublicKey(GHLPublicKeyPEM); err == nil && ghl.Equal(k) {
		return KeyIDGHL
	}
	if k.Equal(MockPrivateKey().Public()) {
		return KeyIDMock
	}
	sum := sha256.Sum256(k)
	return "ed25519:" + hex.EncodeToString(sum[:8])
}

// decodeBase64 accepts standard or URL alphabet, padded or not.
func decodeBase64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errNotBase64
}

var errNotBase64 = errors.New("not base64")
