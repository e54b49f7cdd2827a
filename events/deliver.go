package events

// Push delivery is a small table-driven worker rather than River
// (riverqueue/river, which has SQLite and PostgreSQL drivers):
//   - the guarantee that matters here, in order per contact with a failed
//     event blocking only its own contact, is not a River feature; on River
//     it would need one queue per contact or a unique-key chain, and the
//     ordering would live outside the job engine anyway;
//   - River brings its own schema, migrations and leader election beside
//     store.Migrate, and a driver per dialect, to do what one table
//     (event_deliveries: subscriber, event, state, attempts, next attempt)
//     and one loop do here;
//   - RunOnce(ctx, now) with an injected clock lets tests drive retries,
//     backoff and dead letters without sleeping.
// The cost: one Deliverer per store. Run a single one (several replicas on
// PostgreSQL would each deliver, still at least once, but not in order).

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Secret is a Standard Webhooks signing secret, "whsec_" + base64 bytes.
// It logs as [redacted].
type Secret string

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// ErrBadSecret: the secret is not "whsec_" followed by base64 of 24 to 64
// bytes, as Standard Webhooks asks.
var ErrBadSecret = errors.New("webhook secret must be whsec_ + base64 of 24-64 bytes")

// ParseSecret returns the key bytes of a whsec_ secret.
func ParseSecret(s Secret) ([]byte, error) {
	b64, ok := strings.CutPrefix(string(s), "whsec_")
	if !ok {
		return nil, ErrBadSecret
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(key) < 24 || len(key) > 64 {
		return nil, ErrBadSecret
	}
	return key, nil
}

// Sign returns the webhook-signature header value for a message:
// "v1," + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")).
func Sign(key []byte, msgID string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msgID))
	m.Write([]byte{'.'})
	m.Write([]byte(strconv.FormatInt(timestamp, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Subscriber is one push destination from config.
type Subscriber struct {
	Name   string
	URL    string
	Secret Secret
	// Types keeps only these event types ("contact.*" matches a prefix);
	// empty means all.
	Types []string
}

// Options tune a Deliverer. Zero values take the defaults.
type Options struct {
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Client sends deliveries; default a client with a 15s timeout.
	Client *http.Client
	// Backoff gives the wait after the n-th failed attempt (n ≥ 1);
	// default 5s·2^(n-1), capped at 1h.
	Backoff func(n int) time.Duration
	// MaxAge is how long a delivery is retried before it becomes a dead
	// letter; default 24h.
	MaxAge time.Duration
	// Concurrency is how many contacts are delivered at once; default 4.
	Concurrency int
	// Batch caps the deliveries looked at per subscriber per pass; default 500.
	Batch int
	// Poll is Run's interval between passes when nothing commits; default 1s.
	Poll time.Duration
	// Logger; default discards.
	Logger *slog.Logger
}

// DefaultBackoff is 5s·2^(n-1), capped at 1h: about 30 attempts in a day.
func DefaultBackoff(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	if n > 10 {
		return time.Hour
	}
	return min(5*time.Second<<(n-1), time.Hour)
}

// Deliverer pushes events to subscribers: at least once, in order per
// contact, retried with backoff, then dead-lettered.
type Deliverer struct {
	st   *SQLStore
	subs []sub
	o    Options
}

type sub struct {
	Subscriber
	key []byte
}

// NewDeliverer checks the subscribers and returns a Deliverer.
func NewDeliverer(st *SQLStore, subs []Subscriber, opts Options) (*Deliverer, error) {
	d := &Deliverer{st: st, o: opts}
	var errs []error
	seen := map[string]bool{}
	for i, s := range subs {
		key, err := ParseSecret(s.Secret)
		if err != nil {
			errs = append(errs, fmt.Errorf("subscriber %d (%s): %w", i, s.Name, err))
		}
		if s.Name == "" || seen[s.Name] {
			errs = append(errs, fmt.Errorf("subscriber %d: name %q must be set and unique", i, s.Name))
		}
		if !strings.HasPrefix(s.URL, "http://") && !strings.HasPrefix(s.URL, "https://") {
			errs = append(errs, fmt.Errorf("subscriber %d (%s): url %q must be http(s)", i, s.Name, s.URL))
		}
		seen[s.Name] = true
		d.subs = append(d.subs, sub{s, key})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("events deliverer: %w", err)
	}
	if d.o.Now == nil {
		d.o.Now = time.Now
	}
	if d.o.Client == nil {
		d.o.Client = &http.Client{Timeout: 15 * time.Second}
	}
	if d.o.Backoff == nil {
		d.o.Backoff = DefaultBackoff
	}
	if d.o.MaxAge <= 0 {
		d.o.MaxAge = 24 * time.Hour
	}
	if d.o.Concurrency <= 0 {
		d.o.Concurrency = 4
	}
	if d.o.Batch <= 0 {
		d.o.Batch = 500
	}
	if d.o.Poll <= 0 {
		d.o.Poll = time.Second
	}
	if d.o.Logger == nil {
		d.o.Logger = slog.New(slog.DiscardHandler)
	}
	return d, nil
}

// Run delivers until ctx ends, a pass per commit or per Poll.
func (d *Deliverer) Run(ctx context.Context) error {
	t := time.NewTicker(d.o.Poll)
	defer t.Stop()
	for {
		changed := d.st.Changed()
		if _, err := d.RunOnce(ctx, d.o.Now()); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			d.o.Logger.Error("event delivery pass failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		case <-t.C:
		}
	}
}

// PassReport counts what one pass did.
type PassReport struct {
	Queued, Delivered, Failed, Dead int
}

// RunOnce makes one pass at time now: queue new events for each
// subscriber, then attempt every due delivery whose contact has no earlier
// pending one.
func (d *Deliverer) RunOnce(ctx context.Context, now time.Time) (PassReport, error) {
	var rep PassReport
	var mu sync.Mutex
	var errs []error
	for _, s := range d.subs {
		n, err := d.st.queueDeliveries(ctx, s.Name, s.Types, now, d.o.Batch)
		rep.Queued += n
		if err != nil {
			errs = append(errs, err)
			continue
		}
		pend, err := d.st.pendingDeliveries(ctx, s.Name, d.o.Batch)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		// Group by contact in seq order; a contact whose head is not due
		// waits whole.
		var order []string
		chains := map[string][]Delivery{}
		for _, p := range pend {
			if _, ok := chains[p.ContactKey]; !ok {
				order = append(order, p.ContactKey)
			}
			chains[p.ContactKey] = append(chains[p.ContactKey], p)
		}
		sem := make(chan struct{}, d.o.Concurrency)
		var wg sync.WaitGroup
		for _, k := range order {
			chain := chains[k]
			if chain[0].NextAttempt.After(now) {
				continue
			}
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				r, err := d.deliverChain(ctx, s, chain, now)
				mu.Lock()
				rep.Delivered += r.Delivered
				rep.Failed += r.Failed
				rep.Dead += r.Dead
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
			}()
		}
		wg.Wait()
	}
	return rep, errors.Join(errs...)
}

// deliverChain sends one contact's pending deliveries in order and stops at
// the first that fails (unless it died: a dead letter no longer blocks).
func (d *Deliverer) deliverChain(ctx context.Context, s sub, chain []Delivery, now time.Time) (PassReport, error) {
	var rep PassReport
	for _, dl := range chain {
		if dl.NextAttempt.After(now) {
			return rep, nil
		}
		status, err := d.send(ctx, s, dl.Event, now)
		dl.Attempts++
		dl.LastStatus = status
		dl.LastError = ""
		if err == nil && status >= 200 && status < 300 {
			dl.State = DeliveryDelivered
			rep.Delivered++
			if err := d.st.saveDelivery(ctx, s.Name, dl, now); err != nil {
				return rep, err
			}
			continue
		}
		if err != nil {
			dl.LastError = err.Error()
		} else {
			dl.LastError = fmt.Sprintf("subscriber answered %d", status)
		}
		rep.Failed++
		if now.Sub(dl.CreatedAt) >= d.o.MaxAge {
			dl.State = DeliveryDead
			rep.Dead++
			d.o.Logger.Warn("event delivery dead-lettered", "subscriber", s.Name, "event_id", dl.Event.ID,
				"seq", dl.Event.Seq, "attempts", dl.Attempts, "last_status", status)
		} else {
			dl.NextAttempt = now.Add(d.o.Backoff(dl.Attempts))
		}
		if err := d.st.saveDelivery(ctx, s.Name, dl, now); err != nil {
			return rep, err
		}
		if dl.State != DeliveryDead {
			return rep, nil
		}
	}
	return rep, nil
}

// DeliveryBody is what a subscriber receives: the Standard Webhooks
// payload shape, with the event as data.
type DeliveryBody struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      Event     `json:"data"`
}

func (d *Deliverer) send(ctx context.Context, s sub, ev Event, now time.Time) (int, error) {
	body, err := json.Marshal(DeliveryBody{Type: ev.Type, Timestamp: ev.Time, Data: ev})
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	ts := now.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ghlgate-events/1")
	req.Header.Set("webhook-id", ev.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", Sign(s.key, ev.ID, ts, body))
	resp, err := d.o.Client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) //nolint:errcheck // drained for reuse only
	return resp.StatusCode, nil
}

// RedeliverRequest selects deliveries to replay.
type RedeliverRequest struct {
	// Subscriber limits the replay to one subscriber; empty means all.
	Subscriber string
	// From and To bound the event seqs (inclusive; To 0 means no bound).
	From, To int64
	// DeadOnly replays only dead letters; otherwise every event in the
	// range that the subscriber's types match is sent again.
	DeadOnly bool
}

// Redeliver puts the selected deliveries back in the queue, due now, with
// a fresh day of retries. It returns how many it queued.
func (d *Deliverer) Redeliver(ctx context.Context, r RedeliverRequest, now time.Time) (int, error) {
	total := 0
	found := r.Subscriber == ""
	for _, s := range d.subs {
		if r.Subscriber != "" && s.Name != r.Subscriber {
			continue
		}
		found = true
		n, err := d.st.requeue(ctx, s.Name, s.Types, r, now)
		total += n
		if err != nil {
			return total, fmt.Errorf("redeliver to %s: %w", s.Name, err)
		}
	}
	if !found {
		return 0, fmt.Errorf("redeliver: no subscriber named %q", r.Subscriber)
	}
	return total, nil
}

// DeadLetters lists a subscriber's dead deliveries, oldest first.
func (d *Deliverer) DeadLetters(ctx context.Context, subscriber string, limit int) ([]Delivery, error) {
	return d.st.deliveries(ctx, subscriber, DeliveryDead, limit)
}

func typeMatches(types []string, typ string) bool {
	if len(types) == 0 {
		return true
	}
	for _, t := range types {
		if p, ok := strings.CutSuffix(t, "*"); ok && strings.HasPrefix(typ, p) || t == typ {
			return true
		}
	}
	return false
}
