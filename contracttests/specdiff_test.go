package contracttests

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rankr/ghlgate/fixtures/scenarios"
	"github.com/rankr/ghlgate/openapi"
)

// changedSpec writes a copy of HighLevel's contacts.json with deliberate
// changes (keeping the apps/ + common/ layout its $refs need) and loads it.
func changedSpec(t *testing.T, change func(doc map[string]any)) *openapi.Spec {
	t.Helper()
	src := filepath.Join(sharedSpecDir, "apps", "contacts.json")
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Skipf("reference spec missing (%v); it lives in /work/shared/ghl", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	change(doc)
	dir := t.TempDir()
	for _, d := range []string{"apps", "common"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	common, err := os.ReadFile(filepath.Join(sharedSpecDir, "common", "common-schemas.json"))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(doc)
	if err := os.WriteFile(filepath.Join(dir, "common", "common-schemas.json"), common, 0o644); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "apps", "contacts.json")
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := openapi.Load(context.Background(), p)
	if err != nil {
		t.Fatalf("load changed spec: %v", err)
	}
	return s
}

func obj(v any, keys ...string) map[string]any {
	m := v.(map[string]any)
	for _, k := range keys {
		m = m[k].(map[string]any)
	}
	return m
}

func TestSpecDiff(t *testing.T) {
	old := changedSpec(t, func(map[string]any) {})
	scs, err := LoadScenarios(scenarios.FS)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string][]string{
		"rankr-read":  {"contacts.readonly"},
		"rankr-write": {"contacts.readonly", "contacts.write"},
	}
	tests := []struct {
		name     string
		change   func(doc map[string]any)
		kind     ChangeKind
		breaking bool
		fixture  string // a scenario the change must name
		key      string // a key the change must name
	}{
		{"identical", func(map[string]any) {}, "", false, "", ""},
		{"operation removed", func(d map[string]any) {
			delete(obj(d, "paths", "/contacts/{contactId}/notes/{id}"), "delete")
		}, OperationRemoved, true, "notes-crud-flow", "rankr-write"},
		{"new required query parameter", func(d map[string]any) {
			op := obj(d, "paths", "/contacts/{contactId}/tasks", "get")
			op["parameters"] = append(op["parameters"].([]any), map[string]any{"name": "status", "in": "query", "required": true, "schema": map[string]any{"type": "string"}})
		}, ParameterAdded, true, "tasks-list-seeded", ""},
		{"new required body field", func(d map[string]any) {
			s := obj(d, "components", "schemas", "CreateTaskParams")
			s["required"] = append(s["required"].([]any), "assignedTo")
		}, RequiredFieldAdded, true, "tasks-crud-flow", ""},
		{"scope changed", func(d map[string]any) {
			op := obj(d, "paths", "/contacts/{contactId}", "get")
			op["security"] = []any{map[string]any{"bearer": []any{"contacts.admin"}}}
		}, ScopesChanged, true, "", "rankr-read"},
		{"operation added", func(d map[string]any) {
			obj(d, "paths", "/contacts/{contactId}/notes/{id}")["patch"] = obj(d, "paths", "/contacts/{contactId}/notes/{id}", "put")
		}, OperationAdded, false, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := SpecDiff(old, changedSpec(t, tc.change), scs, keys)
			if err != nil {
				t.Fatal(err)
			}
			if got := d.Breaking(); got != tc.breaking {
				t.Errorf("Breaking() = %v; want %v\n%s", got, tc.breaking, d)
			}
			if tc.kind == "" {
				if len(d.Changes) != 0 {
					t.Errorf("changes = %s; want none", d)
				}
				return
			}
			for _, c := range d.Changes {
				if c.Kind == tc.kind && (tc.fixture == "" || slices.Contains(c.Fixtures, tc.fixture)) && (tc.key == "" || slices.Contains(c.Keys, tc.key)) {
					return
				}
			}
			t.Errorf("changes =\n%s\nwant %s naming fixture %q and key %q", d, tc.kind, tc.fixture, tc.key)
		})
	}
}
