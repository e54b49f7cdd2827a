package contracttests

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// Exchange is one request and its response, as seen by the gateway. Path
// is relative to the stage (/contacts/...).
type Exchange struct {
	Method     string
	Path       string
	Query      url.Values
	ReqHeader  http.Header
	ReqBody    []byte
	Status     int
	RespHeader http.Header
	RespBody   []byte
}

// RecordOptions configures Record.
type RecordOptions struct {
	// Name of the scenario (kebab-case); default "recorded".
	Name        string
	Description string
	Tags        []string
	// RedactHeaders are never written; Authorization, Cookie, Set-Cookie
	// and X-Api-Key always are dropped (the runner sends its own key).
	RedactHeaders []string
	// RedactFields are body fields (any depth) whose values are PII or
	// secrets: requests get a placeholder, responses a type matcher.
	// Default: email, phone, firstName, lastName, name, address1, dateOfBirth.
	RedactFields []string
}

// RecordedFile is a fixture produced by Record.
type RecordedFile struct {
	// Name is <scenario>-<hash>.yaml: named by content, so recording the
	// same exchanges again yields the same file and re-recording does not
	// churn.
	Name string
	Data []byte
}

var (
	ghlID    = regexp.MustCompile(`^[A-Za-z0-9]{20}$`)
	uuidLike = regexp.MustCompile(`^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$`)
	isoTime  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$`)
	// traceKeys are volatile by name whatever their value.
	traceKeys = []string{"traceId", "trace_id", "request_id", "requestId"}
	// alwaysDropped headers carry credentials.
	alwaysDropped = []string{"Authorization", "Cookie", "Set-Cookie", "X-Api-Key", "Proxy-Authorization"}
	// sentByRunner headers are added by the runner itself.
	sentByRunner = []string{"Accept", "Version", "Content-Type", "Content-Length", "User-Agent", "Accept-Encoding", TestTrafficHeader}
)

var defaultRedactFields = []string{"email", "phone", "firstName", "lastName", "name", "address1", "dateOfBirth"}

// ErrNothingRecorded is Record called with no exchanges.
var ErrNothingRecorded = errors.New("no exchanges recorded")

// Record turns exchanges into one scenario file: volatile values (ids,
// dates, trace ids) become captures and matchers, ids reused by later
// requests become ${captures}, secrets and PII are redacted, and repeats
// of one request become numbered, ordered steps.
func Record(exchanges []Exchange, opts RecordOptions) (*RecordedFile, error) {
	if len(exchanges) == 0 {
		return nil, ErrNothingRecorded
	}
	if opts.Name == "" {
		opts.Name = "recorded"
	}
	if opts.RedactFields == nil {
		opts.RedactFields = defaultRedactFields
	}
	rec := &recorder{opts: opts, ids: map[string]string{}, used: map[string]int{}}
	doc := recordedScenario{
		Name: opts.Name, Description: opts.Description, Tags: opts.Tags, TestFlag: true,
	}
	if doc.Description == "" {
		doc.Description = fmt.Sprintf("Recorded from %d exchange(s).", len(exchanges))
	}
	if doc.Tags == nil {
		doc.Tags = []string{"recorded"}
	}
	seen := map[string]int{}
	for _, ex := range exchanges {
		st := rec.step(ex)
		key := st.Request.Method + " " + st.Request.Path
		seen[key]++
		st.Name = key
		if seen[key] > 1 {
			st.Name = fmt.Sprintf("%s #%d", key, seen[key])
		}
		doc.Steps = append(doc.Steps, st)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("record: encode: %w", err)
	}
	data := append([]byte("# Recorded by ghlgate contract record; volatile values are captures and matchers.\n"), buf.Bytes()...)
	sum := sha256.Sum256(data)
	return &RecordedFile{Name: opts.Name + "-" + hex.EncodeToString(sum[:4]) + ".yaml", Data: data}, nil
}

// recordedScenario mirrors the fixture format with YAML field order.
type recordedScenario struct {
	Name        string          `yaml:"name"`
	Description string          `yaml:"description"`
	Tags        []string        `yaml:"tags,omitempty"`
	TestFlag    bool            `yaml:"testFlag"`
	Steps       []*recordedStep `yaml:"steps"`
}

type recordedStep struct {
	Name    string            `yaml:"name"`
	Request recordedRequest   `yaml:"request"`
	Expect  recordedExpect    `yaml:"expect"`
	Capture map[string]string `yaml:"capture,omitempty"`
}

type recordedRequest struct {
	Method  string            `yaml:"method"`
	Path    string            `yaml:"path"`
	Query   map[string]any    `yaml:"query,omitempty"`
	Headers map[string]string `yaml:"headers,omitempty"`
	Body    any               `yaml:"body,omitempty"`
}

type recordedExpect struct {
	Status int            `yaml:"status"`
	Body   map[string]any `yaml:"body,omitempty"`
}

type recorder struct {
	opts  RecordOptions
	given map[string]bool   // strings the current request sent: not volatile
	ids   map[string]string // volatile id value → capture variable
	used  map[string]int    // variable names taken
}

func (r *recorder) step(ex Exchange) *recordedStep {
	st := &recordedStep{Request: recordedRequest{Method: ex.Method, Path: r.subst(ex.Path)}}
	if len(ex.Query) > 0 {
		st.Request.Query = map[string]any{}
		for _, k := range sortedKeys(ex.Query) {
			vals := make([]any, len(ex.Query[k]))
			for i, v := range ex.Query[k] {
				vals[i] = r.subst(v)
			}
			if len(vals) == 1 {
				st.Request.Query[k] = vals[0]
			} else {
				st.Request.Query[k] = vals
			}
		}
	}
	for k := range ex.ReqHeader {
		ck := http.CanonicalHeaderKey(k)
		if slices.Contains(alwaysDropped, ck) || slices.Contains(sentByRunner, ck) || slices.ContainsFunc(r.opts.RedactHeaders, func(h string) bool { return strings.EqualFold(h, k) }) {
			continue
		}
		if st.Request.Headers == nil {
			st.Request.Headers = map[string]string{}
		}
		st.Request.Headers[ck] = r.subst(ex.ReqHeader.Get(k))
	}
	if len(bytes.TrimSpace(ex.ReqBody)) > 0 {
		var v any
		if json.Unmarshal(ex.ReqBody, &v) == nil {
			st.Request.Body = r.redactRequest(v, "")
		}
	}
	st.Expect.Status = ex.Status
	r.given = map[string]bool{}
	for _, seg := range strings.Split(ex.Path, "/") {
		r.given[seg] = true
	}
	for _, vs := range ex.Query {
		for _, v := range vs {
			r.given[v] = true
		}
	}
	var reqVal any
	if json.Unmarshal(ex.ReqBody, &reqVal) == nil {
		collectStrings(reqVal, r.given)
	}
	var resp any
	if len(bytes.TrimSpace(ex.RespBody)) > 0 && json.Unmarshal(ex.RespBody, &resp) == nil {
		st.Expect.Body = map[string]any{}
		r.matchers(resp, "$", "", st)
		if len(st.Expect.Body) == 0 {
			st.Expect.Body = nil
		}
	}
	return st
}

// subst replaces known volatile ids in a string by their ${capture}.
func (r *recorder) subst(s string) string {
	for _, id := range sortedKeys(r.ids) {
		if strings.Contains(s, id) {
			s = strings.ReplaceAll(s, id, "${"+r.ids[id]+"}")
		}
	}
	return s
}

// redacted reports whether a field holds PII: a configured field, or one
// derived from it (emailLowerCase, fullNameLowerCase).
func (r *recorder) redacted(field string) bool {
	if field == "" {
		return false
	}
	lf := strings.ToLower(field)
	return slices.ContainsFunc(r.opts.RedactFields, func(f string) bool { return strings.Contains(lf, strings.ToLower(f)) })
}

// redactRequest rewrites a request body: PII fields get placeholders (an
// email stays a unique, valid address), known ids become captures.
func (r *recorder) redactRequest(v any, field string) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = r.redactRequest(x, k)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = r.redactRequest(x, field)
		}
		return out
	case string:
		if r.redacted(field) {
			if strings.Contains(t, "@") {
				return "redacted-${run}@example.com"
			}
			return "[redacted]"
		}
		return r.subst(t)
	}
	return v
}

// maxMatchers bounds the matchers written for one response.
const maxMatchers = 60

// matchers writes one matcher per leaf of a response: exact for stable
// values, a type, datetime or regex matcher for volatile ones, and a
// capture for new ids (so later steps can use them).
func (r *recorder) matchers(v any, path, field string, st *recordedStep) {
	if len(st.Expect.Body) >= maxMatchers {
		return
	}
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 0 {
			st.Expect.Body[path] = map[string]any{"type": "object"}
			return
		}
		for _, k := range sortedKeys(t) {
			r.matchers(t[k], path+"."+jsonPathKey(k), k, st)
		}
	case []any:
		st.Expect.Body[path] = map[string]any{"length": len(t)}
		if len(t) > 0 {
			r.matchers(t[0], path+"[0]", field, st)
		}
	case string:
		switch {
		case r.ids[t] != "":
			st.Expect.Body[path] = "${" + r.ids[t] + "}"
		case r.redacted(field):
			st.Expect.Body[path] = map[string]any{"type": "string"}
		case r.given[t]:
			st.Expect.Body[path] = t
		case ghlID.MatchString(t) && looksLikeID(t) || uuidLike.MatchString(t):
			name := r.varName(path, field)
			r.ids[t] = name
			if st.Capture == nil {
				st.Capture = map[string]string{}
			}
			st.Capture[name] = path
			st.Expect.Body[path] = map[string]any{"type": "string"}
		case isoTime.MatchString(t):
			st.Expect.Body[path] = map[string]any{"datetime": "iso8601"}
		case slices.Contains(traceKeys, field):
			st.Expect.Body[path] = map[string]any{"type": "string"}
		default:
			st.Expect.Body[path] = t
		}
	case nil:
		st.Expect.Body[path] = map[string]any{"type": "null"}
	default:
		if slices.Contains(traceKeys, field) {
			st.Expect.Body[path] = map[string]any{"type": jsonType(t, false)}
			return
		}
		st.Expect.Body[path] = t
	}
}

func collectStrings(v any, into map[string]bool) {
	switch t := v.(type) {
	case string:
		into[t] = true
	case map[string]any:
		for _, x := range t {
			collectStrings(x, into)
		}
	case []any:
		for _, x := range t {
			collectStrings(x, into)
		}
	}
}

// looksLikeID tells a 20-character GHL id from a 20-letter word: ids mix
// digits or cases.
func looksLikeID(s string) bool {
	var digit, upper, lower bool
	for _, c := range s {
		digit = digit || unicode.IsDigit(c)
		upper = upper || unicode.IsUpper(c)
		lower = lower || unicode.IsLower(c)
	}
	return digit || (upper && lower)
}

// varName names a capture after where the id sits: $.contact.id →
// contactId, $.task.id → taskId, $.meta.startAfterId → startAfterId.
func (r *recorder) varName(path, field string) string {
	base := field
	if field == "id" || field == "" {
		parts := strings.Split(strings.TrimPrefix(path, "$."), ".")
		base = "value"
		if len(parts) >= 2 {
			base = strings.TrimSuffix(indexSuffix.ReplaceAllString(parts[len(parts)-2], ""), "s") + "Id"
		}
	}
	base = strings.Map(func(c rune) rune {
		if unicode.IsLetter(c) || unicode.IsDigit(c) || c == '_' {
			return c
		}
		return -1
	}, base)
	if base == "" || unicode.IsDigit(rune(base[0])) {
		base = "v" + base
	}
	r.used[base]++
	if n := r.used[base]; n > 1 {
		return fmt.Sprintf("%s%d", base, n)
	}
	return base
}

var indexSuffix = regexp.MustCompile(`\[\d+\]$`)

var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func jsonPathKey(k string) string {
	if plainKey.MatchString(k) {
		return k
	}
	return "['" + strings.ReplaceAll(k, "'", `\'`) + "']"
}

// Recorder is middleware that keeps the exchanges passing through it, for
// `ghlgate contract record` or a stage with record: true. It is safe for
// concurrent use; exchanges are kept in the order their responses end.
type Recorder struct {
	next   http.Handler
	prefix string
	max    int

	mu  sync.Mutex
	exs []Exchange
}

// NewRecorder wraps next. prefix (for example "/staging") is stripped from
// recorded paths; max bounds the exchanges kept (0 = 1000).
func NewRecorder(next http.Handler, prefix string, max int) *Recorder {
	if max <= 0 {
		max = 1000
	}
	return &Recorder{next: next, prefix: strings.TrimSuffix(prefix, "/"), max: max}
}

// ServeHTTP records the exchange and passes it on.
func (rc *Recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var reqBody []byte
	if r.Body != nil {
		reqBody, _ = io.ReadAll(io.LimitReader(r.Body, maxResponse))
		_ = r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	cw := &captureWriter{ResponseWriter: w, status: http.StatusOK}
	rc.next.ServeHTTP(cw, r)
	ex := Exchange{
		Method: r.Method, Path: strings.TrimPrefix(r.URL.Path, rc.prefix), Query: r.URL.Query(),
		ReqHeader: r.Header.Clone(), ReqBody: reqBody,
		Status: cw.status, RespHeader: w.Header().Clone(), RespBody: cw.body.Bytes(),
	}
	if len(ex.Query) == 0 {
		ex.Query = nil
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.exs) < rc.max {
		rc.exs = append(rc.exs, ex)
	}
}

// Take returns the exchanges recorded so far and starts afresh.
func (rc *Recorder) Take() []Exchange {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := rc.exs
	rc.exs = nil
	return out
}

type captureWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
	wrote  bool
}

func (c *captureWriter) WriteHeader(s int) {
	if !c.wrote {
		c.status, c.wrote = s, true
	}
	c.ResponseWriter.WriteHeader(s)
}

func (c *captureWriter) Write(b []byte) (int, error) {
	c.wrote = true
	if c.body.Len() < maxResponse {
		c.body.Write(b)
	}
	return c.ResponseWriter.Write(b)
}
