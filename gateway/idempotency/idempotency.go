package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// ErrKeyReused: the key was already used with a different request. 422.
var ErrKeyReused = errors.New("idempotency key reused with a different request")

// Response is a stored upstream answer.
type Response struct {
	Status int         `json:"status"`
	Header http.Header `json:"header,omitempty"`
	Body   []byte      `json:"body,omitempty"`
}

// Record is what a Store holds for one key.
type Record struct {
	// Hash fingerprints the request that claimed the key.
	Hash [32]byte
	// Done is true once Response is stored; false while the first request is
	// in flight.
	Done     bool
	Response Response
	// Token identifies a claim; Complete and Release need it.
	Token string
	// Wait, when not nil, is closed when an in-flight record completes or is
	// released (Memory). Without it waiters poll (Redis).
	Wait <-chan struct{}
}

// Store holds records. Memory and Redis implement it.
type Store interface {
	// Claim puts key in flight under hash for lease, unless a live record
	// exists, which it returns instead (claimed false).
	Claim(ctx context.Context, key string, hash [32]byte, lease time.Duration, now time.Time) (rec Record, claimed bool, err error)
	// Complete stores resp under key for ttl, if the claim with token still holds it.
	Complete(ctx context.Context, key, token string, hash [32]byte, resp Response, ttl time.Duration, now time.Time) error
	// Release drops the claim with token so that a repeat runs again.
	Release(ctx context.Context, key, token string) error
}

// Options configure a Service. Zero fields take the defaults given.
type Options struct {
	// TTL is how long a first response is replayed. Default: 24h.
	TTL time.Duration `yaml:"ttl"`
	// Lease is how long an in-flight claim blocks repeats if its request
	// never finishes (a crashed replica). Default: 2m.
	Lease time.Duration `yaml:"lease"`
	// Poll is how often a repeat re-reads a claim held in Redis. Default: 50ms.
	Poll time.Duration `yaml:"poll"`
	// Now is the clock. Default: time.Now.
	Now func() time.Time `yaml:"-"`
	// After is the poll timer. Default: time.After.
	After func(time.Duration) <-chan time.Time `yaml:"-"`
	// Logger. Default: slog.Default().
	Logger *slog.Logger `yaml:"-"`
}

// Service runs requests at most once per (client, key).
type Service struct {
	store Store
	opts  Options
}

// New returns a Service over store.
func New(store Store, opts Options) *Service {
	if opts.TTL <= 0 {
		opts.TTL = 24 * time.Hour
	}
	if opts.Lease <= 0 {
		opts.Lease = 2 * time.Minute
	}
	if opts.Poll <= 0 {
		opts.Poll = 50 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.After == nil {
		opts.After = time.After
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Service{store: store, opts: opts}
}

// Fingerprint identifies a request for key reuse: the same key with another
// method, path or body is a different request.
func Fingerprint(method, path string, body []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(method))
	h.Write([]byte{0})
	h.Write([]byte(path))
	h.Write([]byte{0})
	h.Write(body)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// Storable says whether a response is kept for replay: not server errors and
// not the transient 401, 408 and 429, which a repeat should try again.
func Storable(status int) bool {
	switch {
	case status >= 500, status == http.StatusUnauthorized, status == http.StatusRequestTimeout, status == http.StatusTooManyRequests:
		return false
	}
	return status >= 200
}

// Do runs fn once for (client, key) and hash. A repeat with the same hash gets
// the stored response (replayed true) or, while the first is in flight, waits
// for it; a repeat with another hash gets ErrKeyReused. When fn fails or its
// response is not Storable the claim is released and a repeat runs fn again.
// An empty key runs fn without any of this.
func (s *Service) Do(ctx context.Context, client, key string, hash [32]byte, fn func(context.Context) (Response, error)) (Response, bool, error) {
	if key == "" {
		r, err := fn(ctx)
		return r, false, err
	}
	skey := storeKey(client, key)
	for {
		rec, claimed, err := s.store.Claim(ctx, skey, hash, s.opts.Lease, s.opts.Now())
		if err != nil {
			return Response{}, false, fmt.Errorf("idempotency claim: %w", err)
		}
		if claimed {
			r, err := s.run(ctx, skey, rec.Token, hash, fn)
			return r, false, err
		}
		if rec.Hash != hash {
			return Response{}, false, ErrKeyReused
		}
		if rec.Done {
			return rec.Response, true, nil
		}
		if rec.Wait != nil {
			select {
			case <-ctx.Done():
				return Response{}, false, fmt.Errorf("idempotency wait: %w", ctx.Err())
			case <-rec.Wait:
			}
			continue
		}
		select {
		case <-ctx.Done():
			return Response{}, false, fmt.Errorf("idempotency wait: %w", ctx.Err())
		case <-s.opts.After(s.opts.Poll):
		}
	}
}

func (s *Service) run(ctx context.Context, skey, token string, hash [32]byte, fn func(context.Context) (Response, error)) (r Response, err error) {
	// The record must be settled even if the client has gone.
	bg := context.WithoutCancel(ctx)
	settled := false
	defer func() {
		if !settled {
			if rerr := s.store.Release(bg, skey, token); rerr != nil {
				s.opts.Logger.Warn("idempotency release failed", slog.Any("error", rerr))
			}
		}
	}()
	r, err = fn(ctx)
	if err != nil || !Storable(r.Status) {
		return r, err
	}
	if cerr := s.store.Complete(bg, skey, token, hash, r, s.opts.TTL, s.opts.Now()); cerr != nil {
		// The answer is good; only its replay is lost.
		s.opts.Logger.Warn("idempotency store failed", slog.Any("error", cerr))
		return r, nil
	}
	settled = true
	return r, nil
}

// storeKey hashes (client, key) so that neither can forge the other's space.
func storeKey(client, key string) string {
	sum := sha256.Sum256([]byte(client + "\x00" + key))
	return hex.EncodeToString(sum[:])
}
