package mocks

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrImport reports import data the mock refuses; nothing was changed.
var ErrImport = errors.New("invalid import data")

// ImportData is a batch of records for Mock.Import, as GHL's API shows them
// (GET /contacts/{id}, /tasks, /notes): all for one location.
type ImportData struct {
	// LocationID is the location every contact is put in; it is created on
	// first use like any location.
	LocationID string
	Contacts   []ImportContact
}

// ImportContact is a contact with its tasks and notes. A task's or note's
// contactId may be empty (it is set) but may not name another contact.
type ImportContact struct {
	Contact Contact
	Tasks   []Task
	Notes   []Note
}

// ImportResult says what Import did.
type ImportResult struct {
	LocationID string `json:"locationId"`
	// LocationCreated is true when the location did not exist before.
	LocationCreated bool `json:"locationCreated"`
	// Contacts, Tasks and Notes count the records written; Replaced counts
	// the contacts that existed already (same id) and were replaced.
	Contacts int `json:"contacts"`
	Tasks    int `json:"tasks"`
	Notes    int `json:"notes"`
	Replaced int `json:"replaced"`
	// Warnings name values Import had to adjust, such as a timestamp it
	// could not read (replaced by the import time).
	Warnings []string `json:"warnings,omitempty"`
}

// ClonePrefix starts the testContactId Import gives a contact that has
// none: "clone-<id>", stable across re-imports of the same record.
const ClonePrefix = "clone-"

// Import inserts the contacts with their tasks and notes into the dataset,
// or replaces them where a record with the same id exists, and saves the
// dataset once, at the end (one snapshot however many records).
//
// Every record is marked testFlag: true, and a contact without a
// testContactId gets ClonePrefix+id. A replaced contact's tasks and notes
// become exactly those given: a re-import mirrors its source, so records
// deleted there disappear here too. The contact's appointments, campaign
// and workflow memberships are kept. Derived fields (name, the lower-case
// names and email) are recomputed from firstName, lastName and email, as
// the mock does on every write; a contact with only a name has it split
// like GHL does. Timestamps are rewritten in GHL's millisecond format so
// that the list cursor orders them.
//
// Import is all or nothing: invalid data (ErrImport) or a failed save
// leaves the dataset as it was. It emits no Mutation events: it is a bulk
// load by an operator, not API traffic, and should not be echoed as sync
// events.
func (m *Mock) Import(ctx context.Context, data ImportData) (ImportResult, error) {
	res := ImportResult{LocationID: data.LocationID}
	if err := data.check(); err != nil {
		return res, fmt.Errorf("import into dataset %s: %w", m.opts.Dataset, err)
	}
	if err := m.ensureLoaded(ctx); err != nil {
		return res, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()

	now := formatTime(m.opts.Now())
	stamp := func(what, v, fallback string) string {
		if v == "" {
			return fallback
		}
		t, err := parseISO(v)
		if err != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s %q unreadable, set to %s", what, v, fallback))
			return fallback
		}
		return formatTime(t)
	}
	st := m.st
	_, known := st.Locations[data.LocationID]
	res.LocationCreated = !known
	st.location(data.LocationID)
	// A replaced contact's tasks and notes go first, in one sweep: a loop
	// per contact would cost contacts × tasks on a re-clone.
	replaced := map[string]bool{}
	for _, ic := range data.Contacts {
		if _, ok := st.Contacts[ic.Contact.ID]; ok {
			replaced[ic.Contact.ID] = true
		}
	}
	if len(replaced) > 0 {
		for id, t := range st.Tasks {
			if replaced[t.ContactID] {
				delete(st.Tasks, id)
			}
		}
		for id, n := range st.Notes {
			if replaced[n.ContactID] {
				delete(st.Notes, id)
			}
		}
	}
	res.Replaced = len(replaced)
	for _, ic := range data.Contacts {
		c := ic.Contact.clone()
		where := "contact " + c.ID
		c.LocationID = data.LocationID
		c.TestFlag = true
		if c.TestContactID == "" {
			c.TestContactID = ClonePrefix + c.ID
		}
		if c.FirstName == "" && c.LastName == "" && c.Name != "" {
			first, last, _ := strings.Cut(strings.TrimSpace(c.Name), " ")
			c.FirstName, c.LastName = first, strings.TrimSpace(last)
		}
		c.setNames()
		c.Tags = normalizeTags(c.Tags)
		if c.CustomFields == nil {
			c.CustomFields = []CustomField{}
		}
		c.DateAdded = stamp(where+" dateAdded", c.DateAdded, now)
		c.DateUpdated = stamp(where+" dateUpdated", c.DateUpdated, c.DateAdded)
		if c.DateOfBirth != "" {
			c.DateOfBirth = stamp(where+" dateOfBirth", c.DateOfBirth, "")
		}
		st.Contacts[c.ID] = c
		res.Contacts++
		for _, t := range ic.Tasks {
			t.ContactID, t.TestFlag = c.ID, true
			t.DueDate = stamp(where+" task "+t.ID+" dueDate", t.DueDate, c.DateAdded)
			if t.DateAdded != "" {
				t.DateAdded = stamp(where+" task "+t.ID+" dateAdded", t.DateAdded, c.DateAdded)
			}
			st.Tasks[t.ID] = &t
			res.Tasks++
		}
		for _, n := range ic.Notes {
			n.ContactID, n.TestFlag = c.ID, true
			n.DateAdded = stamp(where+" note "+n.ID+" dateAdded", n.DateAdded, c.DateAdded)
			st.Notes[n.ID] = &n
			res.Notes++
		}
	}
	if err := m.save(ctx); err != nil {
		return ImportResult{LocationID: data.LocationID}, fmt.Errorf("import into dataset %s: %w", m.opts.Dataset, err)
	}
	return res, nil
}

// check refuses what the mock could not serve: empty or path-breaking ids,
// an id used twice in the batch, a task or note pointing at another contact.
// It collects every problem.
func (d ImportData) check() error {
	var errs []error
	if d.LocationID == "" {
		errs = append(errs, errEmptyLocation)
	}
	seen := map[string]string{}
	claim := func(what, id string) {
		switch {
		case id == "":
			errs = append(errs, fmt.Errorf("%s: empty id", what))
			return
		case strings.ContainsAny(id, "/?#% "):
			errs = append(errs, fmt.Errorf("%s: id %q cannot be used in a path", what, id))
			return
		}
		if prev, dup := seen[id]; dup {
			errs = append(errs, fmt.Errorf("%s: id %s already used by %s", what, id, prev))
			return
		}
		seen[id] = what
	}
	for i, ic := range d.Contacts {
		c := ic.Contact
		what := fmt.Sprintf("contact %d (%s)", i, c.ID)
		claim(what, c.ID)
		if c.LocationID != "" && c.LocationID != d.LocationID {
			errs = append(errs, fmt.Errorf("%s: locationId %s is not the import's location %s", what, c.LocationID, d.LocationID))
		}
		for _, t := range ic.Tasks {
			claim(what+" task", t.ID)
			if t.ContactID != "" && t.ContactID != c.ID {
				errs = append(errs, fmt.Errorf("%s task %s: contactId %s is another contact", what, t.ID, t.ContactID))
			}
		}
		for _, n := range ic.Notes {
			claim(what+" note", n.ID)
			if n.ContactID != "" && n.ContactID != c.ID {
				errs = append(errs, fmt.Errorf("%s note %s: contactId %s is another contact", what, n.ID, n.ContactID))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrImport, err)
	}
	return nil
}
