package contracttests

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"github.com/theory/jsonpath"
	"go.yaml.in/yaml/v3"

	fixtureschema "github.com/rankr/ghlgate/fixtures/schema"
)

// Scenario is one fixture file: ordered steps replayed against a target.
type Scenario struct {
	Name           string         `json:"name"`
	Description    string         `json:"description"`
	Tags           []string       `json:"tags,omitempty"`
	TestFlag       bool           `json:"testFlag"`
	TestContactIDs []string       `json:"testContactIds,omitempty"`
	Vars           map[string]any `json:"vars,omitempty"`
	Setup          []*Step        `json:"setup,omitempty"`
	Steps          []*Step        `json:"steps"`
	Teardown       []*Step        `json:"teardown,omitempty"`

	// File is the path the scenario was read from, relative to its folder.
	File string `json:"-"`
}

// HasTag reports whether the scenario carries tag.
func (s *Scenario) HasTag(tag string) bool { return slices.Contains(s.Tags, tag) }

// Step is one request and what its answer must look like.
type Step struct {
	Name    string            `json:"name"`
	Request Request           `json:"request"`
	Expect  Expect            `json:"expect"`
	Capture map[string]string `json:"capture,omitempty"`
	Repeat  *Repeat           `json:"repeat,omitempty"`

	// Line is the step's line in its file.
	Line int `json:"-"`

	captures map[string]*jsonpath.Path // body captures, compiled
}

// Request is a step's request; strings may hold ${var} references.
type Request struct {
	Method  string             `json:"method"`
	Path    string             `json:"path"`
	Base    string             `json:"base,omitempty"`
	Query   map[string]any     `json:"query,omitempty"`
	Headers map[string]*string `json:"headers,omitempty"`
	Body    json.RawMessage    `json:"body,omitempty"`
	RawBody *string            `json:"rawBody,omitempty"`
}

// Expect is what a step's response must satisfy.
type Expect struct {
	Status      StatusSet    `json:"status"`
	Headers     PathMatchers `json:"headers,omitempty"`
	Body        PathMatchers `json:"body,omitempty"`
	Schema      *bool        `json:"schema,omitempty"`
	MaxDuration string       `json:"maxDuration,omitempty"`

	maxDuration time.Duration
}

// Repeat runs a step again while every matcher of While holds.
type Repeat struct {
	While PathMatchers `json:"while"`
	Max   int          `json:"max"`
}

// StatusSet is one status or a list of acceptable statuses.
type StatusSet []int

// UnmarshalJSON accepts 200 or [200, 201].
func (s *StatusSet) UnmarshalJSON(b []byte) error {
	var one int
	if err := json.Unmarshal(b, &one); err == nil {
		*s = StatusSet{one}
		return nil
	}
	var many []int
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("status: %w", err)
	}
	*s = many
	return nil
}

// MarshalJSON writes one status as a number.
func (s StatusSet) MarshalJSON() ([]byte, error) {
	if len(s) == 1 {
		return json.Marshal(s[0])
	}
	return json.Marshal([]int(s))
}

// PathMatcher is one "path: matcher" entry of a step's expectations. Path is
// a JSONPath into the body, or a header name for header expectations.
type PathMatcher struct {
	Path    string
	Matcher *Matcher

	query *jsonpath.Path
}

// PathMatchers is an object of path → matcher, kept sorted by path so runs
// and reports are stable.
type PathMatchers []PathMatcher

// UnmarshalJSON reads an object of path → matcher.
func (p *PathMatchers) UnmarshalJSON(b []byte) error {
	var m map[string]*Matcher
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	out := make(PathMatchers, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, PathMatcher{Path: k, Matcher: m[k]})
	}
	*p = out
	return nil
}

// MarshalJSON writes the object back.
func (p PathMatchers) MarshalJSON() ([]byte, error) {
	m := make(map[string]*Matcher, len(p))
	for _, pm := range p {
		m[pm.Path] = pm.Matcher
	}
	return json.Marshal(m)
}

// Matcher is a set of checks on one JSON value; every check set must hold.
// A scalar or array in a fixture is shorthand for Equals.
type Matcher struct {
	Equals    json.RawMessage `json:"equals,omitempty"`
	Like      json.RawMessage `json:"like,omitempty"`
	Type      string          `json:"type,omitempty"`
	Regex     string          `json:"regex,omitempty"`
	Datetime  string          `json:"datetime,omitempty"`
	Include   json.RawMessage `json:"include,omitempty"`
	Present   *bool           `json:"present,omitempty"`
	OneOf     []any           `json:"oneOf,omitempty"`
	Range     *Range          `json:"range,omitempty"`
	Length    *int            `json:"length,omitempty"`
	MinLength *int            `json:"minLength,omitempty"`
	MaxLength *int            `json:"maxLength,omitempty"`
	EachValue *Matcher        `json:"eachValue,omitempty"`
	EachLike  json.RawMessage `json:"eachLike,omitempty"`
	Schema    string          `json:"schema,omitempty"`

	re                         *regexp.Regexp
	equals, like, incl, eachLk any
}

// Range bounds a number; either end may be open.
type Range struct {
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
}

type matcherFields Matcher

// UnmarshalJSON reads a matcher object, or a scalar or array as Equals.
func (m *Matcher) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var f matcherFields
		if err := json.Unmarshal(b, &f); err != nil {
			return err
		}
		*m = Matcher(f)
		return nil
	}
	*m = Matcher{Equals: slices.Clone(b)}
	return nil
}

// FixtureError is a fixture the runner refuses before anything is sent: a
// file that is not YAML, does not match the fixture schema, or holds an
// unusable JSONPath or regex.
type FixtureError struct {
	File    string
	Line    int    // 0 when unknown
	Pointer string // JSON pointer into the document, "" for the whole file
	Reason  string
}

func (e *FixtureError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc += ":" + strconv.Itoa(e.Line)
	}
	if e.Pointer != "" {
		return fmt.Sprintf("%s: %s: %s", loc, e.Pointer, e.Reason)
	}
	return fmt.Sprintf("%s: %s", loc, e.Reason)
}

// ErrFixture is wrapped by every *FixtureError list LoadScenarios returns.
var ErrFixture = errors.New("invalid fixture")

// FixtureErrors is every problem LoadScenarios found, all files at once.
type FixtureErrors []*FixtureError

func (fe FixtureErrors) Error() string {
	lines := make([]string, len(fe))
	for i, e := range fe {
		lines[i] = e.Error()
	}
	return fmt.Sprintf("%d fixture problem(s):\n  %s", len(fe), strings.Join(lines, "\n  "))
}

// Unwrap lets errors.Is(err, ErrFixture) and errors.As(err, **FixtureError)
// work.
func (fe FixtureErrors) Unwrap() []error {
	out := []error{ErrFixture}
	for _, e := range fe {
		out = append(out, e)
	}
	return out
}

var compiledSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(fixtureschema.Scenario))
	if err != nil {
		return nil, fmt.Errorf("fixture schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(fixtureschema.ScenarioURL, doc); err != nil {
		return nil, fmt.Errorf("fixture schema: %w", err)
	}
	s, err := c.Compile(fixtureschema.ScenarioURL)
	if err != nil {
		return nil, fmt.Errorf("fixture schema: %w", err)
	}
	return s, nil
})

// LoadScenarios reads every *.yaml and *.yml file of fsys (recursively),
// validates each against the fixture schema and compiles its matchers. It
// collects every problem of every file before failing with FixtureErrors;
// duplicate scenario names are a problem too. Scenarios come back sorted by
// file name.
func LoadScenarios(fsys fs.FS) ([]*Scenario, error) {
	var files []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list fixtures: %w", err)
	}
	slices.Sort(files)
	var (
		out   []*Scenario
		probs FixtureErrors
		names = map[string]string{}
	)
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			probs = append(probs, &FixtureError{File: f, Reason: "read: " + err.Error()})
			continue
		}
		sc, errs := ParseScenario(f, data)
		probs = append(probs, errs...)
		if sc == nil {
			continue
		}
		if prev, dup := names[sc.Name]; dup {
			probs = append(probs, &FixtureError{File: f, Line: 1, Pointer: "/name", Reason: fmt.Sprintf("scenario name %q is also used by %s", sc.Name, prev)})
			continue
		}
		names[sc.Name] = f
		out = append(out, sc)
	}
	if len(probs) > 0 {
		return nil, probs
	}
	if len(out) == 0 {
		return nil, FixtureErrors{{File: ".", Reason: "no *.yaml scenario files found"}}
	}
	return out, nil
}

// ParseScenario parses and checks one fixture file. It returns every problem
// found, each with its line.
func ParseScenario(file string, data []byte) (*Scenario, FixtureErrors) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, FixtureErrors{yamlError(file, err)}
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		return nil, FixtureErrors{{File: file, Line: 1, Reason: "empty file"}}
	}
	var raw any
	if err := root.Decode(&raw); err != nil {
		return nil, FixtureErrors{yamlError(file, err)}
	}
	js, err := json.Marshal(jsonable(raw))
	if err != nil {
		return nil, FixtureErrors{{File: file, Line: 1, Reason: "not representable as JSON: " + err.Error()}}
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		return nil, FixtureErrors{{File: file, Line: 1, Reason: err.Error()}}
	}
	sch, err := compiledSchema()
	if err != nil {
		return nil, FixtureErrors{{File: file, Reason: err.Error()}}
	}
	if err := sch.Validate(inst); err != nil {
		var ve *jsonschema.ValidationError
		if !errors.As(err, &ve) {
			return nil, FixtureErrors{{File: file, Line: 1, Reason: err.Error()}}
		}
		var out FixtureErrors
		for _, leaf := range leaves(ve) {
			reason := leafReason(leaf)
			if v, ok := valueAt(raw, leaf.InstanceLocation); ok {
				reason += " (got " + show(v) + ")"
			}
			out = append(out, &FixtureError{
				File: file, Line: lineAt(&root, leaf.InstanceLocation),
				Pointer: pointer(leaf.InstanceLocation), Reason: reason,
			})
		}
		return nil, out
	}
	sc := &Scenario{File: file}
	if err := json.Unmarshal(js, sc); err != nil {
		return nil, FixtureErrors{{File: file, Line: 1, Reason: err.Error()}}
	}
	var out FixtureErrors
	for _, part := range []struct {
		key   string
		steps []*Step
	}{{"setup", sc.Setup}, {"steps", sc.Steps}, {"teardown", sc.Teardown}} {
		for i, st := range part.steps {
			base := []string{part.key, strconv.Itoa(i)}
			st.Line = lineAt(&root, base)
			out = append(out, st.compile(file, &root, base)...)
		}
	}
	out = append(out, checkRefs(sc)...)
	if len(out) > 0 {
		return nil, out
	}
	return sc, nil
}

func (st *Step) compile(file string, root *yaml.Node, base []string) FixtureErrors {
	var out FixtureErrors
	fail := func(loc []string, format string, args ...any) {
		out = append(out, &FixtureError{File: file, Line: lineAt(root, loc), Pointer: pointer(loc), Reason: fmt.Sprintf(format, args...)})
	}
	at := func(toks ...string) []string { return append(slices.Clone(base), toks...) }
	if st.Expect.MaxDuration != "" {
		d, err := time.ParseDuration(st.Expect.MaxDuration)
		if err != nil {
			fail(at("expect", "maxDuration"), "%v", err)
		}
		st.Expect.maxDuration = d
	}
	compileAll := func(list PathMatchers, jsonPaths bool, toks ...string) {
		for i := range list {
			pm := &list[i]
			loc := at(append(slices.Clone(toks), pm.Path)...)
			if jsonPaths {
				q, err := jsonpath.Parse(pm.Path)
				if err != nil {
					fail(loc, "JSONPath %q: %v", pm.Path, err)
					continue
				}
				pm.query = q
			}
			if err := pm.Matcher.compile(); err != nil {
				fail(loc, "%v", err)
			}
		}
	}
	compileAll(st.Expect.Headers, false, "expect", "headers")
	compileAll(st.Expect.Body, true, "expect", "body")
	if st.Repeat != nil {
		compileAll(st.Repeat.While, true, "repeat", "while")
	}
	for _, name := range sortedKeys(st.Capture) {
		src := st.Capture[name]
		if strings.HasPrefix(src, "header:") {
			if strings.TrimSpace(strings.TrimPrefix(src, "header:")) == "" {
				fail(at("capture", name), "capture %s: empty header name", name)
			}
			continue
		}
		q, err := jsonpath.Parse(src)
		if err != nil {
			fail(at("capture", name), "capture %s: JSONPath %q: %v", name, src, err)
			continue
		}
		if st.captures == nil {
			st.captures = map[string]*jsonpath.Path{}
		}
		st.captures[name] = q
	}
	if st.Request.Body != nil && st.Request.Method == "GET" {
		fail(at("request", "body"), "a GET request has no body")
	}
	return out
}

// compile decodes the raw values once and compiles the regex.
func (m *Matcher) compile() error {
	dec := func(raw json.RawMessage, dst *any) error {
		if raw == nil {
			return nil
		}
		return json.Unmarshal(raw, dst)
	}
	if err := errors.Join(dec(m.Equals, &m.equals), dec(m.Like, &m.like), dec(m.Include, &m.incl), dec(m.EachLike, &m.eachLk)); err != nil {
		return err
	}
	if m.Regex != "" {
		re, err := regexp.Compile(`^(?:` + m.Regex + `)$`)
		if err != nil {
			return fmt.Errorf("regex %q: %w", m.Regex, err)
		}
		m.re = re
	}
	if m.Datetime != "" {
		if _, ok := datetimeLayouts[m.Datetime]; !ok && !strings.ContainsAny(m.Datetime, "0123456789") {
			return fmt.Errorf("datetime %q: want iso8601, date, or a Go layout such as 2006-01-02T15:04:05Z07:00", m.Datetime)
		}
	}
	if m.Range != nil && m.Range.Min != nil && m.Range.Max != nil && *m.Range.Min > *m.Range.Max {
		return fmt.Errorf("range: min %v > max %v", *m.Range.Min, *m.Range.Max)
	}
	if m.EachValue != nil {
		return m.EachValue.compile()
	}
	return nil
}

// jsonable turns what yaml.v3 decodes into values encoding/json accepts.
func jsonable(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = jsonable(x)
		}
		return t
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[fmt.Sprint(k)] = jsonable(x)
		}
		return out
	case []any:
		for i, x := range t {
			t[i] = jsonable(x)
		}
		return t
	case time.Time:
		return t.Format(time.RFC3339Nano)
	}
	return v
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

func yamlError(file string, err error) *FixtureError {
	fe := &FixtureError{File: file, Reason: "YAML: " + err.Error()}
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		fe.Line, _ = strconv.Atoi(m[1])
	}
	return fe
}

// leaves returns the innermost validation errors: the ones that say what
// is wrong, not that "oneOf failed".
func leaves(ve *jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(ve.Causes) == 0 {
		return []*jsonschema.ValidationError{ve}
	}
	var out []*jsonschema.ValidationError
	for _, c := range ve.Causes {
		out = append(out, leaves(c)...)
	}
	// A oneOf over "scalar or matcher" fails both branches at the same
	// place: drop the "wrong type" leaf when a more telling one is there.
	telling := map[string]bool{}
	for _, l := range out {
		if _, isType := l.ErrorKind.(*kind.Type); !isType {
			telling[pointer(l.InstanceLocation)] = true
		}
	}
	kept := out[:0]
	seen := map[string]bool{}
	for _, l := range out {
		p := pointer(l.InstanceLocation)
		if _, isType := l.ErrorKind.(*kind.Type); isType && telling[p] {
			continue
		}
		key := p + "\x00" + leafReason(l)
		if seen[key] {
			continue
		}
		seen[key] = true
		kept = append(kept, l)
	}
	return kept
}

func leafReason(ve *jsonschema.ValidationError) string {
	s := ve.Error()
	// "jsonschema validation failed with 'url#'\n- at '/x': reason" → reason
	if i := strings.LastIndex(s, "': "); i >= 0 {
		s = s[i+3:]
	}
	return strings.TrimSpace(s)
}

func pointer(toks []string) string {
	if len(toks) == 0 {
		return ""
	}
	var b strings.Builder
	for _, t := range toks {
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(t))
	}
	return b.String()
}

// valueAt returns the scalar at a location of the decoded document.
func valueAt(doc any, toks []string) (any, bool) {
	for _, t := range toks {
		switch c := doc.(type) {
		case map[string]any:
			doc = c[t]
		case []any:
			i, err := strconv.Atoi(t)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			doc = c[i]
		default:
			return nil, false
		}
	}
	switch doc.(type) {
	case map[string]any, []any:
		return nil, false
	}
	return doc, true
}

// lineAt walks a YAML document by JSON-pointer tokens and returns the line
// of the deepest node it reaches.
func lineAt(root *yaml.Node, toks []string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, t := range toks {
		var next *yaml.Node
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == t {
					next = n.Content[i+1]
					line = n.Content[i].Line
					break
				}
			}
		case yaml.SequenceNode:
			if i, err := strconv.Atoi(t); err == nil && i >= 0 && i < len(n.Content) {
				next = n.Content[i]
				line = next.Line
			}
		}
		if next == nil {
			return line
		}
		n = next
	}
	return line
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// scenarioFile names a scenario for messages: its file, else its name.
func scenarioFile(s *Scenario) string {
	if s.File != "" {
		return path.Clean(s.File)
	}
	return s.Name
}
