package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
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
