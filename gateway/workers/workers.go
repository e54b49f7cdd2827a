// Package workers runs HTTP handlers on a pool of long-lived goroutines, so
// that the deep part of serving a request does not live on the connection's
// own goroutine.
//
// net/http serves each connection on one goroutine for the connection's
// whole life. A Go stack only grows in steps of two, and the garbage
// collector shrinks an idle goroutine's stack only by half per cycle: a
// keep-alive connection whose requests once needed 9 KiB of stack keeps 16
// KiB while it sits idle, and grows it again with its next request. The
// gateway's pipeline (routing, scopes, validation, the proxy, the answer's
// inspection) needs more than the 8 KiB that net/http and a bare
// ReverseProxy fit in, so at 1,000 keep-alive connections every one of them
// held 16 KiB. Run on a worker, the pipeline's stack is paid once per
// request in flight, and the connection's goroutine stays at 8 KiB.
//
// A request is never queued behind another: when every worker is busy and
// the pool is full, the handler runs on the caller's goroutine, as it would
// without the pool.
package workers

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Pool runs handlers on its workers. The zero value is not usable; call New.
type Pool struct {
	max  int
	idle time.Duration

	mu      sync.Mutex
	waiting []*worker // idle workers, the most recently used last
	running int       // workers started and not yet exited
	closed  bool

	inline atomic.Int64 // handlers run on the caller because the pool was full
	free   sync.Pool    // *job, each with its done channel
	wg     sync.WaitGroup

	// exited, when set (tests), is called as a worker exits.
	exited func()
}

// worker is one goroutine of the pool; it takes its jobs from its own
// channel, so that a caller hands a job to the worker it chose.
type worker struct {
	jobs chan *job // capacity 1: a worker has at most one job; nil stops it
}

// job is one handler call handed to a worker.
type job struct {
	h    http.Handler
	w    http.ResponseWriter
	r    *http.Request
	done chan struct{} // one value per call: the handler returned
	// panicked holds what the handler panicked with, to panic again on the
	// caller's goroutine (where net/http recovers it, http.ErrAbortHandler
	// included).
	panicked any
}

// New returns a pool of at most max workers; a worker with nothing to do for
// idle exits.
func New(max int, idle time.Duration) *Pool {
	return &Pool{max: max, idle: idle}
}

// ServeHTTP runs h.ServeHTTP(w, r) on an idle worker, or a new one, and
// returns when it has returned; with max workers busy, it runs h on the
// calling goroutine. A panic in h is raised again here.
func (p *Pool) ServeHTTP(h http.Handler, w http.ResponseWriter, r *http.Request) {
	wk, started := p.take()
	if wk == nil {
		p.inline.Add(1)
		h.ServeHTTP(w, r)
		return
	}
	j, _ := p.free.Get().(*job)
	if j == nil {
		j = &job{done: make(chan struct{}, 1)}
	}
	j.h, j.w, j.r = h, w, r
	wk.jobs <- j
	if started {
		go p.work(wk)
	}
	<-j.done
	v := j.panicked
	*j = job{done: j.done}
	p.free.Put(j)
	if v != nil {
		panic(v)
	}
}

// take returns the most recently idle worker, or a new one (started true:
// the caller starts its goroutine), or nil when max are busy.
func (p *Pool) take() (wk *worker, started bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.waiting); n > 0 {
		wk = p.waiting[n-1]
		p.waiting[n-1] = nil
		p.waiting = p.waiting[:n-1]
		return wk, false
	}
	if p.running >= p.max || p.closed {
		return nil, false
	}
	p.running++
	p.wg.Add(1)
	return &worker{jobs: make(chan *job, 1)}, true
}

func (p *Pool) work(wk *worker) {
	var current *job // a job whose handler has not returned
	defer func() {
		if current != nil {
			// The handler called runtime.Goexit: release its caller and
			// leave the pool.
			p.mu.Lock()
			p.running--
			p.mu.Unlock()
			current.done <- struct{}{}
		}
		p.wg.Done()
		if p.exited != nil {
			p.exited()
		}
	}()
	t := time.NewTimer(p.idle)
	defer t.Stop()
	for {
		select {
		case j := <-wk.jobs:
			if j == nil { // Close
				return
			}
			current = j
			run(j)
			current = nil
			// Waiting again before the caller learns its handler returned:
			// a caller's next request finds this worker idle.
			stop := !p.wait(wk)
			j.done <- struct{}{}
			if stop {
				return
			}
			t.Reset(p.idle)
		case <-t.C:
			if p.retire(wk) {
				return
			}
			// A caller took this worker as the timer fired: its job is on
			// the way.
			t.Reset(p.idle)
		}
	}
}

// wait puts wk back among the idle workers; false when the pool is closed
// and wk must exit instead.
func (p *Pool) wait(wk *worker) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		p.running--
		return false
	}
	p.waiting = append(p.waiting, wk)
	return true
}

// retire removes an idle worker from the pool; false when a caller has
// just taken it.
func (p *Pool) retire(wk *worker) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	// The longest idle are first.
	for i, w := range p.waiting {
		if w == wk {
			p.waiting = append(p.waiting[:i], p.waiting[i+1:]...)
			p.running--
			return true
		}
	}
	return false
}

// run calls the job's handler, carrying a panic over to the caller instead
// of letting it end the process.
func run(j *job) {
	defer func() { j.panicked = recover() }()
	j.h.ServeHTTP(j.w, j.r)
}

// Workers is how many workers are running.
func (p *Pool) Workers() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.running
}

// Inline is how many handlers ran on their caller's goroutine because the
// pool was full.
func (p *Pool) Inline() int64 { return p.inline.Load() }

// Close stops the idle workers and waits for the busy ones to finish their
// job. Later calls to ServeHTTP run their handler on the caller.
func (p *Pool) Close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		for _, wk := range p.waiting {
			wk.jobs <- nil
		}
		p.running -= len(p.waiting)
		p.waiting = nil
	}
	p.mu.Unlock()
	p.wg.Wait()
}
