package webhooks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Resource types in Inbound.ResourceType and EchoKey.
const (
	ResourceContact     = "contact"
	ResourceTask        = "task"
	ResourceNote        = "note"
	ResourceAppointment = "appointment"
)

// Inbound is one parsed GHL webhook delivery.
type Inbound struct {
	// GHLType is the payload's "type" as sent (ContactCreate, INSTALL, ...).
	GHLType string
	// Type is the sync event type (contact.created, ...); "" when !Known.
	Type string
	// Known is false for types ghlgate does not map (INSTALL, Record*, ...):
	// such deliveries are acknowledged and kept raw.
	Known        bool
	LocationID   string
	ResourceType string
	ResourceID   string
	// ContactID is the contact the resource belongs to (the contact itself
	// for contact events).
	ContactID string
	WebhookID string
	// Timestamp is the payload's timestamp, zero when absent.
	Timestamp time.Time
	// Fields are the normalised comparable fields used for echo matching
	// (see EchoFieldsForEventType); nil for deletes and unknown types.
	Fields map[string]any
	// EchoKey is EchoKey(ResourceType, ResourceID, Fields); "" when !Known.
	EchoKey string
	// Raw is the body exactly as received and signed.
	Raw json.RawMessage
	// Verified is filled by the Handler: which scheme and key verified the
	// delivery, and its dedupe id.
	Verified Verified
}

// eventTypes maps GHL's webhook types to sync event types and resource
// types. AppointmentUpdate and AppointmentDelete are mapped as named, but
// GHL's own examples of both carry "type":"AppointmentCreate" (doc bug,
// FACTS §5.1). The body's type is all a delivery carries (the Default
// Webhook URL receives every type on one route), so ghlgate trusts it: if
// live GHL really sends that, an update or delete shows up as
// appointment.created with a dateUpdated later than its dateAdded.
var eventTypes = map[string]struct{ typ, resource string }{
	"ContactCreate":     {"contact.created", ResourceContact},
	"ContactUpdate":     {"contact.updated", ResourceContact},
	"ContactDelete":     {"contact.deleted", ResourceContact},
	"ContactTagUpdate":  {"contact.tags_updated", ResourceContact},
	"ContactDndUpdate":  {"contact.dnd_updated", ResourceContact},
	"TaskCreate":        {"task.created", ResourceTask},
	"TaskComplete":      {"task.completed", ResourceTask},
	"TaskDelete":        {"task.deleted", ResourceTask},
	"NoteCreate":        {"note.created", ResourceNote},
	"NoteUpdate":        {"note.updated", ResourceNote},
	"NoteDelete":        {"note.deleted", ResourceNote},
	"AppointmentCreate": {"appointment.created", ResourceAppointment},
	"AppointmentUpdate": {"appointment.updated", ResourceAppointment},
	"AppointmentDelete": {"appointment.deleted", ResourceAppointment},
}

// SyncEventType returns the sync event type for a GHL webhook type.
func SyncEventType(ghlType string) (string, bool) {
	e, ok := eventTypes[ghlType]
	return e.typ, ok
}

// Parse reads a webhook body. It needs a JSON object with a string "type";
// anything else is ErrInvalidBody. Unknown types parse with Known=false.
func Parse(rawBody []byte) (Inbound, error) {
	var obj map[string]any
	dec := json.NewDecoder(bytes.NewReader(rawBody))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil {
		return Inbound{}, fmt.Errorf("%w: %w", ErrInvalidBody, err)
	}
	if obj == nil {
		return Inbound{}, fmt.Errorf("%w: not a JSON object", ErrInvalidBody)
	}
	ghlType, ok := obj["type"].(string)
	if !ok || ghlType == "" {
		return Inbound{}, fmt.Errorf("%w: no string \"type\"", ErrInvalidBody)
	}
	meta, err := readMeta(rawBody)
	if err != nil {
		return Inbound{}, err
	}
	in := Inbound{
		GHLType:    ghlType,
		LocationID: str(obj["locationId"]),
		WebhookID:  meta.webhookID,
		Timestamp:  meta.timestamp,
		Raw:        json.RawMessage(bytes.Clone(rawBody)),
	}
	e, known := eventTypes[ghlType]
	if !known {
		return in, nil
	}
	in.Known, in.Type, in.ResourceType = true, e.typ, e.resource
	object := obj
	if e.resource == ResourceAppointment {
		object, _ = obj["appointment"].(map[string]any)
		if object == nil {
			return Inbound{}, fmt.Errorf("%w: %s without an \"appointment\" object", ErrInvalidBody, ghlType)
		}
	}
	in.ResourceID = str(object["id"])
	if e.resource == ResourceContact {
		in.ContactID = in.ResourceID
	} else {
		in.ContactID = str(object["contactId"])
	}
	if in.ResourceID == "" {
		return Inbound{}, fmt.Errorf("%w: %s without an id", ErrInvalidBody, ghlType)
	}
	in.Fields = EchoFieldsForEventType(e.typ, object)
	in.EchoKey = EchoKey(in.ResourceType, in.ResourceID, in.Fields)
	return in, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
