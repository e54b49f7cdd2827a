package contracttests

import (
	"context"
	"testing"

	"github.com/rankr/ghlgate/fixtures/scenarios"
)

// TestLibraryOnSharedStagingTwice runs the library against one shared
// staging dataset, in parallel, twice: scenarios must not collide with
// each other nor with their own earlier run (reruns are stable).
func TestLibraryOnSharedStagingTwice(t *testing.T) {
	scs, err := LoadScenarios(scenarios.FS)
	if err != nil {
		t.Fatal(err)
	}
	ip := startInProcess(t)
	for round := 1; round <= 2; round++ {
		rep, err := Run(context.Background(), Options{
			Target: ip.URL + "/staging", Key: "ghlgw_test_shared", Scenarios: scs, Spec: testSpec(t),
			Parallel: 8, SkipTags: map[string]string{"gateway": gatewayOnly},
		})
		if err != nil {
			t.Fatalf("round %d: Run: %v", round, err)
		}
		if rep.Failed() {
			for _, s := range rep.Scenarios {
				if s.Outcome == Failed {
					msg, _ := failureText(&s)
					t.Errorf("round %d: %s: %s", round, s.Name, msg)
				}
			}
		}
		if rep.Totals.Passed == 0 {
			t.Fatalf("round %d: nothing passed: %+v", round, rep.Totals)
		}
	}
}

// BenchmarkReplay measures steps replayed per second against the
// in-process staging (mock behind real sockets, every response validated
// against the spec). Reported as steps/s.
func BenchmarkReplay(b *testing.B) {
	scs, err := LoadScenarios(scenarios.FS)
	if err != nil {
		b.Fatal(err)
	}
	ip := startInProcess(b)
	opts := Options{
		Target: ip.URL + "/staging", Key: "ghlgw_bench", Scenarios: scs, Spec: testSpec(b),
		Parallel: 4, SkipTags: map[string]string{"gateway": gatewayOnly}, Resolver: ip.resolver(),
	}
	steps := 0
	b.ResetTimer()
	for b.Loop() {
		rep, err := Run(context.Background(), opts)
		if err != nil {
			b.Fatal(err)
		}
		if rep.Failed() {
			for _, s := range rep.Scenarios {
				if s.Outcome == Failed {
					msg, _ := failureText(&s)
					b.Errorf("%s: %s", s.Name, msg)
				}
			}
			b.FailNow()
		}
		steps += rep.Totals.StepsPassed + rep.Totals.StepsFailed
	}
	b.ReportMetric(float64(steps)/b.Elapsed().Seconds(), "steps/s")
}
