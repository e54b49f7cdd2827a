package mocks

import "context"

// TestContacts maps every testContactId of the dataset to its contact's id
// (the oldest contact when several share one), so a fixture can name seeded
// records by a stable name.
func (m *Mock) TestContacts() map[string]string {
	out := map[string]string{}
	if m.ensureLoaded(context.Background()) != nil {
		return out
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	oldest := map[string]*Contact{}
	for _, c := range m.st.Contacts {
		if c.TestContactID == "" {
			continue
		}
		if prev, ok := oldest[c.TestContactID]; !ok || compareContacts(c, prev) < 0 {
			oldest[c.TestContactID] = c
		}
	}
	for k, c := range oldest {
		out[k] = c.ID
	}
	return out
}
