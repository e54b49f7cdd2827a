package gateway

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rankr/ghlgate/events"
	"github.com/rankr/ghlgate/gateway/audit"
	"github.com/rankr/ghlgate/gateway/dashboard"
)

func (g *Gateway) serveDashboard(c *gin.Context) {
	c.Header("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'")
	c.Header("X-Frame-Options", "DENY")
	c.Data(http.StatusOK, "text/html; charset=utf-8", dashboard.Page())
}

// serveDashboardData gathers what the dashboard shows. It is read only and
// cheap: counters from memory, the last refusals and events from the store.
func (g *Gateway) serveDashboardData(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 5*time.Second)
	defer cancel()
	d := dashboard.Data{
		GeneratedAt: g.now(),
		Spec:        dashboard.SpecInfo{Source: g.spec.Source, Operations: len(g.spec.Operations), Warnings: len(g.spec.Warnings)},
		Credential:  g.cred.Kind(),
	}
	d.Decisions, d.Violations = g.metrics.snapshot()
	if g.db != nil {
		recs, err := audit.Search(ctx, g.db, audit.Query{Decision: audit.Deny, Limit: 20, Newest: true})
		if err == nil {
			for _, r := range recs {
				d.Recent = append(d.Recent, r)
			}
		}
	}
	if g.limiter != nil {
		d.Limits = g.limiter.Health(ctx)
	}
	if g.breakers != nil {
		d.Breakers = map[string]any{}
		for host, st := range g.breakers.BreakerStates() {
			d.Breakers[host] = st
		}
	}
	if g.eventStore != nil {
		evs, err := g.eventStore.List(ctx, events.Query{Limit: 15, Newest: true})
		if err == nil {
			for _, e := range evs {
				d.Events.Latest = append(d.Events.Latest, e)
			}
		}
	}
	if d.Decisions == nil {
		d.Decisions = []dashboard.Count{}
	}
	if d.Violations == nil {
		d.Violations = []dashboard.Count{}
	}
	if d.Recent == nil {
		d.Recent = []any{}
	}
	c.JSON(http.StatusOK, d)
}
