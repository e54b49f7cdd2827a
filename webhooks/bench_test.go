package webhooks

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/rankr/ghlgate/store/storetest"
)

func benchBody(b *testing.B) []byte {
	body, err := os.ReadFile(filepath.Join(sharedGHL(b), "webhooks", "ContactDndUpdate.example.json"))
	if err != nil {
		b.Fatal(err)
	}
	return body
}

func BenchmarkVerifyEd25519(b *testing.B) {
	body := benchBody(b)
	v, err := NewVerifier(VerifierConfig{Ed25519PublicKeys: []string{GHLPublicKeyPEM, MockPublicKeyPEM}, Now: fixedNow(t0)})
	if err != nil {
		b.Fatal(err)
	}
	h := hdr(HeaderSignature, Sign(MockPrivateKey(), body)) // the second key: the worse case
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := v.Verify(h, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyLegacyRSA(b *testing.B) {
	body := benchBody(b)
	priv, pemKey := testRSA(b)
	v, err := NewVerifier(VerifierConfig{LegacyRSAPublicKeyPEM: pemKey, AllowLegacy: true, Now: fixedNow(t0)})
	if err != nil {
		b.Fatal(err)
	}
	h := hdr(HeaderLegacySignature, signRSA(b, priv, body))
	for b.Loop() {
		if _, err := v.Verify(h, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	body := benchBody(b)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandler is one whole delivery (verify, parse, dedupe in memory,
// a no-op sink), each with a new webhookId, without the network.
func BenchmarkHandler(b *testing.B) {
	v, err := NewVerifier(VerifierConfig{Ed25519PublicKeys: []string{MockPublicKeyPEM}, Now: fixedNow(t0)})
	if err != nil {
		b.Fatal(err)
	}
	h, err := NewHandler(HandlerConfig{Verifier: v, Deduper: NewMemoryDeduper(DeduperConfig{Now: fixedNow(t0)}),
		Sink: SinkFunc(func(context.Context, Inbound) error { return nil })})
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		i++
		body := contactBody("c1", fmt.Sprintf("wh-%d", i), t0)
		req := httptest.NewRequest(http.MethodPost, "/webhooks/ghl", bytes.NewReader(body))
		req.Header.Set(HeaderSignature, Sign(MockPrivateKey(), body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// BenchmarkSQLiteDeduper is Claim then Settle(accepted) of a new id.
func BenchmarkSQLiteDeduper(b *testing.B) {
	d, err := NewSQLDeduper(context.Background(), storetest.OpenTestSQLite(b), DeduperConfig{Now: fixedNow(t0)})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		id := fmt.Sprintf("wh-%d", i)
		if _, err := d.Claim(ctx, id); err != nil {
			b.Fatal(err)
		}
		if err := d.Settle(ctx, id, OutcomeAccepted); err != nil {
			b.Fatal(err)
		}
	}
}
