package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// contractCmd is replaced by the contract suite's commands.
func (a *app) contractCmd() *cobra.Command {
	return &cobra.Command{Use: "contract", Short: "Contract suite", Hidden: true,
		RunE: func(*cobra.Command, []string) error { return errors.New("not wired yet") }}
}
