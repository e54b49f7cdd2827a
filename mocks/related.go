package mocks

import (
	"net/http"
)

// taskOf finds a task of the path's contact. A task of another contact is
// "not found", as the pair (contactId, taskId) addresses it.
func taskOf(st *state, rq *request) (*Contact, *Task, error) {
	c, err := rq.contact(st)
	if err != nil {
		return nil, nil, err
	}
	t, ok := st.Tasks[rq.id]
	if !ok || t.ContactID != c.ID {
		return nil, nil, errTaskNotFound
	}
	return c, t, nil
}

// GET /contacts/{contactId}/tasks → {tasks}.
func listTasks(st *state, rq *request) (int, any, error) {
	c, err := rq.contact(st)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"tasks": nonNilSlice(st.tasksOf(c.ID))}, nil
}

// POST /contacts/{contactId}/tasks {title, dueDate, completed, body?,
// assignedTo?} → 201 {task}.
func createTask(st *state, rq *request) (int, any, error) {
	c, err := rq.contact(st)
	if err != nil {
		return 0, nil, err
	}
	f, err := parseFields(rq.body)
	if err != nil {
		return 0, nil, err
	}
	t := &Task{ContactID: c.ID, DateAdded: rq.stamp()}
	t.Title = f.requiredStr("title")
	t.DueDate, _ = f.isoDate("dueDate", true)
	t.Completed = f.requiredBool("completed")
	t.Body, _ = f.str("body", false)
	t.AssignedTo, _ = f.str("assignedTo", false)
	t.TestFlag, _ = f.boolean("testFlag")
	if err := f.err(); err != nil {
		return 0, nil, err
	}
	t.ID = rq.mock.newID(st)
	st.Tasks[t.ID] = t
	rq.mutate(st, KindTask, ActionCreate, c.LocationID, c.ID, t.ID, t)
	return http.StatusCreated, map[string]any{"task": t}, nil
}

// GET /contacts/{contactId}/tasks/{taskId} → {task}.
func getTask(st *state, rq *request) (int, any, error) {
	_, t, err := taskOf(st, rq)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"task": t}, nil
}

// PUT /contacts/{contactId}/tasks/{taskId} (all fields optional) → {task}.
func updateTask(st *state, rq *request) (int, any, error) {
	c, old, err := taskOf(st, rq)
	if err != nil {
		return 0, nil, err
	}
	f, err := parseFields(rq.body)
	if err != nil {
		return 0, nil, err
	}
	t := *old
	if v, ok := f.str("title", false); ok {
		t.Title = v
	}
	if v, ok := f.str("body", false); ok {
		t.Body = v
	}
	if v, ok := f.str("assignedTo", false); ok {
		t.AssignedTo = v
	}
	if v, ok := f.isoDate("dueDate", false); ok {
		t.DueDate = v
	}
	completed, hasCompleted := f.boolean("completed")
	if hasCompleted {
		t.Completed = completed
	}
	if err := f.err(); err != nil {
		return 0, nil, err
	}
	st.Tasks[t.ID] = &t
	action := ActionUpdate
	if hasCompleted && completed && !old.Completed {
		action = ActionComplete
	}
	rq.mutate(st, KindTask, action, c.LocationID, c.ID, t.ID, &t)
	return http.StatusOK, map[string]any{"task": &t}, nil
}

// PUT /contacts/{contactId}/tasks/{taskId}/completed {completed} → {task}.
func completeTask(st *state, rq *request) (int, any, error) {
	c, old, err := taskOf(st, rq)
	if err != nil {
		return 0, nil, err
	}
	f, err := parseFields(rq.body)
	if err != nil {
		return 0, nil, err
	}
	completed := f.requiredBool("completed")
	if err := f.err(); err != nil {
		return 0, nil, err
	}
	t := *old
	t.Completed = completed
	st.Tasks[t.ID] = &t
	action := ActionUpdate
	if completed {
		action = ActionComplete
	}
	rq.mutate(st, KindTask, action, c.LocationID, c.ID, t.ID, &t)
	return http.StatusOK, map[string]any{"task": &t}, nil
}

// DELETE /contacts/{contactId}/tasks/{taskId} → {succeded: true}.
func deleteTask(st *state, rq *request) (int, any, error) {
	c, t, err := taskOf(st, rq)
	if err != nil {
		return 0, nil, err
	}
	delete(st.Tasks, t.ID)
	rq.mutate(st, KindTask, ActionDelete, c.LocationID, c.ID, t.ID, t)
	return http.StatusOK, map[string]any{"succeded": true}, nil
}

func noteOf(st *state, rq *request) (*Contact, *Note, error) {
	c, err := rq.contact(st)
	if err != nil {
		return nil, nil, err
	}
	n, ok := st.Notes[rq.id]
	if !ok || n.ContactID != c.ID {
		return nil, nil, errNoteNotFound
	}
	return c, n, nil
}

// GET /contacts/{contactId}/notes → {notes}, newest first.
func listNotes(st *state, rq *request) (int, any, error) {
	c, err := rq.contact(st)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"notes": nonNilSlice(st.notesOf(c.ID))}, nil
}

func applyNote(n *Note, f *fields) {
	if v, ok := f.str("userId", false); ok {
		n.UserID = v
	}
	if v, ok := f.str("title", false); ok {
		n.Title = v
	}
	if v, ok := f.str("color", false); ok {
		n.Color = v
	}
	if v, ok := f.boolean("pinned"); ok {
		n.Pinned = v
	}
	if v, ok := f.boolean("testFlag"); ok {
		n.TestFlag = v
	}
}

// POST /contacts/{contactId}/notes {body, userId?, ...} → 201 {note}.
func createNote(st *state, rq *request) (int, any, error) {
	c, err := rq.contact(st)
	if err != nil {
		return 0, nil, err
	}
	f, err := parseFields(rq.body)
	if err != nil {
		return 0, nil, err
	}
	n := &Note{ContactID: c.ID, DateAdded: rq.stamp()}
	n.Body = f.requiredStr("body")
	applyNote(n, f)
	if err := f.err(); err != nil {
		return 0, nil, err
	}
	n.ID = rq.mock.newID(st)
	st.Notes[n.ID] = n
	rq.mutate(st, KindNote, ActionCreate, c.LocationID, c.ID, n.ID, n)
	return http.StatusCreated, map[string]any{"note": n}, nil
}

// GET /contacts/{contactId}/notes/{id} → {note}.
func getNote(st *state, rq *request) (int, any, error) {
	_, n, err := noteOf(st, rq)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"note": n}, nil
}

// PUT /contacts/{contactId}/notes/{id} (all fields optional) → {note}.
func updateNote(st *state, rq *request) (int, any, error) {
	c, old, err := noteOf(st, rq)
	if err != nil {
		return 0, nil, err
	}
	f, err := parseFields(rq.body)
	if err != nil {
		return 0, nil, err
	}
	n := *old
	if v, ok := f.str("body", false); ok {
		n.Body = v
	}
	applyNote(&n, f)
	if err := f.err(); err != nil {
		return 0, nil, err
	}
	st.Notes[n.ID] = &n
	rq.mutate(st, KindNote, ActionUpdate, c.LocationID, c.ID, n.ID, &n)
	return http.StatusOK, map[string]any{"note": &n}, nil
}

// DELETE /contacts/{contactId}/notes/{id} → {succeded: true}.
func deleteNote(st *state, rq *request) (int, any, error) {
	c, n, err := noteOf(st, rq)
	if err != nil {
		return 0, nil, err
	}
	delete(st.Notes, n.ID)
	rq.mutate(st, KindNote, ActionDelete, c.LocationID, c.ID, n.ID, n)
	return http.StatusOK, map[string]any{"succeded": true}, nil
}

// GET /contacts/{contactId}/appointments → {events}.
func listAppointments(st *state, rq *request) (int, any, error) {
	c, err := rq.contact(st)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"events": nonNilSlice(st.appointmentsOf(c.ID))}, nil
}

// changeTags is add-tags and remove-tags: both take {tags}, both answer the
// contact's full tag set, and both are idempotent (a no-op records no
// mutation).
func changeTags(st *state, rq *request, add bool) (int, any, error) {
	old, err := contactOf(st, rq.contactID)
	if err != nil {
		return 0, nil, err
	}
	rq.location = old.LocationID
	f, err := parseFields(rq.body)
	if err != nil {
		return 0, nil, err
	}
	tags := f.requiredStrs("tags")
	if err := f.err(); err != nil {
		return 0, nil, err
	}
	next, action, status := withoutTags(old.Tags, tags), ActionTagsRemoved, http.StatusOK
	if add {
		next, action, status = normalizeTags(append(append([]string{}, old.Tags...), tags...)), ActionTagsAdded, http.StatusCreated
	}
	if sameTags(old.Tags, next) {
		return status, map[string]any{"tags": next}, nil
	}
	c := old.clone()
	c.Tags, c.DateUpdated = next, rq.stamp()
	st.Contacts[c.ID] = c
	rq.mutate(st, KindTags, action, c.LocationID, c.ID, c.ID, c)
	return status, map[string]any{"tags": next}, nil
}

// POST /contacts/{contactId}/tags {tags} → 201 {tags}.
func addTags(st *state, rq *request) (int, any, error) { return changeTags(st, rq, true) }

// DELETE /contacts/{contactId}/tags {tags} → 200 {tags}.
func removeTags(st *state, rq *request) (int, any, error) { return changeTags(st, rq, false) }

// changeFollowers is add-followers-contact (201 {followers,
// followersAdded}) and remove-followers-contact (200 {followers,
// followersRemoved}).
func changeFollowers(st *state, rq *request, add bool) (int, any, error) {
	old, err := contactOf(st, rq.contactID)
	if err != nil {
		return 0, nil, err
	}
	rq.location = old.LocationID
	f, err := parseFields(rq.body)
	if err != nil {
		return 0, nil, err
	}
	given := f.requiredStrs("followers")
	if err := f.err(); err != nil {
		return 0, nil, err
	}
	next := append([]string{}, old.Followers...)
	changed := []string{}
	for _, id := range given {
		has := contains(next, id)
		switch {
		case add && !has:
			next = append(next, id)
			changed = append(changed, id)
		case !add && has:
			next = withoutString(next, id)
			changed = append(changed, id)
		}
	}
	status, key, action := http.StatusOK, "followersRemoved", ActionRemoved
	if add {
		status, key, action = http.StatusCreated, "followersAdded", ActionAdded
	}
	if len(changed) > 0 {
		c := old.clone()
		c.Followers, c.DateUpdated = next, rq.stamp()
		st.Contacts[c.ID] = c
		rq.mutate(st, KindFollowers, action, c.LocationID, c.ID, c.ID, c)
	}
	return status, map[string]any{"followers": next, key: changed}, nil
}

func addFollowers(st *state, rq *request) (int, any, error) {
	return changeFollowers(st, rq, true)
}

func removeFollowers(st *state, rq *request) (int, any, error) {
	return changeFollowers(st, rq, false)
}

func withoutString(list []string, s string) []string {
	out := list[:0:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// membership is campaigns and workflows: a set of ids per contact.
func membership(st *state, rq *request, set map[string][]string, kind MutationKind, add bool, status int) (int, any, error) {
	c, err := rq.contact(st)
	if err != nil {
		return 0, nil, err
	}
	if _, err := parseFields(rq.body); err != nil {
		return 0, nil, err
	}
	have := set[c.ID]
	switch {
	case add && !contains(have, rq.id):
		set[c.ID] = append(append([]string{}, have...), rq.id)
		rq.mutate(st, kind, ActionAdded, c.LocationID, c.ID, rq.id, nil)
	case !add && contains(have, rq.id):
		set[c.ID] = withoutString(have, rq.id)
		rq.mutate(st, kind, ActionRemoved, c.LocationID, c.ID, rq.id, nil)
	}
	return status, map[string]any{"succeded": true}, nil
}

// POST /contacts/{contactId}/campaigns/{campaignId} → 201 {succeded}.
func addCampaign(st *state, rq *request) (int, any, error) {
	return membership(st, rq, st.Campaigns, KindCampaign, true, http.StatusCreated)
}

// DELETE /contacts/{contactId}/campaigns/{campaignId} → 200 {succeded}.
func removeCampaign(st *state, rq *request) (int, any, error) {
	return membership(st, rq, st.Campaigns, KindCampaign, false, http.StatusOK)
}

// DELETE /contacts/{contactId}/campaigns/removeAll → 200 {succeded}.
func removeAllCampaigns(st *state, rq *request) (int, any, error) {
	c, err := rq.contact(st)
	if err != nil {
		return 0, nil, err
	}
	for _, id := range st.Campaigns[c.ID] {
		rq.mutate(st, KindCampaign, ActionRemoved, c.LocationID, c.ID, id, nil)
	}
	delete(st.Campaigns, c.ID)
	return http.StatusOK, map[string]any{"succeded": true}, nil
}

// POST /contacts/{contactId}/workflow/{workflowId} → 200 {succeded}.
func addWorkflow(st *state, rq *request) (int, any, error) {
	return membership(st, rq, st.Workflows, KindWorkflow, true, http.StatusOK)
}

// DELETE /contacts/{contactId}/workflow/{workflowId} → 200 {succeded}.
func removeWorkflow(st *state, rq *request) (int, any, error) {
	return membership(st, rq, st.Workflows, KindWorkflow, false, http.StatusOK)
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// contact finds the contact the request's path names and records its
// location on the request (for the rate-limit headers and mutations).
func (rq *request) contact(st *state) (*Contact, error) {
	c, err := contactOf(st, rq.contactID)
	if err != nil {
		return nil, err
	}
	rq.location = c.LocationID
	return c, nil
}
