package openapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
)

func mustDefault(t testing.TB) *Spec {
	t.Helper()
	s, err := Default()
	if err != nil {
		t.Fatalf("Default() = %v", err)
	}
	return s
}

func TestDefaultShape(t *testing.T) {
	s := mustDefault(t)
	if again, _ := Default(); again != s {
		t.Errorf("Default() returned a new Spec on the second call; want it parsed once")
	}
	if got := len(s.Operations); got != 32 {
		t.Errorf("len(Operations) = %d; want 32", got)
	}
	if s.Source != EmbeddedName {
		t.Errorf("Source = %q; want %q", s.Source, EmbeddedName)
	}
	if len(s.Doc.Servers) != 1 || s.Doc.Servers[0].URL != "https://services.leadconnectorhq.com" {
		t.Errorf("servers = %v; want https://services.leadconnectorhq.com", s.Doc.Servers)
	}
	for _, o := range s.Operations {
		if !o.HasSecurity || len(o.Scopes) != 1 || len(o.Scopes[0]) != 1 {
			t.Errorf("%s Scopes = %v; want exactly one scope", o.ID, o.Scopes)
			continue
		}
		wantScope := "contacts.write"
		if o.Method == "GET" || o.ID == "search-contacts-advanced" {
			wantScope = "contacts.readonly"
		}
		if o.Scopes[0][0] != wantScope {
			t.Errorf("%s scope = %s; want %s", o.ID, o.Scopes[0][0], wantScope)
		}
		if got := versionEnum(t, o); !slices.Equal(got, []string{"2021-07-28", "2023-02-21"}) {
			t.Errorf("%s Version enum = %v; want [2021-07-28 2023-02-21]", o.ID, got)
		}
		if o.Tag == "" {
			t.Errorf("%s has no tag", o.ID)
		}
	}
	// The loader repaired nothing in our own document: what is left are
	// notes on HighLevel's design (scopes on an http scheme, /contacts/,
	// overlapping paths, bodies on DELETE).
	for _, w := range s.Warnings {
		for _, bad := range []string{"dropped", "removed", "added", "renamed", "validate:", "no security"} {
			if strings.Contains(w.Message, bad) {
				t.Errorf("Default() warning %v; the embedded document should need no repair", w)
			}
		}
	}
	text := string(EmbeddedYAML())
	for _, bad := range []string{"format: date-time", "additionalProperties: false"} {
		if strings.Contains(text, bad) {
			t.Errorf("ghl-contacts.yaml contains %q; GHL uses neither", bad)
		}
	}
}

func TestDefaultLocations(t *testing.T) {
	s := mustDefault(t)
	tests := []struct {
		id       string
		want     LocationSource
		required bool
	}{
		{"get-contacts", LocationQuery, true},
		{"get-contacts-by-businessId", LocationQuery, true},
		{"get-duplicate-contact", LocationQuery, true},
		{"create-contact", LocationBody, true},
		{"upsert-contact", LocationBody, true},
		{"create-association", LocationBody, true},
		{"add-remove-contact-from-business", LocationBody, true},
		{"search-contacts-advanced", LocationBody, false},
		{"get-contact", LocationNone, false},
		{"update-contact", LocationNone, false},
		{"create-task", LocationNone, false},
	}
	for _, tc := range tests {
		o := s.Operation(tc.id)
		if o == nil {
			t.Errorf("Operation(%s) = nil", tc.id)
			continue
		}
		if o.Location != tc.want || o.LocationRequired != tc.required {
			t.Errorf("%s Location = %v required=%v; want %v required=%v", tc.id, o.Location, o.LocationRequired, tc.want, tc.required)
		}
	}
}

// TestDefaultValidatesRequests runs the Route of matched operations through
// kin's request validator, as the gateway does.
func TestDefaultValidatesRequests(t *testing.T) {
	s := mustDefault(t)
	tests := []struct {
		name, method, target, version, body string
		wantOK                              bool
	}{
		{"create with locationId", "POST", "/contacts/", "2021-07-28", `{"locationId":"L1","firstName":"Ann"}`, true},
		{"SDK default version", "POST", "/contacts/", "2023-02-21", `{"locationId":"L1"}`, true},
		{"create without locationId", "POST", "/contacts/", "2021-07-28", `{"firstName":"Ann"}`, false},
		{"unknown version", "POST", "/contacts/", "2020-01-01", `{"locationId":"L1"}`, false},
		{"missing version", "GET", "/contacts/c1", "", ``, false},
		{"custom field by key", "POST", "/contacts/upsert", "2021-07-28", `{"locationId":"L1","customFields":[{"key":"k","field_value":["a","b"]}]}`, true},
		{"custom field without id or key", "POST", "/contacts/upsert", "2021-07-28", `{"locationId":"L1","customFields":[{"field_value":"x"}]}`, false},
		{"dnd status enum", "PUT", "/contacts/c1", "2021-07-28", `{"dndSettings":{"SMS":{"status":"maybe"}}}`, false},
		{"task create complete", "POST", "/contacts/c1/tasks", "2021-07-28", `{"title":"t","dueDate":"2020-10-25T11:00:00Z","completed":false}`, true},
		{"task create without completed", "POST", "/contacts/c1/tasks", "2021-07-28", `{"title":"t","dueDate":"2020-10-25T11:00:00Z"}`, false},
		{"completed needs completed", "PUT", "/contacts/c1/tasks/t1/completed", "2021-07-28", `{}`, false},
		{"tags required", "POST", "/contacts/c1/tags", "2021-07-28", `{}`, false},
		{"remove tags with body", "DELETE", "/contacts/c1/tags", "2021-07-28", `{"tags":["vip"]}`, true},
		{"note needs body", "POST", "/contacts/c1/notes", "2021-07-28", `{"title":"x"}`, false},
		{"bulk tags add", "POST", "/contacts/bulk/tags/update/add", "2021-07-28", `{"contacts":["c1"],"tags":["t"],"locationId":"L1"}`, true},
		{"bulk tags bad type", "POST", "/contacts/bulk/tags/update/toggle", "2021-07-28", `{"contacts":["c1"],"tags":["t"],"locationId":"L1"}`, false},
		{"business null removes", "POST", "/contacts/bulk/business", "2021-07-28", `{"locationId":"L1","ids":["c1"],"businessId":null}`, true},
		{"list needs locationId", "GET", "/contacts/?limit=10", "2021-07-28", ``, false},
		{"list with cursor", "GET", "/contacts/?locationId=L1&startAfter=1603870249758&startAfterId=x&limit=100", "2021-07-28", ``, true},
		{"list limit above 100", "GET", "/contacts/?locationId=L1&limit=101", "2021-07-28", ``, false},
		{"duplicate search", "GET", "/contacts/search/duplicate?locationId=L1&email=a%40b.c", "2021-07-28", ``, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body *strings.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			var req *http.Request
			if body != nil {
				req = httptest.NewRequest(tc.method, tc.target, body)
				req.Header.Set("Content-Type", "application/json")
			} else {
				req = httptest.NewRequest(tc.method, tc.target, nil)
			}
			if tc.version != "" {
				req.Header.Set("Version", tc.version)
			}
			op, params, err := s.Match(req.Method, req.URL.EscapedPath())
			if err != nil {
				t.Fatalf("Match(%s %s) = %v", tc.method, tc.target, err)
			}
			err = openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
				Request: req, PathParams: params, Route: op.Route,
				Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
			})
			if (err == nil) != tc.wantOK {
				t.Errorf("ValidateRequest(%s %s %s) = %v; want ok=%v", tc.method, tc.target, tc.body, err, tc.wantOK)
			}
		})
	}
}

// TestDefaultExamplesPassResponseValidation: every response example is what
// the mock may serve, so each must pass the gateway's response validation.
func TestDefaultExamplesPassResponseValidation(t *testing.T) {
	s := mustDefault(t)
	for _, o := range s.Operations {
		success := false
		for code, ref := range o.Op.Responses.Map() {
			status, err := strconv.Atoi(code)
			if err != nil || ref.Value == nil {
				continue
			}
			mt := ref.Value.Content.Get("application/json")
			if mt == nil {
				t.Errorf("%s %s has no application/json content", o.ID, code)
				continue
			}
			examples := map[string]any{}
			if mt.Example != nil {
				examples["example"] = mt.Example
			}
			for name, e := range mt.Examples {
				examples[name] = e.Value.Value
			}
			if len(examples) == 0 {
				t.Errorf("%s %s has no example for the mock to serve", o.ID, code)
			}
			if status < 300 && len(examples) > 0 {
				success = true
			}
			for name, ex := range examples {
				data, _ := json.Marshal(ex)
				req := httptest.NewRequest(o.Method, "/", nil)
				in := &openapi3filter.ResponseValidationInput{
					RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, Route: o.Route},
					Status:                 status,
					Header:                 http.Header{"Content-Type": {"application/json"}},
				}
				in.SetBodyBytes(data)
				if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
					t.Errorf("%s %s example %s fails response validation: %v", o.ID, code, name, err)
				}
			}
		}
		if !success {
			t.Errorf("%s has no success example", o.ID)
		}
	}
}

func TestWriteOpsGolden(t *testing.T) {
	var b strings.Builder
	mustDefault(t).WriteOps(&b)
	golden(t, filepath.Join("testdata", "ops.golden"), []byte(b.String()))
}
