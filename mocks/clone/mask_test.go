package clone

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rankr/ghlgate/mocks"
)

func TestMaskerSameInputSameStandIn(t *testing.T) {
	m := NewMasker(salt)
	cases := []struct {
		name    string
		f       func(string) string
		a, b    string
		wantEqu bool
	}{
		{"email ignores case and spaces", m.Email, "Ann@Example.COM", " ann@example.com ", true},
		{"different emails", m.Email, "ann@example.com", "ann2@example.com", false},
		{"phone compared on digits", m.Phone, "+1 (512) 555-0101", "+15125550101", true},
		{"different phones", m.Phone, "+15125550101", "+15125550102", false},
		{"first name ignores case", m.FirstName, "Ada", "ADA", true},
		{"last name ignores case", m.LastName, "Lovelace", "lovelace", true},
		{"different last names", m.LastName, "Lovelace", "Hopper", false},
		{"address folds spaces", m.Address, "1 Main  St", "1 main st", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := tc.f(tc.a), tc.f(tc.b)
			if (a == b) != tc.wantEqu {
				t.Errorf("mask(%q) = %q, mask(%q) = %q; want equal %v", tc.a, a, tc.b, b, tc.wantEqu)
			}
			if a == tc.a || a == "" {
				t.Errorf("mask(%q) = %q; want a non-empty stand-in", tc.a, a)
			}
			if again := tc.f(tc.a); again != a {
				t.Errorf("mask(%q) twice = %q, %q; want the same", tc.a, a, again)
			}
		})
	}
	if e1, e2 := NewMasker("one").Email("a@b.c"), NewMasker("two").Email("a@b.c"); e1 == e2 {
		t.Errorf("Email under two salts = %q, %q; want different", e1, e2)
	}
	for _, f := range []func(string) string{m.Email, m.Phone, m.FirstName, m.LastName, m.Address, m.Website, m.DateOfBirth} {
		if got := f(""); got != "" {
			t.Errorf("mask(\"\") = %q; want empty kept empty", got)
		}
	}
}

func TestMaskerShapes(t *testing.T) {
	m := NewMasker(salt)
	cases := []struct {
		name, got, prefix, suffix string
		length                    int
	}{
		{"email", m.Email("ann@example.com"), "user-", "@example.test", len("user-") + 12 + len("@example.test")},
		{"phone", m.Phone("+44 20 7946 0958"), "+1555", "", 12},
		{"website", m.Website("https://ann.example.com"), "https://site-", ".example.test", len("https://site-") + 8 + len(".example.test")},
		{"dateOfBirth keeps the year", m.DateOfBirth("1984-07-09T00:00:00.000Z"), "1984-", "T00:00:00.000Z", 24},
		{"dateOfBirth, unreadable year", m.DateOfBirth("July 9th"), "1990-", "T00:00:00.000Z", 24},
	}
	for _, tc := range cases {
		if !strings.HasPrefix(tc.got, tc.prefix) || !strings.HasSuffix(tc.got, tc.suffix) || len(tc.got) != tc.length {
			t.Errorf("%s = %q; want %s…%s, %d bytes", tc.name, tc.got, tc.prefix, tc.suffix, tc.length)
		}
	}
	if p := m.Phone("+44 20 7946 0958"); strings.Trim(p[1:], "0123456789") != "" {
		t.Errorf("phone = %q; want + and digits only", p)
	}
}

// collidingPhones finds two numbers whose first stand-ins collide (10^7
// values: a few thousand numbers suffice).
func collidingPhones(t *testing.T, m *Masker) (string, string) {
	t.Helper()
	seen := map[string]string{}
	for i := range 200_000 {
		p := fmt.Sprintf("+1512%07d", i)
		c := m.phoneCandidate(digits(p), 0)
		if prev, ok := seen[c]; ok {
			return prev, p
		}
		seen[c] = p
	}
	t.Fatal("no colliding phones found")
	return "", ""
}

func TestMaskerReserveSeparatesCollidingPhones(t *testing.T) {
	a, b := collidingPhones(t, NewMasker(salt))
	if NewMasker(salt).Phone(a) != NewMasker(salt).Phone(b) {
		t.Fatalf("unreserved Phone(%s) and Phone(%s) differ; want the collision this test needs", a, b)
	}
	m1, m2 := NewMasker(salt), NewMasker(salt)
	m1.Reserve([]string{a, b, a})
	m2.Reserve([]string{b, a})
	if m1.Phone(a) == m1.Phone(b) {
		t.Errorf("after Reserve Phone(%s) = Phone(%s) = %s; want distinct", a, b, m1.Phone(a))
	}
	if m1.Phone(a) != m2.Phone(a) || m1.Phone(b) != m2.Phone(b) {
		t.Errorf("Reserve depends on order: %s→%s/%s, %s→%s/%s", a, m1.Phone(a), m2.Phone(a), b, m1.Phone(b), m2.Phone(b))
	}
	// A formatted spelling of a reserved number gets its stand-in.
	if f := "+1 512 " + a[5:]; m1.Phone(f) != m1.Phone(a) {
		t.Errorf("Phone(%q) = %s; want %s like %s", f, m1.Phone(f), m1.Phone(a), a)
	}
}

func TestMaskContact(t *testing.T) {
	m := NewMasker(salt)
	c := mocks.Contact{
		ID: "Contact0000000000001", FirstName: "Ada", LastName: "Lovelace", Email: "Ada@Example.com",
		Phone: "+15125550101", Address1: "12 Marylebone Road", City: "London", CompanyName: "Analytical Engines",
		Website: "https://ada.example.com", DateOfBirth: "1815-12-10T00:00:00.000Z", Tags: []string{"vip"},
		CustomFields:      []mocks.CustomField{{ID: "cf1", Value: "kept"}},
		AttributionSource: map[string]any{"url": "https://example.com/form", "ip": "203.0.113.7"},
	}
	orig := c
	tm := m.Contact(&c)
	if c.ID != orig.ID || c.City != orig.City || c.CompanyName != orig.CompanyName || c.CustomFields[0].Value != "kept" || c.Tags[0] != "vip" {
		t.Errorf("Contact() changed kept fields: %+v", c)
	}
	if c.FirstName == orig.FirstName || c.LastName == orig.LastName || c.Email == orig.Email || c.Phone == orig.Phone ||
		c.Address1 == orig.Address1 || c.Website == orig.Website || c.DateOfBirth == orig.DateOfBirth {
		t.Errorf("Contact() left personal data: %+v", c)
	}
	if c.Name != c.FirstName+" "+c.LastName || c.EmailLowerCase != c.Email || c.FullNameLowerCase != strings.ToLower(c.Name) {
		t.Errorf("derived fields = %q, %q, %q; want them from the masked values", c.Name, c.EmailLowerCase, c.FullNameLowerCase)
	}
	if ip := c.AttributionSource["ip"]; ip == "203.0.113.7" || !strings.HasPrefix(ip.(string), "192.0.2.") {
		t.Errorf("attributionSource.ip = %v; want a 192.0.2.x stand-in", ip)
	}
	if orig.AttributionSource["ip"] != "203.0.113.7" {
		t.Errorf("Contact() changed the caller's attributionSource map")
	}

	titles := []struct{ in, want string }{
		{"Call Ada Lovelace back", "Call " + c.Name + " back"},
		{"Call ADA back", "Call " + c.FirstName + " back"},
		{"Email ada@example.com the offer", "Email " + c.Email + " the offer"},
		{"Ring +15125550101", "Ring " + c.Phone},
		{"Visit 12 Marylebone Road", "Visit " + c.Address1},
		{"Adam's invoice (not her name)", "Adam's invoice (not her name)"},
		{"Lovelace-Byrne meeting", c.LastName + "-Byrne meeting"},
		{"Follow up", "Follow up"},
	}
	for _, tc := range titles {
		task := mocks.Task{Title: tc.in, Body: "Ada's number is +15125550101"}
		tm.Task(&task)
		if task.Title != tc.want || task.Body != MaskedText {
			t.Errorf("Task(title %q) = title %q, body %q; want %q, %q", tc.in, task.Title, task.Body, tc.want, MaskedText)
		}
	}
	n := mocks.Note{Title: "About Ada", Body: "private"}
	tm.Note(&n)
	if n.Title != "About "+c.FirstName || n.Body != MaskedText {
		t.Errorf("Note() = title %q, body %q; want %q, %q", n.Title, n.Body, "About "+c.FirstName, MaskedText)
	}
	empty := mocks.Note{}
	tm.Note(&empty)
	if empty.Body != "" {
		t.Errorf("Note(empty body) = %q; want empty kept", empty.Body)
	}
}

func TestMaskContactWithOnlyName(t *testing.T) {
	c := mocks.Contact{Name: "Grace Brewster Hopper"}
	NewMasker(salt).Contact(&c)
	if c.FirstName == "" || c.LastName == "" || strings.Contains(c.Name, "Grace") || strings.Contains(c.Name, "Hopper") {
		t.Errorf("Contact(name only) = first %q, last %q, name %q; want masked first and last", c.FirstName, c.LastName, c.Name)
	}
}
