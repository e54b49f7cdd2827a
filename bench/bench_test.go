package bench

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rankr/ghlgate/gateway"
	"github.com/rankr/ghlgate/gateway/audit"
)

// handlerTransport is a no-op upstream: the fake GHL's handler called in
// process, with no socket.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// sink is the client side of BenchmarkPipeline: a ResponseWriter that keeps
// the status and body and, like a server's, can notify a close (gin's
// writer asserts it).
type sink struct {
	h    http.Header
	code int
	body bytes.Buffer
}

func (s *sink) reset() {
	clear(s.h)
	s.code = 0
	s.body.Reset()
}
func (s *sink) Header() http.Header { return s.h }
func (s *sink) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
}
func (s *sink) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.body.Write(b)
}
func (s *sink) CloseNotify() <-chan bool { return nil }

// startPipeline opens a gateway whose upstream is the fake GHL in process.
func startPipeline(tb testing.TB) (http.Handler, string, *gateway.Server) {
	tb.Helper()
	dir := tb.TempDir()
	path, err := gatewayConfig(dir, "http://ghl.invalid")
	if err != nil {
		tb.Fatal(err)
	}
	// The production log (JSON, info, access lines included) written
	// nowhere, as the load run has it.
	gw, key, err := openGatewayWith(context.Background(), path, accessLogger(), handlerTransport{fakeGHL(newUpstreamBodies())})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { gw.Close() })
	return gw.Handler(), key, gw
}

func request(ep Endpoint, key string) *http.Request {
	var body io.Reader
	if ep.Body != nil {
		body = bytes.NewReader(ep.Body)
	}
	r := httptest.NewRequest(ep.Method, "http://gateway"+ep.Path, body)
	r.Header.Set("Authorization", "Bearer "+key)
	if ep.Body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	return r
}

// BenchmarkPipeline is the whole gateway (key auth, scopes, locations,
// request and response validation, audit, access log) against a no-op
// upstream, without sockets: the gateway's own cost per request. cpu-ns/op
// is the process's CPU per request, so it also counts what runs beside the
// request (the audit writer, the garbage collector); BenchmarkBare is the
// same request through a bare httputil.ReverseProxy, and the difference
// between the two is what ghlgate adds.
func BenchmarkPipeline(b *testing.B) {
	h, key, _ := startPipeline(b)
	for _, ep := range Endpoints() {
		b.Run(benchName(ep), func(b *testing.B) {
			loop(b, h, ep, key)
		})
	}
}

// BenchmarkBare is BenchmarkPipeline's baseline: the cheapest proxy in front
// of the same in-process fake GHL, sent the same requests.
func BenchmarkBare(b *testing.B) {
	h, err := bareProxyWith("http://ghl.invalid", handlerTransport{fakeGHL(newUpstreamBodies())})
	if err != nil {
		b.Fatal(err)
	}
	for _, ep := range Endpoints() {
		b.Run(benchName(ep), func(b *testing.B) {
			loop(b, h, ep, "bare-bench-token")
		})
	}
}

func benchName(ep Endpoint) string {
	return strings.NewReplacer(" ", "_", "/", "", "{", "", "}", "", "?", "").Replace(ep.Name)
}

// loop sends ep's request to h until the benchmark ends, checks every
// answer, and reports the process's CPU per request.
func loop(b *testing.B, h http.Handler, ep Endpoint, key string) {
	rec := &sink{h: http.Header{}}
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		rec.reset()
		h.ServeHTTP(rec, request(ep, key))
		if rec.code != ep.Status || rec.h.Get(violationsHeader) != "" {
			b.Fatalf("%s = %d %s; want %d and no violations", ep.Name, rec.code, rec.body.String(), ep.Status)
		}
	}
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// TestFakeUpstreamConforms sends every endpoint through the gateway and
// checks that the fake GHL's answers pass response validation: otherwise
// the benchmark would time an error path.
func TestFakeUpstreamConforms(t *testing.T) {
	h, key, gw := startPipeline(t)
	for _, ep := range Endpoints() {
		t.Run(ep.Name, func(t *testing.T) {
			rec := &sink{h: http.Header{}}
			h.ServeHTTP(rec, request(ep, key))
			if rec.code != ep.Status {
				t.Fatalf("%s = %d %s; want %d", ep.Name, rec.code, rec.body.String(), ep.Status)
			}
			if v := rec.h.Get(violationsHeader); v != "" {
				t.Errorf("%s: %s = %s; want none", ep.Name, violationsHeader, v)
			}
		})
	}
	if err := gw.Trail.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs, err := audit.Search(context.Background(), gw.DB, audit.Query{Client: "rankr-bench"})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(Endpoints()) {
		t.Fatalf("audit records = %d; want %d (one per request)", len(recs), len(Endpoints()))
	}
	for _, r := range recs {
		if r.Decision != audit.Allow {
			t.Errorf("audit %s %s decision = %s (%s); want allow", r.Method, r.Path, r.Decision, r.Reason)
		}
	}
}

func TestContactSize(t *testing.T) {
	b := newUpstreamBodies()
	if n := len(b.contact); n < 1800 || n > 2600 {
		t.Errorf("len(contact answer) = %d; want about 2 KB", n)
	}
}

func TestPercentile(t *testing.T) {
	ten := make([]time.Duration, 10)
	for i := range ten {
		ten[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name string
		in   []time.Duration
		q    float64
		want time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"one", []time.Duration{7}, 0.999, 7},
		{"median of ten", ten, 0.5, 5 * time.Millisecond},
		{"p99 of ten is the max", ten, 0.99, 10 * time.Millisecond},
		{"p10 of ten", ten, 0.1, time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.in, tc.q); got != tc.want {
				t.Errorf("percentile(%v, %v) = %v; want %v", tc.in, tc.q, got, tc.want)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, tc := range tests {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v; want %v", tc.in, got, tc.want)
		}
	}
}

func TestCPUPerRequest(t *testing.T) {
	rounds := []sample{
		{requests: 4, elapsed: time.Second, cpu: 200 * time.Microsecond},  // 50 µs
		{requests: 10, elapsed: time.Second, cpu: 300 * time.Microsecond}, // 30 µs
		{requests: 5, elapsed: time.Second, cpu: 350 * time.Microsecond},  // 70 µs
	}
	if got := rounds[0].cpuPerRequest(); got != 50 {
		t.Errorf("cpuPerRequest() = %v; want 50", got)
	}
	for _, s := range []sample{{requests: 0, cpu: time.Millisecond}, {requests: 3, cpu: 0}} {
		if got := s.cpuPerRequest(); got != 0 {
			t.Errorf("cpuPerRequest() of %d requests in %v = %v; want 0 (unknown)", s.requests, s.cpu, got)
		}
	}
	bare := summarize("GET /contacts/{id}", 16, TargetBare, rounds)
	if bare.CPUUSPerReq != 50 {
		t.Errorf("summarized CPU = %v; want the median, 50", bare.CPUUSPerReq)
	}
	gwRounds := slices.Clone(rounds)
	for i := range gwRounds {
		gwRounds[i].cpu += time.Duration(gwRounds[i].requests) * 22500 * time.Nanosecond // 22.5 µs more per request
	}
	gw := summarize("GET /contacts/{id}", 16, TargetGateway, gwRounds)
	if got := ratio(Cell{}, bare, gw).CPUAddedUS; got != 22.5 {
		t.Errorf("CPU added = %v; want 22.5", got)
	}
	for i := range gwRounds {
		gwRounds[i].cpu = 0 // unknown: no difference is claimed
	}
	gw = summarize("GET /contacts/{id}", 16, TargetGateway, gwRounds)
	if got := ratio(Cell{}, bare, gw).CPUAddedUS; got != 0 {
		t.Errorf("CPU added with the gateway's unknown = %v; want 0", got)
	}
}

// TestRatioPairsRounds: the machine speeds up from round to round, more
// than the two targets differ; within a round both see the same speed.
// The medians of both targets then come from the middle rounds, and their
// ratio is about one round's ratio, here the one round the gateway was
// unlucky (0.75). The ratio must be the median of every round's (0.83),
// with the ratio of medians kept beside it.
func TestRatioPairsRounds(t *testing.T) {
	speeds := []float64{1000, 1100, 1200, 1300, 1400}
	ratios := []float64{0.84, 0.82, 0.75, 0.83, 0.85}
	p99Added := []time.Duration{300, 100, 900, 200, 250} // µs; median 250
	var bareRounds, gwRounds []sample
	for i, v := range speeds {
		p99 := time.Duration(1e6/v) * time.Microsecond // slower rounds have longer tails
		bareRounds = append(bareRounds, sample{requests: int(v), elapsed: time.Second, latencies: []time.Duration{p99}})
		gwRounds = append(gwRounds, sample{requests: int(v * ratios[i]), elapsed: time.Second, latencies: []time.Duration{p99 + p99Added[i]*time.Microsecond}})
	}
	bare := summarize("GET /contacts/{id}", 16, TargetBare, bareRounds)
	gw := summarize("GET /contacts/{id}", 16, TargetGateway, gwRounds)
	r := ratio(Cell{RPS: 2000}, bare, gw)
	if r.Throughput != 0.83 {
		t.Errorf("Throughput = %v; want 0.83, the median of the rounds' ratios", r.Throughput)
	}
	if !slices.Equal(r.RoundsThroughput, ratios) {
		t.Errorf("RoundsThroughput = %v; want %v", r.RoundsThroughput, ratios)
	}
	if want := round3(902.0 / 1200); r.ThroughputOfMedians != want || gw.RPS != 902 || bare.RPS != 1200 {
		t.Errorf("ThroughputOfMedians = %v of %v and %v req/s; want %v, 902/1200", r.ThroughputOfMedians, gw.RPS, bare.RPS, want)
	}
	if r.P99AddedMS != 0.25 {
		t.Errorf("P99AddedMS = %v; want 0.25, the median of the rounds' differences", r.P99AddedMS)
	}
	// Rounds that do not pair up fall back to the medians.
	gw.rounds = gw.rounds[:4]
	if r := ratio(Cell{}, bare, gw); r.Throughput != r.ThroughputOfMedians {
		t.Errorf("Throughput with unpaired rounds = %v; want the ratio of medians, %v", r.Throughput, r.ThroughputOfMedians)
	}
}

// TestProcessCPUAdvances checks the clock behind the CPU figures moves with
// work this process does. It spins until the clock shows 1 ms more, and
// fails only if it never does, however busy the machine.
func TestProcessCPUAdvances(t *testing.T) {
	before := processCPU()
	if before == 0 {
		t.Skip("process CPU time is not available on " + runtime.GOOS)
	}
	deadline := time.Now().Add(10 * time.Second)
	x := 0
	for processCPU()-before < time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatalf("process CPU grew %v in 10 s of spinning (%d loops); want it to follow the work", processCPU()-before, x)
		}
		for range 10000 {
			x++
		}
	}
}

func TestParseInts(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"1,16,64", "1,16,64", false},
		{" 8 ", "8", false},
		{"1,,2", "", true},
		{"0", "", true},
		{"x", "", true},
	}
	for _, tc := range tests {
		got, err := parseInts(tc.in)
		if (err != nil) != tc.wantErr || (err == nil && joinInts(got) != tc.want) {
			t.Errorf("parseInts(%q) = %v, %v; want %s (error %v)", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestCheckTargets(t *testing.T) {
	res := &Results{
		Ratios: []Ratio{
			{Endpoint: "GET /contacts/{id}", Concurrency: 16, Throughput: 0.9, P99AddedMS: 1.5},
			{Endpoint: "GET /contacts/{id}", Concurrency: 64, Throughput: 0.7},
			{Endpoint: "PUT /contacts/{id}", Concurrency: 16, Throughput: 0.1},
		},
		RSS: &RSS{Connections: 1000, OpenBusy: 64, OpenPeakMiB: 60, PeakMiB: 90},
	}
	got := map[string]bool{}
	for _, tg := range checkTargets(res) {
		got[tg.Name] = tg.Met
	}
	want := map[string]bool{
		"throughput ghlgate/bare, GET /contacts/{id}, c=16":    true,
		"p99 added over bare, GET /contacts/{id}, c=16":        false,
		"throughput ghlgate/bare, GET /contacts/{id}, c=64":    false,
		"peak RSS, 1000 keep-alive connections, 64 in flight":  true,
		"peak RSS, 1000 keep-alive connections, all in flight": false,
	}
	if len(got) != len(want) {
		t.Fatalf("checkTargets = %v; want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("checkTargets[%s] = %v; want %v", k, got[k], v)
		}
	}
}

// TestRunSmoke drives every target briefly through real sockets and checks
// the figures and the JSON.
func TestRunSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("drives real load for a few seconds")
	}
	var table bytes.Buffer
	res, err := Run(context.Background(), Options{Concurrency: []int{2}, Warmup: 20 * time.Millisecond, Rounds: 1,
		Round: 50 * time.Millisecond, RSSConnections: -1, OfficialSpec: ""}, &table)
	if err != nil {
		t.Fatalf("Run = %v", err)
	}
	if got, want := len(res.Load), 3*len(Endpoints()); got != want {
		t.Fatalf("len(Load) = %d; want %d", got, want)
	}
	for _, c := range res.Load {
		if c.Requests == 0 || c.RPS <= 0 || c.P50MS <= 0 || c.P99MS < c.P50MS {
			t.Errorf("cell %s c=%d %s = %+v; want requests and ordered percentiles", c.Endpoint, c.Concurrency, c.Target, c)
		}
	}
	if len(res.Ratios) != len(Endpoints()) {
		t.Errorf("len(Ratios) = %d; want %d", len(res.Ratios), len(Endpoints()))
	}
	if !strings.Contains(table.String(), "| GET /contacts/{id} | 2 | ghlgate |") {
		t.Errorf("table = %s; want a ghlgate row for GET /contacts/{id}", table.String())
	}
	out := filepath.Join(t.TempDir(), "r", "latest.json")
	if err := WriteJSON(out, res); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(out); err != nil || !bytes.Contains(b, []byte(`"cpus"`)) {
		t.Errorf("WriteJSON wrote %s, %v; want JSON with cpus", b, err)
	}
}

// TestMain lets this test binary be the RSS figure's child process, as the
// ghlgate executable is in a run: measureRSS starts it with serve-gateway.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == serveGatewayCmd {
		os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestMeasureRSSChildren measures both children, the gateway and the bare
// proxy, at a few connections: each is served from its own process and
// every connection is opened.
func TestMeasureRSSChildren(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	up, err := serve(fakeGHL(newUpstreamBodies()))
	if err != nil {
		t.Fatal(err)
	}
	defer up.close()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := gatewayConfig(t.TempDir(), up.url)
	if err != nil {
		t.Fatal(err)
	}
	const conns = 20
	for _, tc := range []struct {
		name string
		cmd  []string
	}{
		{"ghlgate", []string{exe, serveGatewayCmd}},
		{"bare", []string{exe, serveGatewayCmd, "-bare", up.url}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := measureRSS(context.Background(), tc.cmd, cfg, conns, Endpoints()[0], 200*time.Millisecond)
			if err != nil {
				t.Fatalf("measureRSS: %v", err)
			}
			if r.OpenDials != conns || r.OpenRequests < conns || r.Requests == 0 {
				t.Errorf("%d dials, %d then %d requests; want %d dials and at least one request per connection", r.OpenDials, r.OpenRequests, r.Requests, conns)
			}
			if r.IdleMiB <= 0 || r.OpenPeakMiB < r.IdleMiB || r.PeakMiB < r.OpenPeakMiB {
				t.Errorf("RSS idle %.1f, open %.1f, peak %.1f MiB; want positive and non-decreasing (VmHWM only grows)", r.IdleMiB, r.OpenPeakMiB, r.PeakMiB)
			}
		})
	}
}
