package mocks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rankr/ghlgate/fixtures/seed"
)

// ErrSeed reports seed data the mock cannot use; the message names the file.
var ErrSeed = errors.New("invalid seed")

// Seed is the data a dataset starts from (and returns to on Reset).
type Seed struct {
	Locations []SeedLocation
}

// SeedLocation is one seed file: a location and its contacts.
type SeedLocation struct {
	File     string        `json:"-"`
	Location Location      `json:"location"`
	Contacts []SeedContact `json:"contacts"`
}

// SeedContact is a contact with the records hanging off it.
type SeedContact struct {
	Contact
	Tasks        []Task        `json:"tasks"`
	Notes        []Note        `json:"notes"`
	Appointments []Appointment `json:"appointments"`
}

// DefaultSeed loads the embedded seed of fixtures/seed.
func DefaultSeed() (*Seed, error) { return LoadSeed(seed.FS) }

// LoadSeedDir loads every *.yaml file of a directory.
func LoadSeedDir(dir string) (*Seed, error) { return LoadSeed(os.DirFS(dir)) }

// LoadSeed loads every *.yaml file at the root of fsys, in name order, one
// location per file, and checks it: ids are 20 alphanumeric characters and
// unique, timestamps are GHL's ISO format, every record of a location is
// unique. Errors name the file.
func LoadSeed(fsys fs.FS) (*Seed, error) {
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, fmt.Errorf("list seed files: %w", err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: no *.yaml file", ErrSeed)
	}
	slices.Sort(names)
	s := &Seed{}
	seen := map[string]string{} // id → file, across files
	for _, name := range names {
		loc, err := loadSeedFile(fsys, name)
		if err != nil {
			return nil, err
		}
		if err := loc.check(seen); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrSeed, name, err)
		}
		s.Locations = append(s.Locations, loc)
	}
	return s, nil
}

func loadSeedFile(fsys fs.FS, name string) (SeedLocation, error) {
	raw, err := fs.ReadFile(fsys, name)
	if err != nil {
		return SeedLocation{}, fmt.Errorf("read seed %s: %w", name, err)
	}
	// YAML → generic value → JSON → structs: one set of (json) tags for the
	// model, and unknown keys are reported instead of dropped silently.
	var generic any
	if err := yaml.Unmarshal(raw, &generic); err != nil {
		return SeedLocation{}, fmt.Errorf("%w: %s: %w", ErrSeed, name, err)
	}
	js, err := json.Marshal(generic)
	if err != nil {
		return SeedLocation{}, fmt.Errorf("%w: %s: %w", ErrSeed, name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	var loc SeedLocation
	if err := dec.Decode(&loc); err != nil {
		return SeedLocation{}, fmt.Errorf("%w: %s: %w", ErrSeed, path.Base(name), err)
	}
	loc.File = name
	return loc, nil
}

func checkTime(what, v string, required bool) error {
	if v == "" && !required {
		return nil
	}
	if _, err := time.Parse(timeLayout, v); err != nil {
		return fmt.Errorf("%s %q: want a UTC time like 2021-07-02T05:18:26.704Z", what, v)
	}
	return nil
}

func (l *SeedLocation) check(seen map[string]string) error {
	var errs []error
	claim := func(what, id string) {
		if !isGHLID(id) {
			errs = append(errs, fmt.Errorf("%s id %q: want 20 alphanumeric characters", what, id))
			return
		}
		if f, dup := seen[id]; dup {
			errs = append(errs, fmt.Errorf("%s id %s already used in %s", what, id, f))
		}
		seen[id] = l.File
	}
	claim("location", l.Location.ID)
	for i, c := range l.Contacts {
		where := fmt.Sprintf("contact %d (%s)", i, c.TestContactID)
		claim(where, c.ID)
		if c.LocationID != "" && c.LocationID != l.Location.ID {
			errs = append(errs, fmt.Errorf("%s: locationId %s differs from the file's location %s", where, c.LocationID, l.Location.ID))
		}
		errs = append(errs, checkTime(where+" dateAdded", c.DateAdded, true), checkTime(where+" dateUpdated", c.DateUpdated, false))
		for _, t := range c.Tasks {
			claim(where+" task", t.ID)
			if t.Title == "" {
				errs = append(errs, fmt.Errorf("%s task %s: empty title", where, t.ID))
			}
			errs = append(errs, checkTime(where+" task dueDate", t.DueDate, true))
		}
		for _, n := range c.Notes {
			claim(where+" note", n.ID)
			errs = append(errs, checkTime(where+" note dateAdded", n.DateAdded, true))
		}
		for _, a := range c.Appointments {
			claim(where+" appointment", a.ID)
		}
	}
	return errors.Join(errs...)
}

// apply copies the seed into an empty state. Records are copied so that
// datasets sharing a Seed never share memory.
func (s *Seed) apply(st *state) {
	for _, l := range s.Locations {
		loc := l.Location
		st.Locations[loc.ID] = &loc
		for _, sc := range l.Contacts {
			c := sc.Contact.clone()
			c.LocationID = loc.ID
			c.Tags = normalizeTags(c.Tags)
			if c.DateUpdated == "" {
				c.DateUpdated = c.DateAdded
			}
			c.setNames()
			st.Contacts[c.ID] = c
			for _, t := range sc.Tasks {
				t := t
				t.ContactID = c.ID
				if t.DateAdded == "" {
					t.DateAdded = c.DateAdded
				}
				st.Tasks[t.ID] = &t
			}
			for _, n := range sc.Notes {
				n := n
				n.ContactID = c.ID
				st.Notes[n.ID] = &n
			}
			for _, a := range sc.Appointments {
				a := a
				a.ContactID, a.LocationID = c.ID, loc.ID
				a.Users = append([]string{}, a.Users...)
				a.AssignedResources = append([]string{}, a.AssignedResources...)
				st.Appointments[a.ID] = &a
			}
		}
	}
}
