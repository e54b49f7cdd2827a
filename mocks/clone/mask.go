package clone

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rankr/ghlgate/mocks"
)

// MaskedText replaces every non-empty note body and task body when masking.
const MaskedText = "[masked]"

// Masker replaces personal data with stand-ins derived from an
// HMAC-SHA256, keyed with a secret salt, of the original value. The same
// value always gets the same stand-in (two contacts sharing an email share
// the masked email), so relations survive; without the salt nobody can
// confirm a guess by hashing it. Ids, and so every relation by id
// (task.contactId, note.contactId), are left as they are.
//
// What is replaced, and why:
//   - firstName, lastName (and name, firstNameLowerCase, lastNameLowerCase,
//     fullNameLowerCase, recomputed from them): a first name from a fixed
//     list, a last name from a list plus 4 hex digits ("Avery",
//     "Lane-3f9a"), so records stay readable and obviously fake.
//   - email (and emailLowerCase): "user-<12 hex>@example.test", a valid
//     address in a reserved domain; compared case-insensitively, so
//     "Ann@X.com" and "ann@x.com" mask alike. 48 bits make a collision
//     between different emails negligible.
//   - phone: "+1555" and 7 digits, a valid North American shape, compared on
//     its digits ("+1 (512) 555-0101" = "+15125550101"). 10^7 values do
//     collide in large locations, so Run first calls Reserve with every
//     phone of the batch, which gives colliding numbers distinct stand-ins
//     (in an order set by their hashes, not by the listing).
//   - address1: a house number and a street from a list.
//   - dateOfBirth: the year is kept (age-based flows still work); month and
//     day are derived.
//   - website: "https://site-<8 hex>.example.test".
//   - attributionSource.ip: an address in 192.0.2.0/24 (TEST-NET-1).
//   - note and task bodies: MaskedText. They are free text that often holds
//     personal data, and no reliable test tells when they do not.
//   - task and note titles are kept (they are usually "Call back"-like) but
//     any occurrence of the contact's own names, email or phone in them is
//     replaced by its stand-in.
//
// Kept as they are: companyName, city, state, postalCode, country,
// timezone, tags, source, custom field values, dndSettings, user ids. They
// are what tests of segmentation need, and rarely identify a person alone;
// custom fields may still hold personal data, which Masker cannot know.
type Masker struct {
	key []byte
	// phones maps a phone's digits to its stand-in, filled by Reserve.
	phones map[string]string
}

// NewMasker returns a Masker keyed with salt. Use a secret salt, and the
// same one across runs so that re-clones replace the same records with the
// same stand-ins.
func NewMasker(salt string) *Masker {
	return &Masker{key: []byte(salt), phones: map[string]string{}}
}

func (m *Masker) sum(kind, v string) []byte {
	h := hmac.New(sha256.New, m.key)
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write([]byte(v))
	return h.Sum(nil)
}

// normal folds case and spaces, so trivially different spellings mask
// alike.
func normal(v string) string { return strings.ToLower(strings.Join(strings.Fields(v), " ")) }

// FirstName masks a first name.
func (m *Masker) FirstName(v string) string {
	n := normal(v)
	if n == "" {
		return ""
	}
	return firstNames[int(m.sum("first", n)[0])%len(firstNames)]
}

// LastName masks a last name.
func (m *Masker) LastName(v string) string {
	n := normal(v)
	if n == "" {
		return ""
	}
	s := m.sum("last", n)
	return lastNames[int(s[0])%len(lastNames)] + "-" + hex.EncodeToString(s[1:3])
}

// Email masks an email address.
func (m *Masker) Email(v string) string {
	n := normal(v)
	if n == "" {
		return ""
	}
	return "user-" + hex.EncodeToString(m.sum("email", n)[:6]) + "@example.test"
}

// Phone masks a phone number: the stand-in Reserve chose, or the first
// candidate.
func (m *Masker) Phone(v string) string {
	d := digits(v)
	if d == "" {
		if strings.TrimSpace(v) == "" {
			return ""
		}
		d = normal(v) // not a number at all, still masked
	}
	if p, ok := m.phones[d]; ok {
		return p
	}
	return m.phoneCandidate(d, 0)
}

func (m *Masker) phoneCandidate(d string, k int) string {
	msg := d
	if k > 0 {
		msg += "#" + strconv.Itoa(k)
	}
	n := binary.BigEndian.Uint64(m.sum("phone", msg)[:8]) % 10_000_000
	return fmt.Sprintf("+1555%07d", n)
}

// Reserve gives every distinct phone of phones a distinct stand-in. Where
// several numbers share a first candidate, the one whose hash sorts first
// keeps it and the others take the next free candidate, so the outcome
// depends on the set of numbers, not on their order.
func (m *Masker) Reserve(phones []string) {
	used := map[string]bool{}
	for _, p := range m.phones {
		used[p] = true
	}
	byCandidate := map[string][]string{}
	seen := map[string]bool{}
	for _, p := range phones {
		d := digits(p)
		if d == "" || seen[d] || m.phones[d] != "" {
			continue
		}
		seen[d] = true
		c := m.phoneCandidate(d, 0)
		byCandidate[c] = append(byCandidate[c], d)
		used[c] = true
	}
	for _, c := range slices.Sorted(maps.Keys(byCandidate)) {
		ds := byCandidate[c]
		slices.SortFunc(ds, func(a, b string) int { return bytes.Compare(m.sum("phone", a), m.sum("phone", b)) })
		m.phones[ds[0]] = c
		for _, d := range ds[1:] {
			for k := 1; ; k++ {
				if alt := m.phoneCandidate(d, k); !used[alt] {
					used[alt] = true
					m.phones[d] = alt
					break
				}
			}
		}
	}
}

// Address masks a street address.
func (m *Masker) Address(v string) string {
	n := normal(v)
	if n == "" {
		return ""
	}
	s := m.sum("address", n)
	return fmt.Sprintf("%d %s", 1+int(binary.BigEndian.Uint16(s[1:3]))%9899, streets[int(s[0])%len(streets)])
}

// DateOfBirth keeps the year and derives month and day, in GHL's stored
// form (midnight UTC).
func (m *Masker) DateOfBirth(v string) string {
	n := strings.TrimSpace(v)
	if n == "" {
		return ""
	}
	year := 1990
	if len(n) >= 4 {
		if y, err := strconv.Atoi(n[:4]); err == nil && y >= 1900 && y <= 2100 {
			year = y
		}
	}
	s := m.sum("dob", n)
	return fmt.Sprintf("%04d-%02d-%02dT00:00:00.000Z", year, 1+int(s[0])%12, 1+int(s[1])%28)
}

// Website masks a web address.
func (m *Masker) Website(v string) string {
	n := normal(v)
	if n == "" {
		return ""
	}
	return "https://site-" + hex.EncodeToString(m.sum("website", n)[:4]) + ".example.test"
}

func (m *Masker) ip(v string) string {
	return "192.0.2." + strconv.Itoa(1+int(m.sum("ip", normal(v))[0])%254)
}

// Contact masks c in place and returns the masker for free text about it
// (its tasks' and notes' titles).
func (m *Masker) Contact(c *mocks.Contact) *TextMasker {
	first, last := c.FirstName, c.LastName
	if first == "" && last == "" && c.Name != "" {
		// Import would split it the same way.
		f, l, _ := strings.Cut(strings.TrimSpace(c.Name), " ")
		first, last = f, strings.TrimSpace(l)
	}
	tm := &TextMasker{}
	mf, ml := m.FirstName(first), m.LastName(last)
	tm.add(strings.TrimSpace(first+" "+last), strings.TrimSpace(mf+" "+ml))
	tm.add(first, mf)
	tm.add(last, ml)
	c.FirstName, c.LastName = mf, ml
	c.Name = strings.TrimSpace(mf + " " + ml)
	c.FirstNameLowerCase, c.LastNameLowerCase = strings.ToLower(mf), strings.ToLower(ml)
	c.FullNameLowerCase = strings.ToLower(c.Name)

	me := m.Email(c.Email)
	tm.add(c.Email, me)
	c.Email, c.EmailLowerCase = me, strings.ToLower(me)
	mp := m.Phone(c.Phone)
	tm.add(c.Phone, mp)
	c.Phone = mp
	ma := m.Address(c.Address1)
	tm.add(c.Address1, ma)
	c.Address1 = ma
	c.DateOfBirth = m.DateOfBirth(c.DateOfBirth)
	c.Website = m.Website(c.Website)
	if ip, ok := c.AttributionSource["ip"].(string); ok && ip != "" {
		a := maps.Clone(c.AttributionSource)
		a["ip"] = m.ip(ip)
		c.AttributionSource = a
	}
	slices.SortStableFunc(tm.pairs, func(a, b [2]string) int { return len(b[0]) - len(a[0]) })
	return tm
}

// Task masks a task of the contact tm came from.
func (tm *TextMasker) Task(t *mocks.Task) {
	if t.Body != "" {
		t.Body = MaskedText
	}
	t.Title = tm.Mask(t.Title)
}

// Note masks a note of the contact tm came from.
func (tm *TextMasker) Note(n *mocks.Note) {
	if n.Body != "" {
		n.Body = MaskedText
	}
	n.Title = tm.Mask(n.Title)
}

// TextMasker replaces a contact's own names, email, phone and address
// wherever they appear in a text, as whole words and ignoring case.
type TextMasker struct {
	pairs [][2]string // original → stand-in, longest original first
}

func (tm *TextMasker) add(orig, masked string) {
	if utf8.RuneCountInString(strings.TrimSpace(orig)) >= 2 {
		tm.pairs = append(tm.pairs, [2]string{strings.TrimSpace(orig), masked})
	}
}

// Mask replaces in one pass, so a stand-in is never masked again.
func (tm *TextMasker) Mask(s string) string {
	if len(tm.pairs) == 0 || s == "" {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		hit := false
		for _, p := range tm.pairs {
			end := i + len(p[0])
			if end <= len(s) && strings.EqualFold(s[i:end], p[0]) && wordEdge(s, i, end) {
				b.WriteString(p[1])
				i, hit = end, true
				break
			}
		}
		if !hit {
			_, size := utf8.DecodeRuneInString(s[i:])
			b.WriteString(s[i : i+size])
			i += size
		}
	}
	return b.String()
}

// wordEdge: s[i:end] is not glued to a letter or digit on either side.
func wordEdge(s string, i, end int) bool {
	if r, _ := utf8.DecodeLastRuneInString(s[:i]); i > 0 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
		return false
	}
	if r, _ := utf8.DecodeRuneInString(s[end:]); end < len(s) && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
		return false
	}
	return true
}

func digits(p string) string {
	var b strings.Builder
	for _, r := range p {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

var (
	firstNames = []string{
		"Alex", "Avery", "Blair", "Casey", "Charlie", "Dakota", "Drew", "Eden",
		"Elliot", "Emerson", "Finley", "Harper", "Hayden", "Jamie", "Jordan", "Jules",
		"Kai", "Kendall", "Lane", "Logan", "Morgan", "Noel", "Parker", "Peyton",
		"Quinn", "Reese", "Riley", "Robin", "Rowan", "Sage", "Skyler", "Taylor",
	}
	lastNames = []string{
		"Archer", "Bailey", "Brooks", "Carter", "Dalton", "Ellis", "Fisher", "Foster",
		"Garcia", "Hayes", "Hughes", "Jensen", "Keller", "Lambert", "Marsh", "Meyer",
		"Nolan", "Owens", "Palmer", "Perry", "Quincy", "Reed", "Russo", "Shaw",
		"Sutton", "Tanaka", "Turner", "Vance", "Walsh", "Weber", "Young", "Zimmer",
	}
	streets = []string{
		"Maple Street", "Oak Avenue", "Cedar Lane", "Pine Road", "Elm Court", "Birch Way",
		"Willow Drive", "Aspen Place", "Spruce Terrace", "Juniper Circle", "Laurel Boulevard", "Hazel Row",
	}
)
