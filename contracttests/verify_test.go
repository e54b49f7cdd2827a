package contracttests

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rankr/ghlgate/gateway/gatewaytest"
)

func TestVerifyOnStart(t *testing.T) {
	wrong, errs := ParseScenario("wrong.yaml", []byte(`name: wrong-status
description: Expects a status the gateway never gives.
tags: [broken]
testFlag: true
testContactIds: [alice-smith]
steps:
  - name: read
    request: {method: GET, path: "/contacts/${testContact:alice-smith}"}
    expect: {status: 418}
`))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	env := gatewaytest.Start(t, gatewaytest.Options{Configure: suiteRateLimits})
	tests := []struct {
		name      string
		base      string
		scenarios []*Scenario
		wantErr   error // nil, ErrVerifyFailed, or a *ConnectionError
		outcome   string
	}{
		{"the library passes", env.URL, nil, nil, RunPassed},
		{"a failing scenario", env.URL, []*Scenario{wrong}, ErrVerifyFailed, RunFailed},
		{"no gateway there", "http://127.0.0.1:1", nil, &ConnectionError{}, RunError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			runs := NewRuns(0)
			rep, err := VerifyOnStart(context.Background(), tc.base, env.Server.Keys, VerifyOptions{Scenarios: tc.scenarios, Spec: testSpec(t), Runs: runs})
			var ce *ConnectionError
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("VerifyOnStart() error = %v; want nil", err)
			case errors.Is(tc.wantErr, ErrVerifyFailed) && !errors.Is(err, ErrVerifyFailed):
				t.Fatalf("VerifyOnStart() error = %v; want ErrVerifyFailed", err)
			case errors.As(tc.wantErr, &ce) && !errors.As(err, &ce):
				t.Fatalf("VerifyOnStart() error = %v; want a *ConnectionError", err)
			}
			if (rep == nil) != (tc.outcome == RunError) {
				t.Errorf("VerifyOnStart() report = %v; want one unless the run could not start", rep)
			}
			if rep != nil && tc.scenarios == nil && (rep.Totals.Passed != len(mustLibrary(t))-1 || rep.Totals.Skipped != 1) {
				t.Errorf("totals = %+v; want every scenario but the rate-limit one passed", rep.Totals)
			}
			list := runs.List()
			if len(list) != 1 || list[0].Outcome != tc.outcome {
				t.Fatalf("Runs.List() = %+v; want one run, %s", list, tc.outcome)
			}
			if tc.outcome == RunFailed && (len(list[0].Failures) != 1 || !strings.Contains(list[0].Failures[0].Message, "418")) {
				t.Errorf("failures = %+v; want wrong-status expecting 418", list[0].Failures)
			}
		})
	}
	// Every key the runs made is revoked.
	all, err := env.Server.Keys.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	made := 0
	for _, k := range all {
		if !strings.HasPrefix(k.Name, "verify-") {
			continue
		}
		made++
		if k.Check(time.Now()) == nil {
			t.Errorf("key %s still usable after VerifyOnStart", k.Name)
		}
	}
	if made == 0 {
		t.Error("VerifyOnStart made no keys; want the suite's and one per scenario")
	}
}

// TestVerifyOnStartAtDefaultBudgets: serve --verify-on-start runs on the
// gateway's own configuration, GHL's default budgets included (100 per
// 10 s per location, learnt from the mock too). The library without its
// rate-limit burst must fit in them; when it grows past them, this fails
// before a gateway stays unready in production.
func TestVerifyOnStartAtDefaultBudgets(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	rep, err := VerifyOnStart(context.Background(), env.URL, env.Server.Keys, VerifyOptions{Spec: testSpec(t)})
	if err != nil {
		if rep != nil {
			for _, s := range rep.Scenarios {
				if s.Outcome == Failed {
					msg, _ := failureText(&s)
					t.Errorf("%s: %s", s.Name, msg)
				}
			}
		}
		t.Fatalf("VerifyOnStart at default budgets: %v", err)
	}
	t.Logf("%d steps at default budgets", rep.Totals.Steps)
}

func mustLibrary(t *testing.T) []*Scenario {
	t.Helper()
	scs, err := LoadScenarios(libraryFS())
	if err != nil {
		t.Fatal(err)
	}
	return scs
}

func TestRunsHandler(t *testing.T) {
	runs := NewRuns(2)
	for i := range 3 {
		rep := &Report{Target: "http://gw/sandbox", Totals: Totals{Scenarios: 1, Passed: 1, Duration: time.Duration(i+1) * time.Millisecond}}
		runs.Add("verify-on-start", rep, nil)
	}
	runs.Add("verify-on-start", nil, errors.New("cannot reach target"))
	srv := httptest.NewServer(runs)
	defer srv.Close()
	tests := []struct {
		method string
		status int
	}{{http.MethodGet, 200}, {http.MethodPost, 405}}
	for _, tc := range tests {
		req, _ := http.NewRequest(tc.method, srv.URL, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Runs []RunRecord }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s status = %d; want %d", tc.method, resp.StatusCode, tc.status)
		}
		if tc.method != http.MethodGet {
			continue
		}
		var got []string
		for _, r := range body.Runs {
			got = append(got, r.ID+":"+r.Outcome)
		}
		if want := "4:error 3:passed"; strings.Join(got, " ") != want {
			t.Errorf("runs = %v; want %s (newest first, at most 2)", got, want)
		}
	}
}
