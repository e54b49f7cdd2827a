package events

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/rankr/ghlgate/store"
)

// Store keeps intents and events. SQLStore implements it on SQLite and on
// PostgreSQL; the gateway, the handlers and the CLI depend only on this.
type Store interface {
	// BeginIntent durably records a mutation before it is forwarded and
	// returns its id.
	BeginIntent(ctx context.Context, in Intent) (string, error)
	// Confirm writes ev and closes the intent in one transaction. Confirming
	// an already confirmed intent returns its event again.
	Confirm(ctx context.Context, intentID string, ev Event) (Event, error)
	// Abandon closes an intent without an event (non-2xx answer, or
	// reconciliation's not_applied / unknown).
	Abandon(ctx context.Context, intentID string, status IntentStatus, note string) error
	// PendingIntents lists the intents still open that were recorded before
	// `before` (all when zero), oldest first.
	PendingIntents(ctx context.Context, before time.Time) ([]Intent, error)
	// Intents lists intents in a status, for review of unknown ones.
	Intents(ctx context.Context, status IntentStatus, limit int) ([]Intent, error)
	// Append stores an event that has no intent (a webhook). A repeated
	// ExternalID returns the stored event and ErrDuplicateWebhook.
	Append(ctx context.Context, ev Event) (Event, error)
	// List pages through events in cursor order.
	List(ctx context.Context, q Query) ([]Event, error)
	// Get returns one event by id.
	Get(ctx context.Context, id string) (Event, error)
	// EchoCandidates lists gateway events on a resource since a time that no
	// webhook has confirmed yet, oldest first.
	EchoCandidates(ctx context.Context, resourceID string, since time.Time) ([]Event, error)
	// MarkConfirmedByGHL records that a webhook echoed the event; false when
	// another webhook already did.
	MarkConfirmedByGHL(ctx context.Context, eventID string, at time.Time) (bool, error)
	// Changed returns a channel closed at the next commit of this process.
	Changed() <-chan struct{}
}

// Query selects events. Zero values select everything.
type Query struct {
	// After is the cursor: only events with Seq > After.
	After int64
	// Limit caps the page; default 100, at most 1000.
	Limit int
	// Types keeps only these types; "contact.*" matches a prefix.
	Types     []string
	Source    Source
	Stage     string
	Location  string
	ContactID string
	// Newest returns the last Limit matching events (still in ascending
	// order), for `events tail`.
	Newest bool
}

// StoreOptions tunes an SQLStore. Zero values take the defaults.
type StoreOptions struct {
	// SQLiteSynchronous is the synchronous pragma of the SQLite writer
	// connection: "FULL" (default) or "NORMAL". See NewStore.
	SQLiteSynchronous string
	// MaxBatch caps the writes committed together; default 512.
	MaxBatch int
	// Now is the clock; default time.Now.
	Now func() time.Time
	// NewID makes event and intent ids; default UUIDv7.
	NewID func() string
	// Logger; default discards.
	Logger *slog.Logger
}

// SQLStore is the Store on SQLite or PostgreSQL.
//
// Every write goes through one writer goroutine that takes what has queued
// while the previous transaction committed and commits it as one
// transaction (group commit): N concurrent requests share one fsync
// instead of queueing for N. One failing write does not fail its
// batch-mates (see commit), and each caller waits for its batch's commit
// before it returns. One writer also makes Seq order
// equal commit order, so a reader's cursor never skips an event that
// commits late; on PostgreSQL an advisory lock per batch extends that
// guarantee across replicas.
type SQLStore struct {
	db    *store.DB
	pg    bool
	wconn *sql.Conn // SQLite: the writer's own connection (its pragma)
	// prepared holds the writer's statements, prepared once and bound to
	// each transaction (database/sql keeps them per connection, so the
	// writer's connection parses each query once); owned by the writer
	// goroutine.
	prepared map[string]*sql.Stmt
	ops      chan *writeOp
	mu       sync.RWMutex // guards closed against concurrent submits
	closed   bool
	done     chan struct{}
	notifMu  sync.Mutex
	changed  chan struct{}
	max      int
	now      func() time.Time
	newID    func() string
	log      *slog.Logger
}

type writeOp struct {
	fn   func(ctx context.Context, tx *wtx) error
	done chan error
}

// advisoryKey serialises event writers across PostgreSQL replicas.
const advisoryKey = 5_736_020_101

// NewStore migrates the events schema and starts the writer. On SQLite the
// writer connection runs synchronous=FULL by default: the store opener's
// NORMAL is already safe against a SIGKILL (the WAL is in the OS cache),
// but an OS crash or power cut could drop the last commits, and an intent
// lost that way is a change GHL applied with no event. Group commit makes
// FULL cheap: the fsync is per batch, not per request (BenchmarkCapture
// measures both).
func NewStore(ctx context.Context, db *store.DB, opts StoreOptions) (*SQLStore, error) {
	if err := db.Migrate(ctx, "events", migrations()); err != nil {
		return nil, fmt.Errorf("migrate events: %w", err)
	}
	s := &SQLStore{
		db: db, pg: db.Dialect == store.Postgres,
		ops: make(chan *writeOp, 1024), done: make(chan struct{}),
		changed: make(chan struct{}), max: opts.MaxBatch,
		now: opts.Now, newID: opts.NewID, log: opts.Logger,
	}
	if s.max <= 0 {
		s.max = 512
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newID == nil {
		s.newID = NewUUIDv7
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if !s.pg {
		sync := strings.ToUpper(opts.SQLiteSynchronous)
		if sync == "" {
			sync = "FULL"
		}
		if sync != "FULL" && sync != "NORMAL" {
			return nil, fmt.Errorf("events store: sqlite synchronous %q: want FULL or NORMAL", opts.SQLiteSynchronous)
		}
		conn, err := db.Conn(ctx)
		if err != nil {
			return nil, fmt.Errorf("events store: writer connection: %w", err)
		}
		if _, err := conn.ExecContext(ctx, "PRAGMA synchronous = "+sync); err != nil {
			conn.Close()
			return nil, fmt.Errorf("events store: set synchronous: %w", err)
		}
		s.wconn = conn
	}
	go s.writer()
	return s, nil
}

// NewUUIDv7 returns a new UUIDv7 string.
func NewUUIDv7() string { return uuid.Must(uuid.NewV7()).String() }

// Close stops the writer after it commits what is queued. It does not
// close the *store.DB, which other components share.
func (s *SQLStore) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.ops)
	s.mu.Unlock()
	<-s.done
	for _, st := range s.prepared {
		st.Close()
	}
	if s.wconn != nil {
		return s.wconn.Close()
	}
	return nil
}

// Dialect says which database the store runs on.
func (s *SQLStore) Dialect() store.Dialect { return s.db.Dialect }

// write queues fn for the next group commit and waits for that commit.
// Once queued, the write is waited for even if ctx ends: the caller must
// learn whether its intent or event is durable.
func (s *SQLStore) write(ctx context.Context, fn func(ctx context.Context, tx *wtx) error) error {
	op := &writeOp{fn: fn, done: make(chan error, 1)}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrStoreClosed
	}
	select {
	case s.ops <- op:
	case <-ctx.Done():
		s.mu.RUnlock()
		return ctx.Err()
	}
	s.mu.RUnlock()
	return <-op.done
}

func (s *SQLStore) writer() {
	defer close(s.done)
	for {
		op, ok := <-s.ops
		if !ok {
			return
		}
		batch := []*writeOp{op}
	fill:
		for len(batch) < s.max {
			select {
			case op, ok := <-s.ops:
				if !ok {
					break fill
				}
				batch = append(batch, op)
			default:
				break fill
			}
		}
		s.commit(batch)
	}
}

func (s *SQLStore) commit(batch []*writeOp) {
	ctx := context.Background()
	results := make([]error, len(batch))
	// Optimistic: run the whole batch in one transaction. Writes fail only
	// on misuse (an unknown or closed intent), so when one does, the batch
	// is rolled back and each write retried in a transaction of its own;
	// savepoints per write would cost three statements on every write to
	// spare the rare failure.
	failed := -1
	err := s.inTx(ctx, func(tx *wtx) error {
		for i, op := range batch {
			if err := op.fn(ctx, tx); err != nil {
				failed = i
				return err
			}
		}
		return nil
	})
	if err != nil && failed >= 0 && len(batch) > 1 {
		for i, op := range batch {
			results[i] = s.inTx(ctx, func(tx *wtx) error { return op.fn(ctx, tx) })
		}
		err = nil
	} else if failed >= 0 {
		results[0], err = err, nil
	}
	if err != nil {
		s.log.Error("events group commit failed", "writes", len(batch), "error", err)
		err = fmt.Errorf("commit events batch: %w", err)
	}
	for i, op := range batch {
		if err != nil {
			op.done <- err
			continue
		}
		op.done <- results[i]
	}
	s.notify()
}

func (s *SQLStore) inTx(ctx context.Context, fn func(tx *wtx) error) error {
	var tx *sql.Tx
	var err error
	if s.wconn != nil {
		tx, err = s.wconn.BeginTx(ctx, nil)
	} else {
		tx, err = s.db.BeginTx(ctx, nil)
	}
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	if s.pg {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(advisoryKey)); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
	}
	w := &wtx{Tx: tx, prepare: s.wconn != nil, prepared: s.prepared}
	if err := fn(w); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.prepare(ctx, w.unprepared)
	return nil
}

// prepare prepares queries for the transactions to come. They are prepared
// on the pool, not on wconn: Tx.StmtContext re-prepares a statement of a
// *sql.Conn every time, while one of the pool is prepared on a connection
// once and reused there.
func (s *SQLStore) prepare(ctx context.Context, queries []string) {
	for _, q := range queries {
		if _, ok := s.prepared[q]; ok {
			continue
		}
		st, err := s.db.PrepareContext(ctx, q)
		if err != nil {
			continue // the next transaction prepares it for itself again
		}
		if s.prepared == nil {
			s.prepared = map[string]*sql.Stmt{}
		}
		s.prepared[q] = st
	}
}

// wtx is a writer transaction. On SQLite each statement is prepared once
// on the writer's connection and bound to every transaction: parsing SQL
// was a fifth of the CPU per write without any preparing, and preparing
// per transaction still cost a tenth of a change's CPU when transactions
// carry one write each. (pgx caches prepared statements per connection
// itself.)
type wtx struct {
	*sql.Tx
	prepare  bool
	prepared map[string]*sql.Stmt // the store's, read only here
	stmts    map[string]*sql.Stmt // bound to this transaction
	// unprepared are the queries this transaction prepared for itself;
	// the store prepares them for the next ones once it commits.
	unprepared []string
}

func (w *wtx) stmt(ctx context.Context, query string) *sql.Stmt {
	if !w.prepare {
		return nil
	}
	if st, ok := w.stmts[query]; ok {
		return st
	}
	var st *sql.Stmt
	if parent, ok := w.prepared[query]; ok {
		st = w.Tx.StmtContext(ctx, parent)
	} else {
		var err error
		if st, err = w.Tx.PrepareContext(ctx, query); err != nil {
			return nil // the unprepared call reports the error
		}
		w.unprepared = append(w.unprepared, query)
	}
	if w.stmts == nil {
		w.stmts = map[string]*sql.Stmt{}
	}
	w.stmts[query] = st
	return st
}

// ExecContext runs query, prepared once per batch on SQLite.
func (w *wtx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := w.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return w.Tx.ExecContext(ctx, query, args...)
}

// QueryRowContext runs query, prepared once per batch on SQLite.
func (w *wtx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := w.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return w.Tx.QueryRowContext(ctx, query, args...)
}

// Changed returns a channel closed at the next commit of this process.
// Take it before reading, so a commit between the read and the wait is not
// missed.
func (s *SQLStore) Changed() <-chan struct{} {
	s.notifMu.Lock()
	defer s.notifMu.Unlock()
	return s.changed
}

func (s *SQLStore) notify() {
	s.notifMu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.notifMu.Unlock()
}

func (s *SQLStore) q(query string) string { return s.db.Rebind(query) }

// BeginIntent implements Store.
func (s *SQLStore) BeginIntent(ctx context.Context, in Intent) (string, error) {
	if in.ID == "" {
		in.ID = s.newID()
	}
	if in.Time.IsZero() {
		in.Time = s.now()
	}
	var params sql.NullString
	if len(in.PathParams) > 0 {
		b, _ := json.Marshal(in.PathParams)
		params = sql.NullString{String: string(b), Valid: true}
	}
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO event_intents (id, created_us, operation_id, method,
			path, path_params, stage, location, client, request_id, request_body, status)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			in.ID, in.Time.UnixMicro(), in.OperationID, in.Method, in.Path, params, in.Stage,
			in.Location, in.Client, in.RequestID, nullJSON(in.RequestBody), string(IntentPending))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("record intent %s: %w", in.OperationID, err)
	}
	return in.ID, nil
}

// Confirm implements Store.
func (s *SQLStore) Confirm(ctx context.Context, intentID string, ev Event) (Event, error) {
	ev = s.fillEvent(ev)
	ev.IntentID = intentID
	if ev.Source == "" {
		ev.Source = SourceGateway
	}
	if ev.Status == "" {
		ev.Status = StatusCaptured
	}
	var out Event
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE event_intents SET status = ?, resolved_us = ?,
			request_body = NULL WHERE id = ? AND status IN (?, ?)`),
			string(IntentConfirmed), s.now().UnixMicro(), intentID, string(IntentPending), string(IntentUnknown))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			st, err := intentStatus(ctx, tx, s, intentID)
			if err != nil {
				return err
			}
			if st != IntentConfirmed {
				return fmt.Errorf("%w: %s is %s", ErrIntentClosed, intentID, st)
			}
			out, err = s.scanOne(tx.QueryRowContext(ctx, s.q("SELECT "+eventCols+" FROM events WHERE intent_id = ?"), intentID))
			return err
		}
		out, err = s.insertEvent(ctx, tx, ev, false)
		return err
	})
	if err != nil {
		return Event{}, fmt.Errorf("confirm intent %s: %w", intentID, err)
	}
	return out, nil
}

func intentStatus(ctx context.Context, tx *wtx, s *SQLStore, id string) (IntentStatus, error) {
	var st string
	err := tx.QueryRowContext(ctx, s.q("SELECT status FROM event_intents WHERE id = ?"), id).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrIntentNotFound
	}
	return IntentStatus(st), err
}

// Abandon implements Store.
func (s *SQLStore) Abandon(ctx context.Context, intentID string, status IntentStatus, note string) error {
	switch status {
	case IntentAbandoned, IntentNotApplied, IntentUnknown:
	default:
		return fmt.Errorf("abandon intent %s: status %q cannot close an intent", intentID, status)
	}
	// An unknown intent keeps its request body for the reviewer.
	body := "NULL"
	if status == IntentUnknown {
		body = "request_body"
	}
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE event_intents SET status = ?, note = ?, resolved_us = ?,
			request_body = `+body+` WHERE id = ? AND status IN (?, ?)`),
			string(status), note, s.now().UnixMicro(), intentID, string(IntentPending), string(IntentUnknown))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		st, err := intentStatus(ctx, tx, s, intentID)
		if err != nil {
			return err
		}
		if st == status {
			return nil
		}
		return fmt.Errorf("%w: %s is %s", ErrIntentClosed, intentID, st)
	})
	if err != nil {
		return fmt.Errorf("abandon intent %s: %w", intentID, err)
	}
	return nil
}

const intentCols = `id, created_us, operation_id, method, path, path_params, stage, location,
	client, request_id, request_body, status, note`

func scanIntents(rows *sql.Rows) ([]Intent, error) {
	defer rows.Close()
	var out []Intent
	for rows.Next() {
		var in Intent
		var us int64
		var params, body sql.NullString
		var st string
		if err := rows.Scan(&in.ID, &us, &in.OperationID, &in.Method, &in.Path, &params, &in.Stage,
			&in.Location, &in.Client, &in.RequestID, &body, &st, &in.Note); err != nil {
			return nil, err
		}
		in.Time = time.UnixMicro(us).UTC()
		in.Status = IntentStatus(st)
		if params.Valid {
			if err := json.Unmarshal([]byte(params.String), &in.PathParams); err != nil {
				return nil, fmt.Errorf("intent %s path params: %w", in.ID, err)
			}
		}
		if body.Valid {
			in.RequestBody = json.RawMessage(body.String)
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

// PendingIntents implements Store.
func (s *SQLStore) PendingIntents(ctx context.Context, before time.Time) ([]Intent, error) {
	cut := int64(1<<63 - 1)
	if !before.IsZero() {
		cut = before.UnixMicro()
	}
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+intentCols+
		" FROM event_intents WHERE status = ? AND created_us < ? ORDER BY created_us, id"), string(IntentPending), cut)
	if err != nil {
		return nil, fmt.Errorf("pending intents: %w", err)
	}
	out, err := scanIntents(rows)
	if err != nil {
		return nil, fmt.Errorf("pending intents: %w", err)
	}
	return out, nil
}

// Intents implements Store.
func (s *SQLStore) Intents(ctx context.Context, status IntentStatus, limit int) ([]Intent, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+intentCols+
		" FROM event_intents WHERE status = ? ORDER BY created_us, id LIMIT ?"), string(status), limit)
	if err != nil {
		return nil, fmt.Errorf("intents %s: %w", status, err)
	}
	out, err := scanIntents(rows)
	if err != nil {
		return nil, fmt.Errorf("intents %s: %w", status, err)
	}
	return out, nil
}

// Append implements Store.
func (s *SQLStore) Append(ctx context.Context, ev Event) (Event, error) {
	ev = s.fillEvent(ev)
	if ev.Source == "" {
		ev.Source = SourceWebhook
	}
	if ev.Status == "" {
		ev.Status = StatusReceived
	}
	var out Event
	dup := false
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		var err error
		out, err = s.insertEvent(ctx, tx, ev, ev.ExternalID != "")
		if errors.Is(err, sql.ErrNoRows) {
			dup = true
			out, err = s.scanOne(tx.QueryRowContext(ctx, s.q("SELECT "+eventCols+" FROM events WHERE external_id = ?"), ev.ExternalID))
		}
		return err
	})
	if err != nil {
		return Event{}, fmt.Errorf("append event %s: %w", ev.Type, err)
	}
	if dup {
		return out, fmt.Errorf("append event %s: webhook %s: %w", ev.Type, ev.ExternalID, ErrDuplicateWebhook)
	}
	return out, nil
}

func (s *SQLStore) fillEvent(ev Event) Event {
	if ev.ID == "" {
		ev.ID = s.newID()
	}
	if ev.Time.IsZero() {
		ev.Time = s.now()
	}
	ev.Time = ev.Time.UTC().Truncate(time.Microsecond)
	return ev
}

// insertEvent inserts ev and returns it with its Seq. With ignoreDup a
// clash on external_id inserts nothing and returns sql.ErrNoRows.
func (s *SQLStore) insertEvent(ctx context.Context, tx *wtx, ev Event, ignoreDup bool) (Event, error) {
	conflict := ""
	if ignoreDup {
		conflict = " ON CONFLICT (external_id) DO NOTHING"
	}
	var confirmed sql.NullInt64
	if ev.ConfirmedByGHLAt != nil {
		confirmed = sql.NullInt64{Int64: ev.ConfirmedByGHLAt.UnixMicro(), Valid: true}
	}
	err := tx.QueryRowContext(ctx, s.q(`INSERT INTO events (id, type, source, stage, location,
		resource_type, resource_id, contact_id, client, request_id, fields, resource, raw, time_us,
		reconciled, status, confirmed_by_ghl_us, intent_id, external_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`+conflict+` RETURNING seq`),
		ev.ID, ev.Type, string(ev.Source), ev.Stage, ev.Location, ev.ResourceType, ev.ResourceID,
		ev.ContactID, ev.Client, ev.RequestID, nullJSON(ev.Fields), nullJSON(ev.Resource), nullJSON(ev.Raw),
		ev.Time.UnixMicro(), boolInt(ev.Reconciled), ev.Status, confirmed, nullString(ev.IntentID),
		nullString(ev.ExternalID)).Scan(&ev.Seq)
	return ev, err
}

const eventCols = `seq, id, type, source, stage, location, resource_type, resource_id, contact_id,
	client, request_id, fields, resource, raw, time_us, reconciled, status, confirmed_by_ghl_us,
	intent_id, external_id`

type rowScanner interface{ Scan(dest ...any) error }

func (s *SQLStore) scanOne(r rowScanner) (Event, error) {
	var ev Event
	var src string
	var fields, resource, raw, intent, ext sql.NullString
	var us int64
	var rec int
	var conf sql.NullInt64
	if err := r.Scan(&ev.Seq, &ev.ID, &ev.Type, &src, &ev.Stage, &ev.Location, &ev.ResourceType,
		&ev.ResourceID, &ev.ContactID, &ev.Client, &ev.RequestID, &fields, &resource, &raw, &us, &rec,
		&ev.Status, &conf, &intent, &ext); err != nil {
		return Event{}, err
	}
	ev.Source = Source(src)
	ev.Fields, ev.Resource, ev.Raw = rawOf(fields), rawOf(resource), rawOf(raw)
	ev.Time = time.UnixMicro(us).UTC()
	ev.Reconciled = rec != 0
	if conf.Valid {
		t := time.UnixMicro(conf.Int64).UTC()
		ev.ConfirmedByGHLAt = &t
	}
	ev.IntentID, ev.ExternalID = intent.String, ext.String
	return ev, nil
}

func (s *SQLStore) scanEvents(rows *sql.Rows) ([]Event, error) {
	defer rows.Close()
	var out []Event
	for rows.Next() {
		ev, err := s.scanOne(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

// MaxListLimit caps one page of List.
const MaxListLimit = 1000

// List implements Store.
func (s *SQLStore) List(ctx context.Context, q Query) ([]Event, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	if q.Limit > MaxListLimit {
		q.Limit = MaxListLimit
	}
	where := []string{"seq > ?"}
	args := []any{q.After}
	if len(q.Types) > 0 {
		var ors []string
		for _, t := range q.Types {
			if p, ok := strings.CutSuffix(t, "*"); ok {
				ors = append(ors, "substr(type, 1, ?) = ?")
				args = append(args, len(p), p)
				continue
			}
			ors = append(ors, "type = ?")
			args = append(args, t)
		}
		where = append(where, "("+strings.Join(ors, " OR ")+")")
	}
	for _, f := range []struct{ col, v string }{
		{"source", string(q.Source)}, {"stage", q.Stage}, {"location", q.Location}, {"contact_id", q.ContactID},
	} {
		if f.v != "" {
			where = append(where, f.col+" = ?")
			args = append(args, f.v)
		}
	}
	order := "ASC"
	if q.Newest {
		order = "DESC"
	}
	args = append(args, q.Limit)
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+eventCols+" FROM events WHERE "+
		strings.Join(where, " AND ")+" ORDER BY seq "+order+" LIMIT ?"), args...)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	out, err := s.scanEvents(rows)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	if q.Newest {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out, nil
}

// Get implements Store.
func (s *SQLStore) Get(ctx context.Context, id string) (Event, error) {
	ev, err := s.scanOne(s.db.QueryRowContext(ctx, s.q("SELECT "+eventCols+" FROM events WHERE id = ?"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return Event{}, fmt.Errorf("event %s: %w", id, ErrEventNotFound)
	}
	if err != nil {
		return Event{}, fmt.Errorf("event %s: %w", id, err)
	}
	return ev, nil
}

// EchoCandidates implements Store.
func (s *SQLStore) EchoCandidates(ctx context.Context, resourceID string, since time.Time) ([]Event, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+eventCols+` FROM events WHERE resource_id = ?
		AND source = ? AND confirmed_by_ghl_us IS NULL AND time_us >= ? ORDER BY seq`),
		resourceID, string(SourceGateway), since.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("echo candidates %s: %w", resourceID, err)
	}
	out, err := s.scanEvents(rows)
	if err != nil {
		return nil, fmt.Errorf("echo candidates %s: %w", resourceID, err)
	}
	return out, nil
}

// MarkConfirmedByGHL implements Store.
func (s *SQLStore) MarkConfirmedByGHL(ctx context.Context, eventID string, at time.Time) (bool, error) {
	var marked bool
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE events SET confirmed_by_ghl_us = ?
			WHERE id = ? AND confirmed_by_ghl_us IS NULL`), at.UnixMicro(), eventID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		marked = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("mark %s confirmed by ghl: %w", eventID, err)
	}
	return marked, nil
}

func nullJSON(b json.RawMessage) sql.NullString {
	if len(b) == 0 {
		return sql.NullString{}
	}
	return sql.NullString{String: string(b), Valid: true}
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func rawOf(n sql.NullString) json.RawMessage {
	if !n.Valid {
		return nil
	}
	return json.RawMessage(n.String)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
