package audit

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// appendRecord appends r encoded exactly as json.Marshal encodes it (see
// TestAppendRecordMatchesMarshal), without reflection: the writer encodes
// every record of the trail, so this is most of its Go-side cost. Anything
// out of the ordinary (a string needing escapes, a float encoding/json
// writes with an exponent, a year outside 0-9999) is left to encoding/json.
func appendRecord(b []byte, r Record) ([]byte, error) {
	start := len(b)
	fallback := func() ([]byte, error) {
		enc, err := json.Marshal(r)
		if err != nil {
			return b[:start], err
		}
		return append(b[:start], enc...), nil
	}
	if y := r.Time.Year(); y < 0 || y > 9999 {
		return fallback()
	}
	ok := true
	str := func(key, v string, omitEmpty bool) {
		if omitEmpty && v == "" {
			return
		}
		b = append(b, key...)
		b = append(b, '"')
		if !plainString(v) {
			ok = false
			return
		}
		b = append(b, v...)
		b = append(b, '"')
	}
	list := func(key string, v []string) {
		if len(v) == 0 {
			return
		}
		b = append(b, key...)
		b = append(b, '[')
		for i, s := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			if !plainString(s) {
				ok = false
				return
			}
			b = append(b, s...)
			b = append(b, '"')
		}
		b = append(b, ']')
	}
	b = append(b, `{"time":"`...)
	b = r.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	str(`,"request_id":`, r.RequestID, false)
	str(`,"client":`, r.Client, true)
	str(`,"stage":`, r.Stage, false)
	str(`,"operation_id":`, r.OperationID, true)
	str(`,"method":`, r.Method, false)
	str(`,"route":`, r.Route, true)
	str(`,"path":`, r.Path, false)
	list(`,"scopes_required":`, r.ScopesRequired)
	list(`,"scopes_held":`, r.ScopesHeld)
	str(`,"location":`, r.Location, true)
	str(`,"decision":`, r.Decision, false)
	str(`,"reason":`, r.Reason, false)
	str(`,"detail":`, r.Detail, true)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	if r.UpstreamStatus != 0 {
		b = append(b, `,"upstream_status":`...)
		b = strconv.AppendInt(b, int64(r.UpstreamStatus), 10)
	}
	b = append(b, `,"latency_ms":`...)
	if f := math.Abs(r.LatencyMS); f != 0 && (f < 1e-6 || f >= 1e21) || math.IsNaN(r.LatencyMS) {
		return fallback()
	}
	b = strconv.AppendFloat(b, r.LatencyMS, 'f', -1, 64)
	str(`,"remote_addr":`, r.RemoteAddr, true)
	b = append(b, '}')
	if !ok {
		return fallback()
	}
	return b, nil
}

// plainString reports whether encoding/json writes s between quotes as it
// is: printable ASCII without '"', '\\' or the HTML characters it escapes.
// One table look-up per byte: seven comparisons per byte were most of the
// cost of encoding a record.
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !plainByte[s[i]] {
			return false
		}
	}
	return true
}

// plainByte marks the bytes plainString accepts.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()
