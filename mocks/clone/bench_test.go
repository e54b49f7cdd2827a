package clone

import (
	"context"
	"testing"

	"github.com/rankr/ghlgate/mocks"
)

// BenchmarkMaskContact measures masking one contact with a task and a note.
func BenchmarkMaskContact(b *testing.B) {
	m := NewMasker(salt)
	src := mocks.Contact{
		ID: "Contact0000000000001", FirstName: "Ada", LastName: "Lovelace", Name: "Ada Lovelace",
		Email: "ada@example.com", Phone: "+15125550101", Address1: "12 Marylebone Road",
		DateOfBirth: "1815-12-10T00:00:00.000Z", Website: "https://ada.example.com",
	}
	b.ReportAllocs()
	for b.Loop() {
		c := src
		tm := m.Contact(&c)
		t := mocks.Task{Title: "Call Ada back", Body: "about the engine"}
		tm.Task(&t)
		n := mocks.Note{Body: "notes"}
		tm.Note(&n)
	}
}

// BenchmarkRun100 measures a masked clone of 100 contacts (301 exchanges
// with a scripted upstream and one import): the client-side cost per clone,
// without network or rate-limit waits.
func BenchmarkRun100(b *testing.B) {
	f := newFakeGHL(b, 100)
	b.ReportAllocs()
	for b.Loop() {
		target, err := mocks.New(mocks.Options{Persist: &mocks.MemoryPersister{}, Dataset: mocks.StagingDataset})
		if err != nil {
			b.Fatal(err)
		}
		_, err = Run(context.Background(), Options{
			Client: f.client(prodToken), BaseURL: prodBase, Location: prodLoc, Target: target,
			MaskPII: true, MaskSalt: salt,
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
