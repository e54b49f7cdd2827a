package mocks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// fields reads a JSON object body field by field and collects
// class-validator style messages ("title must be a string") for GHL's 422
// answer, so one answer lists every problem, as GHL's does.
type fields struct {
	raw  map[string]json.RawMessage
	msgs []string
}

// parseFields decodes a request body that must be a JSON object. An empty
// body counts as {} (GHL's DTOs with no required field accept it).
func parseFields(body []byte) (*fields, error) {
	f := &fields{raw: map[string]json.RawMessage{}}
	if len(bytes.TrimSpace(body)) == 0 {
		return f, nil
	}
	if err := json.Unmarshal(body, &f.raw); err != nil {
		return nil, badRequest("Unexpected token in JSON body")
	}
	if f.raw == nil { // the body was JSON null
		f.raw = map[string]json.RawMessage{}
	}
	return f, nil
}

func (f *fields) fail(format string, args ...any) {
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}

// err is the 422 answer for every collected problem, or nil.
func (f *fields) err() error {
	if len(f.msgs) == 0 {
		return nil
	}
	return unprocessable(f.msgs...)
}

func (f *fields) has(name string) bool {
	_, ok := f.raw[name]
	return ok
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

// str reads an optional string. present is false when the field is absent;
// a null counts as present and empty when nullable, else as a type error.
func (f *fields) str(name string, nullable bool) (val string, present bool) {
	raw, ok := f.raw[name]
	if !ok {
		return "", false
	}
	if isNull(raw) {
		if !nullable {
			f.fail("%s must be a string", name)
		}
		return "", true
	}
	if err := json.Unmarshal(raw, &val); err != nil {
		f.fail("%s must be a string", name)
		return "", false
	}
	return val, true
}

// requiredStr reads a string that must be present and non-empty.
func (f *fields) requiredStr(name string) string {
	raw, ok := f.raw[name]
	if !ok || isNull(raw) {
		f.fail("%s should not be empty", name)
		f.fail("%s must be a string", name)
		return ""
	}
	var val string
	if err := json.Unmarshal(raw, &val); err != nil {
		f.fail("%s must be a string", name)
		return ""
	}
	if strings.TrimSpace(val) == "" {
		f.fail("%s should not be empty", name)
	}
	return val
}

func (f *fields) boolean(name string) (val, present bool) {
	raw, ok := f.raw[name]
	if !ok {
		return false, false
	}
	if err := json.Unmarshal(raw, &val); err != nil || isNull(raw) {
		f.fail("%s must be a boolean value", name)
		return false, false
	}
	return val, true
}

func (f *fields) requiredBool(name string) bool {
	if !f.has(name) {
		f.fail("%s must be a boolean value", name)
		return false
	}
	v, _ := f.boolean(name)
	return v
}

func (f *fields) strs(name string) (val []string, present bool) {
	raw, ok := f.raw[name]
	if !ok {
		return nil, false
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil || isNull(raw) {
		f.fail("%s must be an array", name)
		return nil, false
	}
	val = make([]string, 0, len(items))
	for _, it := range items {
		var s string
		if err := json.Unmarshal(it, &s); err != nil {
			f.fail("each value in %s must be a string", name)
			return nil, false
		}
		val = append(val, s)
	}
	return val, true
}

func (f *fields) requiredStrs(name string) []string {
	v, ok := f.strs(name)
	if !ok && !f.has(name) {
		f.fail("%s must be an array", name)
	}
	return v
}

// email reads an optional, nullable email and checks its form.
func (f *fields) email(name string) (string, bool) {
	v, ok := f.str(name, true)
	if ok && v != "" {
		if a, err := mail.ParseAddress(v); err != nil || a.Address != v {
			f.fail("%s must be an email", name)
		}
	}
	return v, ok
}

// isoDate reads an ISO 8601 date-time and returns it in GHL's layout.
func (f *fields) isoDate(name string, required bool) (string, bool) {
	if required && !f.has(name) {
		f.fail("%s must be a valid ISO 8601 date string", name)
		return "", false
	}
	v, ok := f.str(name, false)
	if !ok {
		return "", false
	}
	t, err := parseISO(v)
	if err != nil {
		f.fail("%s must be a valid ISO 8601 date string", name)
		return "", false
	}
	return formatTime(t), true
}

func parseISO(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not an ISO 8601 date: %q", v)
}

// dobLayouts are the dateOfBirth formats CreateContactDto's description
// lists, plus a full ISO timestamp.
var dobLayouts = []string{
	"2006/01/02", "01/02/2006", "2006-01-02", "01-02-2006",
	"2006.01.02", "01.02.2006", "2006_01_02", "01_02_2006", time.RFC3339Nano,
}

// dateOfBirth reads dateOfBirth (typed "object" in the spec, a string in
// practice) and answers it as GHL stores it: midnight UTC, ISO.
func (f *fields) dateOfBirth() (string, bool) {
	raw, ok := f.raw["dateOfBirth"]
	if !ok {
		return "", false
	}
	if isNull(raw) {
		return "", true
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		f.fail("dateOfBirth must be a valid date")
		return "", false
	}
	for _, layout := range dobLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			y, m, d := t.Date()
			return formatTime(time.Date(y, m, d, 0, 0, 0, 0, time.UTC)), true
		}
	}
	f.fail("dateOfBirth must be a valid date")
	return "", false
}

var dndChannels = []string{"Call", "Email", "SMS", "WhatsApp", "GMB", "FB"}

// dnd reads dndSettings (channels Call..FB) or inboundDndSettings (all).
func (f *fields) dnd(name string, channels []string, statuses ...string) (map[string]DndSetting, bool) {
	raw, ok := f.raw[name]
	if !ok {
		return nil, false
	}
	var in map[string]DndSetting
	if err := json.Unmarshal(raw, &in); err != nil {
		f.fail("%s must be an object", name)
		return nil, false
	}
	out := map[string]DndSetting{}
	for ch, s := range in {
		if !contains(channels, ch) {
			continue // whitelisting drops unknown channels
		}
		if !contains(statuses, s.Status) {
			f.fail("%s.%s.status must be one of the following values: %s", name, ch, strings.Join(statuses, ", "))
			continue
		}
		out[ch] = s
	}
	return out, true
}

// customFields converts GHL's input shape [{id, key, field_value}] to the
// output shape [{id, value}]. Values keep their JSON type (string, number,
// array or object): the spec types the output value as string, so send
// strings where a response must validate against the official document.
func (f *fields) customFields() ([]CustomField, bool) {
	raw, ok := f.raw["customFields"]
	if !ok {
		return nil, false
	}
	var in []struct {
		ID         string `json:"id"`
		Key        string `json:"key"`
		FieldValue any    `json:"field_value"`
		Value      any    `json:"value"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		f.fail("customFields must be an array")
		return nil, false
	}
	out := make([]CustomField, 0, len(in))
	for i, cf := range in {
		id := cf.ID
		if id == "" {
			id = cf.Key
		}
		if id == "" {
			f.fail("customFields.%d.id should not be empty", i)
			continue
		}
		v := cf.FieldValue
		if v == nil {
			v = cf.Value
		}
		out = append(out, CustomField{ID: id, Value: v})
	}
	return out, true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// normalizeTags trims, lower-cases and de-duplicates tags, keeping their
// order: GHL stores tags in lower case.
func normalizeTags(in []string) []string {
	out := make([]string, 0, len(in))
	for _, t := range in {
		t = strings.ToLower(strings.TrimSpace(t))
		if t != "" && !contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}
