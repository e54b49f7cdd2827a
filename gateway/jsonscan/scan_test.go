package jsonscan

import "testing"

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
