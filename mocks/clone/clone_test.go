package clone

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/rankr/ghlgate/mocks"
)

const salt = "test-salt"

func newTarget(t *testing.T) *mocks.Mock {
	t.Helper()
	m, err := mocks.New(mocks.Options{
		Now: func() time.Time { return t0 }, NewID: mocks.SequentialIDs("stg"),
		Persist: &mocks.MemoryPersister{}, Dataset: mocks.StagingDataset,
	})
	if err != nil {
		t.Fatalf("mocks.New: %v", err)
	}
	return m
}

// recorder counts Wait calls and records Sleep durations instead of
// sleeping.
type recorder struct {
	mu     sync.Mutex
	waits  int
	sleeps []time.Duration
}

func (r *recorder) wait(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.waits++
	return nil
}

func (r *recorder) sleep(_ context.Context, d time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sleeps = append(r.sleeps, d)
	return nil
}

func options(f *fakeGHL, target *mocks.Mock, rec *recorder) Options {
	return Options{
		Client: f.client(prodToken), BaseURL: prodBase + "/", Location: prodLoc, Target: target,
		Wait: rec.wait, Sleep: rec.sleep,
	}
}

// getJSON reads the staging mock through its own HTTP API.
func getJSON(t *testing.T, srv *httptest.Server, path string) (int, map[string]any) {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("GET %s: decode: %v", path, err)
	}
	return resp.StatusCode, body
}

func TestRunPagesUpToLimit(t *testing.T) {
	cases := []struct {
		name       string
		contacts   int
		limit      int
		noMeta     bool
		wantPages  int
		wantLimits []string // the limit parameter of each list request
	}{
		{name: "all of 250 in 3 pages", contacts: 250, wantPages: 3, wantLimits: []string{"100", "100", "100"}},
		{name: "limit 150", contacts: 250, limit: 150, wantPages: 2, wantLimits: []string{"100", "50"}},
		{name: "limit 100 is one page", contacts: 250, limit: 100, wantPages: 1, wantLimits: []string{"100"}},
		{name: "limit 30", contacts: 250, limit: 30, wantPages: 1, wantLimits: []string{"30"}},
		{name: "limit above total", contacts: 40, limit: 500, wantPages: 1, wantLimits: []string{"100"}},
		{name: "exactly one full page, meta says no next", contacts: 100, wantPages: 1, wantLimits: []string{"100"}},
		{name: "no meta: cursor from the last item", contacts: 250, noMeta: true, wantPages: 3, wantLimits: []string{"100", "100", "100"}},
		{name: "no meta, full last page costs an empty page", contacts: 200, noMeta: true, wantPages: 3, wantLimits: []string{"100", "100", "100"}},
		{name: "empty location", contacts: 0, wantPages: 1, wantLimits: []string{"100"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeGHL(t, tc.contacts)
			f.noMeta = tc.noMeta
			target := newTarget(t)
			rec := &recorder{}
			opts := options(f, target, rec)
			opts.Limit = tc.limit
			var progress bytes.Buffer
			opts.Progress = &progress

			rep, err := Run(context.Background(), opts)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			want := tc.contacts
			if tc.limit > 0 {
				want = min(tc.limit, tc.contacts)
			}
			if rep.Pages != tc.wantPages || rep.Listed != want || rep.Contacts != want {
				t.Errorf("Run() pages %d, listed %d, contacts %d; want %d, %d, %d", rep.Pages, rep.Listed, rep.Contacts, tc.wantPages, want, want)
			}
			var limits []string
			for i, q := range f.lists {
				limits = append(limits, q["limit"])
				if q["locationId"] != prodLoc {
					t.Errorf("list %d locationId = %q; want %s", i, q["locationId"], prodLoc)
				}
				if i > 0 && q["startAfterId"] != prodID("Prod", i*100-1) {
					t.Errorf("list %d startAfterId = %q; want %s", i, q["startAfterId"], prodID("Prod", i*100-1))
				}
			}
			if strings.Join(limits, ",") != strings.Join(tc.wantLimits, ",") {
				t.Errorf("list limits = %v; want %v", limits, tc.wantLimits)
			}
			// One list request per page, then three per contact; Wait
			// before each.
			if wantReq := tc.wantPages + 3*want; rep.Requests != wantReq || rec.waits != wantReq {
				t.Errorf("requests %d, waits %d; want %d each", rep.Requests, rec.waits, wantReq)
			}
			if got := len(target.TestContacts()); got != want {
				t.Errorf("staging holds %d test contacts; want %d", got, want)
			}
			if !strings.Contains(progress.String(), "imported ") {
				t.Errorf("progress = %q; want a final imported line", progress.String())
			}
		})
	}
}

func TestRunImportsTasksAndNotesVisibleThroughTheMock(t *testing.T) {
	f := newFakeGHL(t, 12)
	target := newTarget(t)
	rep, err := Run(context.Background(), options(f, target, &recorder{}))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	wantTasks, wantNotes := 0, 0
	for _, c := range f.contacts {
		wantTasks += len(f.tasks[c.ID])
		wantNotes += len(f.notes[c.ID])
	}
	if rep.Contacts != 12 || rep.Tasks != wantTasks || rep.Notes != wantNotes || rep.Masked {
		t.Errorf("Run() = %d contacts, %d tasks, %d notes, masked %v; want 12, %d, %d, false", rep.Contacts, rep.Tasks, rep.Notes, rep.Masked, wantTasks, wantNotes)
	}
	srv := httptest.NewServer(target)
	defer srv.Close()
	for _, pc := range f.contacts {
		status, body := getJSON(t, srv, "/contacts/"+pc.ID)
		if status != 200 {
			t.Fatalf("GET /contacts/%s = %d %v; want 200", pc.ID, status, body)
		}
		c := body["contact"].(map[string]any)
		if c["testFlag"] != true || c["testContactId"] != mocks.ClonePrefix+pc.ID || c["email"] != pc.Email || c["locationId"] != prodLoc {
			t.Errorf("contact %s = testFlag %v, testContactId %v, email %v, locationId %v; want true, %s, %s, %s",
				pc.ID, c["testFlag"], c["testContactId"], c["email"], c["locationId"], mocks.ClonePrefix+pc.ID, pc.Email, prodLoc)
		}
		_, tb := getJSON(t, srv, "/contacts/"+pc.ID+"/tasks")
		tasks := tb["tasks"].([]any)
		if len(tasks) != len(f.tasks[pc.ID]) {
			t.Errorf("tasks of %s = %d; want %d", pc.ID, len(tasks), len(f.tasks[pc.ID]))
		}
		for _, x := range tasks {
			tk := x.(map[string]any)
			if tk["contactId"] != pc.ID || tk["testFlag"] != true {
				t.Errorf("task %v: contactId %v, testFlag %v; want %s, true", tk["id"], tk["contactId"], tk["testFlag"], pc.ID)
			}
		}
		_, nb := getJSON(t, srv, "/contacts/"+pc.ID+"/notes")
		if notes := nb["notes"].([]any); len(notes) != len(f.notes[pc.ID]) {
			t.Errorf("notes of %s = %d; want %d", pc.ID, len(notes), len(f.notes[pc.ID]))
		}
	}
}

// masked reads every cloned contact back through the mock's API.
func masked(t *testing.T, target *mocks.Mock, f *fakeGHL) map[string]map[string]any {
	t.Helper()
	srv := httptest.NewServer(target)
	defer srv.Close()
	out := map[string]map[string]any{}
	for _, pc := range f.contacts {
		_, body := getJSON(t, srv, "/contacts/"+pc.ID)
		c := body["contact"].(map[string]any)
		_, tb := getJSON(t, srv, "/contacts/"+pc.ID+"/tasks")
		_, nb := getJSON(t, srv, "/contacts/"+pc.ID+"/notes")
		c["_tasks"], c["_notes"] = tb["tasks"], nb["notes"]
		out[pc.ID] = c
	}
	return out
}

func TestRunMasksDeterministicallyKeepingRelations(t *testing.T) {
	f := newFakeGHL(t, 40)
	target := newTarget(t)
	opts := options(f, target, &recorder{})
	opts.MaskPII, opts.MaskSalt = true, salt
	rep, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.Contacts != len(f.contacts) || !rep.Masked {
		t.Fatalf("Run() contacts %d, masked %v; want %d, true", rep.Contacts, rep.Masked, len(f.contacts))
	}
	got := masked(t, target, f)

	emails, phones := map[string]string{}, map[string]string{}
	sharedMask := ""
	for _, pc := range f.contacts {
		c := got[pc.ID]
		for _, field := range []struct{ name, orig string }{
			{"firstName", pc.FirstName}, {"lastName", pc.LastName}, {"name", pc.Name},
			{"email", pc.Email}, {"phone", pc.Phone}, {"address1", pc.Address1},
		} {
			if v, _ := c[field.name].(string); v == "" || v == field.orig || strings.Contains(strings.ToLower(v), strings.ToLower(field.orig)) {
				t.Errorf("contact %s %s = %q; want a non-empty stand-in for %q", pc.ID, field.name, v, field.orig)
			}
		}
		email := c["email"].(string)
		if !strings.HasPrefix(email, "user-") || !strings.HasSuffix(email, "@example.test") || c["emailLowerCase"] != email {
			t.Errorf("contact %s email = %q (lower %v); want user-…@example.test", pc.ID, email, c["emailLowerCase"])
		}
		if phone := c["phone"].(string); len(phone) != 12 || !strings.HasPrefix(phone, "+1555") {
			t.Errorf("contact %s phone = %q; want +1555 and 7 digits", pc.ID, phone)
		}
		if c["name"] != c["firstName"].(string)+" "+c["lastName"].(string) || c["fullNameLowerCase"] != strings.ToLower(c["name"].(string)) {
			t.Errorf("contact %s name = %v, fullNameLowerCase = %v; want derived from %v %v", pc.ID, c["name"], c["fullNameLowerCase"], c["firstName"], c["lastName"])
		}
		if c["companyName"] != pc.CompanyName {
			t.Errorf("contact %s companyName = %v; want kept %q", pc.ID, c["companyName"], pc.CompanyName)
		}
		// Same email (any case) → same stand-in; different → different.
		key := strings.ToLower(pc.Email)
		if prev, ok := emails[key]; ok && prev != email {
			t.Errorf("email %s masked as %s and %s; want one stand-in", key, prev, email)
		}
		emails[key] = email
		if key == "shared@real.example.com" {
			sharedMask = email
		}
		if prev, dup := phones[c["phone"].(string)]; dup {
			t.Errorf("phones %s and %s share the stand-in %s", prev, pc.Phone, c["phone"])
		}
		phones[c["phone"].(string)] = pc.Phone

		tasks := c["_tasks"].([]any)
		if len(tasks) != len(f.tasks[pc.ID]) {
			t.Errorf("contact %s: %d tasks; want %d", pc.ID, len(tasks), len(f.tasks[pc.ID]))
		}
		for _, x := range tasks {
			tk := x.(map[string]any)
			wantTitle := "Call " + c["firstName"].(string) + " back"
			if tk["contactId"] != pc.ID || tk["body"] != MaskedText || tk["title"] != wantTitle {
				t.Errorf("task %v = contactId %v, body %q, title %q; want %s, %q, %q", tk["id"], tk["contactId"], tk["body"], tk["title"], pc.ID, MaskedText, wantTitle)
			}
		}
		for _, x := range c["_notes"].([]any) {
			n := x.(map[string]any)
			if n["contactId"] != pc.ID || n["body"] != MaskedText {
				t.Errorf("note %v = contactId %v, body %q; want %s, %q", n["id"], n["contactId"], n["body"], pc.ID, MaskedText)
			}
		}
	}
	if sharedMask == "" || len(emails) != len(f.contacts)-3 {
		// 4 contacts share one address: 40 contacts, 37 distinct emails.
		t.Errorf("distinct masked emails = %d (shared %q); want %d", len(emails), sharedMask, len(f.contacts)-3)
	}

	// The same salt gives the same stand-ins in another dataset, and a
	// re-run replaces the same records with the same values.
	other := newTarget(t)
	opts.Target = other
	if _, err := Run(context.Background(), opts); err != nil {
		t.Fatalf("second Run: %v", err)
	}
	opts.Target = target
	again, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatalf("re-run: %v", err)
	}
	if again.Import.Replaced != len(f.contacts) {
		t.Errorf("re-run replaced %d contacts; want %d", again.Import.Replaced, len(f.contacts))
	}
	for name, tgt := range map[string]*mocks.Mock{"other dataset": other, "re-run": target} {
		for id, c := range masked(t, tgt, f) {
			for _, k := range []string{"firstName", "lastName", "email", "phone", "address1"} {
				if c[k] != got[id][k] {
					t.Errorf("%s: contact %s %s = %v; want %v as in the first run", name, id, k, c[k], got[id][k])
				}
			}
		}
	}

	// Another salt gives other stand-ins.
	opts.Target, opts.MaskSalt = newTarget(t), "another-salt"
	if _, err := Run(context.Background(), opts); err != nil {
		t.Fatalf("Run with another salt: %v", err)
	}
	id := f.contacts[1].ID
	if c := masked(t, opts.Target, f)[id]; c["email"] == got[id]["email"] {
		t.Errorf("email with another salt = %v; want a different stand-in than %v", c["email"], got[id]["email"])
	}
}

// rateLimited answers 429 the first n times, then passes to next.
func rateLimited(n int, header map[string]string, next httpmock.Responder) httpmock.Responder {
	var mu sync.Mutex
	calls := 0
	return func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		calls++
		c := calls
		mu.Unlock()
		if c > n {
			return next(r)
		}
		resp, err := httpmock.NewJsonResponse(429, map[string]any{"statusCode": 429, "message": "Too Many Requests"})
		for k, v := range header {
			resp.Header.Set(k, v)
		}
		return resp, err
	}
}

func TestRunHonours429(t *testing.T) {
	burst := map[string]string{"X-RateLimit-Interval-Milliseconds": "1500", "X-RateLimit-Daily-Remaining": "1000"}
	cases := []struct {
		name       string
		failures   int
		header     map[string]string
		maxRetries int
		wantErr    error
		wantHint   string
		wantSleeps []time.Duration
	}{
		{name: "one 429 then success", failures: 1, header: burst, wantSleeps: []time.Duration{1500 * time.Millisecond}},
		{name: "three 429s then success", failures: 3, header: burst,
			wantSleeps: []time.Duration{1500 * time.Millisecond, 1500 * time.Millisecond, 1500 * time.Millisecond}},
		{name: "no interval header: doubling fallback", failures: 2, header: nil, wantSleeps: []time.Duration{time.Second, 2 * time.Second}},
		{name: "interval capped at 30s", failures: 1, header: map[string]string{"X-RateLimit-Interval-Milliseconds": "600000"},
			wantSleeps: []time.Duration{30 * time.Second}},
		{name: "retries exhausted", failures: 4, header: burst, wantErr: ErrRateLimited, wantHint: "kept answering 429",
			wantSleeps: []time.Duration{1500 * time.Millisecond, 1500 * time.Millisecond, 1500 * time.Millisecond}},
		{name: "retries off", failures: 1, header: burst, maxRetries: -1, wantErr: ErrRateLimited, wantSleeps: nil},
		{name: "daily budget spent: no retry", failures: 1, header: map[string]string{"X-RateLimit-Daily-Remaining": "0", "X-RateLimit-Interval-Milliseconds": "10000"},
			wantErr: ErrRateLimited, wantHint: "daily request budget", wantSleeps: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeGHL(t, 3)
			id := f.contacts[1].ID
			f.mt.RegisterResponder("GET", prodBase+"/contacts/"+id+"/notes", rateLimited(tc.failures, tc.header, f.guard(f.related("notes"))))
			rec := &recorder{}
			target := newTarget(t)
			opts := options(f, target, rec)
			opts.MaxRetries = tc.maxRetries
			rep, err := Run(context.Background(), opts)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Run() error = %v; want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil {
				var se *StepError
				if !errors.As(err, &se) || se.Step != "list notes of contact "+id || se.Status != 429 || !strings.Contains(se.Hint, tc.wantHint) {
					t.Errorf("Run() error = %#v; want a StepError for the notes of %s, status 429, hint containing %q", err, id, tc.wantHint)
				}
				if n := len(target.TestContacts()); n != 0 {
					t.Errorf("a failed clone imported %d contacts; want 0", n)
				}
			} else if rep.Contacts != 3 {
				t.Errorf("Run() contacts = %d; want 3", rep.Contacts)
			}
			if !equalDurations(rec.sleeps, tc.wantSleeps) {
				t.Errorf("sleeps = %v; want %v", rec.sleeps, tc.wantSleeps)
			}
			if rec.waits != rep.Requests {
				t.Errorf("Wait called %d times for %d requests; want one per request, retries included", rec.waits, rep.Requests)
			}
			if wantRL := min(tc.failures, len(tc.wantSleeps)+1); rep.RateLimited != wantRL {
				t.Errorf("RateLimited = %d; want %d", rep.RateLimited, wantRL)
			}
		})
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRunFailuresNameStepAndRemedy(t *testing.T) {
	cases := []struct {
		name     string
		setup    func(f *fakeGHL, o *Options)
		wantErr  error
		wantText []string
	}{
		{
			name:     "no token: 401",
			setup:    func(f *fakeGHL, o *Options) { o.Client = f.client("") },
			wantErr:  ErrUnauthorized,
			wantText: []string{"list contacts of location " + prodLoc + " (page 1)", "401", "Invalid JWT", "set GHL_PRIVATE_INTEGRATION_TOKEN"},
		},
		{
			name:     "location not granted: 403",
			setup:    func(f *fakeGHL, o *Options) { o.Location = "OtherLocation0000001" },
			wantErr:  ErrForbidden,
			wantText: []string{"403", "not allowed to read location OtherLocation0000001"},
		},
		{
			name: "tasks answer 500",
			setup: func(f *fakeGHL, o *Options) {
				f.mt.RegisterResponder("GET", prodBase+"/contacts/"+f.contacts[2].ID+"/tasks",
					httpmock.NewStringResponder(500, `{"statusCode":500,"message":"Internal server error"}`))
			},
			wantErr:  ErrUpstream,
			wantText: []string{"list tasks of contact " + prodID("Prod", 2), "500", "run again later"},
		},
		{
			name: "unreadable answer",
			setup: func(f *fakeGHL, o *Options) {
				f.mt.RegisterResponder("GET", prodBase+"/contacts/"+f.contacts[0].ID, httpmock.NewStringResponder(200, `<html>`))
			},
			wantErr:  ErrUpstream,
			wantText: []string{"get contact " + prodID("Prod", 0), "not the expected JSON"},
		},
		{
			name:     "no answer",
			setup:    func(f *fakeGHL, o *Options) { o.BaseURL = "https://nowhere.test" },
			wantErr:  ErrUnreachable,
			wantText: []string{"check upstream.base_url (https://nowhere.test)"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeGHL(t, 3)
			target := newTarget(t)
			opts := options(f, target, &recorder{})
			tc.setup(f, &opts)
			_, err := Run(context.Background(), opts)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Run() error = %v; want %v", err, tc.wantErr)
			}
			for _, s := range tc.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Run() error = %q; want it to contain %q", err, s)
				}
			}
			if n := len(target.TestContacts()); n != 0 {
				t.Errorf("a failed clone imported %d contacts; want 0", n)
			}
		})
	}
}

func TestRunSkipsContactDeletedMeanwhile(t *testing.T) {
	f := newFakeGHL(t, 5)
	gone := f.contacts[3].ID
	f.mt.RegisterResponder("GET", prodBase+"/contacts/"+gone, f.guard(httpmock.NewJsonResponderOrPanic(400, contactNotFound)))
	target := newTarget(t)
	rep, err := Run(context.Background(), options(f, target, &recorder{}))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.Contacts != 4 || len(rep.Skipped) != 1 || rep.Skipped[0] != gone {
		t.Errorf("Run() contacts %d, skipped %v; want 4, [%s]", rep.Contacts, rep.Skipped, gone)
	}
	if _, ok := target.LookupTestContact(mocks.ClonePrefix + gone); ok {
		t.Errorf("deleted contact %s was imported", gone)
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	f := newFakeGHL(t, 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The operator presses Ctrl-C while GHL answers 429 with a 10 s wait:
	// the real sleep (Options.Sleep nil) must end at once.
	cancelling := func(r *http.Request) (*http.Response, error) {
		cancel()
		resp, err := httpmock.NewJsonResponse(429, map[string]any{"statusCode": 429})
		resp.Header.Set("X-RateLimit-Interval-Milliseconds", "10000")
		return resp, err
	}
	f.mt.RegisterResponder("GET", prodBase+"/contacts/", cancelling)
	target := newTarget(t)
	opts := options(f, target, &recorder{})
	opts.Sleep = nil
	start := time.Now()
	_, err := Run(ctx, opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run() after cancel = %v; want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Run() took %v after cancel; want it to stop without waiting out the 10 s", d)
	}
}

func TestOptionsValidate(t *testing.T) {
	valid := Options{Client: http.DefaultClient, BaseURL: prodBase, Location: prodLoc, Target: &mocks.Mock{}}
	cases := []struct {
		name string
		edit func(*Options)
		want string // "" = valid
	}{
		{"valid", func(*Options) {}, ""},
		{"masking with salt", func(o *Options) { o.MaskPII, o.MaskSalt = true, "s" }, ""},
		{"no client", func(o *Options) { o.Client = nil }, "no upstream HTTP client"},
		{"relative base URL", func(o *Options) { o.BaseURL = "/contacts" }, "want an absolute URL"},
		{"no location", func(o *Options) { o.Location = "" }, "--location"},
		{"negative limit", func(o *Options) { o.Limit = -1 }, "limit -1"},
		{"masking without salt", func(o *Options) { o.MaskPII = true }, "secret salt"},
		{"no target", func(o *Options) { o.Target = nil }, "no target dataset"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := valid
			tc.edit(&o)
			err := o.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate() = %v; want nil", err)
			case tc.want != "" && (!errors.Is(err, ErrOptions) || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate() = %v; want ErrOptions mentioning %q", err, tc.want)
			}
		})
	}
	// Every problem at once.
	err := (Options{Limit: -2, MaskPII: true}).Validate()
	for _, s := range []string{"client", "base URL", "location", "limit", "salt", "target"} {
		if err == nil || !strings.Contains(err.Error(), s) {
			t.Errorf("Validate(zero) = %v; want it to mention %q", err, s)
		}
	}
}
