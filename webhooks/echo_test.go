package webhooks

import (
	"encoding/json"
	"strings"
	"testing"
)

func decode(t testing.TB, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return m
}

// A contact as GHL's API answers PUT /contacts/{id} (the "contact" member),
// and the ContactUpdate webhook GHL sends for the same change: different
// shapes, different forms of the same values.
const (
	contactResponse = `{"id":"c1","locationId":"loc1","name":"John Deo","firstName":"John","lastName":"Deo",
		"firstNameLowerCase":"john","email":"JohnDeo@Gmail.com","emailLowerCase":"johndeo@gmail.com","phone":"+91 9509 597501",
		"dnd":false,"tags":["vip","Lead"],"dateOfBirth":"2000-01-05T00:00:00.000Z","dateAdded":"2021-11-26T12:41:02.193Z",
		"dateUpdated":"2026-07-01T12:00:00.000Z","city":"Berlin","country":"DE","website":"",
		"customFields":[{"id":"cf1","value":"XYZ Corp"},{"id":"cf2","value":5},{"id":"cf3","value":""}]}`
	contactWebhook = `{"type":"ContactUpdate","locationId":"loc1","id":"c1","city":"Berlin","country":"DE",
		"dateAdded":"2021-11-26T12:41:02.193Z","dateOfBirth":"2000-01-05","dnd":false,"email":"johndeo@gmail.com",
		"name":"John Deo","firstName":"John","lastName":"Deo","phone":"+919509597501","tags":["lead","vip"],
		"attachments":[],"customFields":[{"id":"cf2","value":5.0},{"id":"cf1","value":"XYZ Corp"}]}`
)

func TestEchoKeyGatewayResponseMatchesWebhook(t *testing.T) {
	tests := []struct {
		name        string
		gatewayType string
		resource    string // the gateway's response resource
		webhook     string
		wantSame    bool
	}{
		{"contact update, same change", "contact.updated", contactResponse, contactWebhook, true},
		{"contact update, other last name", "contact.updated", contactResponse,
			replace(contactWebhook, `"lastName":"Deo"`, `"lastName":"Doe"`), false},
		{"contact update, a tag more", "contact.updated", contactResponse,
			replace(contactWebhook, `"tags":["lead","vip"]`, `"tags":["lead","vip","new"]`), false},
		{"contact update, custom field changed", "contact.updated", contactResponse,
			replace(contactWebhook, `"value":5.0`, `"value":6`), false},
		{"contact update, dnd switched on", "contact.updated", contactResponse,
			replace(contactWebhook, `"dnd":false`, `"dnd":true`), false},
		{"contact created", "contact.created", contactResponse, replace(contactWebhook, "ContactUpdate", "ContactCreate"), true},
		{"tags added: {tags} answer vs ContactTagUpdate", "contact.tags_added", `{"tags":["VIP","lead"]}`,
			replace(contactWebhook, "ContactUpdate", "ContactTagUpdate"), true},
		{"tags removed to a different set", "contact.tags_removed", `{"tags":["lead"]}`,
			replace(contactWebhook, "ContactUpdate", "ContactTagUpdate"), false},
		{"contact deleted", "contact.deleted", `{"succeded":true}`, replace(contactWebhook, "ContactUpdate", "ContactDelete"), true},
		{"task completed", "task.completed",
			`{"id":"t1","title":"Call back","body":"about the quote","assignedTo":"u1","dueDate":"2021-12-22T06:55:00Z","completed":true,"contactId":"c1"}`,
			`{"type":"TaskComplete","locationId":"loc1","id":"t1","assignedTo":"u1","body":"about the quote","contactId":"c1","title":"Call back","dateAdded":"2021-11-29T13:37:28.304Z","dueDate":"2021-12-22T06:55:00.000Z"}`,
			true},
		{"task, other due date", "task.created",
			`{"id":"t1","title":"Call back","body":"about the quote","assignedTo":"u1","dueDate":"2021-12-23T06:55:00Z","completed":false}`,
			`{"type":"TaskCreate","locationId":"loc1","id":"t1","assignedTo":"u1","body":"about the quote","contactId":"c1","title":"Call back","dueDate":"2021-12-22T06:55:00.000Z"}`,
			false},
		{"note updated", "note.updated", `{"id":"n1","body":"Loram ipsum ","userId":"u","contactId":"c1","pinned":false}`,
			`{"type":"NoteUpdate","locationId":"loc1","id":"n1","body":"Loram ipsum","contactId":"c1","dateAdded":"2021-11-26T12:41:02.193Z"}`, true},
		{"note, other body", "note.updated", `{"id":"n1","body":"Lorem"}`,
			`{"type":"NoteUpdate","locationId":"loc1","id":"n1","body":"Loram ipsum","contactId":"c1"}`, false},
		{"note deleted", "note.deleted", `{"succeded":true}`,
			`{"type":"NoteDelete","locationId":"loc1","id":"n1","body":"Loram ipsum","contactId":"c1"}`, true},
		{"appointment, times in other forms", "appointment.updated",
			`{"id":"a1","title":"Demo","calendarId":"cal","contactId":"c1","appointmentStatus":"Confirmed","startTime":"2023-09-25 10:30:00","endTime":"2023-09-25T11:00:00Z","status":"booked"}`,
			`{"type":"AppointmentUpdate","locationId":"loc1","appointment":{"id":"a1","title":"Demo","calendarId":"cal","contactId":"c1","appointmentStatus":"confirmed","startTime":"2023-09-25T16:00:00+05:30","endTime":"2023-09-25T16:30:00+05:30"}}`,
			true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, err := Parse([]byte(tc.webhook))
			if err != nil {
				t.Fatalf("Parse(webhook) = %v", err)
			}
			fields := EchoFieldsForEventType(tc.gatewayType, decode(t, tc.resource))
			gw := EchoKey(in.ResourceType, in.ResourceID, fields)
			if same := gw == in.EchoKey; same != tc.wantSame {
				t.Errorf("gateway key == webhook key: %v; want %v\n gateway fields %v\n webhook fields %v", same, tc.wantSame, fields, in.Fields)
			}
		})
	}
}

// replace swaps old for new once, and insists that old is there.
func replace(s, old, new string) string {
	if !strings.Contains(s, old) {
		panic("replace: " + old + " not in the text")
	}
	return strings.Replace(s, old, new, 1)
}

func TestEchoKeyIdentity(t *testing.T) {
	f := map[string]any{"body": "x"}
	base := EchoKey(ResourceNote, "n1", f)
	tests := []struct {
		name string
		key  string
		same bool
	}{
		{"same input", EchoKey(ResourceNote, "n1", map[string]any{"body": "x"}), true},
		{"other id", EchoKey(ResourceNote, "n2", f), false},
		{"other resource type", EchoKey(ResourceTask, "n1", f), false},
		{"no fields", EchoKey(ResourceNote, "n1", nil), false},
		{"empty fields", EchoKey(ResourceNote, "n1", map[string]any{}), false},
	}
	for _, tc := range tests {
		if got := tc.key == base; got != tc.same {
			t.Errorf("%s: EchoKey equal = %v; want %v", tc.name, got, tc.same)
		}
	}
	if EchoKey(ResourceNote, "n1", nil) != EchoKey(ResourceNote, "n1", map[string]any{}) {
		t.Errorf("EchoKey(nil fields) != EchoKey(empty fields); want equal")
	}
}
