package gateway

import (
	"fmt"
	"net/http"
	"sort"
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
