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
		s.i += plainRun(s.b[s.i:])
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
	s := &scanner{b: body}
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return "", false, false
	}
	var env [8]inner // one per envelope key
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
	for _, in := range env[:len(envelopeKeys)] {
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

// resource checks the value at s.i like skip and, when it is an object,
// reads its locationId member the way encoding/json fills
// struct{LocationID *string}: keys match case-insensitively, the last match
// wins, null leaves nil, and any other non-string type fails the whole
// decode. ok is false for invalid JSON.
func (s *scanner) resource() (in inner, ok bool) {
	in.set = true
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		// null, or a type error: no location either way.
		in.sure = true
		return in, s.skip()
	}
	var last span
	typeErr, unsure := false, false
	ok = s.container('}', func() bool {
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return false
		}
		key, escaped, ok := s.str()
		if !ok {
			return false
		}
		if escaped || !asciiOnly(key) {
			unsure = true
		}
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
		if equalFoldASCII(key, "locationId") {
			switch s.b[start] {
			case '"', 'n':
				last = span{start, s.i}
			default:
				typeErr = true
			}
		}
		return true
	})
	if !ok || unsure {
		return in, ok
	}
	in.sure = true
	if typeErr || last.end == 0 || s.b[last.start] == 'n' {
		return in, true
	}
	ls := &scanner{b: s.b[last.start:last.end]}
	raw, escaped, _ := ls.str()
	if escaped {
		in.sure = false
		return in, true
	}
	in.loc, in.found = string(raw), true
	return in, true
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
