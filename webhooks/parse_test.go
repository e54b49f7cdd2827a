package webhooks

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// compileSchema compiles one of GHL's webhook payload schemas.
func compileSchema(t testing.TB, path string) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("read schema %s: %v", path, err)
	}
	c := jsonschema.NewCompiler()
	url := "file:///" + filepath.Base(path)
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(url)
	if err != nil {
		t.Fatalf("compile schema %s: %v", path, err)
	}
	return s
}

func validate(t testing.TB, s *jsonschema.Schema, body []byte) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return err
	}
	return s.Validate(inst)
}

// TestParseExamples parses every GHL example payload, each validated
// against its schema first.
func TestParseExamples(t *testing.T) {
	dir := filepath.Join(sharedGHL(t), "webhooks")
	examples, err := filepath.Glob(filepath.Join(dir, "*.example.json"))
	if err != nil || len(examples) == 0 {
		t.Fatalf("no examples in %s (%v)", dir, err)
	}
	type want struct {
		ghlType, typ, resource, id, contact, location string
		fields                                        []string
	}
	contactFields := []string{"address1", "assignedTo", "city", "companyName", "country", "customFields",
		"dateOfBirth", "dnd", "email", "firstName", "lastName", "phone", "postalCode", "source", "state", "tags", "website"}
	contact := func(ghl, typ string, fields []string) want {
		return want{ghl, typ, ResourceContact, "nmFmQEsNgz6AVpgLVUJ0", "nmFmQEsNgz6AVpgLVUJ0", "ve9EPM428h8vShlRW1KT", fields}
	}
	appt := want{"AppointmentCreate", "appointment.created", ResourceAppointment, "0007BWpSzSwfiuSl0tR2", "9NkT25Vor1v4aQatFsv2", "0007BWpSzSwfiuSl0tR2",
		[]string{"address", "appointmentStatus", "assignedUserId", "calendarId", "contactId", "endTime", "notes", "startTime", "title"}}
	task := func(ghl, typ, id, contactID string, fields []string) want {
		return want{ghl, typ, ResourceTask, id, contactID, "ve9EPM428h8vShlRW1KT", fields}
	}
	note := func(ghl, typ string, fields []string) want {
		return want{ghl, typ, ResourceNote, "otg8dTQqGLh3Q6iQI55w", "CWBf1PR9LvvBkcYqiXlc", "ve9EPM428h8vShlRW1KT", fields}
	}
	taskFields := []string{"assignedTo", "body", "dueDate", "title"}
	wants := map[string]want{
		"ContactCreate":    contact("ContactCreate", "contact.created", contactFields),
		"ContactUpdate":    contact("ContactUpdate", "contact.updated", contactFields),
		"ContactDelete":    contact("ContactDelete", "contact.deleted", nil),
		"ContactTagUpdate": contact("ContactTagUpdate", "contact.tags_updated", []string{"tags"}),
		"ContactDndUpdate": contact("ContactDndUpdate", "contact.dnd_updated", []string{"dnd", "dndSettings"}),
		// GHL's doc bug: the Update and Delete examples say AppointmentCreate,
		// and the body's type is all ghlgate has to go on.
		"AppointmentCreate": appt,
		"AppointmentUpdate": appt,
		"AppointmentDelete": appt,
		"TaskCreate":        task("TaskCreate", "task.created", "UlRWGLSXh0ji5qbiGu4i", "CWBf1PR9LvvBkcYqiXlc", taskFields),
		"TaskComplete":      task("TaskComplete", "task.completed", "5HrB1IbmnKMBXloldFuP", "WFwVrSSjZ2CNHbZThQX2", taskFields),
		"TaskDelete":        task("TaskDelete", "task.deleted", "UlRWGLSXh0ji5qbiGu4i", "CWBf1PR9LvvBkcYqiXlc", nil),
		"NoteCreate":        note("NoteCreate", "note.created", []string{"body"}),
		"NoteUpdate":        note("NoteUpdate", "note.updated", []string{"body"}),
		"NoteDelete":        note("NoteDelete", "note.deleted", nil),
	}
	// The schema check can fail: a wrongly typed field is refused.
	if err := validate(t, compileSchema(t, filepath.Join(dir, "ContactCreate.schema.json")), []byte(`{"dnd":"yes"}`)); err == nil {
		t.Fatalf("validate({dnd: \"yes\"}) against ContactCreate.schema.json = nil; want an error")
	}
	if len(examples) != len(wants) {
		t.Errorf("found %d examples; want %d (a new one needs a case here)", len(examples), len(wants))
	}
	for _, ex := range examples {
		name := strings.TrimSuffix(filepath.Base(ex), ".example.json")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(ex)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate(t, compileSchema(t, filepath.Join(dir, name+".schema.json")), body); err != nil {
				t.Fatalf("example does not match its schema: %v", err)
			}
			w, ok := wants[name]
			if !ok {
				t.Fatalf("no expectation for %s", name)
			}
			in, err := Parse(body)
			if err != nil {
				t.Fatalf("Parse() = %v; want nil", err)
			}
			checks := []struct{ field, got, want string }{
				{"GHLType", in.GHLType, w.ghlType},
				{"Type", in.Type, w.typ},
				{"ResourceType", in.ResourceType, w.resource},
				{"ResourceID", in.ResourceID, w.id},
				{"ContactID", in.ContactID, w.contact},
				{"LocationID", in.LocationID, w.location},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("Parse().%s = %q; want %q", c.field, c.got, c.want)
				}
			}
			if !in.Known {
				t.Errorf("Parse().Known = false; want true")
			}
			var gotFields []string
			for k := range in.Fields {
				gotFields = append(gotFields, k)
			}
			if strings.Join(sorted(gotFields), ",") != strings.Join(w.fields, ",") {
				t.Errorf("Parse().Fields keys = %v; want %v", sorted(gotFields), w.fields)
			}
			if in.EchoKey != EchoKey(in.ResourceType, in.ResourceID, in.Fields) || !strings.HasPrefix(in.EchoKey, "echo1:") {
				t.Errorf("Parse().EchoKey = %q; want EchoKey of its fields", in.EchoKey)
			}
			if !bytes.Equal(in.Raw, body) {
				t.Errorf("Parse().Raw differs from the body")
			}
		})
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func TestParse(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantErr   error
		wantKnown bool
		wantType  string
		wantTime  time.Time
		wantWH    string
	}{
		{name: "install is unknown but kept", body: `{"type":"INSTALL","appId":"a","locationId":"l"}`, wantKnown: false},
		{name: "record event is unknown", body: `{"type":"RecordCreate","timestamp":"2026-07-01T12:00:00.000Z"}`, wantTime: t0},
		{name: "webhookId and timestamp read", body: `{"type":"NoteCreate","id":"n","webhookId":"w1","timestamp":"2026-07-01T12:00:00.000Z"}`,
			wantKnown: true, wantType: "note.created", wantTime: t0, wantWH: "w1"},
		{name: "not JSON", body: `nope`, wantErr: ErrInvalidBody},
		{name: "array", body: `[1]`, wantErr: ErrInvalidBody},
		{name: "null", body: `null`, wantErr: ErrInvalidBody},
		{name: "no type", body: `{"id":"x"}`, wantErr: ErrInvalidBody},
		{name: "type not a string", body: `{"type":3}`, wantErr: ErrInvalidBody},
		{name: "known type without id", body: `{"type":"ContactCreate"}`, wantErr: ErrInvalidBody},
		{name: "appointment without its object", body: `{"type":"AppointmentCreate","id":"a"}`, wantErr: ErrInvalidBody},
		{name: "webhookId not a string", body: `{"type":"NoteCreate","id":"n","webhookId":5}`, wantErr: ErrInvalidBody},
		{name: "bad timestamp", body: `{"type":"NoteCreate","id":"n","timestamp":"soon"}`, wantErr: ErrBadTimestamp},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, err := Parse([]byte(tc.body))
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("Parse(%s) error = %v; want %v", tc.body, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if in.Known != tc.wantKnown || in.Type != tc.wantType {
				t.Errorf("Parse(%s) = Known %v Type %q; want %v %q", tc.body, in.Known, in.Type, tc.wantKnown, tc.wantType)
			}
			if !in.Timestamp.Equal(tc.wantTime) || in.WebhookID != tc.wantWH {
				t.Errorf("Parse(%s) = timestamp %v webhookId %q; want %v %q", tc.body, in.Timestamp, in.WebhookID, tc.wantTime, tc.wantWH)
			}
			if !in.Known && (in.EchoKey != "" || in.Fields != nil) {
				t.Errorf("Parse(%s) of an unknown type has echo data %q %v; want none", tc.body, in.EchoKey, in.Fields)
			}
		})
	}
}
