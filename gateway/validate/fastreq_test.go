package validate

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
)

// TestFastRequestAgreesWithKin sends many bodiless requests to every
// operation of the specs: whenever the fast path vouches for one,
// kin-openapi must accept it too; and it must carry the common case.
func TestFastRequestAgreesWithKin(t *testing.T) {
	pathValues := []string{"ocQHyuzHvysMo5N5VsXc", "a", "", "with space", "per%2Fcent", "ünï", "a,b", "x.y-z_~"}
	headers := []map[string][]string{
		{"Version": {"2021-07-28"}},
		{"Version": {"2021-04-15"}},
		{"Version": {"bogus"}},
		{"Version": {""}},
		{"Version": {"2021-07-28", "other"}},
		{},
		{"Version": {"2021-07-28"}, "X-Extra": {"1"}},
	}
	queries := []string{"", "limit=10", "locationId=loc1", "locationId=loc1&limit=10", "locationId=loc1&startAfter=abc",
		"locationId=", "locationId=a%2Cb", "locationId=a,b", "locationId=x&locationId=y", "locationId=l&query=John+Doe",
		"locationId=%C3%BCn%C3%AF", "locationId=l&unknown=1", "locationId=l&query=", "query=John", "locationId=l%00",
		"locationId=l&startAfterId=UIaE1WjAwWKdlyD7osQI", "bad=%zz"}
	for name, spec := range specsUnderTest(t) {
		v := New()
		vouched, cases := 0, 0
		for _, op := range spec.Operations {
			for _, pv := range pathValues {
				for _, h := range headers {
					for _, q := range queries {
						params := map[string]string{}
						path := op.Path
						for _, p := range op.PathParams {
							params[p] = pv
							path = strings.ReplaceAll(path, "{"+p+"}", "x")
						}
						target := path
						if q != "" {
							target += "?" + q
						}
						r := httptest.NewRequest(op.Method, target, nil)
						for k, vs := range h {
							r.Header[k] = vs
						}
						cases++
						if !v.fastRequestOK(r, op.Route, params, nil, nil) {
							continue
						}
						vouched++
						in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: v.withoutSecurity(op.Route), Options: v.req}
						if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
							t.Errorf("%s: %s %s params %v header %v: fast path vouched, kin-openapi says %v", name, op.Method, target, params, h, err)
						}
					}
				}
			}
		}
		t.Logf("%s: fast path vouched for %d of %d requests", name, vouched, cases)
		if vouched == 0 {
			t.Errorf("%s: fast path vouched for no request; want it to carry plain reads", name)
		}
	}
}

func TestFastRequestCarriesGetContact(t *testing.T) {
	for name, spec := range specsUnderTest(t) {
		op, params, err := spec.Match(http.MethodGet, "/contacts/ocQHyuzHvysMo5N5VsXc")
		if err != nil {
			t.Fatalf("%s: Match = %v", name, err)
		}
		r := httptest.NewRequest(http.MethodGet, "/contacts/ocQHyuzHvysMo5N5VsXc", nil)
		r.Header.Set("Version", "2021-07-28")
		if !New().fastRequestOK(r, op.Route, params, nil, nil) {
			t.Errorf("%s: fastRequestOK(GET /contacts/{id}) = false; want true", name)
		}
	}
}

// TestFastRequestCarriesContactList: the list read with its required
// locationId (and optional numbers left out) needs no kin-openapi, whether
// the caller hands over the parsed query or not.
func TestFastRequestCarriesContactList(t *testing.T) {
	for name, spec := range specsUnderTest(t) {
		target := "/contacts/?locationId=ve9EPM428h8vShlRW1KT"
		op, params, err := spec.Match(http.MethodGet, "/contacts/")
		if err != nil {
			t.Fatalf("%s: Match = %v", name, err)
		}
		r := httptest.NewRequest(http.MethodGet, target, nil)
		r.Header.Set("Version", "2021-07-28")
		for _, query := range []url.Values{nil, r.URL.Query()} {
			if !New().fastRequestOK(r, op.Route, params, query, nil) {
				t.Errorf("%s: fastRequestOK(GET %s, query %v) = false; want true", name, target, query)
			}
		}
	}
}
