package audit

import (
	"context"
	"testing"
	"time"

	"github.com/rankr/ghlgate/store/storetest"
)

// BenchmarkWrite is the writer's cost per record (a batch of batchSize
// records in one transaction, as under load), reported as ns/record. Times grow
// from batch to batch as a gateway's do: repeating the same times would
// insert into the middle of the time index and measure a cost production
// never pays.
func BenchmarkWrite(b *testing.B) {
	db := storetest.OpenTestSQLite(b)
	tr, err := New(context.Background(), db, Options{FlushInterval: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	batch := make([]Record, batchSize)
	for i := range batch {
		batch[i] = Record{RequestID: "0123456789abcdef01234567",
			Client: "rankr", Stage: "production", OperationID: "get-contact", Method: "GET", Route: "/contacts/{contactId}",
			Path: "/contacts/ocQHyuzHvysMo5N5VsXc", ScopesRequired: []string{"contacts.readonly"},
			ScopesHeld: []string{"contacts.readonly", "contacts.write"}, Location: "ve9EPM428h8vShlRW1KT",
			Decision: Allow, Reason: "allowed", Status: 200, UpstreamStatus: 200, LatencyMS: 0.42, RemoteAddr: "127.0.0.1:50000"}
	}
	b.ReportAllocs()
	n := 0
	base := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	for b.Loop() {
		for i := range batch {
			batch[i].Time = base.Add(time.Duration(n+i) * time.Millisecond)
		}
		if err := tr.write(batch); err != nil {
			b.Fatal(err)
		}
		n += len(batch)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/record")
}
