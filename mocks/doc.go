// Package mocks is a stateful mock of HighLevel's (GHL) Contacts API v2.
//
// A Mock is an http.Handler serving the Contacts paths relative to the API
// root (/contacts/...), with GHL's own envelopes, status codes and error
// bodies (see /work/shared/ghl/FACTS.md): 201 {contact} on create, 400
// {"statusCode":400,"message":"Contact not found"} for an unknown contact,
// 422 with a message array for a malformed request, the misspelled
// "succeded" flag, and the rate-limit headers on every answer.
//
// Each Mock owns one dataset (all locations of one environment). Time and
// ids come from injected functions, so tests are deterministic. After every
// mutation the dataset is saved as a JSON snapshot through an optional
// Persister before the answer is written: a 2xx means saved.
//
// A Registry holds the staging dataset and one sandbox dataset per client,
// each with its own controllable Clock, and serves an admin handler to move
// clocks and reset datasets. Faults (latency, error statuses, connection
// resets) are injected per request with the X-Mock-Fault header or by
// configured FaultRules.
//
// Test records carry two extra contact fields that GHL does not have:
// "testFlag": true and a stable "testContactId" (for example
// "alice-smith"). They are kept as extra properties of the contact object
// (not as custom fields) and may be sent on create, update and upsert.
// LookupTestContact maps a testContactId to the contact's GHL id.
package mocks
