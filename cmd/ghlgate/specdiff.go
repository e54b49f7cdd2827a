package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rankr/ghlgate/contracttests"
	"github.com/rankr/ghlgate/gateway/auth"
	"github.com/rankr/ghlgate/gateway/config"
	"github.com/rankr/ghlgate/openapi"
)

// specDiffCmd is `ghlgate spec diff OLD NEW`: registered under specCmd.
func (a *app) specDiffCmd() *cobra.Command {
	var (
		fixtures string
		noKeys   bool
	)
	cmd := &cobra.Command{
		Use:   "diff OLD NEW [--fixtures DIR]",
		Short: "Compare two versions of the API description against the fixtures and the keys' scopes; exit 1 when a change breaks one",
		Long: `diff lists what changed from OLD to NEW: removed or added operations, parameters, new required
body fields and changed scopes. A change is breaking (marked !) when a scenario of the library
calls the operation it breaks, or a live key of the configured store loses an operation it
could call. Exit 0 when nothing breaks, 1 when something does, 2 on a usage or load error.`,
		Args: usageArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			old, err := openapi.Load(ctx, args[0])
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			cur, err := openapi.Load(ctx, args[1])
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			scs, err := contracttests.LoadScenarios(scenarioFS(fixtures))
			if err != nil {
				return &exitError{code: 2, err: fmt.Errorf("fixtures refused:\n%w", err)}
			}
			var keys map[string][]string
			if !noKeys {
				if keys, err = a.keyScopes(ctx); err != nil {
					return &exitError{code: 2, err: fmt.Errorf("read the keys' scopes (--no-keys skips them): %w", err)}
				}
			}
			d, err := contracttests.SpecDiff(old, cur, scs, keys)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			if len(d.Changes) == 0 {
				fmt.Fprintln(a.stdout, "no differences in operations, parameters, required fields or scopes")
				return nil
			}
			fmt.Fprint(a.stdout, d.String())
			if d.Breaking() {
				n := 0
				for _, c := range d.Changes {
					if c.Breaking {
						n++
					}
				}
				return &exitError{code: 1, err: fmt.Errorf("%d breaking change(s) (marked !)", n)}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&fixtures, "fixtures", "", "scenario folder (default: the library built into ghlgate)")
	cmd.Flags().BoolVar(&noKeys, "no-keys", false, "do not read the keys of the configured store")
	usageErrors(cmd)
	return cmd
}

// keyScopes reads the live keys of the configured store: name → scopes.
// A key whose scopes differ per stage appears once per stage it may call,
// as name@stage.
func (a *app) keyScopes(ctx context.Context) (map[string][]string, error) {
	out := map[string][]string{}
	err := a.withKeys(ctx, func(keys *auth.Store, _ *config.Config) error {
		all, err := keys.List(ctx)
		if err != nil {
			return err
		}
		now := time.Now()
		for _, k := range all {
			if k.Check(now) != nil {
				continue
			}
			perStage := slices.ContainsFunc(k.Scopes, func(s string) bool { return strings.Contains(s, ":") })
			if !perStage {
				out[k.Name] = k.ScopesFor(config.StageProduction)
				continue
			}
			for _, st := range config.Stages {
				if k.AllowsStage(st) {
					out[k.Name+"@"+st] = k.ScopesFor(st)
				}
			}
		}
		return nil
	})
	return out, err
}
