package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rankr/ghlgate/events"
	"github.com/rankr/ghlgate/gateway/config"
	"github.com/rankr/ghlgate/gateway/proxy"
)

// readBack reads, from an intent's stage, the resource an unconfirmed
// change touched, so reconciliation can tell whether GHL applied it. GHL
// answers "not found" with 400; reconciliation wants 404.
func (g *Gateway) readBack(ctx context.Context, in events.Intent) (int, []byte, error) {
	p := in.PathParams
	var body struct {
		LocationID string `json:"locationId"`
		Email      string `json:"email"`
		Phone      string `json:"phone"`
		Title      string `json:"title"`
		Body       string `json:"body"`
	}
	json.Unmarshal(in.RequestBody, &body) //nolint:errcheck // absent fields stay empty
	switch in.OperationID {
	case "create-contact", "upsert-contact":
		if body.LocationID == "" || (body.Email == "" && body.Phone == "") {
			return 0, nil, events.ErrCannotReadBack
		}
		q := url.Values{"locationId": {body.LocationID}}
		if body.Email != "" {
			q.Set("email", body.Email)
		} else {
			q.Set("number", body.Phone)
		}
		status, raw, err := g.readStage(ctx, in, "/contacts/search/duplicate?"+q.Encode())
		if err != nil || status/100 != 2 {
			return status, raw, err
		}
		var dup struct {
			Contact json.RawMessage `json:"contact"`
		}
		if json.Unmarshal(raw, &dup) != nil || len(dup.Contact) == 0 || string(dup.Contact) == "null" {
			return http.StatusNotFound, nil, nil
		}
		return http.StatusOK, raw, nil
	case "create-task", "create-note":
		kind, field, want := "tasks", "title", body.Title
		if in.OperationID == "create-note" {
			kind, field, want = "notes", "body", body.Body
		}
		if p["contactId"] == "" || want == "" {
			return 0, nil, events.ErrCannotReadBack
		}
		status, raw, err := g.readStage(ctx, in, "/contacts/"+url.PathEscape(p["contactId"])+"/"+kind)
		if err != nil || status/100 != 2 {
			return status, raw, err
		}
		var list map[string][]map[string]any
		json.Unmarshal(raw, &list) //nolint:errcheck
		for _, item := range list[kind] {
			if item[field] == want {
				out, _ := json.Marshal(map[string]any{strings.TrimSuffix(kind, "s"): item})
				return http.StatusOK, out, nil
			}
		}
		return http.StatusNotFound, nil, nil
	}
	var path string
	switch {
	case p["taskId"] != "":
		path = "/contacts/" + url.PathEscape(p["contactId"]) + "/tasks/" + url.PathEscape(p["taskId"])
	case p["id"] != "" && strings.Contains(in.OperationID, "note"):
		path = "/contacts/" + url.PathEscape(p["contactId"]) + "/notes/" + url.PathEscape(p["id"])
	case p["contactId"] != "" && !strings.Contains(in.OperationID, "campaign") && !strings.Contains(in.OperationID, "workflow") && !strings.Contains(in.OperationID, "followers"):
		path = "/contacts/" + url.PathEscape(p["contactId"])
	default:
		return 0, nil, events.ErrCannotReadBack
	}
	return g.readStage(ctx, in, path)
}

// readStage GETs path from the intent's stage.
func (g *Gateway) readStage(ctx context.Context, in events.Intent, path string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(g.cfg.Upstream.BaseURL, "/")+path, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Version", g.cfg.Upstream.Version)
	var resp *http.Response
	switch in.Stage {
	case config.StageProduction:
		resp, err = g.prodLookup.RoundTrip(req)
	case config.StageStaging, config.StageSandbox:
		if g.mocks == nil {
			return 0, nil, fmt.Errorf("no mock to read %s back from", in.Stage)
		}
		m := g.mocks.Staging()
		if in.Stage == config.StageSandbox {
			m = g.mocks.Sandbox(in.Client)
		}
		resp, err = proxy.HandlerTransport{Handler: m}.RoundTrip(req)
	default:
		return 0, nil, events.ErrCannotReadBack
	}
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return 0, nil, err
	}
	if resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusNotFound {
		// GHL's "not found" is a 400 with a message; any other 400 would be
		// a malformed read, which this code does not make.
		return http.StatusNotFound, raw, nil
	}
	return resp.StatusCode, raw, nil
}

// Reconcile settles the intents recorded before before (at start: every one
// left by a previous process).
func (g *Gateway) Reconcile(ctx context.Context, before time.Time) (events.ReconcileReport, error) {
	if g.recorder == nil {
		return events.ReconcileReport{}, nil
	}
	return g.recorder.Reconcile(ctx, g.readBack, before)
}
