package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/rankr/ghlgate/gateway/config"
	"github.com/rankr/ghlgate/gateway/locations"
	"github.com/rankr/ghlgate/gateway/problem"
	"github.com/rankr/ghlgate/gateway/proxy"
	"github.com/rankr/ghlgate/mocks"
)

type exchangeKey struct{}

// withExchange puts the request state in the context of the outgoing
// request, so the proxy's callbacks (inspection, errors, the in-process
// mock) find it. It is the only value the gateway keeps in a context.
func withExchange(ctx context.Context, x *exchange) context.Context {
	return context.WithValue(ctx, exchangeKey{}, x)
}

func exchangeFrom(ctx context.Context) *exchange {
	x, _ := ctx.Value(exchangeKey{}).(*exchange)
	return x
}

// forward hands the request to its stage's upstream. The proxy writes the
// answer itself; failures come back through proxyError and inspect.
func (g *Gateway) forward(x *exchange) error {
	// The request goes out under its path relative to the API root.
	// (WithContext, in send, copies the request but shares its URL.)
	u := x.r.URL
	u.RawPath = ""
	u.Path = x.apiPath
	if unescaped, err := pathUnescape(x.apiPath); err == nil {
		u.Path = unescaped
		u.RawPath = x.apiPath
	}
	if err := g.beginCapture(x); err != nil {
		return err
	}
	x.upstreamCalled = true
	p := g.mockProxy
	if x.stage == config.StageProduction {
		p = g.production
	}
	if key := x.r.Header.Get("Idempotency-Key"); key != "" && x.r.Method == http.MethodPost && g.idem != nil {
		return g.forwardOnce(x, key, func(w http.ResponseWriter) { g.send(p, w, x) })
	}
	g.send(p, x.w, x)
	return nil
}

// send has p forward x and write the answer to w. A production exchange
// is bounded by upstream.timeout here, once, from the moment it is sent
// (after an Idempotency-Key's wait): the production transport's own
// timeout then lets the request through as it is. The proxy reads the
// answer whole before it returns.
func (g *Gateway) send(p *proxy.Proxy, w http.ResponseWriter, x *exchange) {
	ctx := withExchange(x.r.Context(), x)
	if x.stage == config.StageProduction {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.cfg.Upstream.Timeout)
		defer cancel()
	}
	p.Serve(ctx, w, x.r)
}

// dataset names the mock dataset of an exchange: the shared staging one, or
// the calling client's own sandbox.
func (g *Gateway) dataset(x *exchange) *mocks.Mock {
	if x.stage == config.StageSandbox {
		return g.mocks.Sandbox(x.client())
	}
	return g.mocks.Staging()
}

// serveMock is the in-process upstream of the staging and sandbox stages.
func (g *Gateway) serveMock(w http.ResponseWriter, r *http.Request) {
	x := exchangeFrom(r.Context())
	if x == nil {
		problem.Write(w, problem.New(http.StatusInternalServerError, problem.ReasonInternal, "mock called outside an exchange"), r.URL.Path, "")
		return
	}
	// The mock builds meta.nextPageUrl from this, so paging links lead
	// back through the gateway.
	r.Header.Set("X-Forwarded-Prefix", "/"+x.stage)
	g.dataset(x).ServeHTTP(w, r)
}

// inspect sees every upstream answer before the client: it records the
// upstream status, holds by-id reads to the client's locations, and checks
// the answer against the spec.
func (g *Gateway) inspect(out *http.Request, resp *http.Response, body []byte) error {
	x := exchangeFrom(out.Context())
	if x == nil {
		return nil
	}
	x.upstreamStatus = resp.StatusCode
	// The change is recorded first: whatever is decided below about the
	// answer, GHL has made it.
	g.finishCapture(out.Context(), x, resp.StatusCode, body)
	if x.stage != config.StageProduction && g.limiter != nil && resp.StatusCode == http.StatusTooManyRequests {
		// Production answers are observed by the retrying transport, which
		// sees every attempt. The mock's only count when it refuses (a
		// fault a test injected): its headers must not recalibrate the
		// budgets configured for staging and sandbox.
		g.limiter.ObserveUpstream(x.stage, g.budgetLocation(x), resp.StatusCode, resp.Header, g.now())
	}
	setRateHeaders(x, resp.Header)
	// The answer is validated first, and the location read from what the
	// validator reads, so that the 2 KB contact is read once; the location
	// is still decided first, and a refused answer's validation discarded.
	validated, verr := false, error(nil)
	if resp.StatusCode/100 == 2 && x.op != nil && x.op.ID == "get-contact" {
		var loc string
		var ok, decided bool
		if g.cfg.ResponseValidation != config.ValidationOff {
			f := &x.finder // in the exchange: the validator's Observer escapes, and a Finder of its own was an allocation
			*f = locations.Finder{}
			var observed bool
			observed, verr = g.validator.ResponseObserved(out.Context(), out, x.op.Route, x.params, resp.StatusCode, resp.Header, body, f)
			validated = true
			if observed {
				var sure bool
				loc, ok, sure = f.Result(body)
				decided = sure
			}
		}
		if !decided {
			loc, ok = locations.FromResponse(body)
		}
		if ok {
			x.location = loc
			g.locCache.Put(g.contactCacheKey(x, x.params["contactId"]), loc, x.start)
			if len(x.key.Locations) > 0 && !x.key.AllowsLocation(loc) {
				// The body is never sent: a key for one location cannot read
				// another's contacts by guessing ids.
				return locationDenied(x, loc)
			}
		}
	}
	if g.cfg.ResponseValidation != config.ValidationOff {
		err := verr
		if !validated {
			err = g.validator.Response(out.Context(), out, x.op.Route, x.params, resp.StatusCode, resp.Header, body)
		}
		if err != nil {
			x.responseIssues++
			g.metrics.responseViolation(x.operationID())
			x.detail = "upstream response breaks the spec: " + err.Error()
			g.log.Warn("upstream response breaks the spec", "request_id", x.id, "operation_id", x.operationID(),
				"stage", x.stage, "status", resp.StatusCode, "violations", err.Error())
			if g.cfg.ResponseValidation == config.ValidationEnforce {
				return problem.Wrap(http.StatusBadGateway, problem.ReasonResponseInvalid,
					fmt.Sprintf("GHL's answer to %s breaks the spec, and response_validation is enforce", x.operationID()), err)
			}
			resp.Header.Set("X-Ghlgate-Response-Violations", fmt.Sprint(x.responseIssues))
		}
	}
	x.status = resp.StatusCode
	return nil
}

// recycleBody lets the proxy reuse an answer's buffer once the client has
// it, unless the exchange kept the body (a captured change's event holds
// parts of it).
func recycleBody(out *http.Request) bool {
	x := exchangeFrom(out.Context())
	return x != nil && !x.keptBody
}

// proxyError renders a failed exchange (transport error or a refusal from
// inspect) through the one error function.
func (g *Gateway) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	x := exchangeFrom(r.Context())
	if x == nil {
		problem.Write(w, problem.From(err), r.URL.Path, "")
		return
	}
	var pe *problem.Error
	if errors.As(err, &pe) && pe.Status < 500 {
		// A refusal made on the answer (location) is an access decision.
		x.upstreamCalled = false
	}
	g.respond(x, err)
}
