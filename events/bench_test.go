package events

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/rankr/ghlgate/store"
	"github.com/rankr/ghlgate/store/storetest"
)

// BenchmarkCapture measures durable events per second under concurrent
// mutations: each iteration records an intent and confirms it with its
// event (two group-committed writes), as the gateway does per request.
func BenchmarkCapture(b *testing.B) {
	cases := []struct {
		name string
		open func(b *testing.B) *store.DB
		sync string
	}{
		{"sqlite-full", func(b *testing.B) *store.DB { return storetest.OpenTestSQLite(b) }, "FULL"},
		{"sqlite-normal", func(b *testing.B) *store.DB { return storetest.OpenTestSQLite(b) }, "NORMAL"},
		{"postgres", func(b *testing.B) *store.DB {
			if os.Getenv(storetest.PostgresURLEnv) == "" {
				b.Skipf("set %s to benchmark PostgreSQL", storetest.PostgresURLEnv)
			}
			return storetest.OpenTestPostgres(b)
		}, ""},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			db := tc.open(b)
			s, err := NewStore(context.Background(), db, StoreOptions{SQLiteSynchronous: tc.sync})
			if err != nil {
				b.Fatalf("NewStore: %v", err)
			}
			defer s.Close()
			rec := NewRecorder(s, RecorderOptions{Redact: []string{"email"}})
			resp := []byte(`{"succeded":true,"contact":{"id":"c1","locationId":"loc1","firstName":"Ada","email":"ada@example.com"}}`)
			b.SetParallelism(32) // 64 in-flight requests on 2 cores
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					in := Intent{OperationID: "update-contact", Method: "PUT", Path: "/contacts/c1",
						PathParams: map[string]string{"contactId": "c1"}, Stage: "staging", Location: "loc1",
						Client: "rankr", RequestID: "r", RequestBody: json.RawMessage(`{"firstName":"Ada"}`)}
					id, err := rec.Begin(ctx, in)
					if err != nil {
						b.Error(err)
						return
					}
					if _, err := rec.Finish(ctx, id, in, 200, resp); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		})
	}
}
