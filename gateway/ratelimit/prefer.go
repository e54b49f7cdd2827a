package ratelimit

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// PreferWait reads the wait preference of RFC 7240 from h ("Prefer: wait=10",
// possibly among other preferences): how long the client will wait for its
// request to fit the budget. ok is false when the client did not ask.
func PreferWait(h http.Header) (wait time.Duration, ok bool) {
	for _, line := range h.Values("Prefer") {
		for _, pref := range strings.Split(line, ",") {
			pref, _, _ = strings.Cut(pref, ";")
			name, val, found := strings.Cut(strings.TrimSpace(pref), "=")
			if !found || !strings.EqualFold(strings.TrimSpace(name), "wait") {
				continue
			}
			n, err := strconv.Atoi(strings.Trim(strings.TrimSpace(val), `"`))
			if err != nil || n < 0 {
				return 0, false
			}
			return time.Duration(n) * time.Second, true
		}
	}
	return 0, false
}
