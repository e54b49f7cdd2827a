package gateway

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/rankr/ghlgate/gateway/audit"
	"github.com/rankr/ghlgate/gateway/auth"
	"github.com/rankr/ghlgate/gateway/problem"
)

// AdminScope grants the gateway's own admin endpoints.
const AdminScope = "gateway.admin"

func pathUnescape(p string) (string, error) { return url.PathUnescape(p) }

// EventsScope grants the sync-event feed.
const EventsScope = "events.read"

// adminOnly lets through keys holding AdminScope.
func (g *Gateway) adminOnly(h gin.HandlerFunc) gin.HandlerFunc { return g.requireScope(AdminScope, h) }

// requireScope lets through keys holding scope (on any stage).
func (g *Gateway) requireScope(scope string, h gin.HandlerFunc) gin.HandlerFunc {
	return g.guard([]string{scope}, func(_ *gin.Context, k *auth.Key) *problem.Error {
		if !slices.Contains(k.ScopesFor("production"), scope) && !slices.Contains(k.Scopes, scope) {
			return problem.New(http.StatusForbidden, problem.ReasonScopeMissing,
				"this endpoint needs scope "+scope+"; client "+k.Name+" does not hold it")
		}
		return nil
	}, func(c *gin.Context, _ *auth.Key) { h(c) })
}

// guard authenticates the caller of one of the gateway's own endpoints,
// applies check, and audits the decision like an API request's, under the
// stage "gateway": security reads one trail for every access.
func (g *Gateway) guard(scopes []string, check func(*gin.Context, *auth.Key) *problem.Error, h func(*gin.Context, *auth.Key)) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := g.now()
		id := c.GetString(ctxRequestID)
		rec := audit.Record{Time: start, RequestID: id, Stage: "gateway", OperationID: "gateway:" + c.FullPath(),
			Method: c.Request.Method, Route: c.FullPath(), Path: c.Request.URL.Path, ScopesRequired: scopes,
			RemoteAddr: c.Request.RemoteAddr}
		defer func() {
			rec.LatencyMS = float64(g.now().Sub(start).Microseconds()) / 1000
			g.trail.Record(rec)
		}()
		deny := func(p *problem.Error) {
			rec.Decision, rec.Reason, rec.Status = audit.Deny, p.Reason, p.Status
			problem.Write(c.Writer, p, c.Request.URL.Path, id)
		}
		k, err := g.keys.Authenticate(c.Request.Context(), c.GetHeader("Authorization"))
		if k != nil {
			rec.Client = k.Name
		}
		if err != nil {
			deny(authProblem(err))
			return
		}
		rec.ScopesHeld = k.Scopes
		if p := check(c, k); p != nil {
			deny(p)
			return
		}
		h(c, k)
		rec.Decision, rec.Reason, rec.Status = audit.Allow, problem.ReasonAllowed, c.Writer.Status()
	}
}

func (g *Gateway) serveMockAdmin(c *gin.Context) {
	if g.mocks == nil {
		problem.Write(c.Writer, problem.New(http.StatusServiceUnavailable, problem.ReasonNoMock, "no mock configured"), c.Request.URL.Path, c.GetString(ctxRequestID))
		return
	}
	g.mocks.AdminHandler().ServeHTTP(c.Writer, c.Request)
}

// serveTestContacts maps the testContactIds of a dataset to record ids, for
// fixtures that name seeded records (${testContact:NAME}). Any key allowed
// on the stage may read it: it holds only test data.
func (g *Gateway) serveTestContacts() gin.HandlerFunc {
	return g.guard(nil, func(c *gin.Context, k *auth.Key) *problem.Error {
		stage := c.Param("dataset")
		switch {
		case g.mocks == nil:
			return problem.New(http.StatusServiceUnavailable, problem.ReasonNoMock, "no mock configured")
		case stage != "staging" && stage != "sandbox":
			return problem.New(http.StatusNotFound, problem.ReasonNotFound, "want /_gateway/test-contacts/staging or /_gateway/test-contacts/sandbox")
		case !k.AllowsStage(stage):
			return problem.New(http.StatusForbidden, problem.ReasonStageDenied, "client "+k.Name+" may not call the "+stage+" stage")
		}
		return nil
	}, func(c *gin.Context, k *auth.Key) {
		m := g.mocks.Staging()
		if c.Param("dataset") == "sandbox" {
			m = g.mocks.Sandbox(k.Name)
		}
		c.JSON(http.StatusOK, m.TestContacts())
	})
}
