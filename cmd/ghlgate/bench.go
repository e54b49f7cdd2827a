package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/rankr/ghlgate/bench"
)

func (a *app) benchCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "bench [flags]",
		Short: "Measure ghlgate's overhead against a bare reverse proxy, on loopback (make bench)",
		Long: `Starts a fake GHL, a bare httputil.ReverseProxy and ghlgate with its full production
pipeline, drives the same closed-loop load against each (concurrency 1, 16, 64), and prints
requests/s, p50/p99/p99.9 latency, the ghlgate/bare ratios, the gateway's peak RSS at 1,000
keep-alive connections and the time to load the official spec; writes bench/results/latest.json.
Run "ghlgate bench -h" for its flags.`,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if code := bench.Main(args, a.stdout, a.stderr); code != 0 {
				return &exitError{code: code, err: errBenchFailed, printed: true}
			}
			return nil
		},
	}
}

var errBenchFailed = errors.New("benchmark failed")
