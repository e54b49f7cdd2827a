package mocks

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

func TestParseFault(t *testing.T) {
	cases := []struct {
		in      string
		want    Fault
		wantErr bool
	}{
		{"latency=300ms", Fault{Latency: 300 * time.Millisecond}, false},
		{"status=429", Fault{Status: 429}, false},
		{" latency=1s , status=503 ", Fault{Latency: time.Second, Status: 503}, false},
		{"reset", Fault{Reset: true}, false},
		{"status=200", Fault{}, true},
		{"latency=soon", Fault{}, true},
		{"explode", Fault{}, true},
	}
	for _, tc := range cases {
		got, err := ParseFault(tc.in)
		if got != tc.want || (err != nil) != tc.wantErr || (err != nil && !errors.Is(err, ErrFault)) {
			t.Errorf("ParseFault(%q) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestFaultHeader(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		fault     string
		status    int
		remaining string
	}{
		{"status=429", 429, "0"},
		{"status=503", 503, "99"},
		{"status=500", 500, "98"},
		{"nonsense", 400, ""},
	}
	for _, tc := range cases {
		t.Run(tc.fault, func(t *testing.T) {
			a, _ := h.send("GET", "/contacts/?locationId="+locA, nil, FaultHeader, tc.fault)
			if a.status != tc.status || a.body["statusCode"] != float64(tc.status) {
				t.Fatalf("%s = %d %s; want %d", tc.fault, a.status, a.raw, tc.status)
			}
			if got := a.header.Get("X-RateLimit-Remaining"); got != tc.remaining {
				t.Errorf("X-RateLimit-Remaining = %q; want %q", got, tc.remaining)
			}
			if tc.status == 429 {
				for _, k := range []string{"X-RateLimit-Limit-Daily", "X-RateLimit-Daily-Remaining", "X-RateLimit-Interval-Milliseconds", "X-RateLimit-Max"} {
					if a.header.Get(k) == "" {
						t.Errorf("429 lacks %s", k)
					}
				}
			}
		})
	}
	t.Run("reset", func(t *testing.T) {
		req, _ := http.NewRequest("GET", h.srv.URL+"/contacts/?locationId="+locA, nil)
		req.Header.Set(FaultHeader, "reset")
		resp, err := h.srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("reset fault answered %d; want a connection error", resp.StatusCode)
		}
	})
	t.Run("latency", func(t *testing.T) {
		start := time.Now()
		a, _ := h.send("GET", "/contacts/?locationId="+locA, nil, FaultHeader, "latency=40ms")
		if a.status != 200 || time.Since(start) < 40*time.Millisecond {
			t.Errorf("latency=40ms answered %d after %v; want 200 after at least 40ms", a.status, time.Since(start))
		}
	})
}

// TestLatencyHonoursCancellation checks the handler gives up waiting as
// soon as the client goes away, rather than sleeping out the latency.
func TestLatencyHonoursCancellation(t *testing.T) {
	m, err := New(Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		m.ServeHTTP(w, r)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/contacts/?locationId="+locA, nil)
	req.Header.Set(FaultHeader, "latency=1h")
	if resp, err := srv.Client().Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("latency=1h answered %d before the client's deadline", resp.StatusCode)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("handler still waiting 10s after the client cancelled a latency=1h request")
	}
}

func TestFaultRules(t *testing.T) {
	draws := []float64{0.9, 0.1, 0.49}
	h := newHarness(t, func(o *Options) {
		o.Faults = []FaultRule{
			{Method: "POST", PathPrefix: "/contacts/", Fault: "status=503", Every: 2},
			{Method: "GET", PathPrefix: "/contacts/search/duplicate", Fault: "status=429", Probability: 0.5},
		}
		o.Rand = func() float64 { d := draws[0]; draws = draws[1:]; return d }
	})
	var got []int
	for range 4 {
		a, _ := h.send("POST", "/contacts/", map[string]any{"locationId": locA})
		got = append(got, a.status)
	}
	if want := []int{201, 503, 201, 503}; !equalInts(got, want) {
		t.Errorf("every-2 rule statuses = %v; want %v", got, want)
	}
	got = nil
	for range 3 {
		a, _ := h.send("GET", "/contacts/search/duplicate?locationId="+locA, nil)
		got = append(got, a.status)
	}
	if want := []int{200, 429, 429}; !equalInts(got, want) {
		t.Errorf("probability rule statuses = %v; want %v (draws 0.9, 0.1, 0.49 against 0.5)", got, want)
	}
	if _, err := New(Options{Faults: []FaultRule{{Fault: "status=99"}}}); !errors.Is(err, ErrFault) {
		t.Errorf("New with a bad rule = %v; want ErrFault", err)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRateLimitHeaders(t *testing.T) {
	h := newHarness(t)
	id := h.createContact(locA, nil) // 1st request of locA
	cases := []struct {
		name          string
		path          string
		advance       time.Duration
		wantRemaining string
		wantDaily     string
	}{
		{"second request", "/contacts/" + id, 0, "98", "199998"},
		{"list counts the same location", "/contacts/?locationId=" + locA, 0, "97", "199997"},
		{"another location has its own window", "/contacts/?locationId=" + locB, 0, "99", "199999"},
		{"a new 10s window", "/contacts/" + id, 10 * time.Second, "99", "199996"},
		{"a new day", "/contacts/" + id, 24 * time.Hour, "99", "199999"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.clock.Advance(tc.advance)
			a, _ := h.send("GET", tc.path, nil)
			if a.header.Get("X-RateLimit-Remaining") != tc.wantRemaining || a.header.Get("X-RateLimit-Daily-Remaining") != tc.wantDaily ||
				a.header.Get("X-RateLimit-Max") != "100" || a.header.Get("X-RateLimit-Interval-Milliseconds") != "10000" || a.header.Get("X-RateLimit-Limit-Daily") != "200000" {
				t.Errorf("headers = %v; want remaining %s, daily remaining %s", a.header, tc.wantRemaining, tc.wantDaily)
			}
		})
	}
	// Over the limit the mock still answers: only a fault refuses.
	for range 120 {
		h.send("GET", "/contacts/"+id, nil)
	}
	a, _ := h.send("GET", "/contacts/"+id, nil)
	if a.status != 200 || a.header.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("past 100 requests = %d remaining %s; want 200 with remaining 0", a.status, a.header.Get("X-RateLimit-Remaining"))
	}
}

func TestStaticResponder(t *testing.T) {
	doc, ops := ghlSpec(t)
	sr, err := NewStaticResponder(doc)
	if err != nil {
		t.Fatalf("NewStaticResponder: %v", err)
	}
	for name, route := range ops {
		t.Run(name, func(t *testing.T) {
			path := strings.NewReplacer("{contactId}", "c1", "{taskId}", "t1", "{id}", "n1", "{businessId}", "b1",
				"{campaignId}", "k1", "{workflowId}", "w1", "{type}", "add").Replace(route.Path)
			req := httptest.NewRequest(route.Method, path, nil)
			rec := httptest.NewRecorder()
			if !sr.Respond(rec, req) {
				t.Fatalf("Respond(%s %s) = false; want an answer", route.Method, path)
			}
			if rec.Header().Get(StaticHeader) != "true" {
				t.Errorf("%s header = %q; want true", StaticHeader, rec.Header().Get(StaticHeader))
			}
			if rec.Code < 200 || rec.Code > 299 {
				t.Errorf("status = %d; want the documented 2xx", rec.Code)
			}
			checkSpec(t, name, req, rec.Code, rec.Header(), rec.Body.Bytes())
		})
	}
	t.Run("literal beats template", func(t *testing.T) {
		rec := httptest.NewRecorder()
		sr.Respond(rec, httptest.NewRequest("DELETE", "/contacts/c1/campaigns/removeAll", nil))
		rec2 := httptest.NewRecorder()
		sr.Respond(rec2, httptest.NewRequest("GET", "/contacts/business/b1", nil))
		if !strings.Contains(rec2.Body.String(), `"contacts"`) {
			t.Errorf("GET /contacts/business/b1 = %s; want the business lookup's answer", rec2.Body)
		}
	})
	t.Run("no match", func(t *testing.T) {
		if sr.Respond(httptest.NewRecorder(), httptest.NewRequest("GET", "/opportunities/x", nil)) {
			t.Error("Respond answered a path the document lacks")
		}
	})
}

// TestStaticFallback serves an operation the mock has no semantics for from
// the description.
func TestStaticFallback(t *testing.T) {
	doc := &openapi3.T{OpenAPI: "3.0.0", Info: &openapi3.Info{Title: "x", Version: "1"}, Paths: openapi3.NewPaths()}
	schema := openapi3.NewObjectSchema().WithProperty("attachments", openapi3.NewArraySchema().WithItems(openapi3.NewStringSchema()))
	op := openapi3.NewOperation()
	op.OperationID = "get-attachments"
	op.AddResponse(200, openapi3.NewResponse().WithDescription("ok").WithJSONSchema(schema))
	doc.AddOperation("/contacts/{contactId}/attachments", "GET", op)
	sr, err := NewStaticResponder(doc)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(o *Options) { o.Static = sr })
	a, _ := h.send("GET", "/contacts/abc/attachments", nil)
	if a.status != 200 || a.header.Get(StaticHeader) != "true" || len(a.list(t, "attachments")) != 1 {
		t.Errorf("static fallback = %d %v %s; want 200 static {attachments:[\"string\"]}", a.status, a.header, a.raw)
	}
	// Operations with semantics never reach the fallback.
	a, _ = h.send("GET", "/contacts/abc", nil)
	if a.status != 400 || a.header.Get(StaticHeader) != "" {
		t.Errorf("GET unknown contact = %d static=%q; want the stateful 400", a.status, a.header.Get(StaticHeader))
	}
}
