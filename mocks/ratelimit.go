package mocks

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// GHL's published limits per app and resource (location) [FACTS §3.3].
const (
	burstMax      = 100
	burstInterval = 10 * time.Second
	dailyMax      = 200_000
)

// rateCounter counts requests per location in fixed windows read from the
// mock's clock, only to fill GHL's rate-limit headers: the mock never
// refuses over the limit unless a fault asks for a 429, which keeps tests
// deterministic.
type rateCounter struct {
	mu      sync.Mutex
	windows map[string]*rateWindow
}

type rateWindow struct {
	burstStart time.Time
	burst      int
	day        time.Time
	daily      int
}

func newRateCounter() *rateCounter { return &rateCounter{windows: map[string]*rateWindow{}} }

// hit counts one request for the location and returns what remains.
func (rc *rateCounter) hit(location string, now time.Time, count bool) (burstLeft, dailyLeft int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	w, ok := rc.windows[location]
	if !ok {
		w = &rateWindow{}
		rc.windows[location] = w
	}
	if now.Sub(w.burstStart) >= burstInterval || now.Before(w.burstStart) {
		w.burstStart, w.burst = now, 0
	}
	if day := now.UTC().Truncate(24 * time.Hour); !day.Equal(w.day) {
		w.day, w.daily = day, 0
	}
	if count {
		w.burst++
		w.daily++
	}
	return max(burstMax-w.burst, 0), max(dailyMax-w.daily, 0)
}

func (rc *rateCounter) reset() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.windows = map[string]*rateWindow{}
}

func setRateHeaders(h http.Header, burstLeft, dailyLeft int) {
	h.Set("X-RateLimit-Limit-Daily", strconv.Itoa(dailyMax))
	h.Set("X-RateLimit-Daily-Remaining", strconv.Itoa(dailyLeft))
	h.Set("X-RateLimit-Interval-Milliseconds", strconv.Itoa(int(burstInterval/time.Millisecond)))
	h.Set("X-RateLimit-Max", strconv.Itoa(burstMax))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(burstLeft))
}
