package mocks

import (
	"encoding/json"
	"time"
)

// MutationKind is the kind of record a mutation touched.
type MutationKind string

// Kinds of Mutation.
const (
	KindContact   MutationKind = "contact"
	KindTask      MutationKind = "task"
	KindNote      MutationKind = "note"
	KindTags      MutationKind = "tags"
	KindFollowers MutationKind = "followers"
	KindCampaign  MutationKind = "campaign"
	KindWorkflow  MutationKind = "workflow"
)

// MutationAction is what happened to the record.
type MutationAction string

// Actions of Mutation.
const (
	ActionCreate      MutationAction = "create"
	ActionUpdate      MutationAction = "update"
	ActionDelete      MutationAction = "delete"
	ActionComplete    MutationAction = "complete"
	ActionTagsAdded   MutationAction = "tags_added"
	ActionTagsRemoved MutationAction = "tags_removed"
	ActionAdded       MutationAction = "added"
	ActionRemoved     MutationAction = "removed"
)

// Mutation describes one successful, saved change, for Options.OnMutation
// (and later GHL-style webhooks).
type Mutation struct {
	Dataset    string         `json:"dataset"`
	Seq        uint64         `json:"seq"` // increases by one per mutation of the dataset
	Kind       MutationKind   `json:"kind"`
	Action     MutationAction `json:"action"`
	LocationID string         `json:"locationId"`
	ContactID  string         `json:"contactId"`
	// ObjectID is the task's or note's id, the campaign's or workflow's id,
	// or the contact's id for contact and tags mutations.
	ObjectID string `json:"objectId"`
	// Object is the resulting record as the API shows it (for a delete, as
	// it was; for tags and followers, the contact). It is only filled when
	// OnMutation is set.
	Object json.RawMessage `json:"object,omitempty"`
	At     time.Time       `json:"at"`
}
