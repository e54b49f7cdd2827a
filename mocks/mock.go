package mocks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// maxBody caps a request body; GHL's own limit is larger, but no contacts
// operation needs more.
const maxBody = 1 << 20

// Options configures a Mock. Every field is optional.
type Options struct {
	// Now is the clock for dateAdded, dateUpdated and rate windows; a
	// *Clock's Now fits. Default time.Now.
	Now func() time.Time
	// NewID makes record ids: 20 alphanumeric characters like GHL's.
	// Default RandomID (crypto-random).
	NewID func() string
	// Seed is loaded when the dataset is empty (nothing persisted yet) and
	// on Reset. Default: no records.
	Seed *Seed
	// Persist saves a JSON snapshot after every mutation; nil keeps the
	// dataset in memory only.
	Persist Persister
	// Dataset names the dataset for Persist ("staging", "sandbox:alice").
	// Default "default".
	Dataset string
	// Static answers operations the mock has no semantics for; nil answers
	// them 404 like GHL does for unknown paths.
	Static StaticResponder
	// Faults are configured fault rules, applied with X-Mock-Fault.
	Faults []FaultRule
	// Rand draws in [0, 1) for FaultRule.Probability. Default math/rand/v2.
	Rand func() float64
	// Logger receives persistence errors and injected faults. Default
	// discards.
	Logger *slog.Logger
	// OnMutation, when set, is called after each successful, saved mutation,
	// before the answer is written, outside the dataset lock (so it may call
	// the mock). Concurrent mutations may reach it out of order; Mutation.Seq
	// gives the order.
	OnMutation func(Mutation)
}

// Mock is the stateful GHL Contacts API for one dataset. Create it with New.
type Mock struct {
	opts  Options
	rules []*compiledRule
	rate  *rateCounter

	loaded atomic.Bool
	mu     sync.RWMutex
	st     *state
	// lastSnap is the last saved snapshot; a failed save restores from it,
	// so the memory never runs ahead of what was persisted.
	lastSnap []byte
}

// New builds a Mock and loads its dataset: the persisted snapshot when
// there is one, else the seed.
func New(opts Options) (*Mock, error) {
	m, err := newMock(opts)
	if err != nil {
		return nil, err
	}
	if err := m.ensureLoaded(context.Background()); err != nil {
		return nil, err
	}
	return m, nil
}

// newMock builds a Mock without loading it; the first request loads it,
// and retries on every request while the Persister fails.
func newMock(opts Options) (*Mock, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NewID == nil {
		opts.NewID = RandomID
	}
	if opts.Dataset == "" {
		opts.Dataset = "default"
	}
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	rules, err := compileRules(opts.Faults)
	if err != nil {
		return nil, fmt.Errorf("mock %s: %w", opts.Dataset, err)
	}
	return &Mock{opts: opts, rules: rules, rate: newRateCounter()}, nil
}

// Dataset is the name the mock persists under.
func (m *Mock) Dataset() string { return m.opts.Dataset }

func (m *Mock) ensureLoaded(ctx context.Context) error {
	if m.loaded.Load() {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.loaded.Load() {
		return nil
	}
	if m.opts.Persist != nil {
		b, found, err := m.opts.Persist.Load(ctx, m.opts.Dataset)
		if err != nil {
			return fmt.Errorf("load dataset %s: %w", m.opts.Dataset, err)
		}
		if found {
			st, err := unmarshalState(b)
			if err != nil {
				return fmt.Errorf("load dataset %s: %w", m.opts.Dataset, err)
			}
			m.st, m.lastSnap = st, b
			m.loaded.Store(true)
			return nil
		}
	}
	st := m.seeded()
	if m.opts.Persist != nil {
		b, err := st.marshal()
		if err != nil {
			return fmt.Errorf("load dataset %s: %w", m.opts.Dataset, err)
		}
		m.lastSnap = b
	}
	m.st = st
	m.loaded.Store(true)
	return nil
}

func (m *Mock) seeded() *state {
	st := newState()
	if m.opts.Seed != nil {
		m.opts.Seed.apply(st)
	}
	return st
}

// Reset puts the dataset back to its seed, saves it, and clears the rate
// counters.
func (m *Mock) Reset(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.seeded()
	if m.st != nil {
		st.Seq = m.st.Seq // keep numbering mutations upward across resets
	}
	if m.opts.Persist != nil {
		b, err := st.marshal()
		if err != nil {
			return fmt.Errorf("reset dataset %s: %w", m.opts.Dataset, err)
		}
		if err := m.opts.Persist.Save(ctx, m.opts.Dataset, b); err != nil {
			return fmt.Errorf("reset dataset %s: save: %w", m.opts.Dataset, err)
		}
		m.lastSnap = b
	}
	m.st = st
	m.loaded.Store(true)
	m.rate.reset()
	return nil
}

// LookupTestContact returns the GHL id of the contact whose testContactId
// is testContactID, in any location of the dataset.
func (m *Mock) LookupTestContact(testContactID string) (id string, ok bool) {
	if testContactID == "" || m.ensureLoaded(context.Background()) != nil {
		return "", false
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	var found *Contact
	for _, c := range m.st.Contacts {
		// Several contacts may share a testContactId (duplicates allowed);
		// the oldest wins so the answer is stable.
		if c.TestContactID == testContactID && (found == nil || compareContacts(c, found) < 0) {
			found = c
		}
	}
	if found == nil {
		return "", false
	}
	return found.ID, true
}

// SetAllowDuplicates sets the location's "Allow Duplicate Contact" setting
// (created on first use, like any location) and saves the dataset.
func (m *Mock) SetAllowDuplicates(ctx context.Context, locationID string, allow bool) error {
	if locationID == "" {
		return fmt.Errorf("set allow duplicates: %w", errEmptyLocation)
	}
	if err := m.ensureLoaded(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.location(locationID).AllowDuplicateContacts = allow
	return m.save(ctx)
}

var errEmptyLocation = errors.New("empty location id")

// save persists the dataset; on failure it restores the last saved state,
// so what the mock serves is never ahead of what it saved. Callers hold
// m.mu.
func (m *Mock) save(ctx context.Context) error {
	if m.opts.Persist == nil {
		return nil
	}
	b, err := m.st.marshal()
	if err == nil {
		err = m.opts.Persist.Save(context.WithoutCancel(ctx), m.opts.Dataset, b)
	}
	if err != nil {
		if prev, perr := unmarshalState(m.lastSnap); perr == nil {
			m.st = prev
		}
		return fmt.Errorf("save dataset %s: %w", m.opts.Dataset, err)
	}
	m.lastSnap = b
	return nil
}

// request is one call being served.
type request struct {
	r    *http.Request
	body []byte
	now  time.Time
	// contactID and id are the path parameters: the contact, then the task,
	// note, campaign, workflow, business or bulk type.
	contactID, id string
	// location is the location the call concerns, for the rate headers.
	location string
	muts     []Mutation
	mock     *Mock
}

func (rq *request) stamp() string { return formatTime(rq.now) }

// mutate records a mutation; called under the dataset lock.
func (rq *request) mutate(st *state, kind MutationKind, action MutationAction, locationID, contactID, objectID string, obj any) {
	st.Seq++
	mu := Mutation{
		Dataset: rq.mock.opts.Dataset, Seq: st.Seq, Kind: kind, Action: action,
		LocationID: locationID, ContactID: contactID, ObjectID: objectID, At: rq.now,
	}
	if rq.mock.opts.OnMutation != nil && obj != nil {
		mu.Object, _ = json.Marshal(obj) // marshalled now: the record may change after the lock is released
	}
	rq.muts = append(rq.muts, mu)
}

// ServeHTTP serves the Contacts API relative to its root (/contacts/...).
func (m *Mock) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fault, err := m.faultFor(r)
	if err != nil {
		writeAPIError(w, badRequest(err.Error()))
		return
	}
	if !fault.zero() {
		m.opts.Logger.LogAttrs(r.Context(), slog.LevelInfo, "mock fault",
			slog.String("dataset", m.opts.Dataset), slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.Duration("latency", fault.Latency),
			slog.Int("status", fault.Status), slog.Bool("reset", fault.Reset))
	}
	if err := wait(r.Context(), fault.Latency); err != nil {
		return // the client is gone; nobody reads an answer
	}
	if fault.Reset {
		resetConnection(w)
		return
	}
	now := m.opts.Now()
	if fault.Status != 0 {
		burstLeft, dailyLeft := m.rate.hit(r.URL.Query().Get("locationId"), now, fault.Status != http.StatusTooManyRequests)
		if fault.Status == http.StatusTooManyRequests {
			burstLeft = 0
		}
		setRateHeaders(w.Header(), burstLeft, dailyLeft)
		writeAPIError(w, &APIError{Status: fault.Status, Body: map[string]any{
			"statusCode": fault.Status, "message": http.StatusText(fault.Status),
		}})
		return
	}
	if err := m.ensureLoaded(r.Context()); err != nil {
		m.opts.Logger.LogAttrs(r.Context(), slog.LevelError, "mock dataset unavailable",
			slog.String("dataset", m.opts.Dataset), slog.String("error", err.Error()))
		writeAPIError(w, &APIError{Status: http.StatusServiceUnavailable, Body: map[string]any{
			"statusCode": 503, "message": "Service Unavailable",
		}})
		return
	}
	rt, rq, ok := match(r.Method, r.URL.Path)
	if !ok {
		if m.opts.Static != nil && m.opts.Static.Respond(w, r) {
			return
		}
		writeAPIError(w, routeNotFound(r))
		return
	}
	rq.r, rq.now, rq.mock = r, now, m
	rq.body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeAPIError(w, &APIError{Status: http.StatusRequestEntityTooLarge, Body: map[string]any{
			"statusCode": 413, "message": "request entity too large", "error": "Payload Too Large",
		}})
		return
	}
	status, body, err := m.run(rt, rq)
	burstLeft, dailyLeft := m.rate.hit(rq.location, now, true)
	setRateHeaders(w.Header(), burstLeft, dailyLeft)
	if err != nil {
		ae := documented(rt.op, asAPIError(err))
		if ae.Status >= 500 {
			m.opts.Logger.LogAttrs(r.Context(), slog.LevelError, "mock operation failed",
				slog.String("dataset", m.opts.Dataset), slog.String("operation", rt.op),
				slog.String("error", err.Error()))
		}
		writeAPIError(w, ae)
		return
	}
	if m.opts.OnMutation != nil {
		for _, mu := range rq.muts {
			m.opts.OnMutation(mu)
		}
	}
	writeJSON(w, status, body)
}

// run calls the operation under the dataset lock, encodes its answer while
// the records cannot change, and saves a mutation before answering.
func (m *Mock) run(rt route, rq *request) (int, []byte, error) {
	if rt.write {
		m.mu.Lock()
		defer m.mu.Unlock()
	} else {
		m.mu.RLock()
		defer m.mu.RUnlock()
	}
	status, out, err := rt.h(m.st, rq)
	if err != nil {
		return 0, nil, err
	}
	body, err := json.Marshal(out)
	if err != nil {
		return 0, nil, fmt.Errorf("encode %s answer: %w", rt.op, err)
	}
	if rt.write && len(rq.muts) > 0 {
		if err := m.save(rq.r.Context()); err != nil {
			rq.muts = nil
			return 0, nil, err
		}
	}
	return status, body, nil
}

func (m *Mock) faultFor(r *http.Request) (Fault, error) {
	var f Fault
	if h := r.Header.Get(FaultHeader); h != "" {
		var err error
		if f, err = ParseFault(h); err != nil {
			return Fault{}, err
		}
	}
	for _, rule := range m.rules {
		if rule.applies(r, m.opts.Rand) {
			f = f.merge(rule.fault)
		}
	}
	return f, nil
}

// newID returns an id not yet used by any record of the dataset.
func (m *Mock) newID(st *state) string {
	for range 1000 {
		id := m.opts.NewID()
		_, c := st.Contacts[id]
		_, t := st.Tasks[id]
		_, n := st.Notes[id]
		if !c && !t && !n {
			return id
		}
	}
	panic("mocks: Options.NewID keeps returning ids already in use") // a broken injected generator
}
