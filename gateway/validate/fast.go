package validate

import (
	"math"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
)

// The fast path of response validation. kin-openapi decodes every answer
// into map[string]any and walks it with reflection-heavy code: about half of
// the gateway's CPU per request in BenchmarkPipeline. Most of GHL's response
// schemas use only a small part of OpenAPI (type, nullable, properties,
// required, items, additionalProperties, allOf), which can be checked in one
// pass over the bytes, without building the value.
//
// The fast path can only say "conforms". Whenever it is unsure (a keyword it
// does not implement, an escaped key, a number out of range, trailing data)
// or finds a violation, kin-openapi validates as before, so every verdict
// and every error message stays kin-openapi's.

// kinds of JSON value, as a bit set of the types a schema permits.
const (
	kNull uint8 = 1 << iota
	kBool
	kNumber
	kInteger // number with no fractional part
	kString
	kArray
	kObject
	kAll = kBool | kNumber | kInteger | kString | kArray | kObject
)

// fastSchema is a compiled schema of the supported subset.
type fastSchema struct {
	types    uint8    // permitted kinds (kNull when nullable)
	enum     []string // non-nil: the value must be one of these strings
	allOf    []*fastSchema
	items    *fastSchema // nil: any item
	minItems uint64
	maxItems int64 // -1: none
	props    map[string]int
	propList []*fastSchema // nil entry: required but undeclared (additionalProperties applies)
	declared []bool
	required []int
	// additional: 0 any, 1 schema, 2 none allowed.
	additional int
	addSchema  *fastSchema
}

// compiler turns kin schemas into fastSchemas, once per schema.
type compiler struct {
	mu    sync.Mutex
	cache map[*openapi3.Schema]*fastSchema // nil value: not supported
}

func newCompiler() *compiler { return &compiler{cache: map[*openapi3.Schema]*fastSchema{}} }

// get returns the compiled schema, or nil when the fast path cannot judge it.
func (c *compiler) get(s *openapi3.Schema) *fastSchema {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.cache[s]; ok {
		return f
	}
	f := c.compile(s, map[*openapi3.Schema]*fastSchema{}, map[*openapi3.Schema]bool{})
	c.cache[s] = f
	return f
}

// supportedFields are the keywords the fast path implements or that do not
// change a response's validity (annotations, readOnly in a response). A
// schema setting any other field is left to kin-openapi; that holds for
// fields added to kin-openapi later, too.
func unsupported(s *openapi3.Schema) bool {
	c := *s
	c.Extensions, c.Origin, c.AllOf, c.Type, c.Title, c.Description, c.Default, c.Example, c.ExternalDocs = nil, nil, nil, nil, "", "", nil, nil, nil
	for _, e := range c.Enum {
		if _, ok := e.(string); !ok {
			return true // only enums of strings are compiled
		}
	}
	c.Enum = nil
	c.Nullable, c.ReadOnly, c.AllowEmptyValue, c.Deprecated, c.XML = false, false, false, false, nil
	c.MinItems, c.MaxItems, c.Items, c.Required, c.Properties, c.AdditionalProperties = 0, nil, nil, nil, nil, openapi3.AdditionalProperties{}
	return !reflect.ValueOf(c).IsZero()
}

// compile builds s. seen holds the schemas compiled on this walk (recursive
// schemas through properties and items are fine: the value shrinks); inAllOf
// guards against allOf cycles, which kin-openapi resolves by accepting and
// the fast path leaves to it.
func (c *compiler) compile(s *openapi3.Schema, seen map[*openapi3.Schema]*fastSchema, inAllOf map[*openapi3.Schema]bool) *fastSchema {
	if s == nil || unsupported(s) {
		return nil
	}
	if f, ok := seen[s]; ok {
		return f
	}
	f := &fastSchema{maxItems: -1}
	seen[s] = f
	fail := func() *fastSchema { seen[s] = nil; return nil }
	if s.Type == nil {
		f.types = kAll
	}
	if s.Type != nil {
		for _, t := range *s.Type {
			switch t {
			case openapi3.TypeObject:
				f.types |= kObject
			case openapi3.TypeArray:
				f.types |= kArray
			case openapi3.TypeString:
				f.types |= kString
			case openapi3.TypeNumber:
				f.types |= kNumber | kInteger
			case openapi3.TypeInteger:
				f.types |= kInteger
			case openapi3.TypeBoolean:
				f.types |= kBool
			case openapi3.TypeNull:
				f.types |= kNull
			default:
				return fail()
			}
		}
	}
	if s.Nullable {
		f.types |= kNull
	}
	if len(s.Enum) > 0 {
		f.enum = make([]string, len(s.Enum))
		for i, e := range s.Enum {
			f.enum[i] = e.(string) // checked by unsupported
		}
	}
	inAllOf[s] = true
	defer delete(inAllOf, s)
	for _, ref := range s.AllOf {
		if ref == nil || ref.Value == nil || inAllOf[ref.Value] {
			return fail()
		}
		sub := c.compile(ref.Value, seen, inAllOf)
		if sub == nil {
			return fail()
		}
		f.allOf = append(f.allOf, sub)
	}
	if s.Items != nil {
		if s.Items.Value == nil {
			return fail()
		}
		if f.items = c.compile(s.Items.Value, seen, map[*openapi3.Schema]bool{}); f.items == nil {
			return fail()
		}
	}
	f.minItems = s.MinItems
	if s.MaxItems != nil {
		if *s.MaxItems > math.MaxInt64 {
			return fail()
		}
		f.maxItems = int64(*s.MaxItems)
	}
	if len(s.Properties) > 0 || len(s.Required) > 0 {
		f.props = make(map[string]int, len(s.Properties)+len(s.Required))
		for name, ref := range s.Properties {
			if ref == nil || ref.Value == nil || ref.Value.WriteOnly {
				return fail()
			}
			p := c.compile(ref.Value, seen, map[*openapi3.Schema]bool{})
			if p == nil {
				return fail()
			}
			f.props[name] = len(f.propList)
			f.propList = append(f.propList, p)
			f.declared = append(f.declared, true)
		}
		for _, name := range s.Required {
			i, ok := f.props[name]
			if !ok {
				i = len(f.propList)
				f.props[name] = i
				f.propList = append(f.propList, nil)
				f.declared = append(f.declared, false)
			}
			f.required = append(f.required, i)
		}
	}
	switch ap := s.AdditionalProperties; {
	case ap.Has != nil && !*ap.Has:
		f.additional = 2
	case ap.Schema != nil:
		if ap.Schema.Value == nil {
			return fail()
		}
		if f.addSchema = c.compile(ap.Schema.Value, seen, map[*openapi3.Schema]bool{}); f.addSchema == nil {
			return fail()
		}
		f.additional = 1
	}
	return f
}

// fastResponseOK reports whether kin-openapi's ValidateResponse would
// certainly accept this answer. false means "ask kin-openapi".
func (v *Validator) fastResponseOK(r *http.Request, route *routers.Route, status int, h http.Header, body []byte) bool {
	if r.Method == http.MethodHead {
		return true
	}
	switch status {
	case http.StatusNotModified, http.StatusPermanentRedirect, http.StatusTemporaryRedirect, http.StatusMovedPermanently:
		return true
	}
	if route == nil || route.Operation == nil || route.Spec == nil || route.Spec.IsOpenAPI31OrLater() {
		return false
	}
	responses := route.Operation.Responses
	if responses.Len() == 0 {
		return true
	}
	ref := responses.Status(status)
	if ref == nil {
		ref = responses.Default()
	}
	if ref == nil {
		return !v.resp.IncludeResponseStatus
	}
	resp := ref.Value
	if resp == nil {
		return false
	}
	for name := range resp.Headers {
		if name != "Content-Type" {
			return false
		}
	}
	if len(resp.Content) == 0 {
		return true
	}
	ct := h.Get("Content-Type")
	mt := resp.Content.Get(ct)
	if mt == nil || len(mt.Encoding) > 0 {
		return false
	}
	if mt.Schema == nil {
		return true
	}
	if mt.Schema.Value == nil {
		return false
	}
	// The media type as kin-openapi's decodeBody reads it to pick the
	// decoder: only application/json is decoded by JSONBodyDecoder here.
	media, _, _ := strings.Cut(ct, ";")
	if !strings.EqualFold(strings.TrimSpace(media), "application/json") {
		return false
	}
	f := v.fast.get(mt.Schema.Value)
	if f == nil {
		return false
	}
	s := scanner{b: body}
	s.ws()
	if !s.value(f) {
		return false
	}
	s.ws()
	return s.i == len(s.b)
}

// scanner checks JSON bytes against a fastSchema in one pass. Every method
// returns false for "not certainly valid".
type scanner struct {
	b []byte
	i int
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

func (s *scanner) value(f *fastSchema) bool {
	if s.i >= len(s.b) {
		return false
	}
	var kind uint8
	switch c := s.b[s.i]; {
	case c == '{':
		kind = kObject
	case c == '[':
		kind = kArray
	case c == '"':
		kind = kString
	case c == 't' || c == 'f':
		kind = kBool
	case c == 'n':
		kind = kNull
	case c == '-' || ('0' <= c && c <= '9'):
		kind = kNumber
	default:
		return false
	}
	if kind == kNull {
		// kin-openapi accepts null exactly when the schema permits it,
		// before anything else (allOf included).
		return f.types&kNull != 0 && s.literal("null")
	}
	if kind == kObject || kind == kArray {
		return s.container(f, kind)
	}
	var str []byte
	switch kind {
	case kBool:
		if !s.literal("true") && !s.literal("false") {
			return false
		}
	case kString:
		raw, escaped, ok := s.strRaw()
		if !ok {
			return false
		}
		str = raw
		if escaped {
			str = nil // an enum never matches: left to kin-openapi
		}
	case kNumber:
		var ok bool
		if kind, ok = s.number(); !ok {
			return false
		}
	}
	return scalarOK(f, kind, str)
}

// scalarOK checks a scalar's kind (and a string's value, for enums) against
// f and its allOf.
func scalarOK(f *fastSchema, kind uint8, str []byte) bool {
	if f.types&kind == 0 {
		return false
	}
	if f.enum != nil {
		if str == nil {
			return false
		}
		found := false
		for _, e := range f.enum {
			found = found || e == string(str)
		}
		if !found {
			return false
		}
	}
	for _, sub := range f.allOf {
		if !scalarOK(sub, kind, str) {
			return false
		}
	}
	return true
}

// container validates an object or array against f and every schema of its
// allOf. Each is a separate pass over the same bytes; allOf in responses is
// shallow (a schema and its base), so that stays cheap.
func (s *scanner) container(f *fastSchema, kind uint8) bool {
	if f.enum != nil {
		return false // kin-openapi compares containers with enums deeply
	}
	start := s.i
	end := -1
	var check func(f *fastSchema) bool
	check = func(f *fastSchema) bool {
		if f.types&kind == 0 {
			return false
		}
		s.i = start
		var ok bool
		if kind == kObject {
			ok = s.object(f)
		} else {
			ok = s.array(f)
		}
		if !ok || (end >= 0 && s.i != end) {
			return false
		}
		end = s.i
		for _, sub := range f.allOf {
			if !check(sub) {
				return false
			}
		}
		return true
	}
	if !check(f) {
		return false
	}
	s.i = end
	return true
}

func (s *scanner) literal(lit string) bool {
	if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
		s.i += len(lit)
		return true
	}
	return false
}

// strRaw returns the bytes between the quotes and whether they hold an
// escape.
func (s *scanner) strRaw() (raw []byte, escaped, ok bool) {
	s.i++ // opening quote
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

// number scans a JSON number and says whether it is integral. Like
// json.Number.Float64 in kin-openapi, a number beyond float64 fails.
func (s *scanner) number() (uint8, bool) {
	start := s.i
	if s.b[s.i] == '-' {
		s.i++
	}
	digits := func() int {
		n := 0
		for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.i < len(s.b) && s.b[s.i] == '0' {
		s.i++
	} else if digits() == 0 {
		return 0, false
	}
	plain := true
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		plain = false
		if digits() == 0 {
			return 0, false
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		plain = false
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return 0, false
		}
	}
	text := s.b[start:s.i]
	if plain && len(text) <= 15 {
		return kInteger, true // exact in a float64
	}
	fl, err := strconv.ParseFloat(string(text), 64)
	if err != nil || math.IsInf(fl, 0) {
		return 0, false
	}
	if fl == math.Trunc(fl) {
		return kInteger, true
	}
	return kNumber, true
}

func (s *scanner) array(f *fastSchema) bool {
	s.i++ // [
	s.ws()
	n := int64(0)
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
	} else {
		for {
			s.ws()
			if !s.element(f.items) {
				return false
			}
			n++
			s.ws()
			if s.i >= len(s.b) {
				return false
			}
			if s.b[s.i] == ',' {
				s.i++
				continue
			}
			if s.b[s.i] == ']' {
				s.i++
				break
			}
			return false
		}
	}
	if uint64(n) < f.minItems || (f.maxItems >= 0 && n > f.maxItems) {
		return false
	}
	return true
}

// element validates one value against f, or only its syntax when f is nil
// (no schema: anything goes).
func (s *scanner) element(f *fastSchema) bool {
	if f == nil {
		return s.skip()
	}
	return s.value(f)
}

var anything = &fastSchema{types: kAll | kNull, maxItems: -1}

// skip checks the syntax of one value.
func (s *scanner) skip() bool { return s.value(anything) }

func (s *scanner) object(f *fastSchema) bool {
	s.i++ // {
	var seenSmall uint64
	var seenBig []bool
	if len(f.propList) > 64 {
		seenBig = make([]bool, len(f.propList))
	}
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
	} else {
		for {
			s.ws()
			if s.i >= len(s.b) || s.b[s.i] != '"' {
				return false
			}
			key, escaped, ok := s.strRaw()
			if !ok || escaped {
				return false // an escaped key is left to kin-openapi
			}
			s.ws()
			if s.i >= len(s.b) || s.b[s.i] != ':' {
				return false
			}
			s.i++
			s.ws()
			idx, known := f.props[string(key)]
			if known {
				if seenBig != nil {
					if seenBig[idx] {
						return false // duplicate key: left to kin-openapi
					}
					seenBig[idx] = true
				} else {
					if seenSmall&(1<<idx) != 0 {
						return false
					}
					seenSmall |= 1 << idx
				}
			}
			var ok2 bool
			switch {
			case known && f.declared[idx]:
				ok2 = s.value(f.propList[idx])
			case f.additional == 2:
				return false
			case f.additional == 1:
				ok2 = s.value(f.addSchema)
			default:
				ok2 = s.skip()
			}
			if !ok2 {
				return false
			}
			s.ws()
			if s.i >= len(s.b) {
				return false
			}
			if s.b[s.i] == ',' {
				s.i++
				continue
			}
			if s.b[s.i] == '}' {
				s.i++
				break
			}
			return false
		}
	}
	for _, idx := range f.required {
		if seenBig != nil {
			if !seenBig[idx] {
				return false
			}
		} else if seenSmall&(1<<idx) == 0 {
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
