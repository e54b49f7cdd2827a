package gateway_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rankr/ghlgate/gateway"
	"github.com/rankr/ghlgate/gateway/auth"
	"github.com/rankr/ghlgate/gateway/gatewaytest"
)

// Clone copies production contacts into staging through the gateway's own
// credential, masked, and the copies are served at /staging as test data.
func TestCloneStagingMasked(t *testing.T) {
	var sawAuth []string
	prod := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawAuth = append(sawAuth, r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/contacts/":
			io.WriteString(w, `{"contacts":[{"id":"prodContact000000001","locationId":"prodLoc"}],"count":1,"meta":{"total":1}}`)
		case "/contacts/prodContact000000001":
			io.WriteString(w, `{"contact":{"id":"prodContact000000001","locationId":"prodLoc","firstName":"Real","lastName":"Person","email":"real.person@corp.com","phone":"+15551234567","dateAdded":"2025-01-01T00:00:00.000Z"}}`)
		case "/contacts/prodContact000000001/tasks":
			io.WriteString(w, `{"tasks":[{"id":"task0000000000000001","title":"Call back","body":"ring Real at +15551234567","contactId":"prodContact000000001","dueDate":"2025-02-01T00:00:00.000Z","completed":false}]}`)
		case "/contacts/prodContact000000001/notes":
			io.WriteString(w, `{"notes":[]}`)
		default:
			w.WriteHeader(404)
		}
	}))
	defer prod.Close()
	env := gatewaytest.Start(t, gatewaytest.Options{Upstream: prod.URL, Env: map[string]string{"GHL_PRIVATE_INTEGRATION_TOKEN": "pit-clone"}})
	t.Setenv(gateway.MaskSaltEnv, "test-salt")
	rep, err := env.Server.CloneStaging(context.Background(), gateway.CloneRequest{Location: "prodLoc", MaskPII: true}, nil)
	if err != nil {
		t.Fatalf("CloneStaging() = %v", err)
	}
	if rep.Contacts != 1 || rep.Tasks != 1 {
		t.Errorf("report = %+v; want 1 contact and 1 task", rep)
	}
	for _, a := range sawAuth {
		if a != "Bearer pit-clone" {
			t.Errorf("production saw Authorization %q; want the gateway's credential", a)
		}
	}
	key := env.Key(t, auth.CreateRequest{Name: "qa", Scopes: []string{"contacts.readonly"}, Stages: []string{"staging"}})
	h := &harness{Env: env}
	r := h.do(t, "GET", "/staging/contacts/prodContact000000001", key, "")
	if r.status != 200 {
		t.Fatalf("cloned contact in staging = %d %s", r.status, r.raw)
	}
	for _, pii := range []string{"real.person@corp.com", "Person", "+15551234567"} {
		if strings.Contains(r.raw, pii) {
			t.Errorf("staging copy still holds %q: %s", pii, r.raw)
		}
	}
	if !strings.Contains(r.raw, `"testFlag":true`) {
		t.Errorf("staging copy = %s; want testFlag true", r.raw)
	}
}
