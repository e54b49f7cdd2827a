package validate

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/rankr/ghlgate/gateway/jsonscan"
)

// TestPropTableAgreesWithAMap: every key of a property set is found at its
// index, and keys near them (prefixes, one byte changed, one more byte, the
// empty key, other lengths) are not, for sets of many sizes, also where the
// key ends the input.
func TestPropTableAgreesWithAMap(t *testing.T) {
	names := []string{"", "a", "id", "dnd", "tags", "email", "phone", "source", "website", "timezone",
		"firstName", "firstNameLowerCase", "lastName", "lastNameLowerCase", "fullNameLowerCase",
		"utmContent", "utmMedium", "utmSource", "attributionSource", "lastAttributionSource",
		"emailLowerCase", "dateAdded", "dateUpdated", "dateOfBirth", "customFields", "locationId",
		"a-very-long-property-name-that-runs-past-sixteen-bytes", "a-very-long-property-name-that-runs-past-sixteen-bytez"}
	for i := range 200 {
		names = append(names, fmt.Sprintf("field%d", i))
	}
	for n := 0; n <= len(names); n = n*2 + 1 {
		props := map[string]int{}
		for i, name := range names[:n] {
			props[name] = i
		}
		table := newPropTable(props)
		probe := func(key string) {
			want, wantOK := props[key]
			// The key as an object holds it, and at the very end of the input.
			for _, b := range [][]byte{[]byte(`"` + key + `":1}`), []byte(`"` + key + `"`)} {
				got, end := table.matchAt(b, 1)
				if ok := end >= 0; ok != wantOK || (ok && (got != want || end != len(key)+2)) {
					t.Errorf("%d properties: matchAt(%q) = %d, end %d; want %d, %v, end %d", n, b, got, end, want, wantOK, len(key)+2)
				}
			}
		}
		for _, name := range names {
			probe(name)
			probe(name + "x")
			if name != "" {
				probe(name[:len(name)-1])
				b := []byte(name)
				b[len(b)/2] ^= 1
				probe(string(b))
			}
		}
	}
}

// TestEmptyPropTable: a schema without properties finds nothing.
func TestEmptyPropTable(t *testing.T) {
	var table propTable
	for _, b := range []string{`"id":1}`, `"":1}`} {
		if _, end := table.matchAt([]byte(b), 1); end >= 0 {
			t.Errorf("an empty table found the key of %s", b)
		}
	}
}

// TestMatchAtAgreesWithStr: matchAt finds a key exactly when reading it
// as a JSON string gives a property name with no escape, at that name's
// index and just past its closing quote, the empty name and keys at the end
// of the input included. Keys are probed with what follows a key in an object, with
// escapes, cut short, and at the end of the input.
func TestMatchAtAgreesWithStr(t *testing.T) {
	names := []string{"", "a", "ab", "id", "dnd", "tags", "firstName", "firstNameLowerCase", "lastName",
		"lastNameLowerCase", "lastActivity", "lastAttributionSource", "dateAdded", "dateUpdated", "dateOfBirth",
		"a\"b", `back\slash`, "tab\there", "naïve", "\u00e9t\u00e9"}
	for i := range 40 {
		names = append(names, fmt.Sprintf("f%d", i))
	}
	props := map[string]int{}
	for i, name := range names {
		props[name] = i
	}
	table := newPropTable(props)
	var probes []string
	for _, name := range names {
		q := strconv.Quote(name)[1:] // the key as JSON writes it, past its opening quote
		q = q[:len(q)-1]
		probes = append(probes, name, q, name+"x", "x"+name, name+`\u0041`)
		if len(name) > 1 {
			probes = append(probes, name[:len(name)-1], name[:1]+`\u00`+fmt.Sprintf("%02x", name[1])+name[2:])
		}
	}
	for _, key := range probes {
		for _, after := range []string{`":1}`, `" : 1`, `"`, ``, `x":1`, `":1,"next":2}`, `"        `, `x        `} {
			b := []byte(`{"` + key + after)
			s := jsonscan.Scanner{B: b, I: 1}
			raw, escaped, ok := s.Str()
			wantIdx, wantKnown := 0, false
			if ok && !escaped {
				wantIdx, wantKnown = props[string(raw)]
				if !wantKnown {
					wantIdx = 0
				}
			}
			idx, end := table.matchAt(b, 2)
			switch {
			case end >= 0 && (!wantKnown || idx != wantIdx || end != s.I):
				t.Errorf("matchAt(%q) = %d, end %d; Str and the names give %q (escaped %v, ok %v, property %v %d, end %d)",
					b, idx, end, raw, escaped, ok, wantKnown, wantIdx, s.I)
			case end < 0 && wantKnown:
				t.Errorf("matchAt(%q) found nothing; want property %d (%q), end %d", b, wantIdx, raw, s.I)
			}
		}
	}
}
