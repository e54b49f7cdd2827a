package webhooks

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Echo suppression: ghlgate's own mutation and the webhook GHL sends about
// it must give the same key, computed from the fields both carry (the
// gateway's response resource and the webhook payload, FACTS §5.1). Each
// field is normalised so that harmless differences of form (tag order,
// email case, "…00.000Z" vs "…00Z", an empty string vs an absent field)
// do not split a match. Fields only one side carries (name, dateUpdated,
// completed, attachments, the lower-case copies) are left out.

// EchoKey is a stable digest of a resource's identity and its comparable
// fields. Pass nil fields for deletes: their key is the identity alone.
func EchoKey(resourceType, resourceID string, fields map[string]any) string {
	h := sha256.New()
	h.Write([]byte(resourceType))
	h.Write([]byte{0})
	h.Write([]byte(resourceID))
	h.Write([]byte{0})
	if len(fields) > 0 {
		// encoding/json sorts map keys at every level, and the normalised
		// values are only strings, bools, []string and maps of those.
		b, _ := json.Marshal(fields)
		h.Write(b)
	}
	return "echo1:" + hex.EncodeToString(h.Sum(nil)[:20])
}

// EchoFieldsForEventType picks the comparable fields of resource for a
// sync event type, accepting the gateway's names (contact.tags_added,
// contact.tags_removed, contact.upserted, task.updated) as well as the
// webhook ones, so both sides compute the same key:
//   - *.deleted → nil (identity only);
//   - contact.tags_* → TagFieldsFromResource;
//   - contact.dnd_updated → DndFieldsFromResource;
//   - other contact.* → ContactFieldsFromResource;
//   - task.*, note.*, appointment.* → their FromResource function.
//
// The resource is the object itself: a contact, a task, a note, an
// appointment (not the {contact: ...} envelope).
func EchoFieldsForEventType(syncType string, resource map[string]any) map[string]any {
	kind, action, _ := strings.Cut(syncType, ".")
	if action == "deleted" {
		return nil
	}
	switch kind {
	case ResourceContact:
		switch {
		case strings.HasPrefix(action, "tags_"):
			return TagFieldsFromResource(resource)
		case action == "dnd_updated":
			return DndFieldsFromResource(resource)
		}
		return ContactFieldsFromResource(resource)
	case ResourceTask:
		return TaskFieldsFromResource(resource)
	case ResourceNote:
		return NoteFieldsFromResource(resource)
	case ResourceAppointment:
		return AppointmentFieldsFromResource(resource)
	}
	return nil
}

// contactTextFields are the contact fields both the API's contact schemas
// and the Contact* webhooks carry, compared as trimmed strings.
var contactTextFields = []string{
	"firstName", "lastName", "companyName", "address1", "city", "state",
	"country", "postalCode", "website", "source", "assignedTo",
}

// ContactFieldsFromResource normalises a contact (GetContectByIdSchema,
// CreateContactSchema or a Contact* webhook payload).
func ContactFieldsFromResource(resource map[string]any) map[string]any {
	out := map[string]any{}
	for _, k := range contactTextFields {
		putText(out, k, resource[k])
	}
	if s := strings.ToLower(strings.TrimSpace(str(resource["email"]))); s != "" {
		out["email"] = s
	}
	if s := normPhone(str(resource["phone"])); s != "" {
		out["phone"] = s
	}
	if s := normDate(str(resource["dateOfBirth"])); s != "" {
		out["dateOfBirth"] = s
	}
	if b, _ := resource["dnd"].(bool); b {
		out["dnd"] = true
	}
	putTags(out, resource["tags"])
	if cf := normCustomFields(resource["customFields"]); len(cf) > 0 {
		out["customFields"] = cf
	}
	return out
}

// TagFieldsFromResource keeps only the tags: the add-tags and remove-tags
// answers are {tags: [...]}, and ContactTagUpdate carries the contact.
func TagFieldsFromResource(resource map[string]any) map[string]any {
	out := map[string]any{}
	putTags(out, resource["tags"])
	if _, ok := out["tags"]; !ok {
		out["tags"] = []string{} // "no tags left" is a state worth matching
	}
	return out
}

// DndFieldsFromResource keeps dnd and each channel's dndSettings status.
func DndFieldsFromResource(resource map[string]any) map[string]any {
	out := map[string]any{}
	if b, _ := resource["dnd"].(bool); b {
		out["dnd"] = true
	}
	if m, ok := resource["dndSettings"].(map[string]any); ok {
		st := map[string]string{}
		for ch, v := range m {
			if s := str(asMap(v)["status"]); s != "" {
				st[ch] = strings.ToLower(s)
			}
		}
		if len(st) > 0 {
			out["dndSettings"] = st
		}
	}
	return out
}

// TaskFieldsFromResource normalises a task (TaskSchema or a Task* webhook,
// which has no "completed").
func TaskFieldsFromResource(resource map[string]any) map[string]any {
	out := map[string]any{}
	putText(out, "title", resource["title"])
	putText(out, "body", resource["body"])
	putText(out, "assignedTo", resource["assignedTo"])
	if s := normTime(str(resource["dueDate"])); s != "" {
		out["dueDate"] = s
	}
	return out
}

// NoteFieldsFromResource normalises a note (GetNoteSchema or a Note*
// webhook).
func NoteFieldsFromResource(resource map[string]any) map[string]any {
	out := map[string]any{}
	putText(out, "body", resource["body"])
	return out
}

// AppointmentFieldsFromResource normalises an appointment (GetEventSchema
// or the "appointment" object of an Appointment* webhook).
func AppointmentFieldsFromResource(resource map[string]any) map[string]any {
	out := map[string]any{}
	for _, k := range []string{"title", "calendarId", "contactId", "assignedUserId", "address", "notes"} {
		putText(out, k, resource[k])
	}
	if s := strings.ToLower(strings.TrimSpace(str(resource["appointmentStatus"]))); s != "" {
		out["appointmentStatus"] = s
	}
	for _, k := range []string{"startTime", "endTime"} {
		if s := normTime(str(resource[k])); s != "" {
			out[k] = s
		}
	}
	return out
}

func putText(out map[string]any, k string, v any) {
	if s := strings.TrimSpace(str(v)); s != "" {
		out[k] = s
	}
}

// putTags stores tags trimmed, lower-cased (GHL stores tags in lower case),
// de-duplicated and sorted; an empty list is left out.
func putTags(out map[string]any, v any) {
	var tags []string
	switch t := v.(type) {
	case []any:
		for _, x := range t {
			if s := strings.ToLower(strings.TrimSpace(str(x))); s != "" {
				tags = append(tags, s)
			}
		}
	case []string:
		for _, x := range t {
			if s := strings.ToLower(strings.TrimSpace(x)); s != "" {
				tags = append(tags, s)
			}
		}
	}
	if len(tags) == 0 {
		return
	}
	sort.Strings(tags)
	out["tags"] = slices.Compact(tags)
}

func normPhone(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '(', ')', '.', '\t':
			return -1
		}
		return r
	}, s)
}

// timeLayouts are the forms times take in GHL payloads: ISO with or without
// milliseconds and offsets, and the appointment examples' "2021-07-16
// 11:00:00" (read as UTC).
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05"}

// normTime turns a parseable time into UTC RFC 3339 (no trailing zero
// fractions); anything else is kept trimmed.
func normTime(s string) string {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC().Format(time.RFC3339Nano)
		}
	}
	return s
}

// normDate reduces a date of birth to YYYY-MM-DD: the webhook sends
// "2000-01-05T00:00:00.000Z", requests may send "2000-01-05".
func normDate(s string) string {
	s = strings.TrimSpace(s)
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.Format("2006-01-02")
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC().Format("2006-01-02")
		}
	}
	return s
}

// normCustomFields maps [{id, value}] to id → canonical value, leaving out
// empty values.
func normCustomFields(v any) map[string]any {
	list, _ := v.([]any)
	out := map[string]any{}
	for _, item := range list {
		m := asMap(item)
		id := str(m["id"])
		if id == "" {
			continue
		}
		if val := normValue(m["value"]); val != nil {
			out[id] = val
		}
	}
	return out
}

// normValue canonicalises a JSON value: numbers (float64 or json.Number)
// become their shortest decimal string, strings are trimmed, empty strings,
// lists and objects become nil.
func normValue(v any) any {
	switch t := v.(type) {
	case nil:
		return nil
	case string:
		if s := strings.TrimSpace(t); s != "" {
			return s
		}
		return nil
	case json.Number:
		if f, err := t.Float64(); err == nil {
			return strconv.FormatFloat(f, 'g', -1, 64)
		}
		return t.String()
	case float64:
		return strconv.FormatFloat(t, 'g', -1, 64)
	case int:
		return strconv.Itoa(t)
	case int64:
		return strconv.FormatInt(t, 10)
	case bool:
		return t
	case []any:
		var out []any
		for _, x := range t {
			if n := normValue(x); n != nil {
				out = append(out, n)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []string:
		var out []any
		for _, x := range t {
			if n := normValue(x); n != nil {
				out = append(out, n)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, x := range t {
			if n := normValue(x); n != nil {
				out[k] = n
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	return nil
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}
