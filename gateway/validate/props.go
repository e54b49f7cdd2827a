package validate

import (
	"encoding/binary"
	"math/bits"
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
	return t
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
