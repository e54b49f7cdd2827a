package validate

import (
	"encoding/binary"
	"math/bits"

	"github.com/rankr/ghlgate/gateway/jsonscan"
)

// propTable finds an object member's property index from the key's bytes.
// A contact has about 80 members, each looked up once per answer; with a
// map[string]int that lookup (hashing, control-group matching) was about a
// quarter of the fast path's instructions. The table is open addressing
// over a hash of the key's length and its first and last eight bytes,
// sized to at most half full, so a lookup is a few multiplies and one
// comparison of the candidate key.
type propTable struct {
	slots []propSlot // len is a power of two; idx < 0 marks an empty slot
	shift uint

	// The names again, grouped by their first two bytes (see matchAt).
	starts     []startSlot // len is a power of two; n == 0 marks an empty slot
	startShift uint
	cands      []startCand // each group's names, contiguous
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

type propSlot struct {
	key string
	idx int
}

func newPropTable(props map[string]int) propTable {
	size := 2
	for size < 2*len(props) {
		size *= 2
	}
	t := propTable{slots: make([]propSlot, size), shift: uint(64 - bits.TrailingZeros(uint(size)))}
	for i := range t.slots {
		t.slots[i].idx = -1
	}
	for key, idx := range props {
		i := t.home([]byte(key))
		for t.slots[i].idx >= 0 {
			i = (i + 1) & (len(t.slots) - 1)
		}
		t.slots[i] = propSlot{key: key, idx: idx}
	}
	t.groupStarts(props)
	return t
}

// groupStarts builds matchAt's index. A name that is empty or holds a byte
// a JSON string cannot hold as it is (a quote, a backslash, a control
// character) is left out: its key is always read as a string first.
func (t *propTable) groupStarts(props map[string]int) {
	groups := map[uint16][]startCand{}
	for key, idx := range props {
		if key == "" || jsonscan.PlainLen([]byte(key)) != len(key) {
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
		return
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
// closing quote, or end < 0 when no name matches that way (the key is then
// read as a string and looked up). Most keys of an answer are property
// names: comparing a key with the one or two names that share its first
// two bytes costs less than scanning it for its closing quote and then
// hashing it.
func (t *propTable) matchAt(b []byte, i int) (idx, end int) {
	if len(t.starts) == 0 || i+8 > len(b) {
		// Near the end of the input: every key is read as a string.
		return 0, -1
	}
	w := binary.LittleEndian.Uint64(b[i:])
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
			if w&c.mask != c.head || k >= len(b) || b[k] != '"' {
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

// lookup returns key's index, or false when key names no property.
func (t *propTable) lookup(key []byte) (int, bool) {
	if len(t.slots) == 0 {
		return 0, false
	}
	for i := t.home(key); ; i = (i + 1) & (len(t.slots) - 1) {
		s := &t.slots[i]
		if s.idx < 0 {
			return 0, false
		}
		if s.key == string(key) {
			return s.idx, true
		}
	}
}

// home is key's first slot: a multiplicative hash of its length and of its
// first and last eight bytes (overlapping below sixteen; keys shorter than
// eight are read a byte at a time).
func (t *propTable) home(key []byte) int {
	var a, b uint64
	if n := len(key); n >= 8 {
		a, b = binary.LittleEndian.Uint64(key), binary.LittleEndian.Uint64(key[n-8:])
	} else {
		for i, c := range key {
			a |= uint64(c) << (8 * i)
		}
	}
	h := (a*0x9E3779B97F4A7C15 ^ b*0xC2B2AE3D27D4EB4F ^ uint64(len(key))) * 0x165667B19E3779F9
	return int(h >> t.shift)
}
