package jsonscan

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestAfter(t *testing.T) {
	tests := []struct {
		in       string
		closing  byte
		more, ok bool
		wantI    int
	}{
		{", 2]", ']', true, true, 1},
		{" \n]", ']', false, true, 3},
		{"\t, \"b\"}", '}', true, true, 2},
		{"}", '}', false, true, 1},
		{"]", '}', false, false, 0},
		{" x", ']', false, false, 1},
		{"  ", ']', false, false, 2},
		{"", '}', false, false, 0},
	}
	for _, tc := range tests {
		s := Scanner{B: []byte(tc.in)}
		more, ok := s.After(tc.closing)
		if more != tc.more || ok != tc.ok || s.I != tc.wantI {
			t.Errorf("After(%q) on %q = %v, %v at %d; want %v, %v at %d", tc.closing, tc.in, more, ok, s.I, tc.more, tc.ok, tc.wantI)
		}
	}
}

// TestSkip: Skip reads exactly the values encoding/json accepts (checked
// against json.Valid): it accepts one and stops right after it, and for
// anything else it fails or stops short (a caller's next step then fails:
// "01" is "0" followed by "1"). Nesting beyond its limit is refused.
func TestSkip(t *testing.T) {
	values := []string{
		`0`, `-0`, `12.5e-3`, `-1E+2`, `"s"`, `"esc \" \\ \u00e9"`, `true`, `false`, `null`,
		`[]`, `{}`, `[ 1 , "a" , [ ] , { } ]`, `{"a":{"b":[1,{"c":null}]},"d":""}`, "{\n\t\"a\" : 1\r\n}",
		`01`, `-`, `1.`, `.5`, `+1`, `1e`, `tru`, `nul`, `"open`, `"\q"`, "\"\x01\"", `[1,]`, `[1 2]`,
		`{"a"}`, `{"a":}`, `{"a":1,}`, `{,}`, `{1:2}`, `{'a':1}`, `[`, `{`, `x`, ``,
	}
	for _, v := range values {
		s := Scanner{B: []byte(v + " ,")}
		ok := s.Skip(0, 64)
		if got, want := ok && s.I == len(v), json.Valid([]byte(v)); got != want {
			t.Errorf("Skip(%q) = %v, stopping at %d of %d; json.Valid says %v", v, ok, s.I, len(v), want)
		}
	}
	deep := strings.Repeat(`[`, 10) + strings.Repeat(`]`, 10)
	if s := (Scanner{B: []byte(deep)}); !s.Skip(0, 10) {
		t.Errorf("Skip of 10 nested arrays with a limit of 10 = false; want true")
	}
	if s := (Scanner{B: []byte(deep)}); s.Skip(1, 10) {
		t.Errorf("Skip of 10 nested arrays inside one more with a limit of 10 = true; want false")
	}
}
