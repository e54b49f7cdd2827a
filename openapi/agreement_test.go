package openapi

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// paramKey is what the agreement compares of a parameter.
type paramKey struct {
	In, Name string // Name lowercased for headers (HTTP header names ignore case)
	Required bool
}

func (p paramKey) String() string {
	req := ""
	if p.Required {
		req = "*"
	}
	return p.In + ":" + p.Name + req
}

// effectiveParams merges path-level and operation parameters (the operation's
// win on the same name and location), sorted.
func effectiveParams(o *Operation) []paramKey {
	byKey := map[[2]string]paramKey{}
	for _, list := range [][]*paramKey{toKeys(o.Route.PathItem.Parameters), toKeys(o.Op.Parameters)} {
		for _, k := range list {
			byKey[[2]string{k.In, k.Name}] = *k
		}
	}
	var out []paramKey
	for _, k := range byKey {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b paramKey) int { return strings.Compare(a.String(), b.String()) })
	return out
}

func toKeys(ps openapi3.Parameters) []*paramKey {
	var out []*paramKey
	for _, p := range ps {
		if p == nil || p.Value == nil {
			continue
		}
		name := p.Value.Name
		if p.Value.In == "header" {
			name = strings.ToLower(name)
		}
		out = append(out, &paramKey{In: p.Value.In, Name: name, Required: p.Value.Required})
	}
	return out
}

func scopesText(o *Operation) string {
	if !o.HasSecurity {
		return "(none)"
	}
	return fmt.Sprint(o.Scopes)
}

// TestAgreementWithOfficial holds ghlgate's document to HighLevel's: every
// operation of ours exists in the official file with the same path, method,
// parameters (name, in, required) and scopes. The differences ghlgate makes
// on purpose are listed, and the test fails if one of them disappears too.
// The official {type} parameter of the bulk tags operation is the one the
// loader synthesises (the file forgets it); ours declares it.
func TestAgreementWithOfficial(t *testing.T) {
	official, err := Load(context.Background(), officialPath(t, "contacts.json"))
	if err != nil {
		t.Fatal(err)
	}
	ours, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	// Deliberate differences: official value, ours.
	deliberate := map[string]struct{ official, ours string }{
		"POST /contacts/bulk/tags/update/{type} scopes": {"(none)", "[[contacts.write]]"},
		"POST /contacts/bulk/business scopes":           {"(none)", "[[contacts.write]]"},
	}
	seen := map[string]bool{}
	var diff []string
	for _, o := range ours.Operations {
		key := o.Method + " " + o.Path
		off, _, err := official.Match(o.Method, o.Path)
		if err != nil || off.Path != o.Path || off.Method != o.Method {
			diff = append(diff, fmt.Sprintf("+ %s (%s): not in the official document", key, o.ID))
			continue
		}
		if off.ID != o.ID {
			diff = append(diff, fmt.Sprintf("  %s operationId\n- %s\n+ %s", key, off.ID, o.ID))
		}
		if a, b := fmt.Sprint(effectiveParams(off)), fmt.Sprint(effectiveParams(o)); a != b {
			diff = append(diff, fmt.Sprintf("  %s parameters\n- %s\n+ %s", key, a, b))
		}
		a, b := scopesText(off), scopesText(o)
		if d, ok := deliberate[key+" scopes"]; ok {
			seen[key+" scopes"] = true
			if a != d.official || b != d.ours {
				diff = append(diff, fmt.Sprintf("  %s scopes (deliberate difference changed)\n- %s\n+ %s\n  want official %s, ours %s", key, a, b, d.official, d.ours))
			}
		} else if a != b {
			diff = append(diff, fmt.Sprintf("  %s scopes\n- %s\n+ %s", key, a, b))
		}
		if off.Deprecated != o.Deprecated {
			diff = append(diff, fmt.Sprintf("  %s deprecated\n- %v\n+ %v", key, off.Deprecated, o.Deprecated))
		}
	}
	for _, o := range official.Operations {
		if ours.Operation(o.ID) == nil {
			diff = append(diff, fmt.Sprintf("- %s %s (%s): missing from ours", o.Method, o.Path, o.ID))
		}
	}
	for k := range deliberate {
		if !seen[k] {
			diff = append(diff, "  deliberate difference "+k+" no longer applies: remove it from the list")
		}
	}
	if len(diff) > 0 {
		t.Errorf("ghlgate's document disagrees with the official contacts.json (- official, + ours):\n%s", strings.Join(diff, "\n"))
	}
	if len(ours.Operations) != len(official.Operations) {
		t.Errorf("ours has %d operations; official %d", len(ours.Operations), len(official.Operations))
	}
}
