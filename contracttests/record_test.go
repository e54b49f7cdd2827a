package contracttests

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// recordFlow drives a create → read → update → read → delete flow
// through a recording proxy in front of the real gateway's staging and
// returns the recorded fixture.
func recordFlow(t *testing.T, ip *inProcess) *RecordedFile {
	t.Helper()
	rec, err := NewRecordingProxy(ip.staging(), 0)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	send := func(method, path, body string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+ip.keys.Writer)
		req.Header.Set("Version", DefaultVersion)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
	}
	send("POST", "/contacts/", `{"locationId":"ve9EPM428h8vShlRW1KT","firstName":"Rita","email":"rita.real@example.org","testFlag":true}`)
	exs := rec.Take()
	var id string
	{
		// the id the mock gave, to drive the next calls like a client would
		body := string(exs[0].RespBody)
		i := strings.Index(body, `"id":"`)
		id = body[i+6 : i+26]
	}
	send("GET", "/contacts/"+id, "")
	send("PUT", "/contacts/"+id, `{"city":"Austin"}`)
	send("GET", "/contacts/"+id, "")
	send("DELETE", "/contacts/"+id, "")
	f, err := Record(append(exs, rec.Take()...), RecordOptions{Name: "rita-flow"})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestRecordMakesAReplayableStableFixture(t *testing.T) {
	ip := startInProcess(t)
	a, b := recordFlow(t, ip), recordFlow(t, ip)
	if a.Name != b.Name {
		t.Errorf("re-recording named the file %s, then %s; want the same name\n%s\n---\n%s", a.Name, b.Name, a.Data, b.Data)
	}
	text := string(a.Data)
	for _, leak := range []string{ip.keys.Writer, "rita.real@example.org", "Authorization", "Rita"} {
		if strings.Contains(text, leak) {
			t.Errorf("recorded fixture contains %q:\n%s", leak, text)
		}
	}
	for _, want := range []string{"/contacts/${contactId}", "capture:", "datetime: iso8601", "GET /contacts/${contactId} #2"} {
		if !strings.Contains(text, want) {
			t.Errorf("recorded fixture lacks %q:\n%s", want, text)
		}
	}
	sc, errs := ParseScenario(a.Name, a.Data)
	if len(errs) > 0 {
		t.Fatalf("recorded fixture does not parse: %v\n%s", errs, text)
	}
	rep, err := Run(context.Background(), Options{
		Target: ip.staging(), Key: ip.keys.Writer, Scenarios: []*Scenario{sc}, Spec: testSpec(t), Resolver: MapResolver{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed() {
		msg, body := failureText(&rep.Scenarios[0])
		t.Errorf("replaying the recording failed: %s\n%s\n%s", msg, body, text)
	}
}

func TestRecordNothing(t *testing.T) {
	if _, err := Record(nil, RecordOptions{}); err != ErrNothingRecorded {
		t.Errorf("Record(nil) error = %v; want ErrNothingRecorded", err)
	}
}
