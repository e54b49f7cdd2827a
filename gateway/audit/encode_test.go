package audit

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

func TestAppendRecordMatchesMarshal(t *testing.T) {
	base := Record{Time: time.Date(2026, 11, 27, 9, 0, 0, 123456789, time.UTC), RequestID: "0123456789abcdef01234567",
		Client: "rankr", Stage: "production", OperationID: "get-contact", Method: "GET", Route: "/contacts/{contactId}",
		Path: "/contacts/ocQHyuzHvysMo5N5VsXc", ScopesRequired: []string{"contacts.readonly"},
		ScopesHeld: []string{"contacts.readonly", "contacts.write"}, Location: "ve9EPM428h8vShlRW1KT",
		Decision: Allow, Reason: "allowed", Status: 200, UpstreamStatus: 200, LatencyMS: 0.42, RemoteAddr: "127.0.0.1:50000"}
	with := func(f func(r *Record)) Record {
		r := base
		f(&r)
		return r
	}
	tests := []struct {
		name string
		r    Record
	}{
		{"typical", base},
		{"zero", Record{}},
		{"omitted fields", Record{Time: base.Time, RequestID: "r", Stage: "sandbox", Method: "POST", Path: "/", Decision: Deny, Reason: "no_credentials", Status: 401}},
		{"empty lists", with(func(r *Record) { r.ScopesRequired, r.ScopesHeld = []string{}, []string{} })},
		{"other zone", with(func(r *Record) { r.Time = time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", -3*3600-1800)) })},
		{"monotonic clock", with(func(r *Record) { r.Time = time.Now() })},
		{"year 10000", with(func(r *Record) { r.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) })},
		{"quote and backslash", with(func(r *Record) { r.Detail = `say "hi" \ bye` })},
		{"html characters", with(func(r *Record) { r.Path = "/contacts/<script>&x" })},
		{"control characters", with(func(r *Record) { r.Detail = "line\nbreak\ttab\x00\x1f" })},
		{"unicode", with(func(r *Record) { r.Client = "clé\u2028\u2029😀" })},
		{"invalid utf-8", with(func(r *Record) { r.Detail = "bad \xff\xfe byte" })},
		{"escape in a list", with(func(r *Record) { r.ScopesHeld = []string{"a", "b\"c"} })},
		{"negative status", with(func(r *Record) { r.Status, r.UpstreamStatus = -1, 599 })},
		{"whole latency", with(func(r *Record) { r.LatencyMS = 12 })},
		{"negative latency", with(func(r *Record) { r.LatencyMS = -0.5 })},
		{"tiny latency", with(func(r *Record) { r.LatencyMS = 1e-7 })},
		{"huge latency", with(func(r *Record) { r.LatencyMS = 1e22 })},
		{"long latency", with(func(r *Record) { r.LatencyMS = 123456.789012345 })},
		{"NaN latency", with(func(r *Record) { r.LatencyMS = math.NaN() })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, wantErr := json.Marshal(tc.r)
			got, err := appendRecord([]byte("prefix"), tc.r)
			if (err != nil) != (wantErr != nil) {
				t.Fatalf("appendRecord error = %v; want %v", err, wantErr)
			}
			if wantErr != nil {
				if string(got) != "prefix" {
					t.Errorf("appendRecord on error = %q; want the buffer unchanged", got)
				}
				return
			}
			if string(got) != "prefix"+string(want) {
				t.Errorf("appendRecord = %s; want prefix%s", got, want)
			}
		})
	}
}

func BenchmarkAppendRecord(b *testing.B) {
	r := Record{Time: time.Date(2026, 11, 27, 9, 0, 0, 123456789, time.UTC), RequestID: "0123456789abcdef01234567",
		Client: "rankr", Stage: "production", OperationID: "get-contact", Method: "GET", Route: "/contacts/{contactId}",
		Path: "/contacts/ocQHyuzHvysMo5N5VsXc", ScopesRequired: []string{"contacts.readonly"},
		ScopesHeld: []string{"contacts.readonly", "contacts.write"}, Location: "ve9EPM428h8vShlRW1KT",
		Decision: Allow, Reason: "allowed", Status: 200, UpstreamStatus: 200, LatencyMS: 0.42, RemoteAddr: "127.0.0.1:50000"}
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		buf, _ = appendRecord(buf[:0], r)
	}
}

// TestPlainStringMatchesMarshal checks plainString's table byte by byte:
// a one-byte string is plain exactly when encoding/json writes it as it is.
func TestPlainStringMatchesMarshal(t *testing.T) {
	for c := range 256 {
		s := string([]byte{byte(c)})
		enc, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if want := string(enc) == `"`+s+`"`; plainString(s) != want {
			t.Errorf("plainString(%q) = %v; want %v (encoding/json writes %s)", s, !want, want, enc)
		}
	}
}
