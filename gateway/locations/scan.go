package locations

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
	b     []byte
	i     int
	depth int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// str reads a string at s.i (which holds '"') and returns its raw bytes
// and whether it holds an escape. ok is false for invalid JSON.
func (s *scanner) str() (raw []byte, escaped, ok bool) {
	s.i++
	start := s.i
	for s.i < len(s.b) {
		// Runs of plain bytes first: most of a body is inside strings.
		for s.i < len(s.b) && plain[s.b[s.i]] {
			s.i++
		}
		if s.i >= len(s.b) {
			break
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			raw = s.b[start:s.i]
			s.i++
			return raw, escaped, true
		case c < 0x20:
			return nil, false, false
		case c == '\\':
			escaped = true
			if s.i+1 >= len(s.b) {
				return nil, false, false
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.b) {
					return nil, false, false
				}
				for _, h := range s.b[s.i+2 : s.i+6] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return nil, false, false
					}
				}
				s.i += 6
			default:
				return nil, false, false
			}
		default:
			s.i++
		}
	}
	return nil, false, false
}

func (s *scanner) digits() int {
	n := 0
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

func (s *scanner) number() bool {
	if s.b[s.i] == '-' {
		s.i++
	}
	if s.i < len(s.b) && s.b[s.i] == '0' {
		s.i++
	} else if s.digits() == 0 {
		return false
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return false
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return false
		}
	}
	return true
}

func (s *scanner) literal(lit string) bool {
	if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
		s.i += len(lit)
		return true
	}
	return false
}

// skip checks the syntax of one value; false means invalid or too deep.
func (s *scanner) skip() bool {
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		_, _, ok := s.str()
		return ok
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || ('0' <= c && c <= '9'):
		return s.number()
	case c == '[':
		return s.container(']', func() bool { return s.skip() })
	case c == '{':
		return s.container('}', func() bool {
			if s.i >= len(s.b) || s.b[s.i] != '"' {
				return false
			}
			if _, _, ok := s.str(); !ok {
				return false
			}
			s.ws()
			if s.i >= len(s.b) || s.b[s.i] != ':' {
				return false
			}
			s.i++
			s.ws()
			return s.skip()
		})
	}
	return false
}

// container reads the members or elements of an object or array at s.i,
// each with member, up to the closing byte.
func (s *scanner) container(closing byte, member func() bool) bool {
	s.depth++
	defer func() { s.depth-- }()
	if s.depth > maxDepth {
		return false
	}
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == closing {
		s.i++
		return true
	}
	for {
		s.ws()
		if !member() {
			return false
		}
		s.ws()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case closing:
			s.i++
			return true
		default:
			return false
		}
	}
}

// span is a value's bytes in the body; end 0 means absent.
type span struct{ start, end int }

// fromResponseFast is FromResponse's fast path; sure is false when the
// caller must decode with encoding/json instead.
func fromResponseFast(body []byte) (loc string, found, sure bool) {
	s := &scanner{b: body}
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return "", false, false
	}
	var env [8]span // one per envelope key
	if len(envelopeKeys) > len(env) {
		return "", false, false
	}
	var top span
	unsure := false
	ok := s.container('}', func() bool {
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return false
		}
		key, escaped, ok := s.str()
		if !ok {
			return false
		}
		unsure = unsure || escaped
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return false
		}
		s.i++
		s.ws()
		start := s.i
		if !s.skip() {
			return false
		}
		for i, k := range envelopeKeys {
			if string(key) == k {
				env[i] = span{start, s.i} // the last of duplicate keys wins, as in a map
			}
		}
		if string(key) == "locationId" {
			top = span{start, s.i}
		}
		return true
	})
	if !ok || unsure {
		return "", false, false
	}
	s.ws()
	if s.i != len(s.b) {
		return "", false, false
	}
	for _, sp := range env[:len(envelopeKeys)] {
		if sp.end == 0 {
			continue
		}
		loc, found, sure := innerLocation(body[sp.start:sp.end])
		if !sure {
			return "", false, false
		}
		if found {
			return loc, true, true
		}
	}
	if top.end != 0 {
		v := body[top.start:top.end]
		switch v[0] {
		case '"':
			s := &scanner{b: v}
			raw, escaped, _ := s.str()
			if escaped {
				return "", false, false
			}
			return string(raw), true, true
		case 'n':
			return "", true, true // null decodes into "" without error
		}
		return "", false, true // another type fails to decode
	}
	return "", false, true
}

// innerLocation reads the locationId member of an already checked
// resource value the way encoding/json fills struct{LocationID *string}:
// keys match case-insensitively, the last match wins, null leaves nil, and
// any other non-string type fails the whole decode.
func innerLocation(v []byte) (loc string, found, sure bool) {
	if v[0] != '{' {
		return "", false, true // null, or a type error: no location either way
	}
	s := &scanner{b: v}
	var last span
	typeErr, unsure := false, false
	s.container('}', func() bool {
		key, escaped, _ := s.str()
		if escaped || !asciiOnly(key) {
			unsure = true
		}
		s.ws()
		s.i++ // ':'
		s.ws()
		start := s.i
		s.skip()
		if equalFoldASCII(key, "locationId") {
			switch v[start] {
			case '"', 'n':
				last = span{start, s.i}
			default:
				typeErr = true
			}
		}
		return true
	})
	if unsure {
		return "", false, false
	}
	if typeErr || last.end == 0 || v[last.start] == 'n' {
		return "", false, true
	}
	ls := &scanner{b: v[last.start:last.end]}
	raw, escaped, _ := ls.str()
	if escaped {
		return "", false, false
	}
	return string(raw), true, true
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
