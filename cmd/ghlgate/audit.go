package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/rankr/ghlgate/gateway/audit"
	"github.com/rankr/ghlgate/gateway/config"
	"github.com/rankr/ghlgate/store"
)

func (a *app) auditCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Read the audit trail of access decisions"}
	var (
		q            audit.Query
		since, until string
		format       string
	)
	query := &cobra.Command{
		Use:     "query",
		Short:   "Print audit records, oldest first (JSON lines by default)",
		Example: "  ghlgate audit query --decision deny --since 1h\n  ghlgate audit query --client rankr-web --operation update-contact --format table",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := time.Now()
			var err error
			if q.Since, err = parseWhen(since, now); err != nil {
				return &exitError{code: 2, err: fmt.Errorf("--since: %w", err)}
			}
			if q.Until, err = parseWhen(until, now); err != nil {
				return &exitError{code: 2, err: fmt.Errorf("--until: %w", err)}
			}
			if format != "json" && format != "table" {
				return &exitError{code: 2, err: fmt.Errorf("--format %q: want json or table", format)}
			}
			return a.withStore(cmd.Context(), func(db *store.DB, _ *config.Config) error {
				recs, err := audit.Search(cmd.Context(), db, q)
				if err != nil {
					return err
				}
				if format == "table" {
					return audit.WriteTable(a.stdout, recs)
				}
				enc := json.NewEncoder(a.stdout)
				for _, r := range recs {
					if err := enc.Encode(r); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
	f := query.Flags()
	f.StringVar(&q.Decision, "decision", "", "allow or deny")
	f.StringVar(&q.Client, "client", "", "client name")
	f.StringVar(&q.Operation, "operation", "", "operationId, for example update-contact")
	f.StringVar(&q.Reason, "reason", "", "reason code, for example scope_missing")
	f.StringVar(&since, "since", "", "a duration back from now (1h) or an RFC 3339 time")
	f.StringVar(&until, "until", "", "a duration back from now or an RFC 3339 time")
	f.IntVar(&q.Limit, "limit", 0, "at most this many records")
	f.StringVar(&format, "format", "json", "json (one record per line) or table")
	cmd.AddCommand(query)
	return cmd
}

// parseWhen reads "1h" as an hour ago, or an RFC 3339 time.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a duration (1h, 30m) nor an RFC 3339 time (2026-11-27T09:00:00Z)", s)
	}
	return t, nil
}
