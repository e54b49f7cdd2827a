package bench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// serveGatewayCmd is the hidden command the harness re-executes itself with
// to run the gateway as a separate process for the RSS figure.
const serveGatewayCmd = "serve-gateway"

// DefaultOutput is where Main writes the JSON figures, relative to the
// repository root.
const DefaultOutput = "bench/results/latest.json"

// Main is the command line of the harness: `ghlgate bench [flags]` or
// `go run ./bench/cmd/ghlgate-bench [flags]`. It returns the exit code: 0,
// 1 when the run failed, 2 for bad flags. Missed targets are reported, not
// failed: the figures are the deliverable.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == serveGatewayCmd {
		return mainServeGateway(args[1:], stderr)
	}
	d := DefaultOptions()
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	conc := fs.String("c", joinInts(d.Concurrency), "closed-loop concurrencies, comma-separated")
	rounds := fs.Int("rounds", d.Rounds, "rounds per target; the median is quoted")
	round := fs.Duration("round", d.Round, "length of one round")
	warmup := fs.Duration("warmup", d.Warmup, "warm-up per target before its rounds")
	endpoints := fs.String("endpoints", "", `only these endpoints, comma-separated (e.g. "GET /contacts/{id}")`)
	rss := fs.Int("rss-conns", d.RSSConnections, "keep-alive connections for the gateway's peak RSS; 0 skips it")
	spec := fs.String("spec", d.OfficialSpec, "HighLevel's contacts.json, timed to load; empty skips it")
	micro := fs.Bool("micro", true, "also measure the rate limiter and event capture")
	out := fs.String("out", DefaultOutput, "write the figures as JSON here; empty writes none")
	quick := fs.Bool("quick", false, "a short smoke run: 0.2s rounds, one round, no RSS")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run (harness and in-process gateway)")
	memProfile := fs.String("memprofile", "", "write an allocation profile of the whole run")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	opts := Options{Rounds: *rounds, Round: *round, Warmup: *warmup, RSSConnections: *rss, OfficialSpec: *spec,
		Micro: *micro, Progress: stderr}
	var err error
	if opts.Concurrency, err = parseInts(*conc); err != nil {
		fmt.Fprintf(stderr, "bench: -c: %v\n", err)
		return 2
	}
	if *endpoints != "" {
		opts.Endpoints = strings.Split(*endpoints, ",")
	}
	if opts.RSSConnections == 0 {
		opts.RSSConnections = -1
	}
	if *quick {
		opts.Rounds, opts.Round, opts.Warmup, opts.RSSConnections = 1, 200*time.Millisecond, 100*time.Millisecond, -1
	}
	opts.GatewayCommand = childCommand(args)

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := Run(ctx, opts, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	if *memProfile != "" {
		if err := writeHeapProfile(*memProfile); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
	}
	if *out != "" {
		if err := WriteJSON(*out, res); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "figures written to %s\n", *out)
	}
	return 0
}

// childCommand re-executes this program with the hidden command, keeping
// whatever came before args on the command line (`ghlgate bench ...` gives
// `ghlgate bench serve-gateway`).
func childCommand(args []string) []string {
	exe, err := os.Executable()
	if err != nil {
		return nil // Run reports it
	}
	prefix := []string{}
	if n := len(os.Args) - len(args); n >= 1 && slices.Equal(os.Args[n:], args) {
		prefix = append(prefix, os.Args[1:n]...)
	}
	return append(append([]string{exe}, prefix...), serveGatewayCmd)
}

func mainServeGateway(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet(serveGatewayCmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := fs.String("config", "", "gateway config file")
	bare := fs.String("bare", "", "serve the bare proxy to this upstream instead of the gateway")
	if err := fs.Parse(args); err != nil || *cfg == "" {
		fmt.Fprintln(stderr, "bench serve-gateway: -config is required")
		return 2
	}
	serveChild := func() error { return serveGateway(context.Background(), *cfg, os.Stdin, os.Stdout) }
	if *bare != "" {
		serveChild = func() error { return serveBare(*bare, os.Stdin, os.Stdout) }
	}
	if err := serveChild(); err != nil {
		fmt.Fprintf(stderr, "bench serve-gateway: %v\n", err)
		return 1
	}
	return 0
}

// WriteJSON writes res to path, creating its folder.
func WriteJSON(path string, res *Results) error {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write figures: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write figures: %w", err)
	}
	return nil
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return pprof.Lookup("allocs").WriteTo(f, 0)
}

// errBadList is a malformed -c value.
var errBadList = errors.New("want positive integers separated by commas")

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q: %w", s, errBadList)
		}
		out = append(out, n)
	}
	return out, nil
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}
