package events

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// membersTestInputs are objects and near-objects that exercise every branch
// of membersFast and skipValue, and the inputs it must leave to
// encoding/json.
var membersTestInputs = []string{
	`{}`, ` { } `, "\t{\n}\r\n", `{"a":1}`, `{"a":-0.5e+10,"b":0,"c":-1E-2}`,
	`{"a":"x","a":"y"}`, `{"":true,"f":false,"n":null}`,
	`{"contact":{"id":"c1","locationId":"loc1","tags":["a","b"],"customFields":[{"id":"f","value":3}]}}`,
	`{"a":[],"b":{},"c":[[],[{}]],"d":[1, 2 ,3]}`,
	`{"a":"esc \" \\ \/ \b \f \n \r \t \u00e9 \uD83D\uDE00"}`,
	`{"a":"bytes beyond ASCII: é, and invalid: ` + "\xff\xfe" + `"}`,
	// left to encoding/json
	`{"k\u0065y":1}`, `{"ké":1}`, "{\"k\xff\":1}", "\u00a0{\"a\":1}\u00a0",
	strings.Repeat(`{"a":`, 70) + `1` + strings.Repeat(`}`, 70),
	strings.Repeat(`[`, 70) + strings.Repeat(`]`, 70),
	// not objects, or not JSON
	``, ` `, `null`, `[1]`, `"s"`, `1`, `{`, `}`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{,"a":1}`,
	`{"a" 1}`, `{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":1e}`, `{"a":.5}`, `{"a":+1}`,
	`{"a":1} x`, `{"a":1}}`, `{"a":tru}`, `{"a":truex}`, `{"a":nul}`, `{"a":"` + "\x01" + `"}`,
	`{"a":"\q"}`, `{"a":"\u12"}`, `{"a":"unterminated}`, `{"a":[1,]}`, `{"a":[1 2]}`,
	`{"a":{"b":1,}}`, `{"a":{"b"}}`, `{"a":{1:2}}`, `{'a':1}`, `{"a":1 "b":2}`,
}

// TestMembersFastAgrees: whenever membersFast is sure, encoding/json gives
// the same members; and objectOf, fast path or not, gives what the
// encoding/json-only objectOf gave.
func TestMembersFastAgrees(t *testing.T) {
	sureCount := 0
	for _, in := range membersTestInputs {
		got, sure := membersFast([]byte(in))
		if sure {
			sureCount++
			var want map[string]json.RawMessage
			if err := json.Unmarshal([]byte(in), &want); err != nil {
				t.Errorf("membersFast(%q) is sure, but encoding/json fails: %v", in, err)
				continue
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("membersFast(%q) = %q; encoding/json gives %q", in, got, want)
			}
		}
		if got, want := objectOf([]byte(in)), decodeObject([]byte(in)); !reflect.DeepEqual(got, want) {
			t.Errorf("objectOf(%q) = %q; want %q", in, got, want)
		}
	}
	if sureCount < 10 {
		t.Errorf("membersFast was sure of only %d inputs: the test no longer exercises it", sureCount)
	}
}

// TestMembersFastLeavesTheUnsure: the inputs encoding/json reads in its own
// way (escaped or non-ASCII keys, deep nesting, Unicode spaces around) are
// never answered by the fast path.
func TestMembersFastLeavesTheUnsure(t *testing.T) {
	for _, in := range []string{`{"k\u0065y":1}`, `{"ké":1}`, "{\"k\xff\":1}", "\u00a0{\"a\":1}",
		strings.Repeat(`{"a":`, 70) + `1` + strings.Repeat(`}`, 70)} {
		if _, sure := membersFast([]byte(in)); sure {
			t.Errorf("membersFast(%q) is sure; it must leave it to encoding/json", in)
		}
	}
}

func TestStringValueAgrees(t *testing.T) {
	for _, v := range []string{`"plain"`, `""`, `"é"`, `"esc\"aped"`, `"\u00e9"`, "\"\xff\"", `null`, `1`, `true`,
		`{"a":1}`, `["x"]`, `"tab` + "\t" + `"`} {
		got, gotOK := stringValue(json.RawMessage(v))
		var want string
		wantOK := json.Unmarshal([]byte(v), &want) == nil
		if got != want || gotOK != wantOK {
			t.Errorf("stringValue(%q) = %q, %v; encoding/json gives %q, %v", v, got, gotOK, want, wantOK)
		}
	}
}

func FuzzMembersFast(f *testing.F) {
	for _, in := range membersTestInputs {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, sure := membersFast(b)
		var want map[string]json.RawMessage
		err := json.Unmarshal(b, &want)
		if sure && (err != nil || !reflect.DeepEqual(got, want)) {
			t.Fatalf("membersFast(%q) = %q, sure; encoding/json gives %q, %v", b, got, want, err)
		}
		if g, w := objectOf(b), decodeObject(b); !reflect.DeepEqual(g, w) {
			t.Fatalf("objectOf(%q) = %q; want %q", b, g, w)
		}
	})
}
