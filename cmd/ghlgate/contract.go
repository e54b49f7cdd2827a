package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rankr/ghlgate/contracttests"
	"github.com/rankr/ghlgate/fixtures/scenarios"
	"github.com/rankr/ghlgate/gateway"
	"github.com/rankr/ghlgate/openapi"
)

// usageErrors makes cobra's flag errors exit 2, like the suite's own usage
// errors.
func usageErrors(cmd *cobra.Command) {
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitError{code: 2, err: err}
	})
}

// usageArgs is cobra.ExactArgs(n) with exit code 2.
func usageArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return &exitError{code: 2, err: fmt.Errorf("%s: %w", cmd.CommandPath(), err)}
		}
		return nil
	}
}

func (a *app) contractCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "contract", Short: "Run the contract suite against a gateway, or record fixtures"}
	cmd.AddCommand(a.contractRunCmd(), a.contractRecordCmd())
	usageErrors(cmd)
	return cmd
}

// scenarioFS is --fixtures, or the library embedded in the binary.
func scenarioFS(dir string) fs.FS {
	if dir == "" {
		return scenarios.FS
	}
	return os.DirFS(dir)
}

func (a *app) contractRunCmd() *cobra.Command {
	var (
		target, key, fixtures, specPath, specMode string
		junit, jsonOut, htmlOut                   string
		tags, vars                                []string
		parallel                                  int
		failFast, quiet                           bool
		stepTimeout                               time.Duration
	)
	cmd := &cobra.Command{
		Use:   "run --target URL --key KEY",
		Short: "Replay the scenario library against a target; exit 0 all passed, 1 a failure, 2 usage, fixture or connection error",
		Example: `  ghlgate contract run --target http://127.0.0.1:8080/staging --key "$KEY" \
      --var readonlyKey="$RO" --var dentalOnlyKey="$DENTAL" --var productionOnlyKey="$PROD" --var rateLimitKey="$RL" \
      --junit contract.xml --html contract.html`,
		Args: usageArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if key == "" {
				key = os.Getenv("GHLGATE_KEY")
			}
			opts := contracttests.Options{
				Target: target, Key: key, Parallel: parallel, FailFast: failFast, StepTimeout: stepTimeout,
				Tags: splitList(tags), Vars: map[string]string{},
			}
			var probs []string
			for _, v := range vars {
				k, val, ok := strings.Cut(v, "=")
				if !ok || k == "" {
					probs = append(probs, fmt.Sprintf("--var %q: want name=value", v))
					continue
				}
				opts.Vars[k] = val
			}
			mode, err := contracttests.ParseSpecMode(specMode)
			if err != nil {
				probs = append(probs, err.Error())
			}
			opts.SpecMode = mode
			if len(probs) > 0 {
				return &exitError{code: 2, err: errors.New(strings.Join(probs, "; "))}
			}
			spec, err := a.contractSpec(cmd.Context(), specPath)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			opts.Spec = spec
			scs, err := contracttests.LoadScenarios(scenarioFS(fixtures))
			if err != nil {
				return &exitError{code: 2, err: fmt.Errorf("fixtures refused before the run:\n%w", err)}
			}
			opts.Scenarios = scs
			if !quiet {
				opts.Progress = contracttests.NewProgress(a.stderr)
			}
			rep, err := contracttests.Run(cmd.Context(), opts)
			if err != nil {
				return &exitError{code: contracttests.ExitCode(nil, err), err: err}
			}
			if err := contracttests.WriteSummary(a.stdout, rep); err != nil {
				return err
			}
			for _, out := range []struct {
				path  string
				write func(io.Writer, *contracttests.Report) error
			}{{junit, contracttests.WriteJUnit}, {jsonOut, contracttests.WriteJSON}, {htmlOut, contracttests.WriteHTML}} {
				if out.path == "" {
					continue
				}
				if err := writeReport(out.path, rep, out.write); err != nil {
					return &exitError{code: 2, err: err}
				}
			}
			if code := contracttests.ExitCode(rep, nil); code != 0 {
				return &exitError{code: code, err: fmt.Errorf("%d of %d scenarios failed", rep.Totals.Failed, rep.Totals.Scenarios), printed: true}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&target, "target", "", "base URL: a gateway's /staging or /sandbox, or any GHL-compatible server (required)")
	f.StringVar(&key, "key", "", "client key sent as Authorization: Bearer (default $GHLGATE_KEY)")
	f.StringVar(&fixtures, "fixtures", "", "scenario folder (default: the library built into ghlgate)")
	f.StringSliceVar(&tags, "tags", nil, "run only scenarios with one of these tags (comma-separated)")
	f.IntVar(&parallel, "parallel", 4, "scenarios run at once")
	f.BoolVar(&failFast, "fail-fast", false, "start no scenario after the first failure")
	f.StringVar(&junit, "junit", "", "write a JUnit XML report to FILE")
	f.StringVar(&jsonOut, "json", "", "write a JSON report to FILE")
	f.StringVar(&htmlOut, "html", "", "write an HTML report to FILE")
	f.StringArrayVar(&vars, "var", nil, "name=value for a scenario variable (repeatable), e.g. --var readonlyKey=ghlgw_...")
	f.StringVar(&specPath, "spec", "", "OpenAPI document responses are checked against (default: the configured spec)")
	f.StringVar(&specMode, "spec-mode", "enforce", "enforce, warn or off: what a response that breaks the spec does")
	f.DurationVar(&stepTimeout, "step-timeout", 30*time.Second, "longest wait for one response")
	f.BoolVar(&quiet, "quiet", false, "no progress lines on stderr")
	usageErrors(cmd)
	return cmd
}

// contractSpec is --spec, the configured spec when --config is given, or
// the embedded one.
func (a *app) contractSpec(ctx context.Context, path string) (*openapi.Spec, error) {
	if path != "" {
		return openapi.Load(ctx, path)
	}
	if a.configPath == "" {
		return nil, nil // Run uses openapi.Default()
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, err
	}
	return gateway.LoadSpec(ctx, cfg)
}

func writeReport(path string, rep *contracttests.Report, write func(io.Writer, *contracttests.Report) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := write(f, rep); err != nil {
		f.Close()
		return fmt.Errorf("write report %s: %w", path, err)
	}
	return f.Close()
}

func splitList(in []string) []string {
	var out []string
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (a *app) contractRecordCmd() *cobra.Command {
	var (
		listen, target, outDir, name, desc string
		tags                               []string
		max                                int
	)
	cmd := &cobra.Command{
		Use:   "record --listen ADDR --target URL --out DIR",
		Short: "Proxy to a target and, when stopped (Ctrl-C), write what passed through as one scenario file",
		Long: `record listens on ADDR and forwards every request to --target (a gateway's /staging, say),
keeping each exchange. Point a client at http://ADDR/contacts/... as it would call the target.
On Ctrl-C (or SIGTERM) it writes one scenario to --out: ids and dates become captures and
matchers, keys and PII are redacted, and the file is named by its content.`,
		Example: `  ghlgate contract record --listen 127.0.0.1:8099 --target http://127.0.0.1:8080/staging --out fixtures/scenarios --name my-flow`,
		Args:    usageArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var probs []string
			if listen == "" {
				probs = append(probs, "--listen is required (for example 127.0.0.1:8099)")
			}
			if outDir == "" {
				probs = append(probs, "--out is required (a folder for the scenario file)")
			}
			rec, err := contracttests.NewRecordingProxy(target, max)
			if err != nil {
				probs = append(probs, err.Error())
			}
			if len(probs) > 0 {
				return &exitError{code: 2, err: errors.New(strings.Join(probs, "; "))}
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return &exitError{code: 2, err: fmt.Errorf("listen on %s: %w", listen, err)}
			}
			srv := &http.Server{Handler: rec, ReadHeaderTimeout: 10 * time.Second}
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			fmt.Fprintf(a.stderr, "recording: http://%s → %s (Ctrl-C to stop and write the scenario)\n", ln.Addr(), target)
			select {
			case err := <-errc:
				return err
			case <-cmd.Context().Done():
			}
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
			f, err := contracttests.Record(rec.Take(), contracttests.RecordOptions{Name: name, Description: desc, Tags: splitList(tags)})
			if errors.Is(err, contracttests.ErrNothingRecorded) {
				return &exitError{code: 1, err: errors.New("nothing passed through the proxy; no scenario written")}
			}
			if err != nil {
				return err
			}
			if err := os.MkdirAll(outDir, 0o755); err != nil {
				return err
			}
			path := filepath.Join(outDir, f.Name)
			if err := os.WriteFile(path, f.Data, 0o644); err != nil {
				return fmt.Errorf("write scenario: %w", err)
			}
			fmt.Fprintln(a.stdout, path)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:8099", "address the recording proxy listens on")
	f.StringVar(&target, "target", "", "base URL requests are forwarded to (required)")
	f.StringVar(&outDir, "out", "", "folder the scenario file is written to (required)")
	f.StringVar(&name, "name", "recorded", "scenario name (kebab-case)")
	f.StringVar(&desc, "description", "", "scenario description")
	f.StringSliceVar(&tags, "tags", nil, "scenario tags (default: recorded)")
	f.IntVar(&max, "max", 1000, "most exchanges kept")
	usageErrors(cmd)
	return cmd
}
