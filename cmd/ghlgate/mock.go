package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rankr/ghlgate/gateway"
	"github.com/rankr/ghlgate/gateway/config"
	"github.com/rankr/ghlgate/mocks"
	"github.com/rankr/ghlgate/openapi"
	"github.com/rankr/ghlgate/store"
)

func (a *app) mockCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "mock", Short: "Run the stateful GHL mock on its own"}
	var addr, seedDir string
	serve := &cobra.Command{
		Use:   "serve [--addr 127.0.0.1:4010] [--seed DIR]",
		Short: "Serve the GHL mock alone, as a GHL stand-in (any bearer token; Version header required)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			seed, err := mocks.DefaultSeed()
			if seedDir != "" {
				seed, err = mocks.LoadSeedDir(seedDir)
			}
			if err != nil {
				return err
			}
			spec, err := openapi.Default()
			if err != nil {
				return err
			}
			static, err := mocks.NewStaticResponder(spec.Doc)
			if err != nil {
				return err
			}
			log := slog.New(slog.NewJSONHandler(a.stderr, nil))
			reg := mocks.NewRegistry(mocks.RegistryOptions{Seed: seed, Static: static, Logger: log})
			mux := http.NewServeMux()
			mux.Handle("/_gateway/mock/", reg.AdminHandler())
			mux.Handle("/", mocks.Standalone(reg.Staging()))
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listen on %s: %w (choose another --addr)", addr, err)
			}
			fmt.Fprintf(a.stderr, "GHL mock serving on http://%s (seeded; any bearer token; send Version: 2021-07-28)\n", ln.Addr())
			srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
			go func() {
				<-cmd.Context().Done()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				srv.Shutdown(ctx) //nolint:errcheck
			}()
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	serve.Flags().StringVar(&addr, "addr", "127.0.0.1:4010", "address to listen on")
	serve.Flags().StringVar(&seedDir, "seed", "", "folder of seed YAML files (default: the embedded fixtures/seed)")
	cmd.AddCommand(serve)
	return cmd
}

// resetFlags say how to reach a running gateway.
type resetFlags struct {
	url string
	key string
}

func (f *resetFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.url, "url", "", "a running gateway (default: http:// + the configured listen address)")
	cmd.Flags().StringVar(&f.key, "key", "", "a key with scope gateway.admin (default: $GHLGATE_ADMIN_KEY)")
}

func (a *app) sandboxCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "sandbox", Short: "Manage per-client sandboxes"}
	var client string
	var rf resetFlags
	reset := &cobra.Command{
		Use:   "reset --client NAME",
		Short: "Put a client's sandbox back to the seed data",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if client == "" {
				return &exitError{code: 2, err: errors.New("--client is required: the key name whose sandbox to reset")}
			}
			return a.resetDataset(cmd.Context(), rf, "sandbox/"+client, func(r *mocks.Registry) error { return r.ResetSandbox(cmd.Context(), client) })
		},
	}
	reset.Flags().StringVar(&client, "client", "", "client (key) name")
	rf.add(reset)
	cmd.AddCommand(reset)
	return cmd
}

func (a *app) stagingCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "staging", Short: "Manage the shared staging dataset"}
	var rf resetFlags
	seed := &cobra.Command{
		Use:   "seed",
		Short: "Load the seed data into staging (replacing what is there)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.resetDataset(cmd.Context(), rf, "staging", func(r *mocks.Registry) error { return r.ResetStaging(cmd.Context()) })
		},
	}
	rf.add(seed)
	cmd.AddCommand(seed, a.cloneCmd())
	return cmd
}

// resetDataset resets through a running gateway's admin endpoint when one
// answers, so its memory and the store agree; otherwise it resets the
// dataset in the store directly, for the next start.
func (a *app) resetDataset(ctx context.Context, rf resetFlags, dataset string, offline func(*mocks.Registry) error) error {
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	url := rf.url
	if url == "" {
		url = "http://" + cfg.Listen
	}
	key := rf.key
	if key == "" {
		key = os.Getenv("GHLGATE_ADMIN_KEY")
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(url, "/")+"/_gateway/mock/"+dataset+"/reset", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err == nil {
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if resp.StatusCode != http.StatusOK {
			var p struct{ Detail, Title string }
			json.Unmarshal(body, &p) //nolint:errcheck
			return fmt.Errorf("the gateway at %s refused the reset (%d %s %s); pass --key with a key holding scope gateway.admin (ghlgate keys create --name ops --scopes gateway.admin)", url, resp.StatusCode, p.Title, p.Detail)
		}
		fmt.Fprintf(a.stderr, "reset %s on the running gateway at %s\n", dataset, url)
		return nil
	}
	// No gateway answers: reset in the store.
	return a.withStore(ctx, func(db *store.DB, cfg *config.Config) error {
		spec, err := gateway.LoadSpec(ctx, cfg)
		if err != nil {
			return err
		}
		reg, err := gateway.OpenMocks(ctx, cfg, db, spec, slog.New(slog.DiscardHandler), nil, nil)
		if err != nil {
			return err
		}
		if err := offline(reg); err != nil {
			return err
		}
		fmt.Fprintf(a.stderr, "reset %s in the store at %s (no gateway answered at %s)\n", dataset, db.Location, url)
		return nil
	})
}

func (a *app) cloneCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "clone --location ID [--limit N] [--mask-pii]",
		Short:  "Copy contacts with their tasks and notes from production into staging, as test data",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("staging clone is not available in this build")
		},
	}
}
