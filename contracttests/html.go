package contracttests

import (
	"fmt"
	"html/template"
	"io"
	"slices"
	"time"
)

// htmlCoverage is the operation × status matrix of the HTML report.
type htmlCoverage struct {
	Statuses []int
	Rows     []htmlCoverageRow
}

type htmlCoverageRow struct {
	Operation, Method, Path string
	Counts                  []int // per Statuses; 0 = not seen
	Covered                 bool
}

func coverageMatrix(r *Report) htmlCoverage {
	var m htmlCoverage
	for _, c := range r.Coverage {
		if !slices.Contains(m.Statuses, c.Status) {
			m.Statuses = append(m.Statuses, c.Status)
		}
	}
	slices.Sort(m.Statuses)
	idx := map[string]int{}
	for _, c := range r.Coverage {
		i, ok := idx[c.Operation]
		if !ok {
			i = len(m.Rows)
			idx[c.Operation] = i
			m.Rows = append(m.Rows, htmlCoverageRow{Operation: c.Operation, Method: c.Method, Path: c.Path, Counts: make([]int, len(m.Statuses)), Covered: true})
		}
		m.Rows[i].Counts[slices.Index(m.Statuses, c.Status)] += c.Count
	}
	for _, op := range r.Uncovered {
		m.Rows = append(m.Rows, htmlCoverageRow{Operation: op, Counts: make([]int, len(m.Statuses))})
	}
	return m
}

var htmlReport = template.Must(template.New("report").Funcs(template.FuncMap{
	"ms": func(d time.Duration) string { return d.Round(time.Millisecond).String() },
	"pct": func(a, b int) string {
		if b == 0 {
			return "0"
		}
		return fmt.Sprintf("%.0f", 100*float64(a)/float64(b))
	},
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Contract run: {{.R.Target}}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2em;color:#1b1f24;max-width:1200px}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f4f5f7}.n{text-align:right}.zero{color:#bbb}
.passed{color:#137333}.failed{color:#c5221f}.skipped{color:#8a6d00}
.badge{display:inline-block;padding:0 6px;border-radius:3px;font-weight:600}
.passed .badge,.badge.passed{background:#e6f4ea}.failed .badge,.badge.failed{background:#fce8e6}.skipped .badge,.badge.skipped{background:#fef7e0}
details{margin:.3em 0}summary{cursor:pointer}
pre{background:#f6f8fa;padding:6px;white-space:pre-wrap;word-break:break-all;margin:.2em 0}
del{background:#fce8e6;text-decoration:none;display:block;padding:2px 6px}ins{background:#e6f4ea;text-decoration:none;display:block;padding:2px 6px}
.uncovered td{background:#fff4f4}
</style></head><body>
<h1>Contract run against <code>{{.R.Target}}</code> <span class="badge {{if .R.Failed}}failed{{else}}passed{{end}}">{{if .R.Failed}}FAILED{{else}}PASSED{{end}}</span></h1>
<p>Stage <b>{{.R.Stage}}</b> · spec <code>{{.R.Spec}}</code> · started {{.R.Started.UTC.Format "2006-01-02 15:04:05Z"}} · {{ms .R.Totals.Duration}} · {{printf "%.0f" .R.Totals.StepsPerSecond}} steps/s</p>
<table><tr><th></th><th>total</th><th>passed</th><th>failed</th><th>skipped</th></tr>
<tr><th>scenarios</th><td class="n">{{.R.Totals.Scenarios}}</td><td class="n passed">{{.R.Totals.Passed}}</td><td class="n failed">{{.R.Totals.Failed}}</td><td class="n skipped">{{.R.Totals.Skipped}}</td></tr>
<tr><th>steps</th><td class="n">{{.R.Totals.Steps}}</td><td class="n passed">{{.R.Totals.StepsPassed}}</td><td class="n failed">{{.R.Totals.StepsFailed}}</td><td class="n skipped">{{.R.Totals.StepsSkipped}}</td></tr></table>

{{if .Failed}}<h2>Failures</h2>
{{range .Failed}}<h3 class="failed">{{.Name}} <small>({{.File}})</small></h3>
{{if .Error}}<p>Could not run: {{.Error}}</p>{{end}}
{{range .Steps}}{{if eq .Outcome "failed"}}<p><b>{{.Phase}} / {{.Name}}</b>{{if .Round}} (round {{.Round}}){{end}} line {{.Line}}: <code>{{.Method}} {{.Path}}</code> → {{.Status}} {{if .Operation}}<small>({{.Operation}})</small>{{end}}</p>
<table><tr><th>kind</th><th>path</th><th>expected / actual</th></tr>
{{range .Failures}}<tr><td>{{.Kind}}</td><td><code>{{.Path}}</code></td><td><del>− {{.Expected}}</del><ins>+ {{.Actual}}</ins></td></tr>{{end}}
</table>
<details><summary>reproduce</summary><pre>{{.Curl}}</pre></details>
{{if .Response}}<details><summary>response body</summary><pre>{{.Response}}</pre></details>{{end}}
{{end}}{{end}}{{end}}{{end}}

<h2>Coverage: operation × status ({{.R.Stage}})</h2>
<table><tr><th>operation</th><th>method path</th>{{range .Cov.Statuses}}<th class="n">{{.}}</th>{{end}}</tr>
{{range .Cov.Rows}}<tr{{if not .Covered}} class="uncovered"{{end}}><td>{{.Operation}}</td><td><code>{{.Method}} {{.Path}}</code>{{if not .Covered}} <i>not called</i>{{end}}</td>{{range .Counts}}<td class="n{{if eq . 0}} zero{{end}}">{{.}}</td>{{end}}</tr>
{{end}}</table>

<h2>Scenarios</h2>
{{range .R.Scenarios}}<details class="{{.Outcome}}"><summary><span class="badge">{{.Outcome}}</span> {{.Name}} <small>{{ms .Duration}} · {{.File}}{{range .Tags}} · {{.}}{{end}}</small>{{if .SkipReason}} — {{.SkipReason}}{{end}}</summary>
<p>{{.Description}}</p>
<table><tr><th>phase</th><th>step</th><th>request</th><th>status</th><th>time</th></tr>
{{range .Steps}}<tr class="{{.Outcome}}"><td>{{.Phase}}</td><td>{{.Name}}{{if .Round}} #{{.Round}}{{end}}</td><td><code>{{.Method}} {{.Path}}</code></td><td>{{if .Status}}{{.Status}}{{end}}</td><td class="n">{{ms .Duration}}</td></tr>{{end}}
</table></details>
{{end}}
</body></html>
`))

// WriteHTML writes a self-contained HTML page (no external assets):
// totals, failures with expected/actual diffs and curl commands, the
// operation × status coverage of the run's stage, and every scenario.
func WriteHTML(w io.Writer, r *Report) error {
	var failed []ScenarioResult
	for _, s := range r.Scenarios {
		if s.Outcome == Failed {
			failed = append(failed, s)
		}
	}
	err := htmlReport.Execute(w, struct {
		R      *Report
		Failed []ScenarioResult
		Cov    htmlCoverage
	}{r, failed, coverageMatrix(r)})
	if err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	return nil
}
