package mocks

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkImport measures one Import of 1,000 contacts, each with two
// tasks and a note, into a persisted dataset that already holds them (the
// re-clone case: every contact replaced), including the one snapshot.
func BenchmarkImport(b *testing.B) {
	data := ImportData{LocationID: locA}
	for i := range 1000 {
		id := fmt.Sprintf("Bench%015d", i)
		data.Contacts = append(data.Contacts, ImportContact{
			Contact: Contact{ID: id, FirstName: "First", LastName: fmt.Sprint(i), Email: fmt.Sprintf("p%d@example.test", i),
				DateAdded: "2024-01-02T03:04:05.000Z"},
			Tasks: []Task{
				{ID: fmt.Sprintf("BenchT%014d", 2*i), Title: "Call", DueDate: "2024-02-01T10:00:00.000Z"},
				{ID: fmt.Sprintf("BenchT%014d", 2*i+1), Title: "Write", DueDate: "2024-02-01T10:00:00.000Z"},
			},
			Notes: []Note{{ID: fmt.Sprintf("BenchN%014d", i), Body: "[masked]", DateAdded: "2024-01-05T00:00:00.000Z"}},
		})
	}
	m, err := New(Options{Persist: &MemoryPersister{}, Dataset: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := m.Import(ctx, data); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Import(ctx, data); err != nil {
			b.Fatal(err)
		}
	}
}
