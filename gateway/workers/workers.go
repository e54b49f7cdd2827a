// Package workers runs HTTP handlers on a pool of long-lived goroutines, so
// that the deep part of serving a request does not live on the connection's
// own goroutine. The gateway uses it only while many connections are open
// (see the gateway's TrackConn): with few, the stacks it saves are fewer
// than its workers' own, and the hand-off costs more than it saves.
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
// When every worker is busy and the pool is full, a caller waits for the
// next free worker, first come first served, for at most the pool's wait;
// after that (or when its request is cancelled) its handler runs on its own
// goroutine, as it would without the pool. Waiting costs a few hundred
// bytes of the caller's small stack; running inline costs the pipeline's
// whole stack and its buffers on every connection with a request in
// flight, and the requests beyond the pool would mostly wait for an
// upstream connection anyway.
package workers

import (
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Pool runs handlers on its workers. The zero value is not usable; call New.
type Pool struct {
	max  int
	idle time.Duration
	wait time.Duration

	mu      sync.Mutex
	waiting []*worker // idle workers, the most recently used last
	queue   []*caller // callers waiting for a worker, the first come first
	running int       // workers started and not yet exited
	closed  bool

	// epoch counts the janitor's ticks; a worker going idle is stamped
	// with it, so that finding the long idle costs a busy worker nothing
	// (no clock read, no timer per job).
	epoch     uint64
	janitorOn bool
	stop      chan struct{} // closed by Close: the janitor returns

	inline atomic.Int64 // handlers run on the caller because the pool was full
	queued atomic.Int64 // callers that waited for a worker
	free   sync.Pool    // *job, each with its done channel
	wg     sync.WaitGroup

	// exited, when set (tests), is called as a worker exits.
	exited func()
}

// worker is one goroutine of the pool; it takes its jobs from its own
// channel, so that a caller hands a job to the worker it chose.
type worker struct {
	jobs  chan *job // capacity 1: a worker has at most one job; nil stops it
	epoch uint64    // the pool's epoch when it last went idle
}

// caller is a request waiting for a worker: the worker that frees up first
// is sent on got; nil means run inline (the pool closed).
type caller struct {
	got chan *worker // capacity 1
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

// New returns a pool of at most size workers; a worker with nothing to do
// for idle (at least a millisecond) exits. With size workers busy, a caller
// waits up to wait for one to free up (0: not at all) before it runs its
// handler itself.
func New(size int, idle, wait time.Duration) *Pool {
	return &Pool{max: size, idle: max(idle, time.Millisecond), wait: wait, stop: make(chan struct{})}
}

// ServeHTTP runs h.ServeHTTP(w, r) on an idle worker, or a new one, and
// returns when it has returned. With max workers busy it waits for one, up
// to the pool's wait or until r is cancelled, and then runs h on the
// calling goroutine. A panic in h is raised again here.
func (p *Pool) ServeHTTP(h http.Handler, w http.ResponseWriter, r *http.Request) {
	wk, started, c := p.take()
	if c != nil {
		wk = p.await(c, r)
	}
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
// the caller starts its goroutine). When max are busy it returns nil, with
// the caller queued for the next free worker if the pool has a wait.
func (p *Pool) take() (wk *worker, started bool, c *caller) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.waiting); n > 0 {
		wk = p.waiting[n-1]
		p.waiting[n-1] = nil
		p.waiting = p.waiting[:n-1]
		return wk, false, nil
	}
	if p.closed {
		return nil, false, nil
	}
	if p.running >= p.max {
		if p.wait <= 0 {
			return nil, false, nil
		}
		c = &caller{got: make(chan *worker, 1)}
		p.queue = append(p.queue, c)
		return nil, false, c
	}
	p.running++
	p.wg.Add(1)
	if !p.janitorOn {
		p.janitorOn = true
		p.wg.Add(1)
		go p.janitor()
	}
	return &worker{jobs: make(chan *job, 1)}, true, nil
}

// await waits for the worker handed to c, for at most the pool's wait or
// until r is cancelled; nil means run inline.
func (p *Pool) await(c *caller, r *http.Request) *worker {
	p.queued.Add(1)
	t := time.NewTimer(p.wait)
	defer t.Stop()
	select {
	case wk := <-c.got:
		return wk
	case <-t.C:
	case <-r.Context().Done():
	}
	p.mu.Lock()
	i := slices.Index(p.queue, c)
	if i >= 0 {
		p.queue = slices.Delete(p.queue, i, i+1)
	}
	p.mu.Unlock()
	if i >= 0 {
		return nil
	}
	// A worker (or Close's nil) was handed over as the wait ended.
	return <-c.got
}

// work runs wk's jobs until it is handed nil (Close, or the janitor
// retiring it). It waits on its channel alone: a select with an idle
// timer, reset after every job, cost a busy worker more than the handoff.
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
	for {
		j := <-wk.jobs
		if j == nil { // Close, or retired
			return
		}
		current = j
		run(j)
		current = nil
		// Waiting again before the caller learns its handler returned:
		// a caller's next request finds this worker idle.
		stop := !p.release(wk)
		j.done <- struct{}{}
		if stop {
			return
		}
	}
}

// release hands wk to the first queued caller, or puts it back among the
// idle workers; false when the pool is closed and wk must exit instead.
func (p *Pool) release(wk *worker) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		p.running--
		return false
	}
	if len(p.queue) > 0 {
		c := p.queue[0]
		p.queue[0] = nil
		p.queue = p.queue[1:]
		c.got <- wk
		return true
	}
	wk.epoch = p.epoch
	p.waiting = append(p.waiting, wk)
	return true
}

// janitor retires the workers idle for the pool's idle time, ticking every
// half of it, while any worker runs.
func (p *Pool) janitor() {
	defer p.wg.Done()
	t := time.NewTicker(p.idle / 2)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		if !p.retireIdle() {
			return
		}
	}
}

// retireIdle is one tick of the janitor: it stops the workers idle for
// three ticks or more (between one and one and a half idle times) and says
// whether the janitor is still needed.
func (p *Pool) retireIdle() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		p.janitorOn = false
		return false
	}
	p.epoch++
	// waiting is in the order the workers went idle: the longest first.
	n := 0
	for _, wk := range p.waiting {
		if p.epoch-wk.epoch < 3 {
			break
		}
		wk.jobs <- nil // idle: its channel is empty
		n++
	}
	clear(p.waiting[:n])
	p.waiting = p.waiting[n:]
	p.running -= n
	if p.running == 0 {
		p.janitorOn = false
		return false
	}
	return true
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
// pool was full (and stayed full for the pool's wait).
func (p *Pool) Inline() int64 { return p.inline.Load() }

// Queued is how many callers waited for a worker because the pool was full.
func (p *Pool) Queued() int64 { return p.queued.Load() }

// Close stops the idle workers and waits for the busy ones to finish their
// job. Queued callers, and later calls to ServeHTTP, run their handler on
// the caller.
func (p *Pool) Close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.stop)
		for _, wk := range p.waiting {
			wk.jobs <- nil
		}
		p.running -= len(p.waiting)
		p.waiting = nil
		for _, c := range p.queue {
			c.got <- nil
		}
		p.queue = nil
	}
	p.mu.Unlock()
	p.wg.Wait()
}
