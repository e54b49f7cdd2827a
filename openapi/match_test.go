package openapi

import (
	"errors"
	"maps"
	"slices"
	"testing"
)

func TestMatchDefault(t *testing.T) {
	s, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, path string
		wantID             string
		wantParams         map[string]string
		wantErr            error
		wantAllow          []string
	}{
		{"create with slash", "POST", "/contacts/", "create-contact", nil, nil, nil},
		{"create without slash", "POST", "/contacts", "create-contact", nil, nil, nil},
		{"list", "GET", "/contacts/", "get-contacts", nil, nil, nil},
		{"query string ignored", "GET", "/contacts?locationId=x", "get-contacts", nil, nil, nil},
		{"get contact", "GET", "/contacts/abc123", "get-contact", map[string]string{"contactId": "abc123"}, nil, nil},
		{"trailing slash on template", "GET", "/contacts/abc123/", "get-contact", map[string]string{"contactId": "abc123"}, nil, nil},
		{"literal duplicate beats contactId", "GET", "/contacts/search/duplicate", "get-duplicate-contact", nil, nil, nil},
		{"literal search", "POST", "/contacts/search", "search-contacts-advanced", nil, nil, nil},
		{"GET search falls back to contactId like Express", "GET", "/contacts/search", "get-contact", map[string]string{"contactId": "search"}, nil, nil},
		{"upsert literal", "POST", "/contacts/upsert", "upsert-contact", nil, nil, nil},
		{"business literal beats tasks", "GET", "/contacts/business/tasks", "get-contacts-by-businessId", map[string]string{"businessId": "tasks"}, nil, nil},
		{"business", "GET", "/contacts/business/b1", "get-contacts-by-businessId", map[string]string{"businessId": "b1"}, nil, nil},
		{"tasks of contact", "GET", "/contacts/c1/tasks", "get-all-tasks", map[string]string{"contactId": "c1"}, nil, nil},
		{"task", "PUT", "/contacts/c1/tasks/t1", "update-task", map[string]string{"contactId": "c1", "taskId": "t1"}, nil, nil},
		{"task completed", "PUT", "/contacts/c1/tasks/t1/completed", "update-task-completed", map[string]string{"contactId": "c1", "taskId": "t1"}, nil, nil},
		{"note uses id", "DELETE", "/contacts/c1/notes/n1", "delete-note", map[string]string{"contactId": "c1", "id": "n1"}, nil, nil},
		{"removeAll beats campaignId", "DELETE", "/contacts/c1/campaigns/removeAll", "remove-contact-from-every-campaign", map[string]string{"contactId": "c1"}, nil, nil},
		{"campaignId", "DELETE", "/contacts/c1/campaigns/k1", "remove-contact-from-campaign", map[string]string{"contactId": "c1", "campaignId": "k1"}, nil, nil},
		{"POST removeAll falls back to campaignId", "POST", "/contacts/c1/campaigns/removeAll", "add-contact-to-campaign", map[string]string{"contactId": "c1", "campaignId": "removeAll"}, nil, nil},
		{"bulk tags type", "POST", "/contacts/bulk/tags/update/add", "create-association", map[string]string{"type": "add"}, nil, nil},
		{"bulk business", "POST", "/contacts/bulk/business", "add-remove-contact-from-business", nil, nil, nil},
		{"percent-decoded once", "GET", "/contacts/a%20b%2525", "get-contact", map[string]string{"contactId": "a b%25"}, nil, nil},
		{"tags delete", "DELETE", "/contacts/c1/tags", "remove-tags", map[string]string{"contactId": "c1"}, nil, nil},

		{"encoded traversal", "GET", "/contacts/..%2f..", "", nil, ErrNotFound, nil},
		{"encoded slash", "GET", "/contacts/a%2Fb", "", nil, ErrNotFound, nil},
		{"dot dot", "GET", "/contacts/../contacts/x", "", nil, ErrNotFound, nil},
		{"encoded dot dot", "GET", "/contacts/%2e%2e/tasks", "", nil, ErrNotFound, nil},
		{"single dot", "GET", "/contacts/./tasks", "", nil, ErrNotFound, nil},
		{"bad escape", "GET", "/contacts/%zz", "", nil, ErrNotFound, nil},
		{"empty segment", "GET", "/contacts//tasks", "", nil, ErrNotFound, nil},
		{"unknown root", "GET", "/locations/x", "", nil, ErrNotFound, nil},
		{"too deep", "GET", "/contacts/c1/tasks/t1/completed/x", "", nil, ErrNotFound, nil},
		{"root", "GET", "/", "", nil, ErrNotFound, nil},
		{"staging prefix is the caller's job", "GET", "/staging/contacts/c1", "", nil, ErrNotFound, nil},

		{"method not allowed on contact", "PATCH", "/contacts/c1", "", nil, ErrMethodNotAllowed, []string{"DELETE", "GET", "PUT"}},
		{"method not allowed on tasks", "DELETE", "/contacts/c1/tasks", "", nil, ErrMethodNotAllowed, []string{"GET", "POST"}},
		{"lowercase method is not GET", "get", "/contacts/c1", "", nil, ErrMethodNotAllowed, []string{"DELETE", "GET", "PUT"}},
		{"405 unions overlapping paths", "PUT", "/contacts/c1/campaigns/removeAll", "", nil, ErrMethodNotAllowed, []string{"DELETE", "POST"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			op, params, err := s.Match(tc.method, tc.path)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Match(%s %s) = %v, %v, %v; want error %v", tc.method, tc.path, op, params, err, tc.wantErr)
				}
				var mna *MethodNotAllowedError
				if errors.As(err, &mna) && !slices.Equal(mna.Allow, tc.wantAllow) {
					t.Errorf("Match(%s %s) Allow = %v; want %v", tc.method, tc.path, mna.Allow, tc.wantAllow)
				}
				return
			}
			if err != nil {
				t.Fatalf("Match(%s %s) error %v; want %s", tc.method, tc.path, err, tc.wantID)
			}
			if op.ID != tc.wantID {
				t.Errorf("Match(%s %s) = %s; want %s", tc.method, tc.path, op.ID, tc.wantID)
			}
			if !maps.Equal(params, tc.wantParams) {
				t.Errorf("Match(%s %s) params = %v; want %v", tc.method, tc.path, params, tc.wantParams)
			}
		})
	}
}

func TestMatchPatternSegment(t *testing.T) {
	s := mustLoadString(t, `
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /files/{name}.json:
    get:
      operationId: file-json
      parameters: [{name: name, in: path, required: true, schema: {type: string}}]
      responses: {"200": {description: ok}}
  /files/{name}:
    get:
      operationId: file
      parameters: [{name: name, in: path, required: true, schema: {type: string}}]
      responses: {"200": {description: ok}}
  /files/index.json:
    get:
      operationId: index
      responses: {"200": {description: ok}}
`)
	tests := []struct {
		path, wantID, wantName string
	}{
		{"/files/index.json", "index", ""},
		{"/files/a.json", "file-json", "a"},
		{"/files/.json", "file", ".json"},
		{"/files/a.txt", "file", "a.txt"},
	}
	for _, tc := range tests {
		op, params, err := s.Match("GET", tc.path)
		if err != nil || op.ID != tc.wantID || params["name"] != tc.wantName {
			t.Errorf("Match(GET %s) = %v, %v, %v; want %s name=%q", tc.path, op, params, err, tc.wantID, tc.wantName)
		}
	}
}

func TestOperationLookup(t *testing.T) {
	s, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Operation("get-contact"); got == nil || got.Method != "GET" || got.Path != "/contacts/{contactId}" {
		t.Errorf("Operation(get-contact) = %+v; want GET /contacts/{contactId}", got)
	}
	if got := s.Operation("no-such-op"); got != nil {
		t.Errorf("Operation(no-such-op) = %+v; want nil", got)
	}
}

func BenchmarkMatch(b *testing.B) {
	s, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct{ name, method, path string }{
		{"literal", "POST", "/contacts/upsert"},
		{"one-param", "GET", "/contacts/sx6wyHhbFdRXh302LLNR"},
		{"two-params", "PUT", "/contacts/sx6wyHhbFdRXh302LLNR/tasks/ocQHyuzHvysMo5N5VsXc/completed"},
		{"backtrack", "POST", "/contacts/c1/campaigns/removeAll"},
		{"not-found", "GET", "/locations/x/y"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _, _ = s.Match(c.method, c.path)
			}
		})
	}
}

func TestMatchValues(t *testing.T) {
	s, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]string, 0, 4)
	op, vals, err := s.MatchValues("GET", "/contacts/c1/notes/n1", buf[:0])
	if err != nil || op.ID != "get-note" || !slices.Equal(vals, []string{"c1", "n1"}) || !slices.Equal(op.PathParams, []string{"contactId", "id"}) {
		t.Fatalf("MatchValues = %v, %v, %v; want get-note [c1 n1]", op, vals, err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		_, _, _ = s.MatchValues("PUT", "/contacts/c1/tasks/t1/completed", buf[:0])
	})
	if allocs != 0 {
		t.Errorf("MatchValues allocs = %v; want 0", allocs)
	}
	if _, _, err := s.MatchValues("GET", "/nope", buf[:0]); !errors.Is(err, ErrNotFound) {
		t.Errorf("MatchValues(GET /nope) err = %v; want ErrNotFound", err)
	}
}

func BenchmarkMatchValues(b *testing.B) {
	s, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]string, 0, 4)
	b.ReportAllocs()
	for b.Loop() {
		_, _, _ = s.MatchValues("PUT", "/contacts/sx6wyHhbFdRXh302LLNR/tasks/ocQHyuzHvysMo5N5VsXc/completed", buf[:0])
	}
}
