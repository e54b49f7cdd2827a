package crashtest

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
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// seedLocation is a location of the seeded staging dataset.
const seedLocation = "ve9EPM428h8vShlRW1KT"

type harness struct {
	t      *testing.T
	bin    string
	config string
	addr   string
}

func (h *harness) run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.bin, append([]string{"--config", h.config}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("ghlgate %s: %w: %s", strings.Join(args, " "), err, errb.String())
	}
	return out.String(), nil
}

// start runs `ghlgate serve` and returns once it says it is serving.
func (h *harness) start() *exec.Cmd {
	h.t.Helper()
	cmd := exec.Command(h.bin, "--config", h.config, "serve")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		h.t.Fatalf("serve stderr: %v", err)
	}
	if err := cmd.Start(); err != nil {
		h.t.Fatalf("start serve: %v", err)
	}
	sc := bufio.NewScanner(stderr)
	var tail []string
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "ghlgate is serving on") {
			go io.Copy(io.Discard, stderr) //nolint:errcheck
			return cmd
		}
		tail = append(tail, line)
	}
	cmd.Wait() //nolint:errcheck
	h.t.Fatalf("ghlgate serve exited before serving:\n%s", strings.Join(tail, "\n"))
	return nil
}

func kill(cmd *exec.Cmd) {
	cmd.Process.Signal(syscall.SIGKILL) //nolint:errcheck
	cmd.Wait()                          //nolint:errcheck // killed on purpose
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func newHarness(t *testing.T) *harness {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "ghlgate")
	build := exec.Command("go", "build", "-o", bin, "./cmd/ghlgate")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Skipf("cmd/ghlgate does not build yet, crash test skipped: %v\n%s", err, out)
	}
	h := &harness{t: t, bin: bin, config: filepath.Join(dir, "ghlgate.yaml"), addr: freeAddr(t)}
	cfg := fmt.Sprintf("listen: %q\ndata_dir: %q\nlog:\n  level: warn\n", h.addr, filepath.Join(dir, "data"))
	if err := os.WriteFile(h.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := h.run("events", "list", "--help"); err != nil {
		t.Skipf("ghlgate has no `events list` command yet, crash test skipped: %v", err)
	}
	return h
}

// TestGatewaySIGKILL: see the package comment.
func TestGatewaySIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end crash test; run without -short")
	}
	h := newHarness(t)
	key, err := h.run("keys", "create", "--name", "crash", "--scopes", "contacts.readonly,contacts.write", "--stages", "staging")
	if err != nil {
		t.Fatalf("create key: %v", err)
	}
	key = strings.TrimSpace(key)
	rounds := 6
	if n, err := strconv.Atoi(os.Getenv("GHLGATE_CRASH_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	rng := rand.New(rand.NewPCG(7, uint64(time.Now().UnixNano())))
	var mu sync.Mutex
	ok2xx := map[string]bool{} // request ids answered 2xx
	var n int
	nextID := func() string {
		mu.Lock()
		defer mu.Unlock()
		n++
		return fmt.Sprintf("crash-%d-%d", time.Now().UnixNano(), n)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for round := range rounds {
		srv := h.start()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var mine []string
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					rid := nextID()
					method, path := http.MethodPost, "/staging/contacts/"
					body := fmt.Sprintf(`{"locationId":%q,"email":"%s@crash.test","firstName":"F%d"}`, seedLocation, rid, i)
					if len(mine) > 0 && i%2 == 1 {
						method, path = http.MethodPut, "/staging/contacts/"+mine[i%len(mine)]
						body = fmt.Sprintf(`{"firstName":"U%d"}`, i)
					}
					req, _ := http.NewRequest(method, "http://"+h.addr+path, strings.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+key)
					req.Header.Set("Version", "2021-07-28")
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("X-Request-Id", rid)
					resp, err := client.Do(req)
					if err != nil {
						continue
					}
					rb, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode/100 != 2 {
						continue
					}
					mu.Lock()
					ok2xx[rid] = true
					mu.Unlock()
					if method == http.MethodPost {
						var env struct{ Contact struct{ ID string } }
						if json.Unmarshal(rb, &env) == nil && env.Contact.ID != "" {
							mine = append(mine, env.Contact.ID)
						}
					}
				}
			}()
		}
		time.AfterFunc(time.Duration(50+rng.IntN(400))*time.Millisecond, func() {
			kill(srv)
			close(stop)
		})
		wg.Wait()
		t.Logf("round %d: %d mutations answered 2xx so far", round, len(ok2xx))
	}
	// The last start reconciles what the last kill left open.
	kill(h.start())

	perRequest := map[string]int{}
	after := "0"
	for {
		out, err := h.run("events", "list", "--format", "json", "--after", after, "--limit", "1000")
		if err != nil {
			t.Fatalf("events list: %v", err)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if strings.TrimSpace(out) == "" {
			break
		}
		for _, line := range lines {
			var ev struct {
				Seq       int64  `json:"seq"`
				RequestID string `json:"request_id"`
			}
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				t.Fatalf("events list line %q: %v", line, err)
			}
			perRequest[ev.RequestID]++
			after = strconv.FormatInt(ev.Seq, 10)
		}
	}
	if len(ok2xx) == 0 {
		t.Fatalf("no mutation was answered 2xx; the test exercised nothing")
	}
	for rid := range ok2xx {
		if perRequest[rid] != 1 {
			t.Errorf("mutation %s answered 2xx has %d events; want exactly 1", rid, perRequest[rid])
		}
	}
	t.Logf("%d rounds, %d mutations answered 2xx, %d distinct request ids with events", rounds, len(ok2xx), len(perRequest))
}
