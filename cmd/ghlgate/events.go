package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/rankr/ghlgate/events"
	"github.com/rankr/ghlgate/gateway"
	"github.com/rankr/ghlgate/gateway/config"
	"github.com/rankr/ghlgate/store"
)

func (a *app) eventsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "events", Short: "Read, follow and redeliver the sync events"}
	var (
		after  string
		o      events.Opts
		follow bool
	)
	addFlags := func(c *cobra.Command, limitHelp string) {
		c.Flags().StringVar(&after, "after", "", "start after this cursor (an event's seq)")
		c.Flags().IntVar(&o.Limit, "limit", 100, limitHelp)
		c.Flags().StringSliceVar(&o.Types, "type", nil, "event types, comma-separated; contact.* matches a prefix")
		c.Flags().StringVar(&o.Format, "format", "table", "table or json (one event per line)")
		c.Flags().BoolVar(&follow, "follow", false, "keep printing new events until interrupted")
	}
	runList := func(tail bool) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, _ []string) error {
			cur, err := events.ParseCursor(after)
			if err != nil {
				return &exitError{code: 2, err: fmt.Errorf("--after: %w", err)}
			}
			if o.Format != "json" && o.Format != "table" {
				return &exitError{code: 2, err: fmt.Errorf("--format %q: want json or table", o.Format)}
			}
			opts := o
			opts.After, opts.Tail, opts.Follow = cur, tail, follow
			return a.withEvents(cmd, func(st *events.SQLStore, _ *config.Config) error {
				return events.ListCommand(cmd.Context(), st, a.stdout, opts)
			})
		}
	}
	list := &cobra.Command{Use: "list", Short: "Print events oldest first", Args: cobra.NoArgs, RunE: runList(false)}
	addFlags(list, "at most this many events")
	tail := &cobra.Command{Use: "tail", Short: "Print the newest events (and follow with --follow)", Args: cobra.NoArgs, RunE: runList(true)}
	addFlags(tail, "how many of the newest events")

	var (
		sub          string
		from, to     int64
		dead, listDL bool
	)
	redeliver := &cobra.Command{
		Use:   "redeliver [--subscriber N] (--dead | --from SEQ [--to SEQ])",
		Short: "Queue events again for push delivery: a range, or the dead letters",
		Example: `  ghlgate events redeliver --dead
  ghlgate events redeliver --subscriber rankr --from 1200 --to 1300
  ghlgate events redeliver --dead --list`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !dead && from == 0 && !listDL {
				return &exitError{code: 2, err: errors.New("say what to redeliver: --dead, or --from SEQ [--to SEQ]")}
			}
			return a.withEvents(cmd, func(st *events.SQLStore, cfg *config.Config) error {
				subs, err := gateway.Subscribers(cfg, os.Getenv)
				if err != nil {
					return err
				}
				if len(subs) == 0 {
					return errors.New("no subscribers are configured (events.subscribers); nothing to redeliver to")
				}
				d, err := events.NewDeliverer(st, subs, events.Options{})
				if err != nil {
					return err
				}
				if listDL {
					dls, err := d.DeadLetters(cmd.Context(), sub, 1000)
					if err != nil {
						return err
					}
					enc := json.NewEncoder(a.stdout)
					for _, dl := range dls {
						if err := enc.Encode(dl); err != nil {
							return err
						}
					}
					return nil
				}
				n, err := d.Redeliver(cmd.Context(), events.RedeliverRequest{Subscriber: sub, From: from, To: to, DeadOnly: dead}, time.Now())
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stderr, "queued %d deliveries; the running gateway sends them on its next pass\n", n)
				return nil
			})
		},
	}
	redeliver.Flags().StringVar(&sub, "subscriber", "", "one subscriber (default: all)")
	redeliver.Flags().Int64Var(&from, "from", 0, "first event seq")
	redeliver.Flags().Int64Var(&to, "to", 0, "last event seq (default: no bound)")
	redeliver.Flags().BoolVar(&dead, "dead", false, "only dead letters")
	redeliver.Flags().BoolVar(&listDL, "list", false, "with --dead: list the dead letters instead of queueing them")
	cmd.AddCommand(list, tail, redeliver)
	return cmd
}

// withEvents opens the configured store's event tables for one command.
func (a *app) withEvents(cmd *cobra.Command, fn func(*events.SQLStore, *config.Config) error) error {
	return a.withStore(cmd.Context(), func(db *store.DB, cfg *config.Config) error {
		st, err := events.NewStore(cmd.Context(), db, events.StoreOptions{})
		if err != nil {
			return err
		}
		defer st.Close()
		return fn(st, cfg)
	})
}
