package clone

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/rankr/ghlgate/mocks"
)

const (
	prodBase  = "https://ghl.test"
	prodLoc   = "ProdLocation00000001"
	prodToken = "pit-test-token"
)

var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589_000_000, time.UTC)

// fakeGHL is production as scripted exchanges on an httpmock transport: it
// serves GET /contacts/ with GHL's cursor, GET /contacts/{id}, /tasks and
// /notes, and answers 401 without the bearer token.
type fakeGHL struct {
	t        testing.TB
	mt       *httpmock.MockTransport
	contacts []mocks.Contact // list order: dateAdded, then id
	tasks    map[string][]mocks.Task
	notes    map[string][]mocks.Note
	// noMeta answers lists in the spec's own shape, {contacts, count}.
	noMeta bool

	mu sync.Mutex
	// lists records the query of every list request.
	lists []map[string]string
}

var mustRe = regexp.MustCompile

func prodID(kind string, i int) string { return fmt.Sprintf("%s%0*d", kind, 20-len(kind), i) }

// newFakeGHL builds n contacts. Every tenth contact shares one email
// (spelled with varying case); contact i has i%3 tasks and i%2 notes.
func newFakeGHL(t testing.TB, n int) *fakeGHL {
	f := &fakeGHL{t: t, mt: httpmock.NewMockTransport(), tasks: map[string][]mocks.Task{}, notes: map[string][]mocks.Note{}}
	for i := range n {
		id := prodID("Prod", i)
		c := mocks.Contact{
			ID: id, LocationID: prodLoc, FirstName: fmt.Sprintf("First%d", i), LastName: "Family",
			Email: fmt.Sprintf("person%d@real.example.com", i), Phone: fmt.Sprintf("+1512555%04d", i),
			Address1: fmt.Sprintf("%d Real Street", i), CompanyName: "Acme", Tags: []string{"customer"},
			DateAdded: t0.Add(time.Duration(i/2) * time.Minute).Format("2006-01-02T15:04:05.000Z"), // pairs share a dateAdded
		}
		c.Name = c.FirstName + " " + c.LastName
		if i%10 == 0 {
			c.Email = "Shared@Real.Example.com"
			if i%20 == 0 {
				c.Email = "shared@real.example.com"
			}
		}
		f.contacts = append(f.contacts, c)
		for j := range i % 3 {
			f.tasks[id] = append(f.tasks[id], mocks.Task{
				ID: prodID(fmt.Sprintf("T%d", j), i), ContactID: id, Title: "Call " + c.FirstName + " back",
				Body: "phone " + c.Phone, DueDate: "2025-04-01T10:00:00.000Z",
			})
		}
		if i%2 == 1 {
			f.notes[id] = []mocks.Note{{ID: prodID("N", i), ContactID: id, Body: "Met " + c.Name, DateAdded: c.DateAdded}}
		}
	}
	f.mt.RegisterResponder("GET", prodBase+"/contacts/", f.guard(f.list))
	f.mt.RegisterRegexpResponder("GET", mustRe(`^https://ghl\.test/contacts/(\w+)\z`), f.guard(f.get))
	f.mt.RegisterRegexpResponder("GET", mustRe(`^https://ghl\.test/contacts/(\w+)/tasks\z`), f.guard(f.related("tasks")))
	f.mt.RegisterRegexpResponder("GET", mustRe(`^https://ghl\.test/contacts/(\w+)/notes\z`), f.guard(f.related("notes")))
	return f
}

// client is ghlgate's upstream client for the fake: the token added by the
// transport, as credential.NewTransport does.
func (f *fakeGHL) client(token string) *http.Client {
	return &http.Client{Transport: bearer{token: token, base: f.mt}}
}

type bearer struct {
	token string
	base  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if b.token != "" {
		r.Header.Set("Authorization", "Bearer "+b.token)
	}
	return b.base.RoundTrip(r)
}

func (f *fakeGHL) guard(next httpmock.Responder) httpmock.Responder {
	return func(r *http.Request) (*http.Response, error) {
		if r.Header.Get("Authorization") != "Bearer "+prodToken {
			return httpmock.NewJsonResponse(401, map[string]any{"statusCode": 401, "message": "Invalid JWT"})
		}
		if v := r.Header.Get("Version"); v != DefaultVersion {
			return httpmock.NewJsonResponse(400, map[string]any{"statusCode": 400, "message": "version header " + v})
		}
		return next(r)
	}
}

func (f *fakeGHL) list(r *http.Request) (*http.Response, error) {
	q := r.URL.Query()
	f.mu.Lock()
	f.lists = append(f.lists, map[string]string{
		"locationId": q.Get("locationId"), "limit": q.Get("limit"),
		"startAfterId": q.Get("startAfterId"), "startAfter": q.Get("startAfter"),
	})
	f.mu.Unlock()
	if q.Get("locationId") != prodLoc {
		return httpmock.NewJsonResponse(403, map[string]any{"statusCode": 403, "message": "The token does not have access to this location."})
	}
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit < 1 || limit > 100 {
		return httpmock.NewJsonResponse(422, map[string]any{"statusCode": 422, "message": []string{"limit must not be greater than 100"}})
	}
	start := 0
	if id := q.Get("startAfterId"); id != "" {
		start = slices.IndexFunc(f.contacts, func(c mocks.Contact) bool { return c.ID == id }) + 1
		if start == 0 {
			return httpmock.NewJsonResponse(400, map[string]any{"statusCode": 400, "message": "bad cursor"})
		}
		if ms := q.Get("startAfter"); ms != "" && ms != strconv.FormatInt(millis(f.contacts[start-1].DateAdded), 10) {
			f.t.Errorf("startAfter = %s; want the dateAdded of %s in ms", ms, id)
		}
	}
	end := min(start+limit, len(f.contacts))
	page := make([]map[string]any, 0, end-start)
	for _, c := range f.contacts[start:end] {
		page = append(page, map[string]any{"id": c.ID, "locationId": c.LocationID, "email": c.Email, "dateAdded": c.DateAdded})
	}
	body := map[string]any{"contacts": page, "count": len(f.contacts)}
	if !f.noMeta {
		meta := map[string]any{"total": len(f.contacts), "nextPage": nil, "nextPageUrl": nil, "startAfterId": nil, "startAfter": nil}
		if end > start {
			last := f.contacts[end-1]
			meta["startAfterId"], meta["startAfter"] = last.ID, millis(last.DateAdded)
			if end < len(f.contacts) {
				meta["nextPage"] = 2
				meta["nextPageUrl"] = prodBase + "/contacts/?startAfterId=" + last.ID
			}
		}
		body["meta"] = meta
	}
	return httpmock.NewJsonResponse(200, body)
}

func (f *fakeGHL) find(r *http.Request) (mocks.Contact, bool) {
	// The path, not the regexp's submatch: tests override single paths.
	id := strings.Split(strings.TrimPrefix(r.URL.Path, "/contacts/"), "/")[0]
	i := slices.IndexFunc(f.contacts, func(c mocks.Contact) bool { return c.ID == id })
	if i < 0 {
		return mocks.Contact{}, false
	}
	return f.contacts[i], true
}

var contactNotFound = map[string]any{"statusCode": 400, "message": "Contact not found"}

func (f *fakeGHL) get(r *http.Request) (*http.Response, error) {
	c, ok := f.find(r)
	if !ok {
		return httpmock.NewJsonResponse(400, contactNotFound)
	}
	return httpmock.NewJsonResponse(200, map[string]any{"contact": c})
}

func (f *fakeGHL) related(kind string) httpmock.Responder {
	return func(r *http.Request) (*http.Response, error) {
		c, ok := f.find(r)
		if !ok {
			return httpmock.NewJsonResponse(400, contactNotFound)
		}
		if kind == "tasks" {
			return httpmock.NewJsonResponse(200, map[string]any{"tasks": nonNil(f.tasks[c.ID])})
		}
		return httpmock.NewJsonResponse(200, map[string]any{"notes": nonNil(f.notes[c.ID])})
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func millis(stamp string) int64 {
	t, err := time.Parse(time.RFC3339Nano, stamp)
	if err != nil {
		panic(err)
	}
	return t.UnixMilli()
}
