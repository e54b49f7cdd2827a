package mocks

import (
	"strings"
	"time"
)

// timeLayout is GHL's timestamp format: UTC with milliseconds, as in
// "2021-07-02T05:18:26.704Z". Being fixed-width, its strings sort in time
// order, which the list cursor relies on.
const timeLayout = "2006-01-02T15:04:05.000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// Contact is a stored contact. Its JSON form is the GetContectByIdSchema
// object GHL answers on get, update and upsert, plus the mock's test fields.
type Contact struct {
	ID                 string                `json:"id"`
	Name               string                `json:"name,omitempty"`
	LocationID         string                `json:"locationId"`
	FirstName          string                `json:"firstName,omitempty"`
	LastName           string                `json:"lastName,omitempty"`
	FirstNameLowerCase string                `json:"firstNameLowerCase,omitempty"`
	LastNameLowerCase  string                `json:"lastNameLowerCase,omitempty"`
	FullNameLowerCase  string                `json:"fullNameLowerCase,omitempty"`
	Email              string                `json:"email,omitempty"`
	EmailLowerCase     string                `json:"emailLowerCase,omitempty"`
	Timezone           string                `json:"timezone,omitempty"`
	CompanyName        string                `json:"companyName,omitempty"`
	Phone              string                `json:"phone,omitempty"`
	Dnd                bool                  `json:"dnd"`
	DndSettings        map[string]DndSetting `json:"dndSettings,omitempty"`
	InboundDndSettings map[string]DndSetting `json:"inboundDndSettings,omitempty"`
	Type               string                `json:"type,omitempty"`
	Source             string                `json:"source,omitempty"`
	AssignedTo         string                `json:"assignedTo,omitempty"`
	Address1           string                `json:"address1,omitempty"`
	City               string                `json:"city,omitempty"`
	State              string                `json:"state,omitempty"`
	Country            string                `json:"country,omitempty"`
	PostalCode         string                `json:"postalCode,omitempty"`
	Website            string                `json:"website,omitempty"`
	Gender             string                `json:"gender,omitempty"`
	Tags               []string              `json:"tags"`
	DateOfBirth        string                `json:"dateOfBirth,omitempty"`
	DateAdded          string                `json:"dateAdded"`
	DateUpdated        string                `json:"dateUpdated"`
	CustomFields       []CustomField         `json:"customFields"`
	BusinessID         string                `json:"businessId,omitempty"`
	AttributionSource  map[string]any        `json:"attributionSource,omitempty"`
	Followers          []string              `json:"followers,omitempty"`
	TestFlag           bool                  `json:"testFlag,omitempty"`
	TestContactID      string                `json:"testContactId,omitempty"`
}

// DndSetting is one channel of dndSettings or inboundDndSettings.
type DndSetting struct {
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
	Code    string `json:"code,omitempty"`
}

// CustomField is a custom field value in GHL's output shape {id, value}.
// The input shape {id, key, field_value} is converted on write.
type CustomField struct {
	ID    string `json:"id"`
	Value any    `json:"value"`
}

// setNames keeps the derived name fields in step with firstName/lastName,
// as GHL does.
func (c *Contact) setNames() {
	c.Name = strings.TrimSpace(c.FirstName + " " + c.LastName)
	c.FirstNameLowerCase = strings.ToLower(c.FirstName)
	c.LastNameLowerCase = strings.ToLower(c.LastName)
	c.FullNameLowerCase = strings.ToLower(c.Name)
	c.EmailLowerCase = strings.ToLower(c.Email)
}

func (c *Contact) clone() *Contact {
	d := *c
	d.Tags = append([]string{}, c.Tags...)
	d.CustomFields = append([]CustomField{}, c.CustomFields...)
	d.Followers = append([]string(nil), c.Followers...)
	return &d
}

// createdContact is CreateContactSchema, the shape of POST /contacts/'s
// answer: it adds deleted, bounceEmail, unsubscribeEmail, offers and
// products, and lacks name and timezone [FACTS §2.1].
type createdContact struct {
	ID                 string                `json:"id"`
	DateAdded          string                `json:"dateAdded"`
	DateUpdated        string                `json:"dateUpdated"`
	Deleted            bool                  `json:"deleted"`
	Tags               []string              `json:"tags"`
	Type               string                `json:"type,omitempty"`
	CustomFields       []CustomField         `json:"customFields"`
	LocationID         string                `json:"locationId"`
	FirstName          string                `json:"firstName,omitempty"`
	FirstNameLowerCase string                `json:"firstNameLowerCase,omitempty"`
	FullNameLowerCase  string                `json:"fullNameLowerCase,omitempty"`
	LastName           string                `json:"lastName,omitempty"`
	LastNameLowerCase  string                `json:"lastNameLowerCase,omitempty"`
	Email              string                `json:"email,omitempty"`
	EmailLowerCase     string                `json:"emailLowerCase,omitempty"`
	BounceEmail        bool                  `json:"bounceEmail"`
	UnsubscribeEmail   bool                  `json:"unsubscribeEmail"`
	Dnd                bool                  `json:"dnd"`
	DndSettings        map[string]DndSetting `json:"dndSettings,omitempty"`
	Phone              string                `json:"phone,omitempty"`
	Address1           string                `json:"address1,omitempty"`
	City               string                `json:"city,omitempty"`
	State              string                `json:"state,omitempty"`
	Country            string                `json:"country,omitempty"`
	PostalCode         string                `json:"postalCode,omitempty"`
	Website            string                `json:"website,omitempty"`
	Source             string                `json:"source,omitempty"`
	CompanyName        string                `json:"companyName,omitempty"`
	DateOfBirth        string                `json:"dateOfBirth,omitempty"`
	BirthMonth         *int                  `json:"birthMonth,omitempty"`
	BirthDay           *int                  `json:"birthDay,omitempty"`
	Offers             []string              `json:"offers"`
	Products           []string              `json:"products"`
	BusinessID         string                `json:"businessId,omitempty"`
	AssignedTo         string                `json:"assignedTo,omitempty"`
	TestFlag           bool                  `json:"testFlag,omitempty"`
	TestContactID      string                `json:"testContactId,omitempty"`
}

func createView(c *Contact) createdContact {
	v := createdContact{
		ID: c.ID, DateAdded: c.DateAdded, DateUpdated: c.DateUpdated, Tags: c.Tags, Type: c.Type,
		CustomFields: c.CustomFields, LocationID: c.LocationID, FirstName: c.FirstName,
		FirstNameLowerCase: c.FirstNameLowerCase, FullNameLowerCase: c.FullNameLowerCase,
		LastName: c.LastName, LastNameLowerCase: c.LastNameLowerCase, Email: c.Email,
		EmailLowerCase: c.EmailLowerCase, Dnd: c.Dnd, DndSettings: c.DndSettings, Phone: c.Phone,
		Address1: c.Address1, City: c.City, State: c.State, Country: c.Country,
		PostalCode: c.PostalCode, Website: c.Website, Source: c.Source, CompanyName: c.CompanyName,
		DateOfBirth: c.DateOfBirth, Offers: []string{}, Products: []string{}, BusinessID: c.BusinessID,
		AssignedTo: c.AssignedTo, TestFlag: c.TestFlag, TestContactID: c.TestContactID,
	}
	if t, err := time.Parse(timeLayout, c.DateOfBirth); err == nil {
		m, d := int(t.Month()), t.Day()
		v.BirthMonth, v.BirthDay = &m, &d
	}
	return v
}

// listedContact is a list item of GET /contacts/ and of the business
// lookup. The spec's ContactsSearchSchema is a subset (no names, no phone);
// live answers reportedly carry them [FACTS §2.1], so the mock adds them as
// extra properties, which the spec allows.
type listedContact struct {
	ID            string        `json:"id"`
	LocationID    string        `json:"locationId"`
	ContactName   string        `json:"contactName,omitempty"`
	FirstName     string        `json:"firstName,omitempty"`
	LastName      string        `json:"lastName,omitempty"`
	CompanyName   string        `json:"companyName,omitempty"`
	Email         string        `json:"email,omitempty"`
	Phone         string        `json:"phone,omitempty"`
	Dnd           bool          `json:"dnd"`
	Type          string        `json:"type,omitempty"`
	Source        string        `json:"source,omitempty"`
	AssignedTo    string        `json:"assignedTo,omitempty"`
	Timezone      string        `json:"timezone,omitempty"`
	Country       string        `json:"country,omitempty"`
	DateAdded     string        `json:"dateAdded"`
	DateUpdated   string        `json:"dateUpdated"`
	Tags          []string      `json:"tags"`
	CustomFields  []CustomField `json:"customFields"`
	BusinessID    string        `json:"businessId,omitempty"`
	Attributions  []any         `json:"attributions"`
	Followers     []string      `json:"followers"`
	TestFlag      bool          `json:"testFlag,omitempty"`
	TestContactID string        `json:"testContactId,omitempty"`
}

func listView(c *Contact) listedContact {
	attr := []any{}
	if c.AttributionSource != nil {
		attr = append(attr, c.AttributionSource)
	}
	return listedContact{
		ID: c.ID, LocationID: c.LocationID, ContactName: c.FullNameLowerCase, FirstName: c.FirstName,
		LastName: c.LastName, CompanyName: c.CompanyName, Email: c.Email, Phone: c.Phone, Dnd: c.Dnd,
		Type: c.Type, Source: c.Source, AssignedTo: c.AssignedTo, Timezone: c.Timezone,
		Country: c.Country, DateAdded: c.DateAdded, DateUpdated: c.DateUpdated, Tags: c.Tags,
		CustomFields: c.CustomFields, BusinessID: c.BusinessID, Attributions: attr,
		Followers: nonNil(c.Followers), TestFlag: c.TestFlag, TestContactID: c.TestContactID,
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Task is TaskSchema plus dateAdded and the test flag. GHL's task has no
// locationId in the API; the mock finds it through the contact.
type Task struct {
	ID         string `json:"id"`
	Title      string `json:"title"`
	Body       string `json:"body,omitempty"`
	AssignedTo string `json:"assignedTo,omitempty"`
	DueDate    string `json:"dueDate"`
	Completed  bool   `json:"completed"`
	ContactID  string `json:"contactId"`
	DateAdded  string `json:"dateAdded,omitempty"`
	TestFlag   bool   `json:"testFlag,omitempty"`
}

// Note is GetNoteSchema plus the test flag.
type Note struct {
	ID        string `json:"id"`
	Body      string `json:"body"`
	UserID    string `json:"userId,omitempty"`
	Title     string `json:"title,omitempty"`
	Color     string `json:"color,omitempty"`
	Pinned    bool   `json:"pinned"`
	DateAdded string `json:"dateAdded"`
	ContactID string `json:"contactId"`
	TestFlag  bool   `json:"testFlag,omitempty"`
}

// Appointment is GetEventSchema plus the test flag. The API only reads
// appointments; they come from the seed.
type Appointment struct {
	ID                string   `json:"id"`
	CalendarID        string   `json:"calendarId,omitempty"`
	Status            string   `json:"status,omitempty"`
	Title             string   `json:"title,omitempty"`
	AssignedUserID    string   `json:"assignedUserId,omitempty"`
	Notes             string   `json:"notes,omitempty"`
	StartTime         string   `json:"startTime,omitempty"`
	EndTime           string   `json:"endTime,omitempty"`
	Address           string   `json:"address,omitempty"`
	LocationID        string   `json:"locationId"`
	ContactID         string   `json:"contactId"`
	GroupID           string   `json:"groupId,omitempty"`
	AppointmentStatus string   `json:"appointmentStatus,omitempty"`
	Users             []string `json:"users"`
	DateAdded         string   `json:"dateAdded,omitempty"`
	DateUpdated       string   `json:"dateUpdated,omitempty"`
	AssignedResources []string `json:"assignedResources"`
	TestFlag          bool     `json:"testFlag,omitempty"`
}

// Location is a sub-account of the dataset with its duplicate setting.
type Location struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// AllowDuplicateContacts mirrors GHL's "Allow Duplicate Contact"
	// location setting; false (GHL's default) makes a create whose email or
	// phone is taken answer 400.
	AllowDuplicateContacts bool `json:"allowDuplicateContacts"`
}
