package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rankr/ghlgate/events"
	"github.com/rankr/ghlgate/gateway/audit"
	"github.com/rankr/ghlgate/gateway/config"
	"github.com/rankr/ghlgate/gateway/problem"
	"github.com/rankr/ghlgate/gateway/proxy"
	"github.com/rankr/ghlgate/mocks"
	"github.com/rankr/ghlgate/webhooks"
)

// mockStageParam says which mock stage a GHL-style webhook comes from. It is
// not signed, so it is believed only for deliveries verified with the
// mock's key, whose events are test data whatever it says.
const mockStageParam = "stage"

// webhookHandler receives GHL's webhooks: one verifier and deduper, and a
// sink per stage. Deliveries signed by GHL's keys are production events;
// deliveries signed by the mock's test key are staging or sandbox events
// and are refused as production ones.
func (s *Server) webhookHandler(cfg *config.Config, log *slog.Logger, now func() time.Time, rec *events.Recorder, dedupe webhooks.Deduper) (http.Handler, error) {
	verifier, err := webhooks.NewVerifier(cfg.Webhooks.VerifierConfig(now))
	if err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	byStage := map[string]*webhooks.Handler{}
	for _, stage := range config.Stages {
		retryAfter := cfg.Webhooks.RetryAfter
		if stage != config.StageProduction {
			// The mock redelivers as asked; a webhook that arrived before
			// the gateway's answer (events.ErrEchoPending) comes back in a
			// second rather than GHL's ten minutes.
			retryAfter = time.Second
		}
		h, err := webhooks.NewHandler(webhooks.HandlerConfig{
			Verifier: verifier, Deduper: dedupe, Logger: log,
			MaxBodyBytes: cfg.Webhooks.MaxBodyBytes, RetryAfter: retryAfter,
			Sink:       s.webhookSink(stage, rec),
			OnDecision: func(d webhooks.Decision) { s.auditWebhook(stage, d) },
		})
		if err != nil {
			return nil, err
		}
		byStage[stage] = h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stage := config.StageProduction
		if v := r.URL.Query().Get(mockStageParam); v == config.StageStaging || v == config.StageSandbox {
			stage = v
		}
		byStage[stage].ServeHTTP(w, r)
	}), nil
}

// errWrongKey refuses a delivery whose key does not belong to its stage.
var errWrongKey = errors.New("webhook signed by a key not trusted for this stage")

func (s *Server) webhookSink(stage string, rec *events.Recorder) webhooks.Sink {
	return webhooks.SinkFunc(func(ctx context.Context, in webhooks.Inbound) error {
		fromMock := in.Verified.KeyID == webhooks.KeyIDMock
		if fromMock != (stage != config.StageProduction) {
			return fmt.Errorf("%w: %s key for the %s stage: %w", errWrongKey, in.Verified.KeyID, stage, webhooks.ErrSinkPermanent)
		}
		_, _, err := rec.IngestWebhook(ctx, in.Raw, stage)
		return err
	})
}

// auditWebhook records every webhook decision in the audit trail, where
// security reviews refused signatures beside refused keys.
func (s *Server) auditWebhook(stage string, d webhooks.Decision) {
	decision, reason := audit.Allow, problem.ReasonAllowed
	if !d.Accepted {
		decision, reason = audit.Deny, d.Reason
	}
	detail := d.Type
	if d.Err != nil {
		detail = strings.TrimSpace(d.Type + " " + d.Err.Error())
	}
	s.Trail.Record(audit.Record{
		Time: s.now(), RequestID: d.DedupeID, Client: "ghl-webhook:" + d.KeyID, Stage: stage,
		OperationID: "ghl-webhook", Method: http.MethodPost, Route: "/webhooks/ghl", Path: "/webhooks/ghl",
		Decision: decision, Reason: reason, Detail: detail, Status: d.Status,
	})
}

// startEmitters makes the mock send GHL-style webhooks for its own changes,
// signed with the mock's test key, to the configured receiver: by default
// this gateway's own /webhooks/ghl, reached in-process.
func (s *Server) startEmitters(cfg *config.Config, log *slog.Logger, now func() time.Time) error {
	mc := cfg.Webhooks.Mock
	if !mc.Enabled || s.Mocks == nil {
		return nil
	}
	base := mc.URL
	client := &http.Client{Timeout: 10 * time.Second}
	if base == "" {
		base = "http://ghlgate.internal/webhooks/ghl"
		client = &http.Client{Timeout: 10 * time.Second, Transport: proxy.HandlerTransport{Handler: s.Handler()}}
	}
	s.emitters = map[string]*webhooks.Emitter{}
	for _, stage := range []string{config.StageStaging, config.StageSandbox} {
		u, err := url.Parse(base)
		if err != nil {
			return fmt.Errorf("webhooks.mock.url: %w", err)
		}
		q := u.Query()
		q.Set(mockStageParam, stage)
		u.RawQuery = q.Encode()
		em, err := webhooks.NewEmitter(webhooks.EmitterConfig{
			URL: u.String(), PrivateKey: webhooks.MockPrivateKey(), Client: client, Now: now, Logger: log,
			QueueSize: mc.QueueSize, RetryDelay: mc.RetryDelay,
		})
		if err != nil {
			return err
		}
		s.emitters[stage] = em
	}
	return nil
}

// mockMutation turns a change the mock made into a GHL-style webhook.
func (s *Server) mockMutation(m mocks.Mutation) {
	stage := config.StageStaging
	if strings.HasPrefix(m.Dataset, mocks.SandboxDataset("")) {
		stage = config.StageSandbox
	}
	s.emMu.Lock()
	em := s.emitters[stage]
	s.emMu.Unlock()
	if em == nil {
		return
	}
	ch, ok, err := webhooks.ChangeFromMutation(string(m.Kind), string(m.Action), m.LocationID, m.ContactID, m.Object)
	if err != nil || !ok {
		if err != nil {
			s.log.Warn("mock change has no webhook shape", "kind", m.Kind, "action", m.Action, "err", err)
		}
		return
	}
	if err := em.Emit(context.Background(), ch); err != nil {
		s.log.Warn("mock webhook dropped", "stage", stage, "type", ch.GHLType, "err", err)
	}
}

// DrainMockWebhooks sends every queued mock webhook and stops the mock's
// webhooks: for shutdown, and for tests that check what the loop produced.
func (s *Server) DrainMockWebhooks(ctx context.Context) error {
	s.emMu.Lock()
	ems := s.emitters
	s.emitters = nil
	s.emMu.Unlock()
	var errs []error
	for _, em := range ems {
		errs = append(errs, em.Close(ctx))
	}
	return errors.Join(errs...)
}
