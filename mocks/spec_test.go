package mocks

import (
	"strings"
	"testing"
)

// TestEveryOperationMatchesSpec calls each of contacts.json's 32
// operations, on success and on error, and validates every answer (status,
// content type and body) against the official document. Cases run in
// order; "{c}", "{task}" and "{note}" in a path stand for ids captured by
// earlier cases.
func TestEveryOperationMatchesSpec(t *testing.T) {
	h := newHarness(t, withSeed(testSeed(t)))
	alice, ok := h.mock.LookupTestContact("alice-smith")
	if !ok {
		t.Fatal(`LookupTestContact("alice-smith") found nothing in the default seed`)
	}
	ids := map[string]string{"alice": alice}
	const dental = "ve9EPM428h8vShlRW1KT"

	cases := []struct {
		name    string
		op      string
		method  string
		path    string
		body    any
		status  int
		capture string // key of ids to fill from the answer
	}{
		{"create", "create-contact", "POST", "/contacts/", map[string]any{
			"locationId": dental, "firstName": "Zoe", "lastName": "Quinn", "email": "Zoe.Quinn@Example.com",
			"phone": "+15125559999", "tags": []string{"Lead", "lead", " vip "}, "dateOfBirth": "1990-09-25",
			"customFields": []any{map[string]any{"id": "cf1", "field_value": "Invisalign"}},
			"dndSettings":  map[string]any{"SMS": map[string]any{"status": "active"}},
			"testFlag":     true, "testContactId": "zoe-quinn",
		}, 201, "c"},
		{"create without locationId", "create-contact", "POST", "/contacts/", map[string]any{"firstName": "X"}, 422, ""},
		{"create duplicate email", "create-contact", "POST", "/contacts/", map[string]any{"locationId": dental, "email": "zoe.quinn@example.com"}, 400, ""},
		{"create bad json", "create-contact", "POST", "/contacts/", "{", 400, ""},
		{"get", "get-contact", "GET", "/contacts/{c}", nil, 200, ""},
		{"get unknown", "get-contact", "GET", "/contacts/nope0000000000000000", nil, 400, ""},
		{"update", "update-contact", "PUT", "/contacts/{c}", map[string]any{"city": "Austin", "tags": []string{"customer"}}, 200, ""},
		{"update unknown", "update-contact", "PUT", "/contacts/nope0000000000000000", map[string]any{"city": "X"}, 400, ""},
		{"update bad email", "update-contact", "PUT", "/contacts/{c}", map[string]any{"email": "not-an-email"}, 422, ""},
		{"list", "get-contacts", "GET", "/contacts/?locationId=" + dental + "&limit=5", nil, 200, ""},
		{"list limit over 100", "get-contacts", "GET", "/contacts/?locationId=" + dental + "&limit=101", nil, 422, ""},
		{"list without location", "get-contacts", "GET", "/contacts/", nil, 422, ""},
		{"business", "get-contacts-by-businessId", "GET", "/contacts/business/hDAEYqL62pBum9BIy2ew?locationId=" + dental, nil, 200, ""},
		{"business without location", "get-contacts-by-businessId", "GET", "/contacts/business/hDAEYqL62pBum9BIy2ew", nil, 422, ""},
		{"search", "search-contacts-advanced", "POST", "/contacts/search", map[string]any{"locationId": dental, "pageLimit": 5, "page": 1, "query": "smith"}, 200, ""},
		{"search without location", "search-contacts-advanced", "POST", "/contacts/search", map[string]any{"pageLimit": 5}, 400, ""},
		{"duplicate found", "get-duplicate-contact", "GET", "/contacts/search/duplicate?locationId=" + dental + "&email=zoe.quinn%40example.com", nil, 200, ""},
		{"duplicate none", "get-duplicate-contact", "GET", "/contacts/search/duplicate?locationId=" + dental + "&email=nobody%40example.com", nil, 200, ""},
		{"upsert new", "upsert-contact", "POST", "/contacts/upsert", map[string]any{"locationId": dental, "email": "new.person@example.com", "firstName": "New"}, 200, ""},
		{"upsert existing", "upsert-contact", "POST", "/contacts/upsert", map[string]any{"locationId": dental, "email": "new.person@example.com", "lastName": "Person"}, 200, ""},
		{"upsert without location", "upsert-contact", "POST", "/contacts/upsert", map[string]any{"email": "a@example.com"}, 422, ""},
		{"create task", "create-task", "POST", "/contacts/{c}/tasks", map[string]any{"title": "Call", "dueDate": "2025-03-20T10:00:00Z", "completed": false}, 201, "task"},
		{"create task missing fields", "create-task", "POST", "/contacts/{c}/tasks", map[string]any{"body": "x"}, 422, ""},
		{"create task unknown contact", "create-task", "POST", "/contacts/nope0000000000000000/tasks", map[string]any{"title": "Call", "dueDate": "2025-03-20T10:00:00Z", "completed": false}, 400, ""},
		{"list tasks", "get-all-tasks", "GET", "/contacts/{c}/tasks", nil, 200, ""},
		{"list tasks unknown contact", "get-all-tasks", "GET", "/contacts/nope0000000000000000/tasks", nil, 400, ""},
		{"get task", "get-task", "GET", "/contacts/{c}/tasks/{task}", nil, 200, ""},
		{"get unknown task", "get-task", "GET", "/contacts/{c}/tasks/nope0000000000000000", nil, 400, ""},
		{"update task", "update-task", "PUT", "/contacts/{c}/tasks/{task}", map[string]any{"title": "Call back"}, 200, ""},
		{"update task bad date", "update-task", "PUT", "/contacts/{c}/tasks/{task}", map[string]any{"dueDate": "tomorrow"}, 422, ""},
		{"complete task", "update-task-completed", "PUT", "/contacts/{c}/tasks/{task}/completed", map[string]any{"completed": true}, 200, ""},
		{"complete task without flag", "update-task-completed", "PUT", "/contacts/{c}/tasks/{task}/completed", map[string]any{}, 422, ""},
		{"delete task", "delete-task", "DELETE", "/contacts/{c}/tasks/{task}", nil, 200, ""},
		{"delete task again", "delete-task", "DELETE", "/contacts/{c}/tasks/{task}", nil, 400, ""},
		{"appointments", "get-appointments-for-contact", "GET", "/contacts/{alice}/appointments", nil, 200, ""},
		{"appointments unknown contact", "get-appointments-for-contact", "GET", "/contacts/nope0000000000000000/appointments", nil, 400, ""},
		{"add tags", "add-tags", "POST", "/contacts/{c}/tags", map[string]any{"tags": []string{"hot"}}, 201, ""},
		{"add tags without tags", "add-tags", "POST", "/contacts/{c}/tags", map[string]any{}, 422, ""},
		{"remove tags", "remove-tags", "DELETE", "/contacts/{c}/tags", map[string]any{"tags": []string{"hot"}}, 200, ""},
		{"remove tags unknown contact", "remove-tags", "DELETE", "/contacts/nope0000000000000000/tags", map[string]any{"tags": []string{"hot"}}, 400, ""},
		{"create note", "create-note", "POST", "/contacts/{c}/notes", map[string]any{"body": "Likes mornings", "userId": "user0000000000000001"}, 201, "note"},
		{"create note without body", "create-note", "POST", "/contacts/{c}/notes", map[string]any{"title": "x"}, 422, ""},
		{"list notes", "get-all-notes", "GET", "/contacts/{c}/notes", nil, 200, ""},
		{"get note", "get-note", "GET", "/contacts/{c}/notes/{note}", nil, 200, ""},
		{"get unknown note", "get-note", "GET", "/contacts/{c}/notes/nope0000000000000000", nil, 400, ""},
		{"update note", "update-note", "PUT", "/contacts/{c}/notes/{note}", map[string]any{"body": "Likes evenings", "pinned": true}, 200, ""},
		{"update note bad type", "update-note", "PUT", "/contacts/{c}/notes/{note}", map[string]any{"pinned": "yes"}, 422, ""},
		{"delete note", "delete-note", "DELETE", "/contacts/{c}/notes/{note}", nil, 200, ""},
		{"delete note again", "delete-note", "DELETE", "/contacts/{c}/notes/{note}", nil, 400, ""},
		{"bulk tags add", "create-association", "POST", "/contacts/bulk/tags/update/add", map[string]any{"locationId": dental, "contacts": []string{"{c}", "nope0000000000000000"}, "tags": []string{"bulk"}}, 201, ""},
		{"bulk tags bad type", "create-association", "POST", "/contacts/bulk/tags/update/toggle", map[string]any{"locationId": dental, "contacts": []string{"{c}"}, "tags": []string{"bulk"}}, 422, ""},
		{"bulk business", "add-remove-contact-from-business", "POST", "/contacts/bulk/business", map[string]any{"locationId": dental, "ids": []string{"{c}"}, "businessId": "biz00000000000000001"}, 200, ""},
		{"bulk business missing ids", "add-remove-contact-from-business", "POST", "/contacts/bulk/business", map[string]any{"locationId": dental, "businessId": nil}, 422, ""},
		{"add followers", "add-followers-contact", "POST", "/contacts/{c}/followers", map[string]any{"followers": []string{"user0000000000000001"}}, 201, ""},
		{"add followers without list", "add-followers-contact", "POST", "/contacts/{c}/followers", map[string]any{}, 422, ""},
		{"remove followers", "remove-followers-contact", "DELETE", "/contacts/{c}/followers", map[string]any{"followers": []string{"user0000000000000001"}}, 200, ""},
		{"add to campaign", "add-contact-to-campaign", "POST", "/contacts/{c}/campaigns/camp0000000000000001", nil, 201, ""},
		{"remove from campaign", "remove-contact-from-campaign", "DELETE", "/contacts/{c}/campaigns/camp0000000000000001", nil, 200, ""},
		{"remove from every campaign", "remove-contact-from-every-campaign", "DELETE", "/contacts/{c}/campaigns/removeAll", nil, 200, ""},
		{"remove from every campaign unknown contact", "remove-contact-from-every-campaign", "DELETE", "/contacts/nope0000000000000000/campaigns/removeAll", nil, 400, ""},
		{"add to workflow", "add-contact-to-workflow", "POST", "/contacts/{c}/workflow/flow0000000000000001", map[string]any{"eventStartTime": "2025-03-20T10:00:00Z"}, 200, ""},
		{"remove from workflow", "delete-contact-from-workflow", "DELETE", "/contacts/{c}/workflow/flow0000000000000001", nil, 200, ""},
		{"delete", "delete-contact", "DELETE", "/contacts/{c}", nil, 200, ""},
		{"delete again", "delete-contact", "DELETE", "/contacts/{c}", nil, 400, ""},
	}
	covered := map[string]bool{}
	expand := func(s string) string {
		for k, v := range ids {
			s = strings.ReplaceAll(s, "{"+k+"}", v)
		}
		return s
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body
			if m, ok := body.(map[string]any); ok {
				body = expandBody(m, expand)
			}
			a := h.call(tc.op, tc.method, expand(tc.path), body)
			if a.status != tc.status {
				t.Fatalf("%s %s = %d %s; want %d", tc.method, tc.path, a.status, a.raw, tc.status)
			}
			covered[tc.op] = true
			if tc.capture != "" {
				for _, key := range []string{"contact", "task", "note"} {
					if o, ok := a.body[key].(map[string]any); ok {
						ids[tc.capture] = o["id"].(string)
					}
				}
			}
		})
	}
	_, ops := ghlSpec(t)
	for op := range ops {
		if !covered[op] {
			t.Errorf("operation %s of contacts.json is not exercised", op)
		}
	}
}

func expandBody(m map[string]any, expand func(string) string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		switch x := v.(type) {
		case []string:
			l := make([]string, len(x))
			for i, s := range x {
				l[i] = expand(s)
			}
			out[k] = l
		default:
			out[k] = v
		}
	}
	return out
}
