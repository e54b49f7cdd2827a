package contracttests

import (
	"context"
	"flag"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/rankr/ghlgate/fixtures/scenarios"
)

// go test ./contracttests -args -target=URL -key=KEY runs the library
// against a live target; with no target it runs against the mock in
// process (part of make test).
var (
	targetFlag   = flag.String("target", "", "base URL to run the scenario library against (default: an in-process mock)")
	keyFlag      = flag.String("key", "", "API key for -target")
	fixturesFlag = flag.String("fixtures", "", "scenario folder (default: the embedded fixtures/scenarios)")
	tagsFlag     = flag.String("tags", "", "comma-separated tags to run")
	parallelFlag = flag.Int("parallel", 4, "scenarios run at once")
)

func libraryFS() fs.FS {
	if *fixturesFlag != "" {
		return os.DirFS(*fixturesFlag)
	}
	return scenarios.FS
}

func TestContractSuite(t *testing.T) {
	scs, err := LoadScenarios(libraryFS())
	if err != nil {
		t.Fatalf("fixtures refused before the run:\n%v", err)
	}
	opts := Options{Scenarios: scs, Spec: testSpec(t), Parallel: *parallelFlag}
	if *tagsFlag != "" {
		opts.Tags = strings.Split(*tagsFlag, ",")
	}
	if *targetFlag != "" {
		opts.Target, opts.Key = *targetFlag, *keyFlag
	} else {
		ip := startInProcess(t)
		opts.Target, opts.Key = ip.URL+"/staging", "ghlgw_test_inprocess"
		opts.Isolate = ip
		opts.Resolver = ip.resolver()
		opts.SkipTags = map[string]string{"gateway": gatewayOnly}
	}
	rep, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	reportToTest(t, rep)
	if *targetFlag == "" && *tagsFlag == "" && len(rep.Uncovered) > 0 {
		t.Errorf("operations of the spec no scenario calls: %v", rep.Uncovered)
	}
}

// reportToTest turns each scenario into a subtest: a failure shows what
// the summary shows, a skip its reason.
func reportToTest(t *testing.T, rep *Report) {
	t.Helper()
	for i := range rep.Scenarios {
		s := &rep.Scenarios[i]
		t.Run(s.Name, func(t *testing.T) {
			switch s.Outcome {
			case Skipped:
				t.Skip(s.SkipReason)
			case Failed:
				msg, body := failureText(s)
				t.Errorf("%s (%s)\n%s", msg, s.File, body)
			}
		})
	}
	t.Logf("%d scenarios, %d steps, %.0f steps/s", rep.Totals.Scenarios, rep.Totals.Steps, rep.Totals.StepsPerSecond)
}
