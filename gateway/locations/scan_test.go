package locations

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/rankr/ghlgate/gateway/jsonscan"
)

func TestFromResponseCases(t *testing.T) {
	tests := []struct {
		name, body string
		want       string
		found      bool
	}{
		{"contact", `{"contact":{"id":"c1","locationId":"loc1"}}`, "loc1", true},
		{"task before top", `{"locationId":"top","task":{"locationId":"loc2"}}`, "loc2", true},
		{"envelope order", `{"note":{"locationId":"n"},"contact":{"locationId":"c"}}`, "c", true},
		{"case-insensitive inner key", `{"contact":{"LOCATIONID":"loc3"}}`, "loc3", true},
		{"last inner match wins", `{"contact":{"locationId":"a","locationid":"b"}}`, "b", true},
		{"inner null falls to top", `{"contact":{"locationId":null},"locationId":"t"}`, "t", true},
		{"inner type error falls to top", `{"contact":{"locationId":7,"LocationId":"x"},"locationId":"t"}`, "t", true},
		{"top null is empty but found", `{"locationId":null}`, "", true},
		{"top number", `{"locationId":5}`, "", false},
		{"bare object", `{"id":"x","locationId":"l"}`, "l", true},
		{"no location", `{"contact":{"id":"x"}}`, "", false},
		{"escaped value", `{"contact":{"locationId":"lo\u0063"}}`, "loc", true},
		{"escaped key", `{"cont\u0061ct":{"locationId":"l"}}`, "l", true},
		{"not JSON", `{"contact":`, "", false},
		{"trailing data", `{"locationId":"l"} x`, "", false},
		{"null body", `null`, "", false},
		{"array body", `[{"locationId":"l"}]`, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, found := FromResponse([]byte(tc.body))
			if got != tc.want || found != tc.found {
				t.Errorf("FromResponse(%s) = %q, %v; want %q, %v", tc.body, got, found, tc.want, tc.found)
			}
			ref, refFound := fromResponseDecode([]byte(tc.body))
			if got != ref || found != refFound {
				t.Errorf("FromResponse(%s) = %q, %v; encoding/json gives %q, %v", tc.body, got, found, ref, refFound)
			}
		})
	}
}

// TestFromResponseFastAgrees feeds the fast path and encoding/json the same
// mutated answers: whenever the fast path is sure, both must agree.
func TestFromResponseFastAgrees(t *testing.T) {
	seeds := []string{
		`{"contact":{"id":"c1","locationId":"loc1","firstName":"Ann","tags":["a","b"],"customFields":[{"id":"f","value":1.5}]}}`,
		`{"succeded":true,"contact":{"id":"c1","locationId":"loc1","dnd":false}}`,
		`{"task":{"id":"t","locationId":"l2"},"locationId":"top"}`,
		`{"contacts":[{"id":"a","locationId":"x"}],"count":1,"meta":{"total":1}}`,
	}
	pieces := []string{`"locationId"`, `"LocationID"`, `"contact"`, `"task"`, `null`, `7`, `"v"`, `"e\u0041"`, `{`, `}`, `[`, `]`, `,`, `:`, ` `, `"`, `\`, "\x01", `-`, `1e5`, `true`, `"cont\u0061ct"`, `{"locationId":"z"}`, `"lÖc"`}
	rng := rand.New(rand.NewPCG(1, 2))
	sure, checked := 0, 0
	for _, seed := range seeds {
		for range 3000 {
			b := []byte(seed)
			for range 1 + rng.IntN(3) {
				i := rng.IntN(len(b) + 1)
				switch rng.IntN(3) {
				case 0: // insert
					p := pieces[rng.IntN(len(pieces))]
					b = append(b[:i:i], append([]byte(p), b[i:]...)...)
				case 1: // delete a few bytes
					j := min(len(b), i+1+rng.IntN(4))
					b = append(b[:i:i], b[j:]...)
				default: // replace one value-looking token
					s := strings.Replace(string(b), `"loc1"`, pieces[rng.IntN(len(pieces))], 1)
					b = []byte(s)
				}
			}
			checked++
			loc, found, ok := fromResponseFast(b)
			ref, refFound := fromResponseDecode(b)
			if !ok {
				continue
			}
			sure++
			if loc != ref || found != refFound {
				t.Errorf("fromResponseFast(%s) = %q, %v; encoding/json gives %q, %v (valid JSON: %v)", b, loc, found, ref, refFound, json.Valid(b))
			}
		}
	}
	t.Logf("%d answers, fast path sure of %d", checked, sure)
	if sure < checked/10 {
		t.Errorf("fast path sure of %d of %d answers; want it to carry most valid ones", sure, checked)
	}
}

func BenchmarkFromResponse(b *testing.B) {
	body := []byte(`{"contact":{"id":"ocQHyuzHvysMo5N5VsXc","name":"rosan Deo","locationId":"ve9EPM428h8vShlRW1KT","firstName":"rosan","lastName":"Deo","email":"rosan@deos.com","timezone":"America/Chihuahua","companyName":"DGS VolMAX","phone":"+18887324197","dnd":false,"type":"read","source":"public api","tags":["a","b"],"customFields":[{"id":"MgobCB14YMVKuE4Ka8p1","value":"name"}],"attributionSource":{"url":"https://x","campaign":null,"medium":"organic"}}}`)
	for _, mode := range []struct {
		name string
		f    func([]byte) (string, bool)
	}{{"fast", FromResponse}, {"encoding-json", fromResponseDecode}} {
		b.Run(mode.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if loc, ok := mode.f(body); !ok || loc != "ve9EPM428h8vShlRW1KT" {
					b.Fatalf("FromResponse = %q, %v", loc, ok)
				}
			}
		})
	}
}

// walkMembers reads body as the response validator's fast check does when
// it reports to a Finder: every member of the top-level object (depth 1)
// and of the objects that are their values (depth 2), each after its value.
// false means the check would not have read the body whole (invalid JSON,
// an escaped key), so the Finder is not asked.
func walkMembers(body []byte, report func(depth int, key, value []byte)) bool {
	s := &scanner{Scanner: jsonscan.Scanner{B: body}}
	var value func(depth int) bool
	value = func(depth int) bool {
		s.WS()
		if s.I >= len(s.B) {
			return false
		}
		switch s.B[s.I] {
		case '{':
			return s.container('}', func() bool {
				if s.I >= len(s.B) || s.B[s.I] != '"' {
					return false
				}
				key, escaped, ok := s.Str()
				if !ok || escaped {
					return false
				}
				s.WS()
				if s.I >= len(s.B) || s.B[s.I] != ':' {
					return false
				}
				s.I++
				s.WS()
				start := s.I
				if !value(depth + 1) {
					return false
				}
				if depth+1 <= 2 {
					report(depth+1, key, s.B[start:s.I])
				}
				return true
			})
		case '[':
			return s.container(']', func() bool { return value(depth + 1) })
		}
		return s.skip()
	}
	if !value(0) {
		return false
	}
	s.WS()
	return s.I == len(s.B)
}

// TestFinderAgrees feeds the Finder the members of many answers, valid and
// broken, and checks its sure verdicts against encoding/json's.
func TestFinderAgrees(t *testing.T) {
	seeds := []string{
		`{"contact":{"id":"c1","locationId":"loc1","firstName":"Ann","tags":["a","b"],"customFields":[{"id":"f","value":1.5}]}}`,
		`{"succeded":true,"contact":{"id":"c1","locationId":"loc1","dnd":false}}`,
		`{"task":{"id":"t","locationId":"l2"},"locationId":"top"}`,
		`{"contacts":[{"id":"a","locationId":"x"}],"count":1,"meta":{"total":1}}`,
		`{"note":{"locationId":"n1","nested":{"locationId":"deep"}},"contact":null}`,
	}
	pieces := []string{`"locationId"`, `"LocationID"`, `"contact"`, `"task"`, `null`, `7`, `"v"`, `"e\u0041"`, `{`, `}`, `[`, `]`, `,`, `:`, ` `, `"`, `\`, "\x01", `-`, `1e5`, `true`, `"cont\u0061ct"`, `{"locationId":"z"}`, `"lÖcationId"`}
	rng := rand.New(rand.NewPCG(3, 4))
	sure, read, checked := 0, 0, 0
	for _, seed := range seeds {
		for range 3000 {
			b := []byte(seed)
			for range rng.IntN(4) {
				i := rng.IntN(len(b) + 1)
				switch rng.IntN(3) {
				case 0:
					p := pieces[rng.IntN(len(pieces))]
					b = append(b[:i:i], append([]byte(p), b[i:]...)...)
				case 1:
					j := min(len(b), i+1+rng.IntN(4))
					b = append(b[:i:i], b[j:]...)
				default:
					b = []byte(strings.Replace(string(b), `"loc1"`, pieces[rng.IntN(len(pieces))], 1))
				}
			}
			checked++
			var f Finder
			if !walkMembers(b, f.Member) {
				continue
			}
			read++
			loc, found, ok := f.Result(b)
			if !ok {
				continue
			}
			sure++
			ref, refFound := fromResponseDecode(b)
			if loc != ref || found != refFound {
				t.Errorf("Finder on %s = %q, %v; encoding/json gives %q, %v", b, loc, found, ref, refFound)
			}
		}
	}
	t.Logf("%d answers, %d read whole, Finder sure of %d", checked, read, sure)
	if sure < read*9/10 {
		t.Errorf("Finder sure of %d of %d answers read whole; want nearly all", sure, read)
	}
}
