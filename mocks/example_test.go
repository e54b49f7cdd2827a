package mocks_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/rankr/ghlgate/mocks"
)

func ExampleNew() {
	seed, err := mocks.DefaultSeed()
	if err != nil {
		panic(err)
	}
	m, err := mocks.New(mocks.Options{
		Now:   func() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) },
		NewID: mocks.SequentialIDs("doc"),
		Seed:  seed,
	})
	if err != nil {
		panic(err)
	}
	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, httptest.NewRequest("POST", "/contacts/",
		strings.NewReader(`{"locationId":"ve9EPM428h8vShlRW1KT","firstName":"Ada","email":"ada@example.com"}`)))
	fmt.Println(rec.Code, strings.Contains(rec.Body.String(), `"id":"doc00000000000000001"`))

	id, _ := m.LookupTestContact("alice-smith")
	rec = httptest.NewRecorder()
	m.ServeHTTP(rec, httptest.NewRequest("GET", "/contacts/"+id, nil))
	fmt.Println(rec.Code, rec.Header().Get("X-RateLimit-Max"))
	// Output:
	// 201 true
	// 200 100
}
