package webhooks

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Change is one mutation of the mock, to be announced GHL-style.
type Change struct {
	// GHLType is the webhook type (ContactCreate, TaskComplete, ...).
	GHLType string
	// LocationID is the sub-account the change happened in.
	LocationID string
	// ContactID fills "contactId" of task and note payloads when Object
	// lacks it. Optional.
	ContactID string
	// Object is the resulting record as the API shows it: a contact, task,
	// note or appointment.
	Object map[string]any
}

// Payload fields GHL sends per event family, in its documented order
// (FACTS §5.1). Anything else the API record has is left out.
var (
	contactPayloadFields = []string{"id", "address1", "city", "state", "companyName", "country", "source",
		"dateAdded", "dateOfBirth", "dnd", "email", "name", "firstName", "lastName", "phone", "postalCode",
		"tags", "website", "attachments", "assignedTo", "customFields"}
	taskPayloadFields        = []string{"id", "assignedTo", "body", "contactId", "title", "dateAdded", "dueDate"}
	notePayloadFields        = []string{"id", "body", "contactId", "dateAdded"}
	appointmentPayloadFields = []string{"id", "address", "title", "calendarId", "contactId", "groupId",
		"appointmentStatus", "assignedUserId", "users", "notes", "source", "startTime", "endTime",
		"dateAdded", "dateUpdated"}
)

// GHLTypeForMutation maps the mock's mutation kind and action (the string
// values of mocks.MutationKind and mocks.MutationAction) to the webhook GHL
// sends for it. ok is false when GHL sends none: task updates (there is no
// TaskUpdate event), followers, campaigns, workflows.
func GHLTypeForMutation(kind, action string) (ghlType string, ok bool) {
	switch kind {
	case "contact":
		switch action {
		case "create":
			return "ContactCreate", true
		case "update":
			return "ContactUpdate", true
		case "delete":
			return "ContactDelete", true
		}
	case "tags":
		return "ContactTagUpdate", true
	case "task":
		switch action {
		case "create":
			return "TaskCreate", true
		case "complete":
			return "TaskComplete", true
		case "delete":
			return "TaskDelete", true
		}
	case "note":
		switch action {
		case "create":
			return "NoteCreate", true
		case "update":
			return "NoteUpdate", true
		case "delete":
			return "NoteDelete", true
		}
	case "appointment":
		switch action {
		case "create":
			return "AppointmentCreate", true
		case "update":
			return "AppointmentUpdate", true
		case "delete":
			return "AppointmentDelete", true
		}
	}
	return "", false
}

// ChangeFromMutation turns a mock mutation (mocks.Mutation's Kind, Action,
// LocationID, ContactID and Object, passed as plain values so this package
// does not import the mock) into a Change. ok is false when GHL would send
// no webhook for it.
func ChangeFromMutation(kind, action, locationID, contactID string, object json.RawMessage) (ch Change, ok bool, err error) {
	ghlType, ok := GHLTypeForMutation(kind, action)
	if !ok {
		return Change{}, false, nil
	}
	var obj map[string]any
	dec := json.NewDecoder(bytes.NewReader(object))
	dec.UseNumber() // numbers go back out exactly as the mock wrote them
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return Change{}, false, fmt.Errorf("mutation %s/%s: object is not a JSON object", kind, action)
	}
	return Change{GHLType: ghlType, LocationID: locationID, ContactID: contactID, Object: obj}, true, nil
}

// ErrQueueFull: Emit found the emitter's queue full and dropped the change.
var ErrQueueFull = errors.New("webhook emitter queue full")

// ErrEmitterClosed: Emit was called after Close.
var ErrEmitterClosed = errors.New("webhook emitter closed")

// Delivery reports how one emitted webhook ended, for EmitterConfig.OnDelivery.
type Delivery struct {
	WebhookID string
	GHLType   string
	// Status is the receiver's last HTTP status, 0 when none came.
	Status   int
	Attempts int
	Err      error
}

// EmitterConfig configures an Emitter. Zero values take the defaults named.
type EmitterConfig struct {
	// URL receives the webhooks: by default ghlgate's own /webhooks/ghl.
	URL string
	// PrivateKey signs x-ghl-signature. Default MockPrivateKey().
	PrivateKey ed25519.PrivateKey
	// Client posts. Default: a client with a 10s timeout.
	Client *http.Client
	// Now stamps "timestamp". Default time.Now.
	Now func() time.Time
	// NewID makes "webhookId". Default a UUIDv7.
	NewID func() string
	// Logger gets a line per failed delivery. Default: discard.
	Logger *slog.Logger
	// QueueSize bounds the changes waiting to be sent. Default 256.
	QueueSize int
	// MaxAttempts bounds tries per webhook. Default 7: the first and GHL's
	// 6 retries.
	MaxAttempts int
	// RetryDelay is the wait after a 429 without a usable Retry-After.
	// Default 5s (GHL waits about 10 minutes; a local loop need not).
	RetryDelay time.Duration
	// MaxRetryDelay caps a receiver's Retry-After. Default 1m.
	MaxRetryDelay time.Duration
	// After is the timer, injectable so tests never sleep. Default time.After.
	After func(time.Duration) <-chan time.Time
	// OnDelivery, when set, is called after each webhook's last attempt.
	OnDelivery func(Delivery)
}

// Emitter sends GHL-style webhooks for the mock's mutations: GHL's payload
// shapes, signed over the exact bytes with Ed25519 in x-ghl-signature,
// posted asynchronously in order from a bounded queue, retried only on 429
// as GHL does.
type Emitter struct {
	cfg    EmitterConfig
	queue  chan outbound
	stop   chan struct{}
	done   chan struct{}
	mu     sync.RWMutex // guards closed against Emit's send
	closed bool
	once   sync.Once // closes stop
}

type outbound struct {
	id, ghlType string
	body        []byte
	sig         string
}

// NewEmitter starts the emitter's sender; Close stops it.
func NewEmitter(cfg EmitterConfig) (*Emitter, error) {
	if cfg.URL == "" {
		return nil, errors.New("webhook emitter: URL is required")
	}
	if cfg.PrivateKey == nil {
		cfg.PrivateKey = MockPrivateKey()
	}
	if len(cfg.PrivateKey) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("webhook emitter: private key has %d bytes; want %d", len(cfg.PrivateKey), ed25519.PrivateKeySize)
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewID == nil {
		cfg.NewID = func() string { return uuid.Must(uuid.NewV7()).String() }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 256
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 7
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = 5 * time.Second
	}
	if cfg.MaxRetryDelay <= 0 {
		cfg.MaxRetryDelay = time.Minute
	}
	if cfg.After == nil {
		cfg.After = time.After
	}
	e := &Emitter{
		cfg:   cfg,
		queue: make(chan outbound, cfg.QueueSize),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	go e.run()
	return e, nil
}

// Build returns the payload for ch and its x-ghl-signature, exactly as
// Emit would send them.
func (e *Emitter) Build(ch Change) (body []byte, signature, webhookID string, err error) {
	webhookID = e.cfg.NewID()
	body, err = BuildPayload(ch, webhookID, e.cfg.Now())
	if err != nil {
		return nil, "", "", err
	}
	return body, Sign(e.cfg.PrivateKey, body), webhookID, nil
}

// Sign returns the base64 Ed25519 signature of body, as x-ghl-signature.
func Sign(key ed25519.PrivateKey, body []byte) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(key, body))
}

// BuildPayload writes GHL's shape for ch (FACTS §5.1): "type" and
// "locationId" first, then the documented fields of the family in order
// (flat for contacts, tasks and notes; under "appointment" for
// appointments; ContactDndUpdate adds dndSettings), then "webhookId" and
// "timestamp" (ISO, milliseconds), which [WA] says GHL adds.
func BuildPayload(ch Change, webhookID string, now time.Time) ([]byte, error) {
	e, ok := eventTypes[ch.GHLType]
	if !ok {
		return nil, fmt.Errorf("build webhook: unsupported type %q", ch.GHLType)
	}
	if str(ch.Object["id"]) == "" {
		return nil, fmt.Errorf("build webhook %s: object has no id", ch.GHLType)
	}
	var b bytes.Buffer
	b.WriteByte('{')
	w := &objWriter{b: &b}
	w.field("type", ch.GHLType)
	w.field("locationId", ch.LocationID)
	obj := ch.Object
	switch e.resource {
	case ResourceContact:
		fields := contactPayloadFields
		if ch.GHLType == "ContactDndUpdate" {
			// dndSettings follows dnd, as in GHL's example.
			fields = append(append(append([]string{}, fields[:10]...), "dndSettings"), fields[10:]...)
		}
		for _, k := range fields {
			v, ok := obj[k]
			if !ok && (k == "attachments" || k == "tags" || k == "customFields") {
				v, ok = []any{}, true // GHL's examples always carry these lists
			}
			if ok {
				w.field(k, v)
			}
		}
	case ResourceTask, ResourceNote:
		fields := taskPayloadFields
		if e.resource == ResourceNote {
			fields = notePayloadFields
		}
		for _, k := range fields {
			v, ok := obj[k]
			if k == "contactId" && (!ok || v == "") && ch.ContactID != "" {
				v, ok = ch.ContactID, true
			}
			if ok {
				w.field(k, v)
			}
		}
	case ResourceAppointment:
		var inner bytes.Buffer
		inner.WriteByte('{')
		iw := &objWriter{b: &inner}
		for _, k := range appointmentPayloadFields {
			if v, ok := obj[k]; ok {
				iw.field(k, v)
			}
		}
		inner.WriteByte('}')
		w.field("appointment", json.RawMessage(inner.Bytes()))
	}
	w.field("webhookId", webhookID)
	w.field("timestamp", now.UTC().Format("2006-01-02T15:04:05.000Z"))
	if w.err != nil {
		return nil, fmt.Errorf("build webhook %s: %w", ch.GHLType, w.err)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// objWriter appends "key":value members to a JSON object in call order.
type objWriter struct {
	b   *bytes.Buffer
	n   int
	err error
}

func (w *objWriter) field(k string, v any) {
	if w.err != nil {
		return
	}
	val, err := json.Marshal(v)
	if err != nil {
		w.err = fmt.Errorf("field %s: %w", k, err)
		return
	}
	if w.n > 0 {
		w.b.WriteByte(',')
	}
	key, _ := json.Marshal(k)
	w.b.Write(key)
	w.b.WriteByte(':')
	w.b.Write(val)
	w.n++
}

// Emit builds and signs the webhook for ch and queues it. It never blocks:
// with the queue full it drops the change and returns ErrQueueFull (the
// mock's write has already succeeded; a lost webhook is what GHL's own
// at-most-a-few-retries delivery can also produce).
func (e *Emitter) Emit(ctx context.Context, ch Change) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	body, sig, id, err := e.Build(ch)
	if err != nil {
		return err
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return ErrEmitterClosed
	}
	select {
	case e.queue <- outbound{id: id, ghlType: ch.GHLType, body: body, sig: sig}:
		return nil
	default:
		e.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "mock webhook dropped: queue full",
			slog.String("webhook_id", id), slog.String("type", ch.GHLType))
		return ErrQueueFull
	}
}

// Close stops accepting changes, sends what is queued (unless ctx ends
// first) and waits for the sender to stop.
func (e *Emitter) Close(ctx context.Context) error {
	e.mu.Lock()
	if !e.closed {
		e.closed = true
		close(e.queue)
	}
	e.mu.Unlock()
	select {
	case <-e.done:
		return nil
	case <-ctx.Done():
		e.once.Do(func() { close(e.stop) })
		<-e.done
		return ctx.Err()
	}
}

// run sends queued webhooks one at a time, so the receiver sees them in
// mutation order (a retry holds back the ones behind it, as ordering
// matters more to a sync loop than throughput does here).
func (e *Emitter) run() {
	defer close(e.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-e.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	for o := range e.queue {
		d := e.deliver(ctx, o)
		if d.Err != nil {
			e.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "mock webhook not delivered",
				slog.String("webhook_id", o.id), slog.String("type", o.ghlType),
				slog.Int("status", d.Status), slog.Int("attempts", d.Attempts),
				slog.String("error", d.Err.Error()))
		}
		if e.cfg.OnDelivery != nil {
			e.cfg.OnDelivery(d)
		}
	}
}

// ErrNotDelivered: the receiver answered something other than 2xx, or 429
// until the attempts ran out.
var ErrNotDelivered = errors.New("webhook not delivered")

// deliver posts o, retrying on 429 only; any other answer is final, as
// with GHL. A transport error is final too: GHL documents no retry for it.
func (e *Emitter) deliver(ctx context.Context, o outbound) Delivery {
	d := Delivery{WebhookID: o.id, GHLType: o.ghlType}
	for d.Attempts < e.cfg.MaxAttempts {
		d.Attempts++
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.cfg.URL, bytes.NewReader(o.body))
		if err != nil {
			d.Err = fmt.Errorf("post webhook: %w", err)
			return d
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(HeaderSignature, o.sig)
		resp, err := e.cfg.Client.Do(req)
		if err != nil {
			d.Err = fmt.Errorf("post webhook: %w", err)
			return d
		}
		resp.Body.Close()
		d.Status = resp.StatusCode
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			d.Err = nil
			return d
		}
		if resp.StatusCode != http.StatusTooManyRequests {
			d.Err = fmt.Errorf("%w: receiver answered %d", ErrNotDelivered, resp.StatusCode)
			return d
		}
		d.Err = fmt.Errorf("%w: receiver answered 429 %d time(s)", ErrNotDelivered, d.Attempts)
		if d.Attempts == e.cfg.MaxAttempts {
			break
		}
		select {
		case <-e.cfg.After(e.retryDelay(resp.Header.Get("Retry-After"))):
		case <-ctx.Done():
			d.Err = fmt.Errorf("post webhook: %w", ctx.Err())
			return d
		}
	}
	return d
}

func (e *Emitter) retryDelay(retryAfter string) time.Duration {
	if s, err := strconv.Atoi(retryAfter); err == nil && s >= 0 {
		return min(time.Duration(s)*time.Second, e.cfg.MaxRetryDelay)
	}
	return e.cfg.RetryDelay
}
