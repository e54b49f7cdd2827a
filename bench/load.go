package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

func drain(r *http.Request) {
	io.Copy(io.Discard, r.Body) //nolint:errcheck // a fake upstream ignores bad bodies
	r.Body.Close()
}

// Endpoint is one benchmarked operation.
type Endpoint struct {
	// Name is what the tables print ("GET /contacts/{id}").
	Name   string
	Method string
	// Path is relative to the target's base URL, query included.
	Path string
	Body []byte
	// Status is the answer every request must get.
	Status int
}

// Endpoints are the four operations issue 7 asks for.
func Endpoints() []Endpoint {
	return []Endpoint{
		{Name: "GET /contacts/{id}", Method: http.MethodGet, Path: "/contacts/" + benchContact, Status: http.StatusOK},
		{Name: "GET /contacts/?locationId", Method: http.MethodGet, Path: "/contacts/?locationId=" + benchLocation + "&limit=20", Status: http.StatusOK},
		{Name: "PUT /contacts/{id}", Method: http.MethodPut, Path: "/contacts/" + benchContact,
			Body:   []byte(`{"firstName":"Rosan","lastName":"Deo","email":"rosan@deos.com","tags":["customer","vip"],"customFields":[{"id":"MgobCB14YMVKuE4Ka8p1","value":"updated"}]}`),
			Status: http.StatusOK},
		{Name: "POST /contacts/", Method: http.MethodPost, Path: "/contacts/",
			Body:   []byte(`{"locationId":"` + benchLocation + `","firstName":"Rosan","lastName":"Deo","email":"rosan@deos.com","phone":"+18887324197","tags":["nisi sint commodo amet"],"source":"public api"}`),
			Status: http.StatusCreated},
	}
}

// ErrUnexpectedStatus means a target answered a benchmark request with
// another status than the endpoint's: the figures would measure an error
// path, so the run stops.
var ErrUnexpectedStatus = errors.New("unexpected status")

// ErrResponseViolation means ghlgate found the fake upstream's answer
// breaking the spec: validation would not run its conforming path.
var ErrResponseViolation = errors.New("response breaks the spec")

// violationsHeader is set by ghlgate on answers that break the spec (report mode).
const violationsHeader = "X-Ghlgate-Response-Violations"

// loadTarget is where a load is sent.
type loadTarget struct {
	base   string
	header http.Header // sent with every request (Authorization)
	client *http.Client
}

// newClient is the load generator's client: one shared transport with a
// keep-alive connection per worker, no compression, no proxy.
func newClient(conns int) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{Transport: &http.Transport{
		DialContext:         d.DialContext,
		MaxIdleConns:        conns + 16,
		MaxIdleConnsPerHost: conns + 16,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}}
}

// sample is the outcome of one closed-loop load of fixed duration.
type sample struct {
	requests  int
	elapsed   time.Duration
	latencies []time.Duration // sorted
	cpu       time.Duration   // process CPU used meanwhile; 0 when unknown
}

// cpuPerRequest is the process's CPU time per request, in microseconds.
func (s sample) cpuPerRequest() float64 {
	if s.requests == 0 || s.cpu <= 0 {
		return 0
	}
	return float64(s.cpu) / float64(time.Microsecond) / float64(s.requests)
}

func (s sample) rps() float64 {
	if s.elapsed <= 0 {
		return 0
	}
	return float64(s.requests) / s.elapsed.Seconds()
}

// percentile returns the q-quantile (0 < q < 1) of sorted durations by the
// nearest-rank method.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(q*float64(len(sorted))+0.999999999) - 1
	rank = max(0, min(rank, len(sorted)-1))
	return sorted[rank]
}

// drive runs concurrency workers, each sending ep's request, waiting for the
// whole answer and sending the next, until d has passed. Requests started
// before then count; the elapsed time runs until the last one ends.
func drive(ctx context.Context, t loadTarget, ep Endpoint, concurrency int, d time.Duration) (sample, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	deadline := time.Now().Add(d)
	per := make([][]time.Duration, concurrency)
	errs := make([]error, concurrency)
	var wg sync.WaitGroup
	cpu0 := processCPU()
	start := time.Now()
	for w := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 4096)
			for {
				t0 := time.Now()
				if !t0.Before(deadline) || ctx.Err() != nil {
					break
				}
				if err := once(ctx, t, ep); err != nil {
					errs[w] = err
					cancel()
					break
				}
				lat = append(lat, time.Since(t0))
			}
			per[w] = lat
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := processCPU() - cpu0
	if err := errors.Join(errs...); err != nil {
		return sample{}, err
	}
	var all []time.Duration
	for _, l := range per {
		all = append(all, l...)
	}
	slices.Sort(all)
	return sample{requests: len(all), elapsed: elapsed, latencies: all, cpu: cpu}, nil
}

func once(ctx context.Context, t loadTarget, ep Endpoint) error {
	var body io.Reader
	if ep.Body != nil {
		body = bytes.NewReader(ep.Body)
	}
	req, err := http.NewRequestWithContext(ctx, ep.Method, t.base+ep.Path, body)
	if err != nil {
		return err
	}
	for k, v := range t.header {
		req.Header[k] = v
	}
	if ep.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", ep.Method, ep.Path, err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", ep.Method, ep.Path, err)
	}
	if resp.StatusCode != ep.Status {
		return fmt.Errorf("%s %s: %w %d, want %d", ep.Method, ep.Path, ErrUnexpectedStatus, resp.StatusCode, ep.Status)
	}
	if v := resp.Header.Get(violationsHeader); v != "" {
		return fmt.Errorf("%s %s: %w (%s violations): the fake upstream's answer must conform", ep.Method, ep.Path, ErrResponseViolation, v)
	}
	return nil
}
