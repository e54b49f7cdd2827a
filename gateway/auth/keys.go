// Package auth authenticates Rankr's clients by their own API keys. A key is
// 256 random bits behind the recognisable prefix "ghlgw_"; it is shown once,
// when created, and stored only as its SHA-256 hash (a key that long needs
// no slow hash: nothing can be guessed from the digest). Each key carries a
// client name, scopes (which may differ per stage), allowed locations and
// stages, an expiry, a revoked flag and its last use.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"time"
)

// Prefix starts every ghlgate client key.
const Prefix = "ghlgw_"

// keyAlphabet is base62: URL- and shell-safe, no padding.
const keyAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// keyChars random characters of base62 carry 43*log2(62) ≈ 256 bits.
const keyChars = 43

// Sentinel errors of authentication. The gateway maps them to 401 with a
// stable reason code each.
var (
	ErrNoCredentials = errors.New("no client key: send Authorization: Bearer ghlgw_...")
	ErrMalformed     = errors.New("malformed client key: expected Authorization: Bearer ghlgw_ followed by 43 characters")
	ErrUnknownKey    = errors.New("unknown client key")
	ErrExpired       = errors.New("client key expired")
	ErrRevoked       = errors.New("client key revoked")
	ErrNameTaken     = errors.New("a client with that name already exists")
	ErrNoSuchClient  = errors.New("no client with that name")
)

// Key is a stored client key: everything but the secret.
type Key struct {
	// Name identifies the client; audit records carry it, never the key.
	Name string `json:"name"`
	// Hash is the hex SHA-256 of the secret.
	Hash string `json:"-"`
	// Hint is the first characters of the secret, to tell keys apart.
	Hint string `json:"hint"`
	// Scopes are "scope" (every stage) or "stage:scope" (that stage only).
	Scopes []string `json:"scopes"`
	// Locations the client may touch; empty means all.
	Locations []string `json:"locations"`
	// Stages the client may call; empty means all.
	Stages    []string   `json:"stages"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	LastUsed  *time.Time `json:"last_used_at,omitempty"`
	// Lane is the rate-limit lane of the client (interactive by default).
	Lane string `json:"lane,omitempty"`
}

// ScopesFor returns the scopes the key holds on stage.
func (k *Key) ScopesFor(stage string) []string {
	out := make([]string, 0, len(k.Scopes))
	for _, s := range k.Scopes {
		if st, scope, ok := strings.Cut(s, ":"); ok {
			if st == stage {
				out = append(out, scope)
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

// AllowsStage reports whether the key may call stage.
func (k *Key) AllowsStage(stage string) bool {
	return len(k.Stages) == 0 || slices.Contains(k.Stages, stage)
}

// AllowsLocation reports whether the key may touch location.
func (k *Key) AllowsLocation(location string) bool {
	return len(k.Locations) == 0 || slices.Contains(k.Locations, location)
}

// Check reports why the key cannot be used at now, or nil.
func (k *Key) Check(now time.Time) error {
	if k.RevokedAt != nil && !now.Before(*k.RevokedAt) {
		return ErrRevoked
	}
	if k.ExpiresAt != nil && !now.Before(*k.ExpiresAt) {
		return ErrExpired
	}
	return nil
}

// NewSecret returns a fresh random key.
func NewSecret() (string, error) {
	var b strings.Builder
	b.Grow(len(Prefix) + keyChars)
	b.WriteString(Prefix)
	buf := make([]byte, keyChars*2)
	for b.Len() < len(Prefix)+keyChars {
		if _, err := rand.Read(buf); err != nil {
			return "", err
		}
		for _, c := range buf {
			// Reject bytes ≥ 248 (4×62) so every character is uniform.
			if c >= 248 || b.Len() == len(Prefix)+keyChars {
				continue
			}
			b.WriteByte(keyAlphabet[c%62])
		}
	}
	return b.String(), nil
}

// HashSecret is the stored form of a key.
func HashSecret(secret string) string {
	// Keys fit the stack buffer, so hashing a request's key allocates only
	// the returned string.
	var in [64]byte
	var sum [sha256.Size]byte
	if len(secret) <= len(in) {
		sum = sha256.Sum256(in[:copy(in[:], secret)])
	} else {
		sum = sha256.Sum256([]byte(secret))
	}
	var out [2 * sha256.Size]byte
	hex.Encode(out[:], sum[:])
	return string(out[:])
}

// wellFormed reports whether secret looks like a ghlgate key.
func wellFormed(secret string) bool {
	if len(secret) != len(Prefix)+keyChars || !strings.HasPrefix(secret, Prefix) {
		return false
	}
	for i := len(Prefix); i < len(secret); i++ {
		c := secret[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}

// hint is what a listing shows of a key.
func hint(secret string) string { return secret[:len(Prefix)+6] + "…" }

// BearerToken extracts the token of an Authorization header value.
func BearerToken(header string) (string, error) {
	if header == "" {
		return "", ErrNoCredentials
	}
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", ErrMalformed
	}
	token = strings.TrimSpace(token)
	if !wellFormed(token) {
		return "", ErrMalformed
	}
	return token, nil
}
