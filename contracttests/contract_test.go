package contracttests

import (
	"context"
	"flag"
	"fmt"
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
	varsFlag     = map[string]string{}
)

func init() {
	flag.Func("var", "name=value for -target runs (repeatable), e.g. -var readonlyKey=ghlgw_...", func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return fmt.Errorf("want name=value, got %q", s)
		}
		varsFlag[k] = v
		return nil
	})
}

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
	opts := Options{Scenarios: scs, Spec: testSpec(t), Parallel: *parallelFlag, Tags: splitTags(*tagsFlag)}
	if *targetFlag != "" {
		opts.Target, opts.Key, opts.Vars = *targetFlag, *keyFlag, varsFlag
	} else {
		// The real gateway in process: each scenario runs in a sandbox of
		// its own, as a client of its own, with every gateway rule on.
		ip := startInProcess(t)
		opts = ip.options(t)
		opts.Scenarios, opts.Parallel, opts.Tags = scs, *parallelFlag, splitTags(*tagsFlag)
		opts.Isolate = ip.isolated(t)
		defer func() {
			if n := ip.production.Load(); n != 0 {
				t.Errorf("%d requests of the suite reached production GHL; want 0", n)
			}
		}()
	}
	rep, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	reportToTest(t, rep)
	if *targetFlag != "" {
		return
	}
	// In process every scenario must really run: a skip here would be a
	// gateway rule the library silently stopped checking.
	if rep.Totals.Skipped > 0 {
		t.Errorf("%d scenarios skipped in process; every one must run against the real gateway", rep.Totals.Skipped)
	}
	if *tagsFlag == "" && len(rep.Uncovered) > 0 {
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

func splitTags(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
