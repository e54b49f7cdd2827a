package events

import (
	"encoding/json"
	"errors"
	"time"
)

// Source says where an event came from.
type Source string

const (
	// SourceGateway marks a change made through ghlgate.
	SourceGateway Source = "gateway"
	// SourceWebhook marks a change GHL reported by webhook.
	SourceWebhook Source = "ghl_webhook"
)

// Event statuses.
const (
	// StatusCaptured: the gateway saw the 2xx answer and confirmed its intent.
	StatusCaptured = "captured"
	// StatusReconciled: the answer was never confirmed (crash); the change was
	// found applied by reading the resource back at start.
	StatusReconciled = "reconciled"
	// StatusReceived: a webhook from GHL.
	StatusReceived = "received"
)

// Event is one change, as stored and as served to consumers.
type Event struct {
	// ID is a UUIDv7: unique, sortable by time, and the Standard Webhooks
	// webhook-id, so a consumer recognises a redelivery.
	ID string `json:"id"`
	// Seq is the cursor: assigned by the store at commit, strictly
	// increasing in commit order.
	Seq          int64  `json:"seq"`
	Type         string `json:"type"`
	Source       Source `json:"source"`
	Stage        string `json:"stage,omitempty"`
	Location     string `json:"location,omitempty"`
	ResourceType string `json:"resource_type,omitempty"`
	ResourceID   string `json:"resource_id,omitempty"`
	ContactID    string `json:"contact_id,omitempty"`
	Client       string `json:"client,omitempty"`
	RequestID    string `json:"request_id,omitempty"`
	// Fields holds the fields the request set (the request body), redacted.
	Fields json.RawMessage `json:"fields,omitempty"`
	// Resource is the resulting resource as the answer returned it, unwrapped
	// from GHL's envelope ({"contact": {...}} gives the contact), redacted.
	Resource json.RawMessage `json:"resource,omitempty"`
	Time     time.Time       `json:"time"`
	// Reconciled is true when the event was emitted at start from an intent
	// whose answer was never confirmed.
	Reconciled bool `json:"reconciled"`
	// Status is StatusCaptured, StatusReconciled or StatusReceived.
	Status string `json:"status"`
	// ConfirmedByGHLAt is when a GHL webhook echoed this gateway change.
	ConfirmedByGHLAt *time.Time `json:"confirmed_by_ghl_at,omitempty"`
	// Raw is the untouched webhook payload, kept for types this package does
	// not know and for audit.
	Raw json.RawMessage `json:"raw,omitempty"`
	// IntentID links a gateway event to the intent it closed.
	IntentID string `json:"intent_id,omitempty"`
	// ExternalID is GHL's webhookId when the payload carries one; the store
	// keeps it unique so a replayed webhook is not a second event.
	ExternalID string `json:"external_id,omitempty"`
}

// IntentStatus is the state of a recorded intent.
type IntentStatus string

const (
	// IntentPending: recorded before forwarding, answer not yet seen.
	IntentPending IntentStatus = "pending"
	// IntentConfirmed: closed by its event.
	IntentConfirmed IntentStatus = "confirmed"
	// IntentAbandoned: the answer was not 2xx, so nothing changed.
	IntentAbandoned IntentStatus = "abandoned"
	// IntentNotApplied: reconciliation proved the change did not happen.
	IntentNotApplied IntentStatus = "not_applied"
	// IntentUnknown: reconciliation could not tell; kept for review.
	IntentUnknown IntentStatus = "unknown"
)

// Intent is a mutation recorded before it is forwarded, with enough of the
// request to classify it and to find the resource again after a crash.
type Intent struct {
	ID          string            `json:"id"`
	Time        time.Time         `json:"time"`
	OperationID string            `json:"operation_id"`
	Method      string            `json:"method"`
	Path        string            `json:"path"`
	PathParams  map[string]string `json:"path_params,omitempty"`
	Stage       string            `json:"stage,omitempty"`
	Location    string            `json:"location,omitempty"`
	Client      string            `json:"client,omitempty"`
	RequestID   string            `json:"request_id,omitempty"`
	// RequestBody is kept unredacted: reconciliation needs it (an email, a
	// locationId) to search for a created resource whose id it never saw.
	// It is deleted when the intent closes.
	RequestBody json.RawMessage `json:"request_body,omitempty"`
	Status      IntentStatus    `json:"status"`
	Note        string          `json:"note,omitempty"`
}

var (
	// ErrIntentNotFound: no intent has that id.
	ErrIntentNotFound = errors.New("intent not found")
	// ErrIntentClosed: the intent was already abandoned or settled.
	ErrIntentClosed = errors.New("intent already closed")
	// ErrNotMutation: the operation changes nothing, so it has no event.
	ErrNotMutation = errors.New("operation is not a mutation")
	// ErrDuplicateWebhook: a webhook with this webhookId was already stored.
	ErrDuplicateWebhook = errors.New("duplicate webhook")
	// ErrEventNotFound: no event has that id.
	ErrEventNotFound = errors.New("event not found")
	// ErrStoreClosed: the store was closed.
	ErrStoreClosed = errors.New("event store closed")
)
