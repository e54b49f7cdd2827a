package validate

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rankr/ghlgate/openapi"
)

func TestRequest(t *testing.T) {
	spec, err := openapi.Default()
	if err != nil {
		t.Fatalf("openapi.Default() = %v", err)
	}
	v := New()
	tests := []struct {
		name        string
		method      string
		target      string
		contentType string
		body        string
		wantErr     bool
		wantKind    Kind
		wantPointer string
	}{
		{"valid create", "POST", "/contacts/", "application/json", `{"locationId":"loc1","firstName":"Ann"}`, false, 0, ""},
		{"create without locationId", "POST", "/contacts/", "application/json", `{"firstName":"Ann"}`, true, Schema, "body.locationId"},
		{"create with a wrong type", "POST", "/contacts/", "application/json", `{"locationId":"loc1","firstName":7}`, true, Schema, "body.firstName"},
		{"malformed JSON", "POST", "/contacts/", "application/json", `{"locationId":`, true, Malformed, "body"},
		{"wrong content type", "POST", "/contacts/", "text/plain", `locationId=loc1`, true, MediaType, "header.Content-Type"},
		{"list without locationId", "GET", "/contacts/", "", "", true, Malformed, "query.locationId"},
		{"list with a bad limit", "GET", "/contacts/?locationId=loc1&limit=lots", "", "", true, Malformed, "query.limit"},
		{"valid list", "GET", "/contacts/?locationId=loc1&limit=10", "", "", false, 0, ""},
		{"task without title", "POST", "/contacts/abc/tasks", "application/json", `{"dueDate":"2026-12-01T10:00:00Z","completed":false}`, true, Schema, "body.title"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body))
			r.Header.Set("Version", "2021-07-28")
			if tc.contentType != "" {
				r.Header.Set("Content-Type", tc.contentType)
			}
			op, params, err := spec.Match(tc.method, r.URL.Path)
			if err != nil {
				t.Fatalf("Match(%s %s) = %v", tc.method, r.URL.Path, err)
			}
			err = v.Request(context.Background(), r, op.Route, params, nil, []byte(tc.body))
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("Request() = %v; want nil", err)
				}
				return
			}
			var ve *Error
			if !errors.As(err, &ve) {
				t.Fatalf("Request() = %v; want *Error", err)
			}
			if ve.Kind != tc.wantKind {
				t.Errorf("Kind = %d; want %d (%v)", ve.Kind, tc.wantKind, ve)
			}
			found := false
			for _, f := range ve.Fields {
				found = found || f.Pointer == tc.wantPointer
			}
			if !found {
				t.Errorf("Fields = %+v; want one at %s", ve.Fields, tc.wantPointer)
			}
		})
	}
}

func TestResponse(t *testing.T) {
	spec, err := openapi.Default()
	if err != nil {
		t.Fatal(err)
	}
	op := spec.Operation("get-contact")
	if op == nil {
		t.Fatal("no get-contact operation in the embedded spec")
	}
	v := New()
	r := httptest.NewRequest("GET", "/contacts/abc", nil)
	h := http.Header{"Content-Type": []string{"application/json"}}
	params := map[string]string{"contactId": "abc"}
	if err := v.Response(context.Background(), r, op.Route, params, 200, h, []byte(`{"contact":{"id":"abc","locationId":"loc1","tags":["a"]}}`)); err != nil {
		t.Errorf("Response(conforming) = %v; want nil", err)
	}
	err = v.Response(context.Background(), r, op.Route, params, 200, h, []byte(`{"contact":{"id":"abc","tags":"not-a-list"}}`))
	var ve *Error
	if !errors.As(err, &ve) || !strings.Contains(ve.Error(), "tags") {
		t.Errorf("Response(tags as string) = %v; want an error naming tags", err)
	}
	// GHL documents no 503: an undocumented status is not a contract break.
	if err := v.Response(context.Background(), r, op.Route, params, 503, h, []byte(`oops`)); err != nil {
		t.Errorf("Response(503) = %v; want nil", err)
	}
}
