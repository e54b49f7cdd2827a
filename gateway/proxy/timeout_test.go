package proxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// stallTransport answers at once with a body that blocks until the request's
// context ends, and remembers the request it was given.
type stallTransport struct{ got *http.Request }

func (s *stallTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	s.got = r
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(&ctxReader{ctx: r.Context()}), Request: r}, nil
}

type ctxReader struct{ ctx context.Context }

func (c *ctxReader) Read([]byte) (int, error) {
	<-c.ctx.Done()
	return 0, c.ctx.Err()
}

// TestWithTimeoutBoundsTheWholeExchange: a body that never ends is cut off
// at the timeout, not only the wait for the headers.
func TestWithTimeoutBoundsTheWholeExchange(t *testing.T) {
	inner := &stallTransport{}
	rt := WithTimeout(inner, 50*time.Millisecond)
	req, _ := http.NewRequest(http.MethodGet, "http://ghl.invalid/contacts/x", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, ok := inner.got.Context().Deadline(); !ok {
		t.Fatal("the inner transport got a request without a deadline")
	}
	done := make(chan error, 1)
	go func() { _, err := io.ReadAll(resp.Body); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("reading the body = %v; want %v", err, context.DeadlineExceeded)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the body was still being read 5 s after a 50 ms timeout")
	}
}

// TestWithTimeoutKeepsAnEarlierDeadline: a caller that bounds the exchange
// itself, as the gateway's forward does, gets its request through as it is;
// a later deadline is still tightened to the transport's.
func TestWithTimeoutKeepsAnEarlierDeadline(t *testing.T) {
	for _, tc := range []struct {
		name     string
		deadline time.Duration
		same     bool
	}{
		{"earlier deadline", 20 * time.Millisecond, true},
		{"later deadline", time.Hour, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inner := &stallTransport{}
			rt := WithTimeout(inner, time.Minute)
			ctx, cancel := context.WithTimeout(context.Background(), tc.deadline)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://ghl.invalid/contacts/x", strings.NewReader(""))
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := inner.got == req; got != tc.same {
				t.Errorf("inner transport got the caller's request: %v; want %v", got, tc.same)
			}
			end, _ := inner.got.Context().Deadline()
			if limit := time.Now().Add(time.Minute); end.After(limit) {
				t.Errorf("deadline %v is later than the transport's timeout (%v)", end, limit)
			}
		})
	}
}
