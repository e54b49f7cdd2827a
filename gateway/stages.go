package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/rankr/ghlgate/gateway/auth"
	"github.com/rankr/ghlgate/gateway/config"
	"github.com/rankr/ghlgate/gateway/locations"
	"github.com/rankr/ghlgate/gateway/problem"
	"github.com/rankr/ghlgate/gateway/proxy"
	"github.com/rankr/ghlgate/gateway/scopes"
	"github.com/rankr/ghlgate/openapi"
)

func (g *Gateway) readBody(x *exchange) error {
	if x.r.Body == nil || x.r.Body == http.NoBody {
		return nil
	}
	limit := g.cfg.MaxBodyBytes
	body, err := io.ReadAll(io.LimitReader(x.r.Body, limit+1))
	x.r.Body.Close()
	if err != nil {
		return problem.Wrap(http.StatusBadRequest, problem.ReasonInvalidRequest, "the request body could not be read", err)
	}
	if int64(len(body)) > limit {
		return problem.New(http.StatusRequestEntityTooLarge, problem.ReasonTooLarge,
			fmt.Sprintf("the request body is larger than %d bytes; send less (max_body_bytes)", limit))
	}
	x.body = body
	x.r.Body = io.NopCloser(bytes.NewReader(body))
	// Retries (after an upstream 401 or a 503) replay the body from here.
	x.r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return nil
}

func (g *Gateway) resolveStage(x *exchange) error {
	x.stage, x.apiPath = stripStage(x.r.URL.EscapedPath())
	switch x.stage {
	case config.StageStaging:
		if g.mocks == nil || !g.cfg.StagingEnabled() {
			return problem.New(http.StatusServiceUnavailable, problem.ReasonNoMock, "no mock configured for /staging: enable mock.staging in the configuration")
		}
	case config.StageSandbox:
		if g.mocks == nil || !g.cfg.SandboxEnabled() {
			return problem.New(http.StatusServiceUnavailable, problem.ReasonNoMock, "no mock configured for /sandbox: enable mock.sandbox in the configuration")
		}
	}
	return nil
}

func (g *Gateway) authenticate(x *exchange) error {
	k, err := g.keys.Authenticate(x.r.Context(), x.r.Header.Get("Authorization"))
	if err != nil {
		if k != nil {
			x.key = k // an expired or revoked key still names its client in the audit
		}
		return authProblem(err)
	}
	x.key = k
	x.scopesHeld = k.ScopesFor(x.stage)
	return nil
}

func authProblem(err error) *problem.Error {
	switch {
	case errors.Is(err, auth.ErrNoCredentials):
		return problem.Wrap(http.StatusUnauthorized, problem.ReasonNoCredentials,
			"no client key: send Authorization: Bearer <key>; create one with ghlgate keys create", err).
			WithHeader("WWW-Authenticate", `Bearer realm="ghlgate"`)
	case errors.Is(err, auth.ErrExpired):
		return problem.Wrap(http.StatusUnauthorized, problem.ReasonExpiredCredentials, "the client key has expired; ask for a new one (ghlgate keys rotate)", err)
	case errors.Is(err, auth.ErrRevoked):
		return problem.Wrap(http.StatusUnauthorized, problem.ReasonRevokedCredentials, "the client key has been revoked; ask for a new one", err)
	case errors.Is(err, auth.ErrMalformed), errors.Is(err, auth.ErrUnknownKey):
		return problem.Wrap(http.StatusUnauthorized, problem.ReasonBadCredentials, "the client key is not valid; check it was copied whole (ghlgw_ followed by 43 characters)", err)
	}
	return problem.Wrap(http.StatusServiceUnavailable, problem.ReasonDependencyDown, "the key store is unavailable; retry later", err)
}

func (g *Gateway) authorizeStage(x *exchange) error {
	if !x.key.AllowsStage(x.stage) {
		return problem.New(http.StatusForbidden, problem.ReasonStageDenied,
			fmt.Sprintf("client %s may not call the %s stage (allowed: %s)", x.key.Name, x.stage, strings.Join(x.key.Stages, ", ")))
	}
	return nil
}

func (g *Gateway) route(x *exchange) error {
	if err := checkPath(x.apiPath); err != nil {
		return err
	}
	op, params, err := g.spec.Match(x.r.Method, x.apiPath)
	if err != nil {
		var mna *openapi.MethodNotAllowedError
		if errors.As(err, &mna) {
			return problem.Wrap(http.StatusMethodNotAllowed, problem.ReasonMethodNotAllowed,
				fmt.Sprintf("%s is not an operation of %s; allowed: %s", x.r.Method, x.apiPath, strings.Join(mna.Allow, ", ")), err).
				WithHeader("Allow", strings.Join(mna.Allow, ", "))
		}
		return problem.Wrap(http.StatusNotFound, problem.ReasonNotFound,
			fmt.Sprintf("no operation of the GHL spec matches %s %s; see ghlgate spec ops", x.r.Method, x.apiPath), err)
	}
	x.op, x.params = op, params
	if x.query, err = checkQuery(op, x.r.URL.RawQuery); err != nil {
		return err
	}
	// GHL requires a Version header; the gateway supplies its configured one
	// when the client sent none, before validation checks it.
	if x.r.Header.Get("Version") == "" {
		x.r.Header.Set("Version", g.cfg.Upstream.Version)
	}
	return nil
}

// checkPath refuses encoded traversal and separators before routing: a
// decoded segment may not be "." or "..", nor contain a slash or a
// backslash.
func checkPath(escaped string) error {
	for rest, more := escaped, true; more; {
		var seg string
		seg, rest, more = strings.Cut(rest, "/")
		dec := seg
		if strings.Contains(seg, "%") {
			var err error
			if dec, err = url.PathUnescape(seg); err != nil {
				return problem.Wrap(http.StatusBadRequest, problem.ReasonInvalidRequest, "the path has an invalid percent-encoding", err)
			}
		}
		if dec == "." || dec == ".." || strings.ContainsAny(dec, "/\\\x00") {
			return problem.New(http.StatusBadRequest, problem.ReasonInvalidRequest,
				"the path contains a traversal or an encoded separator; ids never contain '/', '\\' or '..'")
		}
	}
	return nil
}

// checkQuery refuses a parameter given twice unless the spec declares it an
// array: GHL and the gateway could otherwise read different values (the
// gateway checks one locationId, GHL uses the other). It returns the
// parsed query (nil for none) for the later stages.
func checkQuery(op *openapi.Operation, raw string) (url.Values, error) {
	if raw == "" {
		return nil, nil
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil, problem.Wrap(http.StatusBadRequest, problem.ReasonInvalidRequest, "the query string is malformed", err)
	}
	for name, vals := range q {
		if len(vals) < 2 {
			continue
		}
		if p := op.Op.Parameters.GetByInAndName("query", name); p != nil && p.Schema != nil && p.Schema.Value != nil && p.Schema.Value.Type.Is("array") {
			continue
		}
		e := problem.New(http.StatusBadRequest, problem.ReasonInvalidRequest, fmt.Sprintf("query parameter %s is given %d times; give it once", name, len(vals)))
		e.Fields = []problem.FieldError{{Pointer: "query." + name, Reason: "duplicate parameter"}}
		return nil, e
	}
	return q, nil
}

func (g *Gateway) authorizeScopes(x *exchange) error {
	if !x.op.HasSecurity {
		for _, id := range g.cfg.AllowUnsecured {
			if id == x.op.ID {
				return nil
			}
		}
		return problem.New(http.StatusForbidden, problem.ReasonNoSecurity,
			fmt.Sprintf("operation %s declares no security, so no scope can grant it; an operator may list it in allow_unsecured", x.op.ID))
	}
	if ok, missing := scopes.Check(x.scopesHeld, x.op.Scopes); !ok {
		e := problem.New(http.StatusForbidden, problem.ReasonScopeMissing,
			fmt.Sprintf("operation %s needs scope %s on %s; client %s holds %s", x.op.ID, strings.Join(missing, " and "), x.stage, x.key.Name, listOrNone(x.scopesHeld)))
		e.Extra = map[string]any{"operation_id": x.op.ID, "missing_scopes": missing}
		return e
	}
	return nil
}

func listOrNone(v []string) string {
	if len(v) == 0 {
		return "none"
	}
	return strings.Join(v, ", ")
}

// refuseTestTraffic keeps test data off production: a body whose top-level
// testFlag is true, or the header X-Test-Flag: true.
func (g *Gateway) refuseTestTraffic(x *exchange) error {
	// X-Ghlgate-Test is what the contract suite puts on every request it
	// replays: a fixture must never reach production either.
	marked := strings.EqualFold(strings.TrimSpace(x.r.Header.Get("X-Test-Flag")), "true") || x.r.Header.Get("X-Ghlgate-Test") != ""
	if !marked && len(x.body) > 0 && bytes.Contains(x.body, []byte("testFlag")) {
		var v struct {
			TestFlag any `json:"testFlag"`
		}
		if json.Unmarshal(x.body, &v) == nil {
			marked = v.TestFlag == true || v.TestFlag == "true"
		}
	}
	x.testTraffic = marked
	if marked && x.stage == config.StageProduction {
		return problem.New(http.StatusUnprocessableEntity, problem.ReasonTestTraffic,
			"this request is marked as test data (testFlag, X-Test-Flag or X-Ghlgate-Test) and never reaches production GHL; send it to /staging/... or /sandbox/... instead")
	}
	return nil
}

func (g *Gateway) authorizeLocation(x *exchange) error {
	loc, err := locations.FromRequest(x.op, x.query, x.body)
	if err != nil {
		// Unreadable body: validation reports the details.
		return nil
	}
	x.location = loc
	if len(x.key.Locations) == 0 {
		return nil
	}
	if loc != "" {
		if !x.key.AllowsLocation(loc) {
			return locationDenied(x, loc)
		}
		return nil
	}
	if x.op.Location != openapi.LocationNone {
		// A required locationId that is missing is a validation error; an
		// optional one left out lets GHL pick the token's location, which
		// a location-bound client may not rely on.
		if x.op.LocationRequired {
			return nil
		}
		return problem.New(http.StatusForbidden, problem.ReasonLocationDenied,
			fmt.Sprintf("client %s is bound to locations %s; name one in locationId", x.key.Name, strings.Join(x.key.Locations, ", ")))
	}
	// Addressed by id alone. A read of the contact itself is checked on
	// GHL's answer; anything else (changes, sub-resources) is resolved
	// before it is forwarded, since afterwards would be too late.
	contactID := x.params["contactId"]
	if contactID == "" || x.op.ID == "get-contact" {
		return nil
	}
	loc, err = g.contactLocation(x, contactID)
	if err != nil {
		return err
	}
	x.location = loc
	if !x.key.AllowsLocation(loc) {
		return locationDenied(x, loc)
	}
	return nil
}

func locationDenied(x *exchange, loc string) *problem.Error {
	e := problem.New(http.StatusForbidden, problem.ReasonLocationDenied,
		fmt.Sprintf("client %s may not touch location %s (allowed: %s)", x.key.Name, loc, strings.Join(x.key.Locations, ", ")))
	return e
}

// errLookupAnswered carries the upstream's own refusal of a location look-up
// (an unknown contact), which is passed to the client as GHL gave it.
type errLookupAnswered struct {
	status int
	header http.Header
	body   []byte
}

func (e *errLookupAnswered) Error() string {
	return fmt.Sprintf("location look-up answered %d", e.status)
}

// contactLocation finds the location of a contact by reading it from the
// exchange's stage, through a cache.
func (g *Gateway) contactLocation(x *exchange, contactID string) (string, error) {
	cacheKey := g.contactCacheKey(x, contactID)
	if loc, ok := g.locCache.Get(cacheKey, x.start); ok {
		return loc, nil
	}
	ctx, cancel := context.WithTimeout(x.r.Context(), g.cfg.Upstream.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/contacts/"+url.PathEscape(contactID), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Version", g.cfg.Upstream.Version)
	var resp *http.Response
	if x.stage == config.StageProduction {
		base := strings.TrimSuffix(g.cfg.Upstream.BaseURL, "/")
		req.URL, _ = url.Parse(base + "/contacts/" + url.PathEscape(contactID))
		resp, err = g.prodLookup.RoundTrip(req)
	} else {
		req = req.WithContext(withExchange(ctx, x))
		resp, err = proxy.HandlerTransport{Handler: http.HandlerFunc(g.serveMock)}.RoundTrip(req)
	}
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode/100 != 2 {
		return "", &errLookupAnswered{status: resp.StatusCode, header: resp.Header, body: body}
	}
	loc, ok := locations.FromResponse(body)
	if !ok {
		return "", problem.New(http.StatusBadGateway, problem.ReasonUpstreamError, "GHL's answer for the contact carried no locationId, so its location could not be checked")
	}
	g.locCache.Put(cacheKey, loc, g.now())
	return loc, nil
}

func (g *Gateway) validateRequest(x *exchange) error {
	return g.validator.Request(x.r.Context(), x.r, x.op.Route, x.params, x.query, x.body)
}

// contactCacheKey names a contact in the location cache: per stage, and per
// client in the sandbox, where every client has its own dataset.
// A request asks for its contact's key two or three times (budget, look-up,
// the answer's location): it is made once.
func (g *Gateway) contactCacheKey(x *exchange, contactID string) string {
	if x.contactKey != "" && x.contactKeyID == contactID {
		return x.contactKey
	}
	key := x.stage + "/" + contactID
	if x.stage == config.StageSandbox {
		key = x.stage + "/" + x.client() + "/" + contactID
	}
	x.contactKey, x.contactKeyID = key, contactID
	return key
}
