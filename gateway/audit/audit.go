// Package audit keeps the trail of access decisions that security reviews:
// one record per decision, written to the data store and to a JSON-lines
// file. Records are queued and written in batches by one goroutine, so the
// request path never waits for a disk; the queue is bounded and a full queue
// makes callers wait rather than drop a record.
package audit

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/rankr/ghlgate/store"
)

// Decisions.
const (
	Allow = "allow"
	Deny  = "deny"
)

// Record is one access decision.
type Record struct {
	Time           time.Time `json:"time"`
	RequestID      string    `json:"request_id"`
	Client         string    `json:"client,omitempty"`
	Stage          string    `json:"stage"`
	OperationID    string    `json:"operation_id,omitempty"`
	Method         string    `json:"method"`
	Route          string    `json:"route,omitempty"`
	Path           string    `json:"path"`
	ScopesRequired []string  `json:"scopes_required,omitempty"`
	ScopesHeld     []string  `json:"scopes_held,omitempty"`
	Location       string    `json:"location,omitempty"`
	Decision       string    `json:"decision"`
	Reason         string    `json:"reason"`
	Detail         string    `json:"detail,omitempty"`
	Status         int       `json:"status"`
	UpstreamStatus int       `json:"upstream_status,omitempty"`
	LatencyMS      float64   `json:"latency_ms"`
	RemoteAddr     string    `json:"remote_addr,omitempty"`
}

var migrations = []store.Migration{{
	Version: 1,
	Name:    "audit records",
	SQLite: `CREATE TABLE audit_records (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		time TEXT NOT NULL,
		request_id TEXT NOT NULL,
		client TEXT NOT NULL,
		stage TEXT NOT NULL,
		operation_id TEXT NOT NULL,
		decision TEXT NOT NULL,
		reason TEXT NOT NULL,
		status INTEGER NOT NULL,
		record TEXT NOT NULL
	);
	CREATE INDEX audit_time ON audit_records (time);
	CREATE INDEX audit_client ON audit_records (client, time)`,
	Postgres: `CREATE TABLE audit_records (
		id BIGSERIAL PRIMARY KEY,
		time TEXT NOT NULL,
		request_id TEXT NOT NULL,
		client TEXT NOT NULL,
		stage TEXT NOT NULL,
		operation_id TEXT NOT NULL,
		decision TEXT NOT NULL,
		reason TEXT NOT NULL,
		status INTEGER NOT NULL,
		record TEXT NOT NULL
	);
	CREATE INDEX audit_time ON audit_records (time);
	CREATE INDEX audit_client ON audit_records (client, time)`,
}}

// Options configure a Trail.
type Options struct {
	// File is the JSON-lines copy; "" writes none.
	File string
	// FlushInterval is the longest a record waits before it is written.
	FlushInterval time.Duration
	// Queue bounds the records waiting to be written. Default 4096.
	Queue  int
	Logger *slog.Logger
}

// Trail writes records to the store and the file.
type Trail struct {
	db    *store.DB
	file  *os.File
	w     *bufio.Writer
	ch    chan Record
	flush chan chan error
	done  chan struct{}
	// stopped is closed when the writer goroutine has returned.
	stopped chan struct{}
	log     *slog.Logger
	every   time.Duration
	closed  sync.Once

	// Owned by the writer goroutine.
	stmts stmts
	buf   []byte
}

// New migrates the audit table, opens the file and starts the writer.
func New(ctx context.Context, db *store.DB, opts Options) (*Trail, error) {
	if err := db.Migrate(ctx, "audit", migrations); err != nil {
		return nil, err
	}
	if opts.Queue <= 0 {
		opts.Queue = 4096
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = 200 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	t := &Trail{db: db, ch: make(chan Record, opts.Queue), flush: make(chan chan error),
		done: make(chan struct{}), stopped: make(chan struct{}), log: opts.Logger, every: opts.FlushInterval}
	if opts.File != "" {
		f, err := os.OpenFile(opts.File, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, fmt.Errorf("open audit file %s: %w", opts.File, err)
		}
		t.file, t.w = f, bufio.NewWriterSize(f, 64<<10)
	}
	go t.run()
	return t, nil
}

// Record queues r. It waits only when the queue is full.
func (t *Trail) Record(r Record) {
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	t.ch <- r
}

// Flush writes everything queued so far and returns the first write error.
func (t *Trail) Flush(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case t.flush <- reply:
	case <-ctx.Done():
		return ctx.Err()
	case <-t.done:
		return errors.New("audit trail closed")
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close writes what is queued and stops the writer.
func (t *Trail) Close() error {
	var err error
	t.closed.Do(func() {
		err = t.Flush(context.Background())
		close(t.done)
		<-t.stopped
		if t.stmts.one != nil {
			t.stmts.one.Close()
			t.stmts.many.Close()
		}
		if t.file != nil {
			if ferr := t.file.Close(); err == nil {
				err = ferr
			}
		}
	})
	return err
}

func (t *Trail) run() {
	defer close(t.stopped)
	ticker := time.NewTicker(t.every)
	defer ticker.Stop()
	batch := make([]Record, 0, 256)
	write := func() error {
		// Take whatever else is already queued, so one transaction carries
		// a burst.
		for len(batch) < 1024 {
			select {
			case r := <-t.ch:
				batch = append(batch, r)
				continue
			default:
			}
			break
		}
		if len(batch) == 0 {
			return nil
		}
		err := t.write(batch)
		if err != nil {
			t.log.Error("audit write failed; the records stay queued in memory and are retried", "records", len(batch), "err", err)
			return err
		}
		batch = batch[:0]
		return nil
	}
	for {
		select {
		case r := <-t.ch:
			batch = append(batch, r)
			if len(batch) >= 256 {
				write() //nolint:errcheck // logged; retried on the next tick
			}
		case <-ticker.C:
			write() //nolint:errcheck
		case reply := <-t.flush:
			reply <- write()
		case <-t.done:
			return
		}
	}
}

// rowsPerInsert is how many records one INSERT statement carries: a
// statement executed per row costs SQLite's VM setup and database/sql's
// bookkeeping per row; sixteen rows per statement take a third less CPU per
// record (BenchmarkWrite), and more rows gain nothing measurable.
const rowsPerInsert = 16

const insertPrefix = `INSERT INTO audit_records
		(time, request_id, client, stage, operation_id, decision, reason, status, record)
		VALUES `

// insertSQL is the INSERT of n records.
func insertSQL(n int) string {
	return insertPrefix + strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?), ", n), ", ")
}

// stmts are the writer's two INSERTs (one row, rowsPerInsert rows),
// prepared once on the pool and bound to each batch's transaction: only the
// writer goroutine uses them.
type stmts struct{ one, many *sql.Stmt }

func (t *Trail) prepared(ctx context.Context) (stmts, error) {
	if t.stmts.one != nil {
		return t.stmts, nil
	}
	one, err := t.db.PrepareContext(ctx, t.db.Rebind(insertSQL(1)))
	if err != nil {
		return stmts{}, fmt.Errorf("prepare audit insert: %w", err)
	}
	many, err := t.db.PrepareContext(ctx, t.db.Rebind(insertSQL(rowsPerInsert)))
	if err != nil {
		one.Close()
		return stmts{}, fmt.Errorf("prepare audit insert: %w", err)
	}
	t.stmts = stmts{one: one, many: many}
	return t.stmts, nil
}

func (t *Trail) write(batch []Record) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := t.prepared(ctx)
	if err != nil {
		return err
	}
	// Every line is encoded into one buffer; lines[i] ends record i.
	t.buf = t.buf[:0]
	ends := make([]int, 0, len(batch))
	for _, r := range batch {
		if t.buf, err = appendRecord(t.buf, r); err != nil {
			return err
		}
		ends = append(ends, len(t.buf))
	}
	line := func(i int) []byte {
		start := 0
		if i > 0 {
			start = ends[i-1]
		}
		return t.buf[start:ends[i]]
	}
	tx, err := t.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck
	many, one := tx.StmtContext(ctx, st.many), tx.StmtContext(ctx, st.one)
	defer many.Close()
	defer one.Close()
	args := make([]any, 0, 9*rowsPerInsert)
	for i := 0; i < len(batch); {
		n, s := rowsPerInsert, many
		if len(batch)-i < rowsPerInsert {
			n, s = 1, one
		}
		args = args[:0]
		for j := i; j < i+n; j++ {
			r := &batch[j]
			args = append(args, r.Time.UTC().Format(timeLayout), r.RequestID, r.Client, r.Stage,
				r.OperationID, r.Decision, r.Reason, r.Status, string(line(j)))
		}
		if _, err := s.ExecContext(ctx, args...); err != nil {
			return err
		}
		i += n
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if t.w != nil {
		for i := range batch {
			t.w.Write(line(i))  //nolint:errcheck // checked by Flush below
			t.w.WriteByte('\n') //nolint:errcheck
		}
		if err := t.w.Flush(); err != nil {
			t.log.Error("audit file write failed; the store has the records", "err", err)
		}
	}
	return nil
}

// timeLayout sorts lexically in time order (fixed width, UTC).
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// Query selects records; zero fields do not filter.
type Query struct {
	Decision  string
	Client    string
	Operation string
	Reason    string
	Since     time.Time
	Until     time.Time
	Limit     int
	// Newest returns the newest records first (with Limit: the last ones).
	Newest bool
}

// Search returns the records matching q, oldest first.
func Search(ctx context.Context, db *store.DB, q Query) ([]Record, error) {
	if err := db.Migrate(ctx, "audit", migrations); err != nil {
		return nil, err
	}
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if q.Decision != "" {
		add("decision = ?", q.Decision)
	}
	if q.Client != "" {
		add("client = ?", q.Client)
	}
	if q.Operation != "" {
		add("operation_id = ?", q.Operation)
	}
	if q.Reason != "" {
		add("reason = ?", q.Reason)
	}
	if !q.Since.IsZero() {
		add("time >= ?", q.Since.UTC().Format(timeLayout))
	}
	if !q.Until.IsZero() {
		add("time < ?", q.Until.UTC().Format(timeLayout))
	}
	sql := "SELECT record FROM audit_records"
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	if q.Newest {
		sql += " ORDER BY id DESC"
	} else {
		sql += " ORDER BY id"
	}
	if q.Limit > 0 {
		sql += fmt.Sprintf(" LIMIT %d", q.Limit)
	}
	rows, err := db.QueryContext(ctx, db.Rebind(sql), args...)
	if err != nil {
		return nil, fmt.Errorf("query audit: %w", err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return nil, err
		}
		var r Record
		if err := json.Unmarshal([]byte(raw), &r); err != nil {
			return nil, fmt.Errorf("audit record is not JSON: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// WriteTable prints records as an aligned table for people.
func WriteTable(w io.Writer, recs []Record) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%-24s %-8s %-6s %-16s %-10s %-30s %-6s %-22s %s\n", "TIME", "DECISION", "STATUS", "CLIENT", "STAGE", "OPERATION", "METHOD", "REASON", "PATH")
	for _, r := range recs {
		fmt.Fprintf(bw, "%-24s %-8s %-6d %-16s %-10s %-30s %-6s %-22s %s\n", r.Time.UTC().Format("2006-01-02T15:04:05.000Z"),
			r.Decision, r.Status, dash(r.Client), r.Stage, dash(r.OperationID), r.Method, r.Reason, r.Path)
	}
	return bw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
