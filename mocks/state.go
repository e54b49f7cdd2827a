package mocks

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// snapshotVersion is bumped when the snapshot layout changes incompatibly.
const snapshotVersion = 1

// ErrSnapshot reports a persisted snapshot the mock cannot read.
var ErrSnapshot = errors.New("mock snapshot unreadable")

// state is one dataset: every location with its records. It is guarded by
// Mock.mu and is what a snapshot holds.
type state struct {
	Locations    map[string]*Location    `json:"locations"`
	Contacts     map[string]*Contact     `json:"contacts"`
	Tasks        map[string]*Task        `json:"tasks"`
	Notes        map[string]*Note        `json:"notes"`
	Appointments map[string]*Appointment `json:"appointments"`
	// Campaigns and Workflows map a contact id to the ids it was added to.
	Campaigns map[string][]string `json:"campaigns"`
	Workflows map[string][]string `json:"workflows"`
	// Seq counts mutations; it numbers Mutation events.
	Seq uint64 `json:"seq"`
}

func newState() *state {
	return &state{
		Locations:    map[string]*Location{},
		Contacts:     map[string]*Contact{},
		Tasks:        map[string]*Task{},
		Notes:        map[string]*Note{},
		Appointments: map[string]*Appointment{},
		Campaigns:    map[string][]string{},
		Workflows:    map[string][]string{},
	}
}

type snapshot struct {
	Version int    `json:"version"`
	State   *state `json:"state"`
}

func (s *state) marshal() ([]byte, error) {
	b, err := json.Marshal(snapshot{Version: snapshotVersion, State: s})
	if err != nil {
		return nil, fmt.Errorf("marshal snapshot: %w", err)
	}
	return b, nil
}

func unmarshalState(b []byte) (*state, error) {
	var snap snapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	if snap.Version != snapshotVersion || snap.State == nil {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrSnapshot, snap.Version, snapshotVersion)
	}
	fresh := newState()
	fresh.Seq = snap.State.Seq
	// Maps missing from an older or hand-written snapshot stay non-nil.
	for k, v := range snap.State.Locations {
		fresh.Locations[k] = v
	}
	for k, v := range snap.State.Contacts {
		fresh.Contacts[k] = v
	}
	for k, v := range snap.State.Tasks {
		fresh.Tasks[k] = v
	}
	for k, v := range snap.State.Notes {
		fresh.Notes[k] = v
	}
	for k, v := range snap.State.Appointments {
		fresh.Appointments[k] = v
	}
	for k, v := range snap.State.Campaigns {
		fresh.Campaigns[k] = v
	}
	for k, v := range snap.State.Workflows {
		fresh.Workflows[k] = v
	}
	return fresh, nil
}

// location returns the location, bringing it into being on first use: GHL
// accepts any locationId the token grants, so the mock accepts any.
func (s *state) location(id string) *Location {
	if l, ok := s.Locations[id]; ok {
		return l
	}
	l := &Location{ID: id}
	s.Locations[id] = l
	return l
}

// contactsIn returns the location's contacts in list order: dateAdded, then
// id, which is the order GHL's startAfter/startAfterId cursor walks.
func (s *state) contactsIn(locationID string) []*Contact {
	out := make([]*Contact, 0, len(s.Contacts))
	for _, c := range s.Contacts {
		if c.LocationID == locationID {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, compareContacts)
	return out
}

func compareContacts(a, b *Contact) int {
	return cmp.Or(cmp.Compare(a.DateAdded, b.DateAdded), cmp.Compare(a.ID, b.ID))
}

func (s *state) tasksOf(contactID string) []*Task {
	return ofContact(s.Tasks, contactID, func(t *Task) string { return t.ContactID }, func(a, b *Task) int {
		return cmp.Or(cmp.Compare(a.DateAdded, b.DateAdded), cmp.Compare(a.ID, b.ID))
	})
}

func (s *state) notesOf(contactID string) []*Note {
	// GHL lists notes newest first.
	return ofContact(s.Notes, contactID, func(n *Note) string { return n.ContactID }, func(a, b *Note) int {
		return cmp.Or(cmp.Compare(b.DateAdded, a.DateAdded), cmp.Compare(a.ID, b.ID))
	})
}

func (s *state) appointmentsOf(contactID string) []*Appointment {
	return ofContact(s.Appointments, contactID, func(a *Appointment) string { return a.ContactID }, func(a, b *Appointment) int {
		return cmp.Or(cmp.Compare(a.StartTime, b.StartTime), cmp.Compare(a.ID, b.ID))
	})
}

// ofContact returns the records of m that belong to contactID, in order.
func ofContact[T any](m map[string]*T, contactID string, owner func(*T) string, order func(a, b *T) int) []*T {
	var out []*T
	for _, r := range m {
		if owner(r) == contactID {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, order)
	return out
}

// deleteContact removes a contact and everything hanging off it.
func (s *state) deleteContact(id string) {
	delete(s.Contacts, id)
	maps.DeleteFunc(s.Tasks, func(_ string, t *Task) bool { return t.ContactID == id })
	maps.DeleteFunc(s.Notes, func(_ string, n *Note) bool { return n.ContactID == id })
	maps.DeleteFunc(s.Appointments, func(_ string, a *Appointment) bool { return a.ContactID == id })
	delete(s.Campaigns, id)
	delete(s.Workflows, id)
}

// matchField names the field a duplicate matched on, as GHL's meta says.
type matchField string

const (
	matchEmail matchField = "email"
	matchPhone matchField = "phone"
)

// findByEmail returns the oldest contact (in list order) of the location
// whose email equals email case-insensitively, skipping exceptID.
func (s *state) findByEmail(locationID, email, exceptID string) *Contact {
	if email == "" {
		return nil
	}
	email = strings.ToLower(email)
	return s.oldest(locationID, exceptID, func(c *Contact) bool { return c.EmailLowerCase == email })
}

// findByPhone is findByEmail for phones, compared on their digits so
// "+1 (512) 555-0101" matches "+15125550101".
func (s *state) findByPhone(locationID, phone, exceptID string) *Contact {
	p := phoneDigits(phone)
	if p == "" {
		return nil
	}
	return s.oldest(locationID, exceptID, func(c *Contact) bool { return phoneDigits(c.Phone) == p })
}

// oldest scans without sorting: a create checks duplicates in O(n).
func (s *state) oldest(locationID, exceptID string, match func(*Contact) bool) *Contact {
	var found *Contact
	for _, c := range s.Contacts {
		if c.LocationID == locationID && c.ID != exceptID && match(c) && (found == nil || compareContacts(c, found) < 0) {
			found = c
		}
	}
	return found
}

// findDuplicate applies GHL's priority: email first, then phone [FACTS §2.4].
func (s *state) findDuplicate(locationID, email, phone, exceptID string) (*Contact, matchField) {
	if c := s.findByEmail(locationID, email, exceptID); c != nil {
		return c, matchEmail
	}
	if c := s.findByPhone(locationID, phone, exceptID); c != nil {
		return c, matchPhone
	}
	return nil, ""
}

func phoneDigits(p string) string {
	var b strings.Builder
	for _, r := range p {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
