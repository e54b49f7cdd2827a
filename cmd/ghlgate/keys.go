package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rankr/ghlgate/gateway"
	"github.com/rankr/ghlgate/gateway/auth"
	"github.com/rankr/ghlgate/gateway/config"
	"github.com/rankr/ghlgate/store"
)

// withKeys opens the configured store and its key table for one command.
func (a *app) withKeys(ctx context.Context, fn func(*auth.Store, *config.Config) error) error {
	return a.withStore(ctx, func(db *store.DB, cfg *config.Config) error {
		keys, err := auth.NewStore(ctx, db, time.Now)
		if err != nil {
			return err
		}
		return fn(keys, cfg)
	})
}

// withStore opens the configured store for one command.
func (a *app) withStore(ctx context.Context, fn func(*store.DB, *config.Config) error) error {
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	db, err := gateway.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(db, cfg)
}

func (a *app) keysCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage Rankr's client keys"}
	var (
		name, lane         string
		scopeList, locList []string
		stageList          []string
		expires, grace     time.Duration
		format             string
	)
	create := &cobra.Command{
		Use:   "create --name N --scopes contacts.readonly[,contacts.write]",
		Short: "Create a client key and print it, alone, on stdout (it is shown only once)",
		Example: `  ghlgate keys create --name rankr-web --scopes contacts.readonly,contacts.write --locations ve9EPM428h8vShlRW1KT
  ghlgate keys create --name qa --scopes contacts.readonly,sandbox:contacts.write --stages staging,sandbox --expires 720h`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkKeyFlags(name, scopeList, stageList); err != nil {
				return err
			}
			return a.withKeys(cmd.Context(), func(keys *auth.Store, _ *config.Config) error {
				secret, _, err := keys.Create(cmd.Context(), auth.CreateRequest{
					Name: name, Scopes: scopeList, Locations: locList, Stages: stageList, Lane: lane, TTL: expires,
				})
				if err != nil {
					return err
				}
				fmt.Fprintln(a.stdout, secret)
				return nil
			})
		},
	}
	create.Flags().StringVar(&name, "name", "", "client name, shown in the audit trail (required)")
	create.Flags().StringSliceVar(&scopeList, "scopes", nil, "scopes, comma-separated; prefix one with a stage to grant it there only (sandbox:contacts.write)")
	create.Flags().StringSliceVar(&locList, "locations", nil, "GHL locationIds the client may touch (default: all)")
	create.Flags().StringSliceVar(&stageList, "stages", nil, "stages the client may call: production, staging, sandbox (default: all)")
	create.Flags().StringVar(&lane, "lane", "", "rate-limit lane, for example interactive or backfill")
	create.Flags().DurationVar(&expires, "expires", 0, "lifetime, for example 720h (default: no expiry)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List client keys (never the secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withKeys(cmd.Context(), func(keys *auth.Store, _ *config.Config) error {
				all, err := keys.List(cmd.Context())
				if err != nil {
					return err
				}
				if format == "json" {
					enc := json.NewEncoder(a.stdout)
					for _, k := range all {
						if err := enc.Encode(k); err != nil {
							return err
						}
					}
					return nil
				}
				tw := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tKEY\tSCOPES\tLOCATIONS\tSTAGES\tSTATE\tLAST USED")
				now := time.Now()
				for _, k := range all {
					state := "active"
					if err := k.Check(now); err != nil {
						state = strings.TrimPrefix(err.Error(), "client key ")
					} else if k.RevokedAt != nil {
						state = "retiring " + k.RevokedAt.Format(time.RFC3339)
					}
					used := "never"
					if k.LastUsed != nil {
						used = k.LastUsed.Format(time.RFC3339)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.Name, k.Hint, strings.Join(k.Scopes, ","),
						orDefault(strings.Join(k.Locations, ","), "all"), orDefault(strings.Join(k.Stages, ","), "all"), state, used)
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().StringVar(&format, "format", "table", "table or json")

	revoke := &cobra.Command{
		Use:   "revoke NAME",
		Short: "Revoke every key of a client at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withKeys(cmd.Context(), func(keys *auth.Store, _ *config.Config) error {
				if err := keys.Revoke(cmd.Context(), args[0]); err != nil {
					return err
				}
				fmt.Fprintf(a.stderr, "revoked %s (running gateways notice within 2 s)\n", args[0])
				return nil
			})
		},
	}
	rotate := &cobra.Command{
		Use:   "rotate NAME [--grace 24h]",
		Short: "Issue a new key for a client; the old one keeps working for the grace period",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withKeys(cmd.Context(), func(keys *auth.Store, _ *config.Config) error {
				secret, _, err := keys.Rotate(cmd.Context(), args[0], grace)
				if err != nil {
					return err
				}
				fmt.Fprintln(a.stdout, secret)
				return nil
			})
		},
	}
	rotate.Flags().DurationVar(&grace, "grace", 24*time.Hour, "how long the old key keeps working")
	cmd.AddCommand(create, list, revoke, rotate)
	return cmd
}

func checkKeyFlags(name string, scopes, stages []string) error {
	var problems []string
	if name == "" {
		problems = append(problems, "--name is required")
	}
	if len(scopes) == 0 {
		problems = append(problems, "--scopes is required (for example contacts.readonly,contacts.write)")
	}
	for _, s := range scopes {
		if st, _, ok := strings.Cut(s, ":"); ok && !slices.Contains(config.Stages, st) {
			problems = append(problems, fmt.Sprintf("--scopes %s: %s is not a stage (production, staging, sandbox)", s, st))
		}
	}
	for _, st := range stages {
		if !slices.Contains(config.Stages, st) {
			problems = append(problems, fmt.Sprintf("--stages %s: not a stage (production, staging, sandbox)", st))
		}
	}
	if len(problems) > 0 {
		return &exitError{code: 2, err: fmt.Errorf("%s", strings.Join(problems, "; "))}
	}
	return nil
}
