package scopes

import (
	"slices"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name        string
		held        []string
		required    [][]string
		wantOK      bool
		wantMissing []string
	}{
		{"read with readonly", []string{"contacts.readonly"}, [][]string{{"contacts.readonly"}}, true, nil},
		{"write with readonly", []string{"contacts.readonly"}, [][]string{{"contacts.write"}}, false, []string{"contacts.write"}},
		{"one of two alternatives", []string{"contacts.write"}, [][]string{{"contacts.readonly"}, {"contacts.write"}}, true, nil},
		{"needs every scope of an alternative", []string{"a"}, [][]string{{"a", "b"}}, false, []string{"b"}},
		{"closest alternative named", []string{"a"}, [][]string{{"x", "y", "z"}, {"a", "b"}}, false, []string{"b"}},
		{"anonymous alternative", nil, [][]string{{}}, true, nil},
		{"no alternatives is least privilege", []string{"a"}, [][]string{}, false, nil},
		{"nothing held", nil, [][]string{{"contacts.readonly"}}, false, []string{"contacts.readonly"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, missing := Check(tc.held, tc.required)
			if ok != tc.wantOK || !slices.Equal(missing, tc.wantMissing) {
				t.Errorf("Check(%v, %v) = %v, %v; want %v, %v", tc.held, tc.required, ok, missing, tc.wantOK, tc.wantMissing)
			}
		})
	}
}

func TestFlatten(t *testing.T) {
	got := Flatten([][]string{{"a", "b"}, {"b", "c"}})
	if want := []string{"a", "b", "c"}; !slices.Equal(got, want) {
		t.Errorf("Flatten() = %v; want %v", got, want)
	}
}
