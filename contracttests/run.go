package contracttests

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/theory/jsonpath"

	"github.com/rankr/ghlgate/openapi"
)

// DefaultVersion is the Version header sent unless a step overrides it.
const DefaultVersion = "2021-07-28"

// TestTrafficHeader marks every request the runner sends as contract-suite
// test traffic, carrying the scenario name; the gateway refuses it on
// production (reason test_traffic_on_production).
const TestTrafficHeader = "X-Ghlgate-Test"

// maxResponse caps a response body the runner reads.
const maxResponse = 8 << 20

// Options configures Run. Target and Scenarios are required.
type Options struct {
	// Target is the base URL steps' paths are appended to: a ghlgate's
	// /staging or /sandbox, production, or any GHL-compatible server.
	Target string
	// Key is sent as "Authorization: Bearer KEY" unless a step removes it.
	Key string
	// Scenarios to run; see LoadScenarios.
	Scenarios []*Scenario
	// Spec validates every response; nil uses openapi.Default().
	Spec *openapi.Spec
	// SpecMode: enforce (default), warn or off.
	SpecMode SpecMode
	// Tags, when set, runs only scenarios with at least one of them.
	Tags []string
	// SkipTags skips scenarios with one of these tags, reporting the reason
	// (for example "gateway": "needs the real gateway").
	SkipTags map[string]string
	// Parallel is how many scenarios run at once. Default 1.
	Parallel int
	// FailFast stops starting scenarios after the first failure; those not
	// started are reported skipped.
	FailFast bool
	// Vars override scenarios' vars (--var name=value).
	Vars map[string]string
	// Client sends the requests. Default: a client without redirects.
	Client *http.Client
	// StepTimeout bounds one request. Default 30s.
	StepTimeout time.Duration
	// Resolver resolves ${testContact:NAME}. Default: NewHTTPResolver on
	// the target (admin endpoint, then a list query), falling back to the
	// seed files.
	Resolver TestContactResolver
	// Isolate gives each scenario its own target (a sandbox client); nil
	// runs every scenario against Target, isolated by ${run} in the records
	// they create.
	Isolate Provisioner
	// Progress is told about each scenario; nil reports nothing.
	Progress Progress
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// NewID makes ${run} and ${uuid} values. Default a UUIDv7-derived id.
	NewID func() string
	// Logger. Default discards.
	Logger *slog.Logger

	// ownTransport is the transport of the default Client, closed after
	// the run.
	ownTransport *http.Transport
}

// Provisioner gives a scenario an isolated target.
type Provisioner interface {
	Provision(ctx context.Context, scenario string) (Target, error)
}

// Target is where one scenario runs. Release is called when it is done.
type Target struct {
	BaseURL string
	Key     string
	Release func()
}

// Progress is told when a run starts and as each scenario finishes.
// Implementations must be safe for concurrent use.
type Progress interface {
	Start(total int)
	Done(r *ScenarioResult)
	Finish()
}

// UsageError is a run that cannot start because of its options.
type UsageError struct{ Problems []string }

func (e *UsageError) Error() string { return "usage: " + strings.Join(e.Problems, "; ") }

// ConnectionError is a target that does not answer at all.
type ConnectionError struct {
	Target string
	Err    error
}

func (e *ConnectionError) Error() string {
	return fmt.Sprintf("cannot reach target %s: %v (is the gateway running, and is --target the right base URL?)", e.Target, e.Err)
}

func (e *ConnectionError) Unwrap() error { return e.Err }

// ExitCode maps a run to the CLI's exit status: 0 all passed, 1 a scenario
// failed, 2 usage, fixture or connection error (or any other error).
func ExitCode(r *Report, err error) int {
	switch {
	case err != nil:
		return 2
	case r.Failed():
		return 1
	}
	return 0
}

func (o *Options) defaults() error {
	var probs []string
	if o.Target == "" {
		probs = append(probs, "--target is required (a base URL such as http://localhost:8080/staging)")
	} else if u, err := url.Parse(o.Target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		probs = append(probs, fmt.Sprintf("--target %q is not an http(s) URL", o.Target))
	}
	if len(o.Scenarios) == 0 {
		probs = append(probs, "no scenarios to run (check --fixtures)")
	}
	if o.Parallel < 0 {
		probs = append(probs, fmt.Sprintf("--parallel %d must be at least 1", o.Parallel))
	}
	if o.Spec == nil {
		s, err := openapi.Default()
		switch {
		case err != nil:
			probs = append(probs, "load the default spec: "+err.Error())
		case len(s.Operations) == 0:
			probs = append(probs, "the default spec has no operations; pass a spec")
		default:
			o.Spec = s
		}
	}
	if len(probs) > 0 {
		return &UsageError{Problems: probs}
	}
	o.Target = strings.TrimSuffix(o.Target, "/")
	if o.Parallel == 0 {
		o.Parallel = 1
	}
	if o.Client == nil {
		// Keep a connection per worker alive: the default transport keeps
		// two per host and would reconnect for most requests of a parallel
		// run.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 2 * o.Parallel
		o.ownTransport = tr
		o.Client = &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if o.StepTimeout == 0 {
		o.StepTimeout = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NewID == nil {
		o.NewID = defaultID
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Resolver == nil {
		o.Resolver = NewHTTPResolver(o.Client, o.Target, o.Key, nil)
	}
	return nil
}

func defaultID() string {
	u, err := uuid.NewV7()
	if err != nil {
		var b [8]byte
		_, _ = rand.Read(b[:])
		return hex.EncodeToString(b[:])
	}
	// The random tail: short enough for emails and tags, unique per run.
	s := strings.ReplaceAll(u.String(), "-", "")
	return s[len(s)-12:]
}

// Run replays the scenarios against the target. It returns an error (and
// no report) only when the run cannot start: bad options or an unreachable
// target. Failed steps are in the report.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	if opts.ownTransport != nil {
		defer opts.ownTransport.CloseIdleConnections()
	}
	if err := preflight(ctx, opts.Client, opts.Target); err != nil {
		return nil, err
	}
	r := &runner{opts: opts, check: &specCheck{spec: opts.Spec, mode: opts.SpecMode}, cover: map[coverKey]int{}}
	return r.run(ctx), nil
}

// preflight makes one request to the target: any HTTP answer will do; no
// answer at all is a connection error, reported before any scenario runs.
func preflight(ctx context.Context, c *http.Client, target string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, target+"/", nil)
	if err != nil {
		return &UsageError{Problems: []string{fmt.Sprintf("--target %q: %v", target, err)}}
	}
	resp, err := c.Do(req)
	if err != nil {
		return &ConnectionError{Target: target, Err: err}
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return nil
}

type coverKey struct {
	op, method, path string
	status           int
}

type runner struct {
	opts  Options
	check *specCheck

	mu    sync.Mutex
	cover map[coverKey]int
}

func (r *runner) run(ctx context.Context) *Report {
	start := r.opts.Now()
	selected := r.select_()
	rep := &Report{Target: r.opts.Target, Stage: stageOf(r.opts.Target), Started: start, Scenarios: make([]ScenarioResult, len(selected))}
	if r.opts.Spec != nil {
		rep.Spec = r.opts.Spec.Source
	}
	if r.opts.Progress != nil {
		r.opts.Progress.Start(len(selected))
	}
	var (
		wg     sync.WaitGroup
		jobs   = make(chan int)
		failed sync.Once
		stop   = make(chan struct{})
	)
	for range min(r.opts.Parallel, max(len(selected), 1)) {
		wg.Go(func() {
			for i := range jobs {
				res := &rep.Scenarios[i]
				select {
				case <-stop:
					*res = skippedResult(selected[i], "not started: an earlier scenario failed (--fail-fast)")
				default:
					*res = r.scenario(ctx, selected[i])
				}
				if res.Outcome == Failed && r.opts.FailFast {
					failed.Do(func() { close(stop) })
				}
				if r.opts.Progress != nil {
					r.opts.Progress.Done(res)
				}
			}
		})
	}
	for i := range selected {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if r.opts.Progress != nil {
		r.opts.Progress.Finish()
	}
	rep.Totals.Duration = r.opts.Now().Sub(start)
	rep.total()
	rep.Coverage, rep.Uncovered = r.coverage(rep.Stage)
	return rep
}

// select_ applies --tags.
func (r *runner) select_() []*Scenario {
	if len(r.opts.Tags) == 0 {
		return r.opts.Scenarios
	}
	var out []*Scenario
	for _, s := range r.opts.Scenarios {
		if slices.ContainsFunc(r.opts.Tags, s.HasTag) {
			out = append(out, s)
		}
	}
	return out
}

func skippedResult(sc *Scenario, reason string) ScenarioResult {
	res := ScenarioResult{Name: sc.Name, File: scenarioFile(sc), Description: sc.Description, Tags: sc.Tags, Outcome: Skipped, SkipReason: reason}
	for _, part := range phases(sc) {
		for _, st := range part.steps {
			res.Steps = append(res.Steps, StepResult{Name: st.Name, Phase: part.name, Line: st.Line, Method: st.Request.Method, Path: st.Request.Path, Outcome: Skipped})
		}
	}
	return res
}

type phase struct {
	name  string
	steps []*Step
}

func phases(sc *Scenario) []phase {
	return []phase{{"setup", sc.Setup}, {"steps", sc.Steps}, {"teardown", sc.Teardown}}
}

// scenario runs one scenario: setup, steps (stopping at the first failure:
// later steps build on earlier ones), and teardown, which always runs.
func (r *runner) scenario(ctx context.Context, sc *Scenario) ScenarioResult {
	for _, tag := range sortedKeys(r.opts.SkipTags) {
		if sc.HasTag(tag) {
			return skippedResult(sc, r.opts.SkipTags[tag])
		}
	}
	start := r.opts.Now()
	res := ScenarioResult{Name: sc.Name, File: scenarioFile(sc), Description: sc.Description, Tags: sc.Tags, Outcome: Passed}
	fail := func(err error) ScenarioResult {
		out := skippedResult(sc, "")
		out.Outcome, out.SkipReason, out.Error = Failed, "", err.Error()
		out.Duration = r.opts.Now().Sub(start)
		return out
	}
	tgt := Target{BaseURL: r.opts.Target, Key: r.opts.Key}
	if r.opts.Isolate != nil {
		t, err := r.opts.Isolate.Provision(ctx, sc.Name)
		if err != nil {
			return fail(fmt.Errorf("isolate scenario: %w", err))
		}
		tgt = t
		if t.Release != nil {
			defer t.Release()
		}
	}
	sp := &scope{vals: map[string]any{}, now: r.opts.Now, newID: r.opts.NewID}
	for k, v := range sc.Vars {
		sp.vals[k] = v
	}
	for k, v := range r.opts.Vars {
		sp.vals[k] = v
	}
	var missing []string
	for _, k := range sortedKeys(sc.Vars) {
		if sp.vals[k] == nil {
			missing = append(missing, "--var "+k+"=...")
		}
	}
	if len(missing) > 0 {
		out := skippedResult(sc, "needs input: set "+strings.Join(missing, " "))
		return out
	}
	sp.vals["run"] = r.opts.NewID()
	sp.vals["gatewayRoot"] = gatewayRoot(tgt.BaseURL)
	contacts, err := resolveContacts(ctx, r.opts.Resolver, sc.TestContactIDs)
	if err != nil {
		return fail(err)
	}
	sp.contacts = contacts
	env := &matchEnv{scope: sp}
	if r.opts.Spec != nil && r.opts.Spec.Doc.Components != nil {
		env.schemas = r.opts.Spec.Doc.Components.Schemas
	}

	broken := false
	for _, part := range phases(sc) {
		for _, st := range part.steps {
			if broken && part.name != "teardown" {
				res.Steps = append(res.Steps, StepResult{Name: st.Name, Phase: part.name, Line: st.Line, Method: st.Request.Method, Path: st.Request.Path, Outcome: Skipped})
				continue
			}
			results := r.step(ctx, sc, st, part.name, tgt, env)
			res.Steps = append(res.Steps, results...)
			if results[len(results)-1].Outcome == Failed {
				broken = true
				res.Outcome = Failed
			}
		}
	}
	res.Duration = r.opts.Now().Sub(start)
	return res
}

// step runs one step, and again while its repeat condition holds.
func (r *runner) step(ctx context.Context, sc *Scenario, st *Step, phaseName string, tgt Target, env *matchEnv) []StepResult {
	var out []StepResult
	for round := 1; ; round++ {
		res, parsed := r.once(ctx, sc, st, phaseName, tgt, env)
		if st.Repeat != nil {
			res.Round = round
		}
		out = append(out, res)
		if res.Outcome == Failed || st.Repeat == nil {
			return out
		}
		again := true
		for _, pm := range st.Repeat.While {
			nodes, locs := selectNodes(pm, parsed)
			if _, mm := pm.Matcher.checkNodes(env, nodes, locs, pm.singular()); mm != nil {
				again = false
				break
			}
		}
		if !again {
			return out
		}
		if round >= st.Repeat.Max {
			last := &out[len(out)-1]
			last.Outcome = Failed
			last.Failures = append(last.Failures, Failure{Kind: KindRepeat, Path: "repeat.while", Expected: fmt.Sprintf("the condition to end within %d rounds", st.Repeat.Max), Actual: "still true"})
			return out
		}
	}
}

// once sends a step's request and checks the answer.
func (r *runner) once(ctx context.Context, sc *Scenario, st *Step, phaseName string, tgt Target, env *matchEnv) (StepResult, any) {
	res := StepResult{Name: st.Name, Phase: phaseName, Line: st.Line, Method: st.Request.Method, Path: st.Request.Path, Outcome: Passed}
	failNow := func(f Failure) (StepResult, any) {
		res.Outcome = Failed
		res.Failures = append(res.Failures, f)
		return res, nil
	}
	built, err := buildRequest(st, env.scope, tgt, sc.Name, body(st))
	if err != nil {
		return failNow(Failure{Kind: KindVariable, Expected: "every ${var} defined", Actual: err.Error()})
	}
	res.Path = built.rel
	res.Curl = curl(built)
	op, params := r.check.operation(built.method, built.path)
	if op != nil {
		res.Operation = op.ID
	}

	rctx, cancel := context.WithTimeout(ctx, r.opts.StepTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, built.method, built.url, bytes.NewReader(built.body))
	if err != nil {
		return failNow(Failure{Kind: KindTransport, Expected: "a valid request", Actual: err.Error()})
	}
	req.Header = built.header
	started := r.opts.Now()
	resp, err := r.opts.Client.Do(req)
	if err != nil {
		res.Duration = r.opts.Now().Sub(started)
		actual := err.Error()
		if errors.Is(err, context.DeadlineExceeded) {
			actual = fmt.Sprintf("no response within %s", r.opts.StepTimeout)
		}
		return failNow(Failure{Kind: KindTransport, Expected: "an HTTP response", Actual: actual})
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	_ = resp.Body.Close()
	res.Duration = r.opts.Now().Sub(started)
	res.Status = resp.StatusCode
	r.covered(op, built, resp.StatusCode)
	if err != nil {
		return failNow(Failure{Kind: KindTransport, Expected: "a complete response body", Actual: err.Error()})
	}

	var parsed any
	if len(bytes.TrimSpace(raw)) > 0 && isJSON(resp.Header.Get("Content-Type")) {
		if err := json.Unmarshal(raw, &parsed); err != nil {
			res.Failures = append(res.Failures, Failure{Kind: KindBody, Path: "$", Expected: "a JSON body", Actual: "invalid JSON: " + err.Error()})
		}
	}

	ex := &st.Expect
	if !slices.Contains(ex.Status, resp.StatusCode) {
		res.Failures = append(res.Failures, Failure{Kind: KindStatus, Path: "status", Expected: statusText(ex.Status), Actual: fmt.Sprint(resp.StatusCode)})
	}
	for _, pm := range ex.Headers {
		vals := resp.Header.Values(pm.Path)
		nodes := make([]any, len(vals))
		locs := make([]string, len(vals))
		for i, v := range vals {
			nodes[i], locs[i] = v, pm.Path
		}
		if _, mm := pm.Matcher.checkNodes(env, nodes, locs, true); mm != nil {
			res.Failures = append(res.Failures, Failure{Kind: KindHeader, Path: pm.Path, Expected: mm.Expected, Actual: mm.Actual})
		}
	}
	for _, pm := range ex.Body {
		nodes, locs := selectNodes(pm, parsed)
		if loc, mm := pm.Matcher.checkNodes(env, nodes, locs, pm.singular()); mm != nil {
			if loc == "" {
				loc = pm.Path
			}
			res.Failures = append(res.Failures, Failure{Kind: KindBody, Path: loc, Expected: mm.Expected, Actual: mm.Actual})
		}
	}
	if r.check.mode != SpecOff && (ex.Schema == nil || *ex.Schema) {
		vreq := requestForValidation(ctx, built.method, built.path, built.query, built.header, built.body)
		probs := r.check.validate(ctx, op, params, vreq, resp.StatusCode, resp.Header, raw, parsed)
		if r.check.mode == SpecWarn {
			res.Warnings = append(res.Warnings, probs...)
		} else {
			res.Failures = append(res.Failures, probs...)
		}
	}
	if ex.maxDuration > 0 && res.Duration > ex.maxDuration {
		res.Failures = append(res.Failures, Failure{Kind: KindDuration, Path: "duration", Expected: "at most " + ex.maxDuration.String(), Actual: res.Duration.String()})
	}
	// Captures run even when an expectation failed, so teardown can still
	// delete what the step created.
	for _, name := range sortedKeys(st.Capture) {
		v, ok := capture(st.Capture[name], st.captures[name], parsed, resp.Header)
		if !ok {
			res.Failures = append(res.Failures, Failure{Kind: KindCapture, Path: st.Capture[name], Expected: "a value to capture as " + name, Actual: "absent"})
			continue
		}
		env.scope.vals[name] = v
	}
	if len(res.Failures) > 0 {
		res.Outcome = Failed
		res.Response = capText(string(raw), 4000)
	}
	return res, parsed
}

func body(st *Step) []byte {
	if st.Request.RawBody != nil {
		return []byte(*st.Request.RawBody)
	}
	return st.Request.Body
}

func selectNodes(pm PathMatcher, doc any) ([]any, []string) {
	if doc == nil {
		return nil, nil
	}
	located := pm.query.SelectLocated(doc)
	nodes := make([]any, len(located))
	locs := make([]string, len(located))
	for i, n := range located {
		nodes[i], locs[i] = n.Node, dotPath(n.Path.String())
	}
	return nodes, locs
}

// singular reports whether the path names one place ($.a.b[0]) rather
// than a wildcard or filter.
func (pm PathMatcher) singular() bool {
	return pm.query != nil && pm.query.Query().Singular() != nil
}

// dotPath writes a normalized path ($['contact']['id'][0]) the way
// fixtures do ($.contact.id[0]) where the names allow it.
func dotPath(np string) string {
	return simpleMember.ReplaceAllString(np, ".$1")
}

var simpleMember = regexp.MustCompile(`\['([A-Za-z_][A-Za-z0-9_]*)'\]`)

func capture(src string, q *jsonpath.Path, parsed any, h http.Header) (any, bool) {
	if name, ok := strings.CutPrefix(src, "header:"); ok {
		v := h.Get(strings.TrimSpace(name))
		return v, v != ""
	}
	if parsed == nil || q == nil {
		return nil, false
	}
	nodes := q.Select(parsed)
	if len(nodes) == 0 {
		return nil, false
	}
	return nodes[0], true
}

func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

func statusText(s StatusSet) string {
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, " or ")
}

// stageOf names the gateway stage a base URL points at.
func stageOf(target string) string {
	u, err := url.Parse(target)
	if err != nil {
		return "other"
	}
	p := strings.Trim(u.Path, "/")
	switch {
	case p == "":
		return "production"
	case p == "staging" || strings.HasPrefix(p, "staging/"):
		return "staging"
	case p == "sandbox" || strings.HasPrefix(p, "sandbox/"):
		return "sandbox"
	}
	return "other"
}

func (r *runner) covered(op *openapi.Operation, b *builtRequest, status int) {
	k := coverKey{method: b.method, path: b.path, status: status}
	if op != nil {
		k = coverKey{op: op.ID, method: op.Method, path: op.Path, status: status}
	}
	r.mu.Lock()
	r.cover[k]++
	r.mu.Unlock()
}

func (r *runner) coverage(stage string) ([]CoverageCell, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var cells []CoverageCell
	seen := map[string]bool{}
	for k, n := range r.cover {
		name := k.op
		if name == "" {
			name = k.method + " " + k.path
		}
		seen[k.op] = true
		cells = append(cells, CoverageCell{Operation: name, Method: k.method, Path: k.path, Status: k.status, Stage: stage, Count: n})
	}
	slices.SortFunc(cells, func(a, b CoverageCell) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		if c := strings.Compare(a.Method, b.Method); c != 0 {
			return c
		}
		return a.Status - b.Status
	})
	var uncovered []string
	if r.opts.Spec != nil {
		for _, op := range r.opts.Spec.Operations {
			if !seen[op.ID] {
				uncovered = append(uncovered, op.ID)
			}
		}
	}
	return cells, uncovered
}
