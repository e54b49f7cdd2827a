package clone

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rankr/ghlgate/mocks"
)

// pageSize is the largest page GET /contacts/ serves.
const pageSize = 100

// DefaultVersion is the Version header sent when Options.Version is empty.
const DefaultVersion = "2021-07-28"

// DefaultMaxRetries is how many times a request is retried after a 429
// when Options.MaxRetries is 0, as GHL's SDK does.
const DefaultMaxRetries = 3

// Options configures Run.
type Options struct {
	// Client is ghlgate's upstream client, its transport already adding the
	// credential. Required.
	Client *http.Client
	// BaseURL is GHL's API root, e.g. https://services.leadconnectorhq.com.
	// Required.
	BaseURL string
	// Version is the Version header; default DefaultVersion.
	Version string
	// Location is the production location to copy; the contacts land in
	// the same location id of Target. Required.
	Location string
	// Limit caps how many contacts are copied, in GHL's list order
	// (oldest first); 0 copies all.
	Limit int
	// MaskPII replaces personal data (see Masker) before import; MaskSalt,
	// a secret kept across runs, keys it and is then required.
	MaskPII  bool
	MaskSalt string
	// Target receives the records (mocks.Mock.Import). Required.
	Target *mocks.Mock
	// Wait is called before every upstream request, retries included: plug
	// the rate limiter's wait here. nil = no wait.
	Wait func(ctx context.Context) error
	// MaxRetries is how many times a 429 is waited out per request;
	// 0 = DefaultMaxRetries, negative = none.
	MaxRetries int
	// Sleep waits after a 429; default a timer that ctx cancels. Tests
	// inject one that records and returns.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives retries and skipped records (Warn) and every answer
	// (Debug); default discards.
	Logger *slog.Logger
	// Progress, when set, receives one human-readable line per page, per
	// 25 contacts fetched, and at the end.
	Progress io.Writer
}

// Validate reports every problem with the options (ErrOptions).
func (o Options) Validate() error {
	var errs []error
	if o.Client == nil {
		errs = append(errs, errors.New("no upstream HTTP client"))
	}
	if u, err := url.Parse(o.BaseURL); o.BaseURL == "" || err != nil || u.Scheme == "" || u.Host == "" {
		errs = append(errs, fmt.Errorf("base URL %q: want an absolute URL such as https://services.leadconnectorhq.com", o.BaseURL))
	}
	if o.Location == "" || strings.ContainsAny(o.Location, "/?#% ") {
		errs = append(errs, fmt.Errorf("location %q: want a GHL location id (--location)", o.Location))
	}
	if o.Limit < 0 {
		errs = append(errs, fmt.Errorf("limit %d: want 0 (all) or more", o.Limit))
	}
	if o.MaskPII && o.MaskSalt == "" {
		errs = append(errs, errors.New("masking needs a secret salt: without one anybody could confirm a guessed email by hashing it"))
	}
	if o.Target == nil {
		errs = append(errs, errors.New("no target dataset"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrOptions, err)
	}
	return nil
}

// Report says what a clone did.
type Report struct {
	Location string `json:"location"`
	Dataset  string `json:"dataset"`
	// Pages and Listed count the list requests and the contacts they
	// returned (up to Limit).
	Pages  int `json:"pages"`
	Listed int `json:"listed"`
	// Contacts, Tasks and Notes count the records imported.
	Contacts int `json:"contacts"`
	Tasks    int `json:"tasks"`
	Notes    int `json:"notes"`
	// Skipped lists contacts deleted in production between listing and
	// fetching them.
	Skipped []string `json:"skipped,omitempty"`
	// Requests counts upstream requests (retries included); RateLimited
	// counts the 429s among them.
	Requests    int  `json:"requests"`
	RateLimited int  `json:"rateLimited"`
	Masked      bool `json:"masked"`
	// Import is the target's own account of the import.
	Import mocks.ImportResult `json:"import"`
	// Warnings are odd values that did not stop the clone.
	Warnings []string `json:"warnings,omitempty"`
}

// Run copies the location's contacts, tasks and notes from GHL into
// Target: list, fetch each contact's full record, tasks and notes, mask if
// asked, then import everything at once. Any failure before the import
// leaves Target untouched; the Report says how far it got.
func Run(ctx context.Context, opts Options) (Report, error) {
	if err := opts.Validate(); err != nil {
		return Report{}, err
	}
	if opts.Version == "" {
		opts.Version = DefaultVersion
	}
	switch {
	case opts.MaxRetries == 0:
		opts.MaxRetries = DefaultMaxRetries
	case opts.MaxRetries < 0:
		opts.MaxRetries = 0
	}
	if opts.Sleep == nil {
		opts.Sleep = sleepCtx
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	f := &fetcher{
		client: opts.Client, base: strings.TrimRight(opts.BaseURL, "/"), version: opts.Version,
		location: opts.Location, wait: opts.Wait, sleep: opts.Sleep, maxRetries: opts.MaxRetries,
		log: opts.Logger,
	}
	rep := Report{Location: opts.Location, Dataset: opts.Target.Dataset(), Masked: opts.MaskPII}
	// tally copies the fetcher's counts into the report, on every return.
	tally := func() {
		rep.Requests, rep.RateLimited = f.requests, f.rateLimited
		rep.Warnings = append(rep.Warnings[:0], f.warnings...)
	}

	ids, err := listContacts(ctx, f, opts, &rep)
	if err != nil {
		tally()
		return rep, err
	}
	batch := mocks.ImportData{LocationID: opts.Location}
	for i, id := range ids {
		ic, err := fetchContact(ctx, f, id)
		if errors.Is(err, ErrNotFound) {
			rep.Skipped = append(rep.Skipped, id)
			opts.Logger.LogAttrs(ctx, slog.LevelWarn, "clone skipped a contact deleted meanwhile",
				slog.String("contact_id", id), slog.String("error", err.Error()))
			continue
		}
		if err != nil {
			tally()
			return rep, err
		}
		batch.Contacts = append(batch.Contacts, ic)
		if n := i + 1; n%25 == 0 || n == len(ids) {
			fmt.Fprintf(opts.Progress, "fetched %d/%d contacts with their tasks and notes\n", n, len(ids))
		}
	}
	if opts.MaskPII {
		mask(NewMasker(opts.MaskSalt), batch.Contacts)
	}
	tally()
	res, err := opts.Target.Import(ctx, batch)
	if err != nil {
		return rep, fmt.Errorf("clone: import into dataset %s: %w", opts.Target.Dataset(), err)
	}
	rep.Import = res
	rep.Contacts, rep.Tasks, rep.Notes = res.Contacts, res.Tasks, res.Notes
	rep.Warnings = append(rep.Warnings, res.Warnings...)
	masked := ""
	if opts.MaskPII {
		masked = ", personal data masked"
	}
	fmt.Fprintf(opts.Progress, "imported %d contacts, %d tasks and %d notes into %s location %s%s (%d skipped, %d requests, %d rate-limited)\n",
		rep.Contacts, rep.Tasks, rep.Notes, rep.Dataset, opts.Location, masked, len(rep.Skipped), f.requests, f.rateLimited)
	return rep, nil
}

// listPage is GET /contacts/'s answer: the items' ids and GHL's cursor.
type listPage struct {
	Contacts []struct {
		ID        string `json:"id"`
		DateAdded string `json:"dateAdded"`
	} `json:"contacts"`
	Meta *struct {
		StartAfterID *string         `json:"startAfterId"`
		StartAfter   json.RawMessage `json:"startAfter"`
		NextPage     json.RawMessage `json:"nextPage"`
		NextPageURL  *string         `json:"nextPageUrl"`
	} `json:"meta"`
}

func isNull(raw json.RawMessage) bool { return len(raw) == 0 || string(raw) == "null" }

// listContacts walks GHL's cursor (meta.startAfterId and meta.startAfter)
// until Limit, a short page, or a meta without a next page. Without meta
// (the spec's own shape) the cursor is taken from the page's last item.
func listContacts(ctx context.Context, f *fetcher, opts Options, rep *Report) ([]string, error) {
	var ids []string
	seen := map[string]bool{}
	var afterID, after string
	for page := 1; ; page++ {
		size := pageSize
		if opts.Limit > 0 {
			size = min(size, opts.Limit-len(ids))
		}
		q := url.Values{"locationId": {opts.Location}, "limit": {strconv.Itoa(size)}}
		if afterID != "" {
			q.Set("startAfterId", afterID)
		}
		if after != "" {
			q.Set("startAfter", after)
		}
		var p listPage
		if err := f.get(ctx, fmt.Sprintf("list contacts of location %s (page %d)", opts.Location, page), "/contacts/", q, false, &p); err != nil {
			return ids, err
		}
		rep.Pages++
		fresh := 0
		for _, c := range p.Contacts {
			if c.ID == "" || seen[c.ID] || (opts.Limit > 0 && len(ids) >= opts.Limit) {
				continue
			}
			seen[c.ID] = true
			ids = append(ids, c.ID)
			fresh++
		}
		rep.Listed = len(ids)
		fmt.Fprintf(opts.Progress, "listed page %d: %d contacts (%d so far)\n", page, len(p.Contacts), len(ids))
		if len(p.Contacts) < size || fresh == 0 || (opts.Limit > 0 && len(ids) >= opts.Limit) {
			return ids, nil
		}
		last := p.Contacts[len(p.Contacts)-1]
		nextID, nextAfter := last.ID, ""
		if t, err := time.Parse(time.RFC3339Nano, last.DateAdded); err == nil {
			nextAfter = strconv.FormatInt(t.UnixMilli(), 10)
		}
		if m := p.Meta; m != nil {
			if isNull(m.NextPage) && (m.NextPageURL == nil || *m.NextPageURL == "") {
				return ids, nil
			}
			if m.StartAfterID != nil && *m.StartAfterID != "" {
				nextID = *m.StartAfterID
			}
			if !isNull(m.StartAfter) {
				nextAfter = strings.Trim(string(m.StartAfter), `"`)
			}
		}
		if nextID == afterID && nextAfter == after {
			return ids, &StepError{Step: fmt.Sprintf("list contacts of location %s (page %d)", opts.Location, page),
				Err: fmt.Errorf("%w: the cursor did not advance", ErrUpstream), Hint: "GHL's paging is stuck: run again later"}
		}
		afterID, after = nextID, nextAfter
	}
}

// fetchContact gets the contact's full record, its tasks and its notes.
func fetchContact(ctx context.Context, f *fetcher, id string) (mocks.ImportContact, error) {
	esc := "/contacts/" + url.PathEscape(id)
	var c struct {
		Contact mocks.Contact `json:"contact"`
	}
	if err := f.get(ctx, "get contact "+id, esc, nil, true, &c); err != nil {
		return mocks.ImportContact{}, err
	}
	var t struct {
		Tasks []mocks.Task `json:"tasks"`
	}
	if err := f.get(ctx, "list tasks of contact "+id, esc+"/tasks", nil, true, &t); err != nil {
		return mocks.ImportContact{}, err
	}
	var n struct {
		Notes []mocks.Note `json:"notes"`
	}
	if err := f.get(ctx, "list notes of contact "+id, esc+"/notes", nil, true, &n); err != nil {
		return mocks.ImportContact{}, err
	}
	// The records belong where they were listed, whatever they say, and
	// every cloned contact is named clone-<id> (mocks.ClonePrefix) by
	// Import, even one read from a dataset that had given it a name.
	c.Contact.ID, c.Contact.LocationID, c.Contact.TestContactID = id, f.location, ""
	for i := range t.Tasks {
		t.Tasks[i].ContactID = id
	}
	for i := range n.Notes {
		n.Notes[i].ContactID = id
	}
	return mocks.ImportContact{Contact: c.Contact, Tasks: t.Tasks, Notes: n.Notes}, nil
}

// mask masks every record of the batch, reserving all phones first so
// that distinct numbers keep distinct stand-ins.
func mask(m *Masker, contacts []mocks.ImportContact) {
	phones := make([]string, 0, len(contacts))
	for _, ic := range contacts {
		phones = append(phones, ic.Contact.Phone)
	}
	m.Reserve(phones)
	for i := range contacts {
		ic := &contacts[i]
		tm := m.Contact(&ic.Contact)
		for j := range ic.Tasks {
			tm.Task(&ic.Tasks[j])
		}
		for j := range ic.Notes {
			tm.Note(&ic.Notes[j])
		}
	}
}
