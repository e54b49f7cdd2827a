package ratelimit_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/rankr/ghlgate/gateway/ratelimit"
)

// Out of the box only GHL's per-location budget applies: 100 per 10 s.
func ExampleNew() {
	l, err := ratelimit.New(ratelimit.DefaultConfig())
	if err != nil {
		panic(err)
	}
	defer l.Close()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var d ratelimit.Decision
	for range 101 {
		d, _ = l.Decide(context.Background(), ratelimit.Request{Stage: "production", Client: "rankr-web", Location: "loc1", Now: now})
	}
	h := http.Header{}
	d.Headers(h)
	fmt.Println(d.Allowed, d.Limit, h.Get("Retry-After"), h.Get("X-RateLimit-Remaining"))
	// Output: false location 10 0
}
