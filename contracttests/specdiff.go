package contracttests

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/rankr/ghlgate/openapi"
)

// ChangeKind names a difference between two API descriptions.
type ChangeKind string

const (
	OperationRemoved   ChangeKind = "operation_removed"
	OperationAdded     ChangeKind = "operation_added"
	ParameterAdded     ChangeKind = "parameter_added"
	ParameterRemoved   ChangeKind = "parameter_removed"
	ParameterChanged   ChangeKind = "parameter_changed"
	RequiredFieldAdded ChangeKind = "required_field_added"
	ScopesChanged      ChangeKind = "scopes_changed"
)

// Change is one difference. Breaking is set when it breaks a fixture that
// calls the operation or a key that could call it before.
type Change struct {
	Kind      ChangeKind `json:"kind"`
	Method    string     `json:"method"`
	Path      string     `json:"path"`
	Operation string     `json:"operation"`
	Detail    string     `json:"detail"`
	Breaking  bool       `json:"breaking"`
	Fixtures  []string   `json:"fixtures,omitempty"` // scenarios that call the operation and break
	Keys      []string   `json:"keys,omitempty"`     // keys that lose the operation
}

// Diff is every change, sorted by path, method and kind.
type Diff struct {
	Changes []Change `json:"changes"`
}

// Breaking reports whether any change breaks a fixture or a key: `ghlgate
// spec diff` exits 1 then.
func (d Diff) Breaking() bool {
	return slices.ContainsFunc(d.Changes, func(c Change) bool { return c.Breaking })
}

func (d Diff) String() string {
	var b strings.Builder
	for _, c := range d.Changes {
		mark := "  "
		if c.Breaking {
			mark = "! "
		}
		fmt.Fprintf(&b, "%s%-20s %s %s (%s): %s", mark, c.Kind, c.Method, c.Path, c.Operation, c.Detail)
		if len(c.Fixtures) > 0 {
			fmt.Fprintf(&b, " [fixtures: %s]", strings.Join(c.Fixtures, ", "))
		}
		if len(c.Keys) > 0 {
			fmt.Fprintf(&b, " [keys: %s]", strings.Join(c.Keys, ", "))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// ErrNoSpec is a nil spec passed to SpecDiff.
var ErrNoSpec = errors.New("no spec")

// SpecDiff compares two versions of the API description against the
// fixtures and the keys' scopes (key name → granted scopes): removed
// operations, added, removed or changed parameters, new required request
// body fields, and changed scopes.
func SpecDiff(old, cur *openapi.Spec, fixtures []*Scenario, keys map[string][]string) (Diff, error) {
	if old == nil || cur == nil {
		return Diff{}, fmt.Errorf("spec diff: %w", ErrNoSpec)
	}
	uses := fixtureUses(old, fixtures)
	curByKey := map[string]*openapi.Operation{}
	for _, op := range cur.Operations {
		curByKey[opKey(op)] = op
	}
	oldByKey := map[string]*openapi.Operation{}
	var d Diff
	for _, o := range old.Operations {
		k := opKey(o)
		oldByKey[k] = o
		n := curByKey[k]
		users := uses[k]
		if n == nil {
			keysLost := keysAllowed(o, keys)
			d.add(Change{Kind: OperationRemoved, Method: o.Method, Path: o.Path, Operation: o.ID,
				Detail: "the operation is gone", Fixtures: names(users), Keys: keysLost,
				Breaking: len(users) > 0 || len(keysLost) > 0})
			continue
		}
		d.params(o, n, users)
		d.body(o, n, users)
		if !slices.EqualFunc(o.Scopes, n.Scopes, slices.Equal) {
			var lost []string
			for _, k := range keysAllowed(o, keys) {
				if !allowed(n, keys[k]) {
					lost = append(lost, k)
				}
			}
			d.add(Change{Kind: ScopesChanged, Method: o.Method, Path: o.Path, Operation: o.ID,
				Detail: fmt.Sprintf("scopes %v → %v", o.Scopes, n.Scopes), Keys: lost, Breaking: len(lost) > 0})
		}
	}
	for _, n := range cur.Operations {
		if oldByKey[opKey(n)] == nil {
			d.add(Change{Kind: OperationAdded, Method: n.Method, Path: n.Path, Operation: n.ID, Detail: "new operation"})
		}
	}
	slices.SortStableFunc(d.Changes, func(a, b Change) int {
		return strings.Compare(a.Path+" "+a.Method+" "+string(a.Kind), b.Path+" "+b.Method+" "+string(b.Kind))
	})
	return d, nil
}

func (d *Diff) add(c Change) { d.Changes = append(d.Changes, c) }

type paramInfo struct {
	required bool
	typ      string
}

func paramsOf(o *openapi.Operation) map[string]paramInfo {
	out := map[string]paramInfo{}
	add := func(ps openapi3.Parameters) {
		for _, p := range ps {
			if p == nil || p.Value == nil {
				continue
			}
			typ := ""
			if p.Value.Schema != nil && p.Value.Schema.Value != nil && p.Value.Schema.Value.Type != nil {
				typ = strings.Join(p.Value.Schema.Value.Type.Slice(), "|")
			}
			out[p.Value.In+"."+p.Value.Name] = paramInfo{required: p.Value.Required, typ: typ}
		}
	}
	if o.Route != nil && o.Route.PathItem != nil {
		add(o.Route.PathItem.Parameters)
	}
	add(o.Op.Parameters)
	return out
}

func (d *Diff) params(o, n *openapi.Operation, users []*stepUse) {
	op, np := paramsOf(o), paramsOf(n)
	for _, name := range sortedKeys(np) {
		nv := np[name]
		ov, had := op[name]
		switch {
		case !had && nv.required:
			d.add(Change{Kind: ParameterAdded, Method: o.Method, Path: o.Path, Operation: o.ID,
				Detail: "new required parameter " + name, Fixtures: names(users), Breaking: len(users) > 0})
		case !had:
			d.add(Change{Kind: ParameterAdded, Method: o.Method, Path: o.Path, Operation: o.ID, Detail: "new optional parameter " + name})
		case nv.required && !ov.required, nv.typ != ov.typ:
			d.add(Change{Kind: ParameterChanged, Method: o.Method, Path: o.Path, Operation: o.ID,
				Detail:   fmt.Sprintf("%s: required %v → %v, type %q → %q", name, ov.required, nv.required, ov.typ, nv.typ),
				Fixtures: names(users), Breaking: len(users) > 0})
		}
	}
	for _, name := range sortedKeys(op) {
		if _, still := np[name]; still {
			continue
		}
		in, pname, _ := strings.Cut(name, ".")
		var hit []*stepUse
		for _, u := range users {
			if in != "query" || u.query[pname] {
				hit = append(hit, u)
			}
		}
		d.add(Change{Kind: ParameterRemoved, Method: o.Method, Path: o.Path, Operation: o.ID,
			Detail: "parameter " + name + " removed", Fixtures: names(hit), Breaking: len(hit) > 0})
	}
}

func requiredBody(o *openapi.Operation) []string {
	if o.Op.RequestBody == nil || o.Op.RequestBody.Value == nil {
		return nil
	}
	mt := o.Op.RequestBody.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return nil
	}
	return mt.Schema.Value.Required
}

func (d *Diff) body(o, n *openapi.Operation, users []*stepUse) {
	was := requiredBody(o)
	for _, f := range requiredBody(n) {
		if slices.Contains(was, f) {
			continue
		}
		var hit []*stepUse
		for _, u := range users {
			if !u.bodyFields[f] {
				hit = append(hit, u)
			}
		}
		d.add(Change{Kind: RequiredFieldAdded, Method: o.Method, Path: o.Path, Operation: o.ID,
			Detail: "request body now requires " + f, Fixtures: names(hit), Breaking: len(hit) > 0})
	}
}

// stepUse is a fixture step that calls an operation.
type stepUse struct {
	scenario   string
	query      map[string]bool
	bodyFields map[string]bool
}

// fixtureUses maps each operation key to the steps that call it in spec.
func fixtureUses(spec *openapi.Spec, fixtures []*Scenario) map[string][]*stepUse {
	out := map[string][]*stepUse{}
	for _, sc := range fixtures {
		for _, ph := range phases(sc) {
			for _, st := range ph.steps {
				p := varRef.ReplaceAllString(st.Request.Path, "x")
				if i := strings.IndexByte(p, '?'); i >= 0 {
					p = p[:i]
				}
				op, _, err := spec.Match(st.Request.Method, p)
				if err != nil {
					continue
				}
				u := &stepUse{scenario: sc.Name, query: map[string]bool{}, bodyFields: map[string]bool{}}
				for k := range st.Request.Query {
					u.query[k] = true
				}
				var body map[string]any
				if len(st.Request.Body) > 0 && json.Unmarshal(st.Request.Body, &body) == nil {
					for k := range body {
						u.bodyFields[k] = true
					}
				}
				out[opKey(op)] = append(out[opKey(op)], u)
			}
		}
	}
	return out
}

func names(us []*stepUse) []string {
	var out []string
	for _, u := range us {
		if !slices.Contains(out, u.scenario) {
			out = append(out, u.scenario)
		}
	}
	slices.Sort(out)
	return out
}

// opKey identifies an operation across versions by method and path
// template (trailing slash ignored); operationIds are not stable in GHL's
// files.
func opKey(o *openapi.Operation) string {
	return o.Method + " " + strings.TrimSuffix(o.Path, "/")
}

// allowed reports whether granted scopes satisfy one of the operation's
// security alternatives.
func allowed(o *openapi.Operation, granted []string) bool {
	if !o.HasSecurity || len(o.Scopes) == 0 {
		return true
	}
	for _, alt := range o.Scopes {
		ok := true
		for _, s := range alt {
			ok = ok && slices.Contains(granted, s)
		}
		if ok {
			return true
		}
	}
	return false
}

func keysAllowed(o *openapi.Operation, keys map[string][]string) []string {
	var out []string
	for _, k := range sortedKeys(keys) {
		if allowed(o, keys[k]) {
			out = append(out, k)
		}
	}
	return out
}
