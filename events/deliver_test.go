package events

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// verifyStandardWebhook is written from the Standard Webhooks spec text,
// not from Sign: the signed content is "{webhook-id}.{webhook-timestamp}.{body}",
// the key is the base64 after "whsec_", the header is a space-separated
// list of "v1,<base64 HMAC-SHA256>", and the timestamp must be within a
// tolerance of now.
func verifyStandardWebhook(secret string, h http.Header, body []byte, now time.Time) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || id == "" || now.Sub(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		return false
	}
	mac := hmac.New(sha256.New, key)
	io.WriteString(mac, id+"."+ts+"."+string(body))
	want := mac.Sum(nil)
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		version, b64, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			return true
		}
	}
	return false
}

func TestSignKnownVector(t *testing.T) {
	// The example of the Standard Webhooks reference libraries.
	key, err := ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatalf("ParseSecret: %v", err)
	}
	got := Sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("Sign(vector) = %s; want %s", got, want)
	}
}

func TestParseSecret(t *testing.T) {
	tests := []struct {
		name string
		in   Secret
		ok   bool
	}{
		{"valid", "whsec_" + Secret(base64.StdEncoding.EncodeToString(make([]byte, 32))), true},
		{"no prefix", Secret(base64.StdEncoding.EncodeToString(make([]byte, 32))), false},
		{"not base64", "whsec_!!!", false},
		{"too short", "whsec_" + Secret(base64.StdEncoding.EncodeToString(make([]byte, 8))), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSecret(tc.in)
			if (err == nil) != tc.ok {
				t.Errorf("ParseSecret(%q) = %v; want ok %v", tc.in, err, tc.ok)
			}
		})
	}
}

// subscriberServer is an httptest subscriber that verifies every delivery
// independently and fails on purpose for the event ids in fail.
type subscriberServer struct {
	*httptest.Server
	t      *testing.T
	secret string
	clock  *clock
	mu     sync.Mutex
	fail   map[string]bool
	got    []DeliveryBody // successful deliveries, in arrival order
	tries  map[string]int
}

func newSubscriber(t *testing.T, c *clock) *subscriberServer {
	s := &subscriberServer{t: t, clock: c, fail: map[string]bool{}, tries: map[string]int{},
		secret: "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *subscriberServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if !verifyStandardWebhook(s.secret, r.Header, body, s.clock.Now()) {
		s.t.Errorf("delivery %s failed independent signature verification", r.Header.Get("webhook-id"))
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var b DeliveryBody
	if err := json.Unmarshal(body, &b); err != nil || b.Data.ID != r.Header.Get("webhook-id") || b.Type != b.Data.Type {
		s.t.Errorf("delivery body %s: %v; want {type, timestamp, data} with data.id = webhook-id", body, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tries[b.Data.ID]++
	if s.fail[b.Data.ID] {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	s.got = append(s.got, b)
	w.WriteHeader(http.StatusNoContent)
}

func (s *subscriberServer) setFail(id string, fail bool) {
	s.mu.Lock()
	s.fail[id] = fail
	s.mu.Unlock()
}

func (s *subscriberServer) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, b := range s.got {
		ids = append(ids, b.Data.ID)
	}
	return ids
}

func appendFor(t *testing.T, s *SQLStore, typ, contact string) Event {
	t.Helper()
	ev, err := s.Append(context.Background(), Event{Type: typ, ContactID: contact, ResourceID: contact})
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return ev
}

func TestDeliveryRetriesOrderAndDeadLetters(t *testing.T) {
	dialects(t, func(t *testing.T, open func(*testing.T, *clock) *SQLStore) {
		ctx := context.Background()
		c := newClock()
		st := open(t, c)
		srv := newSubscriber(t, c)
		d, err := NewDeliverer(st, []Subscriber{{Name: "rankr", URL: srv.URL, Secret: Secret(srv.secret)}},
			Options{Now: c.Now, Client: srv.Client(), MaxAge: time.Hour, Concurrency: 1,
				Backoff: func(n int) time.Duration { return time.Duration(n) * 10 * time.Minute }})
		if err != nil {
			t.Fatalf("NewDeliverer: %v", err)
		}
		a1 := appendFor(t, st, "contact.updated", "A")
		a2 := appendFor(t, st, "contact.updated", "A")
		b1 := appendFor(t, st, "contact.updated", "B")
		srv.setFail(a1.ID, true)

		steps := []struct {
			name    string
			advance time.Duration
			want    PassReport
			got     []string // all successful deliveries so far
		}{
			{"first pass: A1 fails and blocks A2, B1 goes", 0, PassReport{Queued: 3, Delivered: 1, Failed: 1}, []string{b1.ID}},
			{"before backoff: nothing due", 5 * time.Minute, PassReport{}, []string{b1.ID}},
			{"after backoff: A1 retried, fails", 6 * time.Minute, PassReport{Failed: 1}, []string{b1.ID}},
			{"past max age: A1 dead, A2 unblocked", 50 * time.Minute, PassReport{Failed: 1, Dead: 1, Delivered: 1}, []string{b1.ID, a2.ID}},
			{"nothing left", time.Hour, PassReport{}, []string{b1.ID, a2.ID}},
		}
		for _, step := range steps {
			c.Add(step.advance)
			rep, err := d.RunOnce(ctx, c.Now())
			if err != nil {
				t.Fatalf("%s: RunOnce: %v", step.name, err)
			}
			if rep != step.want {
				t.Errorf("%s: RunOnce = %+v; want %+v", step.name, rep, step.want)
			}
			if got := srv.received(); !equalStrings(got, step.got) {
				t.Errorf("%s: received %v; want %v", step.name, got, step.got)
			}
		}
		dead, err := d.DeadLetters(ctx, "rankr", 0)
		if err != nil || len(dead) != 1 || dead[0].Event.ID != a1.ID || dead[0].Attempts != 3 || dead[0].LastStatus != 503 {
			t.Fatalf("DeadLetters = %+v, %v; want A1 after 3 attempts, last status 503", dead, err)
		}

		// Redeliver the dead letters once the subscriber is fixed.
		srv.setFail(a1.ID, false)
		n, err := d.Redeliver(ctx, RedeliverRequest{DeadOnly: true}, c.Now())
		if err != nil || n != 1 {
			t.Fatalf("Redeliver(dead) = %d, %v; want 1", n, err)
		}
		if rep, _ := d.RunOnce(ctx, c.Now()); rep.Delivered != 1 {
			t.Errorf("RunOnce after redeliver = %+v; want 1 delivered", rep)
		}
		// Redeliver a range: events 2..3 again (at least once; same webhook-id).
		n, err = d.Redeliver(ctx, RedeliverRequest{Subscriber: "rankr", From: a2.Seq, To: b1.Seq}, c.Now())
		if err != nil || n != 2 {
			t.Fatalf("Redeliver(range) = %d, %v; want 2", n, err)
		}
		d.RunOnce(ctx, c.Now())
		want := []string{b1.ID, a2.ID, a1.ID, a2.ID, b1.ID}
		if got := srv.received(); !equalStrings(got, want) {
			t.Errorf("received after redeliveries %v; want %v", got, want)
		}
		if _, err := d.Redeliver(ctx, RedeliverRequest{Subscriber: "nobody"}, c.Now()); err == nil {
			t.Errorf("Redeliver(unknown subscriber) = nil; want an error")
		}
	})
}

// TestDeliveryOrderPerContact fails deliveries at random-looking points and
// checks that each contact's events arrive, first time, in seq order, all
// of them, and that types filter.
func TestDeliveryOrderPerContact(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	st := openStore(t, openSQLiteForTest(t), c)
	srv := newSubscriber(t, c)
	d, err := NewDeliverer(st, []Subscriber{{Name: "rankr", URL: srv.URL, Secret: Secret(srv.secret), Types: []string{"contact.*"}}},
		Options{Now: c.Now, Client: srv.Client(), Concurrency: 3})
	if err != nil {
		t.Fatalf("NewDeliverer: %v", err)
	}
	contacts := []string{"A", "B", "C", "D"}
	var want []Event
	for i := range 40 {
		ev := appendFor(t, st, "contact.updated", contacts[i%len(contacts)])
		want = append(want, ev)
		if i%7 == 3 {
			srv.setFail(ev.ID, true) // fails until released below
		}
		appendFor(t, st, "task.created", contacts[i%len(contacts)]) // filtered out
	}
	for round := 0; round < 20; round++ {
		if _, err := d.RunOnce(ctx, c.Now()); err != nil {
			t.Fatalf("RunOnce: %v", err)
		}
		if round == 3 {
			for _, ev := range want {
				srv.setFail(ev.ID, false)
			}
		}
		c.Add(time.Hour)
	}
	got := srv.received()
	if len(got) != len(want) {
		t.Fatalf("received %d deliveries; want %d (each contact.updated once, no task.*)", len(got), len(want))
	}
	lastSeq := map[string]int64{}
	bySeq := map[string]Event{}
	for _, ev := range want {
		bySeq[ev.ID] = ev
	}
	for _, id := range got {
		ev, ok := bySeq[id]
		if !ok {
			t.Fatalf("received %s, which is not a contact.updated event", id)
		}
		if ev.Seq < lastSeq[ev.ContactID] {
			t.Errorf("contact %s: seq %d arrived after %d; want seq order", ev.ContactID, ev.Seq, lastSeq[ev.ContactID])
		}
		lastSeq[ev.ContactID] = ev.Seq
	}
}

func TestNewDelivererValidates(t *testing.T) {
	st := openStore(t, openSQLiteForTest(t), newClock())
	_, err := NewDeliverer(st, []Subscriber{
		{Name: "a", URL: "ftp://x", Secret: "nope"},
		{Name: "a", URL: "http://x", Secret: "whsec_" + Secret(base64.StdEncoding.EncodeToString(make([]byte, 32)))},
	}, Options{})
	if err == nil {
		t.Fatalf("NewDeliverer(bad) = nil; want every problem")
	}
	for _, want := range []string{"url", "whsec_", "unique"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("NewDeliverer error %q; want it to mention %q", err, want)
		}
	}
}
