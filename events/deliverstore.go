package events

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryDead      = "dead"
)

// Delivery is one event owed to one subscriber.
type Delivery struct {
	Event       Event     `json:"event"`
	ContactKey  string    `json:"contact_key"`
	State       string    `json:"state"`
	Attempts    int       `json:"attempts"`
	CreatedAt   time.Time `json:"created_at"`
	NextAttempt time.Time `json:"next_attempt_at"`
	LastStatus  int       `json:"last_status"`
	LastError   string    `json:"last_error,omitempty"`
}

// contactKey is what orders deliveries: events of one contact go in seq
// order; events about nothing contact-like are not ordered.
func contactKey(contactID, resourceID, id string) string {
	switch {
	case contactID != "":
		return "c:" + contactID
	case resourceID != "":
		return "r:" + resourceID
	}
	return "e:" + id
}

// queueDeliveries moves a subscriber's cursor over up to limit new events,
// queueing a delivery for each one its types match, in one transaction.
func (s *SQLStore) queueDeliveries(ctx context.Context, subscriber string, types []string, now time.Time, limit int) (int, error) {
	queued := 0
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		queued = 0
		var last int64
		err := tx.QueryRowContext(ctx, s.q("SELECT last_seq FROM event_subscriber_cursors WHERE subscriber = ?"), subscriber).Scan(&last)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		evs, err := queryEventRows(ctx, tx.Tx, s.q("SELECT seq, id, type, contact_id, resource_id FROM events WHERE seq > ? ORDER BY seq LIMIT ?"), last, limit)
		if err != nil || len(evs) == 0 {
			return err
		}
		for _, e := range evs {
			if !typeMatches(types, e.typ) {
				continue
			}
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO event_deliveries (subscriber, event_seq,
				contact_key, state, attempts, created_us, next_attempt_us) VALUES (?, ?, ?, ?, 0, ?, ?)
				ON CONFLICT (subscriber, event_seq) DO NOTHING`),
				subscriber, e.seq, contactKey(e.cid, e.rid, e.id), DeliveryPending, now.UnixMicro(), now.UnixMicro()); err != nil {
				return err
			}
			queued++
		}
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO event_subscriber_cursors (subscriber, last_seq) VALUES (?, ?)
			ON CONFLICT (subscriber) DO UPDATE SET last_seq = excluded.last_seq`), subscriber, evs[len(evs)-1].seq)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("queue deliveries for %s: %w", subscriber, err)
	}
	return queued, nil
}

var eventColsE = func() string {
	cols := strings.Split(eventCols, ",")
	for i, c := range cols {
		cols[i] = "e." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}()

func (s *SQLStore) deliveries(ctx context.Context, subscriber, state string, limit int) ([]Delivery, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT d.contact_key, d.state, d.attempts, d.created_us,
		d.next_attempt_us, d.last_status, d.last_error, `+eventColsE+`
		FROM event_deliveries d JOIN events e ON e.seq = d.event_seq
		WHERE d.subscriber = ? AND d.state = ? ORDER BY d.event_seq LIMIT ?`), subscriber, state, limit)
	if err != nil {
		return nil, fmt.Errorf("%s deliveries for %s: %w", state, subscriber, err)
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		var d Delivery
		var created, next int64
		ev, err := s.scanOne(prefixScanner{rows, []any{&d.ContactKey, &d.State, &d.Attempts, &created, &next, &d.LastStatus, &d.LastError}})
		if err != nil {
			return nil, fmt.Errorf("%s deliveries for %s: %w", state, subscriber, err)
		}
		d.Event = ev
		d.CreatedAt, d.NextAttempt = time.UnixMicro(created).UTC(), time.UnixMicro(next).UTC()
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s deliveries for %s: %w", state, subscriber, err)
	}
	return out, nil
}

func (s *SQLStore) pendingDeliveries(ctx context.Context, subscriber string, limit int) ([]Delivery, error) {
	return s.deliveries(ctx, subscriber, DeliveryPending, limit)
}

// prefixScanner scans leading columns into pre before the event's own.
type prefixScanner struct {
	r   rowScanner
	pre []any
}

func (p prefixScanner) Scan(dest ...any) error { return p.r.Scan(append(p.pre, dest...)...) }

func (s *SQLStore) saveDelivery(ctx context.Context, subscriber string, d Delivery, now time.Time) error {
	var delivered sql.NullInt64
	if d.State == DeliveryDelivered {
		delivered = sql.NullInt64{Int64: now.UnixMicro(), Valid: true}
	}
	if len(d.LastError) > 500 {
		d.LastError = d.LastError[:500]
	}
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, s.q(`UPDATE event_deliveries SET state = ?, attempts = ?,
			next_attempt_us = ?, last_status = ?, last_error = ?, delivered_us = ?
			WHERE subscriber = ? AND event_seq = ?`),
			d.State, d.Attempts, d.NextAttempt.UnixMicro(), d.LastStatus, d.LastError, delivered,
			subscriber, d.Event.Seq)
		return err
	})
	if err != nil {
		return fmt.Errorf("save delivery %s/%d: %w", subscriber, d.Event.Seq, err)
	}
	return nil
}

// requeue puts deliveries back to pending, due now with a fresh MaxAge.
func (s *SQLStore) requeue(ctx context.Context, subscriber string, types []string, r RedeliverRequest, now time.Time) (int, error) {
	to := r.To
	if to <= 0 {
		to = 1<<63 - 1
	}
	n := 0
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		n = 0
		if r.DeadOnly {
			res, err := tx.ExecContext(ctx, s.q(`UPDATE event_deliveries SET state = ?, attempts = 0,
				created_us = ?, next_attempt_us = ?, last_error = ''
				WHERE subscriber = ? AND state = ? AND event_seq >= ? AND event_seq <= ?`),
				DeliveryPending, now.UnixMicro(), now.UnixMicro(), subscriber, DeliveryDead, r.From, to)
			if err != nil {
				return err
			}
			c, err := res.RowsAffected()
			n = int(c)
			return err
		}
		evs, err := queryEventRows(ctx, tx.Tx, s.q("SELECT seq, id, type, contact_id, resource_id FROM events WHERE seq >= ? AND seq <= ? ORDER BY seq"), r.From, to)
		if err != nil {
			return err
		}
		for _, e := range evs {
			if !typeMatches(types, e.typ) {
				continue
			}
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO event_deliveries (subscriber, event_seq,
				contact_key, state, attempts, created_us, next_attempt_us) VALUES (?, ?, ?, ?, 0, ?, ?)
				ON CONFLICT (subscriber, event_seq) DO UPDATE SET state = excluded.state, attempts = 0,
				created_us = excluded.created_us, next_attempt_us = excluded.next_attempt_us, last_error = ''`),
				subscriber, e.seq, contactKey(e.cid, e.rid, e.id), DeliveryPending, now.UnixMicro(), now.UnixMicro()); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// eventRow is what delivery needs of an event.
type eventRow struct {
	seq               int64
	id, typ, cid, rid string
}

// queryEventRows runs q, which selects seq, id, type, contact_id and
// resource_id, and reads every row.
func queryEventRows(ctx context.Context, tx *sql.Tx, q string, args ...any) ([]eventRow, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var evs []eventRow
	for rows.Next() {
		var r eventRow
		if err := rows.Scan(&r.seq, &r.id, &r.typ, &r.cid, &r.rid); err != nil {
			return nil, err
		}
		evs = append(evs, r)
	}
	return evs, rows.Err()
}
