package mocks

import (
	"crypto/rand"
	"fmt"
	"sync/atomic"
)

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// idLen is the length of GHL's record ids, e.g. "ve9EPM428h8vShlRW1KT".
const idLen = 20

// RandomID returns a crypto-random 20-character alphanumeric id, like GHL's.
func RandomID() string {
	var b [idLen]byte
	out := make([]byte, 0, idLen)
	for len(out) < idLen {
		if _, err := rand.Read(b[:]); err != nil {
			panic(fmt.Sprintf("crypto/rand: %v", err)) // crypto/rand.Read never fails on supported platforms
		}
		for _, c := range b {
			// 248 = 4*62: rejecting the top 8 values keeps the draw uniform.
			if c < 248 && len(out) < idLen {
				out = append(out, idAlphabet[int(c)%len(idAlphabet)])
			}
		}
	}
	return string(out)
}

// SequentialIDs returns a deterministic generator for tests: prefix padded
// with digits to 20 characters ("mock0000000000000001", ...). prefix must be
// alphanumeric and shorter than 20.
func SequentialIDs(prefix string) func() string {
	var n atomic.Uint64
	return func() string {
		return fmt.Sprintf("%s%0*d", prefix, idLen-len(prefix), n.Add(1))
	}
}

func isGHLID(s string) bool {
	if len(s) != idLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
