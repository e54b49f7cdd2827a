package webhooks_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/rankr/ghlgate/webhooks"
)

// The offline loop: the mock's emitter signs a GHL-style webhook with the
// mock key, and ghlgate's handler verifies it and hands it to the sink.
func ExampleNewHandler() {
	now := func() time.Time { return time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC) }
	cfg := webhooks.DefaultConfig()
	v, err := webhooks.NewVerifier(cfg.VerifierConfig(now))
	if err != nil {
		panic(err)
	}
	got := make(chan webhooks.Inbound, 1)
	h, err := webhooks.NewHandler(webhooks.HandlerConfig{
		Verifier: v,
		Deduper:  webhooks.NewMemoryDeduper(cfg.DeduperConfig(now)),
		Sink: webhooks.SinkFunc(func(_ context.Context, in webhooks.Inbound) error {
			got <- in
			return nil
		}),
	})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	em := mustEmitter(srv.URL, now)
	defer em.Close(context.Background())
	body, sig, _, err := em.Build(webhooks.Change{GHLType: "NoteCreate", LocationID: "loc1",
		Object: map[string]any{"id": "n1", "body": "hello", "contactId": "c1"}})
	if err != nil {
		panic(err)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/ghl", strings.NewReader(string(body)))
	req.Header.Set(webhooks.HeaderSignature, sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	in := <-got
	fmt.Println(resp.StatusCode, in.Type, in.ResourceID, in.Verified.KeyID)
	// Output: 200 note.created n1 mock
}

func mustEmitter(url string, now func() time.Time) *webhooks.Emitter {
	em, err := webhooks.NewEmitter(webhooks.EmitterConfig{URL: url, Now: now, NewID: func() string { return "wh-1" }})
	if err != nil {
		panic(err)
	}
	return em
}
