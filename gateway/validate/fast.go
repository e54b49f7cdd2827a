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

	"github.com/rankr/ghlgate/gateway/jsonscan"
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
	maxItems int64         // -1: none
	names    propTable     // property name → index in propList
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
		props := make(map[string]int, len(s.Properties)+len(s.Required))
		for name, ref := range s.Properties {
			if ref == nil || ref.Value == nil || ref.Value.WriteOnly {
				return fail()
			}
			p := c.compile(ref.Value, seen, map[*openapi3.Schema]bool{})
			if p == nil {
				return fail()
			}
			props[name] = len(f.propList)
			f.propList = append(f.propList, p)
			f.declared = append(f.declared, true)
		}
		for _, name := range s.Required {
			i, ok := props[name]
			if !ok {
				i = len(f.propList)
				props[name] = i
				f.propList = append(f.propList, nil)
				f.declared = append(f.declared, false)
			}
			f.required = append(f.required, i)
		}
		f.names = newPropTable(props)
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
	ok, _ := v.fastResponse(r, route, status, h, body, nil)
	return ok
}

// fastResponse is fastResponseOK that also reports to obs (when not nil)
// the members it reads; read says it read the whole body, which it found
// valid JSON conforming to the schema.
func (v *Validator) fastResponse(r *http.Request, route *routers.Route, status int, h http.Header, body []byte, obs Observer) (ok, read bool) {
	ok, read = v.fastResponseBody(r, route, status, h, body, obs)
	return ok, ok && read
}

func (v *Validator) fastResponseBody(r *http.Request, route *routers.Route, status int, h http.Header, body []byte, obs Observer) (ok, read bool) {
	if r.Method == http.MethodHead {
		return true, false
	}
	switch status {
	case http.StatusNotModified, http.StatusPermanentRedirect, http.StatusTemporaryRedirect, http.StatusMovedPermanently:
		return true, false
	}
	if route == nil || route.Operation == nil || route.Spec == nil || route.Spec.IsOpenAPI31OrLater() {
		return false, false
	}
	responses := route.Operation.Responses
	if responses.Len() == 0 {
		return true, false
	}
	ref := responses.Status(status)
	if ref == nil {
		ref = responses.Default()
	}
	if ref == nil {
		return !v.resp.IncludeResponseStatus, false
	}
	resp := ref.Value
	if resp == nil {
		return false, false
	}
	for name := range resp.Headers {
		if name != "Content-Type" {
			return false, false
		}
	}
	if len(resp.Content) == 0 {
		return true, false
	}
	ct := h.Get("Content-Type")
	mt := resp.Content.Get(ct)
	if mt == nil || len(mt.Encoding) > 0 {
		return false, false
	}
	if mt.Schema == nil {
		return true, false
	}
	if mt.Schema.Value == nil {
		return false, false
	}
	// The media type as kin-openapi's decodeBody reads it to pick the
	// decoder: only application/json is decoded by JSONBodyDecoder here.
	media, _, _ := strings.Cut(ct, ";")
	if !strings.EqualFold(strings.TrimSpace(media), "application/json") {
		return false, false
	}
	f := v.fast.get(mt.Schema.Value)
	if f == nil {
		return false, false
	}
	s := scanner{Scanner: jsonscan.Scanner{B: body}, obs: obs}
	s.WS()
	if !s.value(f) {
		return false, false
	}
	s.WS()
	return s.I == len(s.B), true
}

// scanner checks JSON bytes against a fastSchema in one pass. Every method
// returns false for "not certainly valid".
type scanner struct {
	jsonscan.Scanner
	// obs, when set, is told the members of depth 1 and 2 (see Observer);
	// depth is the containers open at I; quiet > 0 while allOf reads
	// members a second time.
	obs   Observer
	depth int
	quiet int
}

// Observer sees the members of an answer's top-level object (depth 1) and
// of the objects that are the values of those members (depth 2), each once,
// after the member's value is read; value is the member's JSON text. It is
// never told a member whose key holds an escape: the fast check leaves those
// answers to kin-openapi.
type Observer interface {
	Member(depth int, key, value []byte)
}

func (s *scanner) value(f *fastSchema) bool {
	if s.I >= len(s.B) {
		return false
	}
	var kind uint8
	switch c := s.B[s.I]; {
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
		return f.types&kNull != 0 && s.Literal("null")
	}
	if kind == kObject || kind == kArray {
		return s.container(f, kind)
	}
	var str []byte
	switch kind {
	case kBool:
		if !s.Literal("true") && !s.Literal("false") {
			return false
		}
	case kString:
		raw, escaped, ok := s.Str()
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
	if f.enum == nil && len(f.allOf) == 0 {
		return f.types&kind != 0 // the common case, without a call
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
	start := s.I
	end := -1
	var check func(f *fastSchema) bool
	check = func(f *fastSchema) bool {
		if f.types&kind == 0 {
			return false
		}
		s.I = start
		var ok bool
		if kind == kObject {
			ok = s.object(f)
		} else {
			ok = s.array(f)
		}
		if !ok || (end >= 0 && s.I != end) {
			return false
		}
		end = s.I
		for _, sub := range f.allOf {
			s.quiet++ // the same members again: told once
			ok := check(sub)
			s.quiet--
			if !ok {
				return false
			}
		}
		return true
	}
	if !check(f) {
		return false
	}
	s.I = end
	return true
}

// number scans a JSON number and says whether it is integral. Like
// json.Number.Float64 in kin-openapi, a number beyond float64 fails.
func (s *scanner) number() (uint8, bool) {
	text, plain, ok := s.Number()
	if !ok {
		return 0, false
	}
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
	s.depth++
	ok := s.elements(f)
	s.depth--
	return ok
}

func (s *scanner) elements(f *fastSchema) bool {
	s.I++ // [
	s.WS()
	n := int64(0)
	if s.I < len(s.B) && s.B[s.I] == ']' {
		s.I++
	} else {
		for {
			s.WS()
			if !s.element(f.items) {
				return false
			}
			n++
			more, ok := s.After(']')
			if !ok {
				return false
			}
			if !more {
				break
			}
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
	s.depth++
	ok := s.members(f)
	s.depth--
	return ok
}

func (s *scanner) members(f *fastSchema) bool {
	s.I++ // {
	var seenSmall uint64
	var seenBig []bool
	if len(f.propList) > 64 {
		seenBig = make([]bool, len(f.propList))
	}
	s.WS()
	if s.I < len(s.B) && s.B[s.I] == '}' {
		s.I++
	} else {
		for {
			s.WS()
			if s.I >= len(s.B) || s.B[s.I] != '"' {
				return false
			}
			// The key is B[keyStart:keyEnd], sliced only for the observer.
			keyStart := s.I + 1
			idx, end := f.names.matchAt(s.B, keyStart)
			known := end >= 0
			keyEnd := end - 1
			if known {
				s.I = end
			} else {
				// Not a property name: read it as a string (an escaped key
				// is left to kin-openapi).
				if _, escaped, ok := s.Str(); !ok || escaped {
					return false
				}
				keyEnd = s.I - 1
			}
			if s.I < len(s.B) && s.B[s.I] == ':' {
				s.I++ // compact JSON, as GHL sends it
			} else {
				s.WS()
				if s.I >= len(s.B) || s.B[s.I] != ':' {
					return false
				}
				s.I++
			}
			s.WS()
			vstart := s.I
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
			if s.obs != nil && s.depth <= 2 && s.quiet == 0 {
				s.obs.Member(s.depth, s.B[keyStart:keyEnd], s.B[vstart:s.I])
			}
			more, ok := s.After('}')
			if !ok {
				return false
			}
			if !more {
				break
			}
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
