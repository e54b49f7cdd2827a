// Package contracttests is ghlgate's contract suite: the fixture format, the
// runner that replays scenarios against any base URL, the reports, the
// recorder that turns real exchanges into fixtures, and the spec diff gate.
//
// A scenario is one YAML file (see fixtures/scenarios and the JSON Schema in
// fixtures/schema): ordered steps, each a request with ${var} substitution
// and expectations on status, headers and body (matchers by JSON path, close
// to Pact's vocabulary: equals, like, type, regex, datetime, include,
// present, oneOf, range, length, eachValue, eachLike, schema), plus captures
// for later steps. Fixtures are validated against the JSON Schema before
// anything is sent; a broken fixture is a *FixtureError with file and line,
// never a failed test.
//
// Run replays scenarios, validates every response against the OpenAPI
// description as well as against the expectations, and returns a *Report
// that WriteJUnit, WriteJSON, WriteHTML and WriteSummary render. ExitCode
// maps a run to 0 (all passed), 1 (a failure) or 2 (usage, fixture or
// connection error).
//
// Against a ghlgate, scenarios tagged gateway check its own rules (keys,
// scopes, locations, stages, problem details, rate limits) and take the
// keys they need as variables; MakeSuiteKeys creates them in a key store
// (KeyMaker: *auth.Store is one), and KeyProvisioner runs each scenario as
// a client of its own, in its own sandbox. VerifyOnStart runs the library
// against a starting gateway and records the outcome in Runs, which serves
// the latest runs as JSON. NewRecordingProxy records real exchanges for
// Record.
package contracttests
