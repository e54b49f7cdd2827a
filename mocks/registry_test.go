package mocks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestSandboxIsolation(t *testing.T) {
	reg := NewRegistry(RegistryOptions{Seed: testSeed(t), NewID: SequentialIDs("reg"), BaseNow: func() time.Time { return t0 }})
	alice := httptest.NewServer(reg.Sandbox("alice"))
	defer alice.Close()
	bob := httptest.NewServer(reg.Sandbox("bob"))
	defer bob.Close()
	staging := httptest.NewServer(reg.Staging())
	defer staging.Close()

	post := func(srv *httptest.Server, body string) map[string]any {
		t.Helper()
		resp, err := srv.Client().Post(srv.URL+"/contacts/", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatalf("post: %v", err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode != 201 {
			t.Fatalf("create = %d %v; want 201", resp.StatusCode, out)
		}
		return out["contact"].(map[string]any)
	}
	status := func(srv *httptest.Server, path string) int {
		t.Helper()
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	c := post(alice, `{"locationId":"ve9EPM428h8vShlRW1KT","email":"only.alice@example.com","testContactId":"only-alice"}`)
	id := c["id"].(string)

	cases := []struct {
		name string
		srv  *httptest.Server
		want int
	}{
		{"alice sees her contact", alice, 200},
		{"bob does not", bob, 400},
		{"staging does not", staging, 400},
	}
	for _, tc := range cases {
		if got := status(tc.srv, "/contacts/"+id); got != tc.want {
			t.Errorf("%s: GET = %d; want %d", tc.name, got, tc.want)
		}
	}
	if reg.Sandbox("alice") != reg.Sandbox("alice") || reg.Sandbox("alice") == reg.Sandbox("bob") {
		t.Error("Sandbox(client) must return one mock per client")
	}
	// Every sandbox starts from the seed: the same seeded contact in each.
	a, okA := reg.Sandbox("alice").LookupTestContact("bob-jones")
	b, okB := reg.Sandbox("bob").LookupTestContact("bob-jones")
	if !okA || !okB || a != b {
		t.Errorf("seeded bob-jones = %q/%v and %q/%v; want the same seeded id in both sandboxes", a, okA, b, okB)
	}
	if err := reg.ResetSandbox(t.Context(), "alice"); err != nil {
		t.Fatalf("ResetSandbox: %v", err)
	}
	if got := status(alice, "/contacts/"+id); got != 400 {
		t.Errorf("after reset GET = %d; want 400", got)
	}
}

func TestPersistenceAcrossRestart(t *testing.T) {
	p := &MemoryPersister{}
	h := newHarness(t, withPersist(p), withSeed(testSeed(t)))
	id := h.createContact(locA, map[string]any{"email": "kept@example.com"})
	task := h.call("create-task", "POST", "/contacts/"+id+"/tasks", map[string]any{"title": "x", "dueDate": "2025-04-01T00:00:00Z", "completed": false}).want(t, 201).obj(t, "task")["id"].(string)
	alice, _ := h.mock.LookupTestContact("alice-smith")
	h.call("delete-contact", "DELETE", "/contacts/"+alice, nil).want(t, 200)

	// A restart: a new mock over the same persister, with the same seed.
	h2 := newHarness(t, withPersist(p), withSeed(testSeed(t)))
	h2.call("get-contact", "GET", "/contacts/"+id, nil).want(t, 200)
	h2.call("get-task", "GET", "/contacts/"+id+"/tasks/"+task, nil).want(t, 200)
	h2.call("get-contact", "GET", "/contacts/"+alice, nil).want(t, 400)

	t.Run("failed save answers 500 and changes nothing", func(t *testing.T) {
		p.SetSaveErr(errors.New("disk full"))
		a, _ := h2.send("PUT", "/contacts/"+id, map[string]any{"city": "Nowhere"})
		if a.status != 500 {
			t.Fatalf("update with failing save = %d %s; want 500", a.status, a.raw)
		}
		p.SetSaveErr(nil)
		c := h2.call("get-contact", "GET", "/contacts/"+id, nil).want(t, 200).obj(t, "contact")
		if _, has := c["city"]; has {
			t.Errorf("city = %v after a failed save; want the update rolled back", c["city"])
		}
	})
	t.Run("reset is saved", func(t *testing.T) {
		if err := h2.mock.Reset(t.Context()); err != nil {
			t.Fatalf("Reset: %v", err)
		}
		h3 := newHarness(t, withPersist(p), withSeed(testSeed(t)))
		h3.call("get-contact", "GET", "/contacts/"+id, nil).want(t, 400)
		h3.call("get-contact", "GET", "/contacts/"+alice, nil).want(t, 200)
	})
}

// flakyPersister fails Load until told otherwise.
type flakyPersister struct {
	MemoryPersister
	down chan struct{} // closed when the store is back
}

func (f *flakyPersister) Load(ctx context.Context, ds string) ([]byte, bool, error) {
	select {
	case <-f.down:
		return f.MemoryPersister.Load(ctx, ds)
	default:
		return nil, false, errors.New("connection refused")
	}
}

func TestRegistryRetriesLoad(t *testing.T) {
	p := &flakyPersister{down: make(chan struct{})}
	if _, err := New(Options{Persist: p}); err == nil {
		t.Error("New with a failing Load = nil error; want the load error")
	}
	reg := NewRegistry(RegistryOptions{Persist: p})
	srv := httptest.NewServer(reg.Staging())
	defer srv.Close()
	get := func() int {
		resp, err := srv.Client().Get(srv.URL + "/contacts/?locationId=" + locA)
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get(); got != 503 {
		t.Errorf("with the store down = %d; want 503", got)
	}
	close(p.down)
	if got := get(); got != 200 {
		t.Errorf("with the store back = %d; want 200", got)
	}
}

func TestAdminHandler(t *testing.T) {
	base := t0
	reg := NewRegistry(RegistryOptions{NewID: SequentialIDs("adm"), BaseNow: func() time.Time { return base }})
	admin := httptest.NewServer(http.StripPrefix("/_gateway/mock", reg.AdminHandler()))
	defer admin.Close()
	do := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, admin.URL+"/_gateway/mock/"+path, strings.NewReader(body))
		resp, err := admin.Client().Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	cases := []struct {
		name, method, path, body string
		status                   int
		key                      string
		want                     any
	}{
		{"read clock", "GET", "staging/clock", "", 200, "now", "2025-03-14T09:26:53.589Z"},
		{"set clock", "POST", "staging/clock", `{"set":"2030-01-01T00:00:00Z"}`, 200, "now", "2030-01-01T00:00:00Z"},
		{"advance clock", "POST", "staging/clock", `{"advance":"36h"}`, 200, "now", "2030-01-02T12:00:00Z"},
		{"sandbox clock is separate", "GET", "sandbox/alice/clock", "", 200, "now", "2025-03-14T09:26:53.589Z"},
		{"advance sandbox", "POST", "sandbox/alice/clock", `{"advance":"-1h"}`, 200, "offset", "-1h0m0s"},
		{"follow again", "POST", "staging/clock", `{"follow":true}`, 200, "offset", "0s"},
		{"two changes at once", "POST", "staging/clock", `{"set":"2030-01-01T00:00:00Z","advance":"1h"}`, 400, "title", "invalid clock body"},
		{"bad duration", "POST", "staging/clock", `{"advance":"soon"}`, 400, "status", float64(400)},
		{"reset", "POST", "sandbox/alice/reset", "", 200, "reset", true},
		{"allow duplicates", "POST", "staging/locations/" + locA, `{"allowDuplicateContacts":true}`, 200, "allowDuplicateContacts", true},
		{"unknown dataset", "GET", "production/clock", "", 404, "status", float64(404)},
		{"unknown operation", "DELETE", "staging/clock", "", 404, "status", float64(404)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := do(tc.method, tc.path, tc.body)
			if status != tc.status || body[tc.key] != tc.want {
				t.Errorf("%s %s = %d %v; want %d with %s=%v", tc.method, tc.path, status, body, tc.status, tc.key, tc.want)
			}
		})
	}
	// The clock drives the mock's timestamps.
	reg.Clock(SandboxDataset("bob")).Set(time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC))
	rec := httptest.NewRecorder()
	reg.Sandbox("bob").ServeHTTP(rec, httptest.NewRequest("POST", "/contacts/", strings.NewReader(`{"locationId":"`+locA+`"}`)))
	if !strings.Contains(rec.Body.String(), `"dateAdded":"2031-05-06T07:08:09.000Z"`) {
		t.Errorf("create after Set = %s; want dateAdded 2031-05-06T07:08:09.000Z", rec.Body)
	}
	// The location setting took effect in staging.
	rec = httptest.NewRecorder()
	for range 2 {
		rec = httptest.NewRecorder()
		reg.Staging().ServeHTTP(rec, httptest.NewRequest("POST", "/contacts/", strings.NewReader(`{"locationId":"`+locA+`","email":"x@example.com"}`)))
	}
	if rec.Code != 201 {
		t.Errorf("second duplicate create with duplicates allowed = %d %s; want 201", rec.Code, rec.Body)
	}
}

func TestClock(t *testing.T) {
	base := t0
	c := NewClock(func() time.Time { return base })
	c.Advance(time.Hour)
	base = base.Add(time.Minute) // the real clock moves on
	if got, want := c.Now(), t0.Add(time.Hour+time.Minute); !got.Equal(want) {
		t.Errorf("Now = %v; want %v (offset kept while the base moves)", got, want)
	}
	c.Set(t0)
	base = base.Add(time.Second)
	if got, want := c.Now(), t0.Add(time.Second); !got.Equal(want) {
		t.Errorf("Now after Set = %v; want %v", got, want)
	}
}

func TestStandalone(t *testing.T) {
	srv := httptest.NewServer(Standalone(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) })))
	defer srv.Close()
	cases := []struct {
		name, auth, version string
		status              int
		message             string
	}{
		{"no token", "", "2021-07-28", 401, "Invalid token: access token is invalid"},
		{"basic auth", "Basic dTpw", "2021-07-28", 401, "Invalid token: access token is invalid"},
		{"empty bearer", "Bearer ", "2021-07-28", 401, "Invalid token: access token is invalid"},
		{"no version", "Bearer tok", "", 400, "Version header was not found"},
		{"sdk version", "Bearer pit-123", "2023-02-21", 299, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL+"/contacts/x", nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			if tc.version != "" {
				req.Header.Set("Version", tc.version)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || !bytes.Contains(body, []byte(tc.message)) {
				t.Errorf("status %d body %s; want %d with %q", resp.StatusCode, body, tc.status, tc.message)
			}
		})
	}
}

func TestLoadSeedErrors(t *testing.T) {
	good := "location:\n  id: ve9EPM428h8vShlRW1KT\ncontacts:\n  - id: A5s02KGvdiP4TLqi58G5\n    dateAdded: \"2024-02-04T09:07:13.037Z\"\n"
	cases := []struct {
		name  string
		files map[string]string
		want  string // substring of the error; "" means success
	}{
		{"good", map[string]string{"a.yaml": good}, ""},
		{"no files", map[string]string{"readme.md": "x"}, "no *.yaml file"},
		{"bad yaml", map[string]string{"bad.yaml": "location: [\n"}, "bad.yaml"},
		{"unknown key", map[string]string{"typo.yaml": strings.Replace(good, "dateAdded", "dateAded", 1)}, "typo.yaml"},
		{"short id", map[string]string{"short.yaml": strings.Replace(good, "A5s02KGvdiP4TLqi58G5", "abc", 1)}, `short.yaml: contact 0 () id "abc"`},
		{"bad date", map[string]string{"date.yaml": strings.Replace(good, "2024-02-04T09:07:13.037Z", "yesterday", 1)}, "date.yaml"},
		{"id reused across files", map[string]string{"a.yaml": good, "b.yaml": strings.Replace(good, "ve9EPM428h8vShlRW1KT", "Kp3nR7tLwQ2xZ8vB5mYd", 1)}, "already used in a.yaml"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for name, body := range tc.files {
				fsys[name] = &fstest.MapFile{Data: []byte(body)}
			}
			_, err := LoadSeed(fsys)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("LoadSeed = %v; want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrSeed)):
				t.Errorf("LoadSeed = %v; want an ErrSeed containing %q", err, tc.want)
			}
		})
	}
}

func TestDefaultSeed(t *testing.T) {
	s := testSeed(t)
	contacts, tasks, notes, appts := 0, 0, 0, 0
	testIDs := map[string]bool{}
	for _, l := range s.Locations {
		for _, c := range l.Contacts {
			contacts++
			if !c.TestFlag || c.TestContactID == "" || testIDs[c.TestContactID] {
				t.Errorf("%s: contact %s testFlag %v testContactId %q; want flagged with a unique testContactId", l.File, c.ID, c.TestFlag, c.TestContactID)
			}
			testIDs[c.TestContactID] = true
			for _, x := range c.Tasks {
				tasks++
				if !x.TestFlag {
					t.Errorf("%s: task %s lacks testFlag", l.File, x.ID)
				}
			}
			for _, x := range c.Notes {
				notes++
				if !x.TestFlag {
					t.Errorf("%s: note %s lacks testFlag", l.File, x.ID)
				}
			}
			for _, x := range c.Appointments {
				appts++
				if !x.TestFlag {
					t.Errorf("%s: appointment %s lacks testFlag", l.File, x.ID)
				}
			}
		}
	}
	if len(s.Locations) < 2 || contacts < 20 || tasks == 0 || notes == 0 || appts == 0 {
		t.Errorf("seed has %d locations, %d contacts, %d tasks, %d notes, %d appointments; want ≥2, ≥20 and some of each",
			len(s.Locations), contacts, tasks, notes, appts)
	}
}
