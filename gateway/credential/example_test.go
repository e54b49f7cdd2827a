package credential_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"

	"github.com/rankr/ghlgate/gateway/credential"
	"github.com/rankr/ghlgate/store"
)

// Example wires the credential into the upstream reverse proxy: defaults,
// file, Validate, then New with the environment and the token store.
func Example() {
	ctx := context.Background()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	cfg := credential.DefaultConfig() // then the config file's upstream section over it
	if err := cfg.Validate(); err != nil {
		log.Error("bad upstream credential config", "error", err)
		return
	}
	db, err := store.Open(ctx, store.Options{DataDir: os.TempDir()})
	if err != nil {
		return
	}
	defer db.Close()
	key, err := credential.KeyFromEnv(os.Getenv)
	if err != nil {
		return
	}
	tokens, err := credential.NewSQLStore(ctx, db, key)
	if err != nil {
		return
	}
	src, err := credential.New(ctx, cfg, credential.Options{
		BaseURL: "https://services.leadconnectorhq.com",
		Getenv:  os.Getenv,
		Store:   tokens,
		Logger:  log,
	})
	if err != nil {
		return
	}
	target, _ := url.Parse("https://services.leadconnectorhq.com")
	proxy := &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
		Transport: credential.NewTransport(http.DefaultTransport, src, credential.DefaultVersion),
	}
	_ = proxy
}
