package locations

import (
	"unicode/utf8"

	"github.com/rankr/ghlgate/gateway/jsonscan"
)

// A one-pass reader of GHL answers for FromResponse. encoding/json checks
// the whole body twice (the envelope map, then the resource) and builds a
// map of raw members: a quarter of the gateway's CPU on GET /contacts/{id}.
// fromResponseFast reads the same answer in one pass without allocating,
// and says when it is unsure (escaped or non-ASCII keys, escaped values,
// deep nesting), in which case FromResponse decodes as before. Its verdicts
// are encoding/json's: see TestFromResponseFastAgrees.

// maxDepth bounds nesting; deeper answers are left to encoding/json.
const maxDepth = 512

type scanner struct {
	jsonscan.Scanner
	depth int
}

// skip checks the syntax of one value; false means invalid or too deep.
func (s *scanner) skip() bool { return s.Skip(s.depth, maxDepth) }

// container reads the members or elements of an object or array at s.I,
// each with member, up to the closing byte.
func (s *scanner) container(closing byte, member func() bool) bool {
	s.depth++
	defer func() { s.depth-- }()
	return s.depth <= maxDepth && s.Elements(closing, member)
}

// span is a value's bytes in the body; end 0 means absent.
type span struct{ start, end int }

// inner is what innerLocation says of one envelope member's value.
type inner struct {
	loc         string
	found, sure bool
	set         bool // the member was present
}

// fromResponseFast is FromResponse's fast path; sure is false when the
// caller must decode with encoding/json instead. It reads the body once:
// an envelope member's object is searched for its locationId while it is
// checked, instead of being checked first and read again.
func fromResponseFast(body []byte) (loc string, found, sure bool) {
	s := &scanner{Scanner: jsonscan.Scanner{B: body}}
	s.WS()
	if s.I >= len(s.B) || s.B[s.I] != '{' {
		return "", false, false
	}
	var env [8]inner // one per envelope key
	if len(envelopeKeys) > len(env) {
		return "", false, false
	}
	var top span
	unsure := false
	ok := s.container('}', func() bool {
		if s.I >= len(s.B) || s.B[s.I] != '"' {
			return false
		}
		key, escaped, ok := s.Str()
		if !ok {
			return false
		}
		unsure = unsure || escaped
		s.WS()
		if s.I >= len(s.B) || s.B[s.I] != ':' {
			return false
		}
		s.I++
		s.WS()
		start := s.I
		envIdx := -1
		for i, k := range envelopeKeys {
			if string(key) == k {
				envIdx = i
			}
		}
		if envIdx >= 0 {
			// The last of duplicate keys wins, as in a map.
			var in inner
			if in, ok = s.resource(); !ok {
				return false
			}
			env[envIdx] = in
		} else if !s.skip() {
			return false
		}
		if string(key) == "locationId" {
			top = span{start, s.I}
		}
		return true
	})
	if !ok || unsure {
		return "", false, false
	}
	s.WS()
	if s.I != len(s.B) {
		return "", false, false
	}
	var topValue []byte
	if top.end != 0 {
		topValue = body[top.start:top.end]
	}
	return verdict(env[:len(envelopeKeys)], topValue)
}

// verdict is what FromResponse answers from what a reader found: the
// envelope members in envelopeKeys' order, then the top-level locationId's
// value (nil when there is none). sure is false when encoding/json must
// decide.
func verdict(env []inner, top []byte) (loc string, found, sure bool) {
	for _, in := range env {
		if !in.set {
			continue
		}
		if !in.sure {
			return "", false, false
		}
		if in.found {
			return in.loc, true, true
		}
	}
	if top == nil {
		return "", false, true
	}
	switch top[0] {
	case '"':
		loc, ok := plainStringValue(top)
		return loc, ok, ok
	case 'n':
		return "", true, true // null decodes into "" without error
	}
	return "", false, true // another type fails to decode
}

// innerOf is an envelope object's verdict from its locationId members: the
// last one's value (nil for none) and whether one was of another type than
// string or null, which fails encoding/json's decode.
func innerOf(last []byte, typeErr bool) inner {
	in := inner{set: true, sure: true}
	if typeErr || last == nil || last[0] == 'n' {
		return in
	}
	in.loc, in.sure = plainStringValue(last)
	in.found = in.sure
	return in
}

// plainStringValue is the JSON string v as encoding/json decodes it, when
// that is v's bytes as they are: no escapes and valid UTF-8 (encoding/json
// replaces invalid UTF-8); ok is false otherwise.
func plainStringValue(v []byte) (string, bool) {
	raw, escaped, ok := (&jsonscan.Scanner{B: v}).Str()
	if !ok || escaped || !utf8.Valid(raw) {
		return "", false
	}
	return string(raw), true
}

// resource checks the value at s.I like skip and, when it is an object,
// reads its locationId member the way encoding/json fills
// struct{LocationID *string}: keys match case-insensitively, the last match
// wins, null leaves nil, and any other non-string type fails the whole
// decode. ok is false for invalid JSON.
func (s *scanner) resource() (in inner, ok bool) {
	in.set = true
	if s.I >= len(s.B) || s.B[s.I] != '{' {
		// null, or a type error: no location either way.
		in.sure = true
		return in, s.skip()
	}
	var last span
	typeErr, unsure := false, false
	ok = s.container('}', func() bool {
		if s.I >= len(s.B) || s.B[s.I] != '"' {
			return false
		}
		key, escaped, ok := s.Str()
		if !ok {
			return false
		}
		if escaped || !asciiOnly(key) {
			unsure = true
		}
		s.WS()
		if s.I >= len(s.B) || s.B[s.I] != ':' {
			return false
		}
		s.I++
		s.WS()
		start := s.I
		if !s.skip() {
			return false
		}
		if equalFoldASCII(key, "locationId") {
			switch s.B[start] {
			case '"', 'n':
				last = span{start, s.I}
			default:
				typeErr = true
			}
		}
		return true
	})
	if !ok || unsure {
		return in, ok
	}
	var lastValue []byte
	if last.end != 0 {
		lastValue = s.B[last.start:last.end]
	}
	return innerOf(lastValue, typeErr), true
}

func asciiOnly(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

func equalFoldASCII(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// plain marks the bytes a string can hold as they are: not a quote, a
// backslash or a control character.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()
