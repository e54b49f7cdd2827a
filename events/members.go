package events

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/rankr/ghlgate/gateway/jsonscan"
)

// membersFast is json.Unmarshal into a map[string]json.RawMessage, in one
// pass over the bytes: building a change's event read a 2 KB contact twice
// with encoding/json (the answer, then its envelope), which checks the whole
// input before decoding it; that was about a seventh of the CPU a captured
// PUT costs the gateway.
//
// sure is false whenever the fast path cannot promise encoding/json's
// result: invalid JSON, a key with an escape or a byte beyond ASCII (which
// encoding/json would decode or replace), nesting deeper than maxDepth. The
// caller then asks encoding/json. When sure, m is exactly what
// json.Unmarshal gives, except that the values are slices of b, not copies
// (TestMembersFastAgrees, FuzzMembersFast).
func membersFast(b []byte) (m map[string]json.RawMessage, sure bool) {
	s := jsonscan.Scanner{B: b}
	s.WS()
	if s.I >= len(b) || b[s.I] != '{' {
		return nil, false
	}
	s.I++
	s.WS()
	m = map[string]json.RawMessage{}
	if s.I < len(b) && b[s.I] == '}' {
		s.I++
	} else {
		for {
			s.WS()
			if s.I >= len(b) || b[s.I] != '"' {
				return nil, false
			}
			key, escaped, ok := s.Str()
			if !ok || escaped || !ascii(key) {
				return nil, false
			}
			s.WS()
			if s.I >= len(b) || b[s.I] != ':' {
				return nil, false
			}
			s.I++
			s.WS()
			start := s.I
			if !s.Skip(1, maxDepth) {
				return nil, false
			}
			m[string(key)] = json.RawMessage(b[start:s.I:s.I])
			more, ok := s.After('}')
			if !ok {
				return nil, false
			}
			if !more {
				break
			}
		}
	}
	s.WS()
	if s.I != len(b) {
		return nil, false
	}
	return m, true
}

// maxDepth bounds the nesting membersFast reads; deeper documents are left
// to encoding/json, which has its own limit.
const maxDepth = 64

func ascii(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// stringValue is json.Unmarshal of v into a string, without the decoder for
// the common case: a string with no escape, valid UTF-8.
func stringValue(v json.RawMessage) (string, bool) {
	if n := len(v); n >= 2 && v[0] == '"' && v[n-1] == '"' {
		inner := v[1 : n-1]
		plain := utf8.Valid(inner)
		for _, c := range inner {
			if c == '\\' || c == '"' || c < 0x20 {
				plain = false
				break
			}
		}
		if plain {
			return string(inner), true
		}
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}
