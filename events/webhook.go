package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"
	"unicode"
)

// ErrNotWebhook: the payload is not a JSON object with a "type".
var ErrNotWebhook = errors.New("not a ghl webhook payload")

// webhookTypes maps GHL webhook types [FACTS §5.1] to event types and the
// resource they describe.
var webhookTypes = map[string]struct{ typ, resource string }{
	"ContactCreate":     {"contact.created", "contact"},
	"ContactUpdate":     {"contact.updated", "contact"},
	"ContactDelete":     {"contact.deleted", "contact"},
	"ContactTagUpdate":  {"contact.tags_updated", "contact"},
	"ContactDndUpdate":  {"contact.dnd_updated", "contact"},
	"TaskCreate":        {"task.created", "task"},
	"TaskComplete":      {"task.completed", "task"},
	"TaskDelete":        {"task.deleted", "task"},
	"NoteCreate":        {"note.created", "note"},
	"NoteUpdate":        {"note.updated", "note"},
	"NoteDelete":        {"note.deleted", "note"},
	"AppointmentCreate": {"appointment.created", "appointment"},
	"AppointmentUpdate": {"appointment.updated", "appointment"},
	"AppointmentDelete": {"appointment.deleted", "appointment"},
	"INSTALL":           {"app.installed", "app"},
	"UNINSTALL":         {"app.uninstalled", "app"},
}

// FromWebhook turns a verified GHL webhook payload into an event (not yet
// stored). Unknown types become "ghl.<snake_case type>" and keep the whole
// payload in Raw, so nothing GHL reports is dropped.
func FromWebhook(payload []byte, received time.Time, stage string) (Event, error) {
	obj := objectOf(payload)
	typ := stringField(obj, "type")
	if obj == nil || typ == "" {
		return Event{}, ErrNotWebhook
	}
	ev := Event{
		Source:     SourceWebhook,
		Stage:      stage,
		Location:   stringField(obj, "locationId"),
		Time:       received,
		Status:     StatusReceived,
		ExternalID: stringField(obj, "webhookId"),
	}
	m, known := webhookTypes[typ]
	if !known {
		ev.Type = "ghl." + snake(typ)
		ev.ResourceID = stringField(obj, "id")
		ev.Raw = json.RawMessage(payload)
		return ev, nil
	}
	ev.Type, ev.ResourceType = m.typ, m.resource
	body := obj
	ev.Resource = json.RawMessage(payload)
	if m.resource == "appointment" {
		if inner := obj["appointment"]; len(inner) > 0 {
			body = objectOf(inner)
			ev.Resource = inner
		}
	}
	ev.ResourceID = stringField(body, "id")
	switch m.resource {
	case "contact":
		ev.ContactID = ev.ResourceID
	case "app":
		ev.ResourceID = firstString(stringField(obj, "locationId"), stringField(obj, "companyId"))
	default:
		ev.ContactID = stringField(body, "contactId")
	}
	return ev, nil
}

func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 && !unicode.IsUpper(rune(s[i-1])) {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// IngestWebhook records a verified GHL webhook. When it reports a change
// ghlgate itself made (same resource, compatible type, the fields the
// request set hold the values it set, within EchoWindow), no second event
// is written: the original is marked confirmed_by_ghl_at and returned with
// echo true. Two-way sync cannot loop through ghlgate that way.
func (r *Recorder) IngestWebhook(ctx context.Context, payload []byte, stage string) (ev Event, echo bool, err error) {
	now := r.now()
	ev, err = FromWebhook(payload, now, stage)
	if err != nil {
		return Event{}, false, fmt.Errorf("ingest webhook: %w", err)
	}
	ev.Resource = r.red.Redact(ev.Resource)
	ev.Raw = r.red.Redact(ev.Raw)
	// GHL may report a change before the gateway has its answer (the mock
	// always does: it sends the webhook while answering). If a change
	// still in flight could be the one reported, the webhook is not
	// recorded yet: ErrEchoPending asks GHL to deliver it again, by which
	// time the gateway's event exists and the webhook becomes its echo.
	// This check comes before the one for the event: an intent closes in
	// the transaction that writes its event, so when the intent is no
	// longer pending here, the event is visible below.
	pending, err := r.echoPending(ctx, ev, now)
	if err != nil {
		return Event{}, false, fmt.Errorf("ingest webhook: %w", err)
	}
	if pending {
		return Event{}, false, ErrEchoPending
	}
	if ev.ResourceID != "" {
		cands, err := r.st.EchoCandidates(ctx, ev.ResourceID, now.Add(-r.window))
		if err != nil {
			return Event{}, false, fmt.Errorf("ingest webhook: %w", err)
		}
		for _, c := range cands {
			if !echoes(c, ev) {
				continue
			}
			ok, err := r.st.MarkConfirmedByGHL(ctx, c.ID, now)
			if err != nil {
				return Event{}, false, fmt.Errorf("ingest webhook: %w", err)
			}
			if ok {
				at := now.UTC().Truncate(time.Microsecond)
				c.ConfirmedByGHLAt = &at
				return c, true, nil
			}
		}
	}
	stored, err := r.st.Append(ctx, ev)
	if err != nil {
		return stored, false, fmt.Errorf("ingest webhook: %w", err)
	}
	return stored, false, nil
}

// ErrEchoPending means a webhook may report a change ghlgate is still
// making; the receiver answers so that GHL delivers it again (429).
var ErrEchoPending = errors.New("webhook may echo a change still in flight; deliver it again")

// echoPending reports whether an intent still open, recorded within the
// echo window on the webhook's stage, could be the change it reports: the
// same resource, or a create whose request the webhook's resource shows.
func (r *Recorder) echoPending(ctx context.Context, wh Event, now time.Time) (bool, error) {
	intents, err := r.st.PendingIntents(ctx, time.Time{})
	if err != nil {
		return false, err
	}
	for _, in := range intents {
		if in.Stage != wh.Stage || now.Sub(in.Time) > r.window {
			continue
		}
		c := classify(in.OperationID, in.Method, in.PathParams, in.RequestBody, parseAnswer(nil))
		compatible := false
		for _, t := range echoTypes[wh.Type] {
			compatible = compatible || t == c.Type
		}
		if !compatible {
			continue
		}
		if c.ResourceID == wh.ResourceID || (c.ResourceID == "" && isCreate(in.OperationID) && reflects(c.Type, validJSON(in.RequestBody), wh.Resource)) {
			return true, nil
		}
	}
	return false, nil
}

// echoTypes lists, per webhook event type, the gateway event types it can
// echo.
var echoTypes = map[string][]string{
	"contact.created":      {"contact.created"},
	"contact.updated":      {"contact.updated", "contact.created"},
	"contact.tags_updated": {"contact.tags_added", "contact.tags_removed", "contact.updated"},
	"contact.dnd_updated":  {"contact.updated"},
	"contact.deleted":      {"contact.deleted"},
	"task.created":         {"task.created"},
	"task.completed":       {"task.completed"},
	"task.deleted":         {"task.deleted"},
	"note.created":         {"note.created"},
	"note.updated":         {"note.updated"},
	"note.deleted":         {"note.deleted"},
}

// echoes reports whether webhook wh reports the gateway change gw.
func echoes(gw, wh Event) bool {
	if gw.ResourceID != wh.ResourceID {
		return false
	}
	ok := false
	for _, t := range echoTypes[wh.Type] {
		ok = ok || t == gw.Type
	}
	return ok && reflects(gw.Type, gw.Fields, wh.Resource)
}

// fieldsNotCompared are request fields whose input shape differs from the
// resource's output shape, or that are not echoed in the resource.
var fieldsNotCompared = map[string]bool{
	"customFields": true, "customField": true, "locationId": true,
	"createNewIfDuplicateAllowed": true, "dndSettings": true, "inboundDndSettings": true,
}

// reflects reports whether resource shows the change that a request with
// fields made, for an event of type typ. Fields the resource does not
// carry are not held against it (webhook payloads omit some).
func reflects(typ string, fields, resource json.RawMessage) bool {
	res := objectOf(resource)
	req := objectOf(fields)
	switch typ {
	case "contact.deleted", "task.deleted", "note.deleted", "task.completed":
		return true
	case "contact.tags_added", "contact.tags_removed":
		want, have := stringSet(req["tags"]), stringSet(res["tags"])
		for t := range want {
			if have[strings.ToLower(t)] != (typ == "contact.tags_added") {
				return false
			}
		}
		return true
	}
	if res == nil {
		return req == nil
	}
	for k, v := range req {
		got, present := res[k]
		if fieldsNotCompared[k] || !present {
			continue
		}
		if !sameJSON(v, got) {
			return false
		}
	}
	return true
}

func stringSet(raw json.RawMessage) map[string]bool {
	var ss []string
	json.Unmarshal(raw, &ss) //nolint:errcheck // a non-list is an empty set
	set := map[string]bool{}
	for _, s := range ss {
		set[strings.ToLower(s)] = true
	}
	return set
}

// sameJSON compares two JSON values; strings ignore case (GHL lower-cases
// emails and tags) and string lists ignore order.
func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(normalise(x), normalise(y))
}

func normalise(v any) any {
	switch t := v.(type) {
	case string:
		return strings.ToLower(t)
	case []any:
		out := make([]any, len(t))
		allStrings := true
		for i, e := range t {
			out[i] = normalise(e)
			_, isStr := out[i].(string)
			allStrings = allStrings && isStr
		}
		if allStrings {
			sort.Slice(out, func(i, j int) bool { return out[i].(string) < out[j].(string) })
		}
		return out
	case map[string]any:
		for k, e := range t {
			t[k] = normalise(e)
		}
	}
	return v
}
