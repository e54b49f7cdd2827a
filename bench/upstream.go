package bench

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Fixed identities of the benchmark's data.
const (
	benchLocation = "ve9EPM428h8vShlRW1KT"
	benchContact  = "ocQHyuzHvysMo5N5VsXc"
)

// contact returns a contact as GHL's GET /contacts/{id} gives it: every field
// the embedded spec names, custom fields and attribution, about 2 KB.
func contact(id string) map[string]any {
	custom := make([]map[string]any, 0, 12)
	for i := range 12 {
		custom = append(custom, map[string]any{"id": fmt.Sprintf("MgobCB14YMVKuE4Ka8p%d", i), "value": fmt.Sprintf("value of custom field %d", i)})
	}
	attribution := map[string]any{
		"url": "https://www.example.com/landing?utm_source=google", "campaign": "spring-sale", "utmSource": "google",
		"utmMedium": "cpc", "utmContent": "banner-a", "referrer": "https://www.google.com", "medium": "organic",
	}
	return map[string]any{
		"id": id, "name": "Rosan Deo", "locationId": benchLocation,
		"firstName": "Rosan", "lastName": "Deo", "email": "rosan@deos.com", "emailLowerCase": "rosan@deos.com",
		"timezone": "America/Chihuahua", "companyName": "DGS VolMAX", "phone": "+18887324197", "dnd": false,
		"type": "lead", "source": "public api", "assignedTo": "y0BeYjuRIlDwsDcOHOJo",
		"address1": "3535 1st St N", "city": "Dolomite", "state": "AL", "country": "US", "postalCode": "35061",
		"website": "https://www.tesla.com", "tags": []string{"customer", "vip", "newsletter", "spring-sale"},
		"dateOfBirth": "1990-09-25T00:00:00.000Z", "dateAdded": "2021-07-02T05:18:26.704Z", "dateUpdated": "2021-07-02T05:18:26.704Z",
		"firstNameLowerCase": "rosan", "fullNameLowerCase": "rosan deo", "lastNameLowerCase": "deo",
		"lastActivity": "2021-07-16T11:39:30.564Z", "customFields": custom, "businessId": "641c094001436dbc2081e642",
		"attributionSource": attribution, "lastAttributionSource": attribution, "visitorId": "v-8f3c2d1e0b",
	}
}

// listItem is a contact as GET /contacts/ lists it.
func listItem(i int) map[string]any {
	return map[string]any{
		"id": fmt.Sprintf("ocQHyuzHvysMo5N5V%03d", i), "locationId": benchLocation, "contactName": "rosan deo " + strconv.Itoa(i),
		"firstName": "rosan", "lastName": "deo", "companyName": "DGS VolMAX", "email": fmt.Sprintf("rosan%d@deos.com", i),
		"phone": "+18887324197", "dnd": false, "type": "lead", "source": "public api", "assignedTo": nil,
		"city": "Dolomite", "state": "AL", "postalCode": "35061", "address1": "3535 1st St N",
		"dateAdded": "2021-07-02T05:18:26.704Z", "dateUpdated": "2021-07-02T05:18:26.704Z", "dateOfBirth": nil,
		"tags": []string{"customer", "vip"}, "country": "US", "website": nil, "timezone": "America/Chihuahua",
		"customFields": []map[string]any{{"id": "MgobCB14YMVKuE4Ka8p1", "value": "name"}},
		"businessId":   nil, "attributions": []any{}, "followers": []any{},
	}
}

// upstreamBodies are the fake GHL's fixed answers, encoded once.
type upstreamBodies struct {
	contact, list, update, create []byte
}

func newUpstreamBodies() upstreamBodies {
	must := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err) // fixed data: cannot fail
		}
		return b
	}
	items := make([]map[string]any, 20)
	for i := range items {
		items[i] = listItem(i)
	}
	created := contact("seD4PfOuKoVMLkEZqohJ")
	for _, k := range []string{"name", "timezone", "lastActivity", "attributionSource", "lastAttributionSource", "visitorId", "emailLowerCase"} {
		delete(created, k) // not part of the create shape
	}
	created["deleted"], created["bounceEmail"], created["unsubscribeEmail"] = false, false, false
	return upstreamBodies{
		contact: must(map[string]any{"contact": contact(benchContact)}),
		list: must(map[string]any{"contacts": items, "count": 20, "meta": map[string]any{
			"total": 1200, "startAfterId": "ocQHyuzHvysMo5N5V019", "startAfter": 1625203106704, "currentPage": 1, "nextPage": 2, "prevPage": nil,
			"nextPageUrl": "https://services.leadconnectorhq.com/contacts/?locationId=" + benchLocation + "&startAfter=1625203106704&startAfterId=ocQHyuzHvysMo5N5V019",
		}}),
		update: must(map[string]any{"succeded": true, "contact": contact(benchContact)}),
		create: must(map[string]any{"contact": created}),
	}
}

// ghlHeaders are the headers GHL sends with every answer besides the body's
// (FACTS §3): its rate-limit headers, here for an app whose budget is far
// above the benchmark's load, so that the gateway, which recalibrates its
// budgets from them on every answer, still never refuses.
var ghlHeaders = map[string][]string{
	"Content-Type":                      {"application/json; charset=utf-8"},
	"X-Ratelimit-Limit-Daily":           {"2000000000"},
	"X-Ratelimit-Daily-Remaining":       {"1999999999"},
	"X-Ratelimit-Interval-Milliseconds": {"1000"},
	"X-Ratelimit-Max":                   {"1000000000"},
	"X-Ratelimit-Remaining":             {"999999999"},
}

// fakeGHL answers the four benchmarked operations with fixed bodies and
// GHL's headers, and anything else 404, like GHL. It does no work per
// request beyond routing, draining the request body and writing the answer.
func fakeGHL(b upstreamBodies) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			drain(r)
		}
		h := w.Header()
		for k, v := range ghlHeaders {
			h[k] = v
		}
		switch p := r.URL.Path; {
		case p == "/contacts/" && r.Method == http.MethodGet:
			write(w, http.StatusOK, b.list)
		case p == "/contacts/" && r.Method == http.MethodPost:
			write(w, http.StatusCreated, b.create)
		case strings.HasPrefix(p, "/contacts/") && !strings.Contains(p[len("/contacts/"):], "/") && r.Method == http.MethodGet:
			write(w, http.StatusOK, b.contact)
		case strings.HasPrefix(p, "/contacts/") && !strings.Contains(p[len("/contacts/"):], "/") && r.Method == http.MethodPut:
			write(w, http.StatusOK, b.update)
		default:
			write(w, http.StatusNotFound, []byte(`{"statusCode":404,"message":"Cannot find the route"}`))
		}
	})
}

func write(w http.ResponseWriter, status int, body []byte) {
	w.Header()["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	w.Write(body) //nolint:errcheck // the client went away; nothing to do
}
