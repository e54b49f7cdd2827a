package events

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"sort"
	"sync"
	"testing"
	"time"
)

func testIntent(op, method, contactID string) Intent {
	return Intent{OperationID: op, Method: method, Path: "/contacts/" + contactID,
		PathParams: map[string]string{"contactId": contactID}, Stage: "staging",
		Location: "loc1", Client: "rankr", RequestID: "req-" + contactID,
		RequestBody: json.RawMessage(`{"firstName":"Ada"}`)}
}

func TestStoreIntentLifecycle(t *testing.T) {
	dialects(t, func(t *testing.T, open func(*testing.T, *clock) *SQLStore) {
		ctx := context.Background()
		c := newClock()
		s := open(t, c)

		id, err := s.BeginIntent(ctx, testIntent("update-contact", "PUT", "c1"))
		if err != nil {
			t.Fatalf("BeginIntent: %v", err)
		}
		pending, err := s.PendingIntents(ctx, time.Time{})
		if err != nil || len(pending) != 1 || pending[0].ID != id {
			t.Fatalf("PendingIntents = %+v, %v; want the one intent %s", pending, err, id)
		}
		if got := pending[0]; got.PathParams["contactId"] != "c1" || string(got.RequestBody) != `{"firstName":"Ada"}` || !got.Time.Equal(c.Now()) {
			t.Errorf("pending intent = %+v; want path params, body and time kept", got)
		}
		if p, _ := s.PendingIntents(ctx, c.Now()); len(p) != 0 {
			t.Errorf("PendingIntents(before = its own time) = %d intents; want 0 (cut-off is exclusive)", len(p))
		}

		ev, err := s.Confirm(ctx, id, Event{Type: "contact.updated", ResourceID: "c1", ContactID: "c1",
			Fields: json.RawMessage(`{"firstName":"Ada"}`)})
		if err != nil {
			t.Fatalf("Confirm: %v", err)
		}
		if ev.Seq <= 0 || ev.ID == "" || ev.IntentID != id || ev.Source != SourceGateway || ev.Status != StatusCaptured {
			t.Errorf("Confirm = %+v; want seq, id, intent, source gateway, status captured", ev)
		}
		again, err := s.Confirm(ctx, id, Event{Type: "contact.updated"})
		if err != nil || again.ID != ev.ID || again.Seq != ev.Seq {
			t.Errorf("Confirm twice = %+v, %v; want the first event %s again", again, err, ev.ID)
		}
		if err := s.Abandon(ctx, id, IntentAbandoned, "late"); !errors.Is(err, ErrIntentClosed) {
			t.Errorf("Abandon(confirmed) = %v; want ErrIntentClosed", err)
		}
		if p, _ := s.PendingIntents(ctx, time.Time{}); len(p) != 0 {
			t.Errorf("PendingIntents after confirm = %d; want 0", len(p))
		}
		got, err := s.Get(ctx, ev.ID)
		if err != nil || string(got.Fields) != `{"firstName":"Ada"}` || !got.Time.Equal(c.Now()) {
			t.Errorf("Get = %+v, %v; want fields and time kept", got, err)
		}
		if _, err := s.Get(ctx, "nope"); !errors.Is(err, ErrEventNotFound) {
			t.Errorf("Get(nope) = %v; want ErrEventNotFound", err)
		}
		if _, err := s.Confirm(ctx, "nope", Event{Type: "x"}); !errors.Is(err, ErrIntentNotFound) {
			t.Errorf("Confirm(nope) = %v; want ErrIntentNotFound", err)
		}
	})
}

func TestStoreAbandonAndUnknown(t *testing.T) {
	dialects(t, func(t *testing.T, open func(*testing.T, *clock) *SQLStore) {
		ctx := context.Background()
		s := open(t, newClock())
		a, _ := s.BeginIntent(ctx, testIntent("update-contact", "PUT", "c1"))
		b, _ := s.BeginIntent(ctx, testIntent("update-contact", "PUT", "c2"))
		if err := s.Abandon(ctx, a, IntentAbandoned, "upstream answered 422"); err != nil {
			t.Fatalf("Abandon: %v", err)
		}
		if err := s.Abandon(ctx, a, IntentAbandoned, "again"); err != nil {
			t.Errorf("Abandon twice = %v; want nil (idempotent)", err)
		}
		if _, err := s.Confirm(ctx, a, Event{Type: "contact.updated"}); !errors.Is(err, ErrIntentClosed) {
			t.Errorf("Confirm(abandoned) = %v; want ErrIntentClosed", err)
		}
		if err := s.Abandon(ctx, b, IntentUnknown, "cannot tell"); err != nil {
			t.Fatalf("Abandon unknown: %v", err)
		}
		unk, err := s.Intents(ctx, IntentUnknown, 0)
		if err != nil || len(unk) != 1 || unk[0].ID != b || unk[0].Note != "cannot tell" || len(unk[0].RequestBody) == 0 {
			t.Fatalf("Intents(unknown) = %+v, %v; want %s with note and body kept for review", unk, err, b)
		}
		// A reviewer may still confirm an unknown intent.
		if _, err := s.Confirm(ctx, b, Event{Type: "contact.updated"}); err != nil {
			t.Errorf("Confirm(unknown) = %v; want nil", err)
		}
		if err := s.Abandon(ctx, b, IntentConfirmed, ""); err == nil {
			t.Errorf("Abandon(status confirmed) = nil; want an error")
		}
	})
}

func TestStoreAppendListFilters(t *testing.T) {
	dialects(t, func(t *testing.T, open func(*testing.T, *clock) *SQLStore) {
		ctx := context.Background()
		s := open(t, newClock())
		for _, ev := range []Event{
			{Type: "contact.created", ContactID: "c1", Stage: "staging", ExternalID: "wh-1"},
			{Type: "task.created", ContactID: "c1", Stage: "staging"},
			{Type: "contact.updated", ContactID: "c2", Stage: "sandbox"},
			{Type: "note.created", ContactID: "c2", Stage: "staging", Raw: json.RawMessage(`{"type":"NoteCreate"}`)},
		} {
			if _, err := s.Append(ctx, ev); err != nil {
				t.Fatalf("Append(%s): %v", ev.Type, err)
			}
		}
		dup, err := s.Append(ctx, Event{Type: "contact.created", ExternalID: "wh-1"})
		if !errors.Is(err, ErrDuplicateWebhook) || dup.Seq != 1 {
			t.Errorf("Append(duplicate webhookId) = seq %d, %v; want seq 1, ErrDuplicateWebhook", dup.Seq, err)
		}
		tests := []struct {
			name string
			q    Query
			want []string
		}{
			{"all", Query{}, []string{"contact.created", "task.created", "contact.updated", "note.created"}},
			{"after", Query{After: 2}, []string{"contact.updated", "note.created"}},
			{"limit", Query{Limit: 2}, []string{"contact.created", "task.created"}},
			{"newest", Query{Limit: 2, Newest: true}, []string{"contact.updated", "note.created"}},
			{"type exact", Query{Types: []string{"task.created", "note.created"}}, []string{"task.created", "note.created"}},
			{"type prefix", Query{Types: []string{"contact.*"}}, []string{"contact.created", "contact.updated"}},
			{"stage", Query{Stage: "sandbox"}, []string{"contact.updated"}},
			{"contact", Query{ContactID: "c1", Types: []string{"task.*"}}, []string{"task.created"}},
			{"source", Query{Source: SourceGateway}, nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				evs, err := s.List(ctx, tc.q)
				if err != nil {
					t.Fatalf("List: %v", err)
				}
				var got []string
				for i, ev := range evs {
					got = append(got, ev.Type)
					if i > 0 && ev.Seq <= evs[i-1].Seq {
						t.Errorf("List seq %d after %d; want ascending", ev.Seq, evs[i-1].Seq)
					}
				}
				if !equalStrings(got, tc.want) {
					t.Errorf("List(%+v) = %v; want %v", tc.q, got, tc.want)
				}
			})
		}
		evs, _ := s.List(ctx, Query{Types: []string{"note.created"}})
		if len(evs) != 1 || string(evs[0].Raw) != `{"type":"NoteCreate"}` || evs[0].Source != SourceWebhook || evs[0].Status != StatusReceived {
			t.Errorf("appended note = %+v; want raw kept, source ghl_webhook, status received", evs)
		}
	})
}

func TestStoreEchoMarks(t *testing.T) {
	dialects(t, func(t *testing.T, open func(*testing.T, *clock) *SQLStore) {
		ctx := context.Background()
		c := newClock()
		s := open(t, c)
		old, _ := s.BeginIntent(ctx, testIntent("update-contact", "PUT", "c1"))
		s.Confirm(ctx, old, Event{Type: "contact.updated", ResourceID: "c1"})
		c.Add(5 * time.Minute)
		id, _ := s.BeginIntent(ctx, testIntent("update-contact", "PUT", "c1"))
		ev, _ := s.Confirm(ctx, id, Event{Type: "contact.updated", ResourceID: "c1"})
		s.Append(ctx, Event{Type: "contact.updated", ResourceID: "c1"}) // webhook events never count

		cands, err := s.EchoCandidates(ctx, "c1", c.Now().Add(-time.Minute))
		if err != nil || len(cands) != 1 || cands[0].ID != ev.ID {
			t.Fatalf("EchoCandidates = %+v, %v; want only %s", cands, err, ev.ID)
		}
		for i, want := range []bool{true, false} {
			ok, err := s.MarkConfirmedByGHL(ctx, ev.ID, c.Now())
			if err != nil || ok != want {
				t.Errorf("MarkConfirmedByGHL #%d = %v, %v; want %v", i+1, ok, err, want)
			}
		}
		got, _ := s.Get(ctx, ev.ID)
		if got.ConfirmedByGHLAt == nil || !got.ConfirmedByGHLAt.Equal(c.Now()) {
			t.Errorf("ConfirmedByGHLAt = %v; want %v", got.ConfirmedByGHLAt, c.Now())
		}
		if cands, _ := s.EchoCandidates(ctx, "c1", c.Now().Add(-time.Minute)); len(cands) != 0 {
			t.Errorf("EchoCandidates after mark = %d; want 0", len(cands))
		}
	})
}

// TestStoreGroupCommitConcurrent has many goroutines record and confirm at
// once: every write lands exactly once, seqs are unique and dense in commit
// order, and a failing write does not fail its batch-mates.
func TestStoreGroupCommitConcurrent(t *testing.T) {
	dialects(t, func(t *testing.T, open func(*testing.T, *clock) *SQLStore) {
		ctx := context.Background()
		s := open(t, newClock())
		changed := s.Changed()
		const n = 200
		var wg sync.WaitGroup
		evs := make([]Event, n)
		errs := make([]error, n)
		badErrs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id, err := s.BeginIntent(ctx, testIntent("update-contact", "PUT", "c"))
				if err != nil {
					errs[i] = err
					return
				}
				// A write that fails (unknown intent) inside the same batches.
				_, badErrs[i] = s.Confirm(ctx, "missing", Event{Type: "x"})
				evs[i], errs[i] = s.Confirm(ctx, id, Event{Type: "contact.updated", ResourceID: "c"})
			}()
		}
		wg.Wait()
		seqs := map[int64]bool{}
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("writer %d: %v", i, errs[i])
			}
			if !errors.Is(badErrs[i], ErrIntentNotFound) {
				t.Errorf("writer %d bad confirm = %v; want ErrIntentNotFound", i, badErrs[i])
			}
			if seqs[evs[i].Seq] {
				t.Errorf("seq %d given twice", evs[i].Seq)
			}
			seqs[evs[i].Seq] = true
		}
		all, err := s.List(ctx, Query{Limit: MaxListLimit})
		if err != nil || len(all) != n {
			t.Fatalf("List = %d events, %v; want %d", len(all), err, n)
		}
		if !sort.SliceIsSorted(all, func(i, j int) bool { return all[i].Seq < all[j].Seq }) {
			t.Errorf("List not in seq order")
		}
		select {
		case <-changed:
		default:
			t.Errorf("Changed() not closed after commits")
		}
	})
}

func TestStoreClosed(t *testing.T) {
	s := openStore(t, openSQLiteForTest(t), newClock())
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := s.BeginIntent(context.Background(), testIntent("update-contact", "PUT", "c1")); !errors.Is(err, ErrStoreClosed) {
		t.Errorf("BeginIntent after Close = %v; want ErrStoreClosed", err)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestWriterPreparesOnce checks that on SQLite the writer prepares each
// statement once, for every later transaction, instead of once per
// transaction, and that writes stay correct on the prepared statements.
func TestWriterPreparesOnce(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s := openStore(t, openSQLiteForTest(t), c)
	round := func(contact string) Event {
		id, err := s.BeginIntent(ctx, testIntent("update-contact", "PUT", contact))
		if err != nil {
			t.Fatalf("BeginIntent: %v", err)
		}
		ev, err := s.Confirm(ctx, id, Event{Type: "contact.updated", ResourceID: contact, ContactID: contact})
		if err != nil {
			t.Fatalf("Confirm: %v", err)
		}
		return ev
	}
	first := round("c1")
	// Written by the writer goroutine before Confirm returned.
	prepared := maps.Clone(s.prepared)
	if len(prepared) == 0 {
		t.Fatal("no statement prepared for the writer after a change was captured")
	}
	second := round("c2")
	if len(s.prepared) != len(prepared) {
		t.Errorf("prepared statements = %d after the same writes again; want %d", len(s.prepared), len(prepared))
	}
	for q, st := range prepared {
		if s.prepared[q] != st {
			t.Errorf("statement %q prepared again; want the first one reused", q)
		}
	}
	if second.Seq <= first.Seq {
		t.Errorf("second event seq = %d; want after the first's %d", second.Seq, first.Seq)
	}
	got, err := s.Get(ctx, second.ID)
	if err != nil || got.ContactID != "c2" {
		t.Errorf("Get(second) = %+v, %v; want the c2 event", got, err)
	}
}
