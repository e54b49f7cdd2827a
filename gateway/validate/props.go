package validate

import (
	"encoding/binary"
	"math/bits"

	"github.com/rankr/ghlgate/gateway/jsonscan"
)

// propTable finds an object member's property index from the bytes of its
// key, where the key starts in the answer (matchAt). A contact has about 80
// members, each looked up once per answer: with a map[string]int, finding
// the key's end and hashing it was about a quarter of the fast path's
// instructions. Here the names are grouped by their first two bytes
// (open addressing, at most half full), and a key is compared with the one
// or two names of its group eight bytes at a time, the quote after it
// included.
type propTable struct {
	starts     []startSlot // len is a power of two; n == 0 marks an empty slot
	startShift uint
	cands      []startCand // each group's names, contiguous
	// emptyAt is one more than the index of the property named "" (0:
	// none, so that the zero table finds nothing): its key is a lone pair
	// of quotes, with no first byte to group by.
	emptyAt int
}

// startCand is a name as matchAt compares it: eight bytes at a time.
type startCand struct {
	key  string
	idx  int
	head uint64 // the name's first eight bytes, little-endian, zero past its end
	mask uint64 // which bytes of head are the name's
	tail uint64 // its last eight bytes, for a name longer than eight
}

// startSlot is a group of names with the same first two bytes (the first
// and a quote for a one-byte name): cands[from:from+n].
type startSlot struct {
	h    uint16
	n    uint16
	from uint32
}

// newPropTable indexes props (name → index). A name holding a byte a JSON
// string cannot hold as it is (a quote, a backslash, a control character)
// is left out: its key is always escaped in the answer, and the fast check
// leaves escaped keys to kin-openapi.
func newPropTable(props map[string]int) propTable {
	var t propTable
	groups := map[uint16][]startCand{}
	for key, idx := range props {
		if key == "" {
			t.emptyAt = idx + 1
			continue
		}
		if jsonscan.PlainLen([]byte(key)) != len(key) {
			continue
		}
		h := startOf(key[0], '"')
		if len(key) > 1 {
			h = startOf(key[0], key[1])
		}
		var pad [8]byte
		n := copy(pad[:], key)
		c := startCand{key: key, idx: idx, head: binary.LittleEndian.Uint64(pad[:]), mask: ^uint64(0) >> (64 - 8*n)}
		if len(key) > 8 {
			c.tail = binary.LittleEndian.Uint64([]byte(key[len(key)-8:]))
		}
		groups[h] = append(groups[h], c)
	}
	if len(groups) == 0 {
		return t
	}
	size := 2
	for size < 2*len(groups) {
		size *= 2
	}
	t.starts = make([]startSlot, size)
	t.startShift = uint(32 - bits.TrailingZeros(uint(size)))
	for h, g := range groups {
		i := t.startHome(h)
		for t.starts[i].n != 0 {
			i = (i + 1) & (size - 1)
		}
		t.starts[i] = startSlot{h: h, n: uint16(len(g)), from: uint32(len(t.cands))}
		t.cands = append(t.cands, g...)
	}
	return t
}

func startOf(a, b byte) uint16 { return uint16(a)<<8 | uint16(b) }

// startHome is a group's first slot: a multiplicative hash of its two
// bytes (their low bits alone would put every name whose second letter is
// an a in one run of slots).
func (t *propTable) startHome(h uint16) int {
	return int((uint32(h) * 0x9E3779B1) >> t.startShift)
}

// matchAt finds the property whose name starts at b[i] and is closed by a
// quote right after it, with no escape; i is just past a key's opening
// quote. It returns the property's index and the position after the
// closing quote, or end < 0 when no name matches that way. Every name a
// key can spell without an escape is in the table, so a key that is not
// escaped and not matched names no property.
func (t *propTable) matchAt(b []byte, i int) (idx, end int) {
	if i < len(b) && b[i] == '"' {
		if t.emptyAt > 0 {
			return t.emptyAt - 1, i + 1
		}
		return 0, -1
	}
	if len(t.starts) == 0 || i+1 >= len(b) {
		return 0, -1
	}
	var w uint64 // the key's first eight bytes, zero past the input's end
	if i+8 <= len(b) {
		w = binary.LittleEndian.Uint64(b[i:])
	} else {
		for j, c := range b[i:] {
			w |= uint64(c) << (8 * j)
		}
	}
	h := startOf(byte(w), byte(w>>8)) // the first two bytes
	mask := len(t.starts) - 1
	for j := t.startHome(h); ; j = (j + 1) & mask {
		e := &t.starts[j]
		if e.n == 0 {
			return 0, -1
		}
		if e.h != h {
			continue
		}
		cs := t.cands[e.from : e.from+uint32(e.n)]
		for ci := range cs {
			c := &cs[ci] // not a copy of the candidate per iteration
			k := i + len(c.key)
			if k >= len(b) || w&c.mask != c.head || b[k] != '"' {
				continue
			}
			if len(c.key) <= 8 ||
				binary.LittleEndian.Uint64(b[k-8:]) == c.tail && (len(c.key) <= 16 || string(b[i+8:k-8]) == c.key[8:len(c.key)-8]) {
				return c.idx, k + 1
			}
		}
		return 0, -1
	}
}
