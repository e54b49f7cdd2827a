package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rankr/ghlgate/events"
	"github.com/rankr/ghlgate/gateway/ratelimit"
	"github.com/rankr/ghlgate/openapi"
	"github.com/rankr/ghlgate/store"
)

// Micro are the in-process figures other issues ask for.
type Micro struct {
	// LimiterNsPerOp is one in-memory rate-limit decision (default budgets,
	// 1,000 locations).
	LimiterNsPerOp     float64 `json:"limiter_ns_per_op"`
	LimiterAllocsPerOp int64   `json:"limiter_allocs_per_op"`
	// EventsPerS is captured mutations per second on SQLite (synchronous
	// FULL, group commit), 64 concurrent writers: one intent and its event
	// each, as the gateway writes per mutation.
	EventsPerS float64 `json:"events_per_s"`
}

func timeSpecLoad(ctx context.Context, path string, n int) (*SpecLoad, error) {
	var times []float64
	ops := 0
	for range n {
		t0 := time.Now()
		s, err := openapi.Load(ctx, path)
		if err != nil {
			return nil, fmt.Errorf("load official spec: %w", err)
		}
		times = append(times, ms(time.Since(t0)))
		ops = len(s.Operations)
	}
	return &SpecLoad{File: filepath.Base(path), MS: round3(median(times)), Ops: ops}, nil
}

func microFigures(ctx context.Context, dir string) (*Micro, error) {
	m := &Micro{}
	lim, err := ratelimit.New(ratelimit.DefaultConfig(), ratelimit.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return nil, err
	}
	defer lim.Close()
	locs := make([]string, 1000)
	for i := range locs {
		locs[i] = "loc" + strconv.Itoa(i)
	}
	var decideErr error
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	r := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			now = now.Add(time.Millisecond)
			if _, err := lim.Decide(ctx, ratelimit.Request{Stage: "production", Client: "c", Location: locs[i%len(locs)], Now: now}); err != nil {
				decideErr = err
				return
			}
		}
	})
	if decideErr != nil {
		return nil, fmt.Errorf("limiter: %w", decideErr)
	}
	m.LimiterNsPerOp, m.LimiterAllocsPerOp = float64(r.NsPerOp()), r.AllocsPerOp()

	eps, err := eventsPerSecond(ctx, filepath.Join(dir, "events"), 64, 2*time.Second)
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	m.EventsPerS = round1(eps)
	return m, nil
}

// eventsPerSecond records intents and confirms them with their events from
// conc goroutines for d, on a fresh SQLite store.
func eventsPerSecond(ctx context.Context, dir string, conc int, d time.Duration) (float64, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, err
	}
	db, err := store.Open(ctx, store.Options{DataDir: dir})
	if err != nil {
		return 0, err
	}
	defer db.Close()
	st, err := events.NewStore(ctx, db, events.StoreOptions{})
	if err != nil {
		return 0, err
	}
	defer st.Close()
	rec := events.NewRecorder(st, events.RecorderOptions{Redact: []string{"email"}})
	resp := newUpstreamBodies().update
	req := json.RawMessage(Endpoints()[2].Body)
	var n atomic.Int64
	errs := make([]error, conc)
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				in := events.Intent{OperationID: "update-contact", Method: "PUT", Path: "/contacts/" + benchContact,
					PathParams: map[string]string{"contactId": benchContact}, Stage: "production", Location: benchLocation,
					Client: "rankr-bench", RequestID: "bench", RequestBody: req}
				id, err := rec.Begin(ctx, in)
				if err == nil {
					_, err = rec.Finish(ctx, id, in, 200, resp)
				}
				if err != nil {
					errs[w] = err
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(slices.DeleteFunc(errs, func(e error) bool { return e == nil })...); err != nil {
		return 0, err
	}
	return float64(n.Load()) / time.Since(start).Seconds(), nil
}
