package events

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRecorderFinish(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	st := openStore(t, openSQLiteForTest(t), c)
	rec := NewRecorder(st, RecorderOptions{Now: c.Now, Redact: []string{"email"}})
	in := Intent{OperationID: "update-contact", Method: "PUT", PathParams: map[string]string{"contactId": "C1"},
		Stage: "staging", Location: "L", Client: "rankr", RequestID: "r1",
		RequestBody: json.RawMessage(`{"email":"a@b.c","firstName":"Ada"}`)}

	if _, err := rec.Begin(ctx, Intent{OperationID: "search-contacts-advanced", Method: "POST"}); !errors.Is(err, ErrNotMutation) {
		t.Errorf("Begin(search) = %v; want ErrNotMutation", err)
	}
	tests := []struct {
		name        string
		status      int
		wantEvent   bool
		wantPending bool
	}{
		{"2xx confirms", 200, true, false},
		{"4xx abandons", 422, false, false},
		{"5xx stays pending", 502, false, true},
		{"no answer stays pending", 0, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := rec.Begin(ctx, in)
			if err != nil {
				t.Fatalf("Begin: %v", err)
			}
			ev, err := rec.Finish(ctx, id, in, tc.status, []byte(`{"succeded":true,"contact":{"id":"C1","email":"a@b.c","firstName":"Ada"}}`))
			if err != nil {
				t.Fatalf("Finish: %v", err)
			}
			if (ev.Seq != 0) != tc.wantEvent {
				t.Errorf("Finish(%d) event = %+v; want event %v", tc.status, ev, tc.wantEvent)
			}
			if tc.wantEvent {
				want := Event{Type: "contact.updated", ResourceType: "contact", ResourceID: "C1", ContactID: "C1",
					Stage: "staging", Location: "L", Client: "rankr", RequestID: "r1", Source: SourceGateway, Status: StatusCaptured}
				if ev.Type != want.Type || ev.ResourceID != want.ResourceID || ev.Client != want.Client || ev.Location != want.Location ||
					ev.Source != want.Source || ev.Status != want.Status || ev.Reconciled {
					t.Errorf("event = %+v; want %+v", ev, want)
				}
				if string(ev.Fields) != `{"email":"[redacted]","firstName":"Ada"}` {
					t.Errorf("Fields = %s; want the request body with email redacted", ev.Fields)
				}
				if string(ev.Resource) != `{"email":"[redacted]","firstName":"Ada","id":"C1"}` {
					t.Errorf("Resource = %s; want the unwrapped contact with email redacted", ev.Resource)
				}
			}
			pend, _ := st.PendingIntents(ctx, time.Time{})
			found := false
			for _, p := range pend {
				found = found || p.ID == id
			}
			if found != tc.wantPending {
				t.Errorf("intent pending = %v; want %v", found, tc.wantPending)
			}
		})
	}
}

func webhookFixture(t *testing.T, name string) []byte {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "ghl", "webhooks")
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Skipf("GHL reference data missing (%v); expected ../shared/ghl from the repo root", err)
	}
	return b
}

func TestFromWebhookFixtures(t *testing.T) {
	tests := []struct {
		file, typ, resourceType, contactField string
	}{
		{"ContactCreate.example.json", "contact.created", "contact", "id"},
		{"ContactUpdate.example.json", "contact.updated", "contact", "id"},
		{"ContactDelete.example.json", "contact.deleted", "contact", "id"},
		{"ContactTagUpdate.example.json", "contact.tags_updated", "contact", "id"},
		{"ContactDndUpdate.example.json", "contact.dnd_updated", "contact", "id"},
		{"TaskCreate.example.json", "task.created", "task", "contactId"},
		{"TaskComplete.example.json", "task.completed", "task", "contactId"},
		{"TaskDelete.example.json", "task.deleted", "task", "contactId"},
		{"NoteCreate.example.json", "note.created", "note", "contactId"},
		{"NoteUpdate.example.json", "note.updated", "note", "contactId"},
		{"NoteDelete.example.json", "note.deleted", "note", "contactId"},
		{"AppointmentCreate.example.json", "appointment.created", "appointment", ""},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			payload := webhookFixture(t, tc.file)
			ev, err := FromWebhook(payload, time.Unix(0, 0), "production")
			if err != nil {
				t.Fatalf("FromWebhook: %v", err)
			}
			obj := objectOf(payload)
			if ev.Type != tc.typ || ev.ResourceType != tc.resourceType || ev.ResourceID == "" || ev.Location != stringField(obj, "locationId") {
				t.Errorf("FromWebhook(%s) = %+v; want type %s, resource %s with id and location", tc.file, ev, tc.typ, tc.resourceType)
			}
			if tc.contactField != "" && ev.ContactID != stringField(obj, tc.contactField) {
				t.Errorf("ContactID = %q; want %q", ev.ContactID, stringField(obj, tc.contactField))
			}
		})
	}
	ev, err := FromWebhook([]byte(`{"type":"OpportunityStageUpdate","id":"o1","locationId":"L"}`), time.Unix(0, 0), "")
	if err != nil || ev.Type != "ghl.opportunity_stage_update" || len(ev.Raw) == 0 {
		t.Errorf("FromWebhook(unknown) = %+v, %v; want ghl.opportunity_stage_update with Raw", ev, err)
	}
	if _, err := FromWebhook([]byte(`[1]`), time.Unix(0, 0), ""); !errors.Is(err, ErrNotWebhook) {
		t.Errorf("FromWebhook(not object) = %v; want ErrNotWebhook", err)
	}
}

func TestIngestWebhookEchoSuppression(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	st := openStore(t, openSQLiteForTest(t), c)
	rec := NewRecorder(st, RecorderOptions{Now: c.Now, EchoWindow: time.Minute})
	gateway := func(op, method string, params map[string]string, req, resp string) Event {
		in := Intent{OperationID: op, Method: method, PathParams: params, RequestBody: json.RawMessage(req)}
		id, err := rec.Begin(ctx, in)
		if err != nil {
			t.Fatalf("Begin: %v", err)
		}
		ev, err := rec.Finish(ctx, id, in, 200, []byte(resp))
		if err != nil {
			t.Fatalf("Finish: %v", err)
		}
		return ev
	}
	upd := gateway("update-contact", "PUT", map[string]string{"contactId": "C1"}, `{"firstName":"Ada","email":"ADA@x.io"}`, `{"contact":{"id":"C1"}}`)
	gateway("add-tags", "POST", map[string]string{"contactId": "C2"}, `{"tags":["vip"]}`, `{"tags":["vip"]}`)

	tests := []struct {
		name     string
		payload  string
		advance  time.Duration
		wantEcho string // id of the gateway event it echoes, "" for a new event
	}{
		{"other values: a real change", `{"type":"ContactUpdate","id":"C1","firstName":"Bob"}`, 0, ""},
		{"same fields: echo", `{"type":"ContactUpdate","id":"C1","firstName":"Ada","email":"ada@x.io","city":"X"}`, 0, upd.ID},
		{"second echo of the same change: new event", `{"type":"ContactUpdate","id":"C1","firstName":"Ada","email":"ada@x.io"}`, 0, ""},
		{"tag webhook outside window: new event", `{"type":"ContactTagUpdate","id":"C2","tags":["vip","old"]}`, 2 * time.Minute, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c.Add(tc.advance)
			ev, echo, err := rec.IngestWebhook(ctx, []byte(tc.payload), "production")
			if err != nil {
				t.Fatalf("IngestWebhook: %v", err)
			}
			if echo != (tc.wantEcho != "") || (echo && ev.ID != tc.wantEcho) {
				t.Errorf("IngestWebhook = %s echo %v; want echo of %q", ev.ID, echo, tc.wantEcho)
			}
			if echo && ev.ConfirmedByGHLAt == nil {
				t.Errorf("echoed event has no confirmed_by_ghl_at")
			}
			if !echo && (ev.Source != SourceWebhook || ev.Seq == 0) {
				t.Errorf("new event = %+v; want a stored ghl_webhook event", ev)
			}
		})
	}

	// Inside the window a tag webhook that shows the added tag is an echo.
	tags2 := gateway("add-tags", "POST", map[string]string{"contactId": "C3"}, `{"tags":["VIP"]}`, `{"tags":["vip"]}`)
	if ev, echo, _ := rec.IngestWebhook(ctx, []byte(`{"type":"ContactTagUpdate","id":"C3","tags":["vip","old"]}`), ""); !echo || ev.ID != tags2.ID {
		t.Errorf("tag echo = %s %v; want echo of %s", ev.ID, echo, tags2.ID)
	}
	// A replayed webhookId is stored once.
	p := []byte(`{"type":"NoteCreate","id":"N1","contactId":"C1","webhookId":"wh-9"}`)
	first, _, err := rec.IngestWebhook(ctx, p, "")
	if err != nil {
		t.Fatalf("IngestWebhook: %v", err)
	}
	again, _, err := rec.IngestWebhook(ctx, p, "")
	if !errors.Is(err, ErrDuplicateWebhook) || again.ID != first.ID {
		t.Errorf("IngestWebhook(replay) = %s, %v; want %s, ErrDuplicateWebhook", again.ID, err, first.ID)
	}
	// The feed shows each change once: 2 gateway + C2 tags + ... counted by source.
	gw, _ := st.List(ctx, Query{Source: SourceGateway})
	for _, ev := range gw {
		if ev.ID == upd.ID && ev.ConfirmedByGHLAt == nil {
			t.Errorf("listed %s without confirmed_by_ghl_at", ev.ID)
		}
	}
}

func TestReconcile(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	st := openStore(t, openSQLiteForTest(t), c)
	rec := NewRecorder(st, RecorderOptions{Now: c.Now})
	type answer struct {
		status int
		body   string
		err    error
	}
	tests := []struct {
		name       string
		in         Intent
		readBack   answer
		want       string // event status, or intent status
		wantType   string
		wantSource string
	}{
		{"update applied", Intent{OperationID: "update-contact", Method: "PUT", PathParams: map[string]string{"contactId": "C1"},
			RequestBody: json.RawMessage(`{"firstName":"Ada"}`)}, answer{200, `{"contact":{"id":"C1","firstName":"Ada"}}`, nil}, StatusReconciled, "contact.updated", ""},
		{"update not visible", Intent{OperationID: "update-contact", Method: "PUT", PathParams: map[string]string{"contactId": "C1"},
			RequestBody: json.RawMessage(`{"firstName":"Ada"}`)}, answer{200, `{"contact":{"id":"C1","firstName":"Bob"}}`, nil}, string(IntentUnknown), "", ""},
		{"create found by search", Intent{OperationID: "create-contact", Method: "POST",
			RequestBody: json.RawMessage(`{"locationId":"L","email":"a@b.c"}`)}, answer{200, `{"contact":{"id":"C9","email":"a@b.c"}}`, nil}, StatusReconciled, "contact.created", ""},
		{"create not found", Intent{OperationID: "create-contact", Method: "POST",
			RequestBody: json.RawMessage(`{"locationId":"L","email":"a@b.c"}`)}, answer{404, ``, nil}, string(IntentNotApplied), "", ""},
		{"delete done", Intent{OperationID: "delete-contact", Method: "DELETE", PathParams: map[string]string{"contactId": "C1"}},
			answer{404, ``, nil}, StatusReconciled, "contact.deleted", ""},
		{"delete not done", Intent{OperationID: "delete-contact", Method: "DELETE", PathParams: map[string]string{"contactId": "C1"}},
			answer{200, `{"contact":{"id":"C1"}}`, nil}, string(IntentNotApplied), "", ""},
		{"tags added", Intent{OperationID: "add-tags", Method: "POST", PathParams: map[string]string{"contactId": "C1"},
			RequestBody: json.RawMessage(`{"tags":["a"]}`)}, answer{200, `{"contact":{"id":"C1","tags":["a","b"]}}`, nil}, StatusReconciled, "contact.tags_added", ""},
		{"campaign: cannot read back", Intent{OperationID: "add-contact-to-campaign", Method: "POST",
			PathParams: map[string]string{"contactId": "C1", "campaignId": "K"}}, answer{0, ``, ErrCannotReadBack}, string(IntentUnknown), "", ""},
		{"read back fails: stays pending", Intent{OperationID: "update-contact", Method: "PUT", PathParams: map[string]string{"contactId": "C1"}},
			answer{0, ``, errors.New("stage down")}, string(IntentPending), "", ""},
	}
	answers := map[string]answer{}
	ids := map[string]string{}
	for _, tc := range tests {
		id, err := rec.Begin(ctx, tc.in)
		if err != nil {
			t.Fatalf("Begin: %v", err)
		}
		answers[id] = tc.readBack
		ids[tc.name] = id
	}
	c.Add(time.Second)
	late, _ := rec.Begin(ctx, Intent{OperationID: "update-contact", Method: "PUT", PathParams: map[string]string{"contactId": "C1"}})
	rep, err := rec.Reconcile(ctx, func(ctx context.Context, in Intent) (int, []byte, error) {
		if in.ID == late {
			t.Errorf("Reconcile read back %s, recorded after the cut-off", in.ID)
		}
		a := answers[in.ID]
		return a.status, []byte(a.body), a.err
	}, c.Now())
	if err == nil {
		t.Errorf("Reconcile error = nil; want the failed read-back reported")
	}
	if want := (ReconcileReport{Reconciled: 4, NotApplied: 2, Unknown: 2, Failed: 1}); rep != want {
		t.Errorf("Reconcile = %+v; want %+v", rep, want)
	}
	events, _ := st.List(ctx, Query{})
	byIntent := map[string]Event{}
	for _, ev := range events {
		byIntent[ev.IntentID] = ev
	}
	statuses := map[string]IntentStatus{}
	for _, s := range []IntentStatus{IntentUnknown, IntentNotApplied, IntentPending} {
		ins, _ := st.Intents(ctx, s, 0)
		for _, in := range ins {
			statuses[in.ID] = s
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := ids[tc.name]
			ev, hasEvent := byIntent[id]
			if tc.want == StatusReconciled {
				if !hasEvent || !ev.Reconciled || ev.Status != StatusReconciled || ev.Type != tc.wantType {
					t.Errorf("event for %s = %+v (found %v); want reconciled %s", tc.name, ev, hasEvent, tc.wantType)
				}
				return
			}
			if hasEvent {
				t.Errorf("event %+v for %s; want none (never invent one)", ev, tc.name)
			}
			if got := statuses[id]; string(got) != tc.want {
				t.Errorf("intent status = %q; want %q", got, tc.want)
			}
		})
	}
}

// GHL can report a change before the gateway has GHL's answer. The webhook
// is then deferred (GHL delivers it again) instead of becoming a second
// event; once the gateway's event exists, it is that event's echo. A
// webhook about another record is not held back.
func TestWebhookBeforeTheAnswerIsDeferred(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	st := openStore(t, openSQLiteForTest(t), c)
	rec := NewRecorder(st, RecorderOptions{Now: c.Now, EchoWindow: time.Minute})
	in := Intent{OperationID: "create-contact", Method: "POST", Stage: "staging",
		RequestBody: json.RawMessage(`{"locationId":"L","firstName":"Ada","email":"ada@x.io"}`)}
	id, err := rec.Begin(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	hook := `{"type":"ContactCreate","locationId":"L","id":"NEW1","firstName":"Ada","email":"ada@x.io"}`
	if _, _, err := rec.IngestWebhook(ctx, []byte(hook), "staging"); !errors.Is(err, ErrEchoPending) {
		t.Fatalf("webhook before the answer = %v; want ErrEchoPending", err)
	}
	other := `{"type":"ContactCreate","locationId":"L","id":"OTHER","firstName":"Bo","email":"bo@x.io"}`
	if _, echo, err := rec.IngestWebhook(ctx, []byte(other), "staging"); err != nil || echo {
		t.Errorf("webhook about another contact = echo %v, %v; want a new event", echo, err)
	}
	gw, err := rec.Finish(ctx, id, in, 201, []byte(`{"contact":{"id":"NEW1","locationId":"L","firstName":"Ada","email":"ada@x.io"}}`))
	if err != nil {
		t.Fatal(err)
	}
	ev, echo, err := rec.IngestWebhook(ctx, []byte(hook), "staging")
	if err != nil || !echo || ev.ID != gw.ID {
		t.Errorf("redelivered webhook = %s echo %v, %v; want the echo of %s", ev.ID, echo, err, gw.ID)
	}
	all, _ := st.List(ctx, Query{Limit: 10})
	if len(all) != 2 {
		t.Errorf("events = %d; want 2 (the gateway's create and the other contact)", len(all))
	}
}
