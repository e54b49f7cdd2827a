package events

import (
	"encoding/json"
	"testing"
)

func TestClassify(t *testing.T) {
	p := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name, op, method string
		params           map[string]string
		req, resp        string
		want             Classification
	}{
		{"create contact", "create-contact", "POST", nil, `{"locationId":"L","email":"a@b.c"}`, `{"contact":{"id":"C1","locationId":"L"}}`,
			Classification{"contact.created", "contact", "C1", "C1", "L"}},
		{"update contact", "update-contact", "PUT", p("contactId", "C1"), `{"firstName":"A"}`, `{"succeded":true,"contact":{"id":"C1","locationId":"L"}}`,
			Classification{"contact.updated", "contact", "C1", "C1", "L"}},
		{"delete contact", "delete-contact", "DELETE", p("contactId", "C1"), ``, `{"succeded":true}`,
			Classification{"contact.deleted", "contact", "C1", "C1", ""}},
		{"upsert new", "upsert-contact", "POST", nil, `{"locationId":"L"}`, `{"new":true,"contact":{"id":"C2"}}`,
			Classification{"contact.created", "contact", "C2", "C2", "L"}},
		{"upsert existing", "upsert-contact", "POST", nil, `{"locationId":"L"}`, `{"new":false,"contact":{"id":"C2"}}`,
			Classification{"contact.updated", "contact", "C2", "C2", "L"}},
		{"add tags", "add-tags", "POST", p("contactId", "C1"), `{"tags":["x"]}`, `{"tags":["x"]}`,
			Classification{"contact.tags_added", "contact", "C1", "C1", ""}},
		{"remove tags", "remove-tags", "DELETE", p("contactId", "C1"), `{"tags":["x"]}`, `{"tags":[]}`,
			Classification{"contact.tags_removed", "contact", "C1", "C1", ""}},
		{"create task", "create-task", "POST", p("contactId", "C1"), `{"title":"t"}`, `{"task":{"id":"T1","contactId":"C1"}}`,
			Classification{"task.created", "task", "T1", "C1", ""}},
		{"update task", "update-task", "PUT", p("contactId", "C1", "taskId", "T1"), `{"title":"u"}`, `{"task":{"id":"T1"}}`,
			Classification{"task.updated", "task", "T1", "C1", ""}},
		{"complete task", "update-task-completed", "PUT", p("contactId", "C1", "taskId", "T1"), `{"completed":true}`, `{}`,
			Classification{"task.completed", "task", "T1", "C1", ""}},
		{"reopen task", "update-task-completed", "PUT", p("contactId", "C1", "taskId", "T1"), `{"completed":false}`, `{}`,
			Classification{"task.updated", "task", "T1", "C1", ""}},
		{"delete task", "delete-task", "DELETE", p("contactId", "C1", "taskId", "T1"), ``, `{"succeded":true}`,
			Classification{"task.deleted", "task", "T1", "C1", ""}},
		{"create note", "create-note", "POST", p("contactId", "C1"), `{"body":"n"}`, `{"note":{"id":"N1"}}`,
			Classification{"note.created", "note", "N1", "C1", ""}},
		{"update note", "update-note", "PUT", p("contactId", "C1", "id", "N1"), `{"body":"m"}`, `{"note":{"id":"N1"}}`,
			Classification{"note.updated", "note", "N1", "C1", ""}},
		{"delete note", "delete-note", "DELETE", p("contactId", "C1", "id", "N1"), ``, `{}`,
			Classification{"note.deleted", "note", "N1", "C1", ""}},
		{"campaign", "add-contact-to-campaign", "POST", p("contactId", "C1", "campaignId", "K1"), `{}`, `{}`,
			Classification{"contact.campaign_added", "campaign", "K1", "C1", ""}},
		{"workflow", "delete-contact-from-workflow", "DELETE", p("contactId", "C1", "workflowId", "W1"), `{}`, `{}`,
			Classification{"contact.workflow_removed", "workflow", "W1", "C1", ""}},
		{"followers", "add-followers-contact", "POST", p("contactId", "C1"), `{"followers":["u"]}`, `{}`,
			Classification{"contact.followers_added", "contact", "C1", "C1", ""}},
		{"bulk tags", "create-association", "POST", p("type", "remove"), `{"locationId":"L","contacts":["C1"]}`, `{}`,
			Classification{"contact.bulk_tags_removed", "contact_bulk", "", "", "L"}},
		{"bulk business", "add-remove-contact-from-business", "POST", nil, `{"locationId":"L"}`, `{}`,
			Classification{"contact.bulk_business_updated", "contact_bulk", "", "", "L"}},
		{"search is a read", "search-contacts-advanced", "POST", nil, `{}`, `{}`, Classification{}},
		{"get is a read", "get-contact", "GET", p("contactId", "C1"), ``, `{}`, Classification{}},
		{"unknown mutation", "merge-contacts", "POST", p("contactId", "C1"), `{"locationId":"L"}`, `{}`,
			Classification{"mutation.merge-contacts", "", "C1", "C1", "L"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			typ, rt, rid, cid, loc := Classify(tc.op, tc.method, tc.params, []byte(tc.req), []byte(tc.resp))
			got := Classification{typ, rt, rid, cid, loc}
			if got != tc.want {
				t.Errorf("Classify(%s) = %+v; want %+v", tc.op, got, tc.want)
			}
			if IsMutation(tc.op, tc.method) != (tc.want.Type != "") {
				t.Errorf("IsMutation(%s, %s) = %v; want %v", tc.op, tc.method, !(tc.want.Type != ""), tc.want.Type != "")
			}
		})
	}
}

func TestRedact(t *testing.T) {
	tests := []struct {
		name  string
		rules []string
		in    string
		want  string
	}{
		{"none", nil, `{"email":"a@b.c"}`, `{"email":"a@b.c"}`},
		{"by name at any depth", []string{"email", "ssn"}, `{"email":"a","contact":{"ssn":"1","x":[{"email":"b"}]}}`,
			`{"contact":{"ssn":"[redacted]","x":[{"email":"[redacted]"}]},"email":"[redacted]"}`},
		{"by pointer", []string{"/customFields/0/value", "/a~1b"}, `{"customFields":[{"id":"f","value":"v"},{"id":"g","value":"w"}],"a/b":1}`,
			`{"a/b":"[redacted]","customFields":[{"id":"f","value":"[redacted]"},{"id":"g","value":"w"}]}`},
		{"pointer wildcard", []string{"/customFields/*/value"}, `{"customFields":[{"value":"v"},{"value":"w"}]}`,
			`{"customFields":[{"value":"[redacted]"},{"value":"[redacted]"}]}`},
		{"missing pointer untouched", []string{"/nope/0"}, `{"a":1}`, `{"a":1}`},
		{"not json", []string{"email"}, `not json`, `not json`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := string(NewRedactor(tc.rules).Redact(json.RawMessage(tc.in)))
			if got != tc.want {
				t.Errorf("Redact(%s) = %s; want %s", tc.in, got, tc.want)
			}
		})
	}
}
