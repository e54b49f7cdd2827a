package events

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rankr/ghlgate/store"
)

// The crash test runs a small gateway (Recorder in front of an upstream) in
// a child process — this test binary re-executed as TestCrashChild — fires
// concurrent mutations at it, SIGKILLs it at random points, restarts it
// (which reconciles), and checks, many times in one run, that every
// mutation answered 2xx and every mutation the upstream applied has exactly
// one event, and that no event was invented. events/crashtest does the same
// against the real ghlgate binary.

const (
	crashChildEnv    = "GHLGATE_EVENTS_CRASH_CHILD"
	crashDirEnv      = "GHLGATE_EVENTS_CRASH_DIR"
	crashUpstreamEnv = "GHLGATE_EVENTS_CRASH_UPSTREAM"
)

// TestCrashChild is the child gateway; it does nothing unless started by
// TestCrashSIGKILL.
func TestCrashChild(t *testing.T) {
	if os.Getenv(crashChildEnv) != "1" {
		t.Skip("child process of TestCrashSIGKILL")
	}
	ctx := context.Background()
	db, err := store.OpenSQLiteFile(ctx, os.Getenv(crashDirEnv)+"/ghlgate.db")
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	st, err := NewStore(ctx, db, StoreOptions{})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	up := os.Getenv(crashUpstreamEnv)
	rec := NewRecorder(st, RecorderOptions{})
	// Reconcile before serving: every intent on file is from a dead process.
	if _, err := rec.Reconcile(ctx, crashReadBack(up), time.Now()); err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	fmt.Println("ADDR", ln.Addr().String())
	http.Serve(ln, crashGateway(rec, up)) //nolint:errcheck // runs until SIGKILL
}

func crashReadBack(upstream string) ReadBack {
	return func(ctx context.Context, in Intent) (int, []byte, error) {
		u := upstream + "/contacts/" + in.PathParams["contactId"]
		if in.OperationID == "create-contact" {
			u = upstream + "/contacts/search?email=" + stringField(objectOf(in.RequestBody), "email")
		}
		resp, err := http.Get(u)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}
}

// crashGateway records, forwards, and answers only after the event is
// durable — the order the real gateway must keep.
func crashGateway(rec *Recorder, upstream string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		in := Intent{Method: r.Method, Path: r.URL.Path, Stage: "staging", Client: "crash",
			RequestID: r.Header.Get("X-Request-Id"), RequestBody: body}
		if id := strings.TrimPrefix(r.URL.Path, "/contacts/"); id != "" {
			in.OperationID, in.PathParams = "update-contact", map[string]string{"contactId": id}
		} else {
			in.OperationID = "create-contact"
		}
		intentID, err := rec.Begin(r.Context(), in)
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, upstream+r.URL.Path, bytes.NewReader(body))
		req.Header.Set("X-Request-Id", in.RequestID)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			rec.Finish(context.WithoutCancel(r.Context()), intentID, in, 0, nil) //nolint:errcheck // stays pending
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		rb, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if _, err := rec.Finish(context.WithoutCancel(r.Context()), intentID, in, resp.StatusCode, rb); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(rb) //nolint:errcheck
	})
}

// crashUpstream is a tiny durable GHL stand-in living in the parent, so it
// survives the child's death. It remembers which request applied what.
type crashUpstream struct {
	mu       sync.Mutex
	contacts map[string]map[string]any
	applied  map[string]bool // request ids that changed something
	n        int
}

func (u *crashUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	defer u.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	id := strings.TrimPrefix(r.URL.Path, "/contacts/")
	var body map[string]any
	json.NewDecoder(r.Body).Decode(&body) //nolint:errcheck
	switch {
	case r.Method == http.MethodGet && id == "search":
		for _, c := range u.contacts {
			if c["email"] == r.URL.Query().Get("email") {
				json.NewEncoder(w).Encode(map[string]any{"contact": c}) //nolint:errcheck
				return
			}
		}
		w.WriteHeader(http.StatusNotFound)
	case r.Method == http.MethodGet:
		c, ok := u.contacts[id]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"contact": c}) //nolint:errcheck
	case r.Method == http.MethodPost && id == "":
		u.n++
		c := map[string]any{"id": "c" + strconv.Itoa(u.n), "locationId": "L"}
		for k, v := range body {
			c[k] = v
		}
		u.contacts[c["id"].(string)] = c
		u.applied[r.Header.Get("X-Request-Id")] = true
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"contact": c}) //nolint:errcheck
	case r.Method == http.MethodPut:
		c, ok := u.contacts[id]
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		for k, v := range body {
			c[k] = v
		}
		u.applied[r.Header.Get("X-Request-Id")] = true
		json.NewEncoder(w).Encode(map[string]any{"succeded": true, "contact": c}) //nolint:errcheck
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

type crashChild struct {
	cmd  *exec.Cmd
	addr string
}

func startCrashChild(t *testing.T, dir, upstream string) *crashChild {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"=1", crashDirEnv+"="+dir, crashUpstreamEnv+"="+upstream)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("child stdout: %v", err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if addr, ok := strings.CutPrefix(line, "ADDR "); ok {
			go io.Copy(io.Discard, out) //nolint:errcheck
			return &crashChild{cmd: cmd, addr: addr}
		}
		if strings.HasPrefix(line, "ERR ") {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("child failed to start: %s", line)
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	t.Fatalf("child exited before listening")
	return nil
}

func (c *crashChild) kill() {
	c.cmd.Process.Signal(syscall.SIGKILL) //nolint:errcheck
	c.cmd.Wait()                          //nolint:errcheck // killed on purpose
}

func TestCrashSIGKILL(t *testing.T) {
	if os.Getenv(crashChildEnv) == "1" {
		t.Skip("inside the child")
	}
	rounds := 12
	if testing.Short() {
		rounds = 3
	}
	if n, err := strconv.Atoi(os.Getenv("GHLGATE_CRASH_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	dir := t.TempDir()
	up := &crashUpstream{contacts: map[string]map[string]any{}, applied: map[string]bool{}}
	upSrv := httptest.NewServer(up)
	defer upSrv.Close()
	rng := rand.New(rand.NewPCG(42, uint64(time.Now().UnixNano())))

	var okMu sync.Mutex
	answered2xx := map[string]bool{}
	var reqN int64
	var reqMu sync.Mutex
	nextReq := func() string {
		reqMu.Lock()
		defer reqMu.Unlock()
		reqN++
		return "req-" + strconv.FormatInt(reqN, 10)
	}
	const workers = 8
	for round := range rounds {
		child := startCrashChild(t, dir, upSrv.URL)
		client := &http.Client{Timeout: 5 * time.Second}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var mine []string // contacts this worker created: one writer per contact
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					rid := nextReq()
					method, path := http.MethodPost, "/contacts/"
					body := fmt.Sprintf(`{"email":"%s@x.io","firstName":"f-%s"}`, rid, rid)
					if len(mine) > 0 && i%2 == 1 {
						method, path = http.MethodPut, "/contacts/"+mine[i%len(mine)]
						body = fmt.Sprintf(`{"firstName":"f-%s"}`, rid)
					}
					req, _ := http.NewRequest(method, "http://"+child.addr+path, strings.NewReader(body))
					req.Header.Set("X-Request-Id", rid)
					resp, err := client.Do(req)
					if err != nil {
						continue // killed mid-request: no answer, no promise
					}
					rb, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode/100 == 2 {
						okMu.Lock()
						answered2xx[rid] = true
						okMu.Unlock()
						if method == http.MethodPost {
							var env struct{ Contact struct{ ID string } }
							json.Unmarshal(rb, &env) //nolint:errcheck
							mine = append(mine, env.Contact.ID)
						}
					}
					_ = w
				}
			}()
		}
		// Kill at a random point, some rounds almost at once.
		time.AfterFunc(time.Duration(5+rng.IntN(150))*time.Millisecond, func() {
			child.kill()
			close(stop)
		})
		wg.Wait()
		// The killed child's last requests may still be reaching the
		// upstream: its map is read under its lock.
		up.mu.Lock()
		applied := len(up.applied)
		up.mu.Unlock()
		t.Logf("round %d: %d answered 2xx so far, %d applied upstream", round, len(answered2xx), applied)
	}
	// A last start reconciles what the last kill left; then read the store.
	startCrashChild(t, dir, upSrv.URL).kill()
	db, err := store.OpenSQLiteFile(context.Background(), dir+"/ghlgate.db")
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	defer db.Close()
	st, err := NewStore(context.Background(), db, StoreOptions{})
	if err != nil {
		t.Fatalf("NewStore: %v", err)
	}
	defer st.Close()
	perRequest := map[string]int{}
	reconciled := 0
	for after := int64(0); ; {
		evs, err := st.List(context.Background(), Query{After: after, Limit: MaxListLimit})
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if len(evs) == 0 {
			break
		}
		for _, ev := range evs {
			perRequest[ev.RequestID]++
			if ev.Reconciled {
				reconciled++
			}
		}
		after = evs[len(evs)-1].Seq
	}
	pending, _ := st.PendingIntents(context.Background(), time.Time{})
	if len(pending) != 0 {
		t.Errorf("%d intents still pending after the final reconcile; want 0", len(pending))
	}
	if len(answered2xx) < rounds {
		t.Fatalf("only %d mutations answered 2xx in %d rounds; the test did not exercise anything", len(answered2xx), rounds)
	}
	for rid := range answered2xx {
		if perRequest[rid] != 1 {
			t.Errorf("request %s answered 2xx has %d events; want exactly 1", rid, perRequest[rid])
		}
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	for rid := range up.applied {
		if perRequest[rid] != 1 {
			t.Errorf("request %s applied upstream has %d events; want exactly 1", rid, perRequest[rid])
		}
	}
	for rid, n := range perRequest {
		if !up.applied[rid] {
			t.Errorf("event for request %s (%d) that the upstream never applied: invented", rid, n)
		}
	}
	t.Logf("%d rounds: %d answered 2xx, %d applied upstream, %d events (%d reconciled)",
		rounds, len(answered2xx), len(up.applied), len(perRequest), reconciled)
}
