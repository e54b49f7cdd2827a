package bench

import (
	"bufio"
	"fmt"
	"io"
)

// WriteTable prints res as Markdown tables, ready for the README.
func WriteTable(w io.Writer, res *Results) error {
	bw := bufio.NewWriter(w)
	dirty := ""
	if res.Dirty {
		dirty = " (with uncommitted changes)"
	}
	fmt.Fprintf(bw, "ghlgate bench: commit %s%s, %s, %s/%s, %d CPUs (%s)\n", res.Commit, dirty, res.Go, res.OS, res.Arch, res.CPUs, res.CPUModel)
	fmt.Fprintf(bw, "closed loop on loopback, %.1fs warm-up, median of %d rounds of %.1fs; ghlgate/bare figures are each round's pair, the median over rounds (of medians: the ratio of the two targets' medians)\n\n", res.Settings.WarmupS, res.Settings.Rounds, res.Settings.RoundS)
	fmt.Fprintln(bw, "| endpoint | conc | target | req/s | p50 ms | p99 ms | p99.9 ms | CPU µs/req | ghlgate/bare |")
	fmt.Fprintln(bw, "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |")
	ratios := map[string]Ratio{}
	for _, r := range res.Ratios {
		ratios[fmt.Sprint(r.Endpoint, r.Concurrency)] = r
	}
	for _, c := range res.Load {
		vs := ""
		r := ratios[fmt.Sprint(c.Endpoint, c.Concurrency)]
		switch c.Target {
		case TargetGateway:
			vs = fmt.Sprintf("%.2f× req/s (of medians %.2f×), p99 %+.3f ms, CPU %+.1f µs", r.Throughput, r.ThroughputOfMedians, r.P99AddedMS, r.CPUAddedUS)
		case TargetDirect:
			vs = fmt.Sprintf("(direct/bare %.2f×)", r.DirectOverBare)
		}
		fmt.Fprintf(bw, "| %s | %d | %s | %.0f | %.3f | %.3f | %.3f | %.1f | %s |\n", c.Endpoint, c.Concurrency, c.Target, c.RPS, c.P50MS, c.P99MS, c.P999MS, c.CPUUSPerReq, vs)
	}
	fmt.Fprintln(bw)
	if res.RSS != nil {
		r := res.RSS
		fmt.Fprintf(bw, "gateway process: %.1f MiB idle; %d keep-alive connections: peak RSS %.1f MiB with %d in flight (%d dials, %d requests), %.1f MiB with all in flight (%d dials, %d requests)\n",
			r.IdleMiB, r.Connections, r.OpenPeakMiB, r.OpenBusy, r.OpenDials, r.OpenRequests, r.PeakMiB, r.Dials, r.Requests)
	}
	if r := res.BareRSS; r != nil {
		fmt.Fprintf(bw, "bare proxy process (same executable): %.1f MiB idle; peak RSS %.1f MiB with %d in flight, %.1f MiB with all in flight\n",
			r.IdleMiB, r.OpenPeakMiB, r.OpenBusy, r.PeakMiB)
	}
	if res.SpecLoad != nil {
		fmt.Fprintf(bw, "load %s: %.1f ms (%d operations)\n", res.SpecLoad.File, res.SpecLoad.MS, res.SpecLoad.Ops)
	}
	if res.Micro != nil {
		fmt.Fprintf(bw, "rate limiter: %.0f ns/op, %d allocs/op; capture: %.0f events/s (SQLite)\n",
			res.Micro.LimiterNsPerOp, res.Micro.LimiterAllocsPerOp, res.Micro.EventsPerS)
	}
	if len(res.Targets) > 0 {
		fmt.Fprintln(bw, "\n| target | value | goal | met |")
		fmt.Fprintln(bw, "| --- | ---: | --- | --- |")
		for _, t := range res.Targets {
			met := "yes"
			if !t.Met {
				met = "**no**"
			}
			fmt.Fprintf(bw, "| %s | %.3f | %s %g | %s |\n", t.Name, t.Value, t.Unit, t.Limit, met)
		}
	}
	return bw.Flush()
}
