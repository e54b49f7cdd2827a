package gateway

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestGinRoutes(t *testing.T) {
	tests := []struct {
		path string
		want bool
	}{
		{"/healthz", true}, {"/readyz", true}, {"/favicon.ico", true}, {"/_gateway/metrics", true},
		{"/_gateway/unknown", true}, {"/webhooks/ghl", true},
		{"/contacts/abc", false}, {"/staging/contacts/", false}, {"/", false}, {"", false}, {"/contacts/_gateway", false},
	}
	for _, tc := range tests {
		if got := ginRoutes(tc.path); got != tc.want {
			t.Errorf("ginRoutes(%q) = %v; want %v", tc.path, got, tc.want)
		}
	}
}

// TestServeDirect checks the direct API path answers as gin's NoRoute
// handling did: status sent with the first byte, 404 text when nothing was
// written, a 500 problem for a panic before any byte, the request id.
func TestServeDirect(t *testing.T) {
	tests := []struct {
		name       string
		reqID      string
		serve      func(w http.ResponseWriter, r *http.Request, id string)
		wantStatus int
		wantBody   string
		wantCT     string
	}{
		{name: "status and body", serve: func(w http.ResponseWriter, r *http.Request, id string) {
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte("made")) //nolint:errcheck
		}, wantStatus: http.StatusCreated, wantBody: "made"},
		{name: "status without body", serve: func(w http.ResponseWriter, r *http.Request, id string) {
			w.WriteHeader(http.StatusNoContent)
		}, wantStatus: http.StatusNoContent},
		{name: "last status before the body wins", serve: func(w http.ResponseWriter, r *http.Request, id string) {
			w.WriteHeader(http.StatusCreated)
			w.WriteHeader(http.StatusAccepted)
			w.Write([]byte("x")) //nolint:errcheck
			w.WriteHeader(http.StatusTeapot)
		}, wantStatus: http.StatusAccepted, wantBody: "x"},
		{name: "nothing written", serve: func(w http.ResponseWriter, r *http.Request, id string) {},
			wantStatus: http.StatusNotFound, wantBody: "404 page not found", wantCT: "text/plain"},
		{name: "panic before a byte", serve: func(w http.ResponseWriter, r *http.Request, id string) {
			w.WriteHeader(http.StatusOK)
			panic("boom")
		}, wantStatus: http.StatusInternalServerError, wantCT: "application/problem+json"},
		{name: "panic after the body", serve: func(w http.ResponseWriter, r *http.Request, id string) {
			w.WriteHeader(http.StatusOK)
			w.Write([]byte("partial")) //nolint:errcheck
			panic("boom")
		}, wantStatus: http.StatusOK, wantBody: "partial"},
		// As under gin's NoRoute: a body written without a status keeps
		// 404 (the pipeline always sets one).
		{name: "body without status", serve: func(w http.ResponseWriter, r *http.Request, id string) {
			w.Write([]byte("x")) //nolint:errcheck
		}, wantStatus: http.StatusNotFound, wantBody: "x"},
		{name: "client request id kept", reqID: "abc-123", serve: func(w http.ResponseWriter, r *http.Request, id string) {
			w.WriteHeader(http.StatusOK)
			w.Write([]byte(id)) //nolint:errcheck
		}, wantStatus: http.StatusOK, wantBody: "abc-123"},
	}
	g := &Gateway{log: slog.New(slog.DiscardHandler)}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/contacts/x", nil)
			if tc.reqID != "" {
				r.Header.Set("X-Request-Id", tc.reqID)
			}
			rec := httptest.NewRecorder()
			g.serveDirect(rec, r, tc.serve)
			if rec.Code != tc.wantStatus {
				t.Errorf("status = %d; want %d", rec.Code, tc.wantStatus)
			}
			id := rec.Header().Get("X-Request-Id")
			if id == "" || (tc.reqID != "" && id != tc.reqID) {
				t.Errorf("X-Request-Id = %q; want %q or a new one", id, tc.reqID)
			}
			if tc.wantCT != "" && rec.Header().Get("Content-Type") != tc.wantCT {
				t.Errorf("Content-Type = %q; want %q", rec.Header().Get("Content-Type"), tc.wantCT)
			}
			if tc.wantCT == "application/problem+json" {
				var p map[string]any
				if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p["request_id"] != id {
					t.Errorf("body = %s (%v); want a problem with request_id %q", rec.Body, err, id)
				}
				return
			}
			if rec.Body.String() != tc.wantBody {
				t.Errorf("body = %q; want %q", rec.Body, tc.wantBody)
			}
		})
	}
}
