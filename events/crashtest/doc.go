// Package crashtest holds the end-to-end crash test of issue 5: the real
// ghlgate binary, serving /staging, is killed with SIGKILL at random points
// under concurrent mutations and restarted, many times in one run; after
// the last restart every mutation answered 2xx must have exactly one event
// (read with `ghlgate events list --format json`). The test builds
// ./cmd/ghlgate and skips, saying why, while the binary does not build or
// has no `events list` command yet.
package crashtest
