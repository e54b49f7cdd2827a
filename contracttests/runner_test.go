package contracttests

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/theory/jsonpath"

	"github.com/rankr/ghlgate/mocks"
)

// stepClock is an injected clock that moves 1ms per reading, so durations
// in reports are deterministic.
func stepClock() func() time.Time {
	var n atomic.Int64
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return func() time.Time { return base.Add(time.Duration(n.Add(1)) * time.Millisecond) }
}

func seqIDs() func() string {
	var n atomic.Int64
	return func() string { return "run" + string(rune('a'+n.Add(1)%26)) }
}

func mustScenario(t *testing.T, src string) *Scenario {
	t.Helper()
	sc, errs := ParseScenario("test.yaml", []byte(src))
	if len(errs) > 0 {
		t.Fatalf("ParseScenario: %v", errs)
	}
	return sc
}

const getContactScenario = `
name: get-contact
description: reads one contact
testFlag: true
steps:
  - name: get
    request: {method: GET, path: /contacts/abc}
    expect:
      status: 200
      body:
        $.contact.id: abc
        $.contact.tags: {length: 2}
        $.contact.dnd: {type: boolean}
`

const goodContact = `{"contact":{"id":"abc","email":"a@example.com","tags":["a","b"],"dnd":false}}`

// deviant serves GET /contacts/abc the way a broken upstream might.
func deviant(body string, status int, block bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			return
		}
		if block {
			<-r.Context().Done() // answers only when the client gives up
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	})
}

// TestRunnerCatchesDeviations: every deliberate deviation of the server
// fails the run with a message that names the right place.
func TestRunnerCatchesDeviations(t *testing.T) {
	spec := testSpec(t)
	tests := []struct {
		name     string
		body     string
		status   int
		block    bool
		kind     string // "" = the run passes
		path     string
		inActual string
	}{
		{name: "conforming", body: goodContact, status: 200},
		{name: "wrong status", body: goodContact, status: 201, kind: KindStatus, path: "status", inActual: "201"},
		{name: "missing field", body: `{"contact":{"email":"a@example.com","tags":["a","b"],"dnd":false}}`, status: 200, kind: KindBody, path: "$.contact.id", inActual: "absent"},
		{name: "wrong type", body: `{"contact":{"id":"abc","tags":["a","b"],"dnd":"no"}}`, status: 200, kind: KindBody, path: "$.contact.dnd", inActual: `string "no"`},
		{name: "extra item", body: `{"contact":{"id":"abc","tags":["a","b","c"],"dnd":false}}`, status: 200, kind: KindBody, path: "$.contact.tags", inActual: "length 3"},
		{name: "breaks the spec only", body: `{"contact":{"id":"abc","email":5,"tags":["a","b"],"dnd":false}}`, status: 200, kind: KindSchema, path: "$.contact.email", inActual: "string"},
		{name: "not JSON", body: `{"contact":`, status: 200, kind: KindBody, path: "$", inActual: "invalid JSON"},
		{name: "slow", block: true, kind: KindTransport, inActual: "no response within 50ms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(deviant(tc.body, tc.status, tc.block))
			defer srv.Close()
			rep, err := Run(context.Background(), Options{
				Target: srv.URL, Key: "k", Scenarios: []*Scenario{mustScenario(t, getContactScenario)},
				Spec: spec, StepTimeout: 50 * time.Millisecond, Now: stepClock(), NewID: seqIDs(),
				Resolver: MapResolver{},
			})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			code := ExitCode(rep, nil)
			if tc.kind == "" {
				if code != 0 {
					t.Fatalf("ExitCode = %d; want 0; report: %+v", code, rep.Scenarios)
				}
				return
			}
			if code != 1 {
				t.Fatalf("ExitCode = %d; want 1", code)
			}
			st := rep.Scenarios[0].FirstFailure()
			if st == nil {
				t.Fatalf("no failed step in %+v", rep.Scenarios[0])
			}
			var found []Failure
			for _, f := range st.Failures {
				if f.Kind == tc.kind && (tc.path == "" || f.Path == tc.path) && strings.Contains(f.Actual, tc.inActual) {
					return
				}
				found = append(found, f)
			}
			t.Errorf("failures = %+v; want kind %s at %q with actual containing %q", found, tc.kind, tc.path, tc.inActual)
		})
	}
}

func TestRunRefusesBadOptionsAndDeadTargets(t *testing.T) {
	sc := mustScenario(t, getContactScenario)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	_ = l.Close()
	tests := []struct {
		name string
		opts Options
		want any
	}{
		{"no target", Options{Scenarios: []*Scenario{sc}, Spec: testSpec(t)}, new(*UsageError)},
		{"not a URL", Options{Target: "localhost:8080", Scenarios: []*Scenario{sc}, Spec: testSpec(t)}, new(*UsageError)},
		{"no scenarios", Options{Target: "http://127.0.0.1:1", Spec: testSpec(t)}, new(*UsageError)},
		{"nobody listening", Options{Target: dead, Scenarios: []*Scenario{sc}, Spec: testSpec(t)}, new(*ConnectionError)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Run(context.Background(), tc.opts)
			if err == nil || !errors.As(err, tc.want) {
				t.Fatalf("Run() error = %v; want %T", err, tc.want)
			}
			if code := ExitCode(rep, err); code != 2 {
				t.Errorf("ExitCode = %d; want 2", code)
			}
		})
	}
}

// TestFixtureTyposAreRefused: a broken fixture is a fixture error with its
// line, reported before anything is sent.
func TestFixtureTyposAreRefused(t *testing.T) {
	base := func(step string) string {
		return "name: typo\ndescription: d\ntestFlag: true\nsteps:\n" + step
	}
	okStep := "  - name: s\n    request: {method: GET, path: /contacts/x}\n    expect:\n      status: 200\n"
	tests := []struct {
		name     string
		src      string
		line     int
		inReason string
	}{
		{"matcher keyword typo", base(okStep + "      body:\n        $.contact.id: {regx: abc}\n"), 10, "regx"},
		{"missing status", base("  - name: s\n    request: {method: GET, path: /contacts/x}\n    expect: {}\n"), 7, "status"},
		{"unknown method", base("  - name: s\n    request: {method: FETCH, path: /contacts/x}\n    expect: {status: 200}\n"), 6, "FETCH"},
		{"undefined variable", base("  - name: s\n    request:\n      method: GET\n      path: /contacts/${contactid}\n    expect: {status: 200}\n"), 5, "${contactid}"},
		{"unlisted test contact", base("  - name: s\n    request:\n      method: GET\n      path: /contacts/${testContact:bob}\n    expect: {status: 200}\n"), 5, "testContactIds"},
		{"bad JSONPath", base(okStep + "      body:\n        $.contact[: 1\n"), 10, "JSONPath"},
		{"bad regex", base(okStep + "      body:\n        $.a: {regex: \"(\"}\n"), 10, "regex"},
		{"not test traffic", "name: typo\ndescription: d\ntestFlag: false\nsteps:\n" + okStep, 3, "true"},
		{"yaml syntax", "name: typo\ndescription: d\n  testFlag: true\n", 3, "YAML"},
		{"unknown top-level key", base(okStep) + "teardwn: []\n", 1, "teardwn"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := ParseScenario("typo.yaml", []byte(tc.src))
			if len(errs) == 0 {
				t.Fatalf("ParseScenario accepted:\n%s", tc.src)
			}
			for _, e := range errs {
				if e.File == "typo.yaml" && e.Line == tc.line && strings.Contains(e.Error(), tc.inReason) {
					if !errors.Is(FixtureErrors(errs), ErrFixture) {
						t.Errorf("errors.Is(errs, ErrFixture) = false; want true")
					}
					return
				}
			}
			t.Errorf("ParseScenario errors = %v; want one at typo.yaml:%d mentioning %q", errs, tc.line, tc.inReason)
		})
	}
}

func TestMatchers(t *testing.T) {
	tests := []struct {
		name    string
		matcher string
		value   string
		ok      bool
	}{
		{"equals scalar", `"abc"`, `"abc"`, true},
		{"equals scalar differs", `"abc"`, `"abd"`, false},
		{"equals object", `{"equals":{"a":1}}`, `{"a":1}`, true},
		{"equals variable", `"${id}"`, `"xyz"`, true},
		{"equals number variable", `"${n}"`, `3`, true},
		{"like", `{"like":{"a":"s","b":[1]}}`, `{"a":"t","b":[2,3],"c":true}`, true},
		{"like wrong item type", `{"like":{"b":[1]}}`, `{"b":[2,"x"]}`, false},
		{"like missing key", `{"like":{"a":"s"}}`, `{"b":"t"}`, false},
		{"type integer", `{"type":"integer"}`, `4`, true},
		{"type integer fraction", `{"type":"integer"}`, `4.5`, false},
		{"type null", `{"type":"null"}`, `null`, true},
		{"regex whole", `{"regex":"[a-z]+"}`, `"abc"`, true},
		{"regex is anchored", `{"regex":"[a-z]+"}`, `"abc1"`, false},
		{"datetime iso", `{"datetime":"iso8601"}`, `"2021-07-02T05:18:26.704Z"`, true},
		{"datetime bad", `{"datetime":"iso8601"}`, `"2021-07-02 05:18"`, false},
		{"datetime date", `{"datetime":"date"}`, `"2021-07-02"`, true},
		{"include substring", `{"include":"ell"}`, `"hello"`, true},
		{"include array", `{"include":["a","c"]}`, `["a","b","c"]`, true},
		{"include array missing", `{"include":"d"}`, `["a"]`, false},
		{"include object", `{"include":{"a":1}}`, `{"a":1,"b":2}`, true},
		{"oneOf", `{"oneOf":[1,"two"]}`, `"two"`, true},
		{"oneOf none", `{"oneOf":[1,"two"]}`, `3`, false},
		{"range", `{"range":{"min":1,"max":100}}`, `100`, true},
		{"range above", `{"range":{"min":1,"max":100}}`, `101`, false},
		{"length", `{"length":2}`, `[1,2]`, true},
		{"minLength string", `{"minLength":3}`, `"ab"`, false},
		{"maxLength", `{"maxLength":1}`, `[1]`, true},
		{"eachValue", `{"eachValue":{"type":"string"}}`, `["a","b"]`, true},
		{"eachValue one off", `{"eachValue":{"regex":"[a-z]"}}`, `["a","B"]`, false},
		{"eachLike", `{"eachLike":{"id":"x"}}`, `[{"id":"a"},{"id":"b"}]`, true},
		{"eachLike empty", `{"eachLike":{"id":"x"}}`, `[]`, false},
		{"combined all must hold", `{"type":"string","regex":"a+"}`, `"b"`, false},
	}
	env := &matchEnv{scope: &scope{vals: map[string]any{"id": "xyz", "n": 3.0}, now: time.Now, newID: func() string { return "id" }}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m Matcher
			if err := json.Unmarshal([]byte(tc.matcher), &m); err != nil {
				t.Fatal(err)
			}
			if err := m.compile(); err != nil {
				t.Fatal(err)
			}
			var v any
			if err := json.Unmarshal([]byte(tc.value), &v); err != nil {
				t.Fatal(err)
			}
			mm := m.check(env, v)
			if got := mm == nil; got != tc.ok {
				t.Errorf("check(%s, %s) ok = %v (%+v); want %v", tc.matcher, tc.value, got, mm, tc.ok)
			}
		})
	}
}

func TestPresentAndAbsent(t *testing.T) {
	doc := map[string]any{"a": map[string]any{"b": 1.0}}
	tests := []struct {
		path    string
		present bool
		ok      bool
	}{
		{"$.a.b", true, true},
		{"$.a.c", true, false},
		{"$.a.c", false, true},
		{"$.a.b", false, false},
		{"$.a[?@ == 2]", true, false},
		{"$.a[?@ == 2]", false, true},
	}
	for _, tc := range tests {
		m := &Matcher{Present: &tc.present}
		pm := PathMatcher{Path: tc.path, Matcher: m}
		q, err := parseTestPath(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		pm.query = q
		nodes, locs := selectNodes(pm, doc)
		_, mm := m.checkNodes(&matchEnv{scope: &scope{}}, nodes, locs, pm.singular())
		if got := mm == nil; got != tc.ok {
			t.Errorf("present %v at %s ok = %v; want %v", tc.present, tc.path, got, tc.ok)
		}
	}
}

// TestReports: the failures and the run show up in every report format,
// the HTML is self-contained, and curl never prints the key.
func TestReports(t *testing.T) {
	srv := httptest.NewServer(deviant(`{"contact":{"id":"zzz","tags":["a","b"],"dnd":false}}`, 200, false))
	defer srv.Close()
	rep, err := Run(context.Background(), Options{
		Target: srv.URL, Key: "ghlgw_secret", Scenarios: []*Scenario{mustScenario(t, getContactScenario)},
		Spec: testSpec(t), Now: stepClock(), NewID: seqIDs(), Resolver: MapResolver{},
	})
	if err != nil {
		t.Fatal(err)
	}
	var junit, js, html, sum bytes.Buffer
	for _, w := range []struct {
		f   func(*bytes.Buffer, *Report) error
		buf *bytes.Buffer
	}{
		{func(b *bytes.Buffer, r *Report) error { return WriteJUnit(b, r) }, &junit},
		{func(b *bytes.Buffer, r *Report) error { return WriteJSON(b, r) }, &js},
		{func(b *bytes.Buffer, r *Report) error { return WriteHTML(b, r) }, &html},
		{func(b *bytes.Buffer, r *Report) error { return WriteSummary(b, r) }, &sum},
	} {
		if err := w.f(w.buf, rep); err != nil {
			t.Fatal(err)
		}
	}
	var suites junitSuites
	if err := xml.Unmarshal(junit.Bytes(), &suites); err != nil {
		t.Fatalf("JUnit does not parse: %v", err)
	}
	if got := suites.Suites[0].Cases[0]; got.Failure == nil || !strings.Contains(got.Failure.Message, "$.contact.id") || !strings.Contains(got.SystemOut, "GET /contacts/abc") {
		t.Errorf("JUnit testcase = %+v; want a failure naming $.contact.id and the step in system-out", got)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Totals.Failed != 1 {
		t.Errorf("JSON report totals = %+v (err %v); want 1 failed", back.Totals, err)
	}
	for _, want := range []string{"$.contact.id", "get-contact", "<del>", "<ins>", "get-contact</td>"} {
		if !strings.Contains(html.String(), want) {
			t.Errorf("HTML report lacks %q", want)
		}
	}
	for _, external := range []string{`src="http`, `href="http`, "@import", "<script src"} {
		if strings.Contains(html.String(), external) {
			t.Errorf("HTML report refers to an external asset (%s)", external)
		}
	}
	for _, want := range []string{"FAIL get-contact", "expected: \"abc\"", "actual:   \"zzz\"", "reproduce: curl -sS -X GET", "$GHLGATE_KEY", "scenarios"} {
		if !strings.Contains(sum.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, sum.String())
		}
	}
	for name, b := range map[string]*bytes.Buffer{"junit": &junit, "json": &js, "html": &html, "summary": &sum} {
		if strings.Contains(b.String(), "ghlgw_secret") {
			t.Errorf("%s report leaks the key", name)
		}
	}
}

func TestFailFastSkipsTheRest(t *testing.T) {
	srv := httptest.NewServer(deviant(`{}`, 500, false))
	defer srv.Close()
	a := mustScenario(t, getContactScenario)
	b := mustScenario(t, strings.Replace(getContactScenario, "name: get-contact", "name: get-contact-2", 1))
	rep, err := Run(context.Background(), Options{
		Target: srv.URL, Scenarios: []*Scenario{a, b}, Spec: testSpec(t), FailFast: true, Resolver: MapResolver{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Totals.Failed != 1 || rep.Totals.Skipped != 1 {
		t.Errorf("totals = %+v; want 1 failed, 1 skipped", rep.Totals)
	}
}

func TestStageOf(t *testing.T) {
	for in, want := range map[string]string{
		"http://h/staging": "staging", "http://h/sandbox/": "sandbox", "http://h": "production", "http://h/x": "other",
	} {
		if got := stageOf(in); got != want {
			t.Errorf("stageOf(%q) = %q; want %q", in, got, want)
		}
	}
}

func parseTestPath(s string) (*jsonpath.Path, error) { return jsonpath.Parse(s) }

func TestHTTPResolver(t *testing.T) {
	ip := startInProcess(t)
	want, ok := ip.env.Server.Mocks.Staging().LookupTestContact("alice-smith")
	if !ok {
		t.Fatal("seed has no alice-smith")
	}
	// A server without the gateway's admin endpoint: the mock alone.
	bare := httptest.NewServer(mocks.Standalone(ip.env.Server.Mocks.Sandbox("resolver-client")))
	t.Cleanup(bare.Close)
	tests := []struct {
		name, target, key string
	}{
		{"admin endpoint, staging", ip.staging(), ip.keys.Writer},
		{"admin endpoint, the key's own sandbox", ip.env.URL + "/sandbox", ip.keys.Vars["readonlyKey"]},
		{"list fallback", bare.URL, "any-token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewHTTPResolver(http.DefaultClient, tc.target, tc.key, nil)
			got, err := r.Resolve(context.Background(), "alice-smith")
			if err != nil || got != want {
				t.Errorf("Resolve(alice-smith) = %q, %v; want %q", got, err, want)
			}
			if _, err := r.Resolve(context.Background(), "nobody-at-all"); !errors.Is(err, ErrTestContactNotFound) {
				t.Errorf("Resolve(nobody-at-all) error = %v; want ErrTestContactNotFound", err)
			}
		})
	}
}

func TestLineProgress(t *testing.T) {
	var b bytes.Buffer
	p := NewProgress(&b)
	p.Start(2)
	p.Done(&ScenarioResult{Name: "a", Outcome: Passed})
	p.Done(&ScenarioResult{Name: "b", Outcome: Skipped, SkipReason: "why"})
	p.Finish()
	want := "[1/2] PASSED  a (0s)\n[2/2] SKIPPED b (0s): why\n"
	if got := b.String(); got != want {
		t.Errorf("progress = %q; want %q", got, want)
	}
}
