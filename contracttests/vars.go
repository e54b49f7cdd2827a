package contracttests

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// varRef finds ${name} references; names may hold ':' (testContact:alice).
var varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*(?::[A-Za-z0-9._-]+)?)\}`)

// Built-in variables, always defined:
//   - run: an id unique to this execution of the scenario; put it in
//     emails, names and tags of records a scenario creates, so parallel runs
//     and reruns never collide.
//   - uuid: a fresh id on every reference.
//   - now, nowMillis: the runner's clock as ISO-8601 (ms, UTC) and epoch ms.
//   - gatewayRoot: the target without its /staging or /sandbox stage, to
//     call production (request.base).
//   - testContact:NAME: the id of the seeded record whose testContactId is
//     NAME (the scenario must list NAME in testContactIds).
var builtinVars = []string{"run", "uuid", "now", "nowMillis", "gatewayRoot"}

// ErrUnknownVar is a ${name} with no value at the time it is used.
var ErrUnknownVar = errors.New("unknown variable")

// scope holds one scenario execution's variables.
type scope struct {
	vals     map[string]any
	contacts map[string]string // testContactId → id
	now      func() time.Time
	newID    func() string
}

func (s *scope) lookup(name string) (any, error) {
	if n, ok := strings.CutPrefix(name, "testContact:"); ok {
		id, found := s.contacts[n]
		if !found {
			return nil, fmt.Errorf("%w ${%s}: test contact %q was not resolved (list it in testContactIds)", ErrUnknownVar, name, n)
		}
		return id, nil
	}
	switch name {
	case "uuid":
		return s.newID(), nil
	case "now":
		return s.now().UTC().Format("2006-01-02T15:04:05.000Z"), nil
	case "nowMillis":
		return float64(s.now().UnixMilli()), nil
	}
	v, ok := s.vals[name]
	if !ok {
		return nil, fmt.Errorf("%w ${%s}", ErrUnknownVar, name)
	}
	return v, nil
}

// expand substitutes a string. A string that is exactly one reference
// becomes the variable's own value (a number stays a number); otherwise
// references are formatted into the text.
func (s *scope) expand(in string) (any, error) {
	if !strings.Contains(in, "${") {
		return in, nil
	}
	if m := varRef.FindStringSubmatchIndex(in); m != nil && m[0] == 0 && m[1] == len(in) {
		return s.lookup(in[m[2]:m[3]])
	}
	str, err := s.expandString(in)
	return str, err
}

func (s *scope) expandString(in string) (string, error) {
	if !strings.Contains(in, "${") {
		return in, nil
	}
	var firstErr error
	out := varRef.ReplaceAllStringFunc(in, func(ref string) string {
		v, err := s.lookup(ref[2 : len(ref)-1])
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			return ref
		}
		return textOf(v)
	})
	return out, firstErr
}

// expandValue substitutes every string inside a decoded JSON value.
func (s *scope) expandValue(v any) (any, error) {
	switch t := v.(type) {
	case string:
		return s.expand(t)
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			y, err := s.expandValue(x)
			if err != nil {
				return nil, err
			}
			out[k] = y
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			y, err := s.expandValue(x)
			if err != nil {
				return nil, err
			}
			out[i] = y
		}
		return out, nil
	}
	return v, nil
}

// textOf formats a value for a path, query, header or string.
func textOf(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case nil:
		return ""
	case float64:
		if t == float64(int64(t)) {
			return fmt.Sprintf("%d", int64(t))
		}
		return fmt.Sprint(t)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// checkRefs reports references that no earlier step defines: a typo in a
// variable name is a fixture error, not a failed run.
func checkRefs(sc *Scenario) FixtureErrors {
	known := map[string]bool{}
	for _, b := range builtinVars {
		known[b] = true
	}
	for k := range sc.Vars {
		known[k] = true
	}
	var out FixtureErrors
	visit := func(part string, steps []*Step) {
		for i, st := range steps {
			// A repeated step may use its own captures from the second
			// round on; they must have a default in vars for the first.
			b, _ := json.Marshal(struct {
				R Request `json:"r"`
				E Expect  `json:"e"`
				P *Repeat `json:"p"`
			}{st.Request, st.Expect, st.Repeat})
			for _, m := range varRef.FindAllStringSubmatch(string(b), -1) {
				name := m[1]
				if n, ok := strings.CutPrefix(name, "testContact:"); ok {
					if !slices.Contains(sc.TestContactIDs, n) {
						out = append(out, &FixtureError{File: sc.File, Line: st.Line, Pointer: pointer([]string{part, fmt.Sprint(i)}),
							Reason: fmt.Sprintf("${%s}: %q is not listed in testContactIds", name, n)})
					}
					continue
				}
				if !known[name] {
					out = append(out, &FixtureError{File: sc.File, Line: st.Line, Pointer: pointer([]string{part, fmt.Sprint(i)}),
						Reason: fmt.Sprintf("${%s} is not defined: not in vars, not a built-in (%s), not captured by an earlier step", name, strings.Join(builtinVars, ", "))})
				}
			}
			for k := range st.Capture {
				known[k] = true
			}
		}
	}
	visit("setup", sc.Setup)
	visit("steps", sc.Steps)
	visit("teardown", sc.Teardown)
	return out
}

// resolveContacts resolves every testContactId a scenario lists.
func resolveContacts(ctx context.Context, r TestContactResolver, names []string) (map[string]string, error) {
	out := make(map[string]string, len(names))
	for _, n := range names {
		id, err := r.Resolve(ctx, n)
		if err != nil {
			return nil, fmt.Errorf("resolve test contact %q: %w", n, err)
		}
		out[n] = id
	}
	return out, nil
}
