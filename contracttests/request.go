package contracttests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// builtRequest is a step's request after substitution.
type builtRequest struct {
	method string
	url    string // full URL
	path   string // path below the target, no query
	rel    string // path and query, as reported
	query  url.Values
	header http.Header
	body   []byte
	key    string // the bearer key, masked in curl
}

// buildRequest substitutes variables into a step's request and adds the
// default headers: Authorization (the target's key), Version, Accept,
// Content-Type for a body, and the test-traffic marker. A step's header
// set to null removes a default; a query value that expands to "" is not
// sent (so a cursor variable can start empty).
func buildRequest(st *Step, sp *scope, tgt Target, scenario string, rawBody []byte) (*builtRequest, error) {
	rq := &st.Request
	p, err := sp.expandString(rq.Path)
	if err != nil {
		return nil, fmt.Errorf("path: %w", err)
	}
	b := &builtRequest{method: rq.Method, query: url.Values{}, header: http.Header{}, key: tgt.Key}
	if i := strings.IndexByte(p, '?'); i >= 0 {
		q, err := url.ParseQuery(p[i+1:])
		if err != nil {
			return nil, fmt.Errorf("path query: %w", err)
		}
		b.query, p = q, p[:i]
	}
	b.path = p
	for _, k := range sortedKeys(rq.Query) {
		vals, isList := rq.Query[k].([]any)
		if !isList {
			vals = []any{rq.Query[k]}
		}
		for _, v := range vals {
			s, err := sp.expandString(textOf(v))
			if err != nil {
				return nil, fmt.Errorf("query %s: %w", k, err)
			}
			if s != "" {
				b.query.Add(k, s)
			}
		}
	}
	b.rel = p
	if len(b.query) > 0 {
		b.rel += "?" + b.query.Encode()
	}
	base := tgt.BaseURL
	if rq.Base != "" {
		if base, err = sp.expandString(rq.Base); err != nil {
			return nil, fmt.Errorf("base: %w", err)
		}
		if base == "" {
			return nil, fmt.Errorf("base %q expands to nothing", rq.Base)
		}
	}
	b.url = strings.TrimSuffix(base, "/") + b.rel

	b.header.Set("Accept", "application/json")
	b.header.Set("Version", DefaultVersion)
	b.header.Set(TestTrafficHeader, scenario)
	if tgt.Key != "" {
		b.header.Set("Authorization", "Bearer "+tgt.Key)
	}
	switch {
	case rq.RawBody != nil:
		s, err := sp.expandString(*rq.RawBody)
		if err != nil {
			return nil, fmt.Errorf("rawBody: %w", err)
		}
		b.body = []byte(s)
		b.header.Set("Content-Type", "application/json")
	case len(rawBody) > 0:
		var v any
		if err := json.Unmarshal(rawBody, &v); err != nil {
			return nil, fmt.Errorf("body: %w", err)
		}
		v, err = sp.expandValue(v)
		if err != nil {
			return nil, fmt.Errorf("body: %w", err)
		}
		b.body, _ = json.Marshal(v)
		b.header.Set("Content-Type", "application/json")
	}
	for _, k := range sortedKeys(rq.Headers) {
		v := rq.Headers[k]
		if v == nil {
			b.header.Del(k)
			continue
		}
		s, err := sp.expandString(*v)
		if err != nil {
			return nil, fmt.Errorf("header %s: %w", k, err)
		}
		b.header.Set(k, s)
	}
	return b, nil
}

// gatewayRoot strips a /staging or /sandbox[/...] stage from a base URL:
// the gateway's production base.
func gatewayRoot(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	for i, s := range segs {
		if s == "staging" || s == "sandbox" {
			u.Path = "/" + strings.Join(segs[:i], "/")
			return strings.TrimSuffix(u.String(), "/")
		}
	}
	return strings.TrimSuffix(base, "/")
}

// issuedKey is a well-formed ghlgate client key (auth.Prefix and 43
// base62 characters), such as one a scenario takes as a variable.
var issuedKey = regexp.MustCompile(`ghlgw_[0-9A-Za-z]{43}`)

// curl renders a request as a command QA can paste. Keys are never written
// out: the run's key reads $GHLGATE_KEY, any other issued key (a
// scenario's ${readonlyKey}, say) $GHLGATE_OTHER_KEY.
func curl(b *builtRequest) string {
	var sb strings.Builder
	sb.WriteString("curl -sS -X " + b.method + " " + shellQuote(b.url))
	names := make([]string, 0, len(b.header))
	for k := range b.header {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		for _, v := range b.header[k] {
			if k == "Authorization" && b.key != "" && strings.Contains(v, b.key) {
				sb.WriteString(` -H "Authorization: ` + strings.ReplaceAll(v, b.key, `$GHLGATE_KEY`) + `"`)
				continue
			}
			if k == "Authorization" && issuedKey.MatchString(v) {
				sb.WriteString(` -H "Authorization: ` + issuedKey.ReplaceAllString(v, `$$GHLGATE_OTHER_KEY`) + `"`)
				continue
			}
			sb.WriteString(" -H " + shellQuote(k+": "+v))
		}
	}
	if len(b.body) > 0 {
		sb.WriteString(" --data-raw " + shellQuote(string(b.body)))
	}
	return sb.String()
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
