package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rankr/ghlgate/store"
	"github.com/rankr/ghlgate/store/storetest"
)

func TestTrail(t *testing.T) {
	for name, open := range map[string]func(testing.TB) *store.DB{"sqlite": storetest.OpenTestSQLite, "postgres": storetest.OpenTestPostgres} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := open(t)
			file := filepath.Join(t.TempDir(), "audit.jsonl")
			tr, err := New(ctx, db, Options{File: file, FlushInterval: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			base := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
			var wg sync.WaitGroup
			for i := range 300 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					d, reason, client := Allow, "allowed", "web"
					if i%3 == 0 {
						d, reason, client = Deny, "scope_missing", "qa"
					}
					tr.Record(Record{Time: base.Add(time.Duration(i) * time.Second), RequestID: "r", Client: client,
						Stage: "production", OperationID: "get-contact", Method: "GET", Path: "/contacts/x", Decision: d, Reason: reason, Status: 200})
				}()
			}
			wg.Wait()
			if err := tr.Close(); err != nil {
				t.Fatalf("Close() = %v", err)
			}
			all, err := Search(ctx, db, Query{})
			if err != nil || len(all) != 300 {
				t.Fatalf("Search(all) = %d records, %v; want 300", len(all), err)
			}
			denied, _ := Search(ctx, db, Query{Decision: Deny, Client: "qa"})
			if len(denied) != 100 {
				t.Errorf("Search(deny, qa) = %d; want 100", len(denied))
			}
			window, _ := Search(ctx, db, Query{Since: base.Add(10 * time.Second), Until: base.Add(20 * time.Second)})
			if len(window) != 10 {
				t.Errorf("Search(10 s window) = %d; want 10", len(window))
			}
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			lines := 0
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				var r Record
				if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
					t.Fatalf("audit file line %d is not JSON: %v", lines+1, err)
				}
				lines++
			}
			if lines != 300 {
				t.Errorf("audit file has %d lines; want 300", lines)
			}
		})
	}
}

// openTrail is a Trail on a fresh SQLite store.
func openTrail(t *testing.T, opts Options) (*Trail, *store.DB) {
	t.Helper()
	db := storetest.OpenTestSQLite(t)
	tr, err := New(context.Background(), db, opts)
	if err != nil {
		t.Fatal(err)
	}
	return tr, db
}

// renameTable renames the audit table away (so that every write fails) or
// back.
func renameTable(t *testing.T, db *store.DB, from, to string) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), "ALTER TABLE "+from+" RENAME TO "+to); err != nil {
		t.Fatal(err)
	}
}

// TestTrailWritesAFullBatchBeforeItsTick: the writer sleeps until its tick
// unless a batch is queued; a full batch is written without waiting for it.
func TestTrailWritesAFullBatchBeforeItsTick(t *testing.T) {
	ctx := context.Background()
	tr, db := openTrail(t, Options{FlushInterval: time.Hour})
	defer tr.Close()
	for range batchSize {
		tr.Record(Record{RequestID: "r", Client: "web", Decision: Allow, Reason: "allowed", Status: 200})
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		all, err := Search(ctx, db, Query{})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) == batchSize {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s %d of %d records are written; want a full batch written without waiting for the hourly tick", len(all), batchSize)
		}
	}
}

// TestTrailRecordWaitsOnlyWhileTheQueueIsFull: with a queue shorter than a
// batch, a full queue wakes the writer, so producers never wait for the
// tick; nothing is lost.
func TestTrailRecordWaitsOnlyWhileTheQueueIsFull(t *testing.T) {
	ctx := context.Background()
	tr, db := openTrail(t, Options{FlushInterval: time.Hour, Queue: 4})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 100 {
			tr.Record(Record{RequestID: "r", Client: "web", Decision: Allow, Reason: "allowed", Status: 200})
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("100 records into a queue of 4 took over 10 s; want the full queue to wake the writer")
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if all, err := Search(ctx, db, Query{}); err != nil || len(all) != 100 {
		t.Fatalf("Search = %d records, %v; want 100", len(all), err)
	}
}

// TestTrailRecoversFromAnOutage: while the store refuses writes, records
// wait in memory and, once the queue is full, producers wait too; when the
// store is back every record is written and the producers go on.
func TestTrailRecoversFromAnOutage(t *testing.T) {
	ctx := context.Background()
	tr, db := openTrail(t, Options{FlushInterval: 10 * time.Millisecond, Queue: 8})
	defer tr.Close()
	// With the table away, every write fails.
	renameTable(t, db, "audit_segments", "audit_segments_away")
	const n = 1500 // more than the writer holds (a retried batch) plus the queue
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range n {
			tr.Record(Record{RequestID: "r", Client: "web", Decision: Allow, Reason: "allowed", Status: 200})
		}
	}()
	select {
	case <-done:
		t.Fatalf("%d records were taken while the store refused every write; want the producer held once the queue is full", n)
	case <-time.After(200 * time.Millisecond):
	}
	renameTable(t, db, "audit_segments_away", "audit_segments")
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the producer still waits 10 s after the store came back")
	}
	if err := tr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if all, err := Search(ctx, db, Query{}); err != nil || len(all) != n {
		t.Fatalf("Search = %d records, %v; want all %d", len(all), err, n)
	}
}

// TestCloseWritesEverythingQueued: records held back by a failing store
// are more than one transaction's worth; Close writes them all once the
// store is back.
func TestCloseWritesEverythingQueued(t *testing.T) {
	ctx := context.Background()
	tr, db := openTrail(t, Options{FlushInterval: time.Hour})
	// With the table away, every write fails.
	renameTable(t, db, "audit_segments", "audit_segments_away")
	const n = 3000 // within the queue, and more than one write takes
	for range n {
		tr.Record(Record{RequestID: "r", Client: "web", Decision: Allow, Reason: "allowed", Status: 200})
	}
	if err := tr.Flush(ctx); err == nil {
		t.Fatal("Flush() = nil while the audit table is away; want the store's error")
	}
	renameTable(t, db, "audit_segments_away", "audit_segments")
	if err := tr.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if all, err := Search(ctx, db, Query{}); err != nil || len(all) != n {
		t.Fatalf("Search after Close = %d records, %v; want all %d", len(all), err, n)
	}
}

var dialects = map[string]func(testing.TB) *store.DB{"sqlite": storetest.OpenTestSQLite, "postgres": storetest.OpenTestPostgres}

// TestSearchSegments writes records across several segments and checks that
// every filter finds exactly its records, in order, whatever the client's
// name holds (LIKE wildcards, the escape character, quotes).
func TestSearchSegments(t *testing.T) {
	clients := []string{"a_b", "axb", "a%b", "a!b", `q"a`, ""}
	for name, open := range dialects {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := open(t)
			tr, err := New(ctx, db, Options{FlushInterval: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			base := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
			const n = 2*segmentSize + 100
			want := map[string]int{}
			for i := range n {
				d, reason := Allow, "allowed"
				if i%7 == 0 {
					d, reason = Deny, "scope_missing"
				}
				c := clients[i%len(clients)]
				want[c]++
				tr.Record(Record{Time: base.Add(time.Duration(i) * time.Second), RequestID: fmt.Sprint(i), Client: c,
					Stage: "production", OperationID: "get-contact", Method: "GET", Path: "/contacts/x", Decision: d, Reason: reason, Status: 200})
			}
			if err := tr.Close(); err != nil {
				t.Fatal(err)
			}
			var segments int
			if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM audit_segments").Scan(&segments); err != nil {
				t.Fatal(err)
			}
			if segments < 3 {
				t.Errorf("segments = %d for %d records; want at least 3 of at most %d", segments, n, segmentSize)
			}
			for _, c := range clients[:len(clients)-1] {
				got, err := Search(ctx, db, Query{Client: c})
				if err != nil || len(got) != want[c] {
					t.Fatalf("Search(client %q) = %d records, %v; want %d", c, len(got), err, want[c])
				}
				for _, r := range got {
					if r.Client != c {
						t.Errorf("Search(client %q) returned a record of %q", c, r.Client)
					}
				}
			}
			denied, _ := Search(ctx, db, Query{Decision: Deny})
			if len(denied) != (n+6)/7 {
				t.Errorf("Search(deny) = %d; want %d", len(denied), (n+6)/7)
			}
			allowed, _ := Search(ctx, db, Query{Decision: Allow, Reason: "allowed"})
			if len(allowed) != n-(n+6)/7 {
				t.Errorf("Search(allow, allowed) = %d; want %d", len(allowed), n-(n+6)/7)
			}
			newest, _ := Search(ctx, db, Query{Newest: true, Limit: 3})
			if len(newest) != 3 || newest[0].RequestID != fmt.Sprint(n-1) || newest[2].RequestID != fmt.Sprint(n-3) {
				t.Errorf("Search(newest 3) = %v; want requests %d, %d, %d", ids(newest), n-1, n-2, n-3)
			}
			oldest, _ := Search(ctx, db, Query{Limit: 2})
			if len(oldest) != 2 || oldest[0].RequestID != "0" || oldest[1].RequestID != "1" {
				t.Errorf("Search(oldest 2) = %v; want requests 0, 1", ids(oldest))
			}
			// A window across a segment boundary.
			window, _ := Search(ctx, db, Query{Since: base.Add(segmentSize*time.Second - 5*time.Second), Until: base.Add(segmentSize*time.Second + 5*time.Second)})
			if len(window) != 10 || window[0].RequestID != fmt.Sprint(segmentSize-5) {
				t.Errorf("Search(window) = %v; want the 10 requests from %d", ids(window), segmentSize-5)
			}
			lastDenials, _ := Search(ctx, db, Query{Decision: Deny, Newest: true, Limit: 2})
			if len(lastDenials) != 2 || lastDenials[0].RequestID != fmt.Sprint((n-1)/7*7) {
				t.Errorf("Search(last 2 denials) = %v; want the newest first, request %d", ids(lastDenials), (n-1)/7*7)
			}
		})
	}
}

func ids(recs []Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.RequestID
	}
	return out
}

// TestMigrateRecordsToSegments opens a store written by version 1 (a row
// per record) and checks that its records are still found, each filter
// included, once the trail moves to segments.
func TestMigrateRecordsToSegments(t *testing.T) {
	for name, open := range dialects {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := migratedTo(t, open, 1)
			base := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
			for i, c := range []string{"web", "qa", "web"} {
				r := allowedRead(base, i, c)
				if c == "qa" {
					r.Decision, r.Reason = Deny, "scope_missing"
				}
				line, err := appendRecord(nil, r)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := db.ExecContext(ctx, db.Rebind(`INSERT INTO audit_records
					(time, request_id, client, stage, operation_id, decision, reason, status, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
					r.Time.Format(timeLayout), r.RequestID, r.Client, r.Stage, r.OperationID, r.Decision, r.Reason, r.Status, string(line)); err != nil {
					t.Fatal(err)
				}
			}
			all, err := Search(ctx, db, Query{})
			if err != nil || len(all) != 3 || all[0].RequestID != "0" || all[2].RequestID != "2" {
				t.Fatalf("Search(all) after migrating = %v, %v; want requests 0, 1, 2", ids(all), err)
			}
			if got, _ := Search(ctx, db, Query{Decision: Deny, Client: "qa"}); len(got) != 1 || got[0].RequestID != "1" {
				t.Errorf("Search(deny, qa) = %v; want request 1", ids(got))
			}
			if got, _ := Search(ctx, db, Query{Client: "web", Since: base.Add(time.Second)}); len(got) != 1 || got[0].RequestID != "2" {
				t.Errorf("Search(web since 1 s) = %v; want request 2", ids(got))
			}
			// New records land after the migrated ones.
			tr, err := New(ctx, db, Options{FlushInterval: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			tr.Record(Record{Time: base.Add(time.Hour), RequestID: "new", Client: "web", Stage: "production", Method: "GET", Path: "/", Decision: Allow, Reason: "allowed"})
			if err := tr.Close(); err != nil {
				t.Fatal(err)
			}
			if got, _ := Search(ctx, db, Query{Newest: true, Limit: 1}); len(got) != 1 || got[0].RequestID != "new" {
				t.Errorf("Search(newest) = %v; want the record written after migrating", ids(got))
			}
		})
	}
}

// TestPackedAndTextSegmentsReadAlike writes one segment as version 2 did
// (its lines as text) and then one packed, and checks that a search reads
// both, in order, and that new segments are stored packed, not as text.
func TestPackedAndTextSegmentsReadAlike(t *testing.T) {
	for name, open := range dialects {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := migratedTo(t, open, 2)
			base := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
			rec := func(i int, client string) Record { return allowedRead(base, i, client) }
			var text []byte
			for i := range 2 {
				var err error
				if text, err = appendRecord(text, rec(i, "old")); err != nil {
					t.Fatal(err)
				}
				text = append(text, '\n')
			}
			if _, err := db.ExecContext(ctx, db.Rebind(`INSERT INTO audit_segments (min_time, max_time, records, denies, clients, lines)
				VALUES (?, ?, 2, 0, ?, ?)`), base.Format(timeLayout), base.Add(time.Second).Format(timeLayout), "\nold\n", string(text)); err != nil {
				t.Fatal(err)
			}
			tr, err := New(ctx, db, Options{FlushInterval: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			for i := 2; i < 5; i++ {
				tr.Record(rec(i, "new"))
			}
			if err := tr.Close(); err != nil {
				t.Fatal(err)
			}
			all, err := Search(ctx, db, Query{})
			if err != nil || !slices.Equal(ids(all), []string{"0", "1", "2", "3", "4"}) {
				t.Fatalf("Search(all) = %v, %v; want requests 0 to 4", ids(all), err)
			}
			if got, _ := Search(ctx, db, Query{Client: "new", Newest: true}); !slices.Equal(ids(got), []string{"4", "3", "2"}) {
				t.Errorf("Search(new, newest first) = %v; want 4, 3, 2", ids(got))
			}
			var lines string
			var packed []byte
			if err := db.QueryRowContext(ctx, "SELECT lines, packed FROM audit_segments ORDER BY id DESC LIMIT 1").Scan(&lines, &packed); err != nil {
				t.Fatal(err)
			}
			if lines != "" || len(packed) == 0 {
				t.Errorf("new segment: lines %q, packed %d bytes; want its lines packed only", lines, len(packed))
			}
		})
	}
}

// TestDamagedPackedSegment checks that a packed segment that does not
// decode fails the search with an error that names the row, instead of
// dropping its records silently.
func TestDamagedPackedSegment(t *testing.T) {
	ctx := context.Background()
	db := storetest.OpenTestSQLite(t)
	if err := db.Migrate(ctx, "audit", migrations); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Format(timeLayout)
	for _, packed := range [][]byte{{0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2}, {0x05, 0x00}} {
		if _, err := db.ExecContext(ctx, "DELETE FROM audit_segments"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO audit_segments (id, min_time, max_time, records, denies, clients, lines, packed)
			VALUES (7, ?, ?, 1, 0, '', '', ?)`, now, now, packed); err != nil {
			t.Fatal(err)
		}
		_, err := Search(ctx, db, Query{})
		if err == nil || !strings.Contains(err.Error(), "audit segment 7") || !strings.Contains(err.Error(), "JSON-lines file") {
			t.Errorf("Search over damaged packed lines %x: err = %v; want one naming segment 7 and where the records still are", packed, err)
		}
	}
}

// migratedTo opens a store with only the first n audit migrations applied,
// as an older gateway left it.
func migratedTo(t *testing.T, open func(testing.TB) *store.DB, n int) *store.DB {
	t.Helper()
	db := open(t)
	if err := db.Migrate(context.Background(), "audit", migrations[:n]); err != nil {
		t.Fatal(err)
	}
	return db
}

// allowedRead is client's allowed read of a contact, request i, i seconds
// after base.
func allowedRead(base time.Time, i int, client string) Record {
	return Record{Time: base.Add(time.Duration(i) * time.Second), RequestID: fmt.Sprint(i), Client: client, Stage: "production",
		OperationID: "get-contact", Method: "GET", Path: "/contacts/x", Decision: Allow, Reason: "allowed", Status: 200}
}
