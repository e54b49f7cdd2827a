package mocks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// FaultHeader is the request header carrying fault directives, e.g.
// "X-Mock-Fault: latency=300ms,status=503".
const FaultHeader = "X-Mock-Fault"

// ErrFault reports a fault directive the mock cannot parse.
var ErrFault = errors.New("invalid fault directive")

// Fault is what to do to one request before (or instead of) answering it.
type Fault struct {
	// Latency delays the answer; the delay uses the real timer and ends
	// early when the request's context is cancelled.
	Latency time.Duration
	// Status, when non-zero, answers with this status and GHL's error shape
	// instead of running the operation (429 carries exhausted rate headers).
	Status int
	// Reset closes the connection without an answer.
	Reset bool
}

// ParseFault parses comma-separated directives: "latency=300ms",
// "status=429" (any 4xx or 5xx), "reset".
func ParseFault(s string) (Fault, error) {
	var f Fault
	for _, d := range strings.Split(s, ",") {
		d = strings.TrimSpace(d)
		key, val, _ := strings.Cut(d, "=")
		switch key {
		case "":
			continue
		case "latency":
			lat, err := time.ParseDuration(val)
			if err != nil || lat < 0 {
				return Fault{}, fmt.Errorf("%w: %q: want a duration like 300ms", ErrFault, d)
			}
			f.Latency = lat
		case "status":
			st, err := strconv.Atoi(val)
			if err != nil || st < 400 || st > 599 {
				return Fault{}, fmt.Errorf("%w: %q: want a 4xx or 5xx status", ErrFault, d)
			}
			f.Status = st
		case "reset":
			f.Reset = true
		default:
			return Fault{}, fmt.Errorf("%w: %q: want latency=, status= or reset", ErrFault, d)
		}
	}
	return f, nil
}

// merge combines two faults: the longer latency, the first non-zero status
// (so a request's header wins over configured rules), either reset.
func (f Fault) merge(g Fault) Fault {
	out := f
	out.Latency = max(f.Latency, g.Latency)
	if out.Status == 0 {
		out.Status = g.Status
	}
	out.Reset = f.Reset || g.Reset
	return out
}

func (f Fault) zero() bool { return f == Fault{} }

// FaultRule injects a fault into matching requests, from configuration.
type FaultRule struct {
	// Method matches the request method; empty matches any.
	Method string `yaml:"method" json:"method"`
	// PathPrefix matches the start of the path relative to the API root
	// (e.g. "/contacts/"); empty matches any.
	PathPrefix string `yaml:"pathPrefix" json:"pathPrefix"`
	// Fault is the directives, as in the X-Mock-Fault header.
	Fault string `yaml:"fault" json:"fault"`
	// Probability in (0, 1] applies the fault at random (Options.Rand);
	// zero means always unless Every is set.
	Probability float64 `yaml:"probability" json:"probability"`
	// Every N applies the fault to every Nth matching request (N, 2N, ...).
	Every int `yaml:"every" json:"every"`
}

type compiledRule struct {
	FaultRule
	fault Fault
	seen  atomic.Uint64
}

func compileRules(rules []FaultRule) ([]*compiledRule, error) {
	out := make([]*compiledRule, 0, len(rules))
	var errs []error
	for i, r := range rules {
		f, err := ParseFault(r.Fault)
		if err != nil {
			errs = append(errs, fmt.Errorf("fault rule %d: %w", i, err))
			continue
		}
		if r.Probability < 0 || r.Probability > 1 {
			errs = append(errs, fmt.Errorf("fault rule %d: %w: probability %v not in [0, 1]", i, ErrFault, r.Probability))
		}
		if r.Every < 0 {
			errs = append(errs, fmt.Errorf("fault rule %d: %w: every %d is negative", i, ErrFault, r.Every))
		}
		out = append(out, &compiledRule{FaultRule: r, fault: f})
	}
	return out, errors.Join(errs...)
}

func (c *compiledRule) applies(r *http.Request, rnd func() float64) bool {
	if c.Method != "" && !strings.EqualFold(c.Method, r.Method) {
		return false
	}
	if !strings.HasPrefix(r.URL.Path, c.PathPrefix) {
		return false
	}
	if c.Every > 0 && c.seen.Add(1)%uint64(c.Every) != 0 {
		return false
	}
	if c.Probability > 0 && rnd() >= c.Probability {
		return false
	}
	return true
}

// wait sleeps for d on the real timer, or until ctx ends.
func wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// resetConnection drops the client's connection without an answer: it
// hijacks the connection and closes it with a TCP RST where it can, and
// otherwise aborts the handler, which net/http turns into a dropped stream.
func resetConnection(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = conn.Close()
		return
	}
	panic(http.ErrAbortHandler)
}
