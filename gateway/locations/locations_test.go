package locations

import (
	"net/url"
	"testing"
	"time"

	"github.com/rankr/ghlgate/openapi"
)

func TestFromRequest(t *testing.T) {
	tests := []struct {
		name    string
		src     openapi.LocationSource
		query   string
		body    string
		want    string
		wantErr bool
	}{
		{"query", openapi.LocationQuery, "locationId=L1&limit=2", "", "L1", false},
		{"query absent", openapi.LocationQuery, "limit=2", "", "", false},
		{"body", openapi.LocationBody, "", `{"firstName":"a","locationId":"L2"}`, "L2", false},
		{"body absent", openapi.LocationBody, "", `{"firstName":"a"}`, "", false},
		{"body not JSON", openapi.LocationBody, "", `{"locationId":`, "", true},
		{"body locationId not a string", openapi.LocationBody, "", `{"locationId":["L1"]}`, "", true},
		{"none", openapi.LocationNone, "locationId=ignored", `{"locationId":"ignored"}`, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, _ := url.ParseQuery(tc.query)
			got, err := FromRequest(&openapi.Operation{Location: tc.src}, q, []byte(tc.body))
			if got != tc.want || (err != nil) != tc.wantErr {
				t.Errorf("FromRequest() = %q, %v; want %q, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestFromResponse(t *testing.T) {
	tests := []struct {
		body   string
		want   string
		wantOK bool
	}{
		{`{"contact":{"id":"c","locationId":"L1"}}`, "L1", true},
		{`{"succeded":true,"contact":{"locationId":"L2"}}`, "L2", true},
		{`{"locationId":"L3"}`, "L3", true},
		{`{"task":{"id":"t"}}`, "", false},
		{`not json`, "", false},
	}
	for _, tc := range tests {
		got, ok := FromResponse([]byte(tc.body))
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("FromResponse(%s) = %q, %v; want %q, %v", tc.body, got, ok, tc.want, tc.wantOK)
		}
	}
}

func TestCache(t *testing.T) {
	c := NewCache(time.Minute, 4)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.Put("staging/c1", "L1", now)
	if got, ok := c.Get("staging/c1", now.Add(30*time.Second)); !ok || got != "L1" {
		t.Errorf("Get(fresh) = %q, %v; want L1, true", got, ok)
	}
	if _, ok := c.Get("staging/c1", now.Add(2*time.Minute)); ok {
		t.Error("Get(expired) found an entry; want none")
	}
	for i := range 10 {
		c.Put(string(rune('a'+i)), "L", now)
	}
	if n := len(c.data); n > 4 {
		t.Errorf("cache holds %d entries; want at most 4", n)
	}
}
