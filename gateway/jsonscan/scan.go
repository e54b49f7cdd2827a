// Package jsonscan holds the lexical steps of the one-pass JSON readers
// behind the gateway's fast paths (response validation, the location of an
// answer): whitespace, strings, literals and numbers, read in place without
// allocating. Each fast path decides on its own when it is unsure and hands
// the body to encoding/json or kin-openapi; this package only reads.
package jsonscan

// Scanner reads B from position I.
type Scanner struct {
	B []byte
	I int
}

// WS skips whitespace. Every byte of JSON's whitespace is at most a space,
// and most calls find none: one comparison answers those.
func (s *Scanner) WS() {
	for s.I < len(s.B) && s.B[s.I] <= ' ' {
		switch s.B[s.I] {
		case ' ', '\t', '\n', '\r':
			s.I++
		default:
			return
		}
	}
}

// After reads what follows an element of an array or a member of an
// object closed by closing, whitespace first: a comma (more true) or
// closing (more false), consumed. ok is false for anything else, or the end
// of the input.
func (s *Scanner) After(closing byte) (more, ok bool) {
	s.WS()
	if s.I >= len(s.B) {
		return false, false
	}
	switch s.B[s.I] {
	case ',':
		s.I++
		return true, true
	case closing:
		s.I++
		return false, true
	}
	return false, false
}

// Literal consumes lit (true, false, null) if it comes next.
func (s *Scanner) Literal(lit string) bool {
	if len(s.B)-s.I >= len(lit) && string(s.B[s.I:s.I+len(lit)]) == lit {
		s.I += len(lit)
		return true
	}
	return false
}

// Str reads the string at I (which holds '"') and returns the bytes between
// the quotes and whether they hold an escape; ok is false for invalid JSON.
func (s *Scanner) Str() (raw []byte, escaped, ok bool) {
	s.I++ // opening quote
	start := s.I
	for s.I < len(s.B) {
		// Runs of plain bytes first: most of a body is inside strings.
		s.I += plainRun(s.B[s.I:])
		if s.I >= len(s.B) {
			break
		}
		c := s.B[s.I]
		switch {
		case c == '"':
			raw = s.B[start:s.I]
			s.I++
			return raw, escaped, true
		case c < 0x20:
			return nil, false, false
		case c == '\\':
			escaped = true
			if s.I+1 >= len(s.B) {
				return nil, false, false
			}
			switch s.B[s.I+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.I += 2
			case 'u':
				if s.I+6 > len(s.B) {
					return nil, false, false
				}
				for _, h := range s.B[s.I+2 : s.I+6] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return nil, false, false
					}
				}
				s.I += 6
			default:
				return nil, false, false
			}
		default:
			s.I++
		}
	}
	return nil, false, false
}

// Number reads the number at I and returns its text, and whether it has
// neither a fraction nor an exponent; ok is false for invalid JSON.
func (s *Scanner) Number() (text []byte, plain, ok bool) {
	start := s.I
	if s.B[s.I] == '-' {
		s.I++
	}
	if s.I < len(s.B) && s.B[s.I] == '0' {
		s.I++
	} else if s.digits() == 0 {
		return nil, false, false
	}
	plain = true
	if s.I < len(s.B) && s.B[s.I] == '.' {
		s.I++
		plain = false
		if s.digits() == 0 {
			return nil, false, false
		}
	}
	if s.I < len(s.B) && (s.B[s.I] == 'e' || s.B[s.I] == 'E') {
		s.I++
		plain = false
		if s.I < len(s.B) && (s.B[s.I] == '+' || s.B[s.I] == '-') {
			s.I++
		}
		if s.digits() == 0 {
			return nil, false, false
		}
	}
	return s.B[start:s.I], plain, true
}

func (s *Scanner) digits() int {
	n := 0
	for s.I < len(s.B) && '0' <= s.B[s.I] && s.B[s.I] <= '9' {
		s.I++
		n++
	}
	return n
}

// Elements reads the members or elements of the object or array at I
// (which holds its opening byte) up to closing, each with one, which starts
// at the member or element and must stop right after it.
func (s *Scanner) Elements(closing byte, one func() bool) bool {
	s.I++
	s.WS()
	if s.I < len(s.B) && s.B[s.I] == closing {
		s.I++
		return true
	}
	for {
		s.WS()
		if !one() {
			return false
		}
		more, ok := s.After(closing)
		if !ok {
			return false
		}
		if !more {
			return true
		}
	}
}

// Skip reads the value at I and checks its syntax; ok is false for invalid
// JSON, or for a value that opens containers beyond max, depth being the
// containers already open around it.
func (s *Scanner) Skip(depth, max int) bool {
	if s.I >= len(s.B) {
		return false
	}
	switch c := s.B[s.I]; c {
	case '[':
		return depth+1 <= max && s.Elements(']', func() bool { return s.Skip(depth+1, max) })
	case '{':
		return depth+1 <= max && s.Elements('}', func() bool {
			if s.I >= len(s.B) || s.B[s.I] != '"' {
				return false
			}
			if _, _, ok := s.Str(); !ok {
				return false
			}
			s.WS()
			if s.I >= len(s.B) || s.B[s.I] != ':' {
				return false
			}
			s.I++
			s.WS()
			return s.Skip(depth+1, max)
		})
	case '"':
		_, _, ok := s.Str()
		return ok
	case 't':
		return s.Literal("true")
	case 'f':
		return s.Literal("false")
	case 'n':
		return s.Literal("null")
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		_, _, ok := s.Number()
		return ok
	}
	return false
}
