package credential_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rankr/ghlgate/gateway/credential"
)

type okTransport struct{}

func (okTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(""))}, nil
}

// BenchmarkTransport measures what the Transport adds per request on the fast
// path (token valid, no refresh): clone, header swap, Source.Token.
func BenchmarkTransport(b *testing.B) {
	store := credential.NewMemoryStore()
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	if err := store.Save(context.Background(), "default", credential.Token{AccessToken: "at-1", RefreshToken: "rt-1", ExpiresAt: now.Add(time.Hour)}); err != nil {
		b.Fatal(err)
	}
	oauth, err := credential.NewOAuth(credential.OAuthParams{ClientID: "c", ClientSecret: "s", TokenURL: "https://x/oauth/token",
		Store: store, Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	for _, src := range []credential.Source{credential.NewStatic("pit-1", "PIT", nil), oauth} {
		b.Run(src.Kind(), func(b *testing.B) {
			rt := credential.NewTransport(okTransport{}, src, "")
			req, _ := http.NewRequest(http.MethodGet, "https://ghl.test/contacts/abc", nil)
			req.Header.Set("Authorization", "Bearer rk_client")
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := rt.RoundTrip(req)
					if err != nil {
						b.Fatal(err)
					}
					resp.Body.Close()
				}
			})
		})
	}
}
