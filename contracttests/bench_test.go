package contracttests

import (
	"context"
	"testing"

	"github.com/rankr/ghlgate/fixtures/scenarios"
	"github.com/rankr/ghlgate/gateway/config"
)

// burstOnly is why gateway-rate-limited sits out runs on the shared
// staging: its burst spends a budget on purpose, and it is checked where it
// runs as a client of its own (TestContractSuite).
var burstOnly = map[string]string{"rate-limit": "spends a client budget on purpose; TestContractSuite runs it as a client of its own"}

// TestLibraryOnSharedStagingTwice runs the library against the real
// gateway's one shared staging dataset, in parallel, twice: scenarios must
// not collide with each other nor with their own earlier run (reruns are
// stable).
func TestLibraryOnSharedStagingTwice(t *testing.T) {
	scs, err := LoadScenarios(scenarios.FS)
	if err != nil {
		t.Fatal(err)
	}
	ip := startInProcess(t)
	for round := 1; round <= 2; round++ {
		opts := ip.options(t)
		opts.Scenarios, opts.Parallel, opts.SkipTags = scs, 8, burstOnly
		rep, err := Run(context.Background(), opts)
		if err != nil {
			t.Fatalf("round %d: Run: %v", round, err)
		}
		for _, s := range rep.Scenarios {
			if s.Outcome == Failed {
				msg, body := failureText(&s)
				t.Errorf("round %d: %s: %s\n%s", round, s.Name, msg, body)
			}
		}
		if want := len(scs) - 1; rep.Totals.Passed != want {
			t.Errorf("round %d: %d scenarios passed; want %d (%+v)", round, rep.Totals.Passed, want, rep.Totals)
		}
	}
}

// BenchmarkReplay measures steps replayed per second against the real
// gateway in process: authentication, scopes, locations, validation and
// mutation capture, each scenario in a sandbox of its own behind real
// sockets, every response also validated by the runner against the spec.
// Reported as steps/s. No budgets apply, and the mock's own webhooks (sent
// back to the gateway after each change, off the request path) are off:
// what is measured is the replay, not the webhook receiver. Mutations
// dominate: each one writes the sandbox's snapshot and the capture to
// SQLite.
func BenchmarkReplay(b *testing.B) {
	scs, err := LoadScenarios(scenarios.FS)
	if err != nil {
		b.Fatal(err)
	}
	ip := startInProcessWith(b, func(c *config.Config) {
		c.RateLimit.Default.Location = nil
		c.Webhooks.Mock.Enabled = false
	})
	opts := ip.options(b)
	opts.Scenarios, opts.Parallel, opts.SkipTags = scs, 8, burstOnly
	opts.Isolate = ip.isolated(b)
	steps := 0
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
