package main

import (
	"bytes"
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

// callRunning sends an admin request to a running gateway. answered is
// false when no gateway answers at the address, so the caller can act on
// the store itself.
func (a *app) callRunning(ctx context.Context, cfg *config.Config, rf resetFlags, path string, body []byte) (answered bool, out []byte, err error) {
	base := rf.url
	if base == "" {
		base = "http://" + cfg.Listen
	}
	key := rf.key
	if key == "" {
		key = os.Getenv("GHLGATE_ADMIN_KEY")
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(base, "/")+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Minute}).Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return false, nil, nil
		}
		return true, nil, err
	}
	defer resp.Body.Close()
	out, _ = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		var p struct{ Detail, Title string }
		json.Unmarshal(out, &p) //nolint:errcheck
		hint := ""
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			hint = "; pass --key with a key holding scope gateway.admin (ghlgate keys create --name ops --scopes gateway.admin)"
		}
		return true, out, fmt.Errorf("the gateway at %s refused (%d %s: %s)%s", base, resp.StatusCode, p.Title, p.Detail, hint)
	}
	return true, out, nil
}

// resetDataset resets through a running gateway's admin endpoint when one
// answers, so its memory and the store agree; otherwise it resets the
// dataset in the store directly, for the next start.
func (a *app) resetDataset(ctx context.Context, rf resetFlags, dataset string, offline func(*mocks.Registry) error) error {
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	answered, _, err := a.callRunning(ctx, cfg, rf, "/_gateway/mock/"+dataset+"/reset", nil)
	if answered {
		if err == nil {
			fmt.Fprintf(a.stderr, "reset %s on the running gateway\n", dataset)
		}
		return err
	}
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
		fmt.Fprintf(a.stderr, "reset %s in the store at %s (no gateway answered at %s)\n", dataset, db.Location, cfg.Listen)
		return nil
	})
}

func (a *app) cloneCmd() *cobra.Command {
	var (
		req gateway.CloneRequest
		rf  resetFlags
	)
	cmd := &cobra.Command{
		Use:   "clone --location ID [--limit N] [--mask-pii]",
		Short: "Copy contacts with their tasks and notes from production into staging, as test data",
		Long: `Copies contacts of one production location, with their tasks and notes, into the
staging dataset, every record marked testFlag: true. It uses ghlgate's own GHL credential and
stays inside the location's rate limits. --mask-pii replaces names, emails, phones and addresses
deterministically (keyed by $GHLGATE_MASK_SALT, or a salt kept in the data directory), so that
records that shared an email still share the masked one. It runs inside a running gateway when
one answers (so the served staging changes), otherwise on the store directly.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if req.Location == "" {
				return &exitError{code: 2, err: errors.New("--location is required: the production GHL locationId to copy")}
			}
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			body, _ := json.Marshal(req)
			answered, out, err := a.callRunning(cmd.Context(), cfg, rf, "/_gateway/staging/clone", body)
			if answered {
				if err == nil {
					fmt.Fprintln(a.stdout, string(out))
				}
				return err
			}
			s, err := gateway.Open(cmd.Context(), cfg, gateway.OpenOptions{Logger: newLogger(cfg, a.stderr), Getenv: os.Getenv})
			if err != nil {
				return err
			}
			defer s.Close()
			rep, err := s.CloneStaging(cmd.Context(), req, a.stderr)
			if err != nil {
				return err
			}
			return json.NewEncoder(a.stdout).Encode(rep)
		},
	}
	cmd.Flags().StringVar(&req.Location, "location", "", "production GHL locationId to copy")
	cmd.Flags().IntVar(&req.Limit, "limit", 0, "copy at most this many contacts (default: all)")
	cmd.Flags().BoolVar(&req.MaskPII, "mask-pii", false, "replace names, emails, phones and addresses deterministically")
	rf.add(cmd)
	return cmd
}
