package resilience

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// Breaker states, as BreakerState and /healthz report them.
const (
	StateClosed   = "closed"
	StateOpen     = "open"
	StateHalfOpen = "half-open"
)

// ErrCircuitOpen is matched (errors.Is) by *CircuitOpenError. The gateway maps
// it to 503.
var ErrCircuitOpen = errors.New("circuit open")

// CircuitOpenError says which upstream's breaker refused and when it will
// next let a probe through.
type CircuitOpenError struct {
	Host       string
	RetryAfter time.Duration
}

func (e *CircuitOpenError) Error() string {
	return fmt.Sprintf("upstream %s: circuit open, retry after %s", e.Host, e.RetryAfter)
}

// Is makes errors.Is(err, ErrCircuitOpen) true.
func (e *CircuitOpenError) Is(target error) bool { return target == ErrCircuitOpen }

// BreakerSettings configures the breaker of each upstream host.
type BreakerSettings struct {
	// Failures is how many failed exchanges in a row open the breaker
	// (connection errors, 500, 502, 503, 504). Default: 5.
	Failures int `yaml:"failures"`
	// OpenFor is how long an open breaker refuses before going half-open.
	// Default: 30s.
	OpenFor time.Duration `yaml:"open_for"`
	// Probes is how many requests a half-open breaker lets through at once;
	// that many successes close it, one failure opens it again. Default: 1.
	Probes int `yaml:"probes"`
}

func (s BreakerSettings) withDefaults() BreakerSettings {
	if s.Failures <= 0 {
		s.Failures = 5
	}
	if s.OpenFor <= 0 {
		s.OpenFor = 30 * time.Second
	}
	if s.Probes <= 0 {
		s.Probes = 1
	}
	return s
}

// breaker is a three-state circuit breaker. Each admitted exchange carries the
// generation it was admitted in, so a slow answer from before a state change
// does not count in the new state.
type breaker struct {
	host     string
	set      BreakerSettings
	onChange func(host, from, to string)

	mu        sync.Mutex
	state     string
	gen       uint64
	failures  int
	openedAt  time.Time
	inFlight  int
	successes int
}

func newBreaker(host string, set BreakerSettings, onChange func(host, from, to string)) *breaker {
	return &breaker{host: host, set: set, onChange: onChange, state: StateClosed}
}

// allow admits an exchange or says how long until it could be.
func (b *breaker) allow(now time.Time) (gen uint64, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == StateOpen {
		wait := b.openedAt.Add(b.set.OpenFor).Sub(now)
		if wait > 0 {
			return 0, &CircuitOpenError{Host: b.host, RetryAfter: wait}
		}
		b.setState(StateHalfOpen, now)
	}
	if b.state == StateHalfOpen {
		if b.inFlight >= b.set.Probes {
			return 0, &CircuitOpenError{Host: b.host, RetryAfter: 0}
		}
		b.inFlight++
	}
	return b.gen, nil
}

// done records an admitted exchange's outcome.
func (b *breaker) done(gen uint64, ok bool, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if gen != b.gen {
		return
	}
	switch b.state {
	case StateClosed:
		if ok {
			b.failures = 0
			return
		}
		b.failures++
		if b.failures >= b.set.Failures {
			b.setState(StateOpen, now)
		}
	case StateHalfOpen:
		b.inFlight--
		if !ok {
			b.setState(StateOpen, now)
			return
		}
		b.successes++
		if b.successes >= b.set.Probes {
			b.setState(StateClosed, now)
		}
	}
}

// setState moves to a new state and generation. Caller holds mu.
func (b *breaker) setState(to string, now time.Time) {
	from := b.state
	b.state = to
	b.gen++
	b.failures, b.inFlight, b.successes = 0, 0, 0
	if to == StateOpen {
		b.openedAt = now
	}
	if b.onChange != nil {
		b.onChange(b.host, from, to)
	}
}

// current reports the state as a request arriving at now would see it.
func (b *breaker) current(now time.Time) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == StateOpen && !now.Before(b.openedAt.Add(b.set.OpenFor)) {
		return StateHalfOpen
	}
	return b.state
}
