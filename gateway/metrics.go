package gateway

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/rankr/ghlgate/gateway/dashboard"
)

// metrics counts decisions and response violations, served in the
// Prometheus text format at /_gateway/metrics.
type metrics struct {
	mu         sync.Mutex
	decisions  map[[3]string]uint64 // decision, reason, stage
	violations map[string]uint64    // operation id
}

func newMetrics() *metrics {
	return &metrics{decisions: map[[3]string]uint64{}, violations: map[string]uint64{}}
}

func (m *metrics) observe(decision, reason, stage string) {
	m.mu.Lock()
	m.decisions[[3]string{decision, reason, stage}]++
	m.mu.Unlock()
}

func (m *metrics) responseViolation(op string) {
	m.mu.Lock()
	m.violations[op]++
	m.mu.Unlock()
}

func (m *metrics) write(b *strings.Builder) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b.WriteString("# HELP ghlgate_requests_total Requests by access decision, reason and stage.\n# TYPE ghlgate_requests_total counter\n")
	keys := make([][3]string, 0, len(m.decisions))
	for k := range m.decisions {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return strings.Join(keys[i][:], "/") < strings.Join(keys[j][:], "/") })
	for _, k := range keys {
		fmt.Fprintf(b, "ghlgate_requests_total{decision=%q,reason=%q,stage=%q} %d\n", k[0], k[1], k[2], m.decisions[k])
	}
	b.WriteString("# HELP ghlgate_response_violations_total Upstream answers that break the spec, by operation.\n# TYPE ghlgate_response_violations_total counter\n")
	ops := make([]string, 0, len(m.violations))
	for k := range m.violations {
		ops = append(ops, k)
	}
	sort.Strings(ops)
	for _, op := range ops {
		fmt.Fprintf(b, "ghlgate_response_violations_total{operation_id=%q} %d\n", op, m.violations[op])
	}
}

func (g *Gateway) serveMetrics(c *gin.Context) {
	var b strings.Builder
	g.metrics.write(&b)
	g.writeDependencyMetrics(c.Request.Context(), &b)
	g.writeWorkerMetrics(&b)
	c.Data(http.StatusOK, "text/plain; version=0.0.4", []byte(b.String()))
}

// snapshot returns the counters for the dashboard, in the order write uses.
func (m *metrics) snapshot() (decisions, violations []dashboard.Count) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, v := range m.decisions {
		decisions = append(decisions, dashboard.Count{Labels: map[string]string{"decision": k[0], "reason": k[1], "stage": k[2]}, Value: v})
	}
	sort.Slice(decisions, func(i, j int) bool { return decisions[i].Value > decisions[j].Value })
	for op, v := range m.violations {
		violations = append(violations, dashboard.Count{Labels: map[string]string{"operation_id": op}, Value: v})
	}
	sort.Slice(violations, func(i, j int) bool { return violations[i].Value > violations[j].Value })
	return decisions, violations
}

// writeDependencyMetrics adds the rate-limit store's and the circuit
// breakers' state, so an alert can fire when Redis is down or GHL is cut off.
func (g *Gateway) writeDependencyMetrics(ctx context.Context, b *strings.Builder) {
	if g.limiter != nil {
		h := g.limiter.Health(ctx)
		up := 1
		if h.Status == "down" {
			up = 0
		}
		degraded := 0
		if h.Status == "degraded" {
			degraded = 1
		}
		b.WriteString("# HELP ghlgate_ratelimit_backend_up 1 when the rate-limit store decides; 0 while it fails and requests are refused.\n# TYPE ghlgate_ratelimit_backend_up gauge\n")
		fmt.Fprintf(b, "ghlgate_ratelimit_backend_up{backend=%q} %d\n", h.Backend, up)
		b.WriteString("# HELP ghlgate_ratelimit_degraded 1 while Redis fails and local limits decide (on_redis_error: local).\n# TYPE ghlgate_ratelimit_degraded gauge\n")
		fmt.Fprintf(b, "ghlgate_ratelimit_degraded %d\n", degraded)
		b.WriteString("# HELP ghlgate_ratelimit_redis_errors_total Rate-limit store errors.\n# TYPE ghlgate_ratelimit_redis_errors_total counter\n")
		fmt.Fprintf(b, "ghlgate_ratelimit_redis_errors_total %d\n", h.RedisErrors)
		b.WriteString("# HELP ghlgate_ratelimit_decisions_total Rate-limit decisions by outcome.\n# TYPE ghlgate_ratelimit_decisions_total counter\n")
		fmt.Fprintf(b, "ghlgate_ratelimit_decisions_total{outcome=\"allowed\"} %d\nghlgate_ratelimit_decisions_total{outcome=\"refused\"} %d\nghlgate_ratelimit_decisions_total{outcome=\"local\"} %d\n",
			h.Allowed, h.Refused, h.LocalDecisions)
		b.WriteString("# HELP ghlgate_ratelimit_held_locations Locations held because GHL said so.\n# TYPE ghlgate_ratelimit_held_locations gauge\n")
		fmt.Fprintf(b, "ghlgate_ratelimit_held_locations %d\n", len(h.Held))
	}
	if g.breakers != nil {
		states := g.breakers.BreakerStates()
		hosts := make([]string, 0, len(states))
		for h := range states {
			hosts = append(hosts, h)
		}
		sort.Strings(hosts)
		b.WriteString("# HELP ghlgate_circuit_open 1 while the circuit to an upstream host is open or half-open.\n# TYPE ghlgate_circuit_open gauge\n")
		for _, host := range hosts {
			open := 0
			if states[host] != "closed" {
				open = 1
			}
			fmt.Fprintf(b, "ghlgate_circuit_open{host=%q,state=%q} %d\n", host, states[host], open)
		}
	}
}

// writeWorkerMetrics shows whether the pipeline's worker pool is large
// enough: requests wait for a worker only when it is full, and run on their
// connection's goroutine only when it stays full.
func (g *Gateway) writeWorkerMetrics(b *strings.Builder) {
	b.WriteString("# HELP ghlgate_workers Goroutines running the request pipeline (at most " + strconv.Itoa(maxWorkers) + ").\n# TYPE ghlgate_workers gauge\n")
	fmt.Fprintf(b, "ghlgate_workers %d\n", g.workers.Workers())
	b.WriteString("# HELP ghlgate_workers_queued_total Requests that waited for a worker because every worker was busy.\n# TYPE ghlgate_workers_queued_total counter\n")
	fmt.Fprintf(b, "ghlgate_workers_queued_total %d\n", g.workers.Queued())
	b.WriteString("# HELP ghlgate_workers_full_total Requests run on their connection's goroutine because every worker stayed busy for " + workerWait.String() + ".\n# TYPE ghlgate_workers_full_total counter\n")
	fmt.Fprintf(b, "ghlgate_workers_full_total %d\n", g.workers.Inline())
	b.WriteString("# HELP ghlgate_connections Open client connections, as the server reports them (the pipeline runs on the worker pool above " + strconv.Itoa(inlineConns) + ").\n# TYPE ghlgate_connections gauge\n")
	fmt.Fprintf(b, "ghlgate_connections %d\n", g.conns.Load())
}
