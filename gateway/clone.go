package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rankr/ghlgate/gateway/credential"
	"github.com/rankr/ghlgate/gateway/problem"
	"github.com/rankr/ghlgate/gateway/ratelimit"
	"github.com/rankr/ghlgate/mocks/clone"
)

// CloneRequest says what to copy from production into staging.
type CloneRequest struct {
	Location string `json:"location"`
	Limit    int    `json:"limit"`
	MaskPII  bool   `json:"mask_pii"`
}

// MaskSaltEnv names the variable holding the salt of --mask-pii; without it
// a random salt is made once and kept in the data directory, so masking is
// the same across runs and cannot be replayed by someone who lacks it.
const MaskSaltEnv = "GHLGATE_MASK_SALT"

// CloneStaging copies contacts with their tasks and notes from production
// into the staging dataset, marked as test data, through the gateway's own
// credential and inside the production location's rate-limit budget (in
// the backfill lane, so interactive traffic keeps its share).
func (g *Gateway) CloneStaging(ctx context.Context, req CloneRequest, progress io.Writer) (clone.Report, error) {
	if g.mocks == nil {
		return clone.Report{}, errors.New("staging is not enabled (mock.staging)")
	}
	salt := ""
	if req.MaskPII {
		var err error
		if salt, err = g.maskSalt(); err != nil {
			return clone.Report{}, err
		}
	}
	client := &http.Client{Transport: credential.NewTransport(g.upstream, g.cred, g.cfg.Upstream.Version), Timeout: g.cfg.Upstream.Timeout}
	wait := func(ctx context.Context) error {
		if g.limiter == nil {
			return nil
		}
		d, err := g.limiter.Wait(ctx, ratelimit.Request{Stage: "production", Client: "ghlgate-clone", Location: req.Location, Lane: "backfill", Now: g.now()}, time.Minute)
		if err == nil && !d.Allowed {
			err = fmt.Errorf("the %s rate-limit budget stayed spent for a minute; run the clone again later", d.Limit)
		}
		return err
	}
	return clone.Run(ctx, clone.Options{
		Client: client, BaseURL: g.cfg.Upstream.BaseURL, Version: g.cfg.Upstream.Version,
		Location: req.Location, Limit: req.Limit, MaskPII: req.MaskPII, MaskSalt: salt,
		Target: g.mocks.Staging(), Wait: wait, Logger: g.log, Progress: progress,
	})
}

func (g *Gateway) maskSalt() (string, error) {
	if s := os.Getenv(MaskSaltEnv); s != "" {
		return s, nil
	}
	path := filepath.Join(g.cfg.DataDir, "mask-salt")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	var b [32]byte
	rand.Read(b[:]) //nolint:errcheck // never fails
	salt := hex.EncodeToString(b[:])
	if err := os.MkdirAll(g.cfg.DataDir, 0o700); err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, os.ErrExist) {
		return g.maskSalt() // another process made it first
	}
	if err != nil {
		return "", fmt.Errorf("keep the masking salt in %s (or set %s): %w", path, MaskSaltEnv, err)
	}
	defer f.Close()
	if _, err := f.WriteString(salt + "\n"); err != nil {
		return "", err
	}
	return salt, nil
}

// serveClone is POST /_gateway/staging/clone: the clone runs inside the
// gateway, so the staging dataset it changes is the one being served.
func (g *Gateway) serveClone(c *gin.Context) {
	var req CloneRequest
	if err := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, 4096)).Decode(&req); err != nil || req.Location == "" {
		problem.Write(c.Writer, problem.New(http.StatusBadRequest, problem.ReasonInvalidRequest,
			`want {"location": "<GHL locationId>", "limit": N, "mask_pii": true|false}`), c.Request.URL.Path, c.GetString(ctxRequestID))
		return
	}
	rep, err := g.CloneStaging(c.Request.Context(), req, nil)
	if err != nil {
		problem.Write(c.Writer, problem.Wrap(http.StatusBadGateway, problem.ReasonUpstreamError, err.Error(), err), c.Request.URL.Path, c.GetString(ctxRequestID))
		return
	}
	c.JSON(http.StatusOK, rep)
}
