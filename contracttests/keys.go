package contracttests

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/rankr/ghlgate/gateway/auth"
)

// KeyMaker issues and revokes client keys for the suite. *auth.Store is
// one: pass the gateway's own key store (Server.Keys), or a store opened on
// the same database as the gateway under test.
type KeyMaker interface {
	Create(ctx context.Context, req auth.CreateRequest) (string, *auth.Key, error)
	Revoke(ctx context.Context, name string) error
}

// The library's fixtures name two seeded locations (fixtures/seed).
const (
	DentalLocation  = "ve9EPM428h8vShlRW1KT"
	RoofingLocation = "Kp3nR7tLwQ2xZ8vB5mYd"
)

// noLocation binds the production-only key to a location that does not
// exist: it can reach production's test-traffic refusal and nothing else.
const noLocation = "contract-suite-no-such-location"

// SuiteKeyTTL bounds every key the suite creates: a key that a crashed run
// never revoked dies by itself.
const SuiteKeyTTL = 30 * time.Minute

// Scopes and stages of the keys the suite makes.
var (
	writerScopes = []string{"contacts.readonly", "contacts.write"}
	testStages   = []string{"staging", "sandbox"}
)

// SuiteKeySpecs are the keys the library's gateway scenarios take as
// variables, by variable name: what `make contract` creates with
// `ghlgate keys create`, and what MakeSuiteKeys creates in a store.
// Names are relative: MakeSuiteKeys prefixes them.
var SuiteKeySpecs = map[string]auth.CreateRequest{
	// Reads only (gateway-scope-denied).
	"readonlyKey": {Name: "readonly", Scopes: []string{"contacts.readonly"}, Stages: testStages},
	// Everything, but the dental location only (gateway-location-denied*).
	"dentalOnlyKey": {Name: "dental-only", Scopes: writerScopes, Locations: []string{DentalLocation}, Stages: testStages},
	// Production only (gateway-stage-denied, gateway-test-traffic-on-production).
	// It holds the write scope so that production's test-traffic refusal,
	// not the scope check, answers a create; it is bound to a location that
	// does not exist, so it could never write a real one.
	"productionOnlyKey": {Name: "production-only", Scopes: writerScopes, Locations: []string{noLocation}, Stages: []string{"production"}},
	// A client of its own for gateway-rate-limited, whose burst must spend
	// nobody else's client budget.
	"rateLimitKey": {Name: "rate-limit", Scopes: []string{"contacts.readonly"}, Stages: testStages},
}

// WriterKeySpec is the key most scenarios run with: read and write on
// staging and sandbox.
var WriterKeySpec = auth.CreateRequest{Name: "writer", Scopes: writerScopes, Stages: testStages}

// SuiteKeys are keys made for one run: the writer key, the variables for
// the others, and Revoke to retire them all.
type SuiteKeys struct {
	Writer string
	Vars   map[string]string
	names  []string
	keys   KeyMaker
}

// MakeSuiteKeys creates the writer key and every key of SuiteKeySpecs,
// named prefix+name, living SuiteKeyTTL. A name still held by an earlier
// run's key is revoked first, so a crashed run does not block the next.
func MakeSuiteKeys(ctx context.Context, km KeyMaker, prefix string) (*SuiteKeys, error) {
	sk := &SuiteKeys{Vars: map[string]string{}, keys: km}
	make1 := func(spec auth.CreateRequest) (string, error) {
		spec.Name = prefix + spec.Name
		spec.TTL = SuiteKeyTTL
		secret, err := createFresh(ctx, km, spec)
		if err != nil {
			return "", err
		}
		sk.names = append(sk.names, spec.Name)
		return secret, nil
	}
	var err error
	if sk.Writer, err = make1(WriterKeySpec); err != nil {
		return nil, errors.Join(err, sk.Revoke(ctx))
	}
	for _, v := range sortedKeys(SuiteKeySpecs) {
		secret, err := make1(SuiteKeySpecs[v])
		if err != nil {
			return nil, errors.Join(err, sk.Revoke(ctx))
		}
		sk.Vars[v] = secret
	}
	return sk, nil
}

// Revoke retires every key of the run.
func (sk *SuiteKeys) Revoke(ctx context.Context) error {
	var errs []error
	for _, n := range sk.names {
		if err := sk.keys.Revoke(ctx, n); err != nil && !errors.Is(err, auth.ErrNoSuchClient) {
			errs = append(errs, err)
		}
	}
	sk.names = nil
	return errors.Join(errs...)
}

// createFresh creates a key, revoking a live key of the same name first.
func createFresh(ctx context.Context, km KeyMaker, spec auth.CreateRequest) (string, error) {
	secret, _, err := km.Create(ctx, spec)
	if errors.Is(err, auth.ErrNameTaken) {
		if rerr := km.Revoke(ctx, spec.Name); rerr != nil && !errors.Is(rerr, auth.ErrNoSuchClient) {
			return "", fmt.Errorf("suite key %s: %w", spec.Name, rerr)
		}
		secret, _, err = km.Create(ctx, spec)
	}
	if err != nil {
		return "", fmt.Errorf("suite key %s: %w", spec.Name, err)
	}
	return secret, nil
}

// KeyProvisioner isolates each scenario as a client of its own: it
// creates a key per scenario (named Prefix + scenario name, so a rerun
// reuses the same sandbox) and points the scenario at BaseURL. On a
// /sandbox base every scenario gets its own dataset, seeded on first use;
// on /staging scenarios share the data but not their client budgets. Keys
// are kept for later runs with the same provisioner (a benchmark, a
// watch loop) until Close revokes them; SuiteKeyTTL ends them regardless.
type KeyProvisioner struct {
	Keys    KeyMaker
	BaseURL string
	// Prefix starts every key name; scenarios of concurrent runs must not
	// share one. Default "contract-".
	Prefix string
	// Key is the grant of each scenario's key. Default WriterKeySpec.
	Key *auth.CreateRequest
	// Logger reports keys that could not be revoked; nil ignores them (they
	// expire after SuiteKeyTTL anyway).
	Logger *slog.Logger

	mu   sync.Mutex
	made map[string]string // key name → secret
}

// Provision implements Provisioner.
func (p *KeyProvisioner) Provision(ctx context.Context, scenario string) (Target, error) {
	spec := WriterKeySpec
	if p.Key != nil {
		spec = *p.Key
	}
	prefix := p.Prefix
	if prefix == "" {
		prefix = "contract-"
	}
	spec.Name = prefix + scenario
	spec.TTL = SuiteKeyTTL
	base := strings.TrimSuffix(p.BaseURL, "/")
	p.mu.Lock()
	secret, ok := p.made[spec.Name]
	p.mu.Unlock()
	if ok {
		return Target{BaseURL: base, Key: secret}, nil
	}
	secret, err := createFresh(ctx, p.Keys, spec)
	if err != nil {
		return Target{}, err
	}
	p.mu.Lock()
	if p.made == nil {
		p.made = map[string]string{}
	}
	p.made[spec.Name] = secret
	p.mu.Unlock()
	return Target{BaseURL: base, Key: secret}, nil
}

// Close revokes every key the provisioner made.
func (p *KeyProvisioner) Close(ctx context.Context) error {
	p.mu.Lock()
	made := p.made
	p.made = nil
	p.mu.Unlock()
	var errs []error
	for _, name := range sortedKeys(made) {
		if err := p.Keys.Revoke(ctx, name); err != nil && !errors.Is(err, auth.ErrNoSuchClient) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		if p.Logger != nil {
			p.Logger.Warn("contract suite keys not revoked; they expire by themselves", "err", err)
		}
		return err
	}
	return nil
}
