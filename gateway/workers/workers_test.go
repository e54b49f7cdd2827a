package workers

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// goroutineID reads the calling goroutine's id from its stack header
// ("goroutine 7 [running]:").
func goroutineID() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	f := strings.Fields(string(buf))
	if len(f) < 2 {
		return ""
	}
	return f[1]
}

func TestServeHTTPRunsOnAWorkerAndReusesIt(t *testing.T) {
	p := New(4, time.Minute, 0)
	defer p.Close()
	var ran []string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ran = append(ran, goroutineID())
		w.WriteHeader(http.StatusNoContent)
	})
	caller := goroutineID()
	for i := range 3 {
		rec := httptest.NewRecorder()
		p.ServeHTTP(h, rec, httptest.NewRequest(http.MethodGet, "/", nil))
		if rec.Code != http.StatusNoContent {
			t.Fatalf("call %d: status = %d; want 204", i, rec.Code)
		}
	}
	if len(ran) != 3 {
		t.Fatalf("handler ran %d times; want 3", len(ran))
	}
	for i, g := range ran {
		if g == caller || g != ran[0] {
			t.Errorf("call %d ran on goroutine %s; want the one worker %s, not the caller %s", i, g, ran[0], caller)
		}
	}
	if got := p.Workers(); got != 1 {
		t.Errorf("Workers() after 3 sequential calls = %d; want 1 (the worker is reused)", got)
	}
	if got := p.Inline(); got != 0 {
		t.Errorf("Inline() = %d; want 0", got)
	}
}

func TestServeHTTPRunsInlineWhenFullWithoutWait(t *testing.T) {
	p := New(1, time.Minute, 0)
	defer p.Close()
	release := make(chan struct{})
	started := make(chan struct{})
	blocking := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.ServeHTTP(blocking, httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	}()
	<-started
	// The only worker is busy: this one must run now, on the caller, rather
	// than wait for it.
	rec := httptest.NewRecorder()
	var ranOn string
	p.ServeHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ranOn = goroutineID()
		w.WriteHeader(http.StatusAccepted)
	}), rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusAccepted {
		t.Errorf("status while the pool is full = %d; want 202", rec.Code)
	}
	if caller := goroutineID(); ranOn != caller {
		t.Errorf("with the pool full the handler ran on goroutine %s; want the caller's, %s", ranOn, caller)
	}
	if got := p.Inline(); got != 1 {
		t.Errorf("Inline() = %d; want 1", got)
	}
	if got := p.Workers(); got != 1 {
		t.Errorf("Workers() = %d; want 1 (max)", got)
	}
	close(release)
	<-done
}

func TestServeHTTPRaisesTheHandlersPanicOnTheCaller(t *testing.T) {
	p := New(2, time.Minute, 0)
	defer p.Close()
	for _, want := range []any{http.ErrAbortHandler, "boom", errors.New("an error")} {
		got := func() (v any) {
			defer func() { v = recover() }()
			p.ServeHTTP(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(want) }),
				httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
			return nil
		}()
		if got != want {
			t.Errorf("recovered %v on the caller; want %v", got, want)
		}
	}
	// The worker survives a panic and serves the next request.
	rec := httptest.NewRecorder()
	p.ServeHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }),
		rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusOK || p.Workers() != 1 {
		t.Errorf("after panics: status %d, %d workers; want 200 and 1", rec.Code, p.Workers())
	}
}

func TestIdleWorkersExit(t *testing.T) {
	p := New(4, time.Millisecond, 0)
	exited := make(chan struct{}, 4)
	p.exited = func() { exited <- struct{}{} }
	defer p.Close()
	p.ServeHTTP(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	waitFor(t, exited, "an idle worker to exit after its 1 ms idle time")
	if got := p.Workers(); got != 0 {
		t.Errorf("Workers() after the idle worker exited = %d; want 0", got)
	}
}

func TestConcurrentCallsAllAnswered(t *testing.T) {
	p := New(8, time.Minute, time.Minute)
	defer p.Close()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Path", r.URL.Path)
		w.WriteHeader(http.StatusOK)
	})
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := "/" + string(rune('a'+i%26))
			rec := httptest.NewRecorder()
			p.ServeHTTP(h, rec, httptest.NewRequest(http.MethodGet, path, nil))
			if rec.Header().Get("X-Path") != path {
				errs <- "answer for " + path + " carried " + rec.Header().Get("X-Path")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if got := p.Workers(); got > 8 {
		t.Errorf("Workers() = %d; want at most 8", got)
	}
	if got := p.Inline(); got != 0 {
		t.Errorf("Inline() = %d; want 0 (with a minute's wait every caller gets a worker)", got)
	}
}

// blockOne occupies p's only worker until the returned release is called;
// done closes when that call has returned.
func blockOne(t *testing.T, p *Pool) (release func(), done <-chan struct{}) {
	t.Helper()
	unblock := make(chan struct{})
	started := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		p.ServeHTTP(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			close(started)
			<-unblock
		}), httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	}()
	waitFor(t, started, "the blocking handler to start")
	return func() { close(unblock) }, finished
}

// eventually fails the test unless cond holds within 10 s.
func eventually(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %s", what)
		}
	}
}

func TestServeHTTPWaitsForTheNextFreeWorker(t *testing.T) {
	p := New(1, time.Minute, time.Minute)
	defer p.Close()
	var worker, ranOn, callerID string
	p.ServeHTTP(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { worker = goroutineID() }),
		httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	release, first := blockOne(t, p)
	done := make(chan struct{})
	rec := httptest.NewRecorder()
	go func() {
		defer close(done)
		callerID = goroutineID()
		p.ServeHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ranOn = goroutineID()
			w.WriteHeader(http.StatusAccepted)
		}), rec, httptest.NewRequest(http.MethodGet, "/", nil))
	}()
	eventually(t, func() bool { return p.Queued() == 1 }, "the second caller to queue for the busy worker")
	select {
	case <-done:
		t.Fatal("the second call returned while the only worker was still busy; want it to wait")
	case <-time.After(20 * time.Millisecond):
	}
	release()
	waitFor(t, first, "the blocking call to return")
	waitFor(t, done, "the queued call to run once the worker was free")
	if rec.Code != http.StatusAccepted {
		t.Errorf("queued call's status = %d; want 202", rec.Code)
	}
	if ranOn != worker || ranOn == callerID {
		t.Errorf("queued call ran on goroutine %s; want the worker %s (its caller is %s)", ranOn, worker, callerID)
	}
	if got := p.Inline(); got != 0 {
		t.Errorf("Inline() = %d; want 0", got)
	}
}

func TestServeHTTPRunsInlineWhenTheWaitEnds(t *testing.T) {
	p := New(1, time.Minute, 5*time.Millisecond)
	defer p.Close()
	release, first := blockOne(t, p)
	defer func() { release(); <-first }()
	var ranOn string
	rec := httptest.NewRecorder()
	p.ServeHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ranOn = goroutineID()
		w.WriteHeader(http.StatusAccepted)
	}), rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if caller := goroutineID(); ranOn != caller || rec.Code != http.StatusAccepted {
		t.Errorf("after the wait the handler ran on goroutine %s with status %d; want the caller's, %s, and 202", ranOn, rec.Code, caller)
	}
	if p.Queued() != 1 || p.Inline() != 1 {
		t.Errorf("Queued() = %d, Inline() = %d; want 1 and 1", p.Queued(), p.Inline())
	}
	// The caller left the queue: the freed worker goes back to the idle
	// list, and the next call takes it.
	release()
	<-first
	release = func() {}
	var next string
	p.ServeHTTP(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { next = goroutineID() }),
		httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	if next == goroutineID() || p.Workers() != 1 {
		t.Errorf("after the worker freed up the next call ran on %s with %d workers; want the one worker", next, p.Workers())
	}
}

func TestServeHTTPStopsWaitingWhenTheRequestIsCancelled(t *testing.T) {
	p := New(1, time.Minute, time.Hour)
	defer p.Close()
	release, first := blockOne(t, p)
	defer func() { release(); <-first }()
	ctx, cancel := context.WithCancel(context.Background())
	r := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx)
	done := make(chan struct{})
	var sawCancel bool
	go func() {
		defer close(done)
		p.ServeHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sawCancel = r.Context().Err() != nil
		}), httptest.NewRecorder(), r)
	}()
	eventually(t, func() bool { return p.Queued() == 1 }, "the caller to queue")
	cancel()
	waitFor(t, done, "the cancelled caller to stop waiting")
	if !sawCancel || p.Inline() != 1 {
		t.Errorf("handler saw cancellation %v, Inline() = %d; want true and 1 (it runs at once, and can answer the cancellation)", sawCancel, p.Inline())
	}
}

func TestCloseReleasesQueuedCallers(t *testing.T) {
	p := New(1, time.Minute, time.Hour)
	release, first := blockOne(t, p)
	done := make(chan struct{})
	rec := httptest.NewRecorder()
	go func() {
		defer close(done)
		p.ServeHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) }),
			rec, httptest.NewRequest(http.MethodGet, "/", nil))
	}()
	eventually(t, func() bool { return p.Queued() == 1 }, "the caller to queue")
	closed := make(chan struct{})
	go func() { p.Close(); close(closed) }()
	// Close waits for the busy worker, but not before it has let the
	// queued caller go.
	waitFor(t, done, "Close to release the queued caller")
	if rec.Code != http.StatusAccepted || p.Inline() != 1 {
		t.Errorf("released caller: status %d, Inline() = %d; want 202 and 1", rec.Code, p.Inline())
	}
	release()
	waitFor(t, first, "the busy call to finish")
	waitFor(t, closed, "Close to return")
}

func TestCloseStopsIdleWorkers(t *testing.T) {
	p := New(4, time.Hour, 0)
	p.ServeHTTP(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	p.Close() // returns once the worker has exited
	if got := p.Workers(); got != 0 {
		t.Errorf("Workers() after Close = %d; want 0", got)
	}
}

func TestHandlerGoexitReleasesTheCaller(t *testing.T) {
	p := New(2, time.Minute, 0)
	defer p.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.ServeHTTP(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { runtime.Goexit() }),
			httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	}()
	waitFor(t, done, "ServeHTTP to return after its handler called runtime.Goexit")
	if got := p.Workers(); got != 0 {
		t.Errorf("Workers() after the handler ended its worker = %d; want 0", got)
	}
}

// waitFor fails the test unless ch yields within 10 s.
func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("waited 10 s for %s", what)
	}
}

// BenchmarkServeHTTP is the cost of handing a request to a worker and back,
// against calling the handler directly.
func BenchmarkServeHTTP(b *testing.B) {
	h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			w := httptest.NewRecorder()
			for pb.Next() {
				h.ServeHTTP(w, r)
			}
		})
	})
	b.Run("pool", func(b *testing.B) {
		p := New(256, time.Minute, 0)
		defer p.Close()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			w := httptest.NewRecorder()
			for pb.Next() {
				p.ServeHTTP(h, w, r)
			}
		})
	})
}

// TestJanitorRetiresOnlyTheLongIdle: a worker is retired on the third of
// the janitor's ticks after it went idle, never while it has had a job
// since the tick before.
func TestJanitorRetiresOnlyTheLongIdle(t *testing.T) {
	p := New(4, time.Hour, 0) // the janitor's own ticks never come: the test ticks
	exited := make(chan struct{}, 4)
	p.exited = func() { exited <- struct{}{} }
	defer p.Close()
	serve := func() {
		p.ServeHTTP(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	}
	serve()
	for range 6 {
		p.retireIdle()
		serve()
	}
	p.retireIdle()
	p.retireIdle()
	select {
	case <-exited:
		t.Fatal("a worker was retired before it was idle for three ticks")
	default:
	}
	if got := p.Workers(); got != 1 {
		t.Fatalf("Workers() with one worker idle for two ticks = %d; want 1", got)
	}
	p.retireIdle()
	waitFor(t, exited, "the worker idle for three ticks to exit")
	if got := p.Workers(); got != 0 {
		t.Errorf("Workers() after the idle worker was retired = %d; want 0", got)
	}
	// The pool still serves: a new worker starts.
	serve()
	if got := p.Workers(); got != 1 {
		t.Errorf("Workers() after a call to an empty pool = %d; want 1", got)
	}
}
