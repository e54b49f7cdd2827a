package contracttests

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// WriteSummary writes the summary table and, for each failure, the step,
// the JSON path, expected and actual, and a curl command to reproduce it.
func WriteSummary(w io.Writer, r *Report) error {
	ew := &errWriter{w: w}
	for _, s := range r.Scenarios {
		if s.Outcome != Failed {
			continue
		}
		ew.printf("FAIL %s (%s)\n", s.Name, s.File)
		if s.Error != "" {
			ew.printf("  cannot run: %s\n", s.Error)
		}
		for _, st := range s.Steps {
			if st.Outcome != Failed {
				continue
			}
			round := ""
			if st.Round > 0 {
				round = fmt.Sprintf(" (round %d)", st.Round)
			}
			ew.printf("  step %q%s at %s:%d: %s %s → %d\n", st.Name, round, s.File, st.Line, st.Method, st.Path, st.Status)
			for _, f := range st.Failures {
				ew.printf("    [%s] %s\n      expected: %s\n      actual:   %s\n", f.Kind, orDash(f.Path), f.Expected, f.Actual)
			}
			if st.Curl != "" {
				ew.printf("    reproduce: %s\n", st.Curl)
			}
		}
		ew.printf("\n")
	}
	for _, s := range r.Scenarios {
		if s.Outcome == Skipped && s.SkipReason != "" {
			ew.printf("SKIP %s: %s\n", s.Name, s.SkipReason)
		}
	}
	t := r.Totals
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "\t\ttotal\tpassed\tfailed\tskipped\t\n")
	fmt.Fprintf(tw, "\tscenarios\t%d\t%d\t%d\t%d\t\n", t.Scenarios, t.Passed, t.Failed, t.Skipped)
	fmt.Fprintf(tw, "\tsteps\t%d\t%d\t%d\t%d\t\n", t.Steps, t.StepsPassed, t.StepsFailed, t.StepsSkipped)
	_ = tw.Flush()
	ew.printf("time %s (%.0f steps/s) against %s [%s]\n", t.Duration.Round(time.Millisecond), t.StepsPerSecond, r.Target, r.Stage)
	if len(r.Uncovered) > 0 {
		ew.printf("operations no step called: %s\n", strings.Join(r.Uncovered, ", "))
	}
	return ew.err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write json report: %w", err)
	}
	return nil
}

// JUnit XML: one testsuite, one testcase per scenario, the steps in
// system-out.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Body    string `xml:",chardata"`
}

// WriteJUnit writes the report as JUnit XML.
func WriteJUnit(w io.Writer, r *Report) error {
	secs := func(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
	suite := junitSuite{
		Name: "contract " + r.Target, Tests: r.Totals.Scenarios, Failures: r.Totals.Failed,
		Skipped: r.Totals.Skipped, Time: secs(r.Totals.Duration), Timestamp: r.Started.UTC().Format(time.RFC3339),
	}
	for _, s := range r.Scenarios {
		c := junitCase{Name: s.Name, Classname: "contract." + r.Stage, File: s.File, Time: secs(s.Duration)}
		var out strings.Builder
		for _, st := range s.Steps {
			fmt.Fprintf(&out, "%-7s %s/%s: %s %s", st.Outcome, st.Phase, st.Name, st.Method, st.Path)
			if st.Status != 0 {
				fmt.Fprintf(&out, " → %d", st.Status)
			}
			fmt.Fprintf(&out, " (%s)\n", st.Duration.Round(time.Microsecond))
			for _, f := range st.Failures {
				fmt.Fprintf(&out, "        [%s] %s: expected %s, actual %s\n", f.Kind, orDash(f.Path), f.Expected, f.Actual)
			}
			for _, f := range st.Warnings {
				fmt.Fprintf(&out, "        warning [%s] %s: expected %s, actual %s\n", f.Kind, orDash(f.Path), f.Expected, f.Actual)
			}
		}
		c.SystemOut = out.String()
		switch s.Outcome {
		case Failed:
			msg, body := failureText(&s)
			c.Failure = &junitMessage{Message: msg, Type: "contract", Body: body}
		case Skipped:
			c.Skipped = &junitMessage{Message: s.SkipReason}
		}
		suite.Cases = append(suite.Cases, c)
	}
	doc := junitSuites{Name: "ghlgate contract", Tests: suite.Tests, Failures: suite.Failures, Skipped: suite.Skipped, Time: suite.Time, Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// failureText is a failed scenario's first failure as a one-line message
// and a detailed body.
func failureText(s *ScenarioResult) (string, string) {
	if s.Error != "" {
		return s.Error, s.Error
	}
	st := s.FirstFailure()
	if st == nil || len(st.Failures) == 0 {
		return "failed", ""
	}
	f := st.Failures[0]
	msg := fmt.Sprintf("step %q: [%s] %s: expected %s, actual %s", st.Name, f.Kind, orDash(f.Path), f.Expected, f.Actual)
	var b strings.Builder
	for _, f := range st.Failures {
		fmt.Fprintf(&b, "[%s] %s\n  expected: %s\n  actual:   %s\n", f.Kind, orDash(f.Path), f.Expected, f.Actual)
	}
	fmt.Fprintf(&b, "reproduce: %s\n", st.Curl)
	if st.Response != "" {
		fmt.Fprintf(&b, "response: %s\n", st.Response)
	}
	return msg, b.String()
}

// NewProgress returns a Progress for w: a redrawn bar when w is a
// terminal, one plain line per scenario otherwise (CI logs).
func NewProgress(w io.Writer) Progress {
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			return &barProgress{w: w}
		}
	}
	return &lineProgress{w: w}
}

type lineProgress struct {
	mu          sync.Mutex
	w           io.Writer
	total, done int
}

func (p *lineProgress) Start(total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total = total
}

func (p *lineProgress) Done(r *ScenarioResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	line := fmt.Sprintf("[%d/%d] %-7s %s (%s)", p.done, p.total, strings.ToUpper(string(r.Outcome)), r.Name, r.Duration.Round(time.Millisecond))
	if r.Outcome == Skipped && r.SkipReason != "" {
		line += ": " + r.SkipReason
	}
	fmt.Fprintln(p.w, line)
}

func (p *lineProgress) Finish() {}

type barProgress struct {
	mu                         sync.Mutex
	w                          io.Writer
	total, done, failed, skips int
}

func (p *barProgress) Start(total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total = total
	p.draw("")
}

func (p *barProgress) Done(r *ScenarioResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	switch r.Outcome {
	case Failed:
		p.failed++
		fmt.Fprintf(p.w, "\r\033[K✗ %s\n", r.Name)
	case Skipped:
		p.skips++
	}
	p.draw(r.Name)
}

func (p *barProgress) draw(last string) {
	const width = 30
	filled := 0
	if p.total > 0 {
		filled = p.done * width / p.total
	}
	fmt.Fprintf(p.w, "\r\033[K[%s%s] %d/%d  %d failed  %d skipped  %s",
		strings.Repeat("█", filled), strings.Repeat("░", width-filled), p.done, p.total, p.failed, p.skips, capText(last, 40))
}

func (p *barProgress) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprint(p.w, "\r\033[K")
}
