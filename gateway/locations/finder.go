package locations

import "github.com/rankr/ghlgate/gateway/jsonscan"

// Finder reads an answer's location from the members a one-pass reader
// reports while it reads the answer for another purpose (the response
// validator's fast check), so that the answer is read once, not twice. Its
// verdicts are FromResponse's (see TestFinderAgrees); when it is not sure,
// the caller asks FromResponse.
//
// The reader calls Member for every member of the answer's top-level
// object (depth 1) and of the objects that are values of those members
// (depth 2), each once, after reading the member's value, and never for a
// member whose key holds an escape. Result is only meaningful when the
// reader read the whole answer and found it valid JSON.
type Finder struct {
	env     [8]inner // per envelope key, as fromResponseFast keeps them
	pending found    // depth-2 members seen since the last depth-1 member
	top     []byte   // the top-level locationId's value
}

// found is what the members of one object say of its locationId, the way
// encoding/json fills struct{LocationID *string}: keys match
// case-insensitively, the last match wins, and a value of another type than
// string or null fails the decode.
type found struct {
	last    []byte
	typeErr bool
	unsure  bool
}

// Member records one member; see Finder.
func (f *Finder) Member(depth int, key, value []byte) {
	switch depth {
	case 2:
		if !asciiOnly(key) {
			f.pending.unsure = true
		}
		if equalFoldASCII(key, "locationId") {
			switch value[0] {
			case '"', 'n':
				f.pending.last = value
			default:
				f.pending.typeErr = true
			}
		}
	case 1:
		p := f.pending
		f.pending = found{}
		if string(key) == "locationId" {
			f.top = value
		}
		idx := -1
		for i, k := range envelopeKeys {
			if string(key) == k {
				idx = i
			}
		}
		if idx < 0 {
			return
		}
		// The last of duplicate keys wins, as in a map.
		in := inner{set: true, sure: true}
		if value[0] == '{' {
			in = p.inner()
		}
		f.env[idx] = in
	}
}

func (p found) inner() inner {
	if p.unsure {
		return inner{set: true}
	}
	return innerOf(p.last, p.typeErr)
}

// Result is the answer's location, whether it has one, and whether the
// Finder is sure of both; body is the answer the reader read.
func (f *Finder) Result(body []byte) (loc string, ok, sure bool) {
	s := jsonscan.Scanner{B: body}
	s.WS()
	if len(envelopeKeys) > len(f.env) || s.I >= len(body) || body[s.I] != '{' {
		return "", false, false
	}
	return verdict(f.env[:len(envelopeKeys)], f.top)
}
