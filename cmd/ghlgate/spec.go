package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rankr/ghlgate/gateway"
	"github.com/rankr/ghlgate/openapi"
)

func (a *app) specCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "spec", Short: "Inspect OpenAPI descriptions of the GHL API"}
	var overlays []string
	lint := &cobra.Command{
		Use:   "lint FILE [--overlay F]...",
		Short: "Load a document as the gateway would: print its warnings and exit 0, or the error and exit 1",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := openapi.Lint(cmd.Context(), args[0], overlays, a.stdout); err != nil {
				return &exitError{code: 1, err: err, printed: true}
			}
			return nil
		},
	}
	lint.Flags().StringArrayVar(&overlays, "overlay", nil, "OpenAPI Overlay 1.0 file to apply (repeatable)")
	var specPath string
	ops := &cobra.Command{
		Use:   "ops",
		Short: "List every operation with its scopes (the operations catalog)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var (
				spec *openapi.Spec
				err  error
			)
			if specPath != "" {
				spec, err = openapi.Load(cmd.Context(), specPath, overlays...)
			} else {
				cfg, cerr := a.loadConfig()
				if cerr != nil {
					return cerr
				}
				spec, err = gateway.LoadSpec(cmd.Context(), cfg)
			}
			if err != nil {
				return err
			}
			spec.WriteOps(a.stdout)
			return nil
		},
	}
	ops.Flags().StringVar(&specPath, "spec", "", "document to list (default: the configured spec)")
	ops.Flags().StringArrayVar(&overlays, "overlay", nil, "overlay to apply with --spec (repeatable)")
	export := &cobra.Command{
		Use:   "export",
		Short: "Print the embedded GHL Contacts description (YAML)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprint(a.stdout, string(openapi.EmbeddedYAML()))
			return err
		},
	}
	cmd.AddCommand(lint, ops, export, a.specDiffCmd())
	return cmd
}
