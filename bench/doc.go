// Package bench measures what ghlgate costs on the path between Rankr and
// GHL. In one run on loopback it starts a fake GHL with fixed, realistic
// answers, then drives the same closed-loop load against the fake directly,
// through a bare httputil.ReverseProxy and through ghlgate's full production
// pipeline (key auth, scopes, locations, request and response validation,
// audit), and reports requests/s and latency percentiles per target and
// concurrency with the ghlgate/bare ratios. It also measures the gateway's
// peak RSS in a child process (the harness re-executes itself with a hidden
// serve-gateway command) with 1,000 keep-alive connections open, first with
// 64 requests in flight and then with all of them busy; the time to load the
// official contacts.json; and the micro figures of other packages (limiter
// ns/op, captured events/s). The contract suite's steps/s stays with its own
// benchmark (go test -bench Replay ./contracttests/).
//
// Everything runs in one process on one machine, so other load on the
// machine shows in every target alike; rounds of the three targets are
// interleaved and medians quoted, and ghlgate is compared with the bare
// proxy round by round (each round's ratio or difference, the median over
// rounds) to keep drift out of the ratios.
//
// Run it from the repository root with `go run ./bench/cmd/ghlgate-bench`
// (or through Main); -quick is a smoke run, -cpuprofile profiles the whole
// run including the in-process gateway.
package bench
