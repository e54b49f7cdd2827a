package jsonscan

import (
	"math/rand/v2"
	"testing"
)

func TestPlainRunMatchesTable(t *testing.T) {
	table := func(b []byte) int {
		i := 0
		for i < len(b) && plain[b[i]] {
			i++
		}
		return i
	}
	// Every byte value at every position of a 17-byte run, after plain
	// bytes, ASCII and non-ASCII, and random mixes.
	for _, fill := range []byte{'a', 0x7f, 0x80, 0xff, 0x21, 0x5b, 0x5d} {
		for pos := 0; pos < 17; pos++ {
			for c := 0; c < 256; c++ {
				b := make([]byte, 17)
				for i := range b {
					b[i] = fill
				}
				b[pos] = byte(c)
				if got, want := plainRun(b), table(b); got != want {
					t.Fatalf("plainRun(%q) = %d; want %d", b, got, want)
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = byte(rng.IntN(256))
			if rng.IntN(4) > 0 {
				b[i] = byte(0x20 + rng.IntN(0x60))
			}
		}
		if got, want := plainRun(b), table(b); got != want {
			t.Fatalf("plainRun(%q) = %d; want %d", b, got, want)
		}
	}
}
