package mocks

import (
	"reflect"
	"testing"
	"time"
)

func TestTasks(t *testing.T) {
	h := newHarness(t)
	c := h.createContact(locA, map[string]any{"firstName": "T"})
	other := h.createContact(locA, map[string]any{"firstName": "U"})
	h.drain()
	base := "/contacts/" + c + "/tasks"

	a := h.call("create-task", "POST", base, map[string]any{
		"title": "Call", "body": "about the quote", "dueDate": "2025-03-20T10:00:00+01:00", "completed": false, "testFlag": true,
	}).want(t, 201)
	task := a.obj(t, "task")
	if task["dueDate"] != "2025-03-20T09:00:00.000Z" || task["contactId"] != c || task["completed"] != false {
		t.Errorf("created task = %v; want dueDate in UTC, contactId %s, not completed", task, c)
	}
	id := task["id"].(string)

	cases := []struct {
		name   string
		op     string
		method string
		path   string
		body   any
		status int
		field  string
		want   any
	}{
		{"get", "get-task", "GET", base + "/" + id, nil, 200, "title", "Call"},
		{"through another contact", "get-task", "GET", "/contacts/" + other + "/tasks/" + id, nil, 400, "", nil},
		{"update keeps other fields", "update-task", "PUT", base + "/" + id, map[string]any{"title": "Call back"}, 200, "body", "about the quote"},
		{"complete", "update-task-completed", "PUT", base + "/" + id + "/completed", map[string]any{"completed": true}, 200, "completed", true},
		{"reopen", "update-task-completed", "PUT", base + "/" + id + "/completed", map[string]any{"completed": false}, 200, "completed", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := h.call(tc.op, tc.method, tc.path, tc.body).want(t, tc.status)
			if tc.field != "" {
				if got := a.obj(t, "task")[tc.field]; got != tc.want {
					t.Errorf("task[%s] = %v; want %v", tc.field, got, tc.want)
				}
			}
		})
	}
	list := h.call("get-all-tasks", "GET", base, nil).want(t, 200).list(t, "tasks")
	if len(list) != 1 {
		t.Errorf("tasks = %d; want 1", len(list))
	}
	h.call("delete-task", "DELETE", base+"/"+id, nil).want(t, 200)
	if list := h.call("get-all-tasks", "GET", base, nil).want(t, 200).list(t, "tasks"); len(list) != 0 {
		t.Errorf("tasks after delete = %d; want 0", len(list))
	}
	var actions []MutationAction
	for _, m := range h.drain() {
		if m.Kind != KindTask || m.ContactID != c || m.LocationID != locA {
			t.Errorf("mutation %+v; want a task of %s in %s", m, c, locA)
		}
		actions = append(actions, m.Action)
	}
	want := []MutationAction{ActionCreate, ActionUpdate, ActionComplete, ActionUpdate, ActionDelete}
	if !reflect.DeepEqual(actions, want) {
		t.Errorf("task mutations = %v; want %v", actions, want)
	}
}

func TestNotes(t *testing.T) {
	h := newHarness(t)
	c := h.createContact(locA, nil)
	base := "/contacts/" + c + "/notes"
	first := h.call("create-note", "POST", base, map[string]any{"body": "first"}).want(t, 201).obj(t, "note")["id"].(string)
	h.clock.Advance(time.Minute)
	second := h.call("create-note", "POST", base, map[string]any{"body": "second", "title": "T"}).want(t, 201).obj(t, "note")["id"].(string)
	var order []string
	for _, n := range h.call("get-all-notes", "GET", base, nil).want(t, 200).list(t, "notes") {
		order = append(order, n.(map[string]any)["id"].(string))
	}
	if !reflect.DeepEqual(order, []string{second, first}) {
		t.Errorf("notes order = %v; want newest first %v", order, []string{second, first})
	}
	n := h.call("update-note", "PUT", base+"/"+first, map[string]any{"pinned": true}).want(t, 200).obj(t, "note")
	if n["body"] != "first" || n["pinned"] != true {
		t.Errorf("updated note = %v; want body kept and pinned", n)
	}
	h.call("delete-note", "DELETE", base+"/"+first, nil).want(t, 200)
	h.call("get-note", "GET", base+"/"+first, nil).want(t, 400)
}

func TestTagsAreIdempotent(t *testing.T) {
	h := newHarness(t)
	c := h.createContact(locA, map[string]any{"tags": []string{"a"}})
	h.drain()
	cases := []struct {
		name   string
		op     string
		method string
		tags   []string
		status int
		want   []string
		mutate bool
	}{
		{"add", "add-tags", "POST", []string{"B", "c"}, 201, []string{"a", "b", "c"}, true},
		{"add again", "add-tags", "POST", []string{"b"}, 201, []string{"a", "b", "c"}, false},
		{"remove", "remove-tags", "DELETE", []string{"a", "zzz"}, 200, []string{"b", "c"}, true},
		{"remove again", "remove-tags", "DELETE", []string{"a"}, 200, []string{"b", "c"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := h.call(tc.op, tc.method, "/contacts/"+c+"/tags", map[string]any{"tags": tc.tags}).want(t, tc.status)
			if got := strs(a.body["tags"]); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("tags = %v; want %v", got, tc.want)
			}
			if got := len(h.drain()) > 0; got != tc.mutate {
				t.Errorf("mutation recorded = %v; want %v", got, tc.mutate)
			}
		})
	}
}

func TestFollowersCampaignsWorkflows(t *testing.T) {
	h := newHarness(t)
	c := h.createContact(locA, nil)
	a := h.call("add-followers-contact", "POST", "/contacts/"+c+"/followers", map[string]any{"followers": []string{"u1", "u2"}}).want(t, 201)
	if !reflect.DeepEqual(strs(a.body["followersAdded"]), []string{"u1", "u2"}) {
		t.Errorf("followersAdded = %v; want [u1 u2]", a.body["followersAdded"])
	}
	a = h.call("add-followers-contact", "POST", "/contacts/"+c+"/followers", map[string]any{"followers": []string{"u2", "u3"}}).want(t, 201)
	if !reflect.DeepEqual(strs(a.body["followers"]), []string{"u1", "u2", "u3"}) || !reflect.DeepEqual(strs(a.body["followersAdded"]), []string{"u3"}) {
		t.Errorf("second add = %s; want followers [u1 u2 u3], added [u3]", a.raw)
	}
	a = h.call("remove-followers-contact", "DELETE", "/contacts/"+c+"/followers", map[string]any{"followers": []string{"u1", "u9"}}).want(t, 200)
	if !reflect.DeepEqual(strs(a.body["followersRemoved"]), []string{"u1"}) {
		t.Errorf("followersRemoved = %v; want [u1]", a.body["followersRemoved"])
	}
	h.drain()
	h.call("add-contact-to-campaign", "POST", "/contacts/"+c+"/campaigns/camp1", nil).want(t, 201)
	h.call("add-contact-to-campaign", "POST", "/contacts/"+c+"/campaigns/camp2", nil).want(t, 201)
	h.call("remove-contact-from-every-campaign", "DELETE", "/contacts/"+c+"/campaigns/removeAll", nil).want(t, 200)
	h.call("add-contact-to-workflow", "POST", "/contacts/"+c+"/workflow/wf1", nil).want(t, 200)
	var got []string
	for _, m := range h.drain() {
		got = append(got, string(m.Kind)+":"+string(m.Action)+":"+m.ObjectID)
	}
	want := []string{"campaign:added:camp1", "campaign:added:camp2", "campaign:removed:camp1", "campaign:removed:camp2", "workflow:added:wf1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("mutations = %v; want %v", got, want)
	}
}

func TestSeededAppointmentsAndDeleteCascade(t *testing.T) {
	h := newHarness(t, withSeed(testSeed(t)))
	alice, _ := h.mock.LookupTestContact("alice-smith")
	events := h.call("get-appointments-for-contact", "GET", "/contacts/"+alice+"/appointments", nil).want(t, 200).list(t, "events")
	if len(events) != 1 || events[0].(map[string]any)["title"] != "Consultation with Alice" {
		t.Fatalf("alice's events = %v; want the seeded consultation", events)
	}
	if n := len(h.call("get-all-tasks", "GET", "/contacts/"+alice+"/tasks", nil).want(t, 200).list(t, "tasks")); n != 1 {
		t.Errorf("alice's seeded tasks = %d; want 1", n)
	}
	h.call("delete-contact", "DELETE", "/contacts/"+alice, nil).want(t, 200)
	h.call("get-appointments-for-contact", "GET", "/contacts/"+alice+"/appointments", nil).want(t, 400)
	if _, ok := h.mock.LookupTestContact("alice-smith"); ok {
		t.Error("LookupTestContact found a deleted contact")
	}
	if err := h.mock.Reset(t.Context()); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if got, ok := h.mock.LookupTestContact("alice-smith"); !ok || got != alice {
		t.Errorf("after Reset LookupTestContact = %q, %v; want %q, true", got, ok, alice)
	}
}
