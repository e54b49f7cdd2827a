// Command ghlgate is the gateway between Rankr and HighLevel's Contacts API.
// main only wires: it parses flags, loads and validates the configuration,
// builds what a subcommand needs from the packages, and runs it.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/rankr/ghlgate/gateway/config"
	"github.com/rankr/ghlgate/gateway/jsonlog"
)

// exitError carries a process exit code other than 1.
type exitError struct {
	code int
	err  error
	// printed is true when the command already told the user.
	printed bool
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if !ee.printed {
			fmt.Fprintln(stderr, "ghlgate:", err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "ghlgate:", err)
	return 1
}

// app holds what every subcommand shares.
type app struct {
	configPath string
	stdout     io.Writer
	stderr     io.Writer
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	a := &app{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "ghlgate",
		Short: "A validating, scope-enforcing gateway between Rankr and the HighLevel Contacts API",
		Long: `ghlgate sits between Rankr and HighLevel's Contacts API. It authenticates Rankr's
clients with keys of their own, enforces scopes and locations, validates every request and
answer against the OpenAPI description, serves a stateful GHL mock at /staging and /sandbox,
and records every access decision for security.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&a.configPath, "config", "", "YAML configuration file (default: embedded defaults, data in ./data)")
	root.AddCommand(a.serveCmd(), a.keysCmd(), a.auditCmd(), a.specCmd(), a.mockCmd(), a.sandboxCmd(), a.stagingCmd(), a.contractCmd(), a.eventsCmd(), a.benchCmd())
	return root
}

// loadConfig loads and validates the configuration, listing every problem.
func (a *app) loadConfig() (*config.Config, error) {
	cfg, err := config.Load(a.configPath, os.Getenv)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(jsonlog.NewHandler(w, opts))
}
