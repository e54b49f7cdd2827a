package contracttests

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/rankr/ghlgate/fixtures/seed"
)

// TestContactResolver maps a seeded record's testContactId to its id at
// the target, for ${testContact:NAME}.
type TestContactResolver interface {
	Resolve(ctx context.Context, testContactID string) (string, error)
}

// ErrTestContactNotFound is a testContactId the target does not know.
var ErrTestContactNotFound = errors.New("test contact not found")

// MapResolver resolves from a fixed map (tests, or ids known in advance).
type MapResolver map[string]string

// Resolve implements TestContactResolver.
func (m MapResolver) Resolve(_ context.Context, name string) (string, error) {
	if id, ok := m[name]; ok {
		return id, nil
	}
	return "", fmt.Errorf("%w: %q", ErrTestContactNotFound, name)
}

// FuncResolver adapts a lookup function, such as a mock's
// LookupTestContact.
type FuncResolver func(testContactID string) (string, bool)

// Resolve implements TestContactResolver.
func (f FuncResolver) Resolve(_ context.Context, name string) (string, error) {
	if id, ok := f(name); ok {
		return id, nil
	}
	return "", fmt.Errorf("%w: %q", ErrTestContactNotFound, name)
}

// HTTPResolver asks the target once for every test contact and caches the
// answer. It first calls the gateway's admin endpoint
// GET <gateway root>/_gateway/test-contacts/<stage> → {"alice-smith": "<id>"};
// when the target has no such endpoint (another server, or production), it
// lists the contacts of each seeded location (GET /contacts/?locationId=…,
// every page) and reads their testContactId field.
type HTTPResolver struct {
	client    *http.Client
	target    string
	key       string
	locations []string

	once sync.Once
	ids  map[string]string
	err  error
}

// NewHTTPResolver builds a resolver for target. locations are the location
// ids to list on the fallback path; nil reads them from fixtures/seed.
func NewHTTPResolver(c *http.Client, target, key string, locations []string) *HTTPResolver {
	if locations == nil {
		locations, _ = SeedLocations(seed.FS)
	}
	return &HTTPResolver{client: c, target: strings.TrimSuffix(target, "/"), key: key, locations: locations}
}

// Resolve implements TestContactResolver.
func (h *HTTPResolver) Resolve(ctx context.Context, name string) (string, error) {
	h.once.Do(func() { h.ids, h.err = h.load(ctx) })
	if h.err != nil {
		return "", h.err
	}
	if id, ok := h.ids[name]; ok {
		return id, nil
	}
	return "", fmt.Errorf("%w: %q at %s", ErrTestContactNotFound, name, h.target)
}

func (h *HTTPResolver) load(ctx context.Context) (map[string]string, error) {
	if admin := adminURL(h.target); admin != "" {
		var ids map[string]string
		status, err := h.getJSON(ctx, admin, &ids)
		if err == nil && status == http.StatusOK && ids != nil {
			return ids, nil
		}
	}
	ids := map[string]string{}
	var errs []error
	for _, loc := range h.locations {
		if err := h.list(ctx, loc, ids); err != nil {
			errs = append(errs, err)
		}
	}
	if len(ids) == 0 {
		errs = append(errs, fmt.Errorf("no test contacts found at %s (neither %s nor a contact list answered with testContactId fields)", h.target, adminURL(h.target)))
		return nil, errors.Join(errs...)
	}
	return ids, nil
}

// list walks every page of one location's contacts.
func (h *HTTPResolver) list(ctx context.Context, loc string, into map[string]string) error {
	var page struct {
		Contacts []struct {
			ID            string `json:"id"`
			TestContactID string `json:"testContactId"`
		} `json:"contacts"`
		Meta struct {
			StartAfterID *string  `json:"startAfterId"`
			StartAfter   *float64 `json:"startAfter"`
			NextPage     *float64 `json:"nextPage"`
		} `json:"meta"`
	}
	q := url.Values{"locationId": {loc}, "limit": {"100"}}
	for range 1000 {
		page.Contacts, page.Meta.NextPage = nil, nil
		status, err := h.getJSON(ctx, h.target+"/contacts/?"+q.Encode(), &page)
		if err != nil {
			return err
		}
		if status != http.StatusOK {
			return fmt.Errorf("list contacts of %s: status %d", loc, status)
		}
		for _, c := range page.Contacts {
			if c.TestContactID != "" {
				if _, dup := into[c.TestContactID]; !dup {
					into[c.TestContactID] = c.ID
				}
			}
		}
		if page.Meta.NextPage == nil || page.Meta.StartAfterID == nil || len(page.Contacts) == 0 {
			return nil
		}
		q.Set("startAfterId", *page.Meta.StartAfterID)
		if page.Meta.StartAfter != nil {
			q.Set("startAfter", fmt.Sprintf("%d", int64(*page.Meta.StartAfter)))
		}
	}
	return fmt.Errorf("list contacts of %s: more than 1000 pages", loc)
}

func (h *HTTPResolver) getJSON(ctx context.Context, u string, into any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Version", DefaultVersion)
	if h.key != "" {
		req.Header.Set("Authorization", "Bearer "+h.key)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("resolve test contacts: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("resolve test contacts: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	if err := json.Unmarshal(b, into); err != nil {
		return resp.StatusCode, fmt.Errorf("resolve test contacts: %s: %w", u, err)
	}
	return resp.StatusCode, nil
}

// adminURL is the gateway's test-contacts endpoint for a /staging or
// /sandbox target, "" for any other.
func adminURL(target string) string {
	u, err := url.Parse(target)
	if err != nil {
		return ""
	}
	p := strings.TrimSuffix(u.Path, "/")
	for _, stage := range []string{"staging", "sandbox"} {
		if strings.HasSuffix(p, "/"+stage) {
			u.Path = strings.TrimSuffix(p, "/"+stage) + "/_gateway/test-contacts/" + stage
			u.RawQuery = ""
			return u.String()
		}
	}
	return ""
}

// SeedRecord is what the runner needs of a seeded contact.
type SeedRecord struct {
	ID, LocationID, TestContactID string
}

// SeedRecords reads the seed files (fixtures/seed layout: one location per
// file with its contacts).
func SeedRecords(fsys fs.FS) ([]SeedRecord, error) {
	files, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, fmt.Errorf("read seed: %w", err)
	}
	slices.Sort(files)
	var out []SeedRecord
	for _, f := range files {
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("read seed %s: %w", f, err)
		}
		var doc struct {
			Location struct {
				ID string `yaml:"id"`
			} `yaml:"location"`
			Contacts []struct {
				ID            string `yaml:"id"`
				TestContactID string `yaml:"testContactId"`
			} `yaml:"contacts"`
		}
		if err := yaml.Unmarshal(b, &doc); err != nil {
			return nil, fmt.Errorf("read seed %s: %w", f, err)
		}
		for _, c := range doc.Contacts {
			out = append(out, SeedRecord{ID: c.ID, LocationID: doc.Location.ID, TestContactID: c.TestContactID})
		}
	}
	return out, nil
}

// SeedLocations lists the seeded location ids, in file order.
func SeedLocations(fsys fs.FS) ([]string, error) {
	recs, err := SeedRecords(fsys)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range recs {
		if !slices.Contains(out, r.LocationID) {
			out = append(out, r.LocationID)
		}
	}
	return out, nil
}
