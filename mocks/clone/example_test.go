package clone_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"time"

	"github.com/rankr/ghlgate/mocks"
	"github.com/rankr/ghlgate/mocks/clone"
)

// ExampleRun clones a location into staging. Here "production" is another
// mock loaded with the demo seed; the CLI passes ghlgate's upstream client
// (credential transport inside), GHL's base URL and the rate limiter's wait.
func ExampleRun() {
	seed, err := mocks.DefaultSeed()
	if err != nil {
		panic(err)
	}
	production, err := mocks.New(mocks.Options{Seed: seed})
	if err != nil {
		panic(err)
	}
	prod := httptest.NewServer(production)
	defer prod.Close()

	staging, err := mocks.New(mocks.Options{
		Dataset: mocks.StagingDataset, Persist: &mocks.MemoryPersister{},
		Now: func() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) },
	})
	if err != nil {
		panic(err)
	}
	rep, err := clone.Run(context.Background(), clone.Options{
		Client:   prod.Client(),
		BaseURL:  prod.URL,
		Location: "ve9EPM428h8vShlRW1KT",
		Limit:    5,
		MaskPII:  true,
		MaskSalt: "a secret kept across runs",
		Target:   staging,
		Wait:     func(context.Context) error { return nil }, // the rate limiter's wait
		Progress: os.Stdout,
	})
	if err != nil {
		panic(err)
	}
	_, ok := staging.LookupTestContact("clone-A5s02KGvdiP4TLqi58G5")
	fmt.Println(rep.Contacts, rep.Requests, ok)
	// Output:
	// listed page 1: 5 contacts (5 so far)
	// fetched 5/5 contacts with their tasks and notes
	// imported 5 contacts, 2 tasks and 3 notes into staging location ve9EPM428h8vShlRW1KT, personal data masked (0 skipped, 16 requests, 0 rate-limited)
	// 5 16 true
}
