package mocks

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func benchMock(b *testing.B, persist Persister) (*Mock, string) {
	b.Helper()
	m, err := New(Options{Now: func() time.Time { return t0 }, NewID: SequentialIDs("bench"), Seed: testSeed(b), Persist: persist})
	if err != nil {
		b.Fatal(err)
	}
	id, ok := m.LookupTestContact("alice-smith")
	if !ok {
		b.Fatal("seed lacks alice-smith")
	}
	return m, id
}

// BenchmarkGetContact is GET /contacts/{id} through the handler, on the
// default seed.
func BenchmarkGetContact(b *testing.B) {
	m, id := benchMock(b, nil)
	req := httptest.NewRequest("GET", "/contacts/"+id, nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		m.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// BenchmarkCreateContact is POST /contacts/ through the handler, in
// memory and with a snapshot saved per create (MemoryPersister).
func BenchmarkCreateContact(b *testing.B) {
	for _, tc := range []struct {
		name    string
		persist Persister
	}{{"memory", nil}, {"persisted", &MemoryPersister{}}} {
		b.Run(tc.name, func(b *testing.B) {
			m, _ := benchMock(b, tc.persist)
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				m.ServeHTTP(rec, httptest.NewRequest("POST", "/contacts/",
					strings.NewReader(`{"locationId":"ve9EPM428h8vShlRW1KT","firstName":"Bench","lastName":"Mark"}`)))
				if rec.Code != http.StatusCreated {
					b.Fatalf("status %d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

// TestConcurrentUse runs creates, reads, lists and faults in parallel so
// -race sees the locks.
func TestConcurrentUse(t *testing.T) {
	h := newHarness(t, withPersist(&MemoryPersister{}), func(o *Options) {
		o.OnMutation = nil
		o.Faults = []FaultRule{{Method: "GET", Fault: "status=503", Every: 7}}
	})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				rec := httptest.NewRecorder()
				h.mock.ServeHTTP(rec, httptest.NewRequest("POST", "/contacts/", strings.NewReader(
					fmt.Sprintf(`{"locationId":%q,"email":"w%d.%d@example.com"}`, locA, w, i))))
				if rec.Code != 201 {
					t.Errorf("create = %d %s", rec.Code, rec.Body)
					return
				}
				rec = httptest.NewRecorder()
				h.mock.ServeHTTP(rec, httptest.NewRequest("GET", "/contacts/?limit=5&locationId="+locA, nil))
			}
		}()
	}
	wg.Wait()
	for range 7 { // the rule fails every 7th GET
		a, _ := h.send("GET", "/contacts/?limit=1&locationId="+locA, nil)
		if a.status != 200 {
			continue
		}
		if a.body["count"] != float64(160) {
			t.Errorf("count after 160 parallel creates = %v; want 160", a.body["count"])
		}
		return
	}
	t.Error("no GET answered 200 in 7 tries")
}
