package openapi

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// ghlDir is the shared reference data, relative to this package.
var ghlDir = filepath.Join("..", "..", "shared", "ghl")

func officialPath(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(ghlDir, "apps", name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("official GHL document %s not found (the shared/ghl reference data sits beside the repo): %v", p, err)
	}
	return p
}

// hasWarning reports whether ws holds a warning at pointer whose message
// contains sub.
func hasWarning(ws []Warning, file, pointer, sub string) bool {
	for _, w := range ws {
		if (file == "" || w.File == file) && w.Pointer == pointer && strings.Contains(w.Message, sub) {
			return true
		}
	}
	return false
}

func TestLoadOfficialContacts(t *testing.T) {
	path := officialPath(t, "contacts.json")
	s, err := Load(context.Background(), path)
	if err != nil {
		t.Fatalf("Load(%s) = %v; want the document served with warnings", path, err)
	}
	if got := len(s.Operations); got != 32 {
		t.Errorf("len(Operations) = %d; want 32", got)
	}
	want := []struct{ pointer, sub string }{
		{"/components/securitySchemes/bearer/in", `carries "in" and "name"`},
		{"/components/securitySchemes/Agency-Access/in", `carries "in" and "name"`},
		{"/components/securitySchemes/bearer", "30 security requirements list scopes"},
		{"/components/schemas/UpdateTagsDTO/properties/removeAllTags/example", "does not match its schema"},
		{"/components/schemas/NumericField/properties/field_value/example", "does not match"},
		{"/components/schemas/MonetoryField/properties/field_value/example", "does not match"},
		{"/components/schemas/CreateContactDto/properties/dateOfBirth/example", "does not match"},
		{"/components/schemas/UpdateContactDto/properties/dateOfBirth/example", "does not match"},
		{"/components/schemas/UpsertContactDto/properties/dateOfBirth/example", "does not match"},
		{"/components/schemas/ContactsSearchSchema/properties/followers/example", "does not match"},
		{"/components/schemas/UpdateTagsResponseDTO/properties/responses/example", "does not match"},
		{"/paths/~1contacts~1bulk~1tags~1update~1{type}/post/parameters", "{type}"},
		{"/paths/~1contacts~1bulk~1tags~1update~1{type}/post", "no security"},
		{"/paths/~1contacts~1bulk~1business/post", "no security"},
		{"/paths/~1contacts~1{contactId}~1tags/delete/requestBody", "requestBody on DELETE"},
		{"/paths/~1contacts~1{contactId}~1followers/delete/requestBody", "requestBody on DELETE"},
		{"/paths/~1contacts~1{contactId}~1workflow~1{workflowId}/delete/requestBody", "requestBody on DELETE"},
		{"/paths/~1contacts~1", "ends with a slash"},
		{"/paths/~1contacts~1{contactId}~1campaigns~1{campaignId}/delete", "removeAll"},
		{"/paths/~1contacts~1{contactId}~1tasks/get", "get-contacts-by-businessId"},
	}
	for _, w := range want {
		if !hasWarning(s.Warnings, path, w.pointer, w.sub) {
			t.Errorf("no warning at %s containing %q; got:\n%s", w.pointer, w.sub, warningsText(s.Warnings))
		}
	}
	for _, w := range s.Warnings {
		if strings.HasPrefix(w.Message, "validate:") {
			t.Errorf("validator still complains after repairs: %v", w)
		}
	}
	// The repairs happened in memory: the bulk {type} parameter exists, the
	// bad examples are gone, the http scheme has no "in".
	op := s.Operation("create-association")
	if op == nil || op.Op.Parameters.GetByInAndName("path", "type") == nil {
		t.Errorf("create-association has no synthesised {type} path parameter")
	}
	if ex := s.Doc.Components.Schemas["UpdateTagsDTO"].Value.Properties["removeAllTags"].Value.Example; ex != nil {
		t.Errorf("removeAllTags example = %v; want it dropped", ex)
	}
	if in := s.Doc.Components.SecuritySchemes["bearer"].Value.In; in != "" {
		t.Errorf("bearer.in = %q; want it removed", in)
	}
	// The external common-schemas.json refs are resolved.
	bad := s.Operation("get-contact").Op.Responses.Value("400")
	if bad == nil || bad.Value.Content.Get("application/json").Schema.Value.Properties["statusCode"] == nil {
		t.Errorf("get-contact 400 does not resolve to common-schemas.json BadRequestDTO")
	}
}

func TestLoadOfficialOAuth(t *testing.T) {
	path := officialPath(t, "oauth.json")
	s, err := Load(context.Background(), path)
	if err != nil {
		t.Fatalf("Load(%s) = %v; want success", path, err)
	}
	if got := len(s.Operations); got != 3 {
		t.Errorf("len(Operations) = %d; want 3", got)
	}
	tok := s.Operation("get-access-token")
	if tok == nil || tok.HasSecurity {
		t.Errorf("get-access-token = %+v; want an operation without security", tok)
	}
	lt := s.Operation("get-location-access-token")
	if lt == nil || len(lt.Scopes) != 1 || strings.Join(lt.Scopes[0], ",") != "oauth.write" {
		t.Errorf("get-location-access-token scopes = %v; want [[oauth.write]]", lt.Scopes)
	}
	if !hasWarning(s.Warnings, path, "/components/schemas/GetAccessCodeSuccessfulResponseDto/properties/isBulkInstallation/example", "does not match") {
		t.Errorf("no warning for the isBulkInstallation example; got:\n%s", warningsText(s.Warnings))
	}
}

func warningsText(ws []Warning) string {
	var b strings.Builder
	for _, w := range ws {
		b.WriteString("  " + w.String() + "\n")
	}
	return b.String()
}

// TestQuirks loads each quirky document of testdata/quirks (one quirk per
// file): it must load, carry the warning the quirk calls for, and match the
// golden Lint output beside it (rewrite with -update).
func TestQuirks(t *testing.T) {
	tests := []struct {
		file    string
		pointer string
		sub     string
		check   func(t *testing.T, s *Spec)
	}{
		{"http-scheme-in-name.yaml", "/components/securitySchemes/bearer/in", `carries "in" and "name"`, nil},
		{"http-scheme-scopes.yaml", "/components/securitySchemes/bearer", "2 security requirements list scopes", func(t *testing.T, s *Spec) {
			if got := s.Operation("create-thing").Scopes; len(got) != 1 || got[0][0] != "things.write" {
				t.Errorf("create-thing Scopes = %v; want [[things.write]]", got)
			}
		}},
		{"schema-examples-map.yaml", "/paths/~1things/get/responses/200/content/application~1json/schema/properties/channel/examples", "map form", func(t *testing.T, s *Spec) {
			sch := s.Operation("list-things").Op.Responses.Value("200").Value.Content.Get("application/json").Schema.Value
			if got := sch.Properties["channel"].Value.Example; got != "Email" {
				t.Errorf("channel example = %v; want the first (by name) map entry's value, Email", got)
			}
		}},
		{"schema-examples-list.yaml", "/components/schemas/Thing/properties/slot/examples", "list form", nil},
		{"array-without-items.yaml", "/paths/~1things/get/responses/200/content/application~1json/schema/properties/things", "without items", nil},
		{"undeclared-path-param.yaml", "/paths/~1things~1bulk~1{type}/post/parameters", "{type}", func(t *testing.T, s *Spec) {
			op, params, err := s.Match("POST", "/things/bulk/add")
			if err != nil || op.ID != "bulk-things" || params["type"] != "add" {
				t.Errorf("Match(POST /things/bulk/add) = %v, %v, %v; want bulk-things with type=add", op, params, err)
			}
		}},
		{"duplicate-operation-id.yaml", "/paths/~1things/post/operationId", `renamed "things-2"`, func(t *testing.T, s *Spec) {
			if s.Operation("things") == nil || s.Operation("things-2") == nil {
				t.Errorf("want operations things and things-2")
			}
		}},
		{"trailing-slash.yaml", "/paths/~1things~1", "ends with a slash", func(t *testing.T, s *Spec) {
			for _, p := range []string{"/things", "/things/"} {
				if op, _, err := s.Match("POST", p); err != nil || op.ID != "create-thing" {
					t.Errorf("Match(POST %s) = %v, %v; want create-thing", p, op, err)
				}
			}
		}},
		{"literal-template-overlap.yaml", "/paths/~1things~1{thingId}/delete", "literal segment wins", nil},
		{"no-security.yaml", "/paths/~1things/post", "no security", func(t *testing.T, s *Spec) {
			if op := s.Operation("create-thing"); op.HasSecurity || op.Scopes != nil {
				t.Errorf("create-thing HasSecurity=%v Scopes=%v; want false, nil", op.HasSecurity, op.Scopes)
			}
		}},
		{"delete-request-body.yaml", "/paths/~1things~1{id}~1tags/delete/requestBody", "requestBody on DELETE", nil},
		{"ref-siblings.yaml", "/paths/~1things/get/responses/200/content/application~1json/schema", "sibling keys description, nullable", nil},
		{"type-any.yaml", "/paths/~1things/get/responses/200/content/application~1json/schema/properties/payload/type", `type "any"`, nil},
		{"type-list.yaml", "/paths/~1things/get/responses/200/content/application~1json/schema/properties/name/type", "with nullable", nil},
		{"default-mismatch.yaml", "", "validate:", nil},
		{"example-mismatch.yaml", "/components/schemas/Thing/properties/removeAll/example", "does not match", func(t *testing.T, s *Spec) {
			for _, p := range []string{
				"/components/schemas/Thing/properties/value/example",
				"/components/schemas/Thing/properties/status/example",
				"/paths/~1things/get/parameters/0/example",
				"/paths/~1things/get/responses/200/content/application~1json/example",
			} {
				if !hasWarning(s.Warnings, "", p, "does not match") {
					t.Errorf("no example warning at %s; got:\n%s", p, warningsText(s.Warnings))
				}
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", "quirks", tc.file)
			s, err := Load(context.Background(), path)
			if err != nil {
				t.Fatalf("Load(%s) = %v; want it served", path, err)
			}
			if !hasWarning(s.Warnings, filepath.ToSlash(path), tc.pointer, tc.sub) {
				t.Errorf("Load(%s) warnings:\n%swant one at %s containing %q", path, warningsText(s.Warnings), tc.pointer, tc.sub)
			}
			for _, w := range s.Warnings {
				if strings.HasPrefix(w.Message, "validate:") && tc.sub != "validate:" {
					t.Errorf("validator still complains after repairs: %v", w)
				}
			}
			if tc.check != nil {
				tc.check(t, s)
			}
			var out bytes.Buffer
			if err := Lint(context.Background(), path, nil, &out); err != nil {
				t.Fatalf("Lint(%s) = %v", path, err)
			}
			golden(t, strings.TrimSuffix(path, filepath.Ext(path))+".golden", out.Bytes())
		})
	}
}

// TestQuirkFilesAllCovered keeps the table and the folder in step: a quirk
// file without a case would never be checked.
func TestQuirkFilesAllCovered(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "quirks", "*.yaml"))
	if len(files) < 15 {
		t.Errorf("found %d quirk files; want at least 15", len(files))
	}
	for _, f := range files {
		if _, err := os.Stat(strings.TrimSuffix(f, ".yaml") + ".golden"); err != nil {
			t.Errorf("%s has no golden file; run go test -update and add a case to TestQuirks", f)
		}
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden %s: %v (run go test -update)", path, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (rerun with -update if intended)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestExternalRefsAndTheirQuirks(t *testing.T) {
	path := filepath.Join("testdata", "external", "apps", "things.json")
	s, err := Load(context.Background(), path)
	if err != nil {
		t.Fatalf("Load(%s) = %v; want success", path, err)
	}
	common := filepath.ToSlash(filepath.Join("testdata", "external", "common", "errors.json"))
	for _, w := range []struct{ file, pointer, sub string }{
		{filepath.ToSlash(path), "/components/securitySchemes/bearer/in", "carries"},
		{common, "/components/schemas/BadRequestDTO/properties/tags", "without items"},
		{common, "/components/schemas/BadRequestDTO/properties/statusCode/example", "does not match"},
	} {
		if !hasWarning(s.Warnings, w.file, w.pointer, w.sub) {
			t.Errorf("no warning %s %s containing %q; got:\n%s", w.file, w.pointer, w.sub, warningsText(s.Warnings))
		}
	}
}

func TestLoadRefused(t *testing.T) {
	tests := []struct {
		name, file, pointer, reason string
	}{
		{"undefined local ref", "unresolvable-local-ref.yaml", "/paths/~1things/get/responses/400/content/application~1json/schema/$ref", "resolves nowhere"},
		{"missing external file", "unresolvable-external-ref.yaml", "/paths/~1things/get/responses/400/content/application~1json/schema/$ref", "resolves nowhere"},
		{"does not parse", "not-parseable.yaml", "", "parse yaml"},
		{"swagger 2.0", "swagger2.json", "/openapi", "not an OpenAPI 3.0 document"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join("testdata", "refused", tc.file)
			s, err := Load(context.Background(), path)
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("Load(%s) = %v, %v; want a *LoadError", path, s, err)
			}
			if le.File != filepath.ToSlash(path) || le.Pointer != tc.pointer || !strings.Contains(le.Reason, tc.reason) {
				t.Errorf("LoadError = {%q %q %q}; want {%q %q ...%q...}", le.File, le.Pointer, le.Reason, path, tc.pointer, tc.reason)
			}
			if !strings.HasPrefix(le.Error(), "load spec "+le.File+" at ") {
				t.Errorf("Error() = %q; want it to start with \"load spec FILE at \"", le.Error())
			}
			var out bytes.Buffer
			if lerr := Lint(context.Background(), path, nil, &out); !errors.As(lerr, &le) || !strings.Contains(out.String(), tc.reason) {
				t.Errorf("Lint(%s) = %v, printed %q; want the LoadError returned and printed", path, lerr, out.String())
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(context.Background(), filepath.Join("testdata", "nope.yaml"))
	var le *LoadError
	if !errors.As(err, &le) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v; want a *LoadError wrapping fs.ErrNotExist", err)
	}
}

func TestLoadCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Load(ctx, filepath.Join("testdata", "quirks", "no-security.yaml")); !errors.Is(err, context.Canceled) {
		t.Errorf("Load(cancelled ctx) = %v; want context.Canceled", err)
	}
}

func BenchmarkLoadOfficial(b *testing.B) {
	path := officialPath(b, "contacts.json")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(ctx, path); err != nil {
			b.Fatal(err)
		}
	}
}
