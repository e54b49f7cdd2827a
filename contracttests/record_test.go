package contracttests

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rankr/ghlgate/mocks"
)

// recordFlow drives a create → read → update → read → delete flow through
// a Recorder in front of a fresh mock and returns the recorded fixture.
func recordFlow(t *testing.T) *RecordedFile {
	t.Helper()
	sd, err := mocks.DefaultSeed()
	if err != nil {
		t.Fatal(err)
	}
	m, err := mocks.New(mocks.Options{Seed: sd})
	if err != nil {
		t.Fatal(err)
	}
	rec := NewRecorder(strip("/staging", mocks.Standalone(m)), "/staging", 0)
	srv := httptest.NewServer(rec)
	defer srv.Close()
	send := func(method, path, body string) {
		req, _ := http.NewRequest(method, srv.URL+"/staging"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer ghlgw_secret_key")
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
	a, b := recordFlow(t), recordFlow(t)
	if a.Name != b.Name {
		t.Errorf("re-recording named the file %s, then %s; want the same name\n%s\n---\n%s", a.Name, b.Name, a.Data, b.Data)
	}
	text := string(a.Data)
	for _, leak := range []string{"ghlgw_secret_key", "rita.real@example.org", "Authorization", "Rita"} {
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
	ip := startInProcess(t)
	rep, err := Run(context.Background(), Options{
		Target: ip.URL + "/staging", Key: "k", Scenarios: []*Scenario{sc}, Spec: testSpec(t), Resolver: MapResolver{},
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
