package validate

import (
	"fmt"
	"testing"
)

// TestPropTableAgreesWithAMap: every key of a property set is found at its
// index, and keys near them (prefixes, one byte changed, one more byte, the
// empty key, other lengths) are not, for sets of many sizes.
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
			got, ok := table.lookup([]byte(key))
			if ok != wantOK || got != want {
				t.Errorf("%d properties: lookup(%q) = %d, %v; want %d, %v", n, key, got, ok, want, wantOK)
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
	if _, ok := table.lookup([]byte("id")); ok {
		t.Error("an empty table found a key")
	}
}
