// Package bench measures what ghlgate costs on the path between Rankr and
// GHL. In one run on loopback it starts a fake GHL with fixed, realistic
// answers, then drives the same closed-loop load against the fake directly,
// through a bare httputil.ReverseProxy and through ghlgate's full production
// pipeline (key auth, scopes, locations, request and response validation,
// audit), and reports requests/s and latency percentiles per target and
// concurrency with the ghlgate/bare ratios. It also measures the gateway's
// peak RSS at 1,000 keep-alive connections (in a child process), the time to
// load the official contacts.json, and the micro figures of other packages
// (limiter ns/op, captured events/s).
//
// Run it with `go run ./bench/cmd/ghlgate-bench` or through Main.
package bench
