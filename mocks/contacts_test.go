package mocks

import (
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCreateGetUpdateDeleteContact(t *testing.T) {
	h := newHarness(t)
	a := h.call("create-contact", "POST", "/contacts/", map[string]any{
		"locationId": locA, "firstName": " Ada ", "lastName": "Lovelace", "email": "Ada@Example.COM",
		"phone": "+44 (20) 7946-0000", "tags": []string{"VIP", "vip", "Lead"}, "testFlag": true, "testContactId": "ada",
	}).want(t, 201)
	if _, has := a.body["succeded"]; has {
		t.Errorf("create answer has succeded: %s; want only {contact}", a.raw)
	}
	c := a.obj(t, "contact")
	want := map[string]any{
		"id": "mock0000000000000001", "locationId": locA, "firstName": "Ada", "lastName": "Lovelace",
		"firstNameLowerCase": "ada", "lastNameLowerCase": "lovelace", "fullNameLowerCase": "ada lovelace",
		"email": "Ada@Example.COM", "emailLowerCase": "ada@example.com", "phone": "+442079460000",
		"dateAdded": "2025-03-14T09:26:53.589Z", "dateUpdated": "2025-03-14T09:26:53.589Z",
		"testFlag": true, "testContactId": "ada", "deleted": false,
	}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("create contact[%s] = %v; want %v", k, c[k], v)
		}
	}
	if got := strs(c["tags"]); !reflect.DeepEqual(got, []string{"vip", "lead"}) {
		t.Errorf("create tags = %v; want [vip lead]", got)
	}
	if _, has := c["name"]; has {
		t.Errorf("create contact has name; CreateContactSchema lacks it")
	}
	id := c["id"].(string)

	got := h.call("get-contact", "GET", "/contacts/"+id, nil).want(t, 200).obj(t, "contact")
	if got["name"] != "Ada Lovelace" {
		t.Errorf("get name = %v; want Ada Lovelace", got["name"])
	}

	h.clock.Advance(90 * time.Second)
	u := h.call("update-contact", "PUT", "/contacts/"+id, map[string]any{"lastName": "King", "tags": []string{"customer"}}).want(t, 200)
	if u.body["succeded"] != true {
		t.Errorf("update succeded = %v; want true", u.body["succeded"])
	}
	uc := u.obj(t, "contact")
	if uc["name"] != "Ada King" || uc["fullNameLowerCase"] != "ada king" || uc["dateUpdated"] != "2025-03-14T09:28:23.589Z" || uc["dateAdded"] != "2025-03-14T09:26:53.589Z" {
		t.Errorf("update contact = %v; want name Ada King, dateUpdated +90s, dateAdded unchanged", uc)
	}
	if got := strs(uc["tags"]); !reflect.DeepEqual(got, []string{"customer"}) {
		t.Errorf("update tags = %v; want [customer] (tags replace)", got)
	}
	// Null clears a nullable field.
	uc = h.call("update-contact", "PUT", "/contacts/"+id, map[string]any{"phone": nil}).want(t, 200).obj(t, "contact")
	if _, has := uc["phone"]; has {
		t.Errorf("phone after null = %v; want absent", uc["phone"])
	}

	h.call("delete-contact", "DELETE", "/contacts/"+id, nil).want(t, 200)
	nf := h.call("get-contact", "GET", "/contacts/"+id, nil).want(t, 400)
	if nf.body["message"] != "Contact not found" || nf.body["statusCode"] != float64(400) {
		t.Errorf("get deleted = %s; want 400 Contact not found", nf.raw)
	}

	var kinds []string
	for _, m := range h.drain() {
		kinds = append(kinds, fmt.Sprintf("%d:%s/%s", m.Seq, m.Kind, m.Action))
	}
	wantKinds := []string{"1:contact/create", "2:contact/update", "3:contact/update", "4:contact/delete"}
	if !reflect.DeepEqual(kinds, wantKinds) {
		t.Errorf("mutations = %v; want %v", kinds, wantKinds)
	}
}

func TestValidationMessages(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		name, op, method, path string
		body                   any
		status                 int
		want                   string // substring of the message
	}{
		{"no location", "create-contact", "POST", "/contacts/", map[string]any{}, 422, "locationId should not be empty"},
		{"bad email", "create-contact", "POST", "/contacts/", map[string]any{"locationId": locA, "email": "x@"}, 422, "email must be an email"},
		{"tags not array", "create-contact", "POST", "/contacts/", map[string]any{"locationId": locA, "tags": "vip"}, 422, "tags must be an array"},
		{"bad dnd status", "create-contact", "POST", "/contacts/", map[string]any{"locationId": locA, "dndSettings": map[string]any{"SMS": map[string]any{"status": "on"}}}, 422, "dndSettings.SMS.status"},
		{"bad birth date", "create-contact", "POST", "/contacts/", map[string]any{"locationId": locA, "dateOfBirth": "last tuesday"}, 422, "dateOfBirth"},
		{"limit not number", "get-contacts", "GET", "/contacts/?locationId=" + locA + "&limit=ten", nil, 422, "limit must be a number"},
		{"limit zero", "get-contacts", "GET", "/contacts/?locationId=" + locA + "&limit=0", nil, 422, "limit must not be less than 1"},
		{"limit 101", "get-contacts", "GET", "/contacts/?locationId=" + locA + "&limit=101", nil, 422, "limit must not be greater than 100"},
		{"duplicate search no location", "get-duplicate-contact", "GET", "/contacts/search/duplicate?email=a%40b.co", nil, 400, "locationId should not be empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := h.call(tc.op, tc.method, tc.path, tc.body).want(t, tc.status)
			if !strings.Contains(string(a.raw), tc.want) {
				t.Errorf("%s %s = %s; want a message containing %q", tc.method, tc.path, a.raw, tc.want)
			}
		})
	}
}

// TestPagination pages through 53 contacts, many sharing a dateAdded, by
// nextPageUrl and by the meta cursor, and checks no contact is lost or seen
// twice.
func TestPagination(t *testing.T) {
	h := newHarness(t)
	var created []string
	for i := range 53 {
		if i%4 == 0 {
			h.clock.Advance(time.Millisecond) // groups of four share a dateAdded
		}
		created = append(created, h.createContact(locA, map[string]any{"firstName": fmt.Sprintf("P%02d", i)}))
	}
	h.createContact(locB, map[string]any{"firstName": "Other"})

	t.Run("nextPageUrl", func(t *testing.T) {
		var seen []string
		next := "/contacts/?locationId=" + locA + "&limit=10"
		pages := 0
		for next != "" {
			pages++
			a := h.call("get-contacts", "GET", next, nil).want(t, 200)
			if a.body["count"] != float64(53) {
				t.Fatalf("page %d count = %v; want 53", pages, a.body["count"])
			}
			meta := a.obj(t, "meta")
			if meta["currentPage"] != float64(pages) || meta["total"] != float64(53) {
				t.Errorf("page %d meta = %v; want currentPage %d total 53", pages, meta, pages)
			}
			for _, c := range a.list(t, "contacts") {
				seen = append(seen, c.(map[string]any)["id"].(string))
			}
			next = ""
			if u, ok := meta["nextPageUrl"].(string); ok {
				pu, err := url.Parse(u)
				if err != nil || pu.Host != strings.TrimPrefix(h.srv.URL, "http://") {
					t.Fatalf("nextPageUrl = %q; want an absolute URL on the mock", u)
				}
				next = pu.RequestURI()
			}
			if pages > 10 {
				t.Fatal("more than 10 pages for 53 contacts at limit 10")
			}
		}
		if pages != 6 || !reflect.DeepEqual(seen, created) {
			t.Errorf("paged %d pages, %d ids; want 6 pages with the 53 ids in creation order\n got %v\nwant %v", pages, len(seen), seen, created)
		}
	})
	t.Run("meta cursor", func(t *testing.T) {
		var seen []string
		q := url.Values{"locationId": {locA}, "limit": {"7"}}
		for range 20 {
			a := h.call("get-contacts", "GET", "/contacts/?"+q.Encode(), nil).want(t, 200)
			for _, c := range a.list(t, "contacts") {
				seen = append(seen, c.(map[string]any)["id"].(string))
			}
			meta := a.obj(t, "meta")
			if meta["nextPage"] == nil {
				break
			}
			q.Set("startAfter", fmt.Sprintf("%.0f", meta["startAfter"].(float64)))
			q.Set("startAfterId", meta["startAfterId"].(string))
		}
		if !reflect.DeepEqual(seen, created) {
			t.Errorf("cursor paging saw %d ids; want the 53 in order", len(seen))
		}
	})
	t.Run("startAfter alone skips the whole millisecond", func(t *testing.T) {
		ms := t0.Add(time.Millisecond).UnixMilli() // the first group of four
		a := h.call("get-contacts", "GET", fmt.Sprintf("/contacts/?locationId=%s&limit=100&startAfter=%d", locA, ms), nil).want(t, 200)
		if n := len(a.list(t, "contacts")); n != 49 {
			t.Errorf("after the first millisecond got %d contacts; want 49", n)
		}
	})
	t.Run("query", func(t *testing.T) {
		a := h.call("get-contacts", "GET", "/contacts/?locationId="+locA+"&query=p1", nil).want(t, 200)
		if a.body["count"] != float64(10) {
			t.Errorf("query p1 count = %v; want 10 (P10..P19)", a.body["count"])
		}
	})
	t.Run("default limit 20", func(t *testing.T) {
		a := h.call("get-contacts", "GET", "/contacts/?locationId="+locA, nil).want(t, 200)
		if n := len(a.list(t, "contacts")); n != 20 {
			t.Errorf("default page = %d contacts; want 20", n)
		}
	})
}

func TestDuplicates(t *testing.T) {
	h := newHarness(t)
	ann := h.createContact(locA, map[string]any{"firstName": "Ann", "lastName": "Lee", "email": "ann@example.com", "phone": "+15125550100"})
	bob := h.createContact(locA, map[string]any{"firstName": "Bob", "email": "bob@example.com", "phone": "+15125550200"})
	if err := h.mock.SetAllowDuplicates(t.Context(), locB, true); err != nil {
		t.Fatalf("SetAllowDuplicates: %v", err)
	}
	h.createContact(locB, map[string]any{"email": "ann@example.com"})

	cases := []struct {
		name       string
		loc        string
		body       map[string]any
		wantStatus int
		wantField  string
	}{
		{"same email, other case", locA, map[string]any{"email": "ANN@example.com"}, 400, "email"},
		{"same phone, other format", locA, map[string]any{"phone": "+1 (512) 555-0100"}, 400, "phone"},
		{"email wins over phone", locA, map[string]any{"email": "ann@example.com", "phone": "+15125550200"}, 400, "email"},
		{"new email and phone", locA, map[string]any{"email": "cy@example.com", "phone": "+15125550300"}, 201, ""},
		{"other location is separate", "LocCCCCCCCCCCCCCCCC3", map[string]any{"email": "ann@example.com"}, 201, ""},
		{"duplicates allowed", locB, map[string]any{"email": "ann@example.com"}, 201, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := map[string]any{"locationId": tc.loc}
			for k, v := range tc.body {
				body[k] = v
			}
			a := h.call("create-contact", "POST", "/contacts/", body).want(t, tc.wantStatus)
			if tc.wantField == "" {
				return
			}
			if a.body["message"] != "This location does not allow duplicated contacts." {
				t.Errorf("message = %v; want GHL's duplicate message", a.body["message"])
			}
			meta := a.obj(t, "meta")
			if meta["contactId"] != ann || meta["contactName"] != "Ann Lee" || meta["matchingField"] != tc.wantField {
				t.Errorf("meta = %v; want contactId %s, contactName Ann Lee, matchingField %s", meta, ann, tc.wantField)
			}
		})
	}

	t.Run("update onto a taken email", func(t *testing.T) {
		a := h.call("update-contact", "PUT", "/contacts/"+bob, map[string]any{"email": "ann@example.com"}).want(t, 400)
		if a.obj(t, "meta")["matchingField"] != "email" {
			t.Errorf("update duplicate = %s; want matchingField email", a.raw)
		}
	})
	t.Run("duplicate search", func(t *testing.T) {
		for _, tc := range []struct{ query, want string }{
			{"email=ANN%40example.com", ann},
			{"number=%2B15125550200", bob},
			{"email=bob%40example.com&number=%2B15125550100", bob},
			{"email=none%40example.com", ""},
		} {
			a := h.call("get-duplicate-contact", "GET", "/contacts/search/duplicate?locationId="+locA+"&"+tc.query, nil).want(t, 200)
			got := ""
			if c, ok := a.body["contact"].(map[string]any); ok {
				got = c["id"].(string)
			} else if _, has := a.body["contact"]; !has {
				t.Errorf("%s: answer %s lacks contact (want null)", tc.query, a.raw)
			}
			if got != tc.want {
				t.Errorf("duplicate search %s = %q; want %q", tc.query, got, tc.want)
			}
		}
	})
	t.Run("upsert", func(t *testing.T) {
		cases := []struct {
			name    string
			body    map[string]any
			wantNew bool
			wantID  string
			check   func(c map[string]any) string
		}{
			{"by email", map[string]any{"email": "ann@example.com", "city": "Austin"}, false, ann,
				func(c map[string]any) string { return check(c["city"] == "Austin", "city not updated") }},
			{"by phone", map[string]any{"phone": "+15125550200", "city": "Dallas"}, false, bob,
				func(c map[string]any) string { return check(c["city"] == "Dallas", "city not updated") }},
			{"email and phone of two contacts: email wins, phone ignored", map[string]any{"email": "ann@example.com", "phone": "+15125550200"}, false, ann,
				func(c map[string]any) string { return check(c["phone"] == "+15125550100", "phone overwritten") }},
			{"no match creates", map[string]any{"email": "dee@example.com"}, true, "",
				func(c map[string]any) string { return "" }},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				body := map[string]any{"locationId": locA}
				for k, v := range tc.body {
					body[k] = v
				}
				a := h.call("upsert-contact", "POST", "/contacts/upsert", body).want(t, 200)
				c := a.obj(t, "contact")
				if a.body["new"] != tc.wantNew || (tc.wantID != "" && c["id"] != tc.wantID) || a.body["traceId"] == "" {
					t.Errorf("upsert = new %v id %v trace %v; want new %v id %q", a.body["new"], c["id"], a.body["traceId"], tc.wantNew, tc.wantID)
				}
				if msg := tc.check(c); msg != "" {
					t.Errorf("upsert %s: %s: %s", tc.name, msg, a.raw)
				}
			})
		}
	})
	t.Run("upsert createNewIfDuplicateAllowed", func(t *testing.T) {
		a := h.call("upsert-contact", "POST", "/contacts/upsert", map[string]any{"locationId": locB, "email": "ann@example.com", "createNewIfDuplicateAllowed": true}).want(t, 200)
		if a.body["new"] != true {
			t.Errorf("upsert with duplicates allowed = %s; want new contact", a.raw)
		}
		a = h.call("upsert-contact", "POST", "/contacts/upsert", map[string]any{"locationId": locA, "email": "ann@example.com", "createNewIfDuplicateAllowed": true}).want(t, 200)
		if a.body["new"] != false {
			t.Errorf("createNewIfDuplicateAllowed where duplicates are not allowed = %s; want the existing contact", a.raw)
		}
	})
}

func check(ok bool, msg string) string {
	if ok {
		return ""
	}
	return msg
}

func TestBusinessSearchAndBulk(t *testing.T) {
	h := newHarness(t)
	var ids []string
	for i := range 5 {
		h.clock.Advance(time.Second)
		ids = append(ids, h.createContact(locA, map[string]any{"firstName": fmt.Sprintf("B%d", i), "email": fmt.Sprintf("b%d@example.com", i), "tags": []string{"t"}}))
	}
	h.call("add-remove-contact-from-business", "POST", "/contacts/bulk/business", map[string]any{
		"locationId": locA, "ids": append(ids[:3:3], "nope0000000000000000"), "businessId": "biz00000000000000001",
	}).want(t, 200)

	a := h.call("get-contacts-by-businessId", "GET", "/contacts/business/biz00000000000000001?locationId="+locA+"&limit=2&skip=1", nil).want(t, 200)
	var got []string
	for _, c := range a.list(t, "contacts") {
		got = append(got, c.(map[string]any)["id"].(string))
	}
	if a.body["count"] != float64(3) || !reflect.DeepEqual(got, ids[1:3]) {
		t.Errorf("business page = count %v %v; want count 3 %v", a.body["count"], got, ids[1:3])
	}

	s := h.call("search-contacts-advanced", "POST", "/contacts/search", map[string]any{
		"locationId": locA, "pageLimit": 2, "page": 2,
		"filters": []any{map[string]any{"field": "businessId", "operator": "eq", "value": "biz00000000000000001"}},
	}).want(t, 200)
	if s.body["total"] != float64(3) || len(s.list(t, "contacts")) != 1 {
		t.Errorf("search page 2 = %s; want total 3 and 1 contact", s.raw)
	}
	s = h.call("search-contacts-advanced", "POST", "/contacts/search", map[string]any{
		"locationId": locA, "filters": []any{map[string]any{"group": "OR", "filters": []any{
			map[string]any{"field": "email", "operator": "eq", "value": "b0@example.com"},
			map[string]any{"field": "firstName", "operator": "contains", "value": "b4"},
		}}},
	}).want(t, 200)
	if s.body["total"] != float64(2) {
		t.Errorf("OR search total = %v; want 2", s.body["total"])
	}
	h.call("search-contacts-advanced", "POST", "/contacts/search", map[string]any{
		"locationId": locA, "filters": []any{map[string]any{"field": "shoeSize", "operator": "eq", "value": "9"}},
	}).want(t, 400)

	bt := h.call("create-association", "POST", "/contacts/bulk/tags/update/remove", map[string]any{
		"locationId": locA, "contacts": ids[:2], "tags": []string{}, "removeAllTags": true,
	}).want(t, 201)
	if bt.body["succeded"] != true || bt.body["errorCount"] != float64(0) {
		t.Errorf("bulk remove all = %s; want succeded, no errors", bt.raw)
	}
	c := h.call("get-contact", "GET", "/contacts/"+ids[0], nil).want(t, 200).obj(t, "contact")
	if len(strs(c["tags"])) != 0 {
		t.Errorf("tags after removeAllTags = %v; want none", c["tags"])
	}
}

func TestLocationOnFirstUseAndCrossLocationLookup(t *testing.T) {
	h := newHarness(t)
	id := h.createContact("BrandNewLocation0001", map[string]any{"firstName": "New"})
	// By-id operations take no locationId: the contact is found in any
	// location of the dataset.
	c := h.call("get-contact", "GET", "/contacts/"+id, nil).want(t, 200).obj(t, "contact")
	if c["locationId"] != "BrandNewLocation0001" {
		t.Errorf("locationId = %v; want BrandNewLocation0001", c["locationId"])
	}
	a := h.call("get-contacts", "GET", "/contacts/?locationId=NeverUsedLocation001", nil).want(t, 200)
	if a.body["count"] != float64(0) || len(a.list(t, "contacts")) != 0 {
		t.Errorf("unused location = %s; want an empty page", a.raw)
	}
}

func TestUnknownRoute(t *testing.T) {
	h := newHarness(t)
	a, _ := h.send("GET", "/contacts/x/y/z/w/v", nil)
	if a.status != 404 || a.body["message"] != "Cannot GET /contacts/x/y/z/w/v" {
		t.Errorf("unknown route = %d %s; want 404 Cannot GET", a.status, a.raw)
	}
	a, _ = h.send("PATCH", "/contacts/abc", nil)
	if a.status != 404 {
		t.Errorf("PATCH contact = %d; want 404", a.status)
	}
}
