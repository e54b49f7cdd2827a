package mocks

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
)

// countingPersister counts Saves, to prove Import writes one snapshot.
type countingPersister struct {
	MemoryPersister
	saves atomic.Int64
}

func (p *countingPersister) Save(ctx context.Context, dataset string, snap []byte) error {
	p.saves.Add(1)
	return p.MemoryPersister.Save(ctx, dataset, snap)
}

const (
	impC1 = "ImpContact0000000001"
	impC2 = "ImpContact0000000002"
	impT1 = "ImpTask0000000000001"
	impT2 = "ImpTask0000000000002"
	impN1 = "ImpNote0000000000001"
	impN2 = "ImpNote0000000000002"
)

func importBatch() ImportData {
	return ImportData{LocationID: locA, Contacts: []ImportContact{
		{
			Contact: Contact{
				ID: impC1, LocationID: locA, FirstName: "Ada", LastName: "Lovelace",
				Email: "Ada@Example.com", Phone: "+15125550101", Tags: []string{"VIP", "vip"},
				DateAdded: "2024-01-02T03:04:05Z", DateUpdated: "2024-01-03T03:04:05.123Z",
			},
			Tasks: []Task{
				{ID: impT1, Title: "Call back", DueDate: "2024-02-01T10:00:00.000Z", ContactID: impC1},
				{ID: impT2, Title: "Send offer", DueDate: "2024-02-02T10:00:00Z"},
			},
			Notes: []Note{{ID: impN1, Body: "met at the fair", DateAdded: "2024-01-05T00:00:00.000Z"}},
		},
		{
			// Only a name, no dateAdded: split like GHL, stamped with the
			// import time.
			Contact: Contact{ID: impC2, Name: "Grace Brewster Hopper", Email: "grace@example.com"},
		},
	}}
}

func TestImportInsertsMarkedRecords(t *testing.T) {
	p := &countingPersister{}
	h := newHarness(t, withPersist(p))
	saved := p.saves.Load()

	res, err := h.mock.Import(context.Background(), importBatch())
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	want := ImportResult{LocationID: locA, LocationCreated: true, Contacts: 2, Tasks: 2, Notes: 1}
	if res.LocationID != want.LocationID || res.LocationCreated != want.LocationCreated || res.Contacts != want.Contacts ||
		res.Tasks != want.Tasks || res.Notes != want.Notes || res.Replaced != 0 || len(res.Warnings) != 0 {
		t.Errorf("Import() = %+v; want %+v", res, want)
	}
	if got := p.saves.Load() - saved; got != 1 {
		t.Errorf("Import saved %d snapshots; want 1", got)
	}
	if muts := h.drain(); len(muts) != 0 {
		t.Errorf("Import emitted %d mutations; want none", len(muts))
	}

	c1 := h.call("get-contact", "GET", "/contacts/"+impC1, nil).want(t, 200).obj(t, "contact")
	c2 := h.call("get-contact", "GET", "/contacts/"+impC2, nil).want(t, 200).obj(t, "contact")
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"c1 testFlag", c1["testFlag"], true},
		{"c1 testContactId", c1["testContactId"], "clone-" + impC1},
		{"c1 locationId", c1["locationId"], locA},
		{"c1 name", c1["name"], "Ada Lovelace"},
		{"c1 emailLowerCase", c1["emailLowerCase"], "ada@example.com"},
		{"c1 dateAdded", c1["dateAdded"], "2024-01-02T03:04:05.000Z"},
		{"c1 dateUpdated", c1["dateUpdated"], "2024-01-03T03:04:05.123Z"},
		{"c2 firstName", c2["firstName"], "Grace"},
		{"c2 lastName", c2["lastName"], "Brewster Hopper"},
		{"c2 dateAdded", c2["dateAdded"], formatTime(t0)},
		{"c2 testFlag", c2["testFlag"], true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v; want %v", c.name, c.got, c.want)
		}
	}
	if got := strs(c1["tags"]); !slices.Equal(got, []string{"vip"}) {
		t.Errorf("c1 tags = %v; want [vip]", got)
	}

	tasks := h.call("get-all-tasks", "GET", "/contacts/"+impC1+"/tasks", nil).want(t, 200).list(t, "tasks")
	if len(tasks) != 2 {
		t.Fatalf("tasks of c1 = %d; want 2", len(tasks))
	}
	for _, x := range tasks {
		tk := x.(map[string]any)
		if tk["contactId"] != impC1 || tk["testFlag"] != true {
			t.Errorf("task %v: contactId = %v, testFlag = %v; want %s, true", tk["id"], tk["contactId"], tk["testFlag"], impC1)
		}
	}
	notes := h.call("get-all-notes", "GET", "/contacts/"+impC1+"/notes", nil).want(t, 200).list(t, "notes")
	if len(notes) != 1 || notes[0].(map[string]any)["testFlag"] != true {
		t.Errorf("notes of c1 = %v; want one with testFlag true", notes)
	}
	listed := h.call("get-contacts", "GET", "/contacts/?locationId="+locA, nil).want(t, 200).list(t, "contacts")
	if len(listed) != 2 {
		t.Errorf("listed contacts of %s = %d; want 2", locA, len(listed))
	}
	if id, ok := h.mock.LookupTestContact("clone-" + impC2); !ok || id != impC2 {
		t.Errorf("LookupTestContact(clone-%s) = %q, %v; want %s, true", impC2, id, ok, impC2)
	}

	// A restart over the same persister serves the imported records.
	again, err := New(Options{Persist: p, Dataset: "test"})
	if err != nil {
		t.Fatalf("New after import: %v", err)
	}
	if got := again.TestContacts()["clone-"+impC1]; got != impC1 {
		t.Errorf("after restart TestContacts()[clone-%s] = %q; want %s", impC1, got, impC1)
	}
}

func TestImportReplacesByID(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	if _, err := h.mock.Import(ctx, importBatch()); err != nil {
		t.Fatalf("first Import: %v", err)
	}
	second := ImportData{LocationID: locA, Contacts: []ImportContact{{
		Contact: Contact{ID: impC1, FirstName: "Ada", LastName: "King", Email: "ada@example.com", DateAdded: "2024-01-02T03:04:05.000Z"},
		Tasks:   []Task{{ID: impT1, Title: "Call back today", DueDate: "2024-02-01T10:00:00.000Z"}},
		Notes:   []Note{{ID: impN2, Body: "second meeting", DateAdded: "2024-01-06T00:00:00.000Z"}},
	}}}
	res, err := h.mock.Import(ctx, second)
	if err != nil {
		t.Fatalf("second Import: %v", err)
	}
	if res.Replaced != 1 || res.LocationCreated {
		t.Errorf("second Import() = %+v; want Replaced 1, LocationCreated false", res)
	}
	c1 := h.call("get-contact", "GET", "/contacts/"+impC1, nil).want(t, 200).obj(t, "contact")
	if c1["lastName"] != "King" {
		t.Errorf("lastName after replace = %v; want King", c1["lastName"])
	}
	tasks := h.call("get-all-tasks", "GET", "/contacts/"+impC1+"/tasks", nil).want(t, 200).list(t, "tasks")
	if len(tasks) != 1 || tasks[0].(map[string]any)["title"] != "Call back today" {
		t.Errorf("tasks after replace = %v; want only %s titled \"Call back today\"", tasks, impT1)
	}
	notes := h.call("get-all-notes", "GET", "/contacts/"+impC1+"/notes", nil).want(t, 200).list(t, "notes")
	if len(notes) != 1 || notes[0].(map[string]any)["id"] != impN2 {
		t.Errorf("notes after replace = %v; want only %s", notes, impN2)
	}
	// The contact left out of the second batch is untouched.
	h.call("get-contact", "GET", "/contacts/"+impC2, nil).want(t, 200)
}

func TestImportWarnsOnUnreadableTimestamps(t *testing.T) {
	h := newHarness(t)
	res, err := h.mock.Import(context.Background(), ImportData{LocationID: locA, Contacts: []ImportContact{{
		Contact: Contact{ID: impC1, FirstName: "Ada", DateAdded: "last tuesday"},
	}}})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if len(res.Warnings) != 1 {
		t.Errorf("Warnings = %q; want one about dateAdded", res.Warnings)
	}
	c1 := h.call("get-contact", "GET", "/contacts/"+impC1, nil).want(t, 200).obj(t, "contact")
	if c1["dateAdded"] != formatTime(t0) {
		t.Errorf("dateAdded = %v; want the import time %s", c1["dateAdded"], formatTime(t0))
	}
}

func TestImportRefusesInvalidData(t *testing.T) {
	cases := []struct {
		name string
		edit func(*ImportData)
	}{
		{"no location", func(d *ImportData) { d.LocationID = "" }},
		{"empty contact id", func(d *ImportData) { d.Contacts[1].Contact.ID = "" }},
		{"id with a slash", func(d *ImportData) { d.Contacts[1].Contact.ID = "a/b" }},
		{"id used twice", func(d *ImportData) { d.Contacts[1].Contact.ID = impC1 }},
		{"task id is a note id", func(d *ImportData) { d.Contacts[0].Tasks[1].ID = impN1 }},
		{"task of another contact", func(d *ImportData) { d.Contacts[0].Tasks[0].ContactID = impC2 }},
		{"note of another contact", func(d *ImportData) { d.Contacts[0].Notes[0].ContactID = impC2 }},
		{"contact of another location", func(d *ImportData) { d.Contacts[0].Contact.LocationID = locB }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := &countingPersister{}
			h := newHarness(t, withPersist(p))
			saved := p.saves.Load()
			data := importBatch()
			tc.edit(&data)
			_, err := h.mock.Import(context.Background(), data)
			if !errors.Is(err, ErrImport) {
				t.Fatalf("Import() error = %v; want ErrImport", err)
			}
			if got := p.saves.Load() - saved; got != 0 {
				t.Errorf("refused Import saved %d snapshots; want 0", got)
			}
			if got := len(h.mock.TestContacts()); got != 0 {
				t.Errorf("refused Import left %d test contacts; want 0", got)
			}
		})
	}
}

func TestImportSaveFailureChangesNothing(t *testing.T) {
	p := &MemoryPersister{}
	h := newHarness(t, withPersist(p))
	boom := errors.New("disk full")
	p.SetSaveErr(boom)
	if _, err := h.mock.Import(context.Background(), importBatch()); !errors.Is(err, boom) {
		t.Fatalf("Import() error = %v; want %v", err, boom)
	}
	p.SetSaveErr(nil)
	h.call("get-contact", "GET", "/contacts/"+impC1, nil).want(t, 400)
	listed := h.call("get-contacts", "GET", "/contacts/?locationId="+locA, nil).want(t, 200).list(t, "contacts")
	if len(listed) != 0 {
		t.Errorf("contacts after a failed import = %d; want 0", len(listed))
	}
}
