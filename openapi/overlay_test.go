package openapi

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func overlayPath(name string) string { return filepath.Join("testdata", "overlays", name) }

func versionEnum(t *testing.T, op *Operation) []string {
	t.Helper()
	p := op.Op.Parameters.GetByInAndName("header", "Version")
	if p == nil {
		t.Fatalf("%s has no Version header", op.ID)
	}
	var out []string
	for _, v := range p.Schema.Value.Enum {
		out = append(out, v.(string))
	}
	return out
}

func TestOverlayWidenVersion(t *testing.T) {
	path := officialPath(t, "contacts.json")
	plain, err := Load(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if got := versionEnum(t, plain.Operation("get-contact")); !slices.Equal(got, []string{"2021-07-28"}) {
		t.Fatalf("official Version enum = %v; want [2021-07-28] before the overlay", got)
	}
	s, err := Load(context.Background(), path, overlayPath("widen-version.yaml"))
	if err != nil {
		t.Fatalf("Load with overlay = %v", err)
	}
	for _, op := range s.Operations {
		if got := versionEnum(t, op); !slices.Equal(got, []string{"2021-07-28", "2023-02-21"}) {
			t.Errorf("%s Version enum = %v; want [2021-07-28 2023-02-21]", op.ID, got)
		}
	}
}

func TestOverlayDeclareParameterAndSecurity(t *testing.T) {
	path := officialPath(t, "contacts.json")
	s, err := Load(context.Background(), path, overlayPath("declare-type-param.yaml"))
	if err != nil {
		t.Fatalf("Load with overlay = %v", err)
	}
	// With {type} declared by the overlay, the loader has nothing to repair.
	for _, w := range s.Warnings {
		if strings.Contains(w.Message, "{type}") || strings.Contains(w.Message, "no security") {
			t.Errorf("warning %v; want none once the overlay declares {type} and security", w)
		}
	}
	op := s.Operation("create-association")
	p := op.Op.Parameters.GetByInAndName("path", "type")
	if p == nil || len(p.Schema.Value.Enum) != 2 {
		t.Fatalf("create-association type parameter = %+v; want the overlay's enum add/remove", p)
	}
	for _, id := range []string{"create-association", "add-remove-contact-from-business"} {
		op := s.Operation(id)
		if !op.HasSecurity || len(op.Scopes) != 1 || !slices.Equal(op.Scopes[0], []string{"contacts.write"}) {
			t.Errorf("%s HasSecurity=%v Scopes=%v; want [[contacts.write]]", id, op.HasSecurity, op.Scopes)
		}
	}
	// Arrays append: the Bulk tag stays and Business follows it.
	if got := s.Operation("add-remove-contact-from-business").Op.Tags; !slices.Equal(got, []string{"Bulk", "Business"}) {
		t.Errorf("tags = %v; want [Bulk Business] (arrays append)", got)
	}
}

func TestOverlayRemoveAndMiss(t *testing.T) {
	path := officialPath(t, "contacts.json")
	ov := overlayPath("remove-and-miss.yaml")
	s, err := Load(context.Background(), path, ov)
	if err != nil {
		t.Fatalf("Load with overlay = %v", err)
	}
	if s.Operation("search-contacts-advanced") != nil {
		t.Errorf("search-contacts-advanced still there; want it removed")
	}
	if got := len(s.Operations); got != 31 {
		t.Errorf("len(Operations) = %d; want 31", got)
	}
	dup := s.Operation("get-duplicate-contact")
	for _, p := range dup.Op.Parameters {
		if p.Value.In == "query" {
			t.Errorf("query parameter %s still there; want every query parameter removed", p.Value.Name)
		}
	}
	if !hasWarning(s.Warnings, filepath.ToSlash(ov), "/actions/2/target", "matches nothing") {
		t.Errorf("no 'matches nothing' warning for action 2; got:\n%s", warningsText(s.Warnings))
	}
}

func TestOverlayRefused(t *testing.T) {
	path := officialPath(t, "contacts.json")
	tests := []struct {
		name, overlay, pointer string
	}{
		{"bad JSONPath", "bad-jsonpath.yaml", "/actions/0/target"},
		{"not an overlay", "not-overlay.yaml", "/overlay"},
		{"missing file", "nope.yaml", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(context.Background(), path, overlayPath(tc.overlay))
			var le *LoadError
			if !errors.As(err, &le) || le.File != overlayPath(tc.overlay) || le.Pointer != tc.pointer {
				t.Errorf("Load with %s = %v; want a *LoadError at %s %s", tc.overlay, err, overlayPath(tc.overlay), tc.pointer)
			}
		})
	}
}

// TestApplyOverlay covers the JSONPath forms overlays use and the merge rules
// on a small tree.
func TestApplyOverlay(t *testing.T) {
	tests := []struct {
		name    string
		overlay string
		check   func(tree map[string]any) string // "" when right
		warns   int
	}{
		{
			name:    "dot names and merge",
			overlay: `{overlay: 1.0.0, info: {title: t, version: "1"}, actions: [{target: $.info, update: {title: new, x-extra: {a: 1}}}]}`,
			check: func(tree map[string]any) string {
				info := asMap(tree["info"])
				if info["title"] != "new" || info["version"] != "1" || asMap(info["x-extra"])["a"] != int64(1) {
					return "info not merged"
				}
				return ""
			},
		},
		{
			name:    "bracket names, wildcard, old filter syntax",
			overlay: `{overlay: 1.0.0, info: {title: t, version: "1"}, actions: [{target: "$['paths'][*][*].parameters[?(@.in == 'query')]", update: {x-q: true}}]}`,
			check: func(tree map[string]any) string {
				params := asSlice(asMap(asMap(asMap(tree["paths"])["/a"])["get"])["parameters"])
				if asMap(params[0])["x-q"] != true || asMap(params[1])["x-q"] != nil {
					return "filter did not select only the query parameter"
				}
				return ""
			},
		},
		{
			name:    "recursive descent",
			overlay: `{overlay: 1.0.0, info: {title: t, version: "1"}, actions: [{target: "$..[?@.name == 'id']", update: {description: the id}}]}`,
			check: func(tree map[string]any) string {
				params := asSlice(asMap(asMap(asMap(tree["paths"])["/a"])["get"])["parameters"])
				if asMap(params[1])["description"] != "the id" {
					return "recursive descent missed the id parameter"
				}
				return ""
			},
		},
		{
			name:    "nested arrays append",
			overlay: `{overlay: 1.0.0, info: {title: t, version: "1"}, actions: [{target: "$.paths['/a'].get", update: {tags: [two]}}]}`,
			check: func(tree map[string]any) string {
				tags := asSlice(asMap(asMap(asMap(tree["paths"])["/a"])["get"])["tags"])
				if len(tags) != 2 || tags[0] != "one" || tags[1] != "two" {
					return "tags not appended"
				}
				return ""
			},
		},
		{
			name:    "remove array elements from the end",
			overlay: `{overlay: 1.0.0, info: {title: t, version: "1"}, actions: [{target: "$.paths['/a'].get.parameters[*]", remove: true}]}`,
			check: func(tree map[string]any) string {
				if n := len(asSlice(asMap(asMap(asMap(tree["paths"])["/a"])["get"])["parameters"])); n != 0 {
					return "parameters left"
				}
				return ""
			},
		},
		{
			name:    "scalar target warns",
			overlay: `{overlay: 1.0.0, info: {title: t, version: "1"}, actions: [{target: $.info.title, update: {a: 1}}]}`,
			check:   func(map[string]any) string { return "" },
			warns:   1,
		},
		{
			name:    "removing the root warns",
			overlay: `{overlay: 1.0.0, info: {title: t, version: "1"}, actions: [{target: $, remove: true}]}`,
			check: func(tree map[string]any) string {
				if tree["paths"] == nil {
					return "root removed"
				}
				return ""
			},
			warns: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tree, err := parseRaw([]byte(`
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /a:
    get:
      tags: [one]
      parameters:
        - {name: q, in: query}
        - {name: id, in: path}
`))
			if err != nil {
				t.Fatal(err)
			}
			ws, err := applyOverlay("o.yaml", []byte(tc.overlay), tree)
			if err != nil {
				t.Fatalf("applyOverlay = %v", err)
			}
			if len(ws) != tc.warns {
				t.Errorf("warnings = %v; want %d", ws, tc.warns)
			}
			if msg := tc.check(tree); msg != "" {
				t.Errorf("%s; tree = %v", msg, tree)
			}
		})
	}
}
