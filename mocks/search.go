package mocks

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// searchPageLimitMax bounds pageLimit of POST /contacts/search.
const searchPageLimitMax = 500

// filter is a minimal subset of GHL's advanced search grammar: a condition
// {field, operator, value} or a group {group: "AND"|"OR", filters: [...]}.
type filter struct {
	Group    string          `json:"group"`
	Filters  []filter        `json:"filters"`
	Field    string          `json:"field"`
	Operator string          `json:"operator"`
	Value    json.RawMessage `json:"value"`
}

// searchFields are the fields a filter may name.
var searchFields = map[string]func(*Contact) string{
	"id":                 func(c *Contact) string { return c.ID },
	"firstName":          func(c *Contact) string { return c.FirstName },
	"lastName":           func(c *Contact) string { return c.LastName },
	"firstNameLowerCase": func(c *Contact) string { return c.FirstNameLowerCase },
	"lastNameLowerCase":  func(c *Contact) string { return c.LastNameLowerCase },
	"email":              func(c *Contact) string { return c.EmailLowerCase },
	"phone":              func(c *Contact) string { return c.Phone },
	"companyName":        func(c *Contact) string { return c.CompanyName },
	"source":             func(c *Contact) string { return c.Source },
	"type":               func(c *Contact) string { return c.Type },
	"country":            func(c *Contact) string { return c.Country },
	"city":               func(c *Contact) string { return c.City },
	"state":              func(c *Contact) string { return c.State },
	"postalCode":         func(c *Contact) string { return c.PostalCode },
	"assignedTo":         func(c *Contact) string { return c.AssignedTo },
	"businessId":         func(c *Contact) string { return c.BusinessID },
	"testContactId":      func(c *Contact) string { return c.TestContactID },
}

var searchOperators = []string{"eq", "not_eq", "contains", "not_contains", "exists", "not_exists"}

func (fl filter) validate(path string, msgs *[]string) {
	if fl.Group != "" {
		if fl.Group != "AND" && fl.Group != "OR" {
			*msgs = append(*msgs, path+".group must be one of the following values: AND, OR")
		}
		for i, sub := range fl.Filters {
			sub.validate(fmt.Sprintf("%s.filters.%d", path, i), msgs)
		}
		return
	}
	if _, ok := searchFields[fl.Field]; !ok && fl.Field != "tags" {
		*msgs = append(*msgs, fmt.Sprintf("%s.field %q is not supported by the mock", path, fl.Field))
	}
	if !contains(searchOperators, fl.Operator) {
		*msgs = append(*msgs, path+".operator must be one of the following values: "+strings.Join(searchOperators, ", "))
	}
}

// values reads the filter's value as a list of lower-cased strings.
func (fl filter) values() []string {
	var one string
	if json.Unmarshal(fl.Value, &one) == nil {
		return []string{strings.ToLower(one)}
	}
	var many []string
	_ = json.Unmarshal(fl.Value, &many)
	for i := range many {
		many[i] = strings.ToLower(many[i])
	}
	return many
}

func (fl filter) match(c *Contact) bool {
	if fl.Group != "" {
		for _, sub := range fl.Filters {
			ok := sub.match(c)
			if fl.Group == "OR" && ok {
				return true
			}
			if fl.Group == "AND" && !ok {
				return false
			}
		}
		return fl.Group == "AND"
	}
	var have []string
	if fl.Field == "tags" {
		have = c.Tags
	} else if v := searchFields[fl.Field](c); v != "" {
		have = []string{strings.ToLower(v)}
	}
	want := fl.values()
	hit := func(exact bool) bool {
		for _, h := range have {
			for _, w := range want {
				if (exact && h == w) || (!exact && strings.Contains(h, w)) {
					return true
				}
			}
		}
		return false
	}
	switch fl.Operator {
	case "eq":
		return hit(true)
	case "not_eq":
		return !hit(true)
	case "contains":
		return hit(false)
	case "not_contains":
		return !hit(false)
	case "exists":
		return len(have) > 0
	default: // not_exists
		return len(have) == 0
	}
}

// POST /contacts/search {locationId, page, pageLimit, query, filters} →
// 200 {contacts, total}, in list order (dateAdded, then id). Filters are
// ANDed at the top level, as in GHL.
func searchContacts(st *state, rq *request) (int, any, error) {
	var body struct {
		LocationID string   `json:"locationId"`
		Page       *int     `json:"page"`
		PageLimit  *int     `json:"pageLimit"`
		Query      string   `json:"query"`
		Filters    []filter `json:"filters"`
	}
	if len(strings.TrimSpace(string(rq.body))) > 0 {
		if err := json.Unmarshal(rq.body, &body); err != nil {
			return 0, nil, unprocessable("search body must be {locationId, page, pageLimit, query, filters}: " + err.Error())
		}
	}
	var msgs []string
	if body.LocationID == "" {
		msgs = append(msgs, "locationId should not be empty")
	}
	page, limit := 1, 20
	if body.Page != nil {
		if page = *body.Page; page < 1 {
			msgs = append(msgs, "page must not be less than 1")
		}
	}
	if body.PageLimit != nil {
		if limit = *body.PageLimit; limit < 1 || limit > searchPageLimitMax {
			msgs = append(msgs, fmt.Sprintf("pageLimit must be between 1 and %d", searchPageLimitMax))
		}
	}
	for i, fl := range body.Filters {
		fl.validate(fmt.Sprintf("filters.%d", i), &msgs)
	}
	if len(msgs) > 0 {
		return 0, nil, unprocessable(msgs...)
	}
	rq.location = body.LocationID
	all := filter{Group: "AND", Filters: body.Filters}
	var matching []*Contact
	for _, c := range st.contactsIn(body.LocationID) {
		if matchesQuery(c, body.Query) && all.match(c) {
			matching = append(matching, c)
		}
	}
	start := min((page-1)*limit, len(matching))
	end := min(start+limit, len(matching))
	out := append(make([]*Contact, 0, end-start), matching[start:end]...)
	return http.StatusOK, map[string]any{"contacts": out, "total": len(matching)}, nil
}
