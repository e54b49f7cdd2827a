package webhooks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rankr/ghlgate/store"
)

// ErrInFlight: another delivery with the same dedupe id is being processed
// right now. The Handler answers 429 so GHL tries again later.
var ErrInFlight = errors.New("webhook delivery already in progress")

// Claim is what a Deduper found for a dedupe id.
type Claim int

const (
	// ClaimNew: first sight of the id; the caller now owns it.
	ClaimNew Claim = iota + 1
	// ClaimResumed: the id was deferred earlier (ghlgate answered 429), or
	// its previous processor vanished; the caller now owns it. A resumed
	// delivery may be past the timestamp window: GHL resends the same
	// payload about 10 minutes later, and ghlgate asked for that retry.
	ClaimResumed
	// ClaimDuplicate: the id was accepted before; nothing to do but 200.
	ClaimDuplicate
)

func (c Claim) String() string {
	switch c {
	case ClaimNew:
		return "new"
	case ClaimResumed:
		return "resumed"
	case ClaimDuplicate:
		return "duplicate"
	}
	return "invalid"
}

// Outcome ends a claim.
type Outcome int

const (
	// OutcomeAccepted: the sink took the delivery; later copies are
	// duplicates until pruned.
	OutcomeAccepted Outcome = iota + 1
	// OutcomeDeferred: ghlgate answered 429; GHL's retry will resume it.
	OutcomeDeferred
	// OutcomeRejected: refused (stale, sink failed for good); forgotten, so
	// the id does not linger as "in progress".
	OutcomeRejected
)

// Deduper remembers webhook dedupe ids. Claim and Settle replace a single
// Seen(id) check because a delivery the sink could not take (answered 429)
// must come back as new work, not as a duplicate, while a retry of an
// accepted one must not. Two implementations: MemoryDeduper and SQLDeduper.
type Deduper interface {
	// Claim records id as in progress unless it was accepted before
	// (ClaimDuplicate) or is in progress elsewhere (ErrInFlight).
	Claim(ctx context.Context, id string) (Claim, error)
	// Settle ends the caller's claim on id.
	Settle(ctx context.Context, id string, o Outcome) error
}

// DeduperConfig tunes both deduper implementations.
type DeduperConfig struct {
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Lease is how long an in-progress claim blocks copies before it is
	// considered abandoned (a crashed process). Default 2m.
	Lease time.Duration
	// Retention is how long ids are kept. Default DefaultWindow + 2h: a
	// replay older than the window is stale anyway, and GHL's retries of a
	// deferred delivery (6, about 10 minutes apart with jitter) must still
	// find it. Payloads without a timestamp are protected only for this
	// long.
	Retention time.Duration
}

func (c DeduperConfig) withDefaults() DeduperConfig {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Lease <= 0 {
		c.Lease = 2 * time.Minute
	}
	if c.Retention <= 0 {
		c.Retention = DefaultWindow + 2*time.Hour
	}
	return c
}

// Row states, as stored in webhook_seen.status.
const (
	statusProcessing = "processing"
	statusAccepted   = "accepted"
	statusDeferred   = "deferred"
)

// MemoryDeduper keeps ids in memory: for tests and single-process demos.
type MemoryDeduper struct {
	cfg DeduperConfig
	mu  sync.Mutex
	ids map[string]memEntry
}

type memEntry struct {
	received, updated time.Time
	status            string
}

// NewMemoryDeduper returns an empty in-memory deduper.
func NewMemoryDeduper(cfg DeduperConfig) *MemoryDeduper {
	return &MemoryDeduper{cfg: cfg.withDefaults(), ids: map[string]memEntry{}}
}

// Claim implements Deduper.
func (d *MemoryDeduper) Claim(_ context.Context, id string) (Claim, error) {
	now := d.cfg.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.ids[id]
	switch {
	case !ok:
		d.ids[id] = memEntry{received: now, updated: now, status: statusProcessing}
		return ClaimNew, nil
	case e.status == statusAccepted:
		return ClaimDuplicate, nil
	case e.status == statusProcessing && now.Sub(e.updated) < d.cfg.Lease:
		return 0, ErrInFlight
	}
	e.status, e.updated = statusProcessing, now
	d.ids[id] = e
	return ClaimResumed, nil
}

// Settle implements Deduper.
func (d *MemoryDeduper) Settle(_ context.Context, id string, o Outcome) error {
	now := d.cfg.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.ids[id]
	if !ok {
		return nil
	}
	switch o {
	case OutcomeAccepted:
		e.status = statusAccepted
	case OutcomeDeferred:
		e.status = statusDeferred
	default:
		delete(d.ids, id)
		return nil
	}
	e.updated = now
	d.ids[id] = e
	return nil
}

// Seen reports whether id was accepted before.
func (d *MemoryDeduper) Seen(_ context.Context, id string) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ids[id].status == statusAccepted, nil
}

// Prune forgets ids received more than Retention ago.
func (d *MemoryDeduper) Prune(_ context.Context) (int64, error) {
	cut := d.cfg.Now().Add(-d.cfg.Retention)
	d.mu.Lock()
	defer d.mu.Unlock()
	var n int64
	for id, e := range d.ids {
		if e.received.Before(cut) {
			delete(d.ids, id)
			n++
		}
	}
	return n, nil
}

// migrations of the "webhooks" component. Times are Unix milliseconds so
// both dialects compare them the same way.
var migrations = []store.Migration{{
	Version: 1,
	Name:    "webhook_seen",
	SQLite: `CREATE TABLE webhook_seen (
	webhook_id TEXT PRIMARY KEY,
	received_at INTEGER NOT NULL,
	status TEXT NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX webhook_seen_received_at ON webhook_seen (received_at);`,
	Postgres: `CREATE TABLE webhook_seen (
	webhook_id TEXT PRIMARY KEY,
	received_at BIGINT NOT NULL,
	status TEXT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX webhook_seen_received_at ON webhook_seen (received_at);`,
}}

// SQLDeduper keeps ids in the webhook_seen table of the store (SQLite or
// PostgreSQL), so every replica and every restart shares them.
type SQLDeduper struct {
	db  *store.DB
	cfg DeduperConfig
}

// NewSQLDeduper applies the webhooks migrations and returns a deduper.
func NewSQLDeduper(ctx context.Context, db *store.DB, cfg DeduperConfig) (*SQLDeduper, error) {
	if err := db.Migrate(ctx, "webhooks", migrations); err != nil {
		return nil, fmt.Errorf("webhooks migrations: %w", err)
	}
	return &SQLDeduper{db: db, cfg: cfg.withDefaults()}, nil
}

// Claim implements Deduper. Each step is one statement, so two replicas
// racing on one id cannot both own it.
func (d *SQLDeduper) Claim(ctx context.Context, id string) (Claim, error) {
	for range 3 { // a row can vanish between steps (Settle rejected, Prune)
		now := d.cfg.Now().UnixMilli()
		res, err := d.db.ExecContext(ctx, d.db.Rebind(
			`INSERT INTO webhook_seen (webhook_id, received_at, status, updated_at)
			 VALUES (?, ?, ?, ?) ON CONFLICT (webhook_id) DO NOTHING`),
			id, now, statusProcessing, now)
		if err != nil {
			return 0, fmt.Errorf("claim webhook %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return ClaimNew, nil
		}
		res, err = d.db.ExecContext(ctx, d.db.Rebind(
			`UPDATE webhook_seen SET status = ?, updated_at = ?
			 WHERE webhook_id = ? AND (status = ? OR (status = ? AND updated_at < ?))`),
			statusProcessing, now, id, statusDeferred, statusProcessing, now-d.cfg.Lease.Milliseconds())
		if err != nil {
			return 0, fmt.Errorf("resume webhook %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return ClaimResumed, nil
		}
		var status string
		err = d.db.QueryRowContext(ctx, d.db.Rebind(
			`SELECT status FROM webhook_seen WHERE webhook_id = ?`), id).Scan(&status)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			continue
		case err != nil:
			return 0, fmt.Errorf("read webhook %s: %w", id, err)
		case status == statusAccepted:
			return ClaimDuplicate, nil
		case status == statusProcessing:
			return 0, ErrInFlight
		}
	}
	return 0, fmt.Errorf("claim webhook %s: %w", id, ErrInFlight)
}

// Settle implements Deduper.
func (d *SQLDeduper) Settle(ctx context.Context, id string, o Outcome) error {
	now := d.cfg.Now().UnixMilli()
	var err error
	switch o {
	case OutcomeAccepted, OutcomeDeferred:
		status := statusAccepted
		if o == OutcomeDeferred {
			status = statusDeferred
		}
		_, err = d.db.ExecContext(ctx, d.db.Rebind(
			`UPDATE webhook_seen SET status = ?, updated_at = ? WHERE webhook_id = ?`), status, now, id)
	default:
		_, err = d.db.ExecContext(ctx, d.db.Rebind(`DELETE FROM webhook_seen WHERE webhook_id = ?`), id)
	}
	if err != nil {
		return fmt.Errorf("settle webhook %s: %w", id, err)
	}
	return nil
}

// Seen reports whether id was accepted before.
func (d *SQLDeduper) Seen(ctx context.Context, id string) (bool, error) {
	var n int
	if err := d.db.QueryRowContext(ctx, d.db.Rebind(
		`SELECT COUNT(*) FROM webhook_seen WHERE webhook_id = ? AND status = ?`),
		id, statusAccepted).Scan(&n); err != nil {
		return false, fmt.Errorf("read webhook %s: %w", id, err)
	}
	return n > 0, nil
}

// Prune deletes ids received more than Retention ago and reports how many.
func (d *SQLDeduper) Prune(ctx context.Context) (int64, error) {
	cut := d.cfg.Now().Add(-d.cfg.Retention).UnixMilli()
	res, err := d.db.ExecContext(ctx, d.db.Rebind(`DELETE FROM webhook_seen WHERE received_at < ?`), cut)
	if err != nil {
		return 0, fmt.Errorf("prune webhook_seen: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// RunPruner calls Prune every interval until ctx ends, handing failures to
// onErr (which may be nil).
func (d *SQLDeduper) RunPruner(ctx context.Context, every time.Duration, onErr func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := d.Prune(ctx); err != nil && onErr != nil && ctx.Err() == nil {
				onErr(err)
			}
		}
	}
}
