package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Records as the mock's OnMutation hands them over (mocks.Mutation.Object).
var (
	mockContact = `{"id":"c1","name":"Ann Lee","locationId":"loc1","firstName":"Ann","lastName":"Lee","firstNameLowerCase":"ann",
		"email":"ann@example.com","phone":"+4915112345678","dnd":false,"tags":["vip"],"dateAdded":"2026-07-01T12:00:00.000Z",
		"dateUpdated":"2026-07-01T12:00:00.000Z","customFields":[{"id":"cf1","value":3}],"dndSettings":{"SMS":{"status":"active"}}}`
	mockTask = `{"id":"t1","title":"Call","body":"re quote","assignedTo":"u1","dueDate":"2026-07-02T09:00:00.000Z","completed":true,
		"dateAdded":"2026-07-01T12:00:00.000Z"}`
	mockNote        = `{"id":"n1","body":"hello","userId":"u1","dateAdded":"2026-07-01T12:00:00.000Z","contactId":"c1"}`
	mockAppointment = `{"id":"a1","title":"Demo","calendarId":"cal1","contactId":"c1","appointmentStatus":"confirmed",
		"startTime":"2026-07-03T10:00:00Z","endTime":"2026-07-03T10:30:00Z","users":["u1"],"status":"booked"}`
)

func seqIDs() func() string {
	var mu sync.Mutex
	n := 0
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		n++
		return fmt.Sprintf("wh-%d", n)
	}
}

// TestEmitterToHandlerRoundTrip runs the offline loop: the mock's changes
// are emitted GHL-style, signed with the mock key, received by the real
// Handler through a socket, verified, parsed and handed to the sink in
// order, and each webhook's echo key equals the one the gateway computes
// from its own response resource.
func TestEmitterToHandlerRoundTrip(t *testing.T) {
	sink := &recordingSink{}
	v, err := NewVerifier(VerifierConfig{Ed25519PublicKeys: []string{GHLPublicKeyPEM, MockPublicKeyPEM}, Now: fixedNow(t0.Add(time.Second))})
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHandler(HandlerConfig{Verifier: v, Deduper: NewMemoryDeduper(DeduperConfig{Now: fixedNow(t0)}), Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	delivered := make(chan Delivery, 16)
	em, err := NewEmitter(EmitterConfig{URL: srv.URL + "/webhooks/ghl", Client: srv.Client(), Now: fixedNow(t0), NewID: seqIDs(),
		OnDelivery: func(d Delivery) { delivered <- d }})
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close(context.Background())

	changes := []struct {
		kind, action, contactID, object string
		wantType, gatewayType           string
	}{
		{"contact", "create", "c1", mockContact, "contact.created", "contact.created"},
		{"tags", "tags_added", "c1", mockContact, "contact.tags_updated", "contact.tags_added"},
		{"task", "create", "c1", mockTask, "task.created", "task.created"},
		{"task", "complete", "c1", mockTask, "task.completed", "task.completed"},
		{"note", "update", "c1", mockNote, "note.updated", "note.updated"},
		{"appointment", "create", "c1", mockAppointment, "appointment.created", "appointment.created"},
		{"contact", "delete", "c1", mockContact, "contact.deleted", "contact.deleted"},
	}
	for _, c := range changes {
		ch, ok, err := ChangeFromMutation(c.kind, c.action, "loc1", c.contactID, json.RawMessage(c.object))
		if err != nil || !ok {
			t.Fatalf("ChangeFromMutation(%s, %s) = %v, %v", c.kind, c.action, ok, err)
		}
		if err := em.Emit(context.Background(), ch); err != nil {
			t.Fatalf("Emit(%s) = %v", ch.GHLType, err)
		}
	}
	for i := range changes {
		d := <-delivered
		if d.Err != nil || d.Status != 200 || d.Attempts != 1 {
			t.Errorf("delivery %d = %+v; want 200 at the first attempt", i, d)
		}
	}
	got := sink.accepted()
	if len(got) != len(changes) {
		t.Fatalf("sink accepted %d; want %d", len(got), len(changes))
	}
	for i, c := range changes {
		in := got[i]
		if in.Type != c.wantType || in.Verified.KeyID != KeyIDMock || in.LocationID != "loc1" || in.ContactID != "c1" {
			t.Errorf("event %d = %s key %s loc %s contact %s; want %s from the mock key in loc1 for c1",
				i, in.Type, in.Verified.KeyID, in.LocationID, in.ContactID, c.wantType)
		}
		if want := fmt.Sprintf("wh-%d", i+1); in.WebhookID != want || !in.Timestamp.Equal(t0) {
			t.Errorf("event %d webhookId %q timestamp %v; want %q %v", i, in.WebhookID, in.Timestamp, want, t0)
		}
		var resource map[string]any
		if err := json.Unmarshal([]byte(c.object), &resource); err != nil {
			t.Fatal(err)
		}
		gw := EchoKey(in.ResourceType, in.ResourceID, EchoFieldsForEventType(c.gatewayType, resource))
		if gw != in.EchoKey {
			t.Errorf("event %d (%s): gateway echo key %s != webhook echo key %s\n gateway %v\n webhook %v",
				i, c.wantType, gw, in.EchoKey, EchoFieldsForEventType(c.gatewayType, resource), in.Fields)
		}
	}
}

// TestBuildPayloadMatchesGHLSchemas checks the emitted shapes against GHL's
// published payload schemas, field names and nesting included.
func TestBuildPayloadMatchesGHLSchemas(t *testing.T) {
	dir := filepath.Join(sharedGHL(t), "webhooks")
	objects := map[string]string{"Contact": mockContact, "Task": mockTask, "Note": mockNote, "Appointment": mockAppointment}
	for _, ghlType := range []string{"ContactCreate", "ContactUpdate", "ContactDelete", "ContactTagUpdate", "ContactDndUpdate",
		"TaskCreate", "TaskComplete", "TaskDelete", "NoteCreate", "NoteUpdate", "NoteDelete",
		"AppointmentCreate", "AppointmentUpdate", "AppointmentDelete"} {
		t.Run(ghlType, func(t *testing.T) {
			var obj map[string]any
			for prefix, o := range objects {
				if strings.HasPrefix(ghlType, prefix) {
					if err := json.Unmarshal([]byte(o), &obj); err != nil {
						t.Fatal(err)
					}
				}
			}
			body, err := BuildPayload(Change{GHLType: ghlType, LocationID: "loc1", ContactID: "c1", Object: obj}, "wh-1", t0)
			if err != nil {
				t.Fatalf("BuildPayload() = %v", err)
			}
			if err := validate(t, compileSchema(t, filepath.Join(dir, ghlType+".schema.json")), body); err != nil {
				t.Errorf("payload %s does not match %s.schema.json: %v", body, ghlType, err)
			}
			prefix := fmt.Sprintf(`{"type":%q,"locationId":"loc1",`, ghlType)
			suffix := `"webhookId":"wh-1","timestamp":"2026-07-01T12:00:00.000Z"}`
			if !strings.HasPrefix(string(body), prefix) || !strings.HasSuffix(string(body), suffix) {
				t.Errorf("payload = %s; want it to start %s and end %s", body, prefix, suffix)
			}
			for _, leak := range []string{"firstNameLowerCase", "dateUpdated\":\"2026-07-01T12:00:00.000Z\",\"customFields", "completed", "userId", `"status":"booked"`} {
				if strings.Contains(string(body), leak) {
					t.Errorf("payload %s carries %s, which GHL's webhook does not", body, leak)
				}
			}
			if in, err := Parse(body); err != nil || !in.Known || in.ResourceID == "" {
				t.Errorf("Parse(payload) = %+v, %v; want a known event with an id", in, err)
			}
			if strings.HasPrefix(ghlType, "ContactDnd") != strings.Contains(string(body), "dndSettings") {
				t.Errorf("payload %s: dndSettings present = %v; want only on ContactDndUpdate", body, strings.Contains(string(body), "dndSettings"))
			}
		})
	}
}

func TestBuildPayloadRefuses(t *testing.T) {
	tests := []struct {
		name string
		ch   Change
	}{
		{"unknown type", Change{GHLType: "INSTALL", Object: map[string]any{"id": "x"}}},
		{"no id", Change{GHLType: "NoteCreate", Object: map[string]any{"body": "x"}}},
		{"unencodable value", Change{GHLType: "NoteCreate", Object: map[string]any{"id": "n", "body": make(chan int)}}},
	}
	for _, tc := range tests {
		if _, err := BuildPayload(tc.ch, "w", t0); err == nil {
			t.Errorf("%s: BuildPayload() = nil error; want one", tc.name)
		}
	}
}

func TestGHLTypeForMutation(t *testing.T) {
	tests := []struct {
		kind, action, want string
		ok                 bool
	}{
		{"contact", "create", "ContactCreate", true},
		{"contact", "update", "ContactUpdate", true},
		{"contact", "delete", "ContactDelete", true},
		{"tags", "tags_added", "ContactTagUpdate", true},
		{"tags", "tags_removed", "ContactTagUpdate", true},
		{"task", "create", "TaskCreate", true},
		{"task", "update", "", false}, // GHL has no TaskUpdate event
		{"task", "complete", "TaskComplete", true},
		{"task", "delete", "TaskDelete", true},
		{"note", "create", "NoteCreate", true},
		{"note", "update", "NoteUpdate", true},
		{"note", "delete", "NoteDelete", true},
		{"followers", "added", "", false},
		{"campaign", "added", "", false},
		{"workflow", "removed", "", false},
	}
	for _, tc := range tests {
		got, ok := GHLTypeForMutation(tc.kind, tc.action)
		if got != tc.want || ok != tc.ok {
			t.Errorf("GHLTypeForMutation(%s, %s) = %q, %v; want %q, %v", tc.kind, tc.action, got, ok, tc.want, tc.ok)
		}
	}
	if _, _, err := ChangeFromMutation("note", "create", "l", "c", json.RawMessage(`[1]`)); err == nil {
		t.Errorf("ChangeFromMutation(non-object) = nil error; want one")
	}
}

// scripted answers each POST with the next status; it records the
// signature and body it got.
type scripted struct {
	mu       sync.Mutex
	statuses []int
	retryAft string
	bodies   []string
	sigs     []string
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.bodies = append(s.bodies, string(b))
	s.sigs = append(s.sigs, r.Header.Get(HeaderSignature))
	status := 200
	if len(s.statuses) > 0 {
		status, s.statuses = s.statuses[0], s.statuses[1:]
	}
	s.mu.Unlock()
	if status == 429 && s.retryAft != "" {
		w.Header().Set("Retry-After", s.retryAft)
	}
	w.WriteHeader(status)
}

func TestEmitterRetries(t *testing.T) {
	tests := []struct {
		name         string
		statuses     []int
		retryAfter   string
		maxAttempts  int
		wantAttempts int
		wantStatus   int
		wantErr      error
		wantDelays   []time.Duration
	}{
		{"200 at once", nil, "", 0, 1, 200, nil, nil},
		{"429 twice, then 200", []int{429, 429, 200}, "", 0, 3, 200, nil, []time.Duration{5 * time.Second, 5 * time.Second}},
		{"Retry-After honoured and capped", []int{429, 429, 204}, "120", 0, 3, 204, nil, []time.Duration{time.Minute, time.Minute}},
		{"500 is final, like GHL", []int{500}, "", 0, 1, 500, ErrNotDelivered, nil},
		{"401 is final", []int{401}, "", 0, 1, 401, ErrNotDelivered, nil},
		{"429 until the attempts run out", []int{429, 429, 429}, "1", 3, 3, 429, ErrNotDelivered, []time.Duration{time.Second, time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recv := &scripted{statuses: tc.statuses, retryAft: tc.retryAfter}
			srv := httptest.NewServer(recv)
			defer srv.Close()
			var mu sync.Mutex
			var delays []time.Duration
			done := make(chan Delivery, 1)
			em, err := NewEmitter(EmitterConfig{URL: srv.URL, Client: srv.Client(), Now: fixedNow(t0), NewID: seqIDs(),
				MaxAttempts: tc.maxAttempts,
				After: func(d time.Duration) <-chan time.Time {
					mu.Lock()
					delays = append(delays, d)
					mu.Unlock()
					c := make(chan time.Time, 1)
					c <- t0
					return c
				},
				OnDelivery: func(d Delivery) { done <- d }})
			if err != nil {
				t.Fatal(err)
			}
			defer em.Close(context.Background())
			ch := Change{GHLType: "NoteCreate", LocationID: "loc1", Object: map[string]any{"id": "n1", "body": "x", "contactId": "c1"}}
			if err := em.Emit(context.Background(), ch); err != nil {
				t.Fatal(err)
			}
			d := <-done
			if d.Attempts != tc.wantAttempts || d.Status != tc.wantStatus || !errors.Is(d.Err, tc.wantErr) || (tc.wantErr == nil && d.Err != nil) {
				t.Errorf("delivery = %+v; want %d attempts, status %d, error %v", d, tc.wantAttempts, tc.wantStatus, tc.wantErr)
			}
			mu.Lock()
			if fmt.Sprint(delays) != fmt.Sprint(tc.wantDelays) {
				t.Errorf("retry delays = %v; want %v", delays, tc.wantDelays)
			}
			mu.Unlock()
			recv.mu.Lock()
			defer recv.mu.Unlock()
			for i := 1; i < len(recv.bodies); i++ {
				if recv.bodies[i] != recv.bodies[0] || recv.sigs[i] != recv.sigs[0] {
					t.Errorf("attempt %d sent %s / %s; want the first attempt's exact bytes and signature", i+1, recv.bodies[i], recv.sigs[i])
				}
			}
		})
	}
}

func TestEmitterQueueBoundAndClose(t *testing.T) {
	started := make(chan struct{}, 8)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
	}))
	defer srv.Close()
	delivered := make(chan Delivery, 8)
	em, err := NewEmitter(EmitterConfig{URL: srv.URL, Client: srv.Client(), QueueSize: 1, NewID: seqIDs(), Now: fixedNow(t0),
		OnDelivery: func(d Delivery) { delivered <- d }})
	if err != nil {
		t.Fatal(err)
	}
	ch := Change{GHLType: "NoteCreate", LocationID: "l", Object: map[string]any{"id": "n1", "body": "x"}}
	ctx := context.Background()
	if err := em.Emit(ctx, ch); err != nil {
		t.Fatalf("first Emit() = %v", err)
	}
	<-started // the sender holds the first; the queue is empty
	if err := em.Emit(ctx, ch); err != nil {
		t.Fatalf("second Emit() = %v; want queued", err)
	}
	if err := em.Emit(ctx, ch); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("third Emit() = %v; want ErrQueueFull", err)
	}
	close(release)
	if err := em.Close(ctx); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if n := len(delivered); n != 2 {
		t.Errorf("delivered %d before Close returned; want 2 (Close drains the queue)", n)
	}
	if err := em.Emit(ctx, ch); !errors.Is(err, ErrEmitterClosed) {
		t.Errorf("Emit() after Close = %v; want ErrEmitterClosed", err)
	}
}

func TestNewEmitterRefuses(t *testing.T) {
	if _, err := NewEmitter(EmitterConfig{}); err == nil {
		t.Errorf("NewEmitter(no URL) = nil error; want one")
	}
	if _, err := NewEmitter(EmitterConfig{URL: "http://x", PrivateKey: make([]byte, 5)}); err == nil {
		t.Errorf("NewEmitter(5-byte key) = nil error; want one")
	}
}
