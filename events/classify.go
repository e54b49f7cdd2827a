package events

import (
	"encoding/json"
	"net/http"
	"strings"
)

// Classification is what an operation's request and answer say about the
// change. Type is empty when the operation changes nothing.
type Classification struct {
	Type         string
	ResourceType string
	ResourceID   string
	ContactID    string
	Location     string
}

// opRule maps one GHL contacts operationId to its event.
type opRule struct {
	typ          string // event type; "" means a read, no event
	resourceType string
	idParam      string // path parameter holding the resource id
	idFrom       string // envelope key whose .id is the resource id (creates)
}

// opRules covers every operation of apps/contacts.json [FACTS §1]. Reads
// that happen to be POSTs (search) map to "" so they never become events.
var opRules = map[string]opRule{
	"create-contact": {"contact.created", "contact", "", "contact"},
	"update-contact": {"contact.updated", "contact", "contactId", ""},
	"delete-contact": {"contact.deleted", "contact", "contactId", ""},
	"upsert-contact": {"contact.upserted", "contact", "", "contact"}, // refined from "new"
	"add-tags":       {"contact.tags_added", "contact", "contactId", ""},
	"remove-tags":    {"contact.tags_removed", "contact", "contactId", ""},

	"add-followers-contact":              {"contact.followers_added", "contact", "contactId", ""},
	"remove-followers-contact":           {"contact.followers_removed", "contact", "contactId", ""},
	"add-contact-to-campaign":            {"contact.campaign_added", "campaign", "campaignId", ""},
	"remove-contact-from-campaign":       {"contact.campaign_removed", "campaign", "campaignId", ""},
	"remove-contact-from-every-campaign": {"contact.campaigns_removed", "contact", "contactId", ""},
	"add-contact-to-workflow":            {"contact.workflow_added", "workflow", "workflowId", ""},
	"delete-contact-from-workflow":       {"contact.workflow_removed", "workflow", "workflowId", ""},
	"create-association":                 {"contact.bulk_tags_updated", "contact_bulk", "", ""}, // refined from {type}
	"add-remove-contact-from-business":   {"contact.bulk_business_updated", "contact_bulk", "", ""},

	"create-task":           {"task.created", "task", "", "task"},
	"update-task":           {"task.updated", "task", "taskId", ""},
	"update-task-completed": {"task.completed", "task", "taskId", ""}, // refined from "completed"
	"delete-task":           {"task.deleted", "task", "taskId", ""},

	"create-note": {"note.created", "note", "", "note"},
	"update-note": {"note.updated", "note", "id", ""},
	"delete-note": {"note.deleted", "note", "id", ""},

	"search-contacts-advanced": {},
}

// IsMutation reports whether an answered-2xx request to the operation
// changes something and so must produce one event.
func IsMutation(operationID, method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch:
	default:
		return false
	}
	r, known := opRules[operationID]
	return !known || r.typ != ""
}

// Classify maps a GHL contacts operation, its path parameters, request and
// answer to the event type and the ids the event carries. An unknown
// mutating operation (a newer spec) still yields an event, typed
// "mutation.<operationId>", so no change goes unrecorded.
func Classify(operationID, method string, pathParams map[string]string, reqBody, respBody []byte) (typ, resourceType, resourceID, contactID, location string) {
	c := classify(operationID, method, pathParams, reqBody, parseAnswer(respBody))
	return c.Type, c.ResourceType, c.ResourceID, c.ContactID, c.Location
}

func classify(operationID, method string, pathParams map[string]string, reqBody []byte, resp *answer) Classification {
	if !IsMutation(operationID, method) {
		return Classification{}
	}
	req := objectOf(reqBody)
	rule, known := opRules[operationID]
	if !known {
		return Classification{
			Type:       "mutation." + operationID,
			ContactID:  pathParams["contactId"],
			ResourceID: pathParams["contactId"],
			Location:   firstString(stringField(req, "locationId"), locationOf(resp)),
		}
	}
	c := Classification{
		Type:         rule.typ,
		ResourceType: rule.resourceType,
		ContactID:    pathParams["contactId"],
	}
	if rule.idParam != "" {
		c.ResourceID = pathParams[rule.idParam]
	}
	if rule.idFrom != "" {
		inner := resp.envelope(rule.idFrom)
		c.ResourceID = stringField(inner, "id")
		if rule.resourceType == "contact" {
			c.ContactID = c.ResourceID
		} else if c.ContactID == "" {
			c.ContactID = stringField(inner, "contactId")
		}
	}
	switch operationID {
	case "upsert-contact":
		c.Type = "contact.updated"
		if isNew, _ := boolField(resp.top, "new"); isNew {
			c.Type = "contact.created"
		}
	case "update-task-completed":
		if done, ok := boolField(req, "completed"); ok && !done {
			c.Type = "task.updated"
		}
	case "create-association":
		switch pathParams["type"] {
		case "add":
			c.Type = "contact.bulk_tags_added"
		case "remove":
			c.Type = "contact.bulk_tags_removed"
		}
	}
	c.Location = firstString(stringField(req, "locationId"), locationOf(resp))
	return c
}

// envelopeKeys are the keys GHL wraps a single resource in.
var envelopeKeys = []string{"contact", "task", "note"}

// answer is a GHL answer decoded once: its top-level members, and the
// members of the envelopes read from it. Classifying a change and keeping
// its resource read the same 2 KB contact up to four times before.
type answer struct {
	body  []byte
	top   map[string]json.RawMessage
	inner map[string]map[string]json.RawMessage
	// valid is true when the whole body was read as valid JSON: then so is
	// every member, and the resource needs no second check.
	valid bool
}

func parseAnswer(body []byte) *answer {
	if m, sure := membersFast(body); sure {
		return &answer{body: body, top: m, valid: true}
	}
	return &answer{body: body, top: decodeObject(body)}
}

// envelope returns the members of the object under key k; nil when there
// is none.
func (a *answer) envelope(k string) map[string]json.RawMessage {
	if m, ok := a.inner[k]; ok {
		return m
	}
	m := objectOf(a.top[k])
	if a.inner == nil {
		a.inner = map[string]map[string]json.RawMessage{}
	}
	a.inner[k] = m
	return m
}

// unwrap is Unwrap of the decoded answer.
func (a *answer) unwrap() json.RawMessage {
	for _, k := range envelopeKeys {
		if v, ok := a.top[k]; ok && len(v) > 0 && v[0] == '{' {
			return v
		}
	}
	if len(a.body) == 0 {
		return nil
	}
	return json.RawMessage(a.body)
}

// resource is the answer's resource as an event keeps it: valid JSON, or
// nil.
func (a *answer) resource() json.RawMessage {
	if a.valid {
		return a.unwrap()
	}
	return validJSON(a.unwrap())
}

// Unwrap returns the resource inside GHL's envelope ({"contact": {...}}
// gives the contact); other bodies come back unchanged.
func Unwrap(body []byte) json.RawMessage { return parseAnswer(body).unwrap() }

func locationOf(resp *answer) string {
	if loc := stringField(resp.top, "locationId"); loc != "" {
		return loc
	}
	for _, k := range envelopeKeys {
		if loc := stringField(resp.envelope(k), "locationId"); loc != "" {
			return loc
		}
	}
	return ""
}

// objectOf is the members of the JSON object b (surrounding whitespace
// allowed), or nil when b is not one.
func objectOf(b []byte) map[string]json.RawMessage {
	if m, sure := membersFast(b); sure {
		return m
	}
	return decodeObject(b)
}

// decodeObject is objectOf with encoding/json alone: what membersFast leaves
// to it, and what its tests compare it with.
func decodeObject(b []byte) map[string]json.RawMessage {
	b = []byte(strings.TrimSpace(string(b)))
	if len(b) == 0 || b[0] != '{' {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

func stringField(m map[string]json.RawMessage, k string) string {
	if v, ok := m[k]; ok {
		s, _ := stringValue(v)
		return s
	}
	return ""
}

func boolField(m map[string]json.RawMessage, k string) (value, ok bool) {
	v, present := m[k]
	if !present {
		return false, false
	}
	if json.Unmarshal(v, &value) != nil {
		// GHL examples carry booleans as strings ("false") now and then.
		var s string
		if json.Unmarshal(v, &s) != nil {
			return false, false
		}
		return s == "true", s == "true" || s == "false"
	}
	return value, true
}

func firstString(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
