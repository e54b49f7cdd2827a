// Package audit keeps the trail of access decisions that security reviews:
// one record per decision, written to the data store and to a JSON-lines
// file. Records are queued and written in batches by one goroutine, so the
// request path never waits for a disk; the queue is bounded and a full queue
// makes callers wait rather than drop a record.
//
// The store keeps the trail in segments: one row per written batch of up to
// segmentSize records, holding their JSON lines (the same bytes as the
// file) with the batch's time span, its deny count and its clients, so that
// a search skips the segments that cannot match. A row and two index
// entries per record cost about 6 µs of SQLite work per record, the largest
// single cost of a request through the gateway; a segment costs about a
// fifth of that per record. Searches decode the lines of the segments they
// keep.
//
// The lines of a segment are stored compressed (column packed, an S2 block
// of github.com/klauspost/compress/s2; lines is then empty): SQLite's cost
// is per page written, twice (the WAL, then the checkpoint), and the lines
// of one batch repeat most of their bytes. 256 lines of about 350 bytes
// take 23 pages as they are and 2 packed (S2 makes them about 13 times
// smaller, in about 0.1 µs per record); BenchmarkWrite, at 256 records a
// batch, went from about 5 µs to 1.0-1.4 µs per record. zstd packs twice
// as tight at three times the cost, and the pages saved no longer pay for
// it. Segments written before packing keep their lines as text and are
// read as before; in SQL, a packed segment's lines are bytes, not text
// (ghlgate audit query and the JSON-lines file read them).
package audit

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/s2"

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
	Version:  1,
	Name:     "audit records",
	SQLite:   recordsMigration("INTEGER PRIMARY KEY AUTOINCREMENT"),
	Postgres: recordsMigration("BIGSERIAL PRIMARY KEY"),
}, {
	Version: 2,
	Name:    "audit segments",
	// Each record of version 1 becomes a segment of its own.
	SQLite:   segmentsMigration("INTEGER PRIMARY KEY AUTOINCREMENT", "char(10)"),
	Postgres: segmentsMigration("BIGSERIAL PRIMARY KEY", "chr(10)"),
}, {
	Version: 3,
	Name:    "packed audit segments",
	// NULL in the segments written before: their lines are text.
	SQLite:   `ALTER TABLE audit_segments ADD COLUMN packed BLOB`,
	Postgres: `ALTER TABLE audit_segments ADD COLUMN packed BYTEA`,
}}

// recordsMigration is migration 1 in a dialect: its id column.
func recordsMigration(id string) string {
	return `CREATE TABLE audit_records (
		id ` + id + `,
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
	CREATE INDEX audit_client ON audit_records (client, time)`
}

// segmentsMigration is migration 2 in a dialect: its id column and its
// newline.
func segmentsMigration(id, newline string) string {
	return `CREATE TABLE audit_segments (
		id ` + id + `,
		min_time TEXT NOT NULL,
		max_time TEXT NOT NULL,
		records INTEGER NOT NULL,
		denies INTEGER NOT NULL,
		clients TEXT NOT NULL,
		lines TEXT NOT NULL
	);
	CREATE INDEX audit_segments_time ON audit_segments (max_time);
	INSERT INTO audit_segments (min_time, max_time, records, denies, clients, lines)
		SELECT time, time, 1, CASE WHEN decision = 'deny' THEN 1 ELSE 0 END,
			` + newline + ` || client || ` + newline + `, record || ` + newline + `
		FROM audit_records ORDER BY id;
	DROP TABLE audit_records`
}

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
	db   *store.DB
	file *os.File
	w    *bufio.Writer
	ch   chan Record
	// wake tells the writer a batch is queued (capacity 1). The writer
	// does not wait on ch itself: a receiver waiting on ch made every
	// Record wake it, a goroutine switch and often a thread wake-up per
	// request.
	wake chan struct{}
	// wakeAt is the queue length that wakes the writer: a batch, or a
	// full queue if it is shorter.
	wakeAt int
	flush  chan chan error
	done   chan struct{}
	// stopped is closed when the writer goroutine has returned.
	stopped chan struct{}
	log     *slog.Logger
	every   time.Duration
	closed  sync.Once

	// Owned by the writer goroutine.
	insert *sql.Stmt
	buf    []byte
	packed []byte
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
	t := &Trail{db: db, ch: make(chan Record, opts.Queue), wake: make(chan struct{}, 1), wakeAt: min(batchSize, opts.Queue), flush: make(chan chan error),
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
	if len(t.ch) >= t.wakeAt {
		select {
		case t.wake <- struct{}{}:
		default: // already told
		}
	}
}

// batchSize is how many queued records wake the writer before its tick
// (fewer if the queue is shorter). A transaction costs about 400 µs of
// SQLite work whatever it carries (BEGIN IMMEDIATE, the commit's WAL
// frames for the table's and index's pages); at 256 records that was half
// of a record's cost, at 1,024 it is a fifth (BenchmarkWrite: 1.4 µs per
// record, then 0.7). Under load a batch fills in about 0.1 s, sooner than
// the tick (200 ms by default), which still bounds how long a record
// waits; the queue (4,096 by default) leaves room behind a batch.
const batchSize = 1024

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
		if t.insert != nil {
			t.insert.Close()
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
	batch := make([]Record, 0, batchSize)
	write := func() error {
		// Take what is queued, so one transaction carries a burst.
		for len(batch) < 4*batchSize {
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
	// failing is set by a failed write: until the next tick (or a Flush)
	// retries, a full batch does not wake the writer for another attempt.
	failing := false
	// writeDown writes until fewer than n records are queued, or a write
	// fails. Producers that found the queue full wait for it to drain, a
	// tick after an outage must not leave them there, and a Flush writes
	// everything (Close flushes, and what it leaves is lost).
	writeDown := func(n int) error {
		for {
			err := write()
			if failing = err != nil; failing || len(t.ch) < n {
				return err
			}
		}
	}
	for {
		select {
		case <-t.wake:
			if !failing {
				writeDown(t.wakeAt) //nolint:errcheck // logged; retried on the next tick
			}
		case <-ticker.C:
			writeDown(t.wakeAt) //nolint:errcheck // logged; retried on the next tick
		case reply := <-t.flush:
			reply <- writeDown(1)
		case <-t.done:
			return
		}
	}
}

// segmentSize bounds the records of one segment, so that a search decodes
// few lines it does not need.
const segmentSize = 256

const insertSegment = `INSERT INTO audit_segments (min_time, max_time, records, denies, clients, lines, packed)
	VALUES (?, ?, ?, ?, ?, '', ?)`

// prepared is the segment INSERT, prepared once on the pool and bound to
// each batch's transaction: only the writer goroutine uses it.
func (t *Trail) prepared(ctx context.Context) (*sql.Stmt, error) {
	if t.insert != nil {
		return t.insert, nil
	}
	st, err := t.db.PrepareContext(ctx, t.db.Rebind(insertSegment))
	if err != nil {
		return nil, fmt.Errorf("prepare audit insert: %w", err)
	}
	t.insert = st
	return st, nil
}

func (t *Trail) write(batch []Record) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := t.prepared(ctx)
	if err != nil {
		return err
	}
	// Every record is encoded into one buffer as a line; ends[i] ends
	// record i's line, newline included.
	t.buf = t.buf[:0]
	ends := make([]int, 0, len(batch))
	for _, r := range batch {
		if t.buf, err = appendRecord(t.buf, r); err != nil {
			return err
		}
		t.buf = append(t.buf, '\n')
		ends = append(ends, len(t.buf))
	}
	tx, err := t.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck
	ins := tx.StmtContext(ctx, st)
	defer ins.Close()
	start := 0
	for i := 0; i < len(batch); i += segmentSize {
		seg := batch[i:min(i+segmentSize, len(batch))]
		end := ends[i+len(seg)-1]
		lo, hi, denies, clients := summarize(seg)
		t.packed = s2.Encode(t.packed[:cap(t.packed)], t.buf[start:end])
		if _, err := ins.ExecContext(ctx, lo.UTC().Format(timeLayout), hi.UTC().Format(timeLayout),
			len(seg), denies, clients, t.packed); err != nil {
			return err
		}
		start = end
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if t.w != nil {
		t.w.Write(t.buf) //nolint:errcheck // checked by Flush below
		if err := t.w.Flush(); err != nil {
			t.log.Error("audit file write failed; the store has the records", "err", err)
		}
	}
	return nil
}

// summarize gives what a segment's row says of its records: the earliest
// and latest time, how many are denials, and its distinct clients, each
// between newlines ("\nweb\nqa\n").
func summarize(seg []Record) (lo, hi time.Time, denies int, clients string) {
	var distinct []string
	for i, r := range seg {
		if i == 0 || r.Time.Before(lo) {
			lo = r.Time
		}
		if i == 0 || r.Time.After(hi) {
			hi = r.Time
		}
		if r.Decision == Deny {
			denies++
		}
		if !slices.Contains(distinct, r.Client) {
			distinct = append(distinct, r.Client)
		}
	}
	return lo, hi, denies, "\n" + strings.Join(distinct, "\n") + "\n"
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

// Search returns the records matching q, oldest first (newest first with
// q.Newest). The store keeps only the segments that can hold a match (by
// time span, deny count and clients); their lines are then checked one by
// one.
func Search(ctx context.Context, db *store.DB, q Query) ([]Record, error) {
	if err := db.Migrate(ctx, "audit", migrations); err != nil {
		return nil, err
	}
	var where []string
	var args []any
	add := func(cond string, v ...any) { where = append(where, cond); args = append(args, v...) }
	switch q.Decision {
	case Deny:
		add("denies > 0")
	case Allow:
		add("records > denies")
	}
	if q.Client != "" && !strings.Contains(q.Client, "\n") {
		add("clients LIKE ? ESCAPE '!'", "%\n"+likeEscaper.Replace(q.Client)+"\n%")
	}
	if !q.Since.IsZero() {
		add("max_time >= ?", q.Since.UTC().Format(timeLayout))
	}
	if !q.Until.IsZero() {
		add("min_time < ?", q.Until.UTC().Format(timeLayout))
	}
	query := "SELECT id, lines, packed FROM audit_segments"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	if q.Newest {
		query += " ORDER BY id DESC"
	} else {
		query += " ORDER BY id"
	}
	rows, err := db.QueryContext(ctx, db.Rebind(query), args...)
	if err != nil {
		return nil, fmt.Errorf("query audit: %w", err)
	}
	defer rows.Close()
	// A line that lacks one of these plain values cannot match, and is not
	// decoded: appendRecord writes plain strings as they are.
	var needles [][]byte
	for _, v := range []string{q.Client, q.Operation, q.Reason} {
		if v != "" && plainString(v) {
			needles = append(needles, []byte(`"`+v+`"`))
		}
	}
	var out []Record
	var (
		id       int64
		lines    []byte
		packed   []byte
		unpacked []byte
	)
	for rows.Next() {
		if err := rows.Scan(&id, &lines, &packed); err != nil {
			return nil, err
		}
		if len(packed) > 0 {
			if unpacked, err = unpack(unpacked, packed); err != nil {
				return nil, fmt.Errorf("audit segment %d is damaged (the JSON-lines file holds the same records): %w", id, err)
			}
			lines = unpacked
		}
		seg := bytes.Split(bytes.TrimSuffix(lines, []byte("\n")), []byte("\n"))
		if q.Newest {
			slices.Reverse(seg)
		}
	line:
		for _, b := range seg {
			for _, n := range needles {
				if !bytes.Contains(b, n) {
					continue line
				}
			}
			var r Record
			if err := json.Unmarshal(b, &r); err != nil {
				return nil, fmt.Errorf("audit record is not JSON: %w", err)
			}
			if !q.matches(r) {
				continue
			}
			out = append(out, r)
			if q.Limit > 0 && len(out) == q.Limit {
				return out, nil
			}
		}
	}
	return out, rows.Err()
}

// maxSegment bounds the lines a packed segment may unpack to: 256 records
// take about 90 KB, and a corrupt length must not allocate gigabytes.
const maxSegment = 64 << 20

// unpack decodes a packed segment's lines into buf's space.
func unpack(buf, packed []byte) ([]byte, error) {
	n, err := s2.DecodedLen(packed)
	if err != nil {
		return nil, fmt.Errorf("packed lines are not an S2 block: %w", err)
	}
	if n > maxSegment {
		return nil, fmt.Errorf("packed lines claim %d bytes, more than a segment can hold (%d)", n, maxSegment)
	}
	out, err := s2.Decode(buf[:cap(buf)], packed)
	if err != nil {
		return nil, fmt.Errorf("packed lines do not decode: %w", err)
	}
	return out, nil
}

// matches reports whether r passes every filter of q.
func (q Query) matches(r Record) bool {
	return (q.Decision == "" || r.Decision == q.Decision) &&
		(q.Client == "" || r.Client == q.Client) &&
		(q.Operation == "" || r.OperationID == q.Operation) &&
		(q.Reason == "" || r.Reason == q.Reason) &&
		(q.Since.IsZero() || !r.Time.Before(q.Since)) &&
		(q.Until.IsZero() || r.Time.Before(q.Until))
}

// likeEscaper escapes a value for LIKE ... ESCAPE '!'.
var likeEscaper = strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")

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
