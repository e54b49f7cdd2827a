// Package locations finds the GHL location a request or an upstream answer
// concerns, so the gateway can hold each client to the locations it may
// touch. A request names its location in the query (GET /contacts/), in the
// body (POST /contacts/) or not at all (operations addressed by a contact id);
// for the last kind the location is read from GHL's answer, or looked up
// before a change is forwarded, and remembered in a small cache.
package locations

import (
	"encoding/json"
	"errors"
	"net/url"
	"sync"
	"time"

	"github.com/rankr/ghlgate/openapi"
)

// ErrBadBody means the body could not be read for its locationId; request
// validation reports the details.
var ErrBadBody = errors.New("body is not a JSON object")

// FromRequest returns the locationId a request carries where the operation
// says it does; "" when it carries none.
func FromRequest(op *openapi.Operation, query url.Values, body []byte) (string, error) {
	switch op.Location {
	case openapi.LocationQuery:
		return query.Get("locationId"), nil
	case openapi.LocationBody:
		if len(body) == 0 {
			return "", nil
		}
		var v struct {
			LocationID json.RawMessage `json:"locationId"`
		}
		if err := json.Unmarshal(body, &v); err != nil {
			return "", ErrBadBody
		}
		var s string
		if len(v.LocationID) > 0 && json.Unmarshal(v.LocationID, &s) != nil {
			// A non-string locationId is a schema violation; validation
			// names it. Refuse to guess a location from it.
			return "", ErrBadBody
		}
		return s, nil
	}
	return "", nil
}

// envelopeKeys are the members GHL wraps a single resource in.
var envelopeKeys = []string{"contact", "task", "note", "event", "appointment"}

// FromResponse returns the locationId of the resource in a GHL answer
// ({"contact": {...}} and the like, or a bare object), and whether one was
// found.
func FromResponse(body []byte) (string, bool) {
	if loc, found, sure := fromResponseFast(body); sure {
		return loc, found
	}
	return fromResponseDecode(body)
}

// fromResponseDecode is FromResponse with encoding/json: the reference the
// fast path agrees with, and its fallback.
func fromResponseDecode(body []byte) (string, bool) {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return "", false
	}
	for _, k := range envelopeKeys {
		if raw, ok := top[k]; ok {
			var inner struct {
				LocationID *string `json:"locationId"`
			}
			if json.Unmarshal(raw, &inner) == nil && inner.LocationID != nil {
				return *inner.LocationID, true
			}
		}
	}
	if raw, ok := top["locationId"]; ok {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s, true
		}
	}
	return "", false
}

// Cache remembers which location a contact belongs to. A contact never moves
// between locations, so entries only expire to bound staleness after a
// delete and to bound memory.
type Cache struct {
	mu   sync.Mutex
	ttl  time.Duration
	max  int
	data map[string]entry
}

type entry struct {
	location string
	at       time.Time
}

// NewCache returns a cache of at most max entries living ttl.
func NewCache(ttl time.Duration, max int) *Cache {
	return &Cache{ttl: ttl, max: max, data: make(map[string]entry)}
}

// Get returns the location of key (stage + contact id) if known at now.
func (c *Cache) Get(key string, now time.Time) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.data[key]
	if !ok || now.Sub(e.at) > c.ttl {
		return "", false
	}
	return e.location, true
}

// Put records key's location.
func (c *Cache) Put(key, location string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.data) >= c.max {
		for k, e := range c.data {
			if now.Sub(e.at) > c.ttl || len(c.data) >= c.max {
				delete(c.data, k)
			}
			if len(c.data) < c.max/2 {
				break
			}
		}
	}
	c.data[key] = entry{location: location, at: now}
}
