// Package scopes decides whether the scopes a client holds satisfy an
// operation's security requirements, read from the spec: the client must hold
// every scope of at least one requirement alternative.
package scopes

import "slices"

// Check reports whether held satisfies one of the alternatives in required.
// When it does not, missing lists the scopes lacking from the alternative
// that comes closest, for a message that says what to grant. An empty
// required list (security declared but no alternatives) is satisfied by
// nothing: least privilege.
func Check(held []string, required [][]string) (ok bool, missing []string) {
	best := -1
	for _, alt := range required {
		var lack []string
		for _, s := range alt {
			if !slices.Contains(held, s) {
				lack = append(lack, s)
			}
		}
		if len(lack) == 0 {
			return true, nil
		}
		if best < 0 || len(lack) < best {
			best, missing = len(lack), lack
		}
	}
	return false, missing
}

// Flatten lists every scope named in required once, in order, for audit
// records.
func Flatten(required [][]string) []string {
	var out []string
	for _, alt := range required {
		for _, s := range alt {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}
