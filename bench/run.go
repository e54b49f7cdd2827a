package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Options configure a run. Zero fields take the defaults of DefaultOptions.
type Options struct {
	// Concurrency lists the closed-loop worker counts. Default 1, 16, 64.
	Concurrency []int
	// Warmup is driven against each target before its rounds. Default 500ms.
	Warmup time.Duration
	// Rounds per target, endpoint and concurrency; medians are quoted.
	// Default 3.
	Rounds int
	// Round is the length of one round. Default 1s.
	Round time.Duration
	// Endpoints, when set, keeps only the endpoints with these names.
	Endpoints []string
	// RSSConnections is the keep-alive connections held open against the
	// gateway child process for the RSS figure; negative skips it. Default 1000.
	RSSConnections int
	// GatewayCommand starts a gateway child process for the RSS figure; the
	// harness appends "-config FILE". Default: this executable with the
	// hidden serve-gateway command (see Main).
	GatewayCommand []string
	// OfficialSpec is HighLevel's contacts.json, timed to load; "" or a
	// missing file skips it. Default ../shared/ghl/apps/contacts.json.
	OfficialSpec string
	// Micro runs the in-process micro figures (limiter, capture). Default true
	// through Main.
	Micro bool
	// Progress receives one line per step; nil is silent.
	Progress io.Writer
}

// DefaultOptions are the figures of `make bench`: about four and a half
// minutes on two cores. Five rounds rather than three: on a shared machine a
// slow stretch of a few seconds took one target's median with it.
func DefaultOptions() Options {
	return Options{
		Concurrency: []int{1, 16, 64}, Warmup: 500 * time.Millisecond, Rounds: 5, Round: time.Second,
		RSSConnections: 1000, OfficialSpec: filepath.Join("..", "shared", "ghl", "apps", "contacts.json"), Micro: true,
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if len(o.Concurrency) == 0 {
		o.Concurrency = d.Concurrency
	}
	if o.Warmup <= 0 {
		o.Warmup = d.Warmup
	}
	if o.Rounds <= 0 {
		o.Rounds = d.Rounds
	}
	if o.Round <= 0 {
		o.Round = d.Round
	}
	if o.RSSConnections == 0 {
		o.RSSConnections = d.RSSConnections
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	return o
}

// Results are the figures of one run; they are also written as JSON.
type Results struct {
	Commit   string    `json:"commit"`
	Dirty    bool      `json:"dirty"`
	Time     time.Time `json:"time"`
	Go       string    `json:"go"`
	OS       string    `json:"os"`
	Arch     string    `json:"arch"`
	CPUs     int       `json:"cpus"`
	CPUModel string    `json:"cpu_model,omitempty"`
	Settings Settings  `json:"settings"`

	Load   []Cell  `json:"load"`
	Ratios []Ratio `json:"ratios"`

	RSS *RSS `json:"rss,omitempty"`
	// BareRSS is the same memory figure for the bare proxy, served by a
	// child process of the same executable.
	BareRSS  *RSS      `json:"bare_rss,omitempty"`
	SpecLoad *SpecLoad `json:"spec_load,omitempty"`
	Micro    *Micro    `json:"micro,omitempty"`
	Targets  []Target  `json:"targets"`
}

// Settings record how the load was driven.
type Settings struct {
	Concurrency []int   `json:"concurrency"`
	WarmupS     float64 `json:"warmup_s"`
	Rounds      int     `json:"rounds"`
	RoundS      float64 `json:"round_s"`
}

// Cell is one target at one endpoint and concurrency: medians over rounds.
type Cell struct {
	Endpoint    string    `json:"endpoint"`
	Concurrency int       `json:"concurrency"`
	Target      string    `json:"target"`
	RPS         float64   `json:"rps"`
	P50MS       float64   `json:"p50_ms"`
	P99MS       float64   `json:"p99_ms"`
	P999MS      float64   `json:"p999_ms"`
	Requests    int       `json:"requests"`
	RoundsRPS   []float64 `json:"rounds_rps"`
	// CPUUSPerReq is the CPU the whole path (load generator, this target
	// and what it calls) used per request, in µs: the load generator and
	// upstream cost the same for every target, so differences between
	// targets are what each proxy costs. 0 where it cannot be read.
	CPUUSPerReq float64 `json:"cpu_us_per_req"`
	// rounds are each round's figures, in round order, for comparisons
	// made round by round (see ratio).
	rounds []roundFigures
}

// roundFigures are one round's figures of one target.
type roundFigures struct{ rps, p50, p99, p999, cpu float64 }

// Ratio compares ghlgate with the bare proxy at one endpoint and
// concurrency.
type Ratio struct {
	Endpoint    string `json:"endpoint"`
	Concurrency int    `json:"concurrency"`
	// Throughput is ghlgate's requests/s over the bare proxy's: each
	// round's pair (driven seconds apart), the median over rounds.
	Throughput float64 `json:"throughput"`
	// RoundsThroughput are the rounds' ratios; ThroughputOfMedians is
	// the ratio of the two targets' median requests/s (the figure quoted
	// before the rounds were paired), kept for comparison.
	RoundsThroughput    []float64 `json:"rounds_throughput,omitempty"`
	ThroughputOfMedians float64   `json:"throughput_of_medians"`
	// The latency and CPU figures added are also each round's difference,
	// the median over rounds.
	P50AddedMS  float64 `json:"p50_added_ms"`
	P99AddedMS  float64 `json:"p99_added_ms"`
	P999AddedMS float64 `json:"p999_added_ms"`
	// CPUAddedUS is the CPU per request ghlgate costs more than the bare
	// proxy, in µs.
	CPUAddedUS float64 `json:"cpu_added_us"`
	// DirectOverBare shows the load generator is not the bottleneck: the
	// upstream alone serves this many times the bare proxy's rate.
	DirectOverBare float64 `json:"direct_over_bare"`
}

// RSS is the gateway process's memory at many keep-alive connections.
type RSS struct {
	Connections int     `json:"connections"`
	IdleMiB     float64 `json:"idle_mib"`
	// Open*: every connection open and kept alive, OpenBusy requests in
	// flight at a time.
	OpenBusy     int     `json:"open_busy"`
	OpenDials    int     `json:"open_dials"`
	OpenRequests int     `json:"open_requests"`
	OpenPeakMiB  float64 `json:"open_peak_mib"`
	// Peak*: every connection busy (one request in flight each, closed loop).
	Dials    int     `json:"dials"`
	Requests int     `json:"requests"`
	PeakMiB  float64 `json:"peak_mib"`
}

// SpecLoad times loading HighLevel's official document.
type SpecLoad struct {
	File string  `json:"file"`
	MS   float64 `json:"ms"` // median of several loads
	Ops  int     `json:"operations"`
}

// Target is one of issue 7's goals, checked against this run.
type Target struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Limit float64 `json:"limit"`
	Unit  string  `json:"unit"`
	Met   bool    `json:"met"`
}

// ErrNoEndpoints means the endpoint filter matched nothing.
var ErrNoEndpoints = errors.New("no endpoint matches")

// Run starts the fake upstream, the bare proxy and an in-process gateway,
// drives every endpoint at every concurrency against the three, takes the
// other figures, and prints the tables to w.
func Run(ctx context.Context, opts Options, w io.Writer) (*Results, error) {
	opts = opts.withDefaults()
	eps := Endpoints()
	if len(opts.Endpoints) > 0 {
		eps = slices.DeleteFunc(eps, func(e Endpoint) bool { return !slices.Contains(opts.Endpoints, e.Name) })
		if len(eps) == 0 {
			return nil, fmt.Errorf("%w %s", ErrNoEndpoints, strings.Join(opts.Endpoints, ", "))
		}
	}
	res := newResults(opts)
	progress := func(format string, args ...any) { fmt.Fprintf(opts.Progress, format+"\n", args...) }

	up, err := serve(fakeGHL(newUpstreamBodies()))
	if err != nil {
		return nil, err
	}
	defer up.close()
	bareH, err := bareProxy(up.url)
	if err != nil {
		return nil, err
	}
	bare, err := serve(bareH)
	if err != nil {
		return nil, err
	}
	defer bare.close()
	dir, err := os.MkdirTemp("", "ghlgate-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cfgPath, err := gatewayConfig(dir, up.url)
	if err != nil {
		return nil, err
	}
	gw, key, err := openGateway(ctx, cfgPath, accessLogger())
	if err != nil {
		return nil, err
	}
	defer gw.Close()
	gws, err := serveGatewayHTTP(gw)
	if err != nil {
		return nil, err
	}
	defer gws.close()

	maxConc := slices.Max(opts.Concurrency)
	// Every target is sent the same requests, bearer token included: a
	// client of a bare proxy in front of GHL sends its token too, and the
	// fake GHL accepts any.
	auth := http.Header{"Authorization": {"Bearer " + key}}
	targets := []struct {
		name string
		t    loadTarget
	}{
		{TargetDirect, loadTarget{base: up.url, client: newClient(maxConc), header: auth}},
		{TargetBare, loadTarget{base: bare.url, client: newClient(maxConc), header: auth}},
		{TargetGateway, loadTarget{base: gws.url, client: newClient(maxConc), header: auth}},
	}
	for _, ep := range eps {
		for _, c := range opts.Concurrency {
			rounds := make([][]sample, len(targets))
			for i, tg := range targets {
				if _, err := drive(ctx, tg.t, ep, c, opts.Warmup); err != nil {
					return nil, fmt.Errorf("warm up %s: %w", tg.name, err)
				}
				rounds[i] = make([]sample, 0, opts.Rounds)
			}
			for r := range opts.Rounds {
				// Rotate the order so that no target always runs first
				// (after the others' garbage) or last.
				for k := range targets {
					i := (k + r) % len(targets)
					s, err := drive(ctx, targets[i].t, ep, c, opts.Round)
					if err != nil {
						return nil, fmt.Errorf("%s: %w", targets[i].name, err)
					}
					rounds[i] = append(rounds[i], s)
				}
			}
			cells := make(map[string]Cell, len(targets))
			for i, tg := range targets {
				cell := summarize(ep.Name, c, tg.name, rounds[i])
				cells[tg.name] = cell
				res.Load = append(res.Load, cell)
			}
			rt := ratio(cells[TargetDirect], cells[TargetBare], cells[TargetGateway])
			res.Ratios = append(res.Ratios, rt)
			g, b := cells[TargetGateway], cells[TargetBare]
			progress("%-26s c=%-3d direct %8.0f/s  bare %8.0f/s  ghlgate %8.0f/s (%.2f× by round, %.2f× of medians)  p99 bare %.3f ms ghlgate %.3f ms  cpu/req bare %.1f µs ghlgate %.1f µs",
				ep.Name, c, cells[TargetDirect].RPS, b.RPS, g.RPS, rt.Throughput, rt.ThroughputOfMedians, b.P99MS, g.P99MS, b.CPUUSPerReq, g.CPUUSPerReq)
		}
	}
	// The load's connections are no longer needed: close them before the
	// memory figure, so that only the child holds memory for its own.
	for _, tg := range targets {
		tg.t.client.CloseIdleConnections()
	}

	if opts.RSSConnections > 0 {
		cmd := opts.GatewayCommand
		if len(cmd) == 0 {
			exe, err := os.Executable()
			if err != nil {
				return nil, fmt.Errorf("find own executable for the gateway child: %w", err)
			}
			cmd = []string{exe, serveGatewayCmd}
		}
		progress("rss: %d keep-alive connections against a gateway child process", opts.RSSConnections)
		// The child has a store of its own: two processes must not share
		// one SQLite file, nor one client name.
		childDir := filepath.Join(dir, "child")
		if err := os.Mkdir(childDir, 0o700); err != nil {
			return nil, err
		}
		childCfg, err := gatewayConfig(childDir, up.url)
		if err != nil {
			return nil, err
		}
		rss, err := measureRSS(ctx, cmd, childCfg, opts.RSSConnections, eps[0], 3*time.Second)
		if err != nil {
			return nil, fmt.Errorf("rss: %w", err)
		}
		res.RSS = rss
		// The same load against the bare proxy in the same executable: the
		// floor that net/http, ReverseProxy and the binary set.
		progress("rss: %d keep-alive connections against a bare proxy child process", opts.RSSConnections)
		bareCmd := append(slices.Clip(cmd), "-bare", up.url)
		if res.BareRSS, err = measureRSS(ctx, bareCmd, childCfg, opts.RSSConnections, eps[0], 3*time.Second); err != nil {
			return nil, fmt.Errorf("rss of the bare proxy: %w", err)
		}
	}
	if opts.OfficialSpec != "" {
		if _, err := os.Stat(opts.OfficialSpec); err == nil {
			sl, err := timeSpecLoad(ctx, opts.OfficialSpec, 5)
			if err != nil {
				return nil, err
			}
			res.SpecLoad = sl
			progress("spec load: %s in %.1f ms", sl.File, sl.MS)
		} else {
			progress("spec load skipped: %v", err)
		}
	}
	if opts.Micro {
		progress("micro figures: limiter, capture")
		m, err := microFigures(ctx, dir)
		if err != nil {
			return nil, err
		}
		res.Micro = m
	}
	res.Targets = checkTargets(res)
	if err := WriteTable(w, res); err != nil {
		return nil, err
	}
	return res, nil
}

func newResults(opts Options) *Results {
	commit, dirty := gitCommit()
	return &Results{
		Commit: commit, Dirty: dirty, Time: time.Now().UTC().Truncate(time.Second), Go: runtime.Version(),
		OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), CPUModel: cpuModel(),
		Settings: Settings{Concurrency: opts.Concurrency, WarmupS: opts.Warmup.Seconds(), Rounds: opts.Rounds, RoundS: opts.Round.Seconds()},
	}
}

func summarize(endpoint string, c int, target string, rounds []sample) Cell {
	cell := Cell{Endpoint: endpoint, Concurrency: c, Target: target}
	var rps, p50, p99, p999, cpu []float64
	for _, s := range rounds {
		rps = append(rps, s.rps())
		p50 = append(p50, ms(percentile(s.latencies, 0.50)))
		p99 = append(p99, ms(percentile(s.latencies, 0.99)))
		p999 = append(p999, ms(percentile(s.latencies, 0.999)))
		cpu = append(cpu, s.cpuPerRequest())
		cell.Requests += s.requests
		cell.RoundsRPS = append(cell.RoundsRPS, round1(s.rps()))
		cell.rounds = append(cell.rounds, roundFigures{rps[len(rps)-1], p50[len(p50)-1], p99[len(p99)-1], p999[len(p999)-1], cpu[len(cpu)-1]})
	}
	cell.RPS, cell.P50MS, cell.P99MS, cell.P999MS = round1(median(rps)), round3(median(p50)), round3(median(p99)), round3(median(p999))
	cell.CPUUSPerReq = round1(median(cpu))
	return cell
}

// ratio compares gw with bare round by round: a round drives the targets
// one after the other (in an order that rotates), so a round's pair shares
// the machine's speed of those seconds. On a shared machine that speed
// moves by 20-30% between rounds (other tenants), more than the targets
// differ; both targets' medians then come from the same middle-speed
// rounds, and the ratio of the medians is about that one round's ratio.
// The median of the rounds' ratios uses every round. Cells without rounds
// (or with different numbers of them) are compared by their medians.
func ratio(direct, bare, gw Cell) Ratio {
	r := Ratio{Endpoint: gw.Endpoint, Concurrency: gw.Concurrency}
	if bare.RPS > 0 {
		r.ThroughputOfMedians = round3(gw.RPS / bare.RPS)
		r.DirectOverBare = round3(direct.RPS / bare.RPS)
	}
	if len(gw.rounds) == 0 || len(gw.rounds) != len(bare.rounds) {
		r.Throughput = r.ThroughputOfMedians
		r.P50AddedMS, r.P99AddedMS, r.P999AddedMS = round3(gw.P50MS-bare.P50MS), round3(gw.P99MS-bare.P99MS), round3(gw.P999MS-bare.P999MS)
		if gw.CPUUSPerReq > 0 && bare.CPUUSPerReq > 0 {
			r.CPUAddedUS = round1(gw.CPUUSPerReq - bare.CPUUSPerReq)
		}
		return r
	}
	var thr, p50, p99, p999, cpu []float64
	for i, g := range gw.rounds {
		b := bare.rounds[i]
		if b.rps > 0 {
			thr = append(thr, g.rps/b.rps)
			r.RoundsThroughput = append(r.RoundsThroughput, round3(g.rps/b.rps))
		}
		p50, p99, p999 = append(p50, g.p50-b.p50), append(p99, g.p99-b.p99), append(p999, g.p999-b.p999)
		if g.cpu > 0 && b.cpu > 0 {
			cpu = append(cpu, g.cpu-b.cpu)
		}
	}
	if len(thr) > 0 {
		r.Throughput = round3(median(thr))
	}
	r.P50AddedMS, r.P99AddedMS, r.P999AddedMS = round3(median(p50)), round3(median(p99)), round3(median(p999))
	if len(cpu) > 0 {
		r.CPUAddedUS = round1(median(cpu))
	}
	return r
}

// checkTargets evaluates issue 7's goals on res.
func checkTargets(res *Results) []Target {
	var out []Target
	for _, r := range res.Ratios {
		if r.Endpoint != "GET /contacts/{id}" {
			continue
		}
		if r.Concurrency == 16 || r.Concurrency == 64 {
			out = append(out, Target{Name: fmt.Sprintf("throughput ghlgate/bare, GET /contacts/{id}, c=%d", r.Concurrency),
				Value: r.Throughput, Limit: 0.8, Unit: "ratio ≥", Met: r.Throughput >= 0.8})
		}
		if r.Concurrency == 16 {
			out = append(out, Target{Name: "p99 added over bare, GET /contacts/{id}, c=16",
				Value: r.P99AddedMS, Limit: 1, Unit: "ms ≤", Met: r.P99AddedMS <= 1})
		}
	}
	if res.RSS != nil {
		out = append(out,
			Target{Name: fmt.Sprintf("peak RSS, %d keep-alive connections, %d in flight", res.RSS.Connections, res.RSS.OpenBusy),
				Value: res.RSS.OpenPeakMiB, Limit: 80, Unit: "MiB ≤", Met: res.RSS.OpenPeakMiB <= 80},
			Target{Name: fmt.Sprintf("peak RSS, %d keep-alive connections, all in flight", res.RSS.Connections),
				Value: res.RSS.PeakMiB, Limit: 80, Unit: "MiB ≤", Met: res.RSS.PeakMiB <= 80})
	}
	return out
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }
func round3(f float64) float64 {
	if f < 0 {
		return -round3(-f)
	}
	return float64(int64(f*1000+0.5)) / 1000
}

// gitCommit names the checked-out commit and whether the tree has changes;
// "unknown" outside a work tree.
func gitCommit() (string, bool) {
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown", false
	}
	st, _ := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output()
	return strings.TrimSpace(string(out)), len(strings.TrimSpace(string(st))) > 0
}

// cpuModel reads the processor's name on Linux; "" elsewhere.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
