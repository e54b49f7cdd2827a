package mocks

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// writeKind says which DTO a contact body is: the DTOs differ in which
// fields they carry [FACTS §2.2].
type writeKind int

const (
	writeCreate writeKind = iota // CreateContactDto
	writeUpdate                  // UpdateContactDto: no locationId, gender, companyName
	writeUpsert                  // UpsertContactDto: create plus createNewIfDuplicateAllowed
)

// applyContact copies the body's fields onto c. Absent fields leave c as it
// was; null clears a nullable field. Unknown fields are ignored. Problems
// are collected in f.
func applyContact(c *Contact, f *fields, kind writeKind) {
	strField := func(name string, nullable bool, dst *string) {
		if v, ok := f.str(name, nullable); ok {
			*dst = strings.TrimSpace(v)
		}
	}
	strField("firstName", true, &c.FirstName)
	strField("lastName", true, &c.LastName)
	if name, ok := f.str("name", true); ok && !f.has("firstName") && !f.has("lastName") {
		// A lone name is split like GHL does: first word, then the rest.
		first, last, _ := strings.Cut(strings.TrimSpace(name), " ")
		c.FirstName, c.LastName = first, strings.TrimSpace(last)
	}
	if v, ok := f.email("email"); ok {
		c.Email = strings.TrimSpace(v)
	}
	if v, ok := f.str("phone", true); ok {
		c.Phone = normalizePhone(v)
	}
	strField("address1", true, &c.Address1)
	strField("city", true, &c.City)
	strField("state", true, &c.State)
	strField("postalCode", false, &c.PostalCode)
	strField("website", true, &c.Website)
	strField("timezone", true, &c.Timezone)
	strField("country", false, &c.Country)
	strField("source", kind == writeUpdate, &c.Source)
	strField("assignedTo", kind == writeUpdate, &c.AssignedTo)
	strField("type", false, &c.Type)
	if kind != writeUpdate {
		strField("companyName", true, &c.CompanyName)
		strField("gender", false, &c.Gender)
	}
	if v, ok := f.boolean("dnd"); ok {
		c.Dnd = v
	}
	if v, ok := f.dnd("dndSettings", dndChannels, "active", "inactive", "permanent"); ok {
		c.DndSettings = v
	}
	if v, ok := f.dnd("inboundDndSettings", []string{"all"}, "active", "inactive"); ok {
		c.InboundDndSettings = v
	}
	if v, ok := f.strs("tags"); ok {
		c.Tags = normalizeTags(v) // tags given replace all tags [FACTS §2.2]
	}
	if v, ok := f.customFields(); ok {
		c.CustomFields = mergeCustomFields(c.CustomFields, v)
	}
	if v, ok := f.dateOfBirth(); ok {
		c.DateOfBirth = v
	}
	if v, ok := f.boolean("testFlag"); ok {
		c.TestFlag = v
	}
	strField("testContactId", false, &c.TestContactID)
	if c.Tags == nil {
		c.Tags = []string{}
	}
	if c.CustomFields == nil {
		c.CustomFields = []CustomField{}
	}
}

// mergeCustomFields sets the given custom fields and keeps the others, as
// GHL updates custom fields by id.
func mergeCustomFields(have, set []CustomField) []CustomField {
	out := append([]CustomField{}, have...)
	for _, s := range set {
		replaced := false
		for i := range out {
			if out[i].ID == s.ID {
				out[i], replaced = s, true
			}
		}
		if !replaced {
			out = append(out, s)
		}
	}
	return out
}

// normalizePhone stores an international number as GHL does, "+" and
// digits ("+1 (512) 555-0101" → "+15125550101"); other input is kept as
// given, trimmed, since GHL would need the location's country to complete it.
func normalizePhone(p string) string {
	p = strings.TrimSpace(p)
	if strings.HasPrefix(p, "+") && phoneDigits(p) != "" {
		return "+" + phoneDigits(p)
	}
	return p
}

func contactOf(st *state, id string) (*Contact, error) {
	c, ok := st.Contacts[id]
	if !ok {
		return nil, errContactNotFound
	}
	return c, nil
}

// POST /contacts/ → 201 {contact: CreateContactSchema}.
func createContact(st *state, rq *request) (int, any, error) {
	f, err := parseFields(rq.body)
	if err != nil {
		return 0, nil, err
	}
	loc := f.requiredStr("locationId")
	c := &Contact{}
	applyContact(c, f, writeCreate)
	if err := f.err(); err != nil {
		return 0, nil, err
	}
	rq.location = loc
	if !st.location(loc).AllowDuplicateContacts {
		if dup, field := st.findDuplicate(loc, c.Email, c.Phone, ""); dup != nil {
			return 0, nil, duplicateContact(dup, field)
		}
	}
	insertContact(st, rq, c, loc)
	return http.StatusCreated, map[string]any{"contact": createView(c)}, nil
}

func insertContact(st *state, rq *request, c *Contact, loc string) {
	c.ID = rq.mock.newID(st)
	c.LocationID = loc
	c.DateAdded, c.DateUpdated = rq.stamp(), rq.stamp()
	c.setNames()
	st.Contacts[c.ID] = c
	rq.mutate(st, KindContact, ActionCreate, loc, c.ID, c.ID, c)
}

// GET /contacts/{contactId} → 200 {contact}.
func getContact(st *state, rq *request) (int, any, error) {
	c, err := rq.contact(st)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"contact": c}, nil
}

// PUT /contacts/{contactId} → 200 {succeded: true, contact}.
func updateContact(st *state, rq *request) (int, any, error) {
	old, err := contactOf(st, rq.contactID)
	if err != nil {
		return 0, nil, err
	}
	rq.location = old.LocationID
	f, err := parseFields(rq.body)
	if err != nil {
		return 0, nil, err
	}
	c := old.clone()
	applyContact(c, f, writeUpdate)
	if err := f.err(); err != nil {
		return 0, nil, err
	}
	if !st.location(c.LocationID).AllowDuplicateContacts {
		email, phone := "", ""
		if !strings.EqualFold(c.Email, old.Email) {
			email = c.Email
		}
		if phoneDigits(c.Phone) != phoneDigits(old.Phone) {
			phone = c.Phone
		}
		if dup, field := st.findDuplicate(c.LocationID, email, phone, c.ID); dup != nil {
			return 0, nil, duplicateContact(dup, field)
		}
	}
	c.DateUpdated = rq.stamp()
	c.setNames()
	st.Contacts[c.ID] = c
	rq.mutate(st, KindContact, ActionUpdate, c.LocationID, c.ID, c.ID, c)
	return http.StatusOK, map[string]any{"succeded": true, "contact": c}, nil
}

// DELETE /contacts/{contactId} → 200 {succeded: true}.
func deleteContact(st *state, rq *request) (int, any, error) {
	c, err := rq.contact(st)
	if err != nil {
		return 0, nil, err
	}
	st.deleteContact(c.ID)
	rq.mutate(st, KindContact, ActionDelete, c.LocationID, c.ID, c.ID, c)
	return http.StatusOK, map[string]any{"succeded": true}, nil
}

// POST /contacts/upsert → 200 {new, contact, traceId}. It matches by email,
// then by phone [FACTS §2.4]. When email and phone match different
// contacts, the email's contact is updated and the phone is ignored (not
// copied onto it) where the location forbids duplicates.
func upsertContact(st *state, rq *request) (int, any, error) {
	f, err := parseFields(rq.body)
	if err != nil {
		return 0, nil, err
	}
	loc := f.requiredStr("locationId")
	createNew, _ := f.boolean("createNewIfDuplicateAllowed")
	probe := &Contact{}
	applyContact(probe, f, writeUpsert)
	if err := f.err(); err != nil {
		return 0, nil, err
	}
	rq.location = loc
	l := st.location(loc)
	trace := uuid.NewSHA1(uuid.NameSpaceURL, fmt.Appendf(nil, "ghlmock:%s:%d", rq.mock.opts.Dataset, st.Seq+1)).String()

	var target *Contact
	var field matchField
	if !(l.AllowDuplicateContacts && createNew) {
		target, field = st.findDuplicate(loc, probe.Email, probe.Phone, "")
	}
	if target == nil {
		insertContact(st, rq, probe, loc)
		return http.StatusOK, map[string]any{"new": true, "contact": probe, "traceId": trace}, nil
	}
	c := target.clone()
	applyContact(c, f, writeUpsert)
	if field == matchEmail && !l.AllowDuplicateContacts {
		if other := st.findByPhone(loc, c.Phone, c.ID); other != nil {
			c.Phone = target.Phone
		}
	}
	c.DateUpdated = rq.stamp()
	c.setNames()
	st.Contacts[c.ID] = c
	rq.mutate(st, KindContact, ActionUpdate, loc, c.ID, c.ID, c)
	return http.StatusOK, map[string]any{"new": false, "contact": c, "traceId": trace}, nil
}

// GET /contacts/search/duplicate?locationId=&email=&number= → {contact} or
// {contact: null}; email has priority over number.
func duplicateSearch(st *state, rq *request) (int, any, error) {
	q := rq.r.URL.Query()
	loc := q.Get("locationId")
	if loc == "" {
		return 0, nil, unprocessable("locationId should not be empty")
	}
	rq.location = loc
	if c := st.findByEmail(loc, q.Get("email"), ""); c != nil {
		return http.StatusOK, map[string]any{"contact": c}, nil
	}
	if c := st.findByPhone(loc, q.Get("number"), ""); c != nil {
		return http.StatusOK, map[string]any{"contact": c}, nil
	}
	return http.StatusOK, map[string]any{"contact": nil}, nil
}

// matchesQuery is the list's free-text search: a case-insensitive
// substring of the name, email, phone or company.
func matchesQuery(c *Contact, q string) bool {
	if q == "" {
		return true
	}
	q = strings.ToLower(q)
	for _, s := range []string{c.FullNameLowerCase, c.EmailLowerCase, strings.ToLower(c.CompanyName), c.Phone} {
		if strings.Contains(s, q) {
			return true
		}
	}
	if d := phoneDigits(q); d != "" && d == strings.TrimLeft(q, "+") && strings.Contains(phoneDigits(c.Phone), d) {
		return true
	}
	return false
}

// intParam reads an integer query parameter within [lo, hi].
func intParam(q url.Values, name string, def, lo, hi int, msgs *[]string) int {
	s := q.Get(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	switch {
	case err != nil:
		*msgs = append(*msgs, name+" must be a number conforming to the specified constraints")
	case n < lo:
		*msgs = append(*msgs, fmt.Sprintf("%s must not be less than %d", name, lo))
	case n > hi:
		*msgs = append(*msgs, fmt.Sprintf("%s must not be greater than %d", name, hi))
	default:
		return n
	}
	return def
}

// GET /contacts/?locationId=&limit=&startAfterId=&startAfter=&query= →
// {contacts, count, meta}. The order is dateAdded then id; the cursor is
// the last item's (dateAdded in epoch ms, id), so paging by nextPageUrl, or
// by meta.startAfter and meta.startAfterId, visits every contact once even
// when several share a dateAdded.
func listContacts(st *state, rq *request) (int, any, error) {
	q := rq.r.URL.Query()
	var msgs []string
	loc := q.Get("locationId")
	if loc == "" {
		msgs = append(msgs, "locationId should not be empty")
	}
	limit := intParam(q, "limit", 20, 1, 100, &msgs)
	var after string
	if s := q.Get("startAfter"); s != "" {
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			msgs = append(msgs, "startAfter must be a number conforming to the specified constraints")
		}
		after = formatTime(time.UnixMilli(ms))
	}
	if len(msgs) > 0 {
		return 0, nil, unprocessable(msgs...)
	}
	rq.location = loc
	afterID := q.Get("startAfterId")
	if afterID != "" && after == "" {
		c, ok := st.Contacts[afterID]
		if !ok || c.LocationID != loc {
			return 0, nil, badRequest("startAfterId is not a contact of this location")
		}
		after = c.DateAdded
	}

	var matching []*Contact
	for _, c := range st.contactsIn(loc) {
		if matchesQuery(c, q.Get("query")) {
			matching = append(matching, c)
		}
	}
	start := 0
	if after != "" {
		for start < len(matching) {
			c := matching[start]
			if c.DateAdded > after || (c.DateAdded == after && afterID != "" && c.ID > afterID) {
				break
			}
			start++
		}
	}
	end := min(start+limit, len(matching))
	page := make([]listedContact, 0, end-start)
	for _, c := range matching[start:end] {
		page = append(page, listView(c))
	}

	currentPage := start/limit + 1
	meta := map[string]any{
		"total": len(matching), "currentPage": currentPage,
		"nextPage": nil, "prevPage": nil,
		"startAfterId": nil, "startAfter": nil, "nextPageUrl": nil,
	}
	if currentPage > 1 {
		meta["prevPage"] = currentPage - 1
	}
	if end > start {
		last := matching[end-1]
		t, _ := time.Parse(timeLayout, last.DateAdded)
		meta["startAfterId"], meta["startAfter"] = last.ID, t.UnixMilli()
		if end < len(matching) {
			meta["nextPage"] = currentPage + 1
			next := url.Values{}
			next.Set("locationId", loc)
			next.Set("startAfter", strconv.FormatInt(t.UnixMilli(), 10))
			next.Set("startAfterId", last.ID)
			if lim := q.Get("limit"); lim != "" {
				next.Set("limit", lim)
			}
			if qs := q.Get("query"); qs != "" {
				next.Set("query", qs)
			}
			meta["nextPageUrl"] = baseURL(rq.r) + "/contacts/?" + next.Encode()
		}
	}
	return http.StatusOK, map[string]any{"contacts": page, "count": len(matching), "meta": meta}, nil
}

// baseURL is where the client reached the API root: scheme and host of the
// request (or X-Forwarded-Proto/-Host), plus X-Forwarded-Prefix, which the
// gateway sets to /staging or /sandbox when it strips that prefix.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
		scheme = p
	}
	host := r.Host
	if h := r.Header.Get("X-Forwarded-Host"); h != "" {
		host = h
	}
	return scheme + "://" + host + strings.TrimRight(r.Header.Get("X-Forwarded-Prefix"), "/")
}

// GET /contacts/business/{businessId}?locationId=&skip=&limit=&query= →
// {contacts, count}; limit defaults to 25 and skip to 0 [FACTS §2.5].
func contactsByBusiness(st *state, rq *request) (int, any, error) {
	q := rq.r.URL.Query()
	var msgs []string
	loc := q.Get("locationId")
	if loc == "" {
		msgs = append(msgs, "locationId should not be empty")
	}
	limit := intParam(q, "limit", 25, 1, 100, &msgs)
	skip := intParam(q, "skip", 0, 0, 1<<30, &msgs)
	if len(msgs) > 0 {
		return 0, nil, unprocessable(msgs...)
	}
	rq.location = loc
	var matching []*Contact
	for _, c := range st.contactsIn(loc) {
		if c.BusinessID == rq.id && matchesQuery(c, q.Get("query")) {
			matching = append(matching, c)
		}
	}
	start := min(skip, len(matching))
	end := min(start+limit, len(matching))
	page := make([]listedContact, 0, end-start)
	for _, c := range matching[start:end] {
		page = append(page, listView(c))
	}
	return http.StatusOK, map[string]any{"contacts": page, "count": len(matching)}, nil
}

// POST /contacts/bulk/business {locationId, ids, businessId|null} → 200
// {success, ids}: the ids of the location's contacts that were updated.
func bulkBusiness(st *state, rq *request) (int, any, error) {
	f, err := parseFields(rq.body)
	if err != nil {
		return 0, nil, err
	}
	loc := f.requiredStr("locationId")
	ids := f.requiredStrs("ids")
	if !f.has("businessId") {
		f.fail("businessId must be a string")
	}
	business, _ := f.str("businessId", true)
	if err := f.err(); err != nil {
		return 0, nil, err
	}
	rq.location = loc
	done := []string{}
	for _, id := range ids {
		old, ok := st.Contacts[id]
		if !ok || old.LocationID != loc {
			continue
		}
		c := old.clone()
		c.BusinessID, c.DateUpdated = business, rq.stamp()
		st.Contacts[id] = c
		done = append(done, id)
		rq.mutate(st, KindContact, ActionUpdate, loc, id, id, c)
	}
	return http.StatusOK, map[string]any{"success": true, "ids": done}, nil
}

// POST /contacts/bulk/tags/update/{type} {contacts, tags, locationId,
// removeAllTags?} with type add or remove → 201 {succeded, errorCount,
// responses}. responses lists one message per contact that failed (the
// spec types the items as strings).
func bulkTags(st *state, rq *request) (int, any, error) {
	f, err := parseFields(rq.body)
	if err != nil {
		return 0, nil, err
	}
	if rq.id != "add" && rq.id != "remove" {
		f.fail("type must be one of the following values: add, remove")
	}
	loc := f.requiredStr("locationId")
	ids := f.requiredStrs("contacts")
	tags := normalizeTags(f.requiredStrs("tags"))
	removeAll, _ := f.boolean("removeAllTags")
	if removeAll && rq.id != "remove" {
		f.fail("removeAllTags can only be used with remove type")
	}
	if err := f.err(); err != nil {
		return 0, nil, err
	}
	rq.location = loc
	responses := []string{}
	for _, id := range ids {
		old, ok := st.Contacts[id]
		if !ok || old.LocationID != loc {
			responses = append(responses, "Contact not found: "+id)
			continue
		}
		var next []string
		action := ActionTagsAdded
		switch {
		case rq.id == "add":
			next = normalizeTags(append(append([]string{}, old.Tags...), tags...))
		case removeAll:
			next, action = []string{}, ActionTagsRemoved
		default:
			next, action = withoutTags(old.Tags, tags), ActionTagsRemoved
		}
		if !sameTags(old.Tags, next) {
			c := old.clone()
			c.Tags, c.DateUpdated = next, rq.stamp()
			st.Contacts[id] = c
			rq.mutate(st, KindTags, action, loc, id, id, c)
		}
	}
	return http.StatusCreated, map[string]any{
		"succeded": len(responses) == 0, "errorCount": len(responses), "responses": responses,
	}, nil
}

func withoutTags(have, drop []string) []string {
	drop = normalizeTags(drop)
	out := []string{}
	for _, t := range have {
		if !contains(drop, t) {
			out = append(out, t)
		}
	}
	return out
}

func sameTags(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
