package validate

import (
	"context"
	"net/http"
	"net/http/httptest"
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
	queries := []string{"", "limit=10", "locationId=loc1"}
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
						if !v.fastRequestOK(r, op.Route, params, nil) {
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
		if !New().fastRequestOK(r, op.Route, params, nil) {
			t.Errorf("%s: fastRequestOK(GET /contacts/{id}) = false; want true", name)
		}
	}
}
