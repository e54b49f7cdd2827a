package mocks

import (
	"context"
	"sync"
)

// Persister stores dataset snapshots (opaque JSON). Load reports found=false
// for a dataset never saved. The lead's SQL store implements it; the mock
// calls Save synchronously after each mutation, before answering.
type Persister interface {
	Load(ctx context.Context, dataset string) (snapshot []byte, found bool, err error)
	Save(ctx context.Context, dataset string, snapshot []byte) error
}

// MemoryPersister is an in-memory Persister for tests: a "restart" is a new
// Mock over the same MemoryPersister. Its zero value is ready to use.
type MemoryPersister struct {
	mu      sync.Mutex
	snaps   map[string][]byte
	saveErr error
}

// Load returns a copy of the dataset's last snapshot.
func (p *MemoryPersister) Load(_ context.Context, dataset string) ([]byte, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, ok := p.snaps[dataset]
	return append([]byte(nil), b...), ok, nil
}

// Save keeps a copy of snapshot as the dataset's latest.
func (p *MemoryPersister) Save(_ context.Context, dataset string, snapshot []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.saveErr != nil {
		return p.saveErr
	}
	if p.snaps == nil {
		p.snaps = map[string][]byte{}
	}
	p.snaps[dataset] = append([]byte(nil), snapshot...)
	return nil
}

// SetSaveErr makes every later Save fail with err (nil restores saving).
func (p *MemoryPersister) SetSaveErr(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.saveErr = err
}
