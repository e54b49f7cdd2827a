package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/rankr/ghlgate/contracttests"
	"github.com/rankr/ghlgate/gateway"
	"github.com/rankr/ghlgate/gateway/config"
)

func (a *app) serveCmd() *cobra.Command {
	var checkOnly, verify bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the gateway",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			if checkOnly {
				// Load the spec too: a config naming a broken spec is broken.
				spec, err := gateway.LoadSpec(cmd.Context(), cfg)
				if err != nil {
					return err
				}
				if _, err := gateway.MockFaults(cfg); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "configuration OK (%s; spec %s: %d operations, %d warnings)\n",
					orDefault(cfg.Path(), "embedded defaults"), spec.Source, len(spec.Operations), len(spec.Warnings))
				return nil
			}
			return a.serve(cmd.Context(), cfg, verify)
		},
	}
	cmd.Flags().BoolVar(&checkOnly, "check-config", false, "validate the configuration and the spec, then exit 0 or 1")
	cmd.Flags().BoolVar(&verify, "verify-on-start", false, "run the contract suite against this gateway's own sandbox before reporting ready (/readyz stays 503 if it fails)")
	return cmd
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func (a *app) serve(ctx context.Context, cfg *config.Config, verify bool) error {
	log := newLogger(cfg, a.stderr)
	runs := contracttests.NewRuns(20)
	s, err := gateway.Open(ctx, cfg, gateway.OpenOptions{Logger: log, Getenv: os.Getenv, ContractRuns: runs})
	if err != nil {
		return err
	}
	defer s.Close()
	if verify {
		s.SetReady(false, "the contract suite is running against this gateway (--verify-on-start)")
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another ghlgate running? set listen or GHLGATE_LISTEN)", cfg.Listen, err)
	}
	srv := &http.Server{
		Handler:           s.Handler(),
		ConnState:         s.TrackConn,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	base := "http://" + ln.Addr().String()
	log.Info("ghlgate listening", "addr", ln.Addr().String(), "spec", s.Spec.Source,
		"operations", len(s.Spec.Operations), "store", s.DB.Location, "credential", s.Credential().Kind())
	fmt.Fprintf(a.stderr, `
ghlgate is serving on %[1]s
  staging (seeded mock):  %[1]s/staging/contacts/...
  sandbox (per client):   %[1]s/sandbox/contacts/...
  production (GHL):       %[1]s/contacts/...   (credential: %[2]s)
Create a key:  ghlgate keys create --name me --scopes contacts.readonly,contacts.write --stages staging,sandbox%[3]s
Then:          curl -H "Authorization: Bearer $KEY" "%[1]s/staging/contacts/?locationId=ve9EPM428h8vShlRW1KT&limit=5"

`, base, s.Credential().Kind(), configFlag(a.configPath))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if verify {
		go func() {
			rep, err := contracttests.VerifyOnStart(ctx, base, s.Keys, contracttests.VerifyOptions{Spec: s.Spec, Runs: runs, Logger: log})
			if err != nil {
				log.Error("contract suite failed at start; /readyz stays 503 (details at /_gateway/contract-runs)", "err", err)
				s.SetReady(false, "the contract suite failed at start: "+err.Error())
				return
			}
			log.Info("contract suite passed at start; ready", "scenarios", len(rep.Scenarios))
			s.SetReady(true, "")
		}()
	}
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

func configFlag(p string) string {
	if p == "" {
		return ""
	}
	return " --config " + p
}
