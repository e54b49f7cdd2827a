package jsonscan

import (
	"encoding/binary"
	"math/bits"
)

// plainRun returns how many bytes at the start of b are plain string bytes
// (see plain), eight at a time: most of a GHL answer is inside strings, and
// a table lookup per byte was the largest single cost of the scan. A byte
// is flagged when it is below 0x20, a quote or a backslash; the lowest
// flag of each test is exact (borrows only run upwards from a true match),
// so the lowest flag of the three is the first byte that is not plain.
// TestPlainRunMatchesTable checks it against the table.
func plainRun(b []byte) int {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(b); i += 8 {
		v := binary.LittleEndian.Uint64(b[i:])
		ctl := (v - 0x20*lo) &^ v & hi
		q := v ^ ('"' * lo)
		bs := v ^ ('\\' * lo)
		if m := ctl | (q-lo)&^q&hi | (bs-lo)&^bs&hi; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for i < len(b) && plain[b[i]] {
		i++
	}
	return i
}

// plain marks the bytes a string can hold as they are: not a quote, a
// backslash or a control character.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// PlainLen is how many bytes at the start of b a JSON string holds as they
// are: up to the first quote, backslash or control character.
func PlainLen(b []byte) int { return plainRun(b) }
