package mocks

import (
	"net/http"
	"strings"
)

// handler runs one operation on the dataset. It validates everything before
// it changes anything, so an error leaves the dataset untouched.
type handler func(st *state, rq *request) (status int, body any, err error)

type route struct {
	op    string // GHL's operationId
	write bool   // takes the write lock and saves
	h     handler
}

// match finds the operation for a method and a path relative to the API
// root. It matches by segments rather than with http.ServeMux because GHL's
// paths overlap in ways ServeMux refuses (GET /contacts/business/{id} vs
// GET /contacts/{id}/tasks): literal segments win, as in the spec.
func match(method, path string) (route, *request, bool) {
	seg := strings.Split(strings.Trim(path, "/"), "/")
	if len(seg) == 0 || seg[0] != "contacts" {
		return route{}, nil, false
	}
	for _, s := range seg[1:] {
		if s == "" {
			return route{}, nil, false
		}
	}
	seg = seg[1:]
	rq := &request{}
	pick := func(routes map[string]route) (route, *request, bool) {
		rt, ok := routes[method]
		return rt, rq, ok
	}
	switch len(seg) {
	case 0:
		return pick(map[string]route{
			http.MethodGet:  {"get-contacts", false, listContacts},
			http.MethodPost: {"create-contact", true, createContact},
		})
	case 1:
		switch {
		case seg[0] == "search" && method == http.MethodPost:
			return route{"search-contacts-advanced", false, searchContacts}, rq, true
		case seg[0] == "upsert" && method == http.MethodPost:
			return route{"upsert-contact", true, upsertContact}, rq, true
		}
		rq.contactID = seg[0]
		return pick(map[string]route{
			http.MethodGet:    {"get-contact", false, getContact},
			http.MethodPut:    {"update-contact", true, updateContact},
			http.MethodDelete: {"delete-contact", true, deleteContact},
		})
	case 2:
		switch {
		case seg[0] == "search" && seg[1] == "duplicate":
			return pick(map[string]route{http.MethodGet: {"get-duplicate-contact", false, duplicateSearch}})
		case seg[0] == "business":
			rq.id = seg[1]
			return pick(map[string]route{http.MethodGet: {"get-contacts-by-businessId", false, contactsByBusiness}})
		case seg[0] == "bulk" && seg[1] == "business":
			return pick(map[string]route{http.MethodPost: {"add-remove-contact-from-business", true, bulkBusiness}})
		}
		rq.contactID = seg[0]
		switch seg[1] {
		case "tasks":
			return pick(map[string]route{
				http.MethodGet:  {"get-all-tasks", false, listTasks},
				http.MethodPost: {"create-task", true, createTask},
			})
		case "notes":
			return pick(map[string]route{
				http.MethodGet:  {"get-all-notes", false, listNotes},
				http.MethodPost: {"create-note", true, createNote},
			})
		case "appointments":
			return pick(map[string]route{http.MethodGet: {"get-appointments-for-contact", false, listAppointments}})
		case "tags":
			return pick(map[string]route{
				http.MethodPost:   {"add-tags", true, addTags},
				http.MethodDelete: {"remove-tags", true, removeTags},
			})
		case "followers":
			return pick(map[string]route{
				http.MethodPost:   {"add-followers-contact", true, addFollowers},
				http.MethodDelete: {"remove-followers-contact", true, removeFollowers},
			})
		}
	case 3:
		rq.contactID, rq.id = seg[0], seg[2]
		switch seg[1] {
		case "tasks":
			return pick(map[string]route{
				http.MethodGet:    {"get-task", false, getTask},
				http.MethodPut:    {"update-task", true, updateTask},
				http.MethodDelete: {"delete-task", true, deleteTask},
			})
		case "notes":
			return pick(map[string]route{
				http.MethodGet:    {"get-note", false, getNote},
				http.MethodPut:    {"update-note", true, updateNote},
				http.MethodDelete: {"delete-note", true, deleteNote},
			})
		case "campaigns":
			if seg[2] == "removeAll" && method == http.MethodDelete {
				return route{"remove-contact-from-every-campaign", true, removeAllCampaigns}, rq, true
			}
			return pick(map[string]route{
				http.MethodPost:   {"add-contact-to-campaign", true, addCampaign},
				http.MethodDelete: {"remove-contact-from-campaign", true, removeCampaign},
			})
		case "workflow":
			return pick(map[string]route{
				http.MethodPost:   {"add-contact-to-workflow", true, addWorkflow},
				http.MethodDelete: {"delete-contact-from-workflow", true, removeWorkflow},
			})
		}
	case 4:
		switch {
		case seg[1] == "tasks" && seg[3] == "completed":
			rq.contactID, rq.id = seg[0], seg[2]
			return pick(map[string]route{http.MethodPut: {"update-task-completed", true, completeTask}})
		case seg[0] == "bulk" && seg[1] == "tags" && seg[2] == "update":
			rq.id = seg[3]
			return pick(map[string]route{http.MethodPost: {"create-association", true, bulkTags}})
		}
	}
	return route{}, nil, false
}
