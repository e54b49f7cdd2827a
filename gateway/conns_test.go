package gateway_test

import (
	"net/http"
	"regexp"
	"strconv"
	"testing"

	"github.com/rankr/ghlgate/gateway/auth"
)

// TestPipelineRunsInlineWhileConnectionsAreFew: with few client connections
// open, the pipeline runs on the connection's goroutine (no worker starts);
// with more than the pool's size (256), on the worker pool.
func TestPipelineRunsInlineWhileConnectionsAreFew(t *testing.T) {
	h := start(t, nil)
	key := h.Key(t, auth.CreateRequest{Name: "reader", Scopes: []string{"contacts.readonly"}})
	metric := func(name string) int {
		t.Helper()
		m := regexp.MustCompile(`(?m)^` + name + ` (\d+)$`).FindStringSubmatch(h.do(t, "GET", "/_gateway/metrics", "", "").raw)
		if m == nil {
			t.Fatalf("metrics have no %s", name)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	get := func(what string) {
		t.Helper()
		if a := h.do(t, "GET", "/contacts/c-loc1", key, ""); a.status != http.StatusOK {
			t.Fatalf("%s: GET = %d %s; want 200", what, a.status, a.raw)
		}
	}

	get("few connections")
	if conns, n := metric("ghlgate_connections"), metric("ghlgate_workers"); conns < 1 || n != 0 {
		t.Errorf("after a request: ghlgate_connections %d, ghlgate_workers %d; want at least 1 and 0 (inline)", conns, n)
	}

	// 300 more connections, as the server would report them.
	for range 300 {
		h.Server.TrackConn(nil, http.StateNew)
	}
	get("many connections")
	if n := metric("ghlgate_workers"); n != 1 {
		t.Errorf("ghlgate_workers after a request on %d connections = %d; want 1 (the pool)", metric("ghlgate_connections"), n)
	}
	for range 300 {
		h.Server.TrackConn(nil, http.StateClosed)
	}
	if conns := metric("ghlgate_connections"); conns > 2 {
		t.Errorf("ghlgate_connections after the 300 closed = %d; want the test client's own (1 or 2)", conns)
	}
}
