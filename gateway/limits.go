package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/rankr/ghlgate/gateway/auth"
	"github.com/rankr/ghlgate/gateway/config"
	"github.com/rankr/ghlgate/gateway/problem"
	"github.com/rankr/ghlgate/gateway/ratelimit"
)

// laneHeader lets a client put a request in a lane. Only a client whose key
// names no lane may use it, and only for a lane with no reserve: a client may
// lower its priority, never claim a reserved share.
const laneHeader = "X-Ghlgate-Lane"

func (g *Gateway) rateLimit(x *exchange) error {
	if g.limiter == nil {
		return nil
	}
	req := ratelimit.Request{Stage: x.stage, Client: x.client(), Location: g.budgetLocation(x), Lane: g.lane(x), Now: x.start}
	d := &x.limitSpace
	var err error
	if wait, ok := ratelimit.PreferWait(x.r.Header); ok {
		*d, err = g.limiter.Wait(x.r.Context(), req, wait)
	} else {
		err = g.limiter.DecideInto(x.r.Context(), req, d)
	}
	if err != nil {
		if errors.Is(err, ratelimit.ErrBackendUnavailable) {
			return problem.Wrap(http.StatusServiceUnavailable, problem.ReasonDependencyDown,
				"the shared rate-limit store (Redis) is unavailable and ratelimit.on_redis_error is fail_closed; retry later", err)
		}
		return err
	}
	// The headers go on the answer: GHL's (inspect) or a refusal (respond).
	x.limit = d
	if !d.Allowed {
		return limited(d)
	}
	return nil
}

// limited is the refusal of a request the limits do not allow.
func limited(d *ratelimit.Decision) error {
	detail := fmt.Sprintf("the %s budget is spent; retry after %d s", d.Limit, d.RetryAfterSeconds())
	if d.Limit == ratelimit.LimitWaitQueue {
		detail = "too many requests are already waiting (Prefer: wait); retry later"
	}
	if d.RetryAfter < 0 {
		detail = fmt.Sprintf("the request exceeds the %s budget on its own", d.Limit)
	}
	e := problem.New(http.StatusTooManyRequests, problem.ReasonRateLimited, detail)
	e.Extra = map[string]any{"limit": d.Limit}
	return e
}

// budgetLocation is the GHL location a request spends. Requests addressed by
// a contact id carry none; the location is then the one the gateway has
// learnt for that contact, or the key's only location, or a shared bucket
// for the credential (GHL counts per location, so an unknown location is
// counted apart rather than not at all).
// It is decided once per exchange: the upstream's rate-limit headers are
// then observed on the budget the request spent, and the location cache is
// read once.
func (g *Gateway) budgetLocation(x *exchange) string {
	if x.budget != "" {
		return x.budget
	}
	loc := g.resolveBudgetLocation(x)
	if x.stage == config.StageSandbox {
		// Every client's sandbox is its own GHL stand-in: one client's
		// sandbox traffic never spends another's budget.
		loc = x.client() + "/" + loc
	}
	x.budget = loc
	return loc
}

func (g *Gateway) resolveBudgetLocation(x *exchange) string {
	if x.location != "" {
		return x.location
	}
	if id := x.params["contactId"]; id != "" {
		if loc, ok := g.locCache.Get(g.contactCacheKey(x, id), x.start); ok {
			return loc
		}
	}
	if x.key != nil && len(x.key.Locations) == 1 {
		return x.key.Locations[0]
	}
	return "_credential"
}

func (g *Gateway) lane(x *exchange) string {
	if x.key != nil && x.key.Lane != "" {
		return x.key.Lane
	}
	want := strings.TrimSpace(x.r.Header.Get(laneHeader))
	if want == "" {
		return ""
	}
	if l, ok := g.cfg.RateLimit.Lanes[want]; ok && l.Reserve == 0 {
		return want
	}
	return ""
}

// setRateHeaders replaces an upstream answer's rate-limit headers with the
// gateway's decision (Headers removes those it does not set).
func setRateHeaders(x *exchange, h http.Header) {
	if x.limit == nil {
		return
	}
	x.limit.Headers(h)
}

// serveForecast is GET /_gateway/limits/{location}?stage=production: the
// location's daily budget and, at the current rate, when it runs out. Any
// key allowed on that location and stage may read it.
func (g *Gateway) serveForecast() gin.HandlerFunc {
	return g.guard(nil, func(c *gin.Context, k *auth.Key) *problem.Error {
		loc, stage := c.Param("location"), c.DefaultQuery("stage", config.StageProduction)
		if !k.AllowsLocation(loc) || !k.AllowsStage(stage) {
			return problem.New(http.StatusForbidden, problem.ReasonLocationDenied,
				fmt.Sprintf("client %s may not read location %s on %s", k.Name, loc, stage))
		}
		if g.limiter == nil {
			return problem.New(http.StatusNotFound, problem.ReasonNotFound, "no rate limits are configured")
		}
		return nil
	}, func(c *gin.Context, _ *auth.Key) {
		f, err := g.limiter.Forecast(c.Request.Context(), c.DefaultQuery("stage", config.StageProduction), c.Param("location"), g.now())
		if err != nil {
			problem.Write(c.Writer, problem.Wrap(http.StatusServiceUnavailable, problem.ReasonDependencyDown,
				"the forecast could not be computed; retry later", err), c.Request.URL.Path, c.GetString(ctxRequestID))
			return
		}
		c.JSON(http.StatusOK, f)
	})
}
